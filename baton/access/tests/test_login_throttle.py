"""Sign-in throttling: progressive delays per (IP, username) and per IP, which slow guessing
down but never lock the owner out of their account from another address."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from baton.access.models import LoginFailure, User
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.org.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
FREE = settings.BATON_LOGIN_MAX_FAILURES


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


def _client(ip: str, **headers: str) -> Client:
    return Client(headers={"host": "127.0.0.1", **headers}, REMOTE_ADDR=ip)


def _login(client: Client, username: str, password: str) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_failures_elsewhere_never_refuse_the_owner_from_a_new_address(
    users: dict[str, User], clock: Clock
) -> None:
    attacker = _client("203.0.113.7")
    for _ in range(30):
        _login(attacker, "admin", "wrong-password")
        clock.advance(1)
    assert LoginFailure.objects.filter(username="admin").count() >= FREE
    owner = _client("198.51.100.20")
    response = _login(owner, "admin", DEMO_PASSWORD)
    assert response.status_code == 302 and _signed_in(owner)
    # The owner's sign-in did not reset the delays of the address guessing.
    assert _login(attacker, "admin", DEMO_PASSWORD).status_code == 429


def test_many_failures_from_one_address_delay_it_briefly_and_no_other(
    users: dict[str, User], clock: Clock
) -> None:
    noisy = _client("203.0.113.8")
    for i in range(FREE * 4 + 1):  # spread over many names: no pair is throttled yet
        _login(noisy, f"nobody{i % 5}", "wrong-password")
    # Another address is not concerned at all.
    other = _client("198.51.100.21")
    assert _login(other, "employee", DEMO_PASSWORD).status_code == 302 and _signed_in(other)
    # The same address (an office behind one NAT) waits a bounded moment, then signs in.
    response = _login(noisy, "hrbp.cloud", DEMO_PASSWORD)
    assert response.status_code == 429 and not _signed_in(noisy)
    assert 1 <= int(response["Retry-After"]) <= 60
    clock.advance(61)
    assert _login(noisy, "hrbp.cloud", DEMO_PASSWORD).status_code == 302 and _signed_in(noisy)


def test_delays_grow_per_address_and_name_and_early_tries_are_not_checked(
    users: dict[str, User], clock: Clock
) -> None:
    client = _client("203.0.113.9", **{"accept-language": "en"})
    for _ in range(FREE):
        assert _login(client, "finance", "wrong-password").status_code == 200
    # Now each further attempt must wait, the password unchecked (even the right one).
    response = _login(client, "finance", DEMO_PASSWORD)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert "Wait 1 s and try again" in response.content.decode()
    assert not _signed_in(client)
    throttled = AuditEntry.objects.latest("id")
    assert throttled.event_type == E.LOGIN_THROTTLED and throttled.subject_id == str(
        users["finance"].pk
    )
    counted = LoginFailure.objects.filter(username="finance").count()
    for _ in range(5):  # hammering during the wait is not counted and moves nothing
        assert _login(client, "finance", "wrong-password").status_code == 429
    assert LoginFailure.objects.filter(username="finance").count() == counted
    waits = []
    for _ in range(4):
        clock.advance(int(_login(client, "finance", "x")["Retry-After"]))
        assert _login(client, "finance", "wrong-password").status_code == 200  # considered
        waits.append(int(_login(client, "finance", "wrong-password")["Retry-After"]))
    assert waits == [2, 4, 8, 16]
    clock.advance(16)
    assert _login(client, "finance", DEMO_PASSWORD).status_code == 302 and _signed_in(client)
    assert not LoginFailure.objects.filter(username="finance", client_ip="203.0.113.9").exists()


def test_the_wait_is_explained_in_chinese(users: dict[str, User], clock: Clock) -> None:
    client = _client("203.0.113.10", **{"accept-language": "zh-hans"})
    for _ in range(FREE):
        _login(client, "auditor", "wrong-password")
    body = _login(client, "auditor", "wrong-password").content.decode()
    assert "失败次数过多" in body and "1 秒" in body
