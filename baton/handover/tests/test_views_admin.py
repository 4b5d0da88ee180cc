"""Checklist templates and the knowledge map through the UI: forms parse, actions decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from baton.access.models import User
from baton.audit.models import AuditEntry
from baton.handover import actions, packs, selectors
from baton.handover.models import (
    ChangeRequestState,
    ChecklistTemplate,
    KnowledgeItem,
    TemplateChangeRequest,
    TemplateItem,
    TemplateVersion,
)
from baton.handover.templates_logic import effective_items, matching_templates
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
LAST_DAY = dt.date(2026, 12, 31)


@pytest.fixture
def installed(users: dict[str, Any]) -> list[ChecklistTemplate]:
    return packs.install(acting_user=users["admin"])


@pytest.fixture
def leaver(users: dict[str, Any]) -> Employee:
    return Employee.objects.get(pk=users["employee"].employee_id)


def _root() -> ChecklistTemplate:
    return ChecklistTemplate.objects.get(name="集团通用交接清单")


def _own_template(leaver: Employee) -> ChecklistTemplate:
    """The most specific published checklist that applies to the leaver (the engineering pack)."""
    return matching_templates(leaver, "resignation")[-1][1]


def _item(**overrides: Any) -> dict[str, Any]:
    return {
        "key": "wiki-pages",
        "title": "知识库页面移交",
        "category": "knowledge",
        "owner_role": "leaver",
        "owner_username": "",
        "receiver_rule": "successor",
        "approver_role": "manager",
        "approver_username": "",
        "due_offset": "-4",
        "acceptance_criteria": "所有页面已转给接收人。",
        "evidence_kind": "checklist",
        "sub_items": "页面清单\n权限转移\n",
        "blocks_clearance": "on",
        "sort": "50",
        **overrides,
    }


def _state() -> tuple[int, int, int, int]:
    return (
        TemplateItem.objects.count(),
        TemplateVersion.objects.count(),
        TemplateChangeRequest.objects.count(),
        AuditEntry.objects.count(),
    )


# ---------------------------------------------------------------- templates


@pytest.mark.smoke
def test_admin_creates_a_template_adds_an_item_and_publishes(
    client_as: Any, installed: Any, leaver: Employee
) -> None:
    client = client_as("admin")
    response = client.post(
        "/handover/checklists/new/",
        {
            "name": "研发岗位补充清单",
            "parent": _root().pk,
            "position": leaver.position_id,
            "exit_type": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    template = ChecklistTemplate.objects.get(name="研发岗位补充清单")
    assert response["Location"] == f"/handover/checklists/{template.pk}/"
    assert template.parent_id == _root().pk and template.position_id == leaver.position_id

    response = client.post(f"/handover/checklists/{template.pk}/items/new/", _item())
    assert response.status_code == 302, response.content.decode()[:3000]
    item = TemplateItem.objects.get(template=template, key="wiki-pages")
    assert item.sub_items == ["页面清单", "权限转移"] and item.due_offset == -4
    assert item.blocks_clearance and not item.reusable

    listing = client.get("/handover/checklists/").content.decode()
    assert "研发岗位补充清单" in listing

    response = client.post(f"/handover/checklists/{template.pk}/publish/", {"note": "首次发布"})
    assert response.status_code == 302
    version = TemplateVersion.objects.get(template=template)
    assert version.number == 1 and version.note == "首次发布"
    keys = {i["key"] for i in version.items}
    assert "wiki-pages" in keys and "work-files" in keys  # own + inherited
    page = client.get(f"/handover/checklists/{template.pk}/").content.decode()
    assert "v1" in page and "知识库页面移交" in page and "工作文件与资料移交" in page
    assert 'style="' not in page and "<script>" not in page

    # Editing the draft makes it differ from the published version until published again.
    response = client.post(
        f"/handover/checklists/{template.pk}/items/wiki-pages/edit/", _item(due_offset="-6")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    row = next(r for r in selectors.template_rows(client_as_user(client)) if r.template == template)
    assert row.diff.changed == ["wiki-pages"] and row.latest is not None
    client.post(f"/handover/checklists/{template.pk}/publish/", {"note": "截止提前"})
    assert template.versions.count() == 2


def client_as_user(client: Any) -> User:
    return User.objects.get(pk=client.session["_auth_user_id"])


def test_remove_an_inherited_item_and_binding_edit(client_as: Any, installed: Any) -> None:
    child = ChecklistTemplate.objects.get(name="研发岗位交接清单")
    # A group-wide checklist (bound to a position family only) is group HR's, not a BU's HR.
    before = _state()
    hr = client_as("hrbp.cloud")
    assert hr.post(f"/handover/checklists/{child.pk}/items/assets/remove/").status_code == 403
    assert hr.post(f"/handover/checklists/{child.pk}/publish/").status_code == 403
    page = hr.get(f"/handover/checklists/{child.pk}/").content.decode()
    assert f"/handover/checklists/{child.pk}/publish/" not in page
    assert _state() == before

    client = client_as("admin")
    assert any(i["key"] == "assets" for i in effective_items(child))
    response = client.post(f"/handover/checklists/{child.pk}/items/assets/remove/")
    assert response.status_code == 302
    assert TemplateItem.objects.get(template=child, key="assets").removed
    assert not any(i["key"] == "assets" for i in effective_items(child))
    # The parent keeps it.
    assert any(i["key"] == "assets" for i in effective_items(_root()))

    response = client.post(
        f"/handover/checklists/{child.pk}/edit/",
        {
            "name": child.name,
            "parent": child.parent_id,
            "position_family": child.position_family_id,
            "exit_type": "layoff",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    child.refresh_from_db()
    assert child.exit_type == "layoff"
    entry = AuditEntry.objects.filter(subject_type="handover.checklisttemplate").latest("id")
    assert set(entry.data["changes"]) == {"exit_type"}


def test_bad_item_shows_the_error_and_writes_nothing(client_as: Any, installed: Any) -> None:
    client = client_as("admin")
    template = _root()
    before = _state()
    response = client.post(
        f"/handover/checklists/{template.pk}/items/new/", _item(key="no-subs", sub_items="")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="errorlist' in page
    assert response.context["form"].errors["sub_items"]
    assert _state() == before

    # Unknown named owner, a bad key and a clashing key are refused by the form.
    response = client.post(
        f"/handover/checklists/{template.pk}/items/new/",
        _item(key="有空格 key", owner_role="user", owner_username="nobody-here"),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "key" in errors and "owner_username" in errors
    response = client.post(f"/handover/checklists/{template.pk}/items/new/", _item(key="accounts"))
    assert response.status_code == 400 and "key" in response.context["form"].errors
    # An offset out of range comes back from the action.
    response = client.post(
        f"/handover/checklists/{template.pk}/items/new/", _item(key="far", due_offset="-500")
    )
    assert response.status_code == 400 and "due_offset" in response.context["form"].errors
    assert _state() == before


def test_bu_hr_cannot_make_a_group_wide_checklist(client_as: Any, installed: Any) -> None:
    before = _state(), ChecklistTemplate.objects.count()
    hr = client_as("hrbp.cloud")
    response = hr.post("/handover/checklists/new/", {"name": "全集团清单", "is_active": "on"})
    assert response.status_code == 403
    assert response.context["form"].non_field_errors()
    assert hr.get(f"/handover/checklists/{_root().pk}/items/new/").status_code == 403
    assert hr.get(f"/handover/checklists/{_root().pk}/edit/").status_code == 403
    assert (_state(), ChecklistTemplate.objects.count()) == before


def test_only_template_managers_change_templates(
    client_as: Any, installed: Any, leaver: Employee
) -> None:
    template = _own_template(leaver)
    before = _state()
    for who in ("employee", "head.rd", "auditor"):
        client = client_as(who)
        assert client.get(f"/handover/checklists/{template.pk}/").status_code == 200
        assert client.post(f"/handover/checklists/{template.pk}/publish/").status_code == 403
        assert (
            client.post(f"/handover/checklists/{template.pk}/items/new/", _item()).status_code
            == 403
        )
        assert client.get("/handover/checklists/new/").status_code == 403
    assert client_as("it").get("/handover/checklists/").status_code == 403
    assert _state() == before


def _cloud_checklist(client_as: Any, leaver: Employee) -> ChecklistTemplate:
    """The cloud BU's HRBP adds a checklist for the BU's engineers (it applies to the leaver)."""
    hr = client_as("hrbp.cloud")
    response = hr.post(
        "/handover/checklists/new/",
        {
            "name": "云软件研发补充清单",
            "parent": _root().pk,
            "position_family": leaver.position.family_id,
            "business_unit": leaver.business_unit_id,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    template = ChecklistTemplate.objects.get(name="云软件研发补充清单")
    response = hr.post(f"/handover/checklists/{template.pk}/items/new/", _item())
    assert response.status_code == 302, response.content.decode()[:3000]
    assert hr.post(f"/handover/checklists/{template.pk}/publish/").status_code == 302
    assert template.versions.count() == 1
    return template


@pytest.mark.smoke
def test_employee_proposes_and_hr_approves(
    client_as: Any, users: dict[str, Any], installed: Any, leaver: Employee
) -> None:
    template = _cloud_checklist(client_as, leaver)
    assert template.pk in {t.pk for _s, t in matching_templates(leaver, "resignation")}
    employee = client_as("employee")
    listing = employee.get("/handover/checklists/").content.decode()
    assert template.name in listing and "销售岗位交接清单" not in listing
    page = employee.get(f"/handover/checklists/{template.pk}/").content.decode()
    assert f"/handover/checklists/{template.pk}/propose/" in page
    assert f"/handover/checklists/{template.pk}/publish/" not in page

    response = employee.post(
        f"/handover/checklists/{template.pk}/propose/",
        {**_item(key="oncall"), "title": "值班交接", "reason": "值班表没人接"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    change = TemplateChangeRequest.objects.get(template=template)
    assert change.state == ChangeRequestState.PENDING and change.proposed_by == users["employee"]
    assert change.item["key"] == "oncall" and change.item["sub_items"] == ["页面清单", "权限转移"]
    assert not TemplateItem.objects.filter(template=template, key="oncall").exists()

    # HR of another business unit may not decide on the cloud BU's checklist.
    before = _state()
    url = f"/handover/checklists/{template.pk}/proposals/{change.pk}/decide/"
    assert client_as("hrbp.devices").post(url, {"decision": "approve"}).status_code == 403
    assert _state() == before

    hr = client_as("hrbp.cloud")
    assert "值班交接" in hr.get(f"/handover/checklists/{template.pk}/").content.decode()
    response = hr.post(url, {"decision": "approve"})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.state == ChangeRequestState.APPROVED and change.decided_by == users["hrbp.cloud"]
    assert TemplateItem.objects.get(template=template, key="oncall").title == "值班交接"
    assert template.versions.count() == 2
    latest = template.versions.order_by("-number").first()
    assert latest is not None and {"oncall", "wiki-pages"} <= {i["key"] for i in latest.items}
    # Deciding twice is refused, and nothing changes.
    before = _state()
    hr.post(url, {"decision": "reject"})
    change.refresh_from_db()
    assert change.state == ChangeRequestState.APPROVED and _state() == before


def test_proposals_are_limited_and_rejection_changes_nothing(
    client_as: Any, installed: Any, leaver: Employee
) -> None:
    sales = ChecklistTemplate.objects.get(name="销售岗位交接清单")
    employee = client_as("employee")
    before = _state()
    assert employee.post(f"/handover/checklists/{sales.pk}/propose/", _item()).status_code == 403
    assert employee.get(f"/handover/checklists/{sales.pk}/propose/").status_code == 403
    # The employee cannot decide, even on their own proposal.
    template = _own_template(leaver)
    employee.post(
        f"/handover/checklists/{template.pk}/propose/", {**_item(), "remove": "on", "key": "assets"}
    )
    change = TemplateChangeRequest.objects.get(template=template)
    assert change.item == {"key": "assets", "removed": True}
    url = f"/handover/checklists/{template.pk}/proposals/{change.pk}/decide/"
    assert employee.post(url, {"decision": "approve"}).status_code == 403
    # The auditor reads, but proposes nothing.
    assert (
        client_as("auditor").post(f"/handover/checklists/{sales.pk}/propose/", _item()).status_code
        == 403
    )
    # A department head may propose too (any checklist).
    assert (
        client_as("head.rd").post(f"/handover/checklists/{sales.pk}/propose/", _item()).status_code
        == 302
    )
    items_before = TemplateItem.objects.count()
    assert client_as("admin").post(url, {"decision": "reject"}).status_code == 302
    change.refresh_from_db()
    assert change.state == ChangeRequestState.REJECTED
    assert TemplateItem.objects.count() == items_before
    assert _state() != before  # the proposals and the decision are recorded


def test_bulk_effective_items_match_the_reference(installed: Any, users: dict[str, Any]) -> None:
    child = ChecklistTemplate.objects.get(name="研发岗位交接清单")
    actions.save_template_item(child, "assets", {"removed": True}, acting_user=users["admin"])
    rows = selectors.template_rows(users["admin"])
    assert rows
    for row in rows:
        assert row.items == len(effective_items(row.template))
        if row.template == child:
            assert row.diff.removed == ["assets"]
        else:
            assert not row.diff.differs


def test_template_list_query_count_is_bounded(
    client_as: Any, installed: Any, users: dict[str, Any]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as("admin")
    client.get("/handover/checklists/")
    with CaptureQueriesContext(connection) as few:
        client.get("/handover/checklists/")
    for n in range(5):
        actions.create_template(
            {"name": f"额外 {n}", "parent_id": _root().pk}, acting_user=users["admin"]
        )
    with CaptureQueriesContext(connection) as more:
        client.get("/handover/checklists/")
    assert len(more) == len(few), [q["sql"][:100] for q in more.captured_queries]


# ---------------------------------------------------------------- knowledge map


def _user_for(employee: Employee) -> User:
    from baton.handover.demo import person_user

    return person_user(employee)


def _knowledge(users: dict[str, Any], employee: Employee, note: str) -> KnowledgeItem:
    """Run a real handover until a reusable item is accepted: it feeds the knowledge map."""
    case = actions.open_case(
        employee, acting_user=users["admin"], exit_type="resignation", last_working_day=LAST_DAY
    )
    case = actions.approve_case(case, acting_user=users["admin"])
    task = case.tasks.get(key="handover-note")
    owner = _user_for(employee)
    actions.update_task_work(
        task, acting_user=owner, note=note, done_sub_items=range(len(task.sub_items))
    )
    actions.submit_task(task, acting_user=owner)
    task.refresh_from_db()
    assert task.approver is not None
    actions.accept_task(task, acting_user=_user_for(task.approver))
    return KnowledgeItem.objects.get(source_task=task)


@pytest.fixture
def knowledge(users: dict[str, Any], installed: Any, leaver: Employee) -> dict[str, KnowledgeItem]:
    rd_path = leaver.department.path
    other = (
        Employee.objects.filter(status="active", manager__isnull=False, business_unit__code="D")
        .exclude(department__path__startswith=rd_path)
        .exclude(position_id=leaver.position_id)
        .order_by("employee_number")
        .first()
    )
    assert other is not None
    peer = (
        Employee.objects.filter(
            position_id=leaver.position_id, status="active", manager__isnull=False
        )
        .exclude(pk=leaver.pk)
        .exclude(pk=users["head.rd"].employee_id)
        .first()
    )
    assert peer is not None
    return {
        "mine": _knowledge(users, peer, "发布流程：先灰度再全量。部署脚本在 ops 仓库。"),
        "other": _knowledge(users, other, "供应商联系人：王经理。"),
    }


def _link(k: KnowledgeItem) -> str:
    return f'href="/handover/knowledge/{k.pk}/"'


def test_knowledge_map_is_scoped(
    client_as: Any, users: dict[str, Any], knowledge: dict[str, KnowledgeItem]
) -> None:
    mine, other = knowledge["mine"], knowledge["other"]
    page = client_as("employee").get("/handover/knowledge/").content.decode()
    assert _link(mine) in page and _link(other) not in page
    assert client_as("employee").get(f"/handover/knowledge/{other.pk}/").status_code == 404
    head = client_as("head.rd").get("/handover/knowledge/").content.decode()
    assert _link(mine) in head and _link(other) not in head
    # HR reads the knowledge contributed within its own business unit only (issue 13).
    page = client_as("admin").get("/handover/knowledge/").content.decode()
    assert _link(mine) in page and _link(other) in page
    page = client_as("hrbp.cloud").get("/handover/knowledge/").content.decode()
    assert _link(mine) in page and _link(other) not in page
    page = client_as("hrbp.devices").get("/handover/knowledge/").content.decode()
    assert _link(mine) not in page and _link(other) in page
    assert client_as("hrbp.devices").get(f"/handover/knowledge/{mine.pk}/").status_code == 404
    assert _link(mine) not in client_as("auditor").get("/handover/knowledge/").content.decode()
    assert client_as("auditor").get(f"/handover/knowledge/{mine.pk}/").status_code == 404


def test_knowledge_search_filters_and_view_count(
    client_as: Any, knowledge: dict[str, KnowledgeItem]
) -> None:
    mine, other = knowledge["mine"], knowledge["other"]
    client = client_as("admin")
    hits = client.get(
        "/handover/knowledge/",
        {"q": "灰度"},
        headers={"HX-Request": "true", "HX-Target": "knowledge-table"},
    )
    body = hits.content.decode()
    assert "<html" not in body and _link(mine) in body and _link(other) not in body
    by_position = client.get("/handover/knowledge/", {"position": other.position_id})
    assert _link(other) in by_position.content.decode()
    assert _link(mine) not in by_position.content.decode()
    by_category = client.get("/handover/knowledge/", {"category": "finance"}).content.decode()
    assert _link(mine) not in by_category

    page = client_as("employee").get(f"/handover/knowledge/{mine.pk}/").content.decode()
    assert "发布流程" in page
    mine.refresh_from_db()
    assert mine.views == 1
    client.get(f"/handover/knowledge/{mine.pk}/")
    mine.refresh_from_db()
    assert mine.views == 2


def test_knowledge_document_links_to_the_download(
    client_as: Any, users: dict[str, Any], installed: Any, leaver: Employee
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = actions.open_case(
        leaver, acting_user=users["admin"], exit_type="resignation", last_working_day=LAST_DAY
    )
    case = actions.approve_case(case, acting_user=users["admin"])
    task = case.tasks.get(key="work-files")
    doc = actions.upload_document(
        case,
        SimpleUploadedFile("发布手册.pdf", b"%PDF-1.4 x", content_type="application/pdf"),
        acting_user=users["employee"],
        task=task,
        reusable=True,
    )
    actions.submit_task(task, acting_user=users["employee"])
    task.refresh_from_db()
    assert task.approver is not None
    actions.accept_task(task, acting_user=_user_for(task.approver))
    entry = KnowledgeItem.objects.get(document=doc)
    page = client_as("head.rd").get(f"/handover/knowledge/{entry.pk}/").content.decode()
    assert f'href="/handover/knowledge/{entry.pk}/download/"' in page
    # The next holder of the position reads it, though the leaver's case is hidden from them.
    peer = (
        Employee.objects.filter(position_id=leaver.position_id, status="active")
        .exclude(pk__in=[leaver.pk, users["head.rd"].employee_id])
        .first()
    )
    assert peer is not None
    successor = Client(headers={"host": "127.0.0.1"})
    successor.force_login(_user_for(peer))
    assert successor.get(f"/handover/cases/{case.pk}/report.pdf").status_code == 404
    response = successor.get(f"/handover/knowledge/{entry.pk}/download/")
    assert response.status_code == 200 and response.content == b"%PDF-1.4 x"
    assert "attachment" in response["Content-Disposition"]
    read = AuditEntry.objects.filter(subject_type="handover.document", subject_id=str(doc.pk))
    assert read.latest("id").data["extra"]["via"] == "knowledge"
    # Someone else's position: no entry, no document.
    assert client_as("auditor").get(f"/handover/knowledge/{entry.pk}/download/").status_code == 404
