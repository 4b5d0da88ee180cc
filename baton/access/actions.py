"""Every change to users, roles, tokens and sign-in state."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import (
    ApiToken,
    LoginFailure,
    Role,
    RoleAssignment,
    TokenScope,
    User,
    hash_token,
)
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as base
from baton.core.errors import InvalidInput


def _check_time_zone(data: Mapping[str, Any]) -> None:
    name = data.get("time_zone")
    if name is None:
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput.field(
            "time_zone", _("Unknown time zone: %(tz)s") % {"tz": name}
        ) from None


USER_FIELDS = {"display_name", "email", "employee_id", "language", "time_zone", "is_active"}


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(
            _("The password is not strong enough."), {"password": list(exc.messages)}
        ) from None


@transaction.atomic
def create_user(data: Mapping[str, Any], *, acting_user: Any, password: str | None = None) -> User:
    authz.require(acting_user, Perm.USERS_MANAGE)
    _check_time_zone(data)
    fields = dict(data)
    user = User(**fields)
    if password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    base.clean(user, exclude=["password"])
    user.save()
    trail.record(
        E.USER_CREATED,
        actor=acting_user,
        subject=user,
        changes={k: (None, v) for k, v in fields.items()},
    )
    return user


@transaction.atomic
def update_user(user: User, data: Mapping[str, Any], *, acting_user: Any) -> User:
    authz.get_for(acting_user, Perm.USERS_MANAGE, User, pk=user.pk)
    _check_time_zone(data)
    return base.update(
        user, data, acting_user=acting_user, event=E.USER_UPDATED, allowed=USER_FIELDS
    )


@transaction.atomic
def update_preferences(user: User, data: Mapping[str, Any], *, acting_user: Any) -> User:
    """A user's own language and time zone."""
    if acting_user.pk != user.pk:
        authz.require(acting_user, Perm.USERS_MANAGE)
    _check_time_zone(data)
    return base.update(
        user,
        data,
        acting_user=acting_user,
        event=E.PREFERENCES_CHANGED,
        allowed={"language", "time_zone"},
    )


