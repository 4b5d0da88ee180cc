"""A confidential pre-resignation handover (预离职交接) hides every trace of itself — the
leaver's status, the case, its tasks, counts, reminders, events and audit entries — from
everyone who may not approve the exit, and from the leaver, until HR reveals it; afterwards
everything flows as for any case. And the knowledge map stays within the reader's scope.

Everything goes through the real HTTP client (API and pages), the real reminder run with a
real SMTP server, and the outbox as written by the real actions."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from baton.handover import actions as ho_actions
from baton.handover import packs
from baton.handover.models import ExitCase, HandoverTask, KnowledgeItem
from baton.integrations.models import Event
from baton.notify import actions as notify_actions
from baton.notify.models import Delivery, Notification
from baton.notify.testing.smtp import MailCatcher
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
API = "/api/handover"
LAST_DAY = dt.date(2026, 12, 31)
# Four working days after the last day (1 January is a holiday): every item is overdue.
OVERDUE_AT = "2027-01-07T10:00+08:00"
APPROVERS = frozenset({"admin", "hrbp.cloud", "head.rd"})
OTHERS = frozenset({"employee", "receiver", "it", "finance", "auditor", "hrbp.devices"})


def _json(client: Client, method: str, url: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return client.generic(method, url, **kwargs)


@pytest.fixture
def leaver(users: dict[str, Any]) -> Employee:
    packs.install(acting_user=users["admin"])
    return Employee.objects.get(pk=users["employee"].employee_id)


@pytest.fixture
def hidden(client_as: Any, users: dict[str, Any], leaver: Employee) -> ExitCase:
    """The issue's repro: HR opens a confidential case for the employee (the receiver's
    person succeeds them), submits and approves it, all through the API."""
    hr = client_as("hrbp.cloud")
    response = _json(
        hr,
        "POST",
        f"{API}/cases",
        {
            "employee_id": leaver.pk,
            "exit_type": "resignation",
            "last_working_day": LAST_DAY.isoformat(),
            "reason": "预计离职，提前安排交接（保密）。",
            "confidential": True,
            "successor_id": users["receiver"].employee_id,
            "submit": True,
        },
    )
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    response = _json(hr, "POST", f"{API}/cases/{case_id}/approve")
    assert response.status_code == 200, response.content
    case = ExitCase.objects.get(pk=case_id)
    assert case.confidential and case.revealed_at is None and case.tasks.exists()
    return case


def _reveal(client_as: Any, case: ExitCase) -> None:
    response = _json(client_as("hrbp.cloud"), "POST", f"{API}/cases/{case.pk}/reveal")
    assert response.status_code == 200, response.content


def _queue_task(case: ExitCase, queue: str) -> HandoverTask:
    task = case.tasks.filter(owner_queue=queue).order_by("sort", "id").first()
    assert task is not None, queue
    return task


# ---------------------------------------------------------------- 1. the leaver's status


def test_the_leavers_status_does_not_tell_until_the_reveal(
    client_as: Any, users: dict[str, Any], leaver: Employee, hidden: ExitCase
) -> None:
    me = client_as("employee")
    assert me.get(f"/api/org/employees/{leaver.pk}").json()["status"] == "active"
    assert "离职中" not in me.get(f"/people/{leaver.pk}/").content.decode()
    assert me.get(f"{API}/cases/{hidden.pk}").status_code == 404
    # Nor to anyone else who may see the person: the record, the filter, the home counter.
    for role in ("it", "finance", "auditor", "head.rd", "hrbp.cloud"):
        client = client_as(role)
        assert client.get(f"/api/org/employees/{leaver.pk}").json()["status"] == "active", role
        departing = client.get("/api/org/employees?status=departing&limit=500").json()["items"]
        assert leaver.pk not in {e["id"] for e in departing}, role
        page = client.get(f"/people/?status=departing&q={leaver.employee_number}")
        assert leaver.name not in page.content.decode(), role
    # Nothing left Baton either: no event about the person or the case.
    assert not Event.objects.filter(subject=f"employees/{leaver.pk}").exists()
    assert not Event.objects.filter(subject=f"cases/{hidden.pk}").exists()

    _reveal(client_as, hidden)
    assert me.get(f"/api/org/employees/{leaver.pk}").json()["status"] == "departing"
    assert "离职中" in me.get(f"/people/{leaver.pk}/").content.decode()
    departing = client_as("it").get("/api/org/employees?status=departing&limit=500").json()
    assert leaver.pk in {e["id"] for e in departing["items"]}
    # Published at the reveal: the case was revealed and the person is departing.
    types = set(Event.objects.values_list("type", flat=True))
    assert {"case.revealed", "employee.departing"} <= types


def test_a_hidden_case_cannot_be_closed_before_the_reveal(
    client_as: Any, users: dict[str, Any], hidden: ExitCase
) -> None:
    """Closing marks the person departed for everyone: HR reveals first."""
    hr = users["hrbp.cloud"]
    for task in hidden.tasks.all():
        ho_actions.waive_task(task, acting_user=hr, reason="不适用")
    hidden.refresh_from_db()
    assert hidden.state == "cleared"
    response = _json(client_as("hrbp.cloud"), "POST", f"{API}/cases/{hidden.pk}/close")
    assert response.status_code == 409, response.content
    assert Employee.objects.get(pk=hidden.employee_id).status == "active"
    _reveal(client_as, hidden)
    assert Employee.objects.get(pk=hidden.employee_id).status == "departing"
    response = _json(client_as("hrbp.cloud"), "POST", f"{API}/cases/{hidden.pk}/close")
    assert response.status_code == 200, response.content
    assert Employee.objects.get(pk=hidden.employee_id).status == "departed"


# ---------------------------------------------------------------- 2. tasks, queues, reminders


def test_queues_and_named_participants_see_no_task_until_the_reveal(
    client_as: Any, users: dict[str, Any], hidden: ExitCase
) -> None:
    it_task, fin_task = _queue_task(hidden, "it"), _queue_task(hidden, "finance")
    received = hidden.tasks.filter(receiver_id=users["receiver"].employee_id).first()
    assert received is not None
    for role, task in (("it", it_task), ("finance", fin_task), ("receiver", received)):
        client = client_as(role)
        listed = client.get(f"{API}/tasks?case={hidden.pk}").json()
        assert listed["count"] == 0, role
        assert client.get(f"{API}/tasks?mine=owner").json()["count"] == 0, role
        assert client.get(f"{API}/tasks/{task.pk}").status_code == 404, role
        work = _json(client, "PATCH", f"{API}/tasks/{task.pk}/work", {"note": "已处理"})
        assert work.status_code == 404, role
        assert client.get(f"/handover/tasks/{task.pk}/").status_code == 404, role
        assert hidden.employee.name not in client.get("/handover/tasks/").content.decode(), role
        board = client.get("/handover/cases/")
        assert (
            board.status_code in (200, 403) and hidden.employee.name not in board.content.decode()
        )
    # Those who may approve the exit prepare it meanwhile.
    for role in APPROVERS:
        assert client_as(role).get(f"{API}/tasks?case={hidden.pk}").json()["count"] > 0, role
    HandoverTask.objects.get(pk=it_task.pk).refresh_from_db()
    assert HandoverTask.objects.get(pk=it_task.pk).note == ""

    _reveal(client_as, hidden)
    it = client_as("it")
    assert it.get(f"{API}/tasks?case={hidden.pk}").json()["count"] > 0
    work = _json(it, "PATCH", f"{API}/tasks/{it_task.pk}/work", {"note": "已处理"})
    assert work.status_code == 200, work.content
    assert client_as("finance").get(f"{API}/tasks/{fin_task.pk}").status_code == 200


@pytest.fixture
def catcher(users: dict[str, Any]) -> Iterator[MailCatcher]:
    with MailCatcher() as c:
        notify_actions.create_channel(
            {
                "name": "Mail",
                "kind": "email",
                "internal": True,  # the local mail catcher
                "settings": {"host": "127.0.0.1", "port": c.port, "from_email": "hr@hx.example"},
            },
            {},
            acting_user=users["admin"],
        )
        yield c


def _run_reminders(now: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("reminders", "run", "--now", now, stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    assert result["sent"]["failed"] == 0, result
    return result


def test_reminders_and_escalations_reach_only_approvers_until_the_reveal(
    client_as: Any, users: dict[str, Any], hidden: ExitCase, catcher: MailCatcher
) -> None:
    result = _run_reminders(OVERDUE_AT)
    assert result["planned"] > 0  # the approvers are reminded and HR gets the escalation
    to = " ".join(str(m["To"]) for m in catcher.messages)
    for role in OTHERS:
        user = users[role]
        assert user.email not in to, role
        assert not Delivery.objects.filter(recipient=user).exists(), role
        assert not Notification.objects.filter(user=user).exists(), role
        inbox = client_as(role).get("/api/notify/notifications").json()
        assert inbox["count"] == 0, role
    recipients = set(Delivery.objects.values_list("recipient__username", flat=True))
    assert recipients and recipients <= APPROVERS, recipients

    _reveal(client_as, hidden)
    _run_reminders(OVERDUE_AT)
    to = " ".join(str(m["To"]) for m in catcher.messages)
    for role in ("it", "finance"):
        assert users[role].email in to, role  # their overdue queue items, named
        assert Notification.objects.filter(user=users[role]).exists(), role
    mails = [m for m in catcher.messages if users["it"].email in str(m["To"])]
    assert any(hidden.employee.name in m.get_body().get_content() for m in mails)  # type: ignore[union-attr]


def test_a_reminder_planned_for_someone_who_may_not_know_is_not_sent(
    users: dict[str, Any], hidden: ExitCase, catcher: MailCatcher
) -> None:
    """Deliveries already in the log (planned under the old rule) are re-checked at send time."""
    from baton.notify import delivery
    from baton.notify.models import DeliveryKind, ReminderRule

    rule = ReminderRule.objects.filter(is_active=True, escalation=False).first()
    assert rule is not None
    task = _queue_task(hidden, "it")
    d = Delivery.objects.create(
        key=f"legacy:t{task.pk}",
        kind=DeliveryKind.REMINDER,
        family="email",
        rule=rule,
        case=hidden,
        task=task,
        recipient=users["it"],
        period="2027-01-07",
        due_date=task.due_date,
        not_before=dt.datetime(2027, 1, 7, 2, tzinfo=dt.UTC),
    )
    delivery.send_batch([d.pk], dt.datetime(2027, 1, 7, 2, 5, tzinfo=dt.UTC))
    d.refresh_from_db()
    assert d.status == "skipped" and catcher.messages == []
    assert d.error in ("The case is not visible to the recipient.", "收件人无权看到该离职单。")


# ---------------------------------------------------------------- audit trail


def test_the_audit_trail_hides_the_case_from_those_who_may_not_approve(
    client_as: Any, users: dict[str, Any], hidden: ExitCase
) -> None:
    task = hidden.tasks.order_by("id").first()
    assert task is not None
    queries = (
        f"subject_type=handover.exitcase&subject_id={hidden.pk}",
        f"subject_type=handover.handovertask&subject_id={task.pk}",
    )
    for query in queries:
        assert client_as("auditor").get(f"/api/audit/entries?{query}").json()["count"] == 0
        assert client_as("hrbp.cloud").get(f"/api/audit/entries?{query}").json()["count"] > 0
    page = client_as("auditor").get(
        f"/audit/?subject_type=handover.exitcase&subject_id={hidden.pk}"
    )
    assert page.status_code == 200 and hidden.employee.name not in page.content.decode()
    _reveal(client_as, hidden)
    for query in queries:
        assert client_as("auditor").get(f"/api/audit/entries?{query}").json()["count"] > 0


# ---------------------------------------------------------------- 3. the knowledge map


@pytest.fixture
def knowledge(users: dict[str, Any], leaver: Employee) -> KnowledgeItem:
    """A cloud R&D engineer's accepted, reusable document on the knowledge map."""
    case = ho_actions.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        successor=Employee.objects.get(pk=users["receiver"].employee_id),
        submit=True,
    )
    case = ho_actions.approve_case(case, acting_user=users["head.rd"])
    docs = case.tasks.get(key="project-docs")
    pdf = SimpleUploadedFile("架构.pdf", b"%PDF-1.4 knowledge", content_type="application/pdf")
    ho_actions.upload_document(case, pdf, acting_user=users["employee"], task=docs, reusable=True)
    ho_actions.submit_task(docs, acting_user=users["employee"])
    ho_actions.accept_task(docs, acting_user=users["receiver"])
    return KnowledgeItem.objects.get(source_task=docs, document__isnull=False)


