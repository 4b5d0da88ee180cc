"""The exit-case and task UI: forms parse, the actions decide and audit, buttons appear only
for those allowed, refusals are shown and write nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from baton.access.models import Role, RoleAssignment, User
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.handover import actions, packs
from baton.handover.models import (
    CaseState,
    Document,
    ExitCase,
    ExternalConfirmation,
    HandoverTask,
    TaskState,
)
from baton.org.models import Employee

pytestmark = pytest.mark.django_db

LEGAL_GUARD = "Clearance gates only the severance payment."


@pytest.fixture(autouse=True)
def english(users: dict[str, User]) -> None:
    # Assertions read English strings; most demo users prefer zh-hans (test setup only).
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(language="en")


@pytest.fixture
def installed(users: dict[str, User]) -> None:
    packs.install(acting_user=users["admin"])


@pytest.fixture
def leaver(users: dict[str, User]) -> Employee:
    return Employee.objects.get(pk=users["employee"].employee_id)


def last_day(days: int = 40) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def page(response: Any) -> str:
    return response.content.decode()


def login(client_as: Any, username: str) -> Client:
    client: Client = client_as(username)
    return client


def public_client(**kw: Any) -> Client:
    return Client(headers={"host": "127.0.0.1", "accept-language": "en"}, **kw)


def resign_via_form(client_as: Any) -> ExitCase:
    response = login(client_as, "employee").post(
        "/handover/cases/new/",
        {"mode": "self", "desired_last_day": last_day().isoformat(), "reason": "职业发展"},
    )
    assert response.status_code == 302, page(response)[-3000:]
    case = ExitCase.objects.latest("pk")
    assert response["Location"] == f"/handover/cases/{case.pk}/"
    return case


def approved_case(client_as: Any) -> ExitCase:
    case = resign_via_form(client_as)
    response = login(client_as, "head.rd").post(f"/handover/cases/{case.pk}/approve/", {})
    assert response.status_code == 302, page(response)[-3000:]
    case.refresh_from_db()
    return case


def user_for(employee: Employee) -> User:
    """A sign-in for a demo employee, with the ordinary employee role (test setup)."""
    existing = User.objects.filter(employee=employee).first()
    if existing is not None:
        return existing
    user = User.objects.create(
        username=f"u{employee.pk}", display_name=employee.name, employee=employee, language="en"
    )
    RoleAssignment.objects.create(user=user, role=Role.EMPLOYEE)
    return user


def audit_count() -> int:
    return AuditEntry.objects.count()


# ---------------------------------------------------------------- the whole flow


@pytest.mark.smoke
def test_resign_approve_upload_submit_accept(
    client_as: Any, users: dict[str, User], installed: None, leaver: Employee
) -> None:
    me = login(client_as, "employee")
    home = page(me.get("/handover/tasks/"))
    assert "/handover/cases/new/?mode=self" in home  # the Resign button

    case = resign_via_form(client_as)
    assert case.state == CaseState.SUBMITTED
    assert case.employee_id == leaver.pk and case.exit_type == "resignation"
    assert case.desired_last_day == case.last_working_day == last_day()
    home = page(me.get("/handover/tasks/"))
    assert f"/handover/cases/{case.pk}/" in home
    assert "?mode=self" not in home  # no second resignation while one is open

    # The leaver sees their case but cannot approve it.
    own = page(me.get(f"/handover/cases/{case.pk}/"))
    assert "Approve the exit" not in own and LEGAL_GUARD in own
    before = audit_count()
    assert me.post(f"/handover/cases/{case.pk}/approve/", {}).status_code == 403
    assert audit_count() == before

    head = login(client_as, "head.rd")
    assert "Approve the exit" in page(head.get(f"/handover/cases/{case.pk}/"))
    assert head.post(f"/handover/cases/{case.pk}/approve/", {}).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    assert case.tasks.count() >= 8

    # The leaver works their item: upload on the task page, then submit.
    work = case.tasks.get(key="work-files")
    task_page = page(me.get(f"/handover/tasks/{work.pk}/"))
    assert "Upload" in task_page and "Submit for acceptance" in task_page
    response = me.post(
        f"/handover/tasks/{work.pk}/upload/",
        {
            "upload-file": SimpleUploadedFile(
                "交接说明.pdf", b"%PDF-1.4 handover", content_type="application/pdf"
            ),
            "upload-reusable": "on",
            "upload-note": "最新版",
        },
    )
    assert response.status_code == 302, page(response)[-3000:]
    doc = Document.objects.get(task=work)
    assert doc.reusable and doc.version == 1 and doc.note == "最新版"
    task_page = page(me.get(f"/handover/tasks/{work.pk}/"))
    assert doc.sha256 in task_page and f"/handover/documents/{doc.pk}/download/" in task_page
    assert me.post(f"/handover/tasks/{work.pk}/submit/", {}).status_code == 302
    work.refresh_from_db()
    assert work.state == TaskState.SUBMITTED

    # HR makes a colleague the receiver; the receiver reads, but has no buttons.
    hr = login(client_as, "hrbp.cloud")
    receiver_emp = Employee.objects.get(pk=users["receiver"].employee_id)
    response = hr.post(
        f"/handover/cases/{case.pk}/reassign/",
        {"reassign-task": work.pk, "reassign-receiver_number": receiver_emp.employee_number},
    )
    assert response.status_code == 302, page(response)[-3000:]
    work.refresh_from_db()
    assert work.receiver_id == receiver_emp.pk
    rec = login(client_as, "receiver")
    received = page(rec.get("/handover/tasks/"))
    assert f"/handover/tasks/{work.pk}/" in received
    seen = page(rec.get(f"/handover/tasks/{work.pk}/"))
    assert doc.sha256 in seen
    for button in ("Accept", "Reject", "Submit for acceptance", "Upload a file", "Save the note"):
        assert f">{button}<" not in seen, button
    assert rec.get(f"/handover/documents/{doc.pk}/download/").status_code == 200
    assert AuditEntry.objects.latest("id").event_type == AuditEvent.DOCUMENT_VIEWED
    before = audit_count()
    assert rec.post(f"/handover/tasks/{work.pk}/accept/", {}).status_code == 403
    assert rec.post(f"/handover/tasks/{work.pk}/start/", {}).status_code == 403
    assert rec.post(f"/handover/cases/{case.pk}/waive/", {}).status_code == 404
    # Someone outside the case does not even learn it exists.
    other = login(client_as, "hrbp.devices")
    assert other.get(f"/handover/tasks/{work.pk}/").status_code == 404
    assert other.post(f"/handover/tasks/{work.pk}/accept/", {}).status_code == 404
    assert other.get(f"/handover/documents/{doc.pk}/download/").status_code == 404
    assert audit_count() == before
    work.refresh_from_db()
    assert work.state == TaskState.SUBMITTED

    # The approver (the manager) accepts.
    assert work.approver_id == users["head.rd"].employee_id
    assert ">Accept<" in page(head.get(f"/handover/tasks/{work.pk}/"))
    assert f"/handover/tasks/{work.pk}/" in page(head.get("/handover/tasks/"))
    response = head.post(f"/handover/tasks/{work.pk}/accept/", {"decision-comment": "齐全"})
    assert response.status_code == 302
    work.refresh_from_db()
    assert work.state == TaskState.ACCEPTED and work.last_comment == "齐全"

    # The case page shows progress, the document and the timeline from the audit trail.
    detail = page(hr.get(f"/handover/cases/{case.pk}/"))
    assert "交接说明.pdf" in detail and LEGAL_GUARD in detail
    assert "Handover task accepted" in detail and "Exit case approved" in detail
    assert "Handover document uploaded" in detail


def test_download_is_the_decrypted_file_and_audited(
    client_as: Any, installed: None, users: dict[str, User]
) -> None:
    case = approved_case(client_as)
    work = case.tasks.get(key="work-files")
    doc = actions.upload_document(
        case,
        SimpleUploadedFile("清单.csv", b"a,b\n1,2\n", content_type="text/csv"),
        acting_user=users["employee"],
        task=work,
    )
    response = login(client_as, "head.rd").get(f"/handover/documents/{doc.pk}/download/")
    assert response.status_code == 200
    assert response.content == b"a,b\n1,2\n"
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith("attachment;")
    entry = AuditEntry.objects.latest("id")
    assert entry.event_type == AuditEvent.DOCUMENT_VIEWED and entry.subject_id == str(doc.pk)


# ---------------------------------------------------------------- refusals write nothing


def test_reject_without_comment_shows_the_error_and_writes_nothing(
    client_as: Any, installed: None, users: dict[str, User]
) -> None:
    case = approved_case(client_as)
    work = case.tasks.get(key="work-files")
    actions.upload_document(
        case,
        SimpleUploadedFile("a.txt", b"x", content_type="text/plain"),
        acting_user=users["employee"],
        task=work,
    )
    actions.submit_task(work, acting_user=users["employee"])
    head = login(client_as, "head.rd")
    before = audit_count()
    response = head.post(f"/handover/tasks/{work.pk}/reject/", {"decision-comment": "  "})
    assert response.status_code == 400
    assert "Say what is missing" in page(response)
    assert audit_count() == before
    work.refresh_from_db()
    assert work.state == TaskState.SUBMITTED
    response = head.post(f"/handover/tasks/{work.pk}/reject/", {"decision-comment": "缺少附件"})
    assert response.status_code == 302
    work.refresh_from_db()
    assert work.state == TaskState.IN_PROGRESS and work.last_comment == "缺少附件"
    assert "缺少附件" in page(login(client_as, "employee").get(f"/handover/tasks/{work.pk}/"))


def test_upload_of_an_executable_is_refused_and_writes_nothing(
    client_as: Any, installed: None
) -> None:
    case = approved_case(client_as)
    work = case.tasks.get(key="work-files")
    before = (audit_count(), Document.objects.count())
    response = login(client_as, "employee").post(
        f"/handover/tasks/{work.pk}/upload/",
        {
            "upload-file": SimpleUploadedFile(
                "tool.exe", b"MZ\x90\x00", content_type="application/x-msdownload"
            )
        },
    )
    assert response.status_code == 400
    body = page(response)
    assert "application/x-msdownload" in body and "not accepted" in body
    assert 'class="errorlist' in body
    assert (audit_count(), Document.objects.count()) == before
    work.refresh_from_db()
    assert work.state == TaskState.TODO


def test_submit_without_evidence_says_what_is_missing(client_as: Any, installed: None) -> None:
    case = approved_case(client_as)
    work = case.tasks.get(key="work-files")
    me = login(client_as, "employee")
    assert "Upload at least one file." in page(me.get(f"/handover/tasks/{work.pk}/"))
    before = audit_count()
    response = me.post(f"/handover/tasks/{work.pk}/submit/", {})
    assert response.status_code == 400
    assert '<p class="form-error" role="alert">Upload at least one file.</p>' in page(response)
    assert audit_count() == before


def test_resignation_in_the_past_is_refused(client_as: Any, installed: None) -> None:
    before = (audit_count(), ExitCase.objects.count())
    response = login(client_as, "employee").post(
        "/handover/cases/new/",
        {"mode": "self", "desired_last_day": (timezone.localdate() - dt.timedelta(days=3))},
    )
    assert response.status_code == 400
    assert "in the past" in page(response)
    assert (audit_count(), ExitCase.objects.count()) == before


def test_hr_case_operations_refuse_bad_input(client_as: Any, installed: None) -> None:
    case = approved_case(client_as)
    hr = login(client_as, "hrbp.cloud")
    before = audit_count()
    response = hr.post(f"/handover/cases/{case.pk}/cancel/", {"cancel-reason": " "})
    assert response.status_code == 400 and "Say why the case is cancelled" in page(response)
    task = case.tasks.get(key="contacts")
    response = hr.post(
        f"/handover/cases/{case.pk}/waive/", {"waive-task": task.pk, "waive-reason": ""}
    )
    assert response.status_code == 400 and "Say why the item is waived" in page(response)
    response = hr.post(
        f"/handover/cases/{case.pk}/reassign/",
        {"reassign-task": task.pk, "reassign-owner_number": "NOPE-1"},
    )
    assert response.status_code == 400 and "NOPE-1" in page(response)
    assert audit_count() == before
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED


# ---------------------------------------------------------------- who sees which buttons


def test_leaver_gets_no_buttons_on_someone_elses_task(
    client_as: Any, installed: None, users: dict[str, User]
) -> None:
    case = approved_case(client_as)
    it_task = case.tasks.get(key="accounts")
    me = login(client_as, "employee")
    seen = page(me.get(f"/handover/tasks/{it_task.pk}/"))
    for button in (">Start<", ">Submit for acceptance<", ">Accept<", "hx-post="):
        assert button not in seen, button
    assert 'type="checkbox" name="done" value="0" disabled' in seen
    before = audit_count()
    for op in ("start", "submit", "accept", "note"):
        assert me.post(f"/handover/tasks/{it_task.pk}/{op}/", {}).status_code == 403, op
    assert me.post(f"/handover/tasks/{it_task.pk}/sub-items/", {"done": ["0"]}).status_code == 403
    # Nor HR's buttons on their own case.
    own = page(me.get(f"/handover/cases/{case.pk}/"))
    assert "Waive an item" not in own and "Cancel the case" not in own
    # Once approved, the employee no longer withdraws alone (HR records an agreed withdrawal).
    assert "Withdraw my resignation" not in own
    assert me.post(f"/handover/cases/{case.pk}/withdraw/", {}).status_code == 403
    assert me.post(f"/handover/cases/{case.pk}/clear/", {}).status_code == 403
    assert audit_count() == before
    # IT owns it and may work it.
    it = login(client_as, "it")
    assert ">Start<" in page(it.get(f"/handover/tasks/{it_task.pk}/"))
    assert it.post(f"/handover/tasks/{it_task.pk}/start/", {}).status_code == 302
    assert f"/handover/tasks/{it_task.pk}/" in page(it.get("/handover/tasks/"))


def test_a_queue_member_does_not_accept_what_they_submitted(
    client_as: Any, installed: None
) -> None:
    case = approved_case(client_as)
    accounts = case.tasks.get(key="accounts")  # owned and accepted by the IT queue
    it = login(client_as, "it")
    done = [str(i) for i in range(len(accounts.sub_items))]
    assert it.post(f"/handover/tasks/{accounts.pk}/sub-items/", {"done": done}).status_code == 302
    assert it.post(f"/handover/tasks/{accounts.pk}/submit/", {}).status_code == 302
    seen = page(it.get(f"/handover/tasks/{accounts.pk}/"))
    assert ">Accept<" not in seen and "Submitted for acceptance" in seen
    assert "Nothing is waiting for you." in page(it.get("/handover/tasks/"))
    before = audit_count()
    assert it.post(f"/handover/tasks/{accounts.pk}/accept/", {}).status_code == 403
    assert audit_count() == before


def test_sub_items_are_ticked_with_htmx(client_as: Any, installed: None) -> None:
    case = approved_case(client_as)
    note = case.tasks.get(key="handover-note")
    me = login(client_as, "employee")
    response = me.post(
        f"/handover/tasks/{note.pk}/sub-items/", {"done": ["0", "2"]}, headers={"HX-Request": "1"}
    )
    assert response.status_code == 200
    body = page(response)
    assert body.lstrip().startswith('<form id="sub-items"')
    assert body.count("checked") == 2
    assert 'id="task-state" hx-swap-oob="true"' in body and "In progress" in body
    assert 'id="task-missing" hx-swap-oob="true"' in body and "Tick off: 常用联系人" in body
    note.refresh_from_db()
    assert [s["done"] for s in note.sub_items] == [True, False, True]
    assert note.state == TaskState.IN_PROGRESS
    # An unknown sub-item is refused inside the block (HTMX swaps only 2xx), nothing written.
    before = audit_count()
    response = me.post(
        f"/handover/tasks/{note.pk}/sub-items/", {"done": ["7"]}, headers={"HX-Request": "1"}
    )
    assert response.status_code == 200 and 'class="errorlist' in page(response)
    assert audit_count() == before


def test_handover_note_is_saved_by_the_owner(client_as: Any, installed: None) -> None:
    case = approved_case(client_as)
    task = case.tasks.get(key="project-docs")
    me = login(client_as, "employee")
    response = me.post(f"/handover/tasks/{task.pk}/note/", {"note-note": "文档在共享盘 /docs"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.note == "文档在共享盘 /docs" and task.state == TaskState.IN_PROGRESS


def test_confidential_case_is_404_for_the_leaver(
    client_as: Any, installed: None, users: dict[str, User], leaver: Employee
) -> None:
    head_form = page(login(client_as, "head.rd").get("/handover/cases/new/"))
    assert "confidential" not in head_form  # only HR (case.manage) may open one
    assert 'value="layoff"' not in head_form  # nor an employer-initiated termination
    hr = login(client_as, "hrbp.cloud")
    assert 'name="confidential"' in page(hr.get("/handover/cases/new/"))
    response = hr.post(
        "/handover/cases/new/",
        {
            "mode": "other",
            "employee_number": leaver.employee_number,
            "exit_type": "mutual",
            "last_working_day": last_day(60).isoformat(),
            "confidential": "on",
            "submit": "on",
        },
    )
    assert response.status_code == 302, page(response)[-3000:]
    case = ExitCase.objects.latest("pk")
    assert case.confidential and case.state == CaseState.SUBMITTED
    me = login(client_as, "employee")
    assert me.get(f"/handover/cases/{case.pk}/").status_code == 404
    assert f"/handover/cases/{case.pk}/" not in page(me.get("/handover/tasks/"))
    assert me.post(f"/handover/cases/{case.pk}/withdraw/", {}).status_code == 404
    detail = page(hr.get(f"/handover/cases/{case.pk}/"))
    assert "Reveal to the employee" in detail
    assert hr.post(f"/handover/cases/{case.pk}/reveal/", {}).status_code == 302
    assert me.get(f"/handover/cases/{case.pk}/").status_code == 200


def test_open_case_for_someone_by_employee_number(
    client_as: Any, installed: None, users: dict[str, User], leaver: Employee
) -> None:
    hr = login(client_as, "hrbp.cloud")
    before = audit_count()
    response = hr.post(
        "/handover/cases/new/",
        {
            "mode": "other",
            "employee_number": "NO-SUCH-NUMBER",
            "exit_type": "mutual",
            "last_working_day": last_day().isoformat(),
        },
    )
    assert response.status_code == 400 and "NO-SUCH-NUMBER" in page(response)
    # HR of another business unit does not learn that the person exists.
    other = login(client_as, "hrbp.devices")
    response = other.post(
        "/handover/cases/new/",
        {
            "mode": "other",
            "employee_number": leaver.employee_number,
            "exit_type": "mutual",
            "last_working_day": last_day().isoformat(),
        },
    )
    assert response.status_code == 400 and "No current employee" in page(response)
    assert audit_count() == before
    successor = Employee.objects.get(pk=users["receiver"].employee_id)
    response = hr.post(
        "/handover/cases/new/",
        {
            "mode": "other",
            "employee_number": leaver.employee_number,
            "exit_type": "employer_no_fault",
            "last_working_day": last_day().isoformat(),
            "successor_number": successor.employee_number,
        },
    )
    assert response.status_code == 302
    case = ExitCase.objects.latest("pk")
    assert case.state == CaseState.DRAFT and case.successor_id == successor.pk
    assert case.exit_type == "employer_no_fault"


def test_case_lifecycle_buttons(client_as: Any, installed: None, users: dict[str, User]) -> None:
    case = approved_case(client_as)
    hr = login(client_as, "hrbp.cloud")
    # Moving the last day into the past makes the open items overdue.
    past = timezone.localdate() - dt.timedelta(days=10)
    response = hr.post(
        f"/handover/cases/{case.pk}/last-day/", {"last_day-last_working_day": past.isoformat()}
    )
    assert response.status_code == 302
    assert "Overdue" in page(login(client_as, "employee").get("/handover/tasks/"))
    detail = page(hr.get(f"/handover/cases/{case.pk}/"))
    assert "badge-overdue" in detail
    # Waive everything: the case clears itself; close.
    for task in case.tasks.all():
        response = hr.post(
            f"/handover/cases/{case.pk}/waive/", {"waive-task": task.pk, "waive-reason": "测试"}
        )
        assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLEARED
    detail = page(hr.get(f"/handover/cases/{case.pk}/"))
    assert "Close the case" in detail and LEGAL_GUARD in detail
    assert hr.post(f"/handover/cases/{case.pk}/close/", {}).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED


def test_withdraw_and_restore(client_as: Any, installed: None) -> None:
    case = resign_via_form(client_as)
    me = login(client_as, "employee")
    assert "Withdraw my resignation" in page(me.get(f"/handover/cases/{case.pk}/"))
    response = me.post(f"/handover/cases/{case.pk}/withdraw/", {"withdraw-reason": "留任"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN
    assert "?mode=self" in page(me.get("/handover/tasks/"))  # may resign again later
    hr = login(client_as, "hrbp.cloud")
    assert "Restore the case" in page(hr.get(f"/handover/cases/{case.pk}/"))
    assert hr.post(f"/handover/cases/{case.pk}/restore/", {}).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    # After approval HR records an agreed withdrawal; tasks are kept.
    assert (
        login(client_as, "head.rd").post(f"/handover/cases/{case.pk}/approve/").status_code == 302
    )
    n = case.tasks.count()
    assert "Record a withdrawal" in page(hr.get(f"/handover/cases/{case.pk}/"))
    response = hr.post(f"/handover/cases/{case.pk}/withdraw/", {"withdraw-reason": "协商留任"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN and case.tasks.count() == n


def test_hr_adds_an_item(client_as: Any, installed: None) -> None:
    case = approved_case(client_as)
    hr = login(client_as, "hrbp.cloud")
    n = case.tasks.count()
    response = hr.post(
        f"/handover/cases/{case.pk}/add-item/",
        {
            "add_item-title": "客户合同原件归档",
            "add_item-category": "customers",
            "add_item-evidence_kind": "checklist",
            "add_item-sub_items": "合同A\n合同B\n",
            "add_item-blocks_clearance": "on",
        },
    )
    assert response.status_code == 302, page(response)[-3000:]
    task = case.tasks.get(title="客户合同原件归档")
    assert case.tasks.count() == n + 1 and len(task.sub_items) == 2
    assert task.owner_id == case.employee_id


# ---------------------------------------------------------------- query count


def test_case_page_query_count_is_bounded(
    client_as: Any, installed: None, users: dict[str, User]
) -> None:
    case = approved_case(client_as)
    hr = login(client_as, "hrbp.cloud")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = hr.get(f"/handover/cases/{case.pk}/")
        assert response.status_code == 200
        return len(ctx)

    first = count()
    for i in range(12):
        actions.add_task(case, {"title": f"附加事项 {i}"}, acting_user=users["hrbp.cloud"])
    work = case.tasks.get(key="work-files")
    for i in range(3):
        actions.upload_document(
            case,
            SimpleUploadedFile(f"f{i}.txt", b"x" * (i + 1), content_type="text/plain"),
            acting_user=users["employee"],
            task=work,
        )
    second = count()
    assert first <= 15 and second <= 15, (first, second)
    assert second == first, (first, second)


def test_task_page_query_count_is_bounded(
    client_as: Any, installed: None, users: dict[str, User]
) -> None:
    case = approved_case(client_as)
    work = case.tasks.get(key="work-files")
    for i in range(5):
        actions.upload_document(
            case,
            SimpleUploadedFile(f"f{i}.txt", b"x", content_type="text/plain"),
            acting_user=users["employee"],
            task=work,
        )
    me = login(client_as, "employee")
    with CaptureQueriesContext(connection) as ctx:
        assert me.get(f"/handover/tasks/{work.pk}/").status_code == 200
    assert len(ctx) <= 15, [q["sql"][:100] for q in ctx.captured_queries]
    with CaptureQueriesContext(connection) as ctx:
        assert me.get("/handover/tasks/").status_code == 200
    assert len(ctx) <= 12, [q["sql"][:100] for q in ctx.captured_queries]


# ---------------------------------------------------------------- external confirmation


@pytest.fixture
def sales_task(users: dict[str, User], installed: None) -> HandoverTask:
    sales = Employee.objects.filter(
        position__family__code="sales", status="active", manager__isnull=False
    ).first()
    assert sales is not None
    case = actions.open_case(
        sales,
        acting_user=users["admin"],
        exit_type="resignation",
        last_working_day=last_day(),
        submit=True,
    )
    case = actions.approve_case(case, acting_user=users["admin"])
    return case.tasks.get(key="customer-confirm")


def test_confirmation_link_flow(client_as: Any, sales_task: HandoverTask) -> None:
    owner = user_for(sales_task.case.employee)
    client = Client(headers={"host": "127.0.0.1"})
    client.force_login(owner)
    before = ExternalConfirmation.objects.count()
    response = client.post(
        f"/handover/tasks/{sales_task.pk}/confirmation/",
        {
            "confirmation-recipient_name": "某客户 李总",
            "confirmation-recipient_email": "li@customer.example",
            "confirmation-statement": "自 3 月 1 日起我方对接人为王五。",
            "confirmation-valid_days": "7",
        },
    )
    assert response.status_code == 302, page(response)[-3000:]
    assert ExternalConfirmation.objects.count() == before + 1
    shown = page(client.get(f"/handover/tasks/{sales_task.pk}/"))
    start = shown.index("http://127.0.0.1/confirm/")
    url = shown[start : shown.index("<", start)]
    path, _hash, raw = url.removeprefix("http://127.0.0.1").partition("#")
    assert path == "/confirm/" and len(raw) > 20  # the token rides in the fragment
    assert raw not in page(client.get(f"/handover/tasks/{sales_task.pk}/"))  # shown once

    # The outside party: no account, CSRF-protected forms. What a browser requests for the
    # link is its path (the fragment is never sent); the page posts the token in the body.
    public = public_client(enforce_csrf_checks=True)
    requested: list[str] = []

    def get(url: str) -> Any:
        requested.append(url)
        return public.get(url)

    def post(url: str, data: dict[str, str]) -> Any:
        requested.append(url)
        return public.post(url, data)

    response = get(path)
    assert response.status_code == 200 and 'id="confirm-link-form"' in page(response)
    assert raw not in page(response)  # the server never saw it
    assert post(path, {"token": raw}).status_code == 403  # no CSRF token
    csrf = public.cookies["csrftoken"].value
    response = post(path, {"token": raw, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    body = page(response)
    assert "自 3 月 1 日起我方对接人为王五。" in body
    assert sales_task.case.legal_entity.name in body and "某客户 李总" in body
    assert "mainnav" not in body
    assert (
        ExternalConfirmation.objects.latest("pk").responded_at is None
    )  # opening is not answering
    response = post(
        path, {"token": raw, "answer": "yes", "note": "确认", "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 200 and "Thank you" in page(response)
    conf = ExternalConfirmation.objects.latest("pk")
    assert conf.confirmed is True and conf.response_note == "确认" and conf.response_ip
    # Used links explain themselves with 410; garbage with 404.
    again = post(path, {"token": raw, "answer": "no", "csrfmiddlewaretoken": csrf})
    assert again.status_code == 410 and "only once" in page(again)
    assert post(path, {"token": raw, "csrfmiddlewaretoken": csrf}).status_code == 410
    assert post(path, {"token": "not-a-real-token", "csrfmiddlewaretoken": csrf}).status_code == 404
    conf.refresh_from_db()
    assert conf.confirmed is True
    # The secret was in no requested path or query (what access logs record).
    assert requested and not [u for u in requested if raw in u]

    # The owner sees the answer and can now submit.
    shown = page(client.get(f"/handover/tasks/{sales_task.pk}/"))
    assert "Confirmed" in shown
    assert client.post(f"/handover/tasks/{sales_task.pk}/submit/", {}).status_code == 302


def test_expired_link_is_410(
    client_as: Any, sales_task: HandoverTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = user_for(sales_task.case.employee)
    _conf, raw = actions.create_confirmation(
        sales_task, acting_user=owner, recipient_name="客户", statement="确认", valid_days=1
    )
    later = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = public_client().post("/confirm/", {"token": raw})
    assert response.status_code == 410 and "expired" in page(response)


def test_links_sent_before_the_fragment_still_work_once(
    client_as: Any, sales_task: HandoverTask
) -> None:
    """`/confirm/<token>/` links already in mailboxes: the GET forwards to the fragment form
    (without looking anything up), a page opened from one can still post its answer, once."""
    owner = user_for(sales_task.case.employee)
    _conf, raw = actions.create_confirmation(
        sales_task, acting_user=owner, recipient_name="客户", statement="旧链接确认"
    )
    public = public_client()
    response = public.get(f"/confirm/{raw}/")
    assert response.status_code == 302 and response["Location"] == f"/confirm/#{raw}"
    response = public.post(f"/confirm/{raw}/", {"answer": "yes"})
    assert response.status_code == 200 and "Thank you" in page(response)
    assert public.post("/confirm/", {"token": raw}).status_code == 410
    assert public.post(f"/confirm/{raw}/", {"answer": "no"}).status_code == 410
