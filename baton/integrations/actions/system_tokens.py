"""API tokens of connected systems.

A CRM that pushes a leaver's customers, or an OA that reads exit cases, calls Baton with a
token of its own: it belongs to the system's service user (so it keeps working when the person
who issued it leaves the company), is narrowed to the scopes a system may hold, reaches only
the system's part of the organisation (its legal entity, else its business unit, else the
group), and every call made with it is audited (`baton.access.middleware`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from baton.access import actions as access_actions
from baton.access.models import ApiToken, Role, RoleAssignment, TokenScope, User
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import InvalidInput
from baton.integrations.models import ConnectedSystem
from baton.integrations.rules import check_system_scope

# What a system's token may be allowed to do: read and push, never manage people or settings.
SYSTEM_SCOPES = (
    TokenScope.BUSINESS_PUSH,
    TokenScope.HANDOVER_READ,
    TokenScope.ORG_READ,
)


def _scope(system: ConnectedSystem) -> dict[str, int | None]:
    """The part of the organisation the system's tokens reach: its legal entity, else its
    business unit, else (neither) the whole group."""
    return {
        "legal_entity_id": system.legal_entity_id,
        "business_unit_id": None if system.legal_entity_id else system.business_unit_id,
    }


def _service_user(system: ConnectedSystem, *, acting_user: Any) -> User:
    """The system's service user: no password, cannot sign in, holds an HRBP role over the
    system's part of the organisation (tokens narrow it to their scopes)."""
    locked = ConnectedSystem.objects.select_for_update().get(pk=system.pk)
    if locked.service_user_id is not None:
        return locked.service_user  # type: ignore[return-value]
    user = User(
        username=f"system-{system.pk}-{secrets.token_hex(4)}",
        display_name=_("Connected system: %(name)s") % {"name": system.name},
        language=settings.LANGUAGE_CODE,
    )
    user.set_unusable_password()
    user.save()
    assignment = RoleAssignment.objects.create(user=user, role=Role.HRBP, **_scope(system))
    locked.service_user = user
    locked.save(update_fields=["service_user"])
    trail.record(
        E.USER_CREATED,
        actor=acting_user,
        subject=user,
        extra={"service_user_of": system.pk},
    )
    trail.record(
        E.ROLE_GRANTED,
        actor=acting_user,
        subject=user,
        extra={"role": assignment.role, "assignment": assignment.pk, "system": system.pk},
    )
    return user


def sync_scope(system: ConnectedSystem, *, acting_user: Any) -> None:
    """The system moved to another legal entity: its tokens follow it (inside the change's
    transaction)."""
    if system.service_user_id is None:
        return
    assignment = RoleAssignment.objects.select_for_update().get(user_id=system.service_user_id)
    scope = _scope(system)
    old = {k: getattr(assignment, k) for k in scope}
    if old == scope:
        return
    for k, v in scope.items():
        setattr(assignment, k, v)
    assignment.save(update_fields=list(scope))
    trail.record(
        E.ROLE_GRANTED,
        actor=acting_user,
        subject=assignment.user,
        changes={k: (old[k], scope[k]) for k in scope if old[k] != scope[k]},
        extra={"role": assignment.role, "assignment": assignment.pk, "system": system.pk},
    )


@transaction.atomic
def issue_token(
    system: ConnectedSystem,
    name: str,
    scopes: Iterable[str],
    *,
    acting_user: Any,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A token for the system; the raw value is returned once."""
    check_system_scope(acting_user, system.business_unit_id)
    scopes = sorted(set(scopes))
    bad = [s for s in scopes if s not in SYSTEM_SCOPES]
    if bad or not scopes:
        raise InvalidInput.field(
            "scopes",
            _("A system's token may hold: %(scopes)s") % {"scopes": ", ".join(SYSTEM_SCOPES)},
        )
    user = _service_user(system, acting_user=acting_user)
    return access_actions.mint_token(
        user, name, scopes, acting_user=acting_user, expires_at=expires_at, system=system
    )


@transaction.atomic
def revoke_token(token: ApiToken, *, acting_user: Any) -> ApiToken:
    system = token.system
    if system is None:
        raise InvalidInput.field("token", _("This is not a connected system's token."))
    check_system_scope(acting_user, system.business_unit_id)
    return access_actions.end_token(token, acting_user=acting_user)
