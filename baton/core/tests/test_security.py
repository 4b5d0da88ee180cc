"""Sign-in, sessions, CSRF, CSP, passwords, health."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from baton.access.models import LoginFailure
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.org.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def test_argon2_is_the_password_hasher() -> None:
    # conftest swaps in a fast hasher per test; the configured default is what production uses.
    from baton import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.smoke
def test_login_logout_are_audited(users: dict[str, Any]) -> None:
    client = Client(headers={"host": "127.0.0.1"})
    response = _login(client, "admin", DEMO_PASSWORD)
    assert response.status_code == 302
    assert AuditEntry.objects.latest("id").event_type == AuditEvent.LOGIN_SUCCEEDED
    assert client.get("/people/").status_code == 200
    client.post("/logout/")
    assert AuditEntry.objects.latest("id").event_type == AuditEvent.LOGGED_OUT
    assert client.get("/people/").status_code == 302


def test_login_is_throttled_after_repeated_failures(
    users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)  # the delay must not run out mid-test
    client = Client(headers={"host": "127.0.0.1"})
    for _ in range(settings.BATON_LOGIN_MAX_FAILURES):
        response = _login(client, "admin", "wrong-password")
        assert response.status_code == 200
    # Now even the right password from here waits (unchecked), with a clear message, and it is
    # recorded (baton/access/tests/test_login_throttle.py has the delays).
    response = _login(client, "admin", DEMO_PASSWORD)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.latest("id").event_type == AuditEvent.LOGIN_THROTTLED
    assert LoginFailure.objects.filter(username="admin").count() > 0


def test_failed_login_message_is_translated(users: dict[str, Any]) -> None:
    client = Client(headers={"host": "127.0.0.1", "accept-language": "zh-hans"})
    response = _login(client, "admin", "wrong-password")
    assert "用户名或密码错误" in response.content.decode()


def test_open_redirect_after_login_is_refused(users: dict[str, Any]) -> None:
    client = Client(headers={"host": "127.0.0.1"})
    response = client.post(
        "/login/", {"username": "admin", "password": DEMO_PASSWORD, "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_session_expires_and_cookies_are_protected() -> None:
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY


def test_csp_header_is_strict(client_as: Any) -> None:
    response = client_as("admin").get("/people/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"


def test_api_session_writes_need_csrf(users: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True, headers={"host": "127.0.0.1"})
    client.force_login(users["admin"])
    response = client.post(
        "/api/org/cities",
        data=json.dumps({"code": "Q", "name": "Q"}),
        content_type="application/json",
    )
    assert response.status_code in (401, 403)


def test_request_id_is_echoed_and_recorded(client_as: Any) -> None:
    client = client_as("admin", **{"x-request-id": "trace-abc-123"})
    response = client.post(
        "/api/org/cities",
        data=json.dumps({"code": "RQ", "name": "追踪"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response["X-Request-ID"] == "trace-abc-123"
    entry = AuditEntry.objects.latest("id")
    assert entry.request_id == "trace-abc-123"
    assert entry.client_ip == "127.0.0.1"


@pytest.mark.smoke
def test_healthz_reports_database_and_workers(client_as: Any) -> None:
    body = client_as(None).get("/healthz").json()
    assert body["database"] == "ok"
    assert body["workers"] == 0 and body["worker_status"] == "none"


def test_deploy_check_refuses_the_dev_secret_key() -> None:
    from baton.core.checks import secret_key_is_set

    errors = secret_key_is_set(None)
    assert errors and errors[0].id == "baton.E001"
