"""Checklist inheritance, versions and who may change them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from baton.core.errors import InvalidInput
from baton.handover import actions, packs
from baton.handover.models import ChecklistTemplate, TemplateChangeRequest
from baton.handover.templates_logic import compose_checklist
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def installed(users: dict[str, Any]) -> None:
    packs.install(acting_user=users["admin"])


@pytest.fixture
def engineer(users: dict[str, Any]) -> Employee:
    return Employee.objects.get(pk=users["employee"].employee_id)


def _keys(employee: Employee) -> set[str]:
    return {i["key"] for i in compose_checklist(employee, "resignation")[1]}


def test_family_pack_removes_an_inherited_item(
    users: dict[str, Any], installed: None, engineer: Employee
) -> None:
    pack = ChecklistTemplate.objects.get(position_family__code="engineering")
    assert "assets" in _keys(engineer)
    actions.save_template_item(pack, "assets", {"removed": True}, acting_user=users["admin"])
    actions.publish_template(pack, acting_user=users["admin"])
    assert "assets" not in _keys(engineer)


def test_publishing_the_default_reaches_the_packs(
    users: dict[str, Any], installed: None, engineer: Employee
) -> None:
    root = ChecklistTemplate.objects.get(parent=None, name="集团通用交接清单")
    actions.save_template_item(
        root,
        "exit-survey",
        {"title": "离职问卷", "evidence_kind": "signoff", "owner_role": "leaver"},
        acting_user=users["admin"],
    )
    actions.publish_template(root, acting_user=users["admin"])
    pack = ChecklistTemplate.objects.get(position_family__code="engineering")
    assert pack.versions.count() == 2
    assert "exit-survey" in _keys(engineer)


def test_running_cases_keep_their_tasks(
    users: dict[str, Any], installed: None, engineer: Employee
) -> None:
    case = actions.open_case(
        engineer,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        submit=True,
    )
    case = actions.approve_case(case, acting_user=users["head.rd"])
    before = sorted(case.tasks.values_list("key", flat=True))
    pack = ChecklistTemplate.objects.get(position_family__code="engineering")
    actions.save_template_item(
        pack,
        "new-thing",
        {"title": "新增事项", "evidence_kind": "signoff"},
        acting_user=users["admin"],
    )
    actions.publish_template(pack, acting_user=users["admin"])
    assert sorted(case.tasks.values_list("key", flat=True)) == before


def test_bu_hr_manages_only_checklists_bound_inside_its_bu(
    users: dict[str, Any], installed: None
) -> None:
    root = ChecklistTemplate.objects.get(name="集团通用交接清单")
    with pytest.raises(PermissionDenied):
        actions.publish_template(root, acting_user=users["hrbp.cloud"])
    bu = users["hrbp.cloud"].role_assignments.get().business_unit_id
    own = actions.create_template(
        {"name": "云软件补充", "parent_id": root.pk, "business_unit_id": bu},
        acting_user=users["hrbp.cloud"],
    )
    actions.save_template_item(
        own,
        "cloud-keys",
        {"title": "云平台密钥移交", "evidence_kind": "signoff"},
        acting_user=users["hrbp.cloud"],
    )
    actions.publish_template(own, acting_user=users["hrbp.cloud"])
    other = users["hrbp.devices"]
    with pytest.raises(PermissionDenied):
        actions.publish_template(own, acting_user=other)


def test_changing_an_inherited_item_starts_from_its_values(
    users: dict[str, Any], installed: None
) -> None:
    pack = ChecklistTemplate.objects.get(position_family__code="sales")
    item = actions.save_template_item(
        pack, "work-files", {"due_offset": -6}, acting_user=users["admin"]
    )
    assert item.title == "工作文件与资料移交" and item.due_offset == -6


def test_proposals_are_checked_and_the_auditor_cannot_propose(
    users: dict[str, Any], installed: None
) -> None:
    pack = ChecklistTemplate.objects.get(position_family__code="engineering")
    with pytest.raises(InvalidInput):
        actions.propose_template_change(pack, {"key": "brand-new"}, acting_user=users["employee"])
    with pytest.raises(PermissionDenied):
        actions.propose_template_change(
            pack, {"key": "contacts", "due_offset": -4}, acting_user=users["auditor"]
        )
    request = actions.propose_template_change(
        pack, {"key": "contacts", "due_offset": -4}, acting_user=users["employee"], reason="更早"
    )
    actions.decide_template_change(request, True, acting_user=users["admin"])
    request.refresh_from_db()
    assert request.state == "approved"
    assert TemplateChangeRequest.objects.filter(state="pending").count() == 0
