"""Every change to users, roles, tokens and sign-in state."""

from __future__ import annotations

import datetime as dt
import math
import secrets
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max
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


# Sign-in throttling slows guessing down without ever locking an account: delays grow per
# (client IP, username) pair and per client IP, never per username alone — so a stranger's
# wrong passwords elsewhere never refuse the owner's right one from their own address.
# Per IP the allowance is wider and the delay shorter: an office behind one NAT shares it.
IP_FAILURE_FACTOR = 4
IP_MAX_DELAY_SECONDS = 60


def _delay(failures: int, free: int, cap: int) -> int:
    """Seconds to wait after the last failure: none for the first `free` failures, then 1, 2,
    4, … up to `cap`."""
    if failures < free:
        return 0
    return int(min(cap, 2 ** min(failures - free, 20)))


def _wait(failures: Any, free: int, cap: int, now: dt.datetime) -> int:
    agg = failures.aggregate(n=Count("id"), last=Max("at"))
    if not agg["n"]:
        return 0
    ready = agg["last"] + dt.timedelta(seconds=_delay(agg["n"], free, cap))
    return max(0, math.ceil((ready - now).total_seconds()))


def login_wait_seconds(username: str, client_ip: str | None) -> int:
    """How long this (username, client IP) must wait before its next attempt is considered (0:
    check the password now). Only failures within the window count; throttled attempts do not
    (hammering cannot push the wait further out)."""
    now = timezone.now()
    window = settings.BATON_LOGIN_WINDOW_SECONDS
    free = settings.BATON_LOGIN_MAX_FAILURES
    recent = LoginFailure.objects.filter(at__gte=now - dt.timedelta(seconds=window))
    if not client_ip:
        # No address to key on (should not happen behind a sane proxy): per username, mildly.
        return _wait(recent.filter(username__iexact=username), free, IP_MAX_DELAY_SECONDS, now)
    pair = recent.filter(username__iexact=username, client_ip=client_ip)
    by_ip = recent.filter(client_ip=client_ip)
    return max(
        _wait(pair, free, window, now),
        _wait(by_ip, free * IP_FAILURE_FACTOR, IP_MAX_DELAY_SECONDS, now),
    )


def count_login_attempt(username: str, client_ip: str | None) -> None:
    """Count an attempt as a failure *before* its password is checked (committed at once):
    parallel guesses then see each other, and a successful sign-in takes it back."""
    LoginFailure.objects.create(username=username[:150], client_ip=client_ip, at=timezone.now())


@transaction.atomic
def record_login_failure(username: str, *, throttled: bool, wait_seconds: int = 0) -> None:
    """Audit a wrong password or a throttled attempt (password not checked) against the named
    user, if any. Throttled attempts are not counted: hammering cannot push the wait out."""
    user = User.objects.filter(username__iexact=username).first()
    if user is not None:
        trail.record(
            E.LOGIN_THROTTLED if throttled else E.LOGIN_FAILED,
            actor=None,
            subject=user,
            extra={"username": username, **({"wait": wait_seconds} if throttled else {})},
        )


@transaction.atomic
def record_login(user: User, client_ip: str | None) -> None:
    user = User.objects.select_for_update().get(pk=user.pk)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    # A successful sign-in clears the failures of this username from this address only: the
    # owner signing in elsewhere must not reset the delays of someone guessing from another.
    LoginFailure.objects.filter(username__iexact=user.username, client_ip=client_ip).delete()
    trail.record(E.LOGIN_SUCCEEDED, actor=user, subject=user)


@transaction.atomic
def record_logout(user: User) -> None:
    trail.record(E.LOGGED_OUT, actor=user, subject=user)


# ---------------------------------------------------------------- inbound API calls


@transaction.atomic
def record_api_refusal(
    reason: str,
    *,
    token: ApiToken | None,
    user: User | None,
    method: str,
    path: str,
    status: int,
) -> None:
    """One audit entry per API request refused before a valid credential stood behind it.
    Only ids, the reason and what was called: never the presented token or the body."""
    from baton.org.models import Group

    subject: Any = token or user or Group.objects.first()
    if subject is None:
        return  # an empty installation has nothing to file it under
    system = token.system if token is not None else None
    trail.record_many(
        [
            trail.Change(
                E.API_REFUSED,
                subject,
                extra={
                    "reason": reason,
                    **({"token": token.pk, "user": token.user_id} if token is not None else {}),
                    **({"user": user.pk} if user is not None else {}),
                    "method": method,
                    "path": path[:500],
                    "status": status,
                },
                business_unit_id=system.business_unit_id if system is not None else None,
            )
        ],
        # A session that failed CSRF is still its user's; a refused token acts for no one.
        actor=user,
    )


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
