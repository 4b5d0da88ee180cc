"""/api/notify/rules: reminder rules (NOTIFY_MANAGE; an API token needs notify:write)."""

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
from baton.notify import actions
from baton.notify.api.common import page
from baton.notify.models import Audience, Family, Mode, ReminderRule, Repeat

router = Router()
SLUG = r"^[-a-zA-Z0-9_]*$"


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
    return page(qs.order_by("template_id", "item_key", "sort", "offset", "id"), limit, offset)


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
