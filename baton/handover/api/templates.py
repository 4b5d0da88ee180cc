"""/api/handover: checklist templates, versions and proposed changes."""


# No `from __future__ import annotations` here: django-ninja reads the payload, File and Form
# annotations of these endpoints at run time.

import datetime as dt
import re
from typing import Any, Literal

from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.errors import InvalidInput
from baton.core.http import AuthedRequest
from baton.handover import actions
from baton.handover.api.common import (
    dump,
    fetch_template,
    page,
    reader,
    writer,
)
from baton.handover.models import (
    ApproverRole,
    Category,
    ChangeRequestState,
    ChecklistTemplate,
    EvidenceKind,
    ExitType,
    OwnerRole,
    ReceiverRule,
    TemplateChangeRequest,
)
from baton.handover.templates_logic import effective_items

router = Router(tags=["handover"])

# ---------------------------------------------------------------- templates


class TemplateOut(Schema):
    id: int
    name: str
    parent_id: int | None
    position_id: int | None
    position_family_id: int | None
    department_id: int | None
    business_unit_id: int | None
    legal_entity_id: int | None
    exit_type: str
    is_active: bool
    latest_version: int | None = None  # annotated by _template_qs
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplatePage(Page):
    items: list[TemplateOut]


class ItemOut(Schema):
    """A checklist item as it applies (inheritance applied, or frozen in a version)."""

    key: str
    title: str
    category: str
    owner_role: str
    owner_user_id: int | None = None
    receiver_rule: str
    approver_role: str
    approver_user_id: int | None = None
    due_offset: int
    acceptance_criteria: str
    evidence_kind: str
    sub_items: list[str]
    blocks_clearance: bool
    reusable: bool = False
    sort: int


class DraftItemOut(ItemOut):
    """One of the template's own items (its draft), including those that remove an inherited
    item."""

    id: int
    removed: bool


class VersionOut(Schema):
    id: int
    number: int
    published_at: dt.datetime
    published_by_id: int | None
    note: str
    items: list[ItemOut]


class TemplateDetail(TemplateOut):
    own_items: list[DraftItemOut]
    effective_items: list[ItemOut]
    versions: list[VersionOut]


class TemplateIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    parent_id: int | None = None
    position_id: int | None = None
    position_family_id: int | None = None
    department_id: int | None = None
    business_unit_id: int | None = None
    legal_entity_id: int | None = None
    exit_type: ExitType | Literal[""] = ""
    is_active: bool = True


class TemplatePatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: int | None = None
    position_id: int | None = None
    position_family_id: int | None = None
    department_id: int | None = None
    business_unit_id: int | None = None
    legal_entity_id: int | None = None
    exit_type: ExitType | Literal[""] | None = None
    is_active: bool | None = None


TEMPLATE_NULLABLE = frozenset(
    {
        "parent_id",
        "position_id",
        "position_family_id",
        "department_id",
        "business_unit_id",
        "legal_entity_id",
    }
)


class ItemIn(Schema):
    """The fields of a checklist item to set; what is left out keeps its value."""

    title: str | None = Field(default=None, max_length=200)
    category: Category | None = None
    owner_role: OwnerRole | None = None
    owner_user_id: int | None = None
    receiver_rule: ReceiverRule | None = None
    approver_role: ApproverRole | None = None
    approver_user_id: int | None = None
    due_offset: int | None = None
    acceptance_criteria: str | None = None
    evidence_kind: EvidenceKind | None = None
    sub_items: list[str] | None = None
    blocks_clearance: bool | None = None
    reusable: bool | None = None
    sort: int | None = Field(default=None, ge=0, le=32767)
    removed: bool | None = None


ITEM_NULLABLE = frozenset({"owner_user_id", "approver_user_id"})
ITEM_KEY = r"^[A-Za-z0-9_-]{1,64}$"


class PublishIn(Schema):
    note: str = Field(default="", max_length=500)


class ChangeProposalIn(ItemIn):
    key: str = Field(..., pattern=ITEM_KEY)
    reason: str = Field(default="", max_length=500)


class ChangeRequestOut(Schema):
    id: int
    template_id: int
    proposed_by_id: int
    item: dict[str, Any]
    reason: str
    state: ChangeRequestState
    decided_by_id: int | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


class ChangeRequestPage(Page):
    items: list[ChangeRequestOut]


class DecisionIn(Schema):
    approve: bool


def _template_qs() -> QuerySet[ChecklistTemplate]:
    return ChecklistTemplate.objects.annotate(latest_version=Max("versions__number"))


