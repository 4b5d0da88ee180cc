"""Tokens of connected systems: owned by the system's service user (not by the person who
issued them), limited to the scopes a system may hold and to the system's part of the
organisation; every call made with a token is audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from baton.access.models import ApiToken, User
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.errors import InvalidInput
from baton.handover.models import ExitCase
from baton.integrations.actions import system_tokens
from baton.integrations.models import ConnectedSystem
from baton.org.models import LegalEntity

pytestmark = pytest.mark.django_db


def _system(entity: LegalEntity | None, **kw: Any) -> ConnectedSystem:
    return ConnectedSystem.objects.create(
        name=kw.pop("name", "CRM"),
        kind="rest",
        revokes_access=False,
        base_url="https://crm.example.com/api",
        legal_entity=entity,
        business_unit=entity.business_unit if entity else None,
        **kw,
    )


def _client(raw: str) -> Client:
    return Client(headers={"host": "127.0.0.1", "authorization": f"Bearer {raw}"})


def test_system_token_belongs_to_the_system_and_outlives_its_issuer(
    users: dict[str, User], approved_case: ExitCase
) -> None:
    entity = approved_case.legal_entity
    system = _system(entity)
    token, raw = system_tokens.issue_token(
        system, "crm push", ["business:push", "handover:read"], acting_user=users["admin"]
    )
    assert token.system_id == system.pk
    system.refresh_from_db()
    assert token.user_id == system.service_user_id
    assert not token.user.has_usable_password()
    # The issuer leaving does not break the integration.
    users["admin"].is_active = False
    users["admin"].save(update_fields=["is_active"])
    response = _client(raw).get("/api/handover/cases")
    assert response.status_code == 200
    ids = {c["id"] for c in response.json()["items"]}
    assert approved_case.pk in ids
    # Only the system's legal entity is visible.
    others = ExitCase.objects.exclude(legal_entity=entity).values_list("pk", flat=True)
    assert not ids & set(others)


def test_every_call_with_a_token_is_audited(
    users: dict[str, User], approved_case: ExitCase
) -> None:
    system = _system(approved_case.legal_entity)
    token, raw = system_tokens.issue_token(
        system, "oa", ["handover:read"], acting_user=users["admin"]
    )
    client = _client(raw)
    assert client.get("/api/handover/cases?limit=5").status_code == 200
    assert client.get("/api/org/employees").status_code == 403
    calls = AuditEntry.objects.filter(event_type=E.API_CALLED, subject_id=str(token.pk)).order_by(
        "id"
    )
    extras = [json.loads(c.payload)["extra"] for c in calls]
    seen = [(c.token_id, e["path"], e["status"]) for c, e in zip(calls, extras, strict=True)]
    assert seen == [
        (token.pk, "/api/handover/cases?limit=5", 200),
        (token.pk, "/api/org/employees", 403),
    ]
    assert all(e["system"] == system.pk for e in extras)
    assert all(c.actor_id == token.user_id for c in calls)


def test_a_system_token_cannot_manage(users: dict[str, User], demo_data: None) -> None:
    system = _system(None)
    with pytest.raises(InvalidInput):
        system_tokens.issue_token(system, "too much", ["integrations"], acting_user=users["admin"])
    with pytest.raises(InvalidInput):
        system_tokens.issue_token(system, "too much", ["org:write"], acting_user=users["admin"])


def test_only_the_systems_managers_issue_and_revoke(
    users: dict[str, User], approved_case: ExitCase
) -> None:
    system = _system(approved_case.legal_entity)  # the cloud BU's entity
    with pytest.raises(PermissionDenied):
        system_tokens.issue_token(system, "x", ["handover:read"], acting_user=users["hrbp.devices"])
    with pytest.raises(PermissionDenied):
        system_tokens.issue_token(system, "x", ["handover:read"], acting_user=users["it"])
    token, raw = system_tokens.issue_token(
        system, "x", ["handover:read"], acting_user=users["hrbp.cloud"]
    )
    with pytest.raises(PermissionDenied):
        system_tokens.revoke_token(token, acting_user=users["hrbp.devices"])
    system_tokens.revoke_token(token, acting_user=users["hrbp.cloud"])
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert _client(raw).get("/api/handover/cases").status_code == 401
    # One service user per system, however many tokens.
    system_tokens.issue_token(system, "y", ["handover:read"], acting_user=users["admin"])
    assert set(ApiToken.objects.filter(system=system).values_list("user", flat=True)) == {
        ConnectedSystem.objects.get(pk=system.pk).service_user_id
    }


def test_a_token_call_is_answered_in_the_owners_language_unless_asked(
    users: dict[str, User], demo_data: None
) -> None:
    system = _system(None)
    _token, raw = system_tokens.issue_token(
        system, "oa", ["handover:read"], acting_user=users["admin"]
    )
    refused = _client(raw).get("/api/org/employees")  # the service user's language: zh-Hans
    assert refused.status_code == 403 and "权限" in refused.json()["detail"]
    english = Client(
        headers={"host": "127.0.0.1", "authorization": f"Bearer {raw}", "accept-language": "en"}
    ).get("/api/org/employees")
    assert "permission" in english.json()["detail"]


def test_a_paused_system_s_tokens_pause_and_a_moved_system_s_tokens_follow(
    users: dict[str, User], approved_case: ExitCase
) -> None:
    from baton.integrations.actions import systems as system_actions

    entity = approved_case.legal_entity
    system = _system(entity)
    _token, raw = system_tokens.issue_token(
        system, "oa", ["handover:read"], acting_user=users["admin"]
    )
    client = _client(raw)

    def ids() -> set[int]:
        return {c["id"] for c in client.get("/api/handover/cases?limit=500").json()["items"]}

    assert approved_case.pk in ids()
    other = LegalEntity.objects.exclude(pk=entity.pk).filter(business_unit=entity.business_unit)
    other = other.first() or LegalEntity.objects.exclude(pk=entity.pk).first()
    system.business_unit = other.business_unit
    system.save(update_fields=["business_unit"])
    system_actions.update_system(system, {"legal_entity": other.pk}, acting_user=users["admin"])
    assert approved_case.pk not in ids()
    system_actions.update_system(system, {"active": False}, acting_user=users["admin"])
    assert client.get("/api/handover/cases").status_code == 401
