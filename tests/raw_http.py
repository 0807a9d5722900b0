"""HTTP requests written to the socket byte for byte: header values that are not UTF-8,
which no client library sends, but any peer on the internet can."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


def request_bytes(
    method: str, target: str, headers: list[tuple[str, bytes]], body: bytes = b""
) -> bytes:
    """A request with exactly these header bytes; `Connection: close` so the reply ends
    with the socket."""
    lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name.encode() + b": " + value for name, value in headers]
    lines += [f"Content-Length: {len(body)}".encode(), b"", body]
    return b"\r\n".join(lines)


async def send_raw(port: int, request: bytes) -> Reply:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    content_type = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-type":
            content_type = value.split(";")[0].strip()
    return Reply(int(lines[0].split()[1]), content_type, body)
