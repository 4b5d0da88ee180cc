"""/api/integrations/systems: connected systems (settings, secrets, a connection test, their
call log, account links, their API tokens).

Systems need INTEGRATIONS_MANAGE (group administrators: all; an HRBP: their business units').
Secrets are write-only.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.http import AuthedRequest
from baton.integrations import selectors
from baton.integrations.actions import system_tokens
from baton.integrations.actions import systems as system_actions
from baton.integrations.api.common import not_found, page
from baton.integrations.models import ConnectedSystem, ConnectorCall, SystemKind
from baton.org.models import Employee

router = Router(tags=["connected systems"])


def systems_of(user: Any) -> QuerySet[ConnectedSystem]:
    return selectors.systems(user)


def _system(user: Any, system_id: int) -> ConnectedSystem:
    return selectors.system(user, system_id)


# ---------------------------------------------------------------- schemas


class SystemOut(Schema):
    id: int
    name: str
    kind: SystemKind
    business_unit_id: int | None = Field(..., description="null: managed by group admins.")
    legal_entity_id: int | None = Field(..., description="null: accounts of every entity.")
    base_url: str
    internal: bool
    active: bool
    revokes_access: bool
    pulls_data: bool
    transfers_customers: bool
    config: dict[str, Any]
    revoke_hour: int
    delete_after_days: int | None
    max_attempts: int
    has_secrets: bool
    notices: list[str] = Field(
        default_factory=list,
        description="What the change did besides (e.g. secrets removed because the host moved).",
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_has_secrets(obj: ConnectedSystem) -> bool:
        return bool(obj.secrets_blob)

    @staticmethod
    def resolve_notices(obj: ConnectedSystem) -> list[str]:
        return list(getattr(obj, "notices", []))


class SystemPage(Page):
    items: list[SystemOut]


class SystemIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: SystemKind
    base_url: str = Field(..., min_length=1, max_length=500)
    business_unit_id: int | None = Field(
        default=None, description="null: a group-wide system (group administrators only)."
    )
    legal_entity_id: int | None = Field(
        default=None, description="Whose employees have accounts in it; null: every entity."
    )
    internal: bool = Field(
        default=False,
        description="Allow private, loopback and link-local addresses (administrators only).",
    )
    active: bool = True
    revokes_access: bool = True
    pulls_data: bool = False
    transfers_customers: bool = False
    config: dict[str, Any] = Field(
        default_factory=dict,
        description='SCIM: {"match": "email", "filter_attribute": "userName", '
        '"sessions_path": "/Users/{id}/sessions"}; REST: the manifest.',
    )
    revoke_hour: int = Field(default=18, ge=0, le=23)
    delete_after_days: int | None = Field(default=None, ge=1, le=3650)
    max_attempts: int = Field(default=5, ge=1, le=50)
    secrets: dict[str, str] = Field(
        default_factory=dict, description='E.g. {"token": "…"}. Never shown back.'
    )


class SystemPatch(Schema):
    """The fields to change; a system's kind and business unit cannot change."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    base_url: str | None = Field(default=None, min_length=1, max_length=500)
    legal_entity_id: int | None = None
    internal: bool | None = None
    active: bool | None = None
    revokes_access: bool | None = None
    pulls_data: bool | None = None
    transfers_customers: bool | None = None
    config: dict[str, Any] | None = None
    revoke_hour: int | None = Field(default=None, ge=0, le=23)
    delete_after_days: int | None = Field(default=None, ge=1, le=3650)
    max_attempts: int | None = Field(default=None, ge=1, le=50)
    secrets: dict[str, str] | None = Field(
        default=None,
        description="Replaces every secret when given. Moving base_url to another host "
        "without new secrets removes the stored ones.",
    )


class SecretsIn(Schema):
    secrets: dict[str, str] = Field(..., description="Replaces every secret of the system.")


class TestOut(Schema):
    ok: bool
    message: str


class CallOut(Schema):
    id: int
    step: str
    method: str
    url: str = Field(..., description="Secrets redacted.")
    request_body: str
    status: int | None
    response_body: str
    error: str
    ok: bool
    duration_ms: int
    at: dt.datetime


class CallPage(Page):
    items: list[CallOut]


class AccountIn(Schema):
    employee_id: int
    login: str = Field(..., min_length=1, max_length=200)
    external_id: str = Field(default="", max_length=200, description="The system's own id.")


class AccountOut(Schema):
    id: int
    system_id: int
    employee_id: int
    login: str
    external_id: str


# ---------------------------------------------------------------- connected systems


