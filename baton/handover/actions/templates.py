"""Checklist templates: drafts, items, publishing versions, proposed changes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as base
from baton.core.errors import Conflict, InvalidInput
from baton.handover.models import (
    ApproverRole,
    ChangeRequestState,
    ChecklistTemplate,
    EvidenceKind,
    OwnerRole,
    TemplateChangeRequest,
    TemplateItem,
    TemplateVersion,
)
from baton.handover.rules import binding, can_propose, require_manage
from baton.handover.templates_logic import effective_items

# ---------------------------------------------------------------- templates

TEMPLATE_FIELDS = {
    "name",
    "parent_id",
    "position_id",
    "position_family_id",
    "department_id",
    "business_unit_id",
    "legal_entity_id",
    "exit_type",
    "is_active",
}
ITEM_EDIT_FIELDS = {
    "title",
    "category",
    "owner_role",
    "owner_user_id",
    "receiver_rule",
    "approver_role",
    "approver_user_id",
    "due_offset",
    "acceptance_criteria",
    "evidence_kind",
    "sub_items",
    "blocks_clearance",
    "reusable",
    "sort",
    "removed",
}


@transaction.atomic
def create_template(data: Mapping[str, Any], *, acting_user: Any) -> ChecklistTemplate:
    require_manage(acting_user, data)
    return base.create(ChecklistTemplate, data, acting_user=acting_user, event=E.TEMPLATE_CREATED)


@transaction.atomic
def update_template(
    template: ChecklistTemplate, data: Mapping[str, Any], *, acting_user: Any
) -> ChecklistTemplate:
    require_manage(acting_user, binding(template))
    require_manage(acting_user, {**binding(template), **data})
    if data.get("parent_id"):
        node = ChecklistTemplate.objects.filter(pk=data["parent_id"]).first()
        while node is not None:
            if node.pk == template.pk:
                raise InvalidInput.field("parent", _("A template cannot inherit from itself."))
            node = node.parent
    return base.update(
        template, data, acting_user=acting_user, event=E.TEMPLATE_UPDATED, allowed=TEMPLATE_FIELDS
    )


def _validate_item(data: Mapping[str, Any]) -> None:
    if data.get("owner_role") == OwnerRole.USER and not data.get("owner_user_id"):
        raise InvalidInput.field("owner_user", _("Name the person who owns this item."))
    if data.get("approver_role") == ApproverRole.USER and not data.get("approver_user_id"):
        raise InvalidInput.field("approver_user", _("Name the person who approves this item."))
    if data.get("evidence_kind") == EvidenceKind.CHECKLIST and not data.get("sub_items"):
        raise InvalidInput.field("sub_items", _("A checklist needs at least one sub-item."))
    offset = data.get("due_offset")
    if offset is not None and not -120 <= int(offset) <= 120:
        raise InvalidInput.field(
            "due_offset", _("The due offset must be within ±120 working days.")
        )
    sub_items = data.get("sub_items")
    if sub_items is not None and (
        not isinstance(sub_items, list)
        or not all(isinstance(s, str) and s.strip() for s in sub_items)
    ):
        raise InvalidInput.field("sub_items", _("Sub-items are a list of non-empty texts."))


@transaction.atomic
def save_template_item(
    template: ChecklistTemplate, key: str, data: Mapping[str, Any], *, acting_user: Any
) -> TemplateItem:
    """Add or change one item of the template's draft (takes effect when published). Changing
    an inherited item starts from the inherited values."""
    require_manage(acting_user, binding(template))
    _check_item(template, key, data)
    existing = TemplateItem.objects.filter(template=template, key=key).first()
    if existing is None:
        inherited = _inherited(template).get(key, {})
        merged = {**{k: v for k, v in inherited.items() if k in ITEM_EDIT_FIELDS}, **data}
        merged = {"template_id": template.pk, "key": key, **merged}
        return base.create(
            TemplateItem, merged, acting_user=acting_user, event=E.TEMPLATE_ITEM_SAVED
        )
    return base.update(
        existing,
        data,
        acting_user=acting_user,
        event=E.TEMPLATE_ITEM_SAVED,
        allowed=ITEM_EDIT_FIELDS,
    )


def _inherited(template: ChecklistTemplate) -> dict[str, dict[str, Any]]:
    """The parent's effective items by key (what this template inherits)."""
    if template.parent is None:
        return {}
    return {i["key"]: i for i in effective_items(template.parent)}


