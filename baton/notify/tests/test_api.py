"""/api/notify: notifications, the delivery log, reminder rules and channels — scoped like the
UI, narrowed by API token scopes, secrets write-only, refusals as field errors."""

from __future__ import annotations

import datetime as dt
import json
import socket
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from baton.access import actions as access_actions
from baton.access.models import User
from baton.audit.models import AuditEntry
from baton.core.tests.api_client import json_call
from baton.handover import actions as handover
from baton.handover import packs
from baton.handover.models import ChecklistTemplate, ExitCase
from baton.notify import actions
from baton.notify.models import Channel, Delivery, DeliveryKind, Notification, ReminderRule
from baton.notify.secrets import read_secrets
from baton.notify.testing.smtp import MailCatcher
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
API = "/api/notify"


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return json_call(client, method, f"{API}{path}", body)


def token_client(user: User, scopes: list[str]) -> Client:
    _token, raw = access_actions.create_token(user, "test", scopes, acting_user=user)
    return Client(headers={"host": "127.0.0.1", "authorization": f"Bearer {raw}"})


def notes(user: User, n: int) -> list[Notification]:
    return [
        Notification.objects.create(user=user, kind=DeliveryKind.REMINDER, title=f"Note {i}")
        for i in range(n)
    ]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as c:
        yield c


@pytest.fixture
def reminded(users: dict[str, User]) -> ExitCase:
    """An approved case after a reminder run (in-app deliveries, an escalation)."""
    packs.install(acting_user=users["admin"])
    leaver = Employee.objects.get(pk=users["employee"].employee_id)
    case = handover.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        reason="职业发展",
        submit=True,
    )
    case = handover.approve_case(case, acting_user=users["head.rd"])
    actions.run_reminders(dt.datetime(2027, 1, 7, 10, tzinfo=SH))
    return case


# ---------------------------------------------------------------- notifications


def test_notifications_are_ones_own_and_can_be_marked_read(
    client_as: Any, users: dict[str, User]
) -> None:
    mine = notes(users["employee"], 3)
    others = notes(users["receiver"], 2)
    client = client_as("employee")
    status, data = call(client, "GET", "/notifications")
    assert status == 200
    assert data["count"] == 3 and data["unread_count"] == 3
    assert [n["id"] for n in data["items"]] == [n.pk for n in reversed(mine)]
    assert all(n["unread"] for n in data["items"])
    # Some ids (one of them someone else's, which is ignored).
    status, data = call(client, "POST", "/notifications/read", {"ids": [mine[0].pk, others[0].pk]})
    assert (status, data) == (200, {"marked": 1})
    assert Notification.objects.get(pk=others[0].pk).read_at is None
    status, data = call(client, "GET", "/notifications?unread=1")
    assert data["count"] == 2 and data["unread_count"] == 2
    assert mine[0].pk not in {n["id"] for n in data["items"]}
    # All of them.
    assert call(client, "POST", "/notifications/read", {"ids": None}) == (200, {"marked": 2})
    assert call(client, "POST", "/notifications/read", {}) == (200, {"marked": 0})
    status, data = call(client, "GET", "/notifications?unread=1")
    assert data["count"] == 0 and data["unread_count"] == 0
    status, data = call(client, "POST", "/notifications/read", {"ids": "all"})
    assert status == 400 and "ids" in data["errors"]


def test_a_token_needs_a_notify_scope_for_the_inbox(users: dict[str, User]) -> None:
    me = users["employee"]
    notes(me, 2)
    org_only = token_client(me, ["org:read"])
    assert call(org_only, "GET", "/notifications")[0] == 403
    assert call(org_only, "POST", "/notifications/read", {"ids": None})[0] == 403
    assert Notification.objects.filter(user=me, read_at=None).count() == 2
    reader = token_client(me, ["notify:read"])
    status, data = call(reader, "GET", "/notifications")
    assert status == 200 and data["count"] == 2
    writer = token_client(me, ["notify:write"])
    assert call(writer, "POST", "/notifications/read", {"ids": None}) == (200, {"marked": 2})
    # The read scope does not reach the settings; the write scope does, for those who may.
    hr = users["hrbp.cloud"]
    assert call(token_client(hr, ["notify:read"]), "GET", "/rules")[0] == 403
    assert call(token_client(hr, ["notify:write"]), "GET", "/rules")[0] == 200
    assert call(token_client(hr, ["notify:write"]), "GET", "/deliveries")[0] == 403
    assert call(token_client(hr, ["notify:read"]), "GET", "/deliveries")[0] == 200