@router.get("/templates", response=TemplatePage, operation_id="list_templates")
def list_templates(
    request: AuthedRequest,
    q: str = "",
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Checklist templates (not personal data: whoever may see templates sees all of them)."""
    user = reader(request)
    authz.require(user, Perm.TEMPLATE_VIEW)
    qs = authz.visible_to(user, Perm.TEMPLATE_VIEW, _template_qs()).order_by("name", "id")
    if q.strip():
        qs = qs.filter(name__icontains=q.strip())
    if active is not None:
        qs = qs.filter(is_active=active)
    return page(qs, limit, offset)


@router.get("/templates/{int:template_id}", response=TemplateDetail, operation_id="get_template")
def get_template(request: AuthedRequest, template_id: int) -> dict[str, Any]:
    """A template with its own draft items, its effective items (inheritance applied, as the
    next publication would freeze them) and its published versions."""
    user = reader(request)
    return _template_detail(authz.get_for(user, Perm.TEMPLATE_VIEW, _template_qs(), pk=template_id))


def _template_detail(template: ChecklistTemplate) -> dict[str, Any]:
    if not hasattr(template, "latest_version"):
        template = _template_qs().get(pk=template.pk)
    return {
        **TemplateOut.from_orm(template).model_dump(),
        "own_items": list(template.items.order_by("sort", "id")),
        "effective_items": effective_items(template),
        "versions": list(template.versions.order_by("-number")),
    }


@router.post("/templates", response={201: TemplateDetail}, operation_id="create_template")
def create_template(request: AuthedRequest, payload: TemplateIn) -> Any:
    user = writer(request)
    template = actions.create_template(payload.model_dump(mode="json"), acting_user=user)
    return Status(201, _template_detail(template))


@router.patch(
    "/templates/{int:template_id}", response=TemplateDetail, operation_id="update_template"
)
def update_template(request: AuthedRequest, template_id: int, payload: TemplatePatch) -> Any:
    user = writer(request)
    template = fetch_template(user, template_id, Perm.TEMPLATE_MANAGE)
    actions.update_template(template, dump(payload, TEMPLATE_NULLABLE), acting_user=user)
    return _template_detail(template)


@router.put(
    "/templates/{int:template_id}/items/{key}",
    response=DraftItemOut,
    operation_id="save_template_item",
)
def save_template_item(request: AuthedRequest, template_id: int, key: str, payload: ItemIn) -> Any:
    """Add or change one item of the template's draft (takes effect when published). A
    `removed: true` item drops the inherited item with this key."""
    user = writer(request)
    if not re.match(ITEM_KEY, key):
        raise InvalidInput.field("key", _("Say which item (its key) the change is about."))
    template = fetch_template(user, template_id, Perm.TEMPLATE_MANAGE)
    return actions.save_template_item(template, key, dump(payload, ITEM_NULLABLE), acting_user=user)


@router.post(
    "/templates/{int:template_id}/publish",
    response={201: VersionOut},
    operation_id="publish_template",
)
def publish_template(
    request: AuthedRequest, template_id: int, payload: PublishIn | None = None
) -> Any:
    """Freeze the effective items as the template's next version; new cases use it, running
    cases keep theirs."""
    body = payload or PublishIn()
    user = writer(request)
    template = fetch_template(user, template_id, Perm.TEMPLATE_MANAGE)
    return Status(201, actions.publish_template(template, acting_user=user, note=body.note))


@router.post(
    "/templates/{int:template_id}/changes",
    response={201: ChangeRequestOut},
    operation_id="propose_template_change",
)
def propose_template_change(
    request: AuthedRequest, template_id: int, payload: ChangeProposalIn
) -> Any:
    """Propose a change to one item; it applies (and is published) only when HR approves."""
    user = writer(request)
    template = fetch_template(user, template_id)
    data = dump(payload, ITEM_NULLABLE)
    reason = data.pop("reason", "")
    data["key"] = payload.key
    return Status(
        201, actions.propose_template_change(template, data, acting_user=user, reason=reason)
    )


@router.get("/template-changes", response=ChangeRequestPage, operation_id="list_template_changes")
def list_template_changes(
    request: AuthedRequest,
    template: int | None = None,
    state: ChangeRequestState | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Proposed checklist changes: all of them for those who manage templates, otherwise the
    user's own proposals."""
    user = reader(request)
    authz.require(user, Perm.TEMPLATE_VIEW)
    qs = authz.visible_to(user, Perm.TEMPLATE_VIEW, TemplateChangeRequest.objects.all())
    if not authz.has_perm(user, Perm.TEMPLATE_MANAGE):
        qs = qs.filter(proposed_by_id=user.pk)
    if template is not None:
        qs = qs.filter(template_id=template)
    if state is not None:
        qs = qs.filter(state=state)
    return page(qs.order_by("-created_at", "-id"), limit, offset)


@router.post(
    "/template-changes/{int:change_id}/decide",
    response=ChangeRequestOut,
    operation_id="decide_template_change",
)
def decide_template_change(request: AuthedRequest, change_id: int, payload: DecisionIn) -> Any:
    """Approve (the item is saved and the template republished) or reject a proposal."""
    user = writer(request)
    change = authz.get_for(user, Perm.TEMPLATE_MANAGE, TemplateChangeRequest, pk=change_id)
    return actions.decide_template_change(change, payload.approve, acting_user=user)
