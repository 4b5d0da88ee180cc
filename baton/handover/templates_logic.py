"""Checklist templates: inheritance, publishing and choosing the right one for a leaver."""

from __future__ import annotations

from typing import Any

from baton.handover.models import ChecklistTemplate, TemplateItem, TemplateVersion
from baton.org.models import Employee

# The fields of an item that a version freezes.
ITEM_FIELDS = (
    "key",
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
)


def item_dict(item: TemplateItem) -> dict[str, Any]:
    return {f: getattr(item, f) for f in ITEM_FIELDS}


def effective_items(template: ChecklistTemplate) -> list[dict[str, Any]]:
    """The template's items with inheritance applied: the parent chain's items, each level
    adding items, replacing those with the same key, or removing them."""
    chain: list[ChecklistTemplate] = []
    node: ChecklistTemplate | None = template
    seen: set[int] = set()
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        chain.append(node)
        node = node.parent
    items: dict[str, dict[str, Any]] = {}
    by_template: dict[int, list[TemplateItem]] = {}
    for it in TemplateItem.objects.filter(template__in=chain).order_by("sort", "id"):
        by_template.setdefault(it.template_id, []).append(it)
    for level in reversed(chain):
        for it in by_template.get(level.pk, []):
            if it.removed:
                items.pop(it.key, None)
            else:
                items[it.key] = item_dict(it)
    return sorted(items.values(), key=lambda d: (d["sort"], d["key"]))


def latest_version(template: ChecklistTemplate) -> TemplateVersion | None:
    return template.versions.order_by("-number").first()


def matching_templates(employee: Employee, exit_type: str) -> list[tuple[int, ChecklistTemplate]]:
    """Every active, published template that applies to this leaver, least specific first,
    with its specificity: position > department (nearer is more specific) > position family >
    legal entity > business unit > the group default; a template bound to the exit type beats
    an otherwise equal one."""
    dept_ids = [int(x) for x in employee.department.path.strip("/").split("/") if x]
    depth = {d: i for i, d in enumerate(dept_ids)}
    found: list[tuple[int, ChecklistTemplate]] = []
    candidates = ChecklistTemplate.objects.filter(is_active=True, versions__isnull=False).distinct()
    for t in candidates:
        if t.exit_type and t.exit_type != exit_type:
            continue
        if t.position_id and t.position_id != employee.position_id:
            continue
        if t.department_id and t.department_id not in depth:
            continue
        if t.position_family_id and t.position_family_id != employee.position.family_id:
            continue
        if t.legal_entity_id and t.legal_entity_id != employee.legal_entity_id:
            continue
        if t.business_unit_id and t.business_unit_id != employee.business_unit_id:
            continue
        score = 0
        if t.position_id:
            score += 1000
        if t.department_id:
            score += 500 + depth[t.department_id]
        if t.position_family_id:
            score += 300
        if t.legal_entity_id:
            score += 200
        if t.business_unit_id:
            score += 100
        if t.exit_type:
            score += 10
        found.append((score, t))
    return sorted(found, key=lambda st: (st[0], st[1].pk))


def compose_checklist(
    employee: Employee, exit_type: str
) -> tuple[list[TemplateVersion], list[dict[str, Any]]]:
    """The checklist for a leaver: the latest versions of every template that applies, merged
    by item key (a more specific template's item wins). E.g. the group default + the sales
    pack + the overseas pack for a salesperson of an overseas entity."""
    versions: list[TemplateVersion] = []
    merged: dict[str, dict[str, Any]] = {}
    matched = matching_templates(employee, exit_type)
    # A template that another matching template inherits from is already inside that one's
    # effective items (with its removals applied): merging it again would undo the removals.
    ancestors: set[int] = set()
    for _score, template in matched:
        node = template.parent
        while node is not None and node.pk not in ancestors:
            ancestors.add(node.pk)
            node = node.parent
    for _score, template in matched:
        if template.pk in ancestors:
            continue
        version = latest_version(template)
        if version is None:
            continue
        versions.append(version)
        for item in version.items:
            merged[item["key"]] = {**item, "template_id": template.pk}
    return versions, sorted(merged.values(), key=lambda d: (d["sort"], d["key"]))