# ---------------------------------------------------------------- the delivery log


def test_deliveries_are_scoped_by_case_and_filtered(
    client_as: Any, users: dict[str, User], reminded: ExitCase
) -> None:
    total = Delivery.objects.filter(case=reminded).count()
    assert total > 0
    status, data = call(client_as("auditor"), "GET", f"/deliveries?case={reminded.pk}")
    assert status == 200 and data["count"] == total
    first = data["items"][0]
    assert {"status", "family", "kind", "recipient_id", "address", "attempts", "error"} <= set(
        first
    )
    status, data = call(client_as("hrbp.cloud"), "GET", "/deliveries?kind=escalation")
    assert data["count"] == Delivery.objects.filter(kind="escalation").count() > 0
    status, data = call(client_as("admin"), "GET", "/deliveries?status=sent&family=inapp")
    assert data["count"] == Delivery.objects.filter(status="sent", family="inapp").count()
    # HR of another unit sees none of this case's; those without the log may not ask.
    status, data = call(client_as("hrbp.devices"), "GET", f"/deliveries?case={reminded.pk}")
    assert status == 200 and data["count"] == 0
    assert call(client_as("employee"), "GET", "/deliveries")[0] == 403
    assert call(client_as("head.rd"), "GET", "/deliveries")[0] == 403
    status, data = call(client_as("admin"), "GET", "/deliveries?status=lost")
    assert status == 400 and "status" in data["errors"]


# ---------------------------------------------------------------- reminder rules


def test_rules_create_list_update_delete(client_as: Any, users: dict[str, User]) -> None:
    actions.ensure_default_rules()
    packs.install(acting_user=users["admin"])
    template = ChecklistTemplate.objects.get(position_family__code="engineering")
    admin = client_as("admin")
    status, data = call(admin, "GET", "/rules?defaults=true")
    assert status == 200 and data["count"] == 5
    assert all(r["description"] for r in data["items"])
    body = {
        "name": "Repositories: the HRBP",
        "template_id": template.pk,
        "item_key": "repositories",
        "offset": 2,
        "audience": "hrbp",
        "channels": ["email", "inapp"],
        "escalation": True,
    }
    status, rule = call(client_as("hrbp.cloud"), "POST", "/rules", body)
    assert status == 201, rule
    assert rule["template_id"] == template.pk and rule["channels"] == ["email", "inapp"]
    assert "2 working day(s) overdue" in rule["description"]
    status, data = call(admin, "GET", f"/rules?template={template.pk}")
    assert [r["id"] for r in data["items"]] == [rule["id"]]
    status, changed = call(admin, "PATCH", f"/rules/{rule['id']}", {"offset": 3, "mode": "digest"})
    assert status == 200 and changed["offset"] == 3 and changed["mode"] == "digest"
    # Refusals name the field, and write nothing.
    before = AuditEntry.objects.count()
    status, data = call(admin, "PATCH", f"/rules/{rule['id']}", {"channels": ["fax"]})
    assert status == 400 and any(k.startswith("channels") for k in data["errors"])
    status, data = call(admin, "PATCH", f"/rules/{rule['id']}", {"offset": 99})
    assert status == 400 and "offset" in data["errors"]
    status, data = call(admin, "POST", "/rules", {**body, "template_id": None})
    assert status == 400 and "item_key" in data["errors"]
    assert AuditEntry.objects.count() == before
    # The group defaults are the group admins'.
    status, data = call(
        client_as("hrbp.cloud"), "POST", "/rules", {**body, "template_id": None, "item_key": ""}
    )
    assert status == 403 and "default" in data["detail"]
    assert call(client_as("head.rd"), "GET", "/rules")[0] == 403
    status, _data = call(admin, "DELETE", f"/rules/{rule['id']}")
    assert status == 204
    assert not ReminderRule.objects.filter(pk=rule["id"]).exists()
    assert call(admin, "DELETE", f"/rules/{rule['id']}")[0] == 404


# ---------------------------------------------------------------- channels


