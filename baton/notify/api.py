"""/api/notify: the caller's notifications, the delivery log, reminder rules and channels.

Permissions as in the UI: one's own notifications need INBOX, the delivery log DELIVERY_VIEW
(scoped by case), rules and channels NOTIFY_MANAGE (channels scoped by business unit). An API
token narrows its owner's permissions to its scopes: notify:read (notifications, the delivery
log) and notify:write (notifications, rules, channels). Channel secrets are write-only: answers
name the secrets that are set (`secrets_set`), never their values.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page, paginate
from baton.core.http import AuthedRequest
from baton.notify import actions, selectors
from baton.notify.models import (
    Audience,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Family,
    Mode,
    Notification,
    ReminderRule,
    Repeat,
)

router = Router(tags=["notify"])
SLUG = r"^[-a-zA-Z0-9_]*$"


def _page(qs: QuerySet[Any], limit: int, offset: int) -> dict[str, Any]:
    count, items = paginate(qs, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


# ---------------------------------------------------------------- notifications


class NotificationOut(Schema):
    id: int
    kind: DeliveryKind
    title: str
    body: str
    url: str
    case_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None
    unread: bool

    @staticmethod
    def resolve_unread(obj: Notification) -> bool:
        return obj.read_at is None


class NotificationPage(Page):
    unread_count: int
    items: list[NotificationOut]


class MarkReadIn(Schema):
    ids: list[int] | None = Field(
        default=None, description="The notifications to mark read; null: all unread ones."
    )


class MarkReadOut(Schema):
    marked: int


@router.get("/notifications", response=NotificationPage, operation_id="list_notifications")
def list_notifications(
    request: AuthedRequest, unread: bool = False, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """The caller's own notifications, newest first (`unread=1`: only unread ones)."""
    user = request.user
    authz.require(user, Perm.INBOX)
    qs = authz.visible_to(user, Perm.INBOX, Notification.objects.all()).order_by(
        "-created_at", "-id"
    )
    unread_count = qs.filter(read_at__isnull=True).count()
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return {**_page(qs, limit, offset), "unread_count": unread_count}


@router.post("/notifications/read", response=MarkReadOut, operation_id="mark_notifications_read")
def mark_notifications_read(request: AuthedRequest, payload: MarkReadIn) -> dict[str, int]:
    """Mark the caller's notifications read (ids of others' notifications are ignored). Reading
    is the user's own bookkeeping: it is not audited."""
    user = request.user
    authz.require(user, Perm.INBOX)
    return {"marked": actions.mark_read(user, payload.ids)}


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
    return _page(qs.order_by("-created_at", "-id"), limit, offset)


# ---------------------------------------------------------------- reminder rules


class ReminderRuleOut(Schema):
    id: int
    name: str
    description: str = Field(..., description="The rule in words (in the caller's language).")
    template_id: int | None
    item_key: str
    offset: int
    repeat: Repeat
    audience: Audience
    channels: list[str]
    mode: Mode
    escalation: bool
    is_active: bool
    sort: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_description(obj: ReminderRule) -> str:
        return actions.describe(obj)


class RulePage(Page):
    items: list[ReminderRuleOut]


class RuleIn(Schema):
    name: str = Field(default="", max_length=200)
    template_id: int | None = Field(
        default=None, description="The checklist; null: a group default rule."
    )
    item_key: str = Field(
        default="", max_length=64, pattern=SLUG, description="One item of the checklist."
    )
    offset: int = Field(
        ..., description="Working days from the due date: negative before, 1 or more overdue."
    )
    repeat: Repeat = Repeat.ONCE
    audience: Audience
    channels: list[Family] = Field(..., min_length=1)
    mode: Mode = Mode.IMMEDIATE
    escalation: bool = False
    is_active: bool = True
    sort: int = Field(default=0, ge=0, le=32767)


class RulePatch(Schema):
    """The fields to change; a rule's checklist and item cannot change (make a new rule)."""

    name: str | None = Field(default=None, max_length=200)
    offset: int | None = None
    repeat: Repeat | None = None
    audience: Audience | None = None
    channels: list[Family] | None = Field(default=None, min_length=1)
    mode: Mode | None = None
    escalation: bool | None = None
    is_active: bool | None = None
    sort: int | None = Field(default=None, ge=0, le=32767)


def _rule_qs(user: Any) -> QuerySet[ReminderRule]:
    return authz.visible_to(user, Perm.NOTIFY_MANAGE, ReminderRule.objects.all())


@router.get("/rules", response=RulePage, operation_id="list_reminder_rules")
def list_rules(
    request: AuthedRequest,
    template: int | None = None,
    defaults: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Reminder rules: the group defaults (`defaults=true`) and those of single checklists
    (`template=<id>`)."""
    user = request.user
    authz.require(user, Perm.NOTIFY_MANAGE)
    qs = _rule_qs(user)
    if template is not None:
        qs = qs.filter(template_id=template)
    if defaults is not None:
        qs = qs.filter(template__isnull=defaults)
    return _page(qs.order_by("template_id", "item_key", "sort", "offset", "id"), limit, offset)


@router.post("/rules", response={201: ReminderRuleOut}, operation_id="create_reminder_rule")
def create_rule(request: AuthedRequest, payload: RuleIn) -> Any:
    user = request.user
    authz.require(user, Perm.NOTIFY_MANAGE)
    data = payload.model_dump(mode="json")
    return Status(201, actions.create_rule(data, acting_user=user))


@router.patch("/rules/{int:rule_id}", response=ReminderRuleOut, operation_id="update_reminder_rule")
def update_rule(request: AuthedRequest, rule_id: int, payload: RulePatch) -> Any:
    user = request.user
    rule = authz.get_for(user, Perm.NOTIFY_MANAGE, ReminderRule, pk=rule_id)
    data = payload.model_dump(mode="json", exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None}
    return actions.update_rule(rule, data, acting_user=user)


@router.delete("/rules/{int:rule_id}", response={204: None}, operation_id="delete_reminder_rule")
def delete_rule(request: AuthedRequest, rule_id: int) -> Any:
    user = request.user
    rule = authz.get_for(user, Perm.NOTIFY_MANAGE, ReminderRule, pk=rule_id)
    actions.delete_rule(rule, acting_user=user)
    return Status(204, None)


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
    return _page(qs.order_by("family", "business_unit_id", "name", "id"), limit, offset)


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
