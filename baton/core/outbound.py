"""Where Baton may call out to: the one guard every outbound feature uses (notification
channels — robots, SMS, SMTP —, webhook subscriptions, connected systems).

- Only public addresses: loopback, private, link-local, shared (100.64.0.0/10, where cloud
  metadata services such as 100.100.100.200 live), multicast, reserved and documentation
  ranges are refused, and so is an IPv6 address that carries one of them as an embedded IPv4
  address (IPv4-mapped, IPv4-compatible, SIIT, NAT64 64:ff9b::/96, 6to4, Teredo).
- Checked twice: when the setting is saved (a clear error naming the host and the address), and
  when the connection is made. At connection time the name is resolved once, every address is
  checked, and the socket connects to a checked address — never to a second answer of the
  resolver, so a name that changes its answer between check and connect (DNS rebinding) cannot
  reach an internal address. `GuardedTransport` does this for httpx, `SMTP`/`SMTP_SSL` for
  smtplib.
- `internal=True` lifts the address rule (not the scheme or credential rules): an
  administrator's decision recorded on the subscription, system or channel.
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """The destination is not allowed (retrying cannot help)."""


class Unresolvable(Refused):
    """The host's name did not resolve now (which may pass): retrying can help."""


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(addr: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (and reaches), if any."""
    if isinstance(addr, ipaddress.IPv4Address):
        return None
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    low32 = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in _NAT64 or addr in _SIIT:
        return low32
    if addr in _NAT64_LOCAL:
        # The IPv4 part's position depends on the local prefix length: judge the whole
        # address as the internal one it is.
        return ipaddress.IPv4Address(0)
    if addr in _COMPATIBLE and int(addr) > 1:  # :: and ::1 are judged as themselves
        return low32
    return None


def _public(addr: Address) -> bool:
    # is_global excludes private, loopback, link-local, shared, reserved, documentation and
    # benchmarking ranges; multicast is global for some scopes and never a server.
    return addr.is_global and not addr.is_multicast


def is_public(addr: Address) -> bool:
    """Whether a connection to `addr` leaves for the public internet (and only that)."""
    inner = embedded_ipv4(addr)
    if inner is not None and not _public(inner):
        return False
    return _public(addr)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` stands for now (a literal stands for itself). Spellings such as
    2130706433, 0x7f.1 or 0177.0.0.1 go through the system resolver, as a connection would."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(
            _("The host %(host)s cannot be resolved (%(error)s).")
            % {"host": host, "error": getattr(exc, "strerror", None) or exc}
        ) from None
    found: list[Address] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if addr not in found:
            found.append(addr)
    return found


def check_address(host: str, addr: Address) -> None:
    """Refused unless `addr` (what `host` resolved to) is public."""
    if is_public(addr):
        return
    inner = embedded_ipv4(addr)
    if _literal(host) is not None:
        shown = f"{addr} → {inner}" if inner is not None else str(addr)
        raise Refused(
            _(
                "%(host)s is a private or local address (%(addr)s). Only an administrator "
                "may allow it, by marking the destination internal."
            )
            % {"host": host, "addr": shown}
        )
    raise Refused(
        _(
            "%(host)s resolves to %(addr)s, a private or local address. Only an "
            "administrator may allow it, by marking the destination internal."
        )
        % {"host": host, "addr": addr if inner is None else f"{addr} → {inner}"}
    )


def check_host(host: str, port: int, *, internal: bool, unresolved_ok: bool = False) -> None:
    """Refused unless every address of `host` is public (or the destination is internal).
    `unresolved_ok`: a name that does not resolve now passes (it is checked again when the
    connection is made)."""
    if internal:
        return
    try:
        addresses = resolve(host, port)
    except Unresolvable:
        if unresolved_ok:
            return
        raise
    for addr in addresses:
        check_address(host, addr)


def check_url(url: str, *, internal: bool, unresolved_ok: bool = False) -> None:
    """An http(s) URL with a host, no credentials in it, and (unless internal) a public host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(_("Only http:// and https:// URLs with a host are allowed."))
    if parts.username or parts.password:
        raise Refused(_("Put no user name or password in the URL; the request is signed."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused(_("Only http:// and https:// URLs with a host are allowed.")) from None
    check_host(parts.hostname, port, internal=internal, unresolved_ok=unresolved_ok)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL — what secrets are bound to."""
    parts = urlsplit(url or "")
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower().rstrip("."), port


# ------------------------------------------------------------------ the connection itself


def checked_addresses(host: str, port: int, *, internal: bool) -> list[str]:
    """The addresses to connect to: resolved once, each one checked."""
    if internal:
        return [host]
    addresses = resolve(host, port)
    for addr in addresses:
        check_address(host, addr)
    return [str(addr) for addr in addresses]


def connect(
    host: str,
    port: int,
    *,
    internal: bool,
    timeout: float | None = None,
    source_address: Any = None,
) -> socket.socket:
    """A TCP connection to a checked address of `host` (the first that answers)."""
    last: OSError | None = None
    for addr in checked_addresses(host, port, internal=internal):
        try:
            return socket.create_connection((addr, port), timeout, source_address)
        except OSError as exc:
            last = exc
    raise last or OSError(f"cannot connect to {host}:{port}")


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network layer with the guard at connect time. TLS still verifies the
    certificate against the URL's host name (httpcore passes it as server_hostname)."""

    def __init__(self, *, internal: bool) -> None:
        self.internal = internal
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for addr in checked_addresses(host, port, internal=self.internal):
            try:
                return self.inner.connect_tcp(addr, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise Refused(_("Only http:// and https:// URLs with a host are allowed."))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go through `GuardedBackend`; no proxies from the
    environment (a proxy would make the connected address the proxy's)."""

    def __init__(self, *, internal: bool, retries: int = 0) -> None:
        super().__init__(trust_env=False, retries=retries)
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            retries=retries,
            network_backend=GuardedBackend(internal=internal),
        )


def client(*, internal: bool, **kwargs: Any) -> httpx.Client:
    """An httpx client that never follows redirects and connects only where the guard allows."""
    kwargs.setdefault("follow_redirects", False)
    return httpx.Client(transport=GuardedTransport(internal=internal), trust_env=False, **kwargs)


class SMTP(smtplib.SMTP):
    """smtplib.SMTP connecting through the guard (`internal` as for the HTTP transport)."""

    def __init__(self, host: str = "", port: int = 0, *, internal: bool, **kwargs: Any) -> None:
        self.internal = internal
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect(
            host, port, internal=self.internal, timeout=timeout, source_address=self.source_address
        )


class SMTP_SSL(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL connecting through the guard; the certificate is checked against the
    configured host name."""

    def __init__(self, host: str = "", port: int = 0, *, internal: bool, **kwargs: Any) -> None:
        self.internal = internal
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = connect(
            host, port, internal=self.internal, timeout=timeout, source_address=self.source_address
        )
        return self.context.wrap_socket(raw, server_hostname=self._host)  # type: ignore[attr-defined]
