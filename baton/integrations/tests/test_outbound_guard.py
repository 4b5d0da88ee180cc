"""The outbound guard on the integration side, through the API and the workers, against real
servers on 127.0.0.1: subscriptions refuse IPv4 hidden in IPv6, a webhook whose name rebinds
after the check never reaches the internal address, and a connected system's stored secrets do
not follow its address to another host."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from baton.access.models import User
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.core.tests.api_client import json_call
from baton.core.tests.test_outbound import REFUSED_URLS, RecordingHandler
from baton.core.tests.test_outbound import rebinding_dns as rebinding_dns  # a fixture
from baton.handover.models import ExitCase
from baton.integrations import webhooks
from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.models import ConnectedSystem, Subscription, WebhookDelivery
from baton.integrations.testing.receiver import Receiver

pytestmark = pytest.mark.django_db
API = "/api/integrations"


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return json_call(client, method, f"{API}{path}", body)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[::ffff:0:7f00:1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        *[u for u in REFUSED_URLS if "[" not in u],
    ],
)
def test_a_subscription_to_a_hidden_internal_address_is_refused(client_as: Any, url: str) -> None:
    before = Subscription.objects.count()
    status, data = call(
        client_as("admin"),
        "POST",
        "/subscriptions",
        {"name": "x", "url": url, "event_types": ["*"]},
    )
    assert status == 400, data
    assert "url" in data["errors"] and "private or local address" in data["errors"]["url"][0]
    assert Subscription.objects.count() == before


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_a_webhook_name_that_rebinds_to_loopback_is_refused_when_connecting(
    users: dict[str, Any],
    approved_case: ExitCase,
    receiver: Receiver,
    rebinding_dns: dict[str, Any],
) -> None:
    # Public when the subscription is saved and when checked before the send; 127.0.0.1 when
    # the connection is made.
    rebinding_dns["public_answers"] = 2
    port = receiver.url.split(":")[2].split("/")[0]
    sub, _secret = webhook_actions.create_subscription(
        {"name": "rebind", "url": f"http://rebind.hx.example:{port}/", "event_types": ["case.*"]},
        acting_user=users["admin"],
    )
    webhooks.deliver(budget_s=5)
    assert receiver.received == []
    tried = WebhookDelivery.objects.filter(subscription=sub, attempts__gt=0)
    assert tried.exists()
    assert all("rebind.hx.example resolves to 127.0.0.1" in d.error for d in tried)
    assert all(d.response_body == "" and d.response_status is None for d in tried)


# ---------------------------------------------------------------- secrets follow no address


def _server() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.hits = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def two_servers() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    servers = (_server(), _server())
    try:
        yield servers
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


TOKEN = "tok-very-secret-4711"
MANIFEST = {
    "version": 1,
    "headers": {"Authorization": "Bearer {{ secrets.api_token }}"},
    "steps": {"test": [{"method": "GET", "path": "/ping", "expect": {"status": [200]}}]},
}


def _tokens_seen(server: ThreadingHTTPServer) -> list[str]:
    return [h.get("Authorization", "") for _p, h in server.hits]  # type: ignore[attr-defined]


def test_stored_secrets_do_not_follow_the_base_url_to_another_host(
    client_as: Any, two_servers: tuple[ThreadingHTTPServer, ThreadingHTTPServer]
) -> None:
    first, second = two_servers
    admin = client_as("admin")
    status, system = call(
        admin,
        "POST",
        "/systems",
        {
            "name": "OA",
            "kind": "rest",
            "base_url": f"http://127.0.0.1:{first.server_address[1]}/api",
            "internal": True,
            "revokes_access": False,
            "config": MANIFEST,
            "secrets": {"api_token": TOKEN},
        },
    )
    assert status == 201, system
    sid = system["id"]
    assert call(admin, "POST", f"/systems/{sid}/test")[1]["ok"] is True
    assert _tokens_seen(first) == [f"Bearer {TOKEN}"]
    # Another path on the same host keeps the secrets.
    status, same = call(
        admin,
        "PATCH",
        f"/systems/{sid}",
        {"base_url": f"http://127.0.0.1:{first.server_address[1]}/v2"},
    )
    assert status == 200 and same["has_secrets"] is True and same["notices"] == []
    # Another host (here: another port): the secrets are removed, audited, and the answer says so.
    status, moved = call(
        admin,
        "PATCH",
        f"/systems/{sid}",
        {"base_url": f"http://127.0.0.1:{second.server_address[1]}/api"},
    )
    assert status == 200, moved
    assert moved["has_secrets"] is False
    assert moved["notices"] and "stored secrets were removed" in moved["notices"][0]
    entry = AuditEntry.objects.filter(
        event_type=AuditEvent.SYSTEM_SECRETS_CHANGED, subject_id=str(sid)
    ).first()
    assert entry is not None and entry.data["extra"]["removed"] == ["api_token"]
    call(admin, "POST", f"/systems/{sid}/test")
    assert all(TOKEN not in seen for seen in _tokens_seen(second))
    assert not bytes(ConnectedSystem.objects.get(pk=sid).secrets_blob)
    # New secrets given with the move are kept.
    status, back = call(
        admin,
        "PATCH",
        f"/systems/{sid}",
        {
            "base_url": f"http://127.0.0.1:{first.server_address[1]}/api",
            "secrets": {"api_token": "tok-new-9999"},
        },
    )
    assert status == 200 and back["has_secrets"] is True and back["notices"] == []
    assert call(admin, "POST", f"/systems/{sid}/test")[1]["ok"] is True
    assert _tokens_seen(first)[-1] == "Bearer tok-new-9999"