def _check_item(template: ChecklistTemplate, key: str, data: Mapping[str, Any]) -> None:
    """Refuse an item change that could not be saved: unknown fields, a new item without a
    title, or rules that do not fit together (after inheritance and the existing values)."""
    if not key.strip():
        raise InvalidInput.field("key", _("Say which item (its key) the change is about."))
    unknown = set(data) - ITEM_EDIT_FIELDS
    if unknown:
        raise InvalidInput(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    existing = TemplateItem.objects.filter(template=template, key=key).first()
    current: dict[str, Any] = dict(_inherited(template).get(key, {}))
    if existing is not None:
        current.update({f: getattr(existing, f) for f in ITEM_EDIT_FIELDS})
    merged = {**current, **data}
    if not merged.get("title") and not merged.get("removed"):
        raise InvalidInput.field("title", _("Give the item a title."))
    _validate_item(merged)


@transaction.atomic
def publish_template(
    template: ChecklistTemplate, *, acting_user: Any, note: str = ""
) -> TemplateVersion:
    """Freeze the template's effective items (inheritance applied) as its next version, and
    republish the published templates that inherit from it so the change reaches them."""
    require_manage(acting_user, binding(template))
    template = ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
    items = effective_items(template)
    if not items:
        raise InvalidInput(_("A checklist needs at least one item before it is published."))
    latest = template.versions.order_by("-number").first()
    if latest is not None and latest.items == json.loads(json.dumps(items, default=str)):
        raise Conflict(
            _("Nothing changed since version %(n)s; there is nothing to publish.")
            % {"n": latest.number}
        )
    number = (template.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = TemplateVersion.objects.create(
        template=template, number=number, items=items, published_by=acting_user, note=note[:500]
    )
    trail.record(
        E.TEMPLATE_PUBLISHED,
        actor=acting_user,
        subject=template,
        extra={"version": number, "items": len(items), "note": note[:500]},
    )
    for child in template.children.filter(is_active=True, versions__isnull=False).distinct():
        with contextlib.suppress(Conflict):  # a child that overrides everything stays as it is
            publish_template(
                child,
                acting_user=acting_user,
                note=_("Inherits %(name)s v%(n)s") % {"name": template.name, "n": number},
            )
    return version


@transaction.atomic
def propose_template_change(
    template: ChecklistTemplate, item: Mapping[str, Any], *, acting_user: Any, reason: str = ""
) -> TemplateChangeRequest:
    """HR, the department head or the employee propose a change to a position's checklist;
    it applies only when HR approves."""
    if not can_propose(acting_user, template):
        raise PermissionDenied(
            _("You may propose changes only to the checklists of your position.")
        )
    key = str(item.get("key") or "").strip()
    _check_item(template, key, {k: v for k, v in item.items() if k != "key"})
    request = TemplateChangeRequest.objects.create(
        template=template, proposed_by=acting_user, item=dict(item), reason=reason[:500]
    )
    trail.record(
        E.TEMPLATE_CHANGE_PROPOSED,
        actor=acting_user,
        subject=template,
        extra={"request": request.pk, "item": dict(item), "reason": reason[:500]},
    )
    return request


@transaction.atomic
def decide_template_change(
    request: TemplateChangeRequest, approve: bool, *, acting_user: Any
) -> TemplateChangeRequest:
    require_manage(acting_user, binding(request.template))
    request = TemplateChangeRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != ChangeRequestState.PENDING:
        raise Conflict(_("This change was already decided."))
    request.state = ChangeRequestState.APPROVED if approve else ChangeRequestState.REJECTED
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.save(update_fields=["state", "decided_by", "decided_at"])
    trail.record(
        E.TEMPLATE_CHANGE_DECIDED,
        actor=acting_user,
        subject=request.template,
        extra={"request": request.pk, "approved": approve},
    )
    if approve:
        item = dict(request.item)
        key = item.pop("key")
        save_template_item(request.template, key, item, acting_user=acting_user)
        publish_template(
            request.template,
            acting_user=acting_user,
            note=_("Change #%(n)s approved") % {"n": request.pk},
        )
    return request
