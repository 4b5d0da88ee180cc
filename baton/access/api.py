"""/api/access: the signed-in user, users, roles and API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import actions, authz
from baton.access.authz import Perm
from baton.access.models import ApiToken, Role, RoleAssignment, TokenScope, User
from baton.core.api_crud import register
from baton.core.http import AuthedRequest

router = Router()


class RoleOut(Schema):
    id: int
    role: Role
    business_unit_id: int | None
    legal_entity_id: int | None
    department_id: int | None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    employee_id: int | None
    language: str
    time_zone: str
    roles: list[RoleOut]
    permissions: list[str]


@router.get("/me", response=MeOut, operation_id="get_me", tags=["access"])
def me(request: AuthedRequest) -> dict[str, Any]:
    user = request.user
    acc = authz.access_for(user)
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "employee_id": user.employee_id,
        "language": user.language,
        "time_zone": user.time_zone,
        "roles": list(RoleAssignment.objects.filter(user_id=user.pk)),
        "permissions": sorted(p.value for p in Perm if acc.has(p)),
    }


class PreferencesIn(Schema):
    language: str | None = Field(None, pattern="^(zh-hans|en)$")
    time_zone: str | None = None


@router.patch("/me", response=MeOut, operation_id="update_me", tags=["access"])
def update_me(request: AuthedRequest, payload: PreferencesIn) -> dict[str, Any]:
    """Change the caller's own language and time zone (a token needs `account:write`)."""
    authz.require_token_scope(request, TokenScope.ACCOUNT_WRITE)
    actions.update_preferences(
        request.user,
        payload.model_dump(exclude_unset=True),
        acting_user=request.user,
    )
    request.user = User.objects.get(pk=request.user.id)
    return me(request)


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    employee_id: int | None
    language: str
    time_zone: str
    is_active: bool


class UserIn(Schema):
    username: str = Field(..., min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
    display_name: str = Field(..., min_length=1, max_length=150)
    email: str = ""
    employee_id: int | None = None
    language: str = Field("zh-hans", pattern="^(zh-hans|en)$")
    time_zone: str = "Asia/Shanghai"


class UserPatch(Schema):
    display_name: str | None = None
    email: str | None = None
    employee_id: int | None = None
    language: str | None = Field(None, pattern="^(zh-hans|en)$")
    time_zone: str | None = None
    is_active: bool | None = None


register(
    router,
    path="users",
    name="users",
    model=User,
    out=UserOut,
    create_in=UserIn,
    patch_in=UserPatch,
    view_perm=Perm.USERS_MANAGE,
    base_qs=lambda: User.objects.order_by("id"),
    create=actions.create_user,
    update=actions.update_user,
    tag="access",
)


class GrantIn(Schema):
    role: Role
    business_unit_id: int | None = None
    legal_entity_id: int | None = None
    department_id: int | None = None


@router.post(
    "/users/{int:user_id}/roles",
    response={201: RoleOut},
    operation_id="grant_role",
    tags=["access"],
)
def grant(request: AuthedRequest, user_id: int, payload: GrantIn) -> Any:
    user = authz.get_for(request.user, Perm.USERS_MANAGE, User, pk=user_id)
    data = payload.model_dump()
    return Status(201, actions.grant_role(user, data.pop("role"), acting_user=request.user, **data))


@router.delete(
    "/roles/{int:assignment_id}", response={204: None}, operation_id="revoke_role", tags=["access"]
)
def revoke(request: AuthedRequest, assignment_id: int) -> Any:
    assignment = authz.get_for(request.user, Perm.USERS_MANAGE, RoleAssignment, pk=assignment_id)
    actions.revoke_role(assignment, acting_user=request.user)
    return Status(204, None)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    scopes: list[TokenScope] = Field(..., min_length=1)
    expires_at: dt.datetime | None = None


@router.get("/tokens", response=list[TokenOut], operation_id="list_tokens", tags=["access"])
def list_tokens(request: AuthedRequest) -> Any:
    """The signed-in user's own tokens."""
    return ApiToken.objects.filter(user_id=request.user.id).order_by("-id")


@router.post("/tokens", response={201: TokenCreated}, operation_id="create_token", tags=["access"])
def create_token(request: AuthedRequest, payload: TokenIn) -> Any:
    if getattr(request, "api_token", None) is not None:
        # A token must not mint tokens: that would let a narrow token widen itself.
        raise PermissionDenied(_("Tokens are created by a signed-in user, not by a token."))
    token, raw = actions.create_token(
        request.user,
        payload.name,
        [s.value for s in payload.scopes],
        acting_user=request.user,
        expires_at=payload.expires_at,
    )
    return Status(201, {**TokenOut.from_orm(token).model_dump(), "token": raw})


@router.delete(
    "/tokens/{int:token_id}", response={204: None}, operation_id="revoke_token", tags=["access"]
)
def revoke_token(request: AuthedRequest, token_id: int) -> Any:
    """Revoke one of the caller's tokens (or, for a user manager, anyone's). A token may revoke
    itself (rotation) but no other token: that is for a signed-in user."""
    caller = getattr(request, "api_token", None)
    if caller is not None and caller.pk != token_id:
        raise PermissionDenied(
            _("A token can revoke only itself; other tokens are revoked by a signed-in user.")
        )
    token = ApiToken.objects.filter(pk=token_id, user_id=request.user.id).first()
    if token is None:
        token = authz.get_for(request.user, Perm.USERS_MANAGE, ApiToken, pk=token_id)
    actions.revoke_token(token, acting_user=request.user)
    return Status(204, None)
