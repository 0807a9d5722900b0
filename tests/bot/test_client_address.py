"""The client address used for per-address limits: peer, or what a trusted proxy saw."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from bot.client_address import address_key, client_address


class _Transport:
    """Just enough of a transport for `request.remote`."""

    def __init__(self, peer: str) -> None:
        self._peer = peer

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self._peer, 40000) if name == "peername" else default


def request(peer: str, *forwarded: str) -> web.Request:
    headers = CIMultiDict[str]()
    for value in forwarded:
        headers.add("X-Forwarded-For", value)
    return make_mocked_request("GET", "/api/chat/config", headers=headers,
                               transport=_Transport(peer))  # fmt: skip


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    r = request("198.51.100.7", "203.0.113.9")
    assert client_address(r, 0) == "198.51.100.7"


def test_one_proxy_the_last_entry_is_the_client() -> None:
    # The client wrote "1.1.1.1" itself; the proxy appended the address it really saw.
    r = request("10.0.0.2", "1.1.1.1, 203.0.113.9")
    assert client_address(r, 1) == "203.0.113.9"


def test_two_proxies_count_from_the_end_across_repeated_headers() -> None:
    r = request("10.0.0.3", "1.1.1.1, 203.0.113.9", "10.0.0.2")
    assert client_address(r, 2) == "203.0.113.9"


@pytest.mark.parametrize("forwarded", [(), ("",), ("not-an-address",)])
def test_a_missing_or_broken_header_falls_back_to_the_peer(forwarded: tuple[str, ...]) -> None:
    r = request("10.0.0.2", *forwarded)
    assert client_address(r, 1) == "10.0.0.2"


def test_fewer_hops_than_proxies_falls_back_to_the_peer() -> None:
    r = request("10.0.0.2", "203.0.113.9")
    assert client_address(r, 2) == "10.0.0.2"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.9:51234", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2:bbbb::7]:443", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unknown", None),
        ("", None),
        # Bytes that are not UTF-8 arrive as surrogate escapes; ipaddress took them as
        # an IPv6 zone.
        ("fe80::1%\udcff", None),
        ("203.0.113.9\udcff", None),
    ],
)
def test_address_keys(raw: str, key: str | None) -> None:
    assert address_key(raw) == key
