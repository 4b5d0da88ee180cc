"""Business data in: approval queues pulls without calling out; a pull of 500 customers becomes
500 items and tasks in a bounded number of queries; re-pulls are idempotent; progress, a 503
then a retry, retries running out; pushes through the API, validated all or nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from baton.access import actions as access_actions
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.workdays import add_working_days
from baton.handover import actions as ho
from baton.handover import packs
from baton.handover.models import ExitCase, HandoverTask
from baton.integrations.actions import business, system_tokens
from baton.integrations.models import BusinessItem, ConnectedSystem, ConnectorCall, DataPull
from baton.integrations.testing.bizserver import BizServer, connect
from baton.org import actions as org_actions
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_users(demo_data: None) -> None:
    """API answers in English (users' language; the installation's default is zh-Hans)."""
    from baton.access.models import User

    User.objects.update(language="en")


LAST_DAY = dt.date(2026, 12, 31)
LATER = dt.timedelta(hours=2)


@pytest.fixture
def biz() -> Iterator[BizServer]:
    with BizServer() as server:
        yield server


@pytest.fixture
def leaver(users: dict[str, Any], biz: BizServer) -> Employee:
    packs.install(acting_user=users["admin"])
    emp = Employee.objects.get(user=users["employee"])
    biz.add_user(emp.email, email=emp.email)
    return emp


def _crm(biz: BizServer, **kw: Any) -> ConnectedSystem:
    return connect(biz, "crm", pulls_data=True, revokes_access=False, **kw)


def _approve(users: dict[str, Any], emp: Employee) -> ExitCase:
    case = ho.open_case(
        emp,
        acting_user=users["admin"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        reason="职业发展",
        submit=True,
    )
    return ho.approve_case(case, acting_user=users["head.rd"])


def _entries(event: E) -> Any:
    return AuditEntry.objects.filter(event_type=event)


def test_approval_queues_pulls_without_calling_out(
    users: dict[str, Any], biz: BizServer, leaver: Employee, django_capture_on_commit_callbacks: Any
) -> None:
    biz.seed(leaver.email, customers=500)
    system = _crm(biz, active=False)
    with CaptureQueriesContext(connection) as without:
        first = _approve(users, leaver)
    assert not DataPull.objects.filter(case=first).exists()
    # The same leaver again, with the CRM switched on.
    ho.cancel_case(first, acting_user=users["admin"], reason="重来")
    org_actions.update_employee(leaver, {"status": "active"}, acting_user=users["admin"])
    system.active = True
    system.save(update_fields=["active"])
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as with_pull,
    ):
        case = _approve(users, leaver)
    # A query for the systems, the pull row, its audit entry: nothing per record, no call out.
    assert len(with_pull) - len(without) <= 8
    assert biz.received == []
    pull = DataPull.objects.get(case=case)
    assert (pull.system_id, pull.state, pull.fetched) == (system.pk, "queued", 0)
    assert _entries(E.DATA_PULL_REQUESTED).filter(subject_id=str(pull.pk)).exists()
    queued = DBTaskResult.objects.filter(task_path__endswith="tasks.run_pull")
    assert [t.args_kwargs["args"] for t in queued] == [[pull.pk]]


def test_systems_of_other_entities_are_not_pulled(
    users: dict[str, Any], biz: BizServer, leaver: Employee
) -> None:
    other = Employee.objects.exclude(legal_entity=leaver.legal_entity).first()
    assert other is not None
    _crm(biz, legal_entity=other.legal_entity)
    mine = _crm(biz, legal_entity=leaver.legal_entity)
    case = _approve(users, leaver)
    assert list(DataPull.objects.filter(case=case).values_list("system_id", flat=True)) == [mine.pk]


def test_pull_of_500_customers_becomes_items_and_tasks(
    users: dict[str, Any],
    biz: BizServer,
    leaver: Employee,
    django_assert_max_num_queries: Any,
) -> None:
    biz.seed(leaver.email, customers=500)
    biz.seed("someone.else@huaxia.example", customers=20)
    system = _crm(biz)
    case = _approve(users, leaver)
    tasks_before = case.tasks.count()
    # 1 find + 6 pages (5 of 100 and the empty one for orders), ~15 queries per page of 100.
    with django_assert_max_num_queries(110):
        assert business.run_pulls() == {"done": 1, "retry": 0, "failed": 0, "skipped": 0}
    pull = DataPull.objects.get(case=case)
    assert (pull.state, pull.fetched, pull.created, pull.updated) == ("done", 500, 500, 0)
    items = BusinessItem.objects.filter(case=case, system=system)
    assert items.count() == 500 and not items.filter(task__isnull=True).exists()
    assert case.tasks.count() == tasks_before + 500
    task = HandoverTask.objects.select_related("business_item").get(
        business_item__external_id=items.order_by("external_id")[0].external_id
    )
    item = task.business_item  # type: ignore[attr-defined]
    # Titles are written in the installation's language (zh-Hans here).
    with translation.override(settings.LANGUAGE_CODE):
        title = gettext("Hand over customer %(name)s") % {"name": item.name}
    assert task.title == title and task.category == "customers"
    assert task.evidence_kind == "external" and task.owner_id == leaver.pk
    manager = leaver.manager or leaver.department.head
    assert task.receiver_id == (case.successor_id or manager.pk)
    assert task.approver_id == manager.pk
    assert task.due_date == add_working_days(LAST_DAY, -1, case.legal_entity.jurisdiction)
    assert item.contact_email.endswith(".example") and item.details["industry"]
    created = _entries(E.TASK_CREATED).filter(
        subject_id__in=[str(pk) for pk in items.values_list("task_id", flat=True)]
    )
    assert created.count() == 500 and not created.filter(actor_id__isnull=False).exists()
    [pulled] = _entries(E.DATA_PULLED).filter(subject_id=str(pull.pk))
    extra = json.loads(pulled.payload)["extra"]
    assert (extra["fetched"], extra["created"], extra["updated"]) == (500, 500, 0)
    calls = ConnectorCall.objects.filter(pull=pull)
    assert calls.count() == 7 and all(c.ok for c in calls)

    # Pulling again changes nothing; a renamed customer is updated, a new one added.
    assert business.run_pull(pull.pk) == "skipped"  # done pulls are left alone
    again = business.request_pull(case, system, acting_user=users["hrbp.cloud"])
    business.run_pulls()
    again.refresh_from_db()
    assert (again.state, again.created, again.updated) == ("done", 0, 0)
    renamed = biz.owned("customers", leaver.email)[0]
    renamed["name"] = "改名后的客户"
    biz.seed(leaver.email, customers=1)
    third = business.request_pull(case, system, kinds=["customer"], acting_user=users["admin"])
    business.run_pulls()
    third.refresh_from_db()
    assert (third.state, third.created, third.updated, third.fetched) == ("done", 1, 1, 501)
    assert items.count() == 501 and items.filter(name="改名后的客户").count() == 1
    assert case.tasks.count() == tasks_before + 501


def test_progress_then_503_then_retry(
    users: dict[str, Any],
    biz: BizServer,
    leaver: Employee,
    django_capture_on_commit_callbacks: Any,
) -> None:
    biz.seed(leaver.email, customers=500)
    _crm(biz)
    case = _approve(users, leaver)
    biz.fail_when = lambda r: 503 if r.query.get("page") == "3" else None
    with django_capture_on_commit_callbacks(execute=True):
        assert business.run_pulls()["retry"] == 1
    pull = DataPull.objects.get(case=case)
    # Two pages arrived before the failure: they are on the case, and the progress says so.
    assert (pull.state, pull.attempts, pull.fetched, pull.created) == ("queued", 1, 200, 200)
    assert "HTTP 503" in pull.error
    assert BusinessItem.objects.filter(case=case).count() == 200
    retry = DBTaskResult.objects.filter(task_path__endswith="tasks.run_pull").latest("enqueued_at")
    assert retry.run_after is not None and retry.run_after > timezone.now()
    # Not before the backoff has passed.
    assert business.run_pulls()["done"] == 0
    biz.fail_when = None
    assert business.run_pulls(timezone.now() + LATER)["done"] == 1
    pull.refresh_from_db()
    assert (pull.state, pull.attempts, pull.fetched, pull.created) == ("done", 2, 500, 500)
    assert BusinessItem.objects.filter(case=case).count() == 500


def test_retries_run_out_and_refusals_fail_at_once(
    users: dict[str, Any], biz: BizServer, leaver: Employee
) -> None:
    biz.seed(leaver.email, customers=3)
    system = _crm(biz)
    case = _approve(users, leaver)
    biz.fail_on["/api/customers"] = 503
    now = timezone.now()
    for _n in range(business.PULL_ATTEMPTS):
        business.run_pulls(now)
        now += LATER
    pull = DataPull.objects.get(case=case)
    assert (pull.state, pull.attempts) == ("failed", business.PULL_ATTEMPTS)
    assert "pull:customer: HTTP 503" in pull.error
    assert _entries(E.DATA_PULL_FAILED).filter(subject_id=str(pull.pk)).exists()

    biz.fail_on.clear()
    biz.token = "rotated-token-123"  # the system's secret is now wrong: 401, no retry
    again = business.request_pull(case, system, acting_user=users["admin"])
    assert business.run_pulls()["failed"] == 1
    again.refresh_from_db()
    assert again.attempts == 1 and "HTTP 401" in again.error


def test_a_pull_on_a_closed_case_does_nothing(
    users: dict[str, Any], biz: BizServer, leaver: Employee
) -> None:
    biz.seed(leaver.email, customers=3)
    _crm(biz)
    case = _approve(users, leaver)
    ho.cancel_case(case, acting_user=users["admin"], reason="留任")
    assert business.run_pulls()["skipped"] == 1
    pull = DataPull.objects.get(case=case)
    assert pull.state == "failed" and "no longer open" in pull.error
    assert biz.received == [] and not BusinessItem.objects.filter(case=case).exists()


def test_a_stale_running_pull_is_taken_over(
    users: dict[str, Any], biz: BizServer, leaver: Employee
) -> None:
    biz.seed(leaver.email, customers=3)
    _crm(biz)
    case = _approve(users, leaver)
    pull = DataPull.objects.get(case=case)
    pull.state, pull.attempts = "running", 1
    pull.started_at = timezone.now() - dt.timedelta(minutes=5)
    pull.save()
    assert business.run_pulls()["done"] == 0  # still within its time
    pull.started_at = timezone.now() - dt.timedelta(hours=1)
    pull.save()
    assert business.sweep() == 1
    assert business.run_pulls()["done"] == 1
    pull.refresh_from_db()
    assert (pull.state, pull.attempts, pull.created) == ("done", 2, 3)


def test_each_kind_goes_to_its_checklist_and_queue(
    users: dict[str, Any], biz: BizServer, leaver: Employee
) -> None:
    biz.seed(leaver.email, projects=2, purchase_orders=1, assets=1, loans=1, expense_claims=2)
    connect(biz, "erp", pulls_data=True, revokes_access=False)
    connect(biz, "finance", pulls_data=True, revokes_access=False)
    case = _approve(users, leaver)
    assert business.run_pulls()["done"] == 2
    tasks = {
        t.business_item.kind: t  # type: ignore[attr-defined]
        for t in HandoverTask.objects.filter(case=case, business_item__isnull=False).select_related(
            "business_item"
        )
    }
    assert tasks["project"].category == "business" and tasks["project"].owner_id == leaver.pk
    assert tasks["purchase_order"].category == "business"
    asset = tasks["asset"]
    assert (asset.category, asset.approver_queue, asset.receiver_id) == ("admin", "admin", None)
    loan = tasks["loan"]
    assert (loan.category, loan.owner_queue, loan.approver_queue) == (
        "finance",
        "finance",
        "finance",
    )
    assert loan.due_date == add_working_days(LAST_DAY, 0, case.legal_entity.jurisdiction)
    assert loan.business_item.amount is not None  # type: ignore[attr-defined]
    assert BusinessItem.objects.filter(case=case, kind="expense_claim").count() == 2


# ---------------------------------------------------------------- the API


def _push_url(case: ExitCase) -> str:
    return f"/api/integrations/cases/{case.pk}/business-items"


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


RECORDS = [
    {
        "kind": "customer",
        "external_id": "C-1",
        "name": "星河贸易",
        "contact_name": "王经理",
        "contact_email": "wang@xinghe.example",
        "contact_language": "zh-hans",
        "details": {"level": "A"},
    },
    {"kind": "loan", "external_id": 99, "name": "备用金", "amount": "5000", "currency": "cny"},
]


def test_push_is_idempotent_and_audited(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any, biz: BizServer
) -> None:
    system = _crm(biz)
    client, url = client_as("hrbp.cloud"), _push_url(approved_case)
    body = {"system_id": system.pk, "records": RECORDS}
    first = _post(client, url, body)
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert _post(client, url, body).json() == {"created": 0, "updated": 0, "unchanged": 2}
    changed = [{**RECORDS[0], "name": "星河贸易有限公司"}, RECORDS[1]]
    assert _post(client, url, {**body, "records": changed}).json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    items = BusinessItem.objects.filter(case=approved_case)
    assert items.count() == 2 and all(i.pushed for i in items)
    loan = items.get(kind="loan")
    assert (loan.external_id, str(loan.amount), loan.currency) == ("99", "5000.00", "CNY")
    assert loan.task is not None and loan.task.owner_queue == "finance"
    pushes = _entries(E.BUSINESS_DATA_PUSHED).filter(subject_id=str(approved_case.pk))
    assert pushes.count() == 3 and {p.actor_id for p in pushes} == {users["hrbp.cloud"].pk}

    listed = client_as("head.rd").get(f"{url}?kind=customer").json()
    assert listed["count"] == 1 and listed["items"][0]["name"] == "星河贸易有限公司"
    assert listed["items"][0]["contact_email"] == "wang@xinghe.example"


def test_push_validation_names_record_and_field(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any, biz: BizServer
) -> None:
    system = _crm(biz)
    before = AuditEntry.objects.count()
    records = [
        {"kind": "customer", "external_id": "C-1", "name": ""},
        {"kind": "customer", "external_id": "C-2", "name": "x", "contact_email": "not-mail"},
        {"kind": "pet", "external_id": "P-1", "name": "cat"},
        {"kind": "customer", "external_id": "C-2", "name": "again"},
        {"kind": "loan", "external_id": "L-1", "name": "y", "amount": "1.234", "colour": "red"},
        {**RECORDS[0], "external_id": "C-9"},
    ]
    response = _post(
        client_as("hrbp.cloud"),
        _push_url(approved_case),
        {"system_id": system.pk, "records": records},
    )
    assert response.status_code == 400
    data = response.json()
    assert data["detail"] == "5 records are not valid; nothing was saved."
    assert set(data["errors"]) == {
        "records[0].name",
        "records[1].contact_email",
        "records[2].kind",
        "records[3].external_id",
        "records[4].amount",
        "records[4].colour",
    }
    assert data["errors"]["records[3].external_id"] == ["The same record as records[1]."]
    assert not BusinessItem.objects.exists() and AuditEntry.objects.count() == before
    empty = _post(
        client_as("hrbp.cloud"), _push_url(approved_case), {"system_id": 999999, "records": []}
    )
    assert empty.status_code == 400 and "system_id" in empty.json()["errors"]
    none = _post(
        client_as("hrbp.cloud"), _push_url(approved_case), {"system_id": system.pk, "records": []}
    )
    assert none.json()["errors"] == {"records": ["Send at least one record."]}


def test_who_may_push(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any, biz: BizServer
) -> None:
    system = _crm(biz, legal_entity=approved_case.legal_entity)
    other_system = _crm(biz)
    body = {"system_id": system.pk, "records": RECORDS}
    url = _push_url(approved_case)
    assert _post(client_as("employee"), url, body).status_code == 403  # the leaver
    assert _post(client_as("head.rd"), url, body).status_code == 403  # approves, not manages
    assert _post(client_as("hrbp.devices"), url, body).status_code == 404  # another BU
    assert _post(client_as(None), url, body).status_code == 401
    _token, raw = access_actions.create_token(
        users["hrbp.cloud"], "crm", ["handover:write"], acting_user=users["hrbp.cloud"]
    )
    assert _post(client_as(None, authorization=f"Bearer {raw}"), url, body).status_code == 200
    _token, raw = access_actions.create_token(
        users["hrbp.cloud"], "ro", ["handover:read"], acting_user=users["hrbp.cloud"]
    )
    assert _post(client_as(None, authorization=f"Bearer {raw}"), url, body).status_code == 403
    # A system's own token pushes for that system only.
    _token, raw = system_tokens.issue_token(
        system, "push", ["business:push"], acting_user=users["admin"]
    )
    crm = client_as(None, authorization=f"Bearer {raw}", accept_language="en")
    assert _post(crm, url, body).status_code == 200
    wrong = _post(crm, url, {**body, "system_id": other_system.pk})
    assert wrong.status_code == 403 and "another connected system" in wrong.json()["detail"]
    assert _entries(E.BUSINESS_DATA_PUSHED).count() == 2


def test_request_and_follow_pulls(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any, biz: BizServer
) -> None:
    leaver = approved_case.employee
    biz.add_user(leaver.email, email=leaver.email)
    biz.seed(leaver.email, customers=3, orders=2)
    system = _crm(biz)
    url = f"/api/integrations/cases/{approved_case.pk}/pulls"
    body = {"system_id": system.pk, "kinds": ["customer"]}
    assert _post(client_as("head.rd"), url, body).status_code == 403
    first = _post(client_as("hrbp.cloud"), url, body)
    assert first.status_code == 202, first.content
    assert first.json()["state"] == "queued" and first.json()["kinds"] == ["customer"]
    again = _post(client_as("admin"), url, body)
    assert again.json()["id"] == first.json()["id"]  # already waiting: the same pull
    assert _entries(E.DATA_PULL_REQUESTED).count() == 2
    bad = _post(client_as("admin"), url, {"system_id": system.pk, "kinds": ["pet"]})
    assert bad.status_code == 400
    listed = client_as("head.rd").get(url).json()
    assert listed["running"] is True and listed["items"][0]["system_name"] == "CRM"
    business.run_pulls()
    listed = client_as("auditor").get(url).json()
    assert listed["running"] is False
    assert (listed["items"][0]["state"], listed["items"][0]["fetched"]) == ("done", 3)
    assert client_as("receiver").get(url).status_code == 404
    items = client_as("hrbp.cloud").get(
        f"/api/integrations/cases/{approved_case.pk}/business-items"
    )
    assert items.json()["count"] == 3
