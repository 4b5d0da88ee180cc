"""/api/notify/channels: notification channels (NOTIFY_MANAGE, scoped by business unit; an API
token needs notify:write). Channel secrets are write-only: answers name the secrets that are
set (`secrets_set`), never their values."""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.http import AuthedRequest
from baton.notify import actions, selectors
from baton.notify.api.common import page
from baton.notify.api.deliveries import DeliveryOut
from baton.notify.models import Channel, ChannelKind, Family

router = Router()


# ---------------------------------------------------------------- channels


class ChannelOut(Schema):
    id: int
    name: str
    kind: ChannelKind
    family: Family
    business_unit_id: int | None = Field(..., description="null: the whole group.")
    enabled: bool
    mandatory: bool
    settings: dict[str, Any]
    secrets_set: list[str] = Field(
        ..., description="The names of the secrets that are stored (never their values)."
    )
    internal: bool = Field(
        ..., description="May reach private or local addresses (set by group administrators)."
    )
    notices: list[str] = Field(
        default_factory=list,
        description="What the change did besides (e.g. secrets removed because the host moved).",
    )
    quiet_start: dt.time
    quiet_end: dt.time
    last_test_at: dt.datetime | None
    last_test_ok: bool | None
    last_error: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_secrets_set(obj: Channel) -> list[str]:
        return selectors.secrets_set(obj)

    @staticmethod
    def resolve_notices(obj: Channel) -> list[str]:
        return list(getattr(obj, "notices", []))


class ChannelPage(Page):
    items: list[ChannelOut]


class ChannelIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: ChannelKind
    business_unit_id: int | None = Field(default=None, description="null: the whole group.")
    enabled: bool = True
    mandatory: bool = False
    settings: dict[str, Any] = Field(
        default_factory=dict, description="The provider's settings (not secret)."
    )
    secrets: dict[str, str] = Field(
        default_factory=dict, description="Write-only: stored encrypted, never returned."
    )
    internal: bool = Field(
        default=False,
        description="Allow private, loopback and link-local addresses (group administrators only).",
    )
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None


class ChannelPatch(Schema):
    """The fields to change. `settings` replaces all settings when given; secrets not given (or
    given empty) keep their stored value. A channel's provider and place cannot change."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    enabled: bool | None = None
    mandatory: bool | None = None
    settings: dict[str, Any] | None = None
    secrets: dict[str, str] | None = None
    internal: bool | None = None
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None


class ChannelTestOut(Schema):
    ok: bool
    error: str = Field(..., description="What went wrong, in full (empty when ok).")
    delivery: DeliveryOut
    channel: ChannelOut


def _channel_qs(user: Any) -> QuerySet[Channel]:
    return authz.visible_to(user, Perm.NOTIFY_MANAGE, Channel.objects.all())


@router.get("/channels", response=ChannelPage, operation_id="list_channels")
def list_channels(
    request: AuthedRequest,
    family: Literal["email", "sms", "im"] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The channels the caller configures: all for group administrators, their business units'
    for an HRBP."""
    user = request.user
    authz.require(user, Perm.NOTIFY_MANAGE)
    qs = _channel_qs(user)
    if family is not None:
        qs = qs.filter(family=family)
    return page(qs.order_by("family", "business_unit_id", "name", "id"), limit, offset)


@router.post("/channels", response={201: ChannelOut}, operation_id="create_channel")
def create_channel(request: AuthedRequest, payload: ChannelIn) -> Any:
    user = request.user
    authz.require(user, Perm.NOTIFY_MANAGE)
    data = payload.model_dump(exclude={"secrets"})
    for name in ("quiet_start", "quiet_end"):
        if data[name] is None:
            del data[name]
    data["kind"] = str(payload.kind)
    channel = actions.create_channel(data, payload.secrets, acting_user=user)
    return Status(201, channel)


@router.patch("/channels/{int:channel_id}", response=ChannelOut, operation_id="update_channel")
def update_channel(request: AuthedRequest, channel_id: int, payload: ChannelPatch) -> Any:
    user = request.user
    channel = authz.get_for(user, Perm.NOTIFY_MANAGE, Channel, pk=channel_id)
    data = payload.model_dump(exclude_unset=True, exclude={"secrets"})
    data = {k: v for k, v in data.items() if v is not None}
    return actions.update_channel(channel, data, payload.secrets or {}, acting_user=user)


@router.post(
    "/channels/{int:channel_id}/test", response=ChannelTestOut, operation_id="test_channel"
)
def test_channel(request: AuthedRequest, channel_id: int) -> dict[str, Any]:
    """Send a test message to the caller through the channel, now. The outcome is recorded on
    the channel (`last_test_*`) and in the delivery log; a failed send is a 200 with `ok:
    false` and the error."""
    user = request.user
    channel = authz.get_for(user, Perm.NOTIFY_MANAGE, Channel, pk=channel_id)
    delivery = actions.test_channel(channel, acting_user=user)
    channel = Channel.objects.get(pk=channel.pk)
    return {
        "ok": bool(channel.last_test_ok),
        "error": channel.last_error,
        "delivery": delivery,
        "channel": channel,
    }
