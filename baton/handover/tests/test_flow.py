"""The handover flow through its actions: resign → approve → tasks → evidence → accept → clear."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions, packs
from baton.handover.models import CaseState, ExitCase, HandoverTask, KnowledgeItem, TaskState
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
LAST_DAY = dt.date(2026, 12, 31)


@pytest.fixture
def installed(users: dict[str, Any]) -> None:
    packs.install(acting_user=users["admin"])


@pytest.fixture
def leaver(users: dict[str, Any]) -> Employee:
    return Employee.objects.get(pk=users["employee"].employee_id)


def _resign(users: dict[str, Any], leaver: Employee, **kw: Any) -> ExitCase:
    return actions.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        reason="职业发展",
        submit=True,
        **kw,
    )


@pytest.mark.smoke
def test_whole_flow(users: dict[str, Any], installed: None, leaver: Employee) -> None:
    case = _resign(users, leaver)
    assert case.state == CaseState.SUBMITTED
    case = actions.approve_case(case, acting_user=users["head.rd"])
    assert case.state == CaseState.APPROVED
    tasks = list(case.tasks.all())
    keys = {t.key for t in tasks}
    # group default + engineering pack, merged
    assert {"work-files", "accounts", "repositories", "credentials"} <= keys
    accounts = next(t for t in tasks if t.key == "accounts")
    assert accounts.owner_queue == "it" and accounts.due_date == LAST_DAY
    work = next(t for t in tasks if t.key == "work-files")
    assert work.owner_id == leaver.pk and work.due_date < LAST_DAY
    assert work.approver_id == leaver.manager_id
    leaver.refresh_from_db()
    assert leaver.status == "departing"

    # Evidence is required before submitting.
    with pytest.raises(InvalidInput, match="file"):
        actions.submit_task(work, acting_user=users["employee"])
    pdf = SimpleUploadedFile("客户清单.pdf", b"%PDF-1.4 data", content_type="application/pdf")
    doc = actions.upload_document(
        case, pdf, acting_user=users["employee"], task=work, reusable=True
    )
    assert doc.version == 1 and len(doc.sha256) == 64
    with doc.blob.open("rb") as fh:
        assert b"%PDF" not in fh.read()  # encrypted at rest
    actions.submit_task(work, acting_user=users["employee"])
    # Only the approver decides; the leaver cannot accept their own work.
    with pytest.raises(PermissionDenied):
        actions.accept_task(work, acting_user=users["employee"])
    manager_user = _user_for(leaver.manager)
    actions.accept_task(work, acting_user=manager_user)
    work.refresh_from_db()
    assert work.state == TaskState.ACCEPTED
    assert KnowledgeItem.objects.filter(position=leaver.position, source_task=work).exists()
    # The receiver reads the document; the read is audited.
    assert actions.read_document(doc, acting_user=users["admin"]) == b"%PDF-1.4 data"

    # HR waives everything else → the case clears itself.
    for t in case.tasks.exclude(pk=work.pk):
        actions.waive_task(t, acting_user=users["hrbp.cloud"], reason="测试豁免")
    case.refresh_from_db()
    assert case.state == CaseState.CLEARED
    actions.close_case(case, acting_user=users["hrbp.cloud"])
    leaver.refresh_from_db()
    assert leaver.status == "departed" and leaver.termination_date == LAST_DAY
    assert trail.verify().ok


def _user_for(employee: Employee | None) -> Any:
    from baton.handover.demo import person_user

    assert employee is not None
    return person_user(employee)


def test_leaver_cannot_act_on_someone_elses_task(
    users: dict[str, Any], installed: None, leaver: Employee
) -> None:
    case = actions.approve_case(_resign(users, leaver), acting_user=users["head.rd"])
    it_task = case.tasks.get(key="accounts")
    with pytest.raises(PermissionDenied):
        actions.start_task(it_task, acting_user=users["employee"])
    actions.start_task(it_task, acting_user=users["it"])


def test_confidential_case_is_invisible_to_the_leaver(
    users: dict[str, Any], installed: None, leaver: Employee
) -> None:
    case = actions.open_case(
        leaver,
        acting_user=users["hrbp.cloud"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        confidential=True,
    )
    actions.approve_case(case, acting_user=users["hrbp.cloud"])
    mine = authz.visible_to(users["employee"], Perm.CASE_VIEW, ExitCase.objects.all())
    assert not mine.filter(pk=case.pk).exists()
    assert not authz.visible_to(
        users["employee"], Perm.CASE_VIEW, HandoverTask.objects.filter(case=case)
    ).exists()
    # Nor to anyone else who may not approve the exit, the queues that own its items included.
    assert not authz.visible_to(
        users["it"], Perm.CASE_VIEW, HandoverTask.objects.filter(case=case, owner_queue="it")
    ).exists()
    task = case.tasks.get(key="work-files")
    with pytest.raises(Http404):
        actions.start_task(task, acting_user=users["employee"])
    actions.reveal_case(case, acting_user=users["hrbp.cloud"])
    assert authz.visible_to(
        users["employee"], Perm.CASE_VIEW, ExitCase.objects.filter(pk=case.pk)
    ).exists()
    assert authz.visible_to(
        users["it"], Perm.CASE_VIEW, HandoverTask.objects.filter(case=case, owner_queue="it")
    ).exists()


def test_withdraw_keeps_everything_and_hr_can_restore(
    users: dict[str, Any], installed: None, leaver: Employee
) -> None:
    case = actions.approve_case(_resign(users, leaver), acting_user=users["head.rd"])
    n = case.tasks.count()
    # Once approved, the leaver cannot withdraw alone: HR records the agreed withdrawal.
    with pytest.raises(PermissionDenied):
        actions.withdraw_case(case, acting_user=users["employee"], reason="留任")
    actions.withdraw_case(case, acting_user=users["hrbp.cloud"], reason="留任")
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN and case.tasks.count() == n
    leaver.refresh_from_db()
    assert leaver.status == "active"
    actions.restore_case(case, acting_user=users["hrbp.cloud"])
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED


def test_one_open_case_per_person(users: dict[str, Any], installed: None, leaver: Employee) -> None:
    _resign(users, leaver)
    with pytest.raises(Conflict):
        _resign(users, leaver)


def test_approval_query_count_is_bounded(
    users: dict[str, Any], installed: None, leaver: Employee
) -> None:
    case = _resign(users, leaver)
    with CaptureQueriesContext(connection) as ctx:
        case = actions.approve_case(case, acting_user=users["head.rd"])
    n = case.tasks.count()
    assert n >= 8
    # Independent of the number of items: bulk inserts for tasks, their audit entries and
    # their outbox events.
    # (47 for the handover itself; +9 to plan the statutory deadlines and their tasks)
    assert len(ctx) <= 56, [q["sql"][:120] for q in ctx.captured_queries]


def test_rejection_needs_a_comment_and_returns_work(
    users: dict[str, Any], installed: None, leaver: Employee
) -> None:
    case = actions.approve_case(_resign(users, leaver), acting_user=users["head.rd"])
    note = case.tasks.get(key="handover-note")
    with pytest.raises(InvalidInput):
        actions.submit_task(note, acting_user=users["employee"])
    actions.update_task_work(note, acting_user=users["employee"], done_sub_items=[0, 1, 2])
    actions.submit_task(note, acting_user=users["employee"])
    receiver = _user_for(note.receiver)
    with pytest.raises(InvalidInput):
        actions.reject_task(note, acting_user=receiver, comment=" ")
    actions.reject_task(note, acting_user=receiver, comment="缺少联系人电话")
    note.refresh_from_db()
    assert note.state == TaskState.IN_PROGRESS and note.last_comment == "缺少联系人电话"


def test_external_confirmation_link(users: dict[str, Any], installed: None) -> None:
    sales = Employee.objects.filter(
        position__family__code="sales", status="active", manager__isnull=False
    ).first()
    assert sales is not None
    case = actions.open_case(
        sales,
        acting_user=users["admin"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        submit=True,
    )
    case = actions.approve_case(case, acting_user=users["admin"])
    task = case.tasks.get(key="customer-confirm")
    owner = _user_for(sales)
    _conf, raw = actions.create_confirmation(
        task, acting_user=owner, recipient_name="某客户", statement="确认新的对接人为王五"
    )
    with pytest.raises(InvalidInput):
        actions.submit_task(task, acting_user=owner)
    actions.answer_confirmation(raw, confirmed=True, client_ip="127.0.0.1")
    with pytest.raises(Conflict, match="once"):
        actions.answer_confirmation(raw, confirmed=True)
    with pytest.raises(InvalidInput):
        actions.find_confirmation("nonsense")
    actions.submit_task(task, acting_user=owner)
