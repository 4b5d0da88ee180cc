"""/api/integrations/cases/{case_id}/…: a leaver's business data — the pulls from connected
systems with their progress, the records they brought (customers, orders, projects, purchase
orders, equipment, loans, expense claims), and the push through which a system sends the same
records itself.

Reading needs sight of the case. Requesting a pull needs `case.manage` (HR). Pushing is
decided by `business.authorize_push` (a system's own `business:push` token, HR, or a
`handover:write` token over the leaver). Pushes are all or nothing and idempotent: sending the
same records again changes nothing; every push is audited.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page, paginate
from baton.core.errors import InvalidInput
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.integrations.actions import business
from baton.integrations.models import (
    BusinessItem,
    BusinessKind,
    ConnectedSystem,
    DataPull,
    PullState,
)

router = Router(tags=["business data"])


def _case(user: Any, case_id: int) -> ExitCase:
    return authz.get_for(user, Perm.CASE_VIEW, ExitCase, pk=case_id)


def _system(system_id: int) -> ConnectedSystem:
    system = ConnectedSystem.objects.filter(pk=system_id).first()
    if system is None:
        raise InvalidInput.field("system_id", _("No connected system has this id."))
    return system


class PullOut(Schema):
    id: int
    system_id: int
    system_name: str
    state: PullState
    kinds: list[str] = Field(..., description="The kinds asked for; empty: all the system has.")
    fetched: int = Field(..., description="Records read so far (progress).")
    created: int = Field(..., description="Handover items added.")
    updated: int = Field(..., description="Items already on the case that changed.")
    attempts: int
    error: str
    requested_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_system_name(obj: DataPull) -> str:
        return obj.system.name


class PullsOut(Schema):
    case_id: int
    running: bool = Field(..., description="Whether a pull is still queued or running.")
    items: list[PullOut]


class PullIn(Schema):
    system_id: int
    kinds: list[BusinessKind] | None = Field(
        default=None, description="Only these kinds; null: all the system's manifest reads."
    )


class BusinessItemOut(Schema):
    id: int
    system_id: int
    kind: BusinessKind
    external_id: str
    name: str
    amount: Decimal | None
    currency: str
    contact_name: str
    contact_email: str
    contact_phone: str
    contact_language: str
    details: dict[str, Any]
    pushed: bool = Field(..., description="Pushed through the API (else pulled).")
    task_id: int | None
    new_owner_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class BusinessItemPage(Page):
    items: list[BusinessItemOut]


class PushIn(Schema):
    system_id: int = Field(..., description="The connected system the records come from.")
    records: list[dict[str, Any]] = Field(
        ...,
        description=(
            "Up to 5,000 records: {kind, external_id, name, amount?, currency?, contact_name?, "
            "contact_email?, contact_phone?, contact_language?, details?}. kind is one of "
            "customer, order, project, purchase_order, asset, loan, expense_claim. A record is "
            "known by (system, kind, external_id): sending it again updates it."
        ),
    )


class PushOut(Schema):
    created: int = Field(..., description="New records, each with its handover task.")
    updated: int = Field(..., description="Known records that changed.")
    unchanged: int


def _own_system[Q: QuerySet[Any]](request: AuthedRequest, qs: Q) -> Q:
    """A connected system's token reads its own system's rows only (a CRM does not read the
    finance system's loans)."""
    system_id = getattr(getattr(request, "api_token", None), "system_id", None)
    return qs.filter(system_id=system_id) if system_id is not None else qs


@router.post(
    "/cases/{int:case_id}/pulls",
    response={202: PullOut},
    operation_id="request_business_pull",
)
def request_pull(request: AuthedRequest, case_id: int, payload: PullIn) -> Any:
    """Pull the leaver's records from a system again (or for the first time) in the
    background; a pull already waiting or running is answered instead of a second one."""
    user = request.user
    case = _case(user, case_id)
    system = _system(payload.system_id)
    kinds = [str(k) for k in payload.kinds] if payload.kinds else None
    pull = business.request_pull(case, system, kinds=kinds, acting_user=user)
    pull.system = system
    return Status(202, pull)


@router.get("/cases/{int:case_id}/pulls", response=PullsOut, operation_id="list_business_pulls")
def list_pulls(request: AuthedRequest, case_id: int) -> dict[str, Any]:
    """The case's pulls, newest first, with their progress."""
    case = _case(request.user, case_id)
    qs = _own_system(request, DataPull.objects.filter(case=case))
    pulls = list(qs.select_related("system").order_by("-id")[:50])
    return {
        "case_id": case.pk,
        "running": any(p.state in (PullState.QUEUED, PullState.RUNNING) for p in pulls),
        "items": pulls,
    }


@router.get(
    "/cases/{int:case_id}/business-items",
    response=BusinessItemPage,
    operation_id="list_business_items",
)
def list_items(
    request: AuthedRequest,
    case_id: int,
    kind: BusinessKind | None = None,
    system_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """The leaver's business records on the case, by kind and name."""
    case = _case(request.user, case_id)
    qs = _own_system(request, BusinessItem.objects.filter(case=case))
    if kind is not None:
        qs = qs.filter(kind=kind)
    if system_id is not None:
        qs = qs.filter(system_id=system_id)
    count, items = paginate(qs.order_by("kind", "name", "id"), limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


@router.post(
    "/cases/{int:case_id}/business-items",
    response=PushOut,
    operation_id="push_business_items",
)
def push_items(request: AuthedRequest, case_id: int, payload: PushIn) -> dict[str, int]:
    """A system pushes the leaver's records (what a pull would read). All or nothing: if any
    record is not valid nothing is saved and every problem is named as records[i].field."""
    user = request.user
    case = _case(user, case_id)
    system = _system(payload.system_id)
    return business.push_records(
        case,
        system,
        payload.records,
        acting_user=user,
        token=getattr(request, "api_token", None),
    )
