"""/api/integrations/subscriptions: webhook subscriptions, their signing secrets, replays and
delivery logs.

Everything here needs INTEGRATIONS_MANAGE (an API token also needs the `integrations` scope).
Group administrators manage every subscription; an HRBP those of their business units (and
never a group-wide one). Signing secrets are shown once, in the answers that create them
(creating a subscription, rotating its secret); no other answer contains them.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.http import AuthedRequest
from baton.integrations import selectors
from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.api.common import page
from baton.integrations.models import Subscription, WebhookDelivery, WebhookStatus

router = Router(tags=["integrations"])


def _subscriptions(user: Any) -> QuerySet[Subscription]:
    return selectors.subscriptions(user)


def _subscription(user: Any, sub_id: int) -> Subscription:
    return selectors.subscription(user, sub_id)


# ---------------------------------------------------------------- subscriptions


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    event_types: list[str]
    business_unit_id: int | None = Field(..., description="null: events of the whole group.")
    internal: bool
    active: bool
    max_attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(
        ..., description="The signing secret (Standard Webhooks). Shown this once only."
    )


class SubscriptionPage(Page):
    items: list[SubscriptionOut]


class SubscriptionIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    url: str = Field(..., min_length=1, max_length=500)
    event_types: list[str] = Field(
        ..., min_length=1, description='Types or prefixes: "case.approved", "case.*", "*".'
    )
    business_unit_id: int | None = Field(
        default=None, description="null: events of the whole group (group administrators only)."
    )
    internal: bool = Field(
        default=False,
        description="Allow private, loopback and link-local addresses (administrators only).",
    )
    max_attempts: int = Field(default=12, ge=1, le=100)


class SubscriptionPatch(Schema):
    """The fields to change; a subscription's business unit cannot change (make a new one)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, min_length=1, max_length=500)
    event_types: list[str] | None = Field(default=None, min_length=1)
    internal: bool | None = None
    active: bool | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=100)


class RotateOut(Schema):
    secret: str = Field(..., description="The new signing secret. Shown this once only.")


class ReplayIn(Schema):
    ids: list[int] | None = Field(
        default=None, description="The dead-lettered deliveries to send again; null: all."
    )


class ReplayOut(Schema):
    replayed: int


@router.get("/subscriptions", response=SubscriptionPage, operation_id="list_subscriptions")
def list_subscriptions(request: AuthedRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The webhook subscriptions the caller manages."""
    qs = _subscriptions(request.user).order_by("name", "id")
    return page(qs, limit, offset)


@router.post(
    "/subscriptions", response={201: SubscriptionCreatedOut}, operation_id="create_subscription"
)
def create_subscription(request: AuthedRequest, payload: SubscriptionIn) -> Any:
    """A new subscription; the answer carries its signing secret, which is never shown again."""
    user = request.user
    authz.require(user, Perm.INTEGRATIONS_MANAGE)
    sub, secret = webhook_actions.create_subscription(payload.model_dump(), acting_user=user)
    out = SubscriptionOut.model_validate(sub).model_dump()
    return Status(201, {**out, "secret": secret})


@router.patch(
    "/subscriptions/{int:sub_id}", response=SubscriptionOut, operation_id="update_subscription"
)
def update_subscription(request: AuthedRequest, sub_id: int, payload: SubscriptionPatch) -> Any:
    user = request.user
    sub = _subscription(user, sub_id)
    data = payload.model_dump(exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None}
    return webhook_actions.update_subscription(sub, data, acting_user=user)


@router.post(
    "/subscriptions/{int:sub_id}/rotate",
    response=RotateOut,
    operation_id="rotate_subscription_secret",
)
def rotate_secret(request: AuthedRequest, sub_id: int) -> dict[str, str]:
    """A new signing secret (shown this once); the old one keeps signing too for 24 hours."""
    user = request.user
    sub = _subscription(user, sub_id)
    return {"secret": webhook_actions.rotate_secret(sub, acting_user=user)}


@router.post(
    "/subscriptions/{int:sub_id}/replay", response=ReplayOut, operation_id="replay_webhooks"
)
def replay(request: AuthedRequest, sub_id: int, payload: ReplayIn) -> dict[str, int]:
    """Send dead-lettered deliveries again: all of the subscription's, or the ones named."""
    user = request.user
    sub = _subscription(user, sub_id)
    return {"replayed": webhook_actions.replay(sub, payload.ids, acting_user=user)}


# ---------------------------------------------------------------- the delivery log


class WebhookDeliveryOut(Schema):
    id: int
    event_id: int
    event_type: str
    subject: str
    status: WebhookStatus
    attempts: int
    next_attempt_at: dt.datetime
    response_status: int | None
    error: str
    delivered_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_event_type(obj: WebhookDelivery) -> str:
        return obj.event.type


class WebhookDeliveryPage(Page):
    items: list[WebhookDeliveryOut]


@router.get(
    "/subscriptions/{int:sub_id}/deliveries",
    response=WebhookDeliveryPage,
    operation_id="list_webhook_deliveries",
)
def list_webhook_deliveries(
    request: AuthedRequest,
    sub_id: int,
    status: WebhookStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The subscription's deliveries, newest event first."""
    sub = _subscription(request.user, sub_id)
    qs = WebhookDelivery.objects.filter(subscription=sub).select_related("event")
    if status is not None:
        qs = qs.filter(status=status)
    return page(qs.order_by("-event_id"), limit, offset)
