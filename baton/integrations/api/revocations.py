"""/api/integrations/revocations: the access revocations of leavers (their state, their call
log as evidence, IT's retry and manual completion).

Revocations are read by IT, HR and auditors for the cases they see; IT (and HR, for a retry)
act on them.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.http import AuthedRequest
from baton.integrations import selectors
from baton.integrations.actions import systems as system_actions
from baton.integrations.api.common import not_found, page
from baton.integrations.api.systems import CallPage
from baton.integrations.models import ConnectorCall, Revocation, RevocationState

router = Router(tags=["connected systems"])


def revocations_of(user: Any) -> QuerySet[Revocation]:
    if not selectors.sees_revocations(user):
        raise PermissionDenied(_("Access revocations are for IT, HR and auditors."))
    return authz.visible_to(
        user,
        Perm.CASE_VIEW,
        Revocation.objects.select_related("system", "employee"),
    )


def _revocation(user: Any, rev_id: int) -> Revocation:
    try:
        return revocations_of(user).get(pk=rev_id)
    except Revocation.DoesNotExist:
        raise not_found() from None


class RevocationOut(Schema):
    id: int
    case_id: int
    system_id: int
    system_name: str
    employee_id: int
    employee_name: str
    task_id: int | None
    state: RevocationState
    immediate: bool
    due_at: dt.datetime
    next_attempt_at: dt.datetime
    attempts: int
    login: str
    external_id: str
    outcome: dict[str, Any]
    error: str
    revoked_at: dt.datetime | None
    delete_at: dt.datetime | None
    deleted_at: dt.datetime | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_system_name(obj: Revocation) -> str:
        return obj.system.name

    @staticmethod
    def resolve_employee_name(obj: Revocation) -> str:
        return obj.employee.name


class RevocationPage(Page):
    items: list[RevocationOut]


class ManualIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000, description="What was done, where.")


# ---------------------------------------------------------------- revocations


@router.get("/revocations", response=RevocationPage, operation_id="list_revocations")
def list_revocations(
    request: AuthedRequest,
    state: RevocationState | None = None,
    case_id: int | None = None,
    system_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Access revocations of the cases the caller sees (IT, HR, auditors), soonest due first."""
    qs = revocations_of(request.user)
    if state is not None:
        qs = qs.filter(state=state)
    if case_id is not None:
        qs = qs.filter(case_id=case_id)
    if system_id is not None:
        qs = qs.filter(system_id=system_id)
    return page(qs.order_by("due_at", "id"), limit, offset)


@router.get("/revocations/{int:rev_id}", response=RevocationOut, operation_id="get_revocation")
def get_revocation(request: AuthedRequest, rev_id: int) -> Revocation:
    return _revocation(request.user, rev_id)


@router.get(
    "/revocations/{int:rev_id}/calls", response=CallPage, operation_id="list_revocation_calls"
)
def list_revocation_calls(
    request: AuthedRequest, rev_id: int, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """The revocation's evidence: every call made for it, in order (secrets redacted)."""
    rev = _revocation(request.user, rev_id)
    return page(ConnectorCall.objects.filter(revocation=rev).order_by("id"), limit, offset)


@router.post(
    "/revocations/{int:rev_id}/retry", response=RevocationOut, operation_id="retry_revocation"
)
def retry_revocation(request: AuthedRequest, rev_id: int) -> Revocation:
    """Try a failed (or retrying, or not-found) revocation again now."""
    user = request.user
    rev = system_actions.retry_revocation(_revocation(user, rev_id), acting_user=user)
    return _revocation(user, rev.pk)


@router.post(
    "/revocations/{int:rev_id}/manual",
    response=RevocationOut,
    operation_id="mark_revocation_manual",
)
def mark_revocation_manual(request: AuthedRequest, rev_id: int, payload: ManualIn) -> Revocation:
    """IT revoked the access by hand: record it with a note; the task is accepted with it."""
    user = request.user
    rev = system_actions.mark_revoked_manually(
        _revocation(user, rev_id), payload.note, acting_user=user
    )
    return _revocation(user, rev.pk)
