"""Request header values read as what they are: untrusted bytes from the network.

aiohttp decodes header bytes as UTF-8 with surrogate escapes, so a byte that is not
UTF-8 arrives as a lone surrogate, which `str.encode()` and `hmac.compare_digest` on
str refuse with an exception: a 500, unless every parser starts from the bytes. Every
header this server gives meaning to (credentials, signatures, timestamps, addresses,
origins) is ASCII by its definition, so a value that is not is refused, with a reason.
"""

from __future__ import annotations

from aiohttp import web

NOT_ASCII = "the {name} header is not ASCII"


class HeaderNotAscii(ValueError):
    """The header holds a byte that is not ASCII; the message says which header."""

    def __init__(self, name: str) -> None:
        super().__init__(NOT_ASCII.format(name=name))


def header_bytes(request: web.BaseRequest, name: str) -> bytes:
    """The header's value as the client sent it (b"" when absent)."""
    value = request.headers.get(name, "")
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # A surrogate no decoding made (an in-process request built from str): not
        # bytes any client sent, but still bytes to refuse rather than an exception.
        return value.encode("utf-8", "surrogatepass")


def ascii_header(request: web.BaseRequest, name: str) -> str:
    """The header's value ("" when absent); HeaderNotAscii when it is not ASCII."""
    raw = header_bytes(request, name)
    if not raw.isascii():
        raise HeaderNotAscii(name)
    return raw.decode("ascii")


def bearer_token(request: web.BaseRequest) -> bytes | None:
    """The token of `Authorization: Bearer <token>`, None when the header is absent or
    names another scheme; HeaderNotAscii when it is not ASCII (no token is)."""
    scheme, _, token = ascii_header(request, "Authorization").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode("ascii")
