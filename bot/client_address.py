"""Who a request comes from, for per-address limits.

Without trusted proxies that is the peer address. Behind N proxies it is the address the
nearest of them was reached from, which is the Nth entry from the end of
X-Forwarded-For: proxies append, so the entries to the left of it are whatever the
client chose to send and cannot be trusted.

IPv6 clients are keyed by their /64: one subscriber usually holds a whole /64, and
keying by single addresses would let them pick a fresh one for every request.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

UNKNOWN = "unknown"


def client_address(request: web.BaseRequest, trusted_proxies: int) -> str:
    """A key naming the client: an IPv4 address, an IPv6 /64, or "unknown"."""
    if trusted_proxies > 0:
        hops = [
            hop.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for hop in header.split(",")
            if hop.strip()
        ]
        if len(hops) >= trusted_proxies:
            forwarded = address_key(hops[-trusted_proxies])
            if forwarded is not None:
                return forwarded
        # Too few hops or garbage: the request did not come through every proxy as
        # configured, so the peer is the only address we know.
    return address_key(request.remote or "") or UNKNOWN


def address_key(raw: str) -> str | None:
    """The limit key of an address as written in a header ("1.2.3.4", "1.2.3.4:5678",
    "[2001:db8::1]:443", "2001:db8::1"), or None when it is not an address."""
    text = raw.strip()
    if not text.isascii():
        # Header bytes that are not UTF-8 arrive as surrogate escapes, and ipaddress
        # takes them in an IPv6 zone ("fe80::1%\udcff"): no address is written so.
        return None
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