@transaction.atomic
def set_password(user: User, password: str, *, acting_user: Any) -> None:
    if acting_user.pk != user.pk:
        authz.get_for(acting_user, Perm.USERS_MANAGE, User, pk=user.pk)
    _check_password(password, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_password(password)
    user.save(update_fields=["password"])
    # The password itself is never written to the trail.
    trail.record(E.PASSWORD_CHANGED, actor=acting_user, subject=user)


@transaction.atomic
def grant_role(
    user: User,
    role: str,
    *,
    acting_user: Any,
    business_unit_id: int | None = None,
    legal_entity_id: int | None = None,
    department_id: int | None = None,
) -> RoleAssignment:
    authz.get_for(acting_user, Perm.USERS_MANAGE, User, pk=user.pk)
    if role not in Role.values:
        raise InvalidInput.field("role", _("Unknown role."))
    if role in authz.SELF_ROLES and not user.employee_id:
        raise InvalidInput.field("role", _("This role needs a user linked to an employee."))
    return base.create(
        RoleAssignment,
        {
            "user_id": user.pk,
            "role": role,
            "business_unit_id": business_unit_id,
            "legal_entity_id": legal_entity_id,
            "department_id": department_id,
        },
        acting_user=acting_user,
        event=E.ROLE_GRANTED,
    )


@transaction.atomic
def revoke_role(assignment: RoleAssignment, *, acting_user: Any) -> None:
    authz.get_for(acting_user, Perm.USERS_MANAGE, RoleAssignment, pk=assignment.pk)
    trail.record(
        E.ROLE_REVOKED,
        actor=acting_user,
        subject=assignment.user,
        changes={"role": (str(assignment), None)},
    )
    assignment.delete()


@transaction.atomic
def create_token(
    user: User,
    name: str,
    scopes: Iterable[str],
    *,
    acting_user: Any,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token; the raw value is returned once and only its hash is kept."""
    if acting_user.pk != user.pk:
        authz.get_for(acting_user, Perm.USERS_MANAGE, User, pk=user.pk)
    scopes = sorted(set(scopes))
    bad = [s for s in scopes if s not in TokenScope.values]
    if bad or not scopes:
        raise InvalidInput.field(
            "scopes",
            _("Choose one or more of: %(scopes)s") % {"scopes": ", ".join(TokenScope.values)},
        )
    return mint_token(user, name, scopes, acting_user=acting_user, expires_at=expires_at)


def mint_token(
    user: User,
    name: str,
    scopes: list[str],
    *,
    acting_user: Any,
    expires_at: dt.datetime | None = None,
    system: Any = None,
) -> tuple[ApiToken, str]:
    """Make and audit the token (the caller has checked who may issue it with which scopes)."""
    if not name.strip():
        raise InvalidInput.field("name", _("Give the token a name."))
    raw = "btn_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        system=system,
        name=name.strip(),
        prefix=raw[:10],
        token_hash=hash_token(raw),
        scopes=scopes,
        expires_at=expires_at,
    )
    trail.record(
        E.TOKEN_CREATED,
        actor=acting_user,
        subject=user,
        extra={
            "token": token.pk,
            "name": token.name,
            "scopes": scopes,
            **({"system": system.pk} if system is not None else {}),
        },
    )
    return token, raw


@transaction.atomic
def revoke_token(token: ApiToken, *, acting_user: Any) -> ApiToken:
    if acting_user.pk != token.user_id:
        authz.get_for(acting_user, Perm.USERS_MANAGE, ApiToken, pk=token.pk)
    return end_token(token, acting_user=acting_user)


def end_token(token: ApiToken, *, acting_user: Any) -> ApiToken:
    """Revoke and audit (the caller has checked who may)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        trail.record(
            E.TOKEN_REVOKED,
            actor=acting_user,
            subject=token.user,
            extra={"token": token.pk, "name": token.name},
        )
    return token


# ---------------------------------------------------------------- sign-in


def login_throttled(username: str, client_ip: str | None) -> bool:
    since = timezone.now() - dt.timedelta(seconds=settings.BATON_LOGIN_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    limit = settings.BATON_LOGIN_MAX_FAILURES
    if recent.filter(username__iexact=username).count() >= limit:
        return True
    # Per IP the limit is wider: an office behind one NAT shares an address.
    return bool(client_ip) and recent.filter(client_ip=client_ip).count() >= limit * 4


@transaction.atomic
def record_login_failure(username: str, client_ip: str | None, *, throttled: bool) -> None:
    LoginFailure.objects.create(username=username[:150], client_ip=client_ip, at=timezone.now())
    user = User.objects.filter(username__iexact=username).first()
    if user is not None:
        trail.record(
            E.LOGIN_THROTTLED if throttled else E.LOGIN_FAILED,
            actor=None,
            subject=user,
            extra={"username": username},
        )


@transaction.atomic
def record_login(user: User, client_ip: str | None) -> None:
    user = User.objects.select_for_update().get(pk=user.pk)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    # A successful sign-in clears the failures counted against this username.
    LoginFailure.objects.filter(Q(username__iexact=user.username)).delete()
    trail.record(E.LOGIN_SUCCEEDED, actor=user, subject=user)


@transaction.atomic
def record_logout(user: User) -> None:
    trail.record(E.LOGGED_OUT, actor=user, subject=user)


# ---------------------------------------------------------------- inbound API calls


@transaction.atomic
def record_api_call(token: ApiToken, *, method: str, path: str, status: int) -> None:
    """One audit entry per call made with a token (filed under the token's system's unit)."""
    system = token.system
    trail.record_many(
        [
            trail.Change(
                E.API_CALLED,
                token,
                extra={
                    "token": token.pk,
                    "prefix": token.prefix,
                    "system": token.system_id,
                    "method": method,
                    "path": path[:500],
                    "status": status,
                },
                business_unit_id=system.business_unit_id if system is not None else None,
            )
        ],
        actor=token.user,
    )
