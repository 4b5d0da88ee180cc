"""Where webhooks may go: http(s) only, no credentials in the URL, and — unless an
administrator marked the subscription internal — no loopback, private, link-local, multicast
or reserved addresses (checked when the subscription is saved and again before each send,
because DNS answers change)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.utils.translation import gettext as _


class UnsafeURL(ValueError):
    pass


class UnresolvableHost(UnsafeURL):
    """The host's name did not resolve now (which may pass): retrying can help."""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        return [literal]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnresolvableHost(
            _("The host %(host)s cannot be resolved (%(error)s).")
            % {
                "host": host,
                "error": exc.strerror,
            }
        ) from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check(url: str, *, internal: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL(_("Only http:// and https:// URLs with a host are allowed."))
    if parts.username or parts.password:
        raise UnsafeURL(_("Put no user name or password in the URL; the request is signed."))
    if internal:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for addr in _addresses(parts.hostname, port):
        # Only globally routable addresses: this also refuses shared address space
        # (100.64.0.0/10, where cloud metadata services such as 100.100.100.200 live),
        # documentation and benchmarking ranges.
        if not addr.is_global or addr.is_multicast:
            raise UnsafeURL(
                _(
                    "%(host)s resolves to %(addr)s, a private or local address. An "
                    "administrator may allow it by marking the subscription internal."
                )
                % {"host": parts.hostname, "addr": addr}
            )
