"""Notification channels behind the outbound guard (issue 13), through the API, against real
servers on 127.0.0.1 (the WeCom robot stand-in, the mail catcher):

- HR of a business unit cannot point a channel at loopback, private or link-local addresses
  (robot URLs, SMS endpoints, SMTP hosts) — the save is refused naming host and address;
- a channel whose name resolves to an internal address only later is refused when sending or
  testing: nothing leaves, and nothing of an internal answer comes back;
- only group administrators mark a channel internal (and move an internal one);
- stored secrets do not follow a channel's address to another host.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from baton.access.models import User
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.core.tests.api_client import json_call
from baton.notify.models import Channel
from baton.notify.secrets import read_secrets
from baton.notify.testing.smtp import MailCatcher
from baton.notify.testing.vendors import WeComRobotServer
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
API = "/api/notify"
KEY = "standin-robot-key"


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return json_call(client, method, f"{API}{path}", body)


@pytest.fixture
def robot() -> Iterator[WeComRobotServer]:
    with WeComRobotServer(key=KEY) as server:
        yield server


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as c:
        yield c


@pytest.fixture
def bu(users: dict[str, User]) -> int:
    """The business unit hrbp.cloud manages."""
    return Employee.objects.get(pk=users["employee"].employee_id).business_unit_id


@pytest.fixture
def later_internal(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Names that do not resolve when the channel is saved and resolve to 127.0.0.1 later
    (the resolver at the network boundary; every other name resolves as usual)."""
    real = socket.getaddrinfo
    names: dict[str, str] = {}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            if names[host] == "unresolved":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port or 0)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def _robot_body(url: str, bu: int | None, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Cloud robot",
        "kind": "wecom",
        "business_unit_id": bu,
        "settings": {"url": url},
        "secrets": {"key": KEY},
        **extra,
    }


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "169.254.169.254",
        "100.100.100.200",
        "[::ffff:127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "2130706433",
    ],
)
def test_hr_cannot_point_a_robot_at_an_internal_address(
    client_as: Any, bu: int, robot: WeComRobotServer, host: str
) -> None:
    url = f"http://{host}:{robot.port}{robot.PATH}"
    before = AuditEntry.objects.count()
    status, data = call(client_as("hrbp.cloud"), "POST", "/channels", _robot_body(url, bu))
    assert status == 400, data
    message = data["errors"]["url"][0]
    assert host.strip("[]") in message and "private or local address" in message
    assert not Channel.objects.exists() and AuditEntry.objects.count() == before
    assert robot.received == []


def test_hr_cannot_use_an_smtp_host_as_a_port_scanner(
    client_as: Any, bu: int, catcher: MailCatcher
) -> None:
    body = {
        "name": "Mail",
        "kind": "email",
        "business_unit_id": bu,
        "settings": {"host": "127.0.0.1", "port": catcher.port, "from_email": "hr@hx.example"},
    }
    status, data = call(client_as("hrbp.cloud"), "POST", "/channels", body)
    assert status == 400
    assert "127.0.0.1 is a private or local address" in data["errors"]["host"][0]
    assert not Channel.objects.exists()


def test_only_group_administrators_allow_internal_addresses(
    client_as: Any, bu: int, robot: WeComRobotServer
) -> None:
    hr, admin = client_as("hrbp.cloud"), client_as("admin")
    local = robot.url
    status, data = call(hr, "POST", "/channels", _robot_body(local, bu, internal=True))
    assert status == 400 and "internal" in data["errors"]
    assert not Channel.objects.exists()
    # The group administrator may: the channel reaches the local robot.
    status, data = call(admin, "POST", "/channels", _robot_body(local, bu, internal=True))
    assert status == 201 and data["internal"] is True
    cid = data["id"]
    status, result = call(admin, "POST", f"/channels/{cid}/test")
    assert result["ok"] is True, result
    assert len(robot.received) == 1
    # HR of the unit may rename it, but not move it, nor switch a channel internal.
    assert call(hr, "PATCH", f"/channels/{cid}", {"name": "Robot"})[0] == 200
    moved = {"settings": {"url": f"http://127.0.0.1:{robot.port}/elsewhere"}}
    status, data = call(hr, "PATCH", f"/channels/{cid}", moved)
    assert status == 400 and "internal" in data["errors"]
    assert Channel.objects.get(pk=cid).settings["url"] == local
    # Switching it off is refused as well: the local address would then not be allowed.
    assert call(hr, "PATCH", f"/channels/{cid}", {"internal": False})[0] == 400
    assert Channel.objects.get(pk=cid).internal is True


