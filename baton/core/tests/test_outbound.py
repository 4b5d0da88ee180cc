"""The outbound guard (`baton.core.outbound`): which addresses are refused, in every spelling,
and that the check holds on the address actually connected to — for httpx and for SMTP —
against real servers on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from baton.core import outbound
from baton.notify.testing.smtp import MailCatcher

pytestmark = pytest.mark.smoke

REFUSED_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[::1]/",
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata (shared space)
    "http://169.254.169.254/latest/meta-data/",  # link-local metadata
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    # IPv4 spelled otherwise (the system resolver reads these as a connection would)
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0x7f000001/",
    "http://127.1/",
    # IPv4 embedded in IPv6
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:0:7f00:1]/",  # SIIT
    "http://[64:ff9b::7f00:1]/",  # NAT64
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[64:ff9b:1::7f00:1]/",  # local-use NAT64
    "http://[2002:7f00:1::]/",  # 6to4
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo of 127.0.0.1
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_non_public_destinations_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(outbound.Refused) as refused:
        outbound.check_url(url, internal=False)
    assert not isinstance(refused.value, outbound.Unresolvable)
    assert "private or local address" in str(refused.value)
    # An administrator's "internal" lifts the address rule.
    outbound.check_url(url, internal=True)


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_pass(address: str) -> None:
    assert outbound.is_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    outbound.check_url(f"https://{host}/hook", internal=False)


def test_the_refusal_names_the_host_and_the_address() -> None:
    with pytest.raises(outbound.Refused) as by_name:
        outbound.check_url("http://localhost:8080/x", internal=False)
    assert "localhost resolves to 127.0.0.1" in str(by_name.value)
    with pytest.raises(outbound.Refused) as embedded:
        outbound.check_url("http://[64:ff9b::7f00:1]/", internal=False)
    assert "64:ff9b::7f00:1 → 127.0.0.1" in str(embedded.value)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http:///x", "http://user:pw@example.com/", "file:///etc/passwd"]
)
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(outbound.Refused):
        outbound.check_url(url, internal=True)


# ------------------------------------------------------------------ at connection time


class RecordingHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        body = b'{"secret": "internal answer"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def internal_server() -> Iterator[ThreadingHTTPServer]:
    """An 'internal service' on 127.0.0.1 that records every request it gets."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A resolver at the network boundary that answers `rebind.hx.example` with a public
    address for the first `public_answers` look-ups and with 127.0.0.1 afterwards (DNS
    rebinding), plus a tripwire: a connection to anything but loopback fails the test instead
    of leaving the machine."""
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection
    state: dict[str, Any] = {"public_answers": 1, "lookups": 0, "connected": []}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.hx.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        state["lookups"] += 1
        ip = "93.184.215.14" if state["lookups"] <= state["public_answers"] else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0)))]

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        host = address[0]
        resolved = {info[4][0] for info in getaddrinfo(host, address[1])}
        state["connected"].append(host)
        if not all(ipaddress.ip_address(ip).is_loopback for ip in resolved):
            pytest.fail(f"a connection to {host} ({resolved}) would leave the machine")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return state


def test_the_http_client_checks_the_address_it_connects_to(
    internal_server: ThreadingHTTPServer,
) -> None:
    port = internal_server.server_address[1]
    # No check before: the guard in the connection itself refuses the name's address.
    with outbound.client(internal=False) as client, pytest.raises(outbound.Refused):
        client.get(f"http://localhost:{port}/x")
    assert internal_server.hits == []  # type: ignore[attr-defined]
    with outbound.client(internal=True) as client:
        assert client.get(f"http://localhost:{port}/x").status_code == 200
    assert len(internal_server.hits) == 1  # type: ignore[attr-defined]


def test_a_name_that_rebinds_after_the_check_is_refused_at_connect(
    internal_server: ThreadingHTTPServer, rebinding_dns: dict[str, Any]
) -> None:
    port = internal_server.server_address[1]
    url = f"http://rebind.hx.example:{port}/latest/meta-data/"
    outbound.check_url(url, internal=False)  # the check (at save, before sending) passes
    with outbound.client(internal=False) as client, pytest.raises(outbound.Refused) as refused:
        client.get(url)
    assert "rebind.hx.example resolves to 127.0.0.1" in str(refused.value)
    assert internal_server.hits == []  # type: ignore[attr-defined]


def test_smtp_connects_only_to_a_checked_address() -> None:
    with MailCatcher() as catcher:
        with pytest.raises(outbound.Refused) as refused:
            outbound.SMTP("localhost", catcher.port, timeout=5, internal=False)
        assert "localhost resolves to 127.0.0.1" in str(refused.value)
        with pytest.raises(outbound.Refused):
            outbound.SMTP_SSL("127.0.0.1", catcher.port, timeout=5, internal=False)
        with outbound.SMTP("localhost", catcher.port, timeout=5, internal=True) as smtp:
            assert smtp.noop()[0] == 250