def test_channel_secrets_are_write_only(
    client_as: Any, users: dict[str, User], catcher: MailCatcher
) -> None:
    admin = client_as("admin")
    body = {
        "name": "Group mail",
        "kind": "email",
        "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
        "settings": {
            "host": "127.0.0.1",
            "port": catcher.port,
            "from_email": "hr@hx.example",
            "username": "baton",
        },
        "secrets": {"password": "very-secret-password"},
        "mandatory": True,
    }
    response = admin.post(f"{API}/channels", json.dumps(body), content_type="application/json")
    assert response.status_code == 201
    assert b"very-secret-password" not in response.content
    data = json.loads(response.content)
    assert data["secrets_set"] == ["password"] and data["family"] == "email"
    assert data["business_unit_id"] is None and data["mandatory"] is True
    assert "password" not in data["settings"]
    channel_id = data["id"]
    # Patching without secrets keeps them; the list never shows them either.
    status, data = call(admin, "PATCH", f"/channels/{channel_id}", {"name": "Mail", "secrets": {}})
    assert status == 200 and data["name"] == "Mail" and data["secrets_set"] == ["password"]
    channel = Channel.objects.get(pk=channel_id)
    assert read_secrets(channel) == {"password": "very-secret-password"}
    response = admin.get(f"{API}/channels")
    assert b"very-secret-password" not in response.content
    assert json.loads(response.content)["count"] == 1
    # A second group-wide email channel: a conflict naming the place.
    status, data = call(admin, "POST", "/channels", {**body, "name": "Other"})
    assert status == 409 and "business_unit" in data["errors"]
    # Unknown provider settings are refused.
    status, data = call(admin, "PATCH", f"/channels/{channel_id}", {"settings": {"colour": "red"}})
    assert status == 400 and "settings" in data["errors"]


def test_channel_test_reports_the_outcome(
    client_as: Any, users: dict[str, User], catcher: MailCatcher
) -> None:
    admin = client_as("admin")
    port = closed_port()
    status, data = call(
        admin,
        "POST",
        "/channels",
        {
            "name": "Mail",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "settings": {"host": "127.0.0.1", "port": port, "from_email": "hr@hx.example"},
        },
    )
    assert status == 201
    channel_id = data["id"]
    status, result = call(admin, "POST", f"/channels/{channel_id}/test")
    assert status == 200 and result["ok"] is False
    assert f"Cannot reach the SMTP server 127.0.0.1:{port}" in result["error"]
    assert result["channel"]["last_test_ok"] is False
    assert result["delivery"]["status"] == "failed" and result["delivery"]["kind"] == "test"
    status, _data = call(
        admin,
        "PATCH",
        f"/channels/{channel_id}",
        {"settings": {"host": "127.0.0.1", "port": catcher.port, "from_email": "hr@hx.example"}},
    )
    assert status == 200
    status, result = call(admin, "POST", f"/channels/{channel_id}/test")
    assert result["ok"] is True and result["error"] == ""
    assert result["delivery"]["status"] == "sent"
    assert len(catcher.messages) == 1
    assert result["delivery"]["address"] in str(catcher.messages[0]["To"])


def test_hrbp_channels_are_their_units(client_as: Any, users: dict[str, User]) -> None:
    hr = client_as("hrbp.cloud")
    bu = Employee.objects.get(pk=users["employee"].employee_id).business_unit_id
    body = {
        "name": "Cloud robot",
        "kind": "wecom",
        "settings": {},
        "secrets": {"key": "robot-key"},
    }
    before = AuditEntry.objects.count()
    status, data = call(hr, "POST", "/channels", body)
    assert status == 403 and "whole group" in data["detail"]
    assert not Channel.objects.exists() and AuditEntry.objects.count() == before
    status, data = call(hr, "POST", "/channels", {**body, "business_unit_id": bu})
    assert status == 201 and data["secrets_set"] == ["key"] and data["family"] == "im"
    # A missing secret is named.
    status, data = call(
        client_as("admin"), "POST", "/channels", {**body, "secrets": {}, "name": "Group robot"}
    )
    assert status == 400 and "key" in data["errors"]
    # Other units' HR neither see nor change it.
    other = client_as("hrbp.devices")
    assert call(other, "GET", "/channels")[1]["count"] == 0
    assert call(other, "PATCH", f"/channels/{Channel.objects.get().pk}", {})[0] == 404
    assert call(client_as("admin"), "GET", "/channels?family=im")[1]["count"] == 1
