"""/api/integrations: webhook subscriptions scoped by business unit, secrets shown once, the URL
guard as a field error, rotation, replay, the delivery log, API token scopes."""

from __future__ import annotations

import datetime as dt
import json
import socket
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from baton.access import actions as access_actions
from baton.access.models import RoleAssignment, User
from baton.audit.models import AuditEntry
from baton.core.tests.api_client import json_call
from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.models import Event, Subscription, WebhookDelivery, WebhookStatus

pytestmark = pytest.mark.django_db
API = "/api/integrations"
PUBLIC_URL = "https://93.184.215.14/hook"  # a public address, no DNS needed


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return json_call(client, method, f"{API}{path}", body)


def token_client(user: User, scopes: list[str]) -> Client:
    _token, raw = access_actions.create_token(user, "test", scopes, acting_user=user)
    return Client(headers={"host": "127.0.0.1", "authorization": f"Bearer {raw}"})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def internal_body(name: str = "OA") -> dict[str, Any]:
    return {
        "name": name,
        "url": f"http://127.0.0.1:{closed_port()}/hook",
        "event_types": ["case.*"],
        "internal": True,
    }


@pytest.fixture
def group_sub(users: dict[str, User]) -> Subscription:
    sub, _secret = webhook_actions.create_subscription(internal_body(), acting_user=users["admin"])
    return sub


def cloud_bu(users: dict[str, User]) -> int:
    bu = RoleAssignment.objects.get(user=users["hrbp.cloud"]).business_unit_id
    assert bu is not None
    return bu


def dead_deliveries(sub: Subscription, n: int) -> list[WebhookDelivery]:
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(n):
        event = Event.objects.create(
            type="case.updated", subject=f"cases/{i}", data={"id": i}, occurred_at=now
        )
        rows.append(
            WebhookDelivery.objects.create(
                subscription=sub,
                event=event,
                subject=event.subject,
                status=WebhookStatus.DEAD,
                attempts=12,
                next_attempt_at=now,
                response_status=500,
                error="HTTP 500",
            )
        )
    return rows


def test_create_shows_the_secret_once(client_as: Any) -> None:
    admin = client_as("admin")
    status, data = call(admin, "POST", "/subscriptions", internal_body())
    assert status == 201, data
    secret = data["secret"]
    assert secret.startswith("whsec_")
    assert data["business_unit_id"] is None and data["internal"] is True
    assert data["max_attempts"] == 12 and data["event_types"] == ["case.*"]
    sub_id = data["id"]
    # Never again: not in the list, not in an update's answer.
    response = admin.get(f"{API}/subscriptions")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert [s["id"] for s in body["items"]] == [sub_id]
    assert "secret" not in body["items"][0]
    assert secret.encode() not in response.content
    status, data = call(admin, "PATCH", f"/subscriptions/{sub_id}", {"active": False})
    assert status == 200 and data["active"] is False
    assert "secret" not in data and secret not in json.dumps(data)
    assert b"secrets_blob" not in response.content


def test_the_url_guard_names_the_url_field(client_as: Any) -> None:
    status, data = call(
        client_as("admin"),
        "POST",
        "/subscriptions",
        {"name": "x", "url": "http://10.1.2.3/hook", "event_types": ["*"]},
    )
    assert status == 400
    assert "url" in data["errors"]
    status, data = call(
        client_as("admin"),
        "POST",
        "/subscriptions",
        {"name": "x", "url": "ftp://example.com/", "event_types": ["*"], "internal": True},
    )
    assert status == 400 and "url" in data["errors"]
    assert not Subscription.objects.exists()


def test_hrbp_manages_only_their_units_subscriptions(
    users: dict[str, User], client_as: Any, group_sub: Subscription
) -> None:
    hr = client_as("hrbp.cloud")
    # Not the whole group's.
    before = AuditEntry.objects.count()
    status, data = call(
        hr, "POST", "/subscriptions", {"name": "x", "url": PUBLIC_URL, "event_types": ["*"]}
    )
    assert status == 403, data
    assert AuditEntry.objects.count() == before
    # Nor internal addresses.
    status, data = call(
        hr, "POST", "/subscriptions", {**internal_body(), "business_unit_id": cloud_bu(users)}
    )
    assert status in (400, 403), data
    # Their own unit's: yes.
    status, data = call(
        hr,
        "POST",
        "/subscriptions",
        {
            "name": "BU",
            "url": PUBLIC_URL,
            "event_types": ["*"],
            "business_unit_id": cloud_bu(users),
        },
    )
    assert status == 201, data
    own = data["id"]
    status, data = call(hr, "GET", "/subscriptions")
    assert [s["id"] for s in data["items"]] == [own]
    # The group-wide one is not there for them.
    assert call(hr, "PATCH", f"/subscriptions/{group_sub.pk}", {"name": "y"})[0] == 404
    assert call(hr, "POST", f"/subscriptions/{group_sub.pk}/rotate")[0] == 404
    assert call(hr, "GET", f"/subscriptions/{group_sub.pk}/deliveries")[0] == 404
    # Another unit's HR sees none of it.
    other = client_as("hrbp.devices")
    assert call(other, "GET", "/subscriptions")[1]["count"] == 0
    assert call(other, "PATCH", f"/subscriptions/{own}", {"name": "y"})[0] == 404
    # The group admin sees both.
    assert call(client_as("admin"), "GET", "/subscriptions")[1]["count"] == 2
    # Without the permission at all: 403.
    assert call(client_as("employee"), "GET", "/subscriptions")[0] == 403
    assert call(client_as("auditor"), "GET", f"/subscriptions/{own}/deliveries")[0] == 403