@router.get("/systems", response=SystemPage, operation_id="list_systems")
def list_systems(request: AuthedRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The connected systems the caller manages."""
    return page(systems_of(request.user).order_by("name", "id"), limit, offset)


@router.post("/systems", response={201: SystemOut}, operation_id="create_system")
def create_system(request: AuthedRequest, payload: SystemIn) -> Any:
    """A new connected system; its secrets are stored sealed and never shown back."""
    user = request.user
    authz.require(user, Perm.INTEGRATIONS_MANAGE)
    data = payload.model_dump()
    secrets = data.pop("secrets")
    data["legal_entity"] = data.pop("legal_entity_id")
    return Status(201, system_actions.create_system(data, secrets, acting_user=user))


@router.get("/systems/{int:system_id}", response=SystemOut, operation_id="get_system")
def get_system(request: AuthedRequest, system_id: int) -> ConnectedSystem:
    return _system(request.user, system_id)


@router.patch("/systems/{int:system_id}", response=SystemOut, operation_id="update_system")
def update_system(request: AuthedRequest, system_id: int, payload: SystemPatch) -> Any:
    user = request.user
    system = _system(user, system_id)
    data = payload.model_dump(exclude_unset=True, exclude={"secrets"})
    data = {k: v for k, v in data.items() if v is not None or k in ("delete_after_days",)}
    if "legal_entity_id" in payload.model_fields_set:
        data["legal_entity"] = payload.legal_entity_id
        data.pop("legal_entity_id", None)
    return system_actions.update_system(system, data, payload.secrets, acting_user=user)


@router.put(
    "/systems/{int:system_id}/secrets", response=SystemOut, operation_id="set_system_secrets"
)
def set_system_secrets(request: AuthedRequest, system_id: int, payload: SecretsIn) -> Any:
    """Replace the system's secrets (write-only: the answer says only that it has some)."""
    user = request.user
    system = _system(user, system_id)
    return system_actions.set_system_secrets(system, payload.secrets, acting_user=user)


@router.post("/systems/{int:system_id}/test", response=TestOut, operation_id="test_system")
def test_system(request: AuthedRequest, system_id: int) -> dict[str, Any]:
    """Call the system now (SCIM: its service provider configuration); the calls are in its
    call log."""
    user = request.user
    ok, message = system_actions.test_system(_system(user, system_id), acting_user=user)
    return {"ok": ok, "message": message}


@router.get("/systems/{int:system_id}/calls", response=CallPage, operation_id="list_system_calls")
def list_system_calls(
    request: AuthedRequest, system_id: int, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Every call made to the system (revocations, tests, pulls), newest first."""
    system = _system(request.user, system_id)
    return page(ConnectorCall.objects.filter(system=system).order_by("-id"), limit, offset)


@router.post(
    "/systems/{int:system_id}/accounts",
    response={201: AccountOut},
    operation_id="link_account",
)
def link_account(request: AuthedRequest, system_id: int, payload: AccountIn) -> Any:
    """Record an employee's account in the system (the login and id a revocation uses): IT of
    the employee, or who manages the system."""
    user = request.user
    employee = authz.get_for(user, Perm.EMPLOYEE_VIEW, Employee, pk=payload.employee_id)
    try:
        system = ConnectedSystem.objects.get(pk=system_id)
    except ConnectedSystem.DoesNotExist:
        raise not_found() from None
    link = system_actions.link_account(
        system, employee, payload.login, payload.external_id, acting_user=user
    )
    return Status(201, link)


# ---------------------------------------------------------------- a system's API tokens


class SystemTokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    created_at: dt.datetime


class SystemTokenCreated(SystemTokenOut):
    token: str = Field(..., description="The bearer token. Shown this once only.")


class SystemTokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    scopes: list[str] = Field(
        ..., min_length=1, description="business:push, handover:read and/or org:read."
    )
    expires_at: dt.datetime | None = None


@router.get(
    "/systems/{int:system_id}/tokens",
    response=list[SystemTokenOut],
    operation_id="list_system_tokens",
)
def list_system_tokens(request: AuthedRequest, system_id: int) -> Any:
    """The system's tokens in force (never their values)."""
    system = _system(request.user, system_id)
    return list(system.tokens.filter(revoked_at__isnull=True).order_by("-created_at"))


@router.post(
    "/systems/{int:system_id}/tokens",
    response={201: SystemTokenCreated},
    operation_id="issue_system_token",
)
def issue_system_token(request: AuthedRequest, system_id: int, payload: SystemTokenIn) -> Any:
    """A token the system calls Baton with; it belongs to the system (not to the caller) and
    every call made with it is audited. The answer carries it, once."""
    if getattr(request, "api_token", None) is not None:
        raise PermissionDenied(_("Tokens are created by a signed-in user, not by a token."))
    system = _system(request.user, system_id)
    token, raw = system_tokens.issue_token(
        system,
        payload.name,
        payload.scopes,
        acting_user=request.user,
        expires_at=payload.expires_at,
    )
    return Status(201, {**SystemTokenOut.from_orm(token).model_dump(), "token": raw})


@router.delete(
    "/systems/{int:system_id}/tokens/{int:token_id}",
    response={204: None},
    operation_id="revoke_system_token",
)
def revoke_system_token(request: AuthedRequest, system_id: int, token_id: int) -> Any:
    system = _system(request.user, system_id)
    token = system.tokens.filter(pk=token_id).first()
    if token is None:
        raise not_found()
    system_tokens.revoke_token(token, acting_user=request.user)
    return Status(204, None)
