"""API authentication: a bearer token is decided before (and instead of) the session's CSRF
check, a bad token is 401 whatever else came along, read-only tokens change nothing, and every
refusal is in the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from baton.access import actions
from baton.access.models import ApiToken, User
from baton.api import api
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
READ_SCOPES = ["audit:read", "handover:read", "notify:read", "org:read"]
CSRF_SECRET = "a" * 32  # a valid (unmasked) CSRF secret, as a browser would hold it


def _client(**headers: str) -> Client:
    return Client(enforce_csrf_checks=True, headers={"host": "127.0.0.1", **headers})


def _token(user: User, scopes: list[str], **kwargs: Any) -> tuple[ApiToken, str]:
    return actions.create_token(user, "probe", scopes, acting_user=user, **kwargs)


def _patch_me(client: Client, body: dict[str, Any], **headers: str) -> Any:
    return client.patch(
        "/api/access/me", data=json.dumps(body), content_type="application/json", headers=headers
    )


def _refusals() -> list[dict[str, Any]]:
    return [
        json.loads(e.payload)["extra"]
        for e in AuditEntry.objects.filter(event_type=E.API_REFUSED).order_by("id")
    ]


def test_a_token_writes_without_any_csrf_token(users: dict[str, User]) -> None:
    # The probe's case: a connected system pushing data with its token and nothing else.
    _t, raw = _token(users["admin"], ["org:write"])
    response = _client(authorization=f"Bearer {raw}").post(
        "/api/org/cities",
        data=json.dumps({"code": "TKN", "name": "令牌市"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    me = users["employee"]
    token, raw = _token(me, ["account:write"])
    response = _patch_me(_client(authorization=f"Bearer {raw}"), {"time_zone": "Europe/Berlin"})
    assert response.status_code == 200, response.content
    me.refresh_from_db()
    assert me.time_zone == "Europe/Berlin"
    call = AuditEntry.objects.filter(event_type=E.API_CALLED).latest("id")
    assert json.loads(call.payload)["extra"]["status"] == 200 and call.token_id == token.pk


def test_a_token_is_decided_even_next_to_a_session_without_csrf(users: dict[str, User]) -> None:
    # A signed-in browser that also sends a valid token is judged by the token alone.
    _t, raw = _token(users["employee"], ["account:write"])
    client = _client(authorization=f"Bearer {raw}")
    client.force_login(users["admin"])
    assert _patch_me(client, {"language": "en"}).status_code == 200
    assert client.get("/api/access/me").json()["username"] == "employee"


def test_a_bad_token_is_401_and_never_falls_back_to_the_session(users: dict[str, User]) -> None:
    admin = users["admin"]
    revoked, revoked_raw = _token(admin, ["org:read"])
    actions.revoke_token(revoked, acting_user=admin)
    expired, expired_raw = _token(
        admin, ["org:read"], expires_at=timezone.now() + dt.timedelta(seconds=1)
    )
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    before = len(_refusals())
    for raw in ("btn_not-a-real-token", revoked_raw, expired_raw, ""):
        client = _client(authorization=f"Bearer {raw}")
        client.force_login(admin)  # a valid session does not rescue a bad token
        for method in ("get", "patch"):
            response = getattr(client, method)("/api/access/me")
            assert response.status_code == 401, (raw, method, response.content)
            assert response.json()["detail"]
    got = _refusals()[before:]
    assert [r["reason"] for r in got] == [
        *["unknown_token"] * 2,
        *["revoked_token"] * 2,
        *["expired_token"] * 2,
        *["unknown_token"] * 2,
    ]
    assert {(r["method"], r["path"], r["status"]) for r in got} == {
        ("GET", "/api/access/me", 401),
        ("PATCH", "/api/access/me", 401),
    }
    assert got[2]["token"] == revoked.pk and got[4]["token"] == expired.pk
    # No secret and no personal data beyond ids in the trail.
    entries = AuditEntry.objects.filter(event_type=E.API_REFUSED).order_by("-id")[: len(got)]
    for entry in entries:
        assert entry.actor_id is None
        assert not any(raw in entry.payload for raw in (revoked_raw, expired_raw, "not-a-real"))
    assert AuditEntry.objects.filter(event_type=E.API_REFUSED).latest("id").token_id is None


def test_a_cookie_session_still_needs_csrf_for_changes(users: dict[str, User]) -> None:
    admin = users["admin"]
    client = _client()
    client.force_login(admin)
    assert client.get("/api/access/me").status_code == 200  # reads need no CSRF token
    before = len(_refusals())
    refused = _patch_me(client, {"time_zone": "UTC"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    got = _refusals()[before:]
    assert got == [
        {
            "reason": "csrf",
            "user": admin.pk,
            "method": "PATCH",
            "path": "/api/access/me",
            "status": 403,
        }
    ]
    assert AuditEntry.objects.filter(event_type=E.API_REFUSED).latest("id").actor_id == admin.pk
    client.cookies["csrftoken"] = CSRF_SECRET
    ok = _patch_me(client, {"time_zone": "UTC"}, **{"X-CSRFToken": CSRF_SECRET})
    assert ok.status_code == 200, ok.content
    admin.refresh_from_db()
    assert admin.time_zone == "UTC"


def test_no_credentials_at_all_is_401_for_changes_too(demo_data: None) -> None:
    assert _patch_me(_client(), {"time_zone": "UTC"}).status_code == 401


def test_preferences_need_the_account_write_scope(users: dict[str, User]) -> None:
    me = users["employee"]
    before = me.time_zone
    for scopes in (["org:read"], READ_SCOPES, ["handover:write"]):
        _t, raw = _token(me, scopes)
        response = _patch_me(_client(authorization=f"Bearer {raw}"), {"time_zone": "UTC"})
        assert response.status_code == 403, (scopes, response.content)
        # Audited as a (refused) call made with the token.
        call = AuditEntry.objects.filter(event_type=E.API_CALLED).latest("id")
        assert json.loads(call.payload)["extra"]["status"] == 403
    me.refresh_from_db()
    assert me.time_zone == before


def test_a_token_revokes_only_itself(users: dict[str, User]) -> None:
    me = users["hrbp.cloud"]
    other, _other_raw = _token(me, ["org:read"])
    mine, raw = _token(me, ["org:write"])
    client = _client(authorization=f"Bearer {raw}")
    assert client.delete(f"/api/access/tokens/{other.pk}").status_code == 403
    assert client.delete(f"/api/access/tokens/{mine.pk}").status_code == 204
    other.refresh_from_db()
    mine.refresh_from_db()
    assert other.revoked_at is None and mine.revoked_at is not None


def test_every_unsafe_operation_refuses_a_read_only_token(users: dict[str, User]) -> None:
    """Guards future endpoints too: any change through the API, with a token holding only
    read scopes, is 403 before the endpoint runs (whatever the body or the ids)."""
    _t, raw = _token(users["admin"], READ_SCOPES)
    # Without CSRF enforcement, as a test client that a token's request is not refused for.
    client = Client(headers={"host": "127.0.0.1", "authorization": f"Bearer {raw}"})
    schema = api.get_openapi_schema()
    checked = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch", "delete") or not op.get("security"):
                continue  # public operations (no auth) take no token
            url = re.sub(r"\{[^}]+\}", "1", path)
            response = client.generic(method.upper(), url, "{}", content_type="application/json")
            checked.append((method, path, response.status_code))
    assert len(checked) > 90
    assert [c for c in checked if c[2] != 403] == []