def test_a_name_that_turns_internal_is_refused_when_testing_and_nothing_is_echoed(
    client_as: Any, bu: int, robot: WeComRobotServer, later_internal: dict[str, str]
) -> None:
    hr = client_as("hrbp.cloud")
    later_internal["hooks.hx.example"] = "unresolved"
    url = f"http://hooks.hx.example:{robot.port}{robot.PATH}"
    status, data = call(hr, "POST", "/channels", _robot_body(url, bu))
    assert status == 201, data  # not resolvable now: left to the send
    later_internal["hooks.hx.example"] = "127.0.0.1"
    status, result = call(hr, "POST", f"/channels/{data['id']}/test")
    assert status == 200 and result["ok"] is False
    assert "hooks.hx.example resolves to 127.0.0.1" in result["error"]
    assert result["delivery"]["status"] == "failed"
    assert result["delivery"]["response"] == ""
    assert robot.received == []


def test_an_smtp_host_that_turns_internal_is_refused_when_sending(
    client_as: Any, bu: int, catcher: MailCatcher, later_internal: dict[str, str]
) -> None:
    hr = client_as("hrbp.cloud")
    later_internal["mail.hx.example"] = "unresolved"
    body = {
        "name": "Mail",
        "kind": "email",
        "business_unit_id": bu,
        "settings": {"host": "mail.hx.example", "port": catcher.port, "from_email": "a@hx.example"},
    }
    status, data = call(hr, "POST", "/channels", body)
    assert status == 201, data
    later_internal["mail.hx.example"] = "127.0.0.1"
    status, result = call(hr, "POST", f"/channels/{data['id']}/test")
    assert result["ok"] is False and "resolves to 127.0.0.1" in result["error"]
    assert catcher.messages == []


# ---------------------------------------------------------------- secrets stay with their host


def test_a_robot_key_does_not_follow_the_url_to_another_host(client_as: Any, bu: int) -> None:
    hr = client_as("hrbp.cloud")
    status, data = call(
        hr, "POST", "/channels", {**_robot_body("", bu), "settings": {}, "secrets": {"key": KEY}}
    )
    assert status == 201 and data["secrets_set"] == ["key"]
    cid = data["id"]
    before = AuditEntry.objects.count()
    elsewhere = {"settings": {"url": "https://collector.hx.example/cgi-bin/webhook/send"}}
    status, data = call(hr, "PATCH", f"/channels/{cid}", elsewhere)
    assert status == 400
    assert "stored secrets were removed" in data["errors"]["key"][0]
    assert read_secrets(Channel.objects.get(pk=cid)) == {"key": KEY}
    assert AuditEntry.objects.count() == before
    # With a key given for the new host, the move is saved.
    status, data = call(hr, "PATCH", f"/channels/{cid}", {**elsewhere, "secrets": {"key": "k2"}})
    assert status == 200 and data["secrets_set"] == ["key"]
    assert read_secrets(Channel.objects.get(pk=cid)) == {"key": "k2"}


def test_an_smtp_password_does_not_follow_the_host(client_as: Any, catcher: MailCatcher) -> None:
    admin = client_as("admin")
    mail = {"host": "127.0.0.1", "port": catcher.port, "from_email": "hr@hx.example"}
    status, data = call(
        admin,
        "POST",
        "/channels",
        {
            "name": "Mail",
            "kind": "email",
            "internal": True,
            "settings": {**mail, "username": "baton"},
            "secrets": {"password": "very-secret-password"},
        },
    )
    assert status == 201 and data["secrets_set"] == ["password"]
    cid = data["id"]
    # Another sender on the same server keeps the password.
    same = {"settings": {**mail, "from_email": "hr2@hx.example", "username": "baton"}}
    status, data = call(admin, "PATCH", f"/channels/{cid}", same)
    assert status == 200 and data["secrets_set"] == ["password"] and data["notices"] == []
    # Another port is another server: the password is removed, audited, and said.
    moved = {"settings": {**mail, "port": catcher.port + 1, "username": "baton"}}
    status, data = call(admin, "PATCH", f"/channels/{cid}", moved)
    assert status == 200, data
    assert data["secrets_set"] == []
    assert data["notices"] and "stored secrets were removed" in data["notices"][0]
    assert read_secrets(Channel.objects.get(pk=cid)) == {}
    entry = AuditEntry.objects.filter(
        event_type=AuditEvent.CHANNEL_UPDATED, subject_id=str(cid)
    ).first()
    assert entry is not None and entry.data["extra"]["secrets_removed"] == ["password"]
