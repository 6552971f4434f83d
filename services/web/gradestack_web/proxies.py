"""Client address behind reverse proxies, trusting X-Forwarded-* only from configured proxies.

Two ways to configure it (README: TRUSTED_PROXIES / TRUSTED_PROXY_COUNT):

- ``TRUSTED_PROXIES`` (CIDR list, preferred): the forwarded headers count only when the
  TCP peer is one of them (or a unix-socket peer, i.e. nginx on the same host); the client
  is the right-most X-Forwarded-For entry that is not a trusted proxy. A request that
  bypasses the proxies cannot spoof its address.
- ``TRUSTED_PROXY_COUNT`` (N): like Werkzeug's ProxyFix, take the N-th entry from the right.
  Only safe when the network guarantees every request comes through exactly N proxies
  (e.g. gunicorn bound to 127.0.0.1 behind nginx, behind the ALB: N=2).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(value: str, networks: Iterable[Network]) -> bool:
    address = _ip(value)
    return address is not None and any(address in net for net in networks)


def client_address(
    remote_addr: str, forwarded_for: str, trusted: tuple[Network, ...], trusted_count: int
) -> tuple[str, bool]:
    """Return (client address, whether the request came through a trusted proxy)."""
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()] if forwarded_for else []
    if trusted:
        # gunicorn on a unix socket reports no peer address: only local processes (nginx) can
        # connect to the socket, so such a peer counts as a trusted proxy.
        local_socket = _ip(remote_addr) is None
        if not local_socket and not _trusted(remote_addr, trusted):
            return remote_addr, False
        for hop in reversed(hops):
            if not _trusted(hop, trusted):
                return (hop if _ip(hop) else remote_addr), True
        return (hops[0] if hops and _ip(hops[0]) else remote_addr), True
    if trusted_count and len(hops) >= trusted_count:
        hop = hops[-trusted_count]
        return (hop if _ip(hop) else remote_addr), True
    return remote_addr, False


class TrustedProxyMiddleware:
    """WSGI middleware: rewrite REMOTE_ADDR and the scheme for requests from trusted proxies."""

    def __init__(self, app: Callable, trusted: tuple[Network, ...], trusted_count: int) -> None:
        self.app = app
        self.trusted = trusted
        self.trusted_count = trusted_count

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        remote = environ.get("REMOTE_ADDR", "")
        client, via_proxy = client_address(
            remote, environ.get("HTTP_X_FORWARDED_FOR", ""), self.trusted, self.trusted_count
        )
        environ["gradestack.peer_addr"] = remote
        if via_proxy:
            environ["REMOTE_ADDR"] = client
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)