def test_knowledge_map_stays_within_the_readers_business_unit(
    client_as: Any, knowledge: KnowledgeItem
) -> None:
    devices = client_as("hrbp.devices")
    listed = devices.get(f"{API}/knowledge?limit=500").json()["items"]
    assert knowledge.pk not in {k["id"] for k in listed}
    assert devices.get(f"{API}/knowledge/{knowledge.pk}").status_code == 404
    assert devices.get(f"/handover/knowledge/{knowledge.pk}/download/").status_code == 404
    assert devices.get(f"/handover/knowledge/{knowledge.pk}/").status_code == 404
    page = devices.get("/handover/knowledge/").content.decode()
    assert f"/handover/knowledge/{knowledge.pk}/" not in page
    # The same as the document itself through the documents API.
    assert devices.get(f"{API}/documents/{knowledge.document_id}/download").status_code == 404
    # HR of the contributor's unit, the department head and the position's holder read it.
    for role in ("hrbp.cloud", "admin", "head.rd", "employee"):
        client = client_as(role)
        listed = client.get(f"{API}/knowledge?limit=500").json()["items"]
        assert knowledge.pk in {k["id"] for k in listed}, role
        download = client.get(f"/handover/knowledge/{knowledge.pk}/download/")
        assert download.status_code == 200, role
