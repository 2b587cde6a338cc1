"""The client's IP address, believing forwarded headers only from a trusted proxy."""
from __future__ import annotations

import functools
import ipaddress

from litestar import Request
from litestar.connection import ASGIConnection


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    return mapped or address


def client_ip(request: Request | ASGIConnection, trusted: tuple[str, ...] | None = None) -> str:
    """The client's IP (the login throttle keys on it). X-Forwarded-For is read only when the
    socket peer is one of PORTAL_TRUSTED_PROXIES, and then from the right: each trusted proxy
    appends the address it saw, so the rightmost hop that is not a trusted proxy is the client;
    anything to its left was written by the client and is ignored. uvicorn's own proxy_headers
    is off (`portal serve`), so this is the only place forwarded headers are believed."""
    if trusted is None:
        trusted = request.app.state.settings.trusted_proxies
    peer = request.client.host if request.client else ""
    networks = _networks(tuple(trusted))

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in network for network in networks)

    address = _address(peer)
    if not networks or not is_trusted(address):
        return peer
    known = str(address)
    hops = [hop for value in request.headers.getall("x-forwarded-for", [])
            for hop in value.split(",")]
    for hop in reversed(hops):
        hop_address = _address(hop)
        if hop_address is None:  # garbage: believe no further than the last good hop
            return known
        known = str(hop_address)
        if not is_trusted(hop_address):
            return known
    return known
