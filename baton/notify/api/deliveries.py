"""/api/notify/deliveries: the delivery log (DELIVERY_VIEW, scoped by case; an API token needs
notify:read)."""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any

from ninja import Router, Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.http import AuthedRequest
from baton.notify.api.common import page
from baton.notify.models import Delivery, DeliveryKind, DeliveryStatus, Family

router = Router()


# ---------------------------------------------------------------- the delivery log


class DeliveryOut(Schema):
    id: int
    kind: DeliveryKind
    family: Family
    status: DeliveryStatus
    case_id: int | None
    task_id: int | None
    rule_id: int | None
    recipient_id: int | None
    channel_id: int | None
    address: str
    subject: str
    attempts: int
    not_before: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None
    provider_message_id: str
    response: str
    error: str


class DeliveryPage(Page):
    items: list[DeliveryOut]


@router.get("/deliveries", response=DeliveryPage, operation_id="list_deliveries")
def list_deliveries(
    request: AuthedRequest,
    case: int | None = None,
    status: DeliveryStatus | None = None,
    family: Family | None = None,
    kind: DeliveryKind | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Messages sent (or planned, or given up) about the cases in the caller's scope, newest
    first."""
    user = request.user
    authz.require(user, Perm.DELIVERY_VIEW)
    qs = authz.visible_to(user, Perm.DELIVERY_VIEW, Delivery.objects.all())
    if case is not None:
        qs = qs.filter(case_id=case)
    if status is not None:
        qs = qs.filter(status=status)
    if family is not None:
        qs = qs.filter(family=family)
    if kind is not None:
        qs = qs.filter(kind=kind)
    return page(qs.order_by("-created_at", "-id"), limit, offset)