def test_rotate(client_as: Any, group_sub: Subscription) -> None:
    before = AuditEntry.objects.count()
    status, data = call(client_as("admin"), "POST", f"/subscriptions/{group_sub.pk}/rotate")
    assert status == 200, data
    assert data["secret"].startswith("whsec_")
    status, again = call(client_as("admin"), "POST", f"/subscriptions/{group_sub.pk}/rotate")
    assert again["secret"] != data["secret"]
    assert AuditEntry.objects.count() > before
    assert call(client_as("admin"), "POST", "/subscriptions/999999/rotate")[0] == 404


def test_replay(client_as: Any, group_sub: Subscription) -> None:
    rows = dead_deliveries(group_sub, 3)
    admin = client_as("admin")
    status, data = call(
        admin, "POST", f"/subscriptions/{group_sub.pk}/replay", {"ids": [rows[0].pk]}
    )
    assert status == 200 and data == {"replayed": 1}
    assert WebhookDelivery.objects.get(pk=rows[0].pk).status == WebhookStatus.PENDING
    status, data = call(admin, "POST", f"/subscriptions/{group_sub.pk}/replay", {"ids": None})
    assert status == 200 and data == {"replayed": 2}
    assert not WebhookDelivery.objects.filter(status=WebhookStatus.DEAD).exists()
    assert call(admin, "POST", f"/subscriptions/{group_sub.pk}/replay", {})[1] == {"replayed": 0}


def test_the_delivery_log(client_as: Any, group_sub: Subscription) -> None:
    admin = client_as("admin")
    url = f"{API}/subscriptions/{group_sub.pk}/deliveries"
    dead_deliveries(group_sub, 1)
    admin.get(url)  # warm up the session and the caches
    with CaptureQueriesContext(connection) as one:
        assert admin.get(url).status_code == 200
    rows = list(WebhookDelivery.objects.filter(subscription=group_sub))
    more = dead_deliveries(group_sub, 8)
    WebhookDelivery.objects.filter(pk=more[0].pk).update(status=WebhookStatus.DELIVERED)
    with CaptureQueriesContext(connection) as many:
        response = admin.get(url)
    assert response.status_code == 200
    assert len(many) == len(one)  # constant: no query per row
    data = json.loads(response.content)
    assert data["count"] == 9 and len(data["items"]) == 9
    first = data["items"][0]
    assert first["event_id"] == max(d.event_id for d in [*rows, *more])  # newest event first
    assert first["event_type"] == "case.updated" and first["subject"].startswith("cases/")
    assert first["status"] == "dead" and first["attempts"] == 12
    assert first["response_status"] == 500 and first["error"] == "HTTP 500"
    assert "next_attempt_at" in first and first["delivered_at"] is None
    # Filtered and paginated.
    status, page = call(admin, "GET", f"/subscriptions/{group_sub.pk}/deliveries?status=delivered")
    assert status == 200 and page["count"] == 1 and page["items"][0]["status"] == "delivered"
    status, page = call(admin, "GET", f"/subscriptions/{group_sub.pk}/deliveries?limit=3&offset=6")
    assert page["count"] == 9 and len(page["items"]) == 3
    assert call(admin, "GET", f"/subscriptions/{group_sub.pk}/deliveries?status=nope")[0] == 400


def test_a_token_needs_the_integrations_scope(
    users: dict[str, User], group_sub: Subscription
) -> None:
    narrow = token_client(users["admin"], ["notify:read", "org:read"])
    assert call(narrow, "GET", "/subscriptions")[0] == 403
    assert call(narrow, "POST", f"/subscriptions/{group_sub.pk}/rotate")[0] in (403, 404)
    status, _data = call(narrow, "POST", "/subscriptions", internal_body())
    assert status == 403
    wide = token_client(users["admin"], ["integrations"])
    status, data = call(wide, "GET", "/subscriptions")
    assert status == 200 and data["count"] == 1
