"""Access revocation end to end against a real SCIM server (`scim2-server` on 127.0.0.1):
planned when a case is approved, run at the configured hour of the last working day (at once
for a dismissal for cause), never touching a login another active employment still uses,
retried with backoff when the system is down and then handed to IT as a manual task with an
in-app alert, cancelled and rescheduled with the case, deleted after the grace period — each
outcome audited, published as `access.*` events and evidenced by the call log."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.handover import actions as handover
from baton.handover import packs
from baton.handover.models import ExitCase, HandoverTask
from baton.integrations import queue
from baton.integrations.actions import revocations
from baton.integrations.actions import systems as system_actions
from baton.integrations.models import (
    AccountLink,
    ConnectedSystem,
    ConnectorCall,
    Event,
    Revocation,
)
from baton.integrations.models import RevocationState as R
from baton.integrations.testing.scim import ScimServer, free_port
from baton.notify.models import Notification
from baton.org.models import Employee, LegalEntity

pytestmark = pytest.mark.django_db
LAST_DAY = dt.date(2026, 12, 31)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def server() -> Iterator[ScimServer]:
    """A fresh SCIM server per test (the leaver's login is unique on it)."""
    with ScimServer() as s:
        yield s


@pytest.fixture
def leaver(users: dict[str, Any]) -> Employee:
    packs.install(acting_user=users["admin"])
    return Employee.objects.select_related("work_city").get(user=users["employee"])


def make_system(admin: Any, server: ScimServer | None = None, **fields: Any) -> ConnectedSystem:
    data = {
        "name": "Identity provider",
        "kind": "scim",
        "base_url": server.base_url if server else f"http://127.0.0.1:{free_port()}/v2",
        "internal": True,
        **fields,
    }
    return system_actions.create_system(
        data, {"token": server.token if server else "t0ken"}, acting_user=admin
    )


def resign(users: dict[str, Any], leaver: Employee, last_day: dt.date = LAST_DAY) -> ExitCase:
    case = handover.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=last_day,
        reason="职业发展",
        submit=True,
    )
    return handover.approve_case(case, acting_user=users["head.rd"])


def due_of(leaver: Employee, hour: int = 18, day: dt.date = LAST_DAY) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(leaver.work_city.time_zone)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)


def audited(event: E, subject: Any) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            event_type=event,
            subject_type=subject._meta.label_lower,
            subject_id=str(subject.pk),
        )
    )


# ---------------------------------------------------------------- planning


def test_approval_plans_a_revocation_and_task_per_system(
    users: dict[str, Any], leaver: Employee
) -> None:
    admin = users["admin"]
    mine = make_system(admin, name="统一身份认证", revoke_hour=20)
    everyone = make_system(admin, name="GitLab", legal_entity=None)
    other_entity = LegalEntity.objects.exclude(pk=leaver.legal_entity_id).first()
    make_system(admin, name="Other entity's OA", legal_entity=other_entity)
    make_system(admin, name="Paused", active=False)
    make_system(admin, name="Data only", revokes_access=False)
    system_actions.update_system(mine, {"legal_entity": leaver.legal_entity_id}, acting_user=admin)

    case = resign(users, leaver)

    revs = {r.system_id: r for r in Revocation.objects.filter(case=case)}
    assert set(revs) == {mine.pk, everyone.pk}
    rev = revs[mine.pk]
    assert rev.state == R.SCHEDULED and rev.employee_id == leaver.pk and not rev.immediate
    assert rev.due_at == due_of(leaver, 20) and rev.next_attempt_at == rev.due_at
    assert revs[everyone.pk].due_at == due_of(leaver, 18)
    task = HandoverTask.objects.get(pk=rev.task_id)
    assert task.title == "Revoke access: 统一身份认证"
    assert (task.category, task.owner_queue, task.approver_queue) == ("it", "it", "it")
    assert task.evidence_kind == "system" and task.due_date == LAST_DAY
    assert "deactivated" in task.acceptance_criteria and "verif" in task.acceptance_criteria
    assert task.state == "todo" and task.blocks_clearance
    created = audited(E.TASK_CREATED, task)
    assert len(created) == 1 and created[0].actor_id is None
    scheduled = audited(E.REVOCATION_SCHEDULED, rev)
    assert len(scheduled) == 1 and scheduled[0].business_unit_id == case.business_unit_id
    # The task is published like any other; nothing is revoked yet.
    assert Event.objects.filter(type="task.assigned", subject=f"tasks/{task.pk}").exists()
    assert not ConnectorCall.objects.exists()


def _approval_queries(users: dict[str, Any], leaver: Employee, n_systems: int) -> int:
    for n in range(n_systems):
        make_system(users["admin"], name=f"系统{n}")
    case = handover.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        submit=True,
    )
    with CaptureQueriesContext(connection) as ctx:
        handover.approve_case(case, acting_user=users["head.rd"])
    assert Revocation.objects.filter(case=case).count() == n_systems
    handover.cancel_case(case, acting_user=users["admin"], reason="测试")
    ConnectedSystem.objects.update(active=False)
    return len(ctx.captured_queries)


def test_approval_cost_does_not_grow_with_systems(users: dict[str, Any], leaver: Employee) -> None:
    none = _approval_queries(users, leaver, 0)
    one = _approval_queries(users, leaver, 1)
    many = _approval_queries(users, leaver, 6)
    assert many == one  # a fixed number of queries however many systems
    assert one - none <= 10  # planning: ~8 queries in all


def test_hidden_pre_resignation_handover_is_planned_when_revealed(
    users: dict[str, Any], leaver: Employee
) -> None:
    make_system(users["admin"])
    case = handover.open_case(
        leaver,
        acting_user=users["hrbp.cloud"],
        exit_type="resignation",
        last_working_day=LAST_DAY,
        confidential=True,
    )
    case = handover.approve_case(case, acting_user=users["head.rd"])
    assert not Revocation.objects.filter(case=case).exists()
    handover.reveal_case(case, acting_user=users["hrbp.cloud"])
    assert Revocation.objects.filter(case=case, state=R.SCHEDULED).count() == 1


# ---------------------------------------------------------------- running


def test_nothing_before_due_then_revoked_on_the_server(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    uid = server.add_user(leaver.email, groups=["r1-engineering", "r1-vpn"])
    peer = server.add_user("r1-peer@huaxia.example", groups=["r1-engineering"])
    system = make_system(users["admin"], server, delete_after_days=30)
    case = resign(users, leaver)
    rev = Revocation.objects.get(case=case)
    due = due_of(leaver)

    assert revocations.run_due(due - MINUTE) == {}
    assert not ConnectorCall.objects.exists()
    assert server.user(uid)["active"] is True  # type: ignore[index]

    assert revocations.run_due(due) == {"revoked": 1}
    rev.refresh_from_db()
    assert rev.state == R.REVOKED and rev.attempts == 1 and rev.revoked_at is not None
    assert rev.external_id == uid and rev.login == leaver.email
    assert rev.outcome["verified"] is True
    assert sorted(rev.outcome["groups_removed"]) == ["r1-engineering", "r1-vpn"]
    assert rev.delete_at == due + dt.timedelta(days=30)
    # The server, read independently: deactivated, out of its groups; the peer untouched.
    assert server.user(uid)["active"] is False  # type: ignore[index]
    assert server.members("r1-engineering") == [peer] and server.members("r1-vpn") == []
    assert server.user(peer)["active"] is True  # type: ignore[index]
    # The task was accepted by the system, with a note saying what was done.
    task = HandoverTask.objects.get(pk=rev.task_id)
    assert task.state == "accepted" and task.decided_at is not None
    assert "Deactivated" in task.last_comment and "2 group" in task.last_comment
    accepted = audited(E.TASK_ACCEPTED, task)
    assert len(accepted) == 1 and accepted[0].actor_id is None
    assert ExitCase.objects.get(pk=case.pk).state == "handover"
    revoked = audited(E.ACCESS_REVOKED, rev)
    assert len(revoked) == 1 and revoked[0].actor_id is None
    link = AccountLink.objects.get(system=system, employee=leaver)
    assert (link.login, link.external_id) == (leaver.email, uid)
    # Published for subscribers.
    event = Event.objects.get(type="access.revoked")
    assert event.subject == f"revocations/{rev.pk}"
    assert event.data["state"] == "revoked" and event.data["case_id"] == case.pk
    assert event.business_unit_id == case.business_unit_id
    # The evidence: every call, in order, with the bearer token nowhere in it.
    calls = list(ConnectorCall.objects.filter(revocation=rev).order_by("id"))
    assert calls[0].step == "find" and calls[-1].step == "verify"
    assert ("deactivate", "PATCH", 204) in [(c.step, c.method, c.status) for c in calls]
    assert all(c.ok and c.url.startswith(server.base_url) for c in calls)
    for c in calls:
        assert server.token not in " ".join([c.url, c.request_body, c.response_body, c.error])
    # Running again changes nothing.
    assert revocations.run_due(due + MINUTE) == {}


def test_dismissal_for_cause_revokes_at_once(
    users: dict[str, Any],
    leaver: Employee,
    server: ScimServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    uid = server.add_user(leaver.email)
    make_system(users["admin"], server)
    with django_capture_on_commit_callbacks() as callbacks:
        case = handover.open_case(
            leaver,
            acting_user=users["hrbp.cloud"],
            exit_type="employer_for_cause",
            last_working_day=LAST_DAY,
            submit=True,
        )
        case = handover.approve_case(case, acting_user=users["hrbp.cloud"])
    rev = Revocation.objects.get(case=case)
    assert rev.immediate and rev.due_at <= dt.datetime.now(dt.UTC)
    # A worker is started when the approval commits.
    assert queue.run_revocations in callbacks
    assert revocations.run_due() == {"revoked": 1}
    assert server.user(uid)["active"] is False  # type: ignore[index]


def test_a_login_another_active_employment_uses_is_kept(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    uid = server.add_user(leaver.email, groups=["r3-shared"])
    system = make_system(users["admin"], server)
    # The same person also works for another entity of the group, with the same login.
    other = Employee.objects.exclude(pk=leaver.pk).filter(status="active").first()
    assert other is not None
    AccountLink.objects.create(system=system, employee=other, login=leaver.email.upper())
    case = resign(users, leaver)
    rev = Revocation.objects.get(case=case)

    assert revocations.run_due(due_of(leaver)) == {"kept": 1}
    rev.refresh_from_db()
    assert rev.state == R.KEPT and rev.outcome["kept_for"]["id"] == other.pk
    assert server.user(uid)["active"] is True  # type: ignore[index]
    assert server.members("r3-shared") == [uid]
    assert not ConnectorCall.objects.filter(revocation=rev, method="PATCH").exists()
    task = HandoverTask.objects.get(pk=rev.task_id)
    assert task.state == "accepted" and other.name in task.last_comment
    assert len(audited(E.ACCESS_KEPT, rev)) == 1
    assert Event.objects.filter(type="access.kept", subject=f"revocations/{rev.pk}").exists()


def test_another_employment_ending_the_same_day_does_not_keep_it(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    uid = server.add_user(leaver.email)
    make_system(users["admin"], server, config={"match": "email"})
    # A second record with the same e-mail, leaving the same day: nothing goes on after it.
    other = Employee.objects.exclude(pk=leaver.pk).filter(status="active").last()
    assert other is not None
    Employee.objects.filter(pk=other.pk).update(email=leaver.email)
    other_case = handover.open_case(
        other,
        acting_user=users["admin"],
        exit_type="mutual",
        last_working_day=LAST_DAY,
        submit=True,
    )
    handover.approve_case(other_case, acting_user=users["admin"])
    case = resign(users, leaver)
    result = revocations.run_due(due_of(leaver))
    mine = Revocation.objects.get(case=case)
    assert mine.state == R.REVOKED and result["revoked"] >= 1
    assert server.user(uid)["active"] is False  # type: ignore[index]


def test_no_account_is_absent(users: dict[str, Any], leaver: Employee, server: ScimServer) -> None:
    make_system(users["admin"], server)
    case = resign(users, leaver)
    rev = Revocation.objects.get(case=case)
    assert revocations.run_due(due_of(leaver)) == {"absent": 1}
    rev.refresh_from_db()
    assert rev.state == R.ABSENT and rev.outcome == {"searched": leaver.email}
    search = ConnectorCall.objects.get(revocation=rev)
    assert (search.step, search.method, search.status) == ("find", "GET", 200)
    assert "filter=userName" in search.url
    assert HandoverTask.objects.get(pk=rev.task_id).state == "accepted"
    assert len(audited(E.ACCOUNT_NOT_FOUND, rev)) == 1


def test_system_down_retries_then_it_takes_over(
    users: dict[str, Any], leaver: Employee, settings: Any
) -> None:
    settings.BATON_REVOCATION_BACKOFF_SECONDS = 60
    port = free_port()
    admin = users["admin"]
    system = make_system(admin, base_url=f"http://127.0.0.1:{port}/v2", max_attempts=3)
    case = resign(users, leaver)
    rev = Revocation.objects.get(case=case)
    now = due_of(leaver)

    assert revocations.run_due(now) == {"retry": 1}
    rev.refresh_from_db()
    first = rev.next_attempt_at - now
    assert rev.state == R.RETRY and rev.attempts == 1 and "ConnectError" in rev.error
    assert dt.timedelta(seconds=45) <= first <= dt.timedelta(seconds=75)
    assert revocations.run_due(rev.next_attempt_at - dt.timedelta(seconds=1)) == {}
    now = rev.next_attempt_at
    assert revocations.run_due(now) == {"retry": 1}
    rev.refresh_from_db()
    second = rev.next_attempt_at - now
    assert rev.attempts == 2 and dt.timedelta(seconds=90) <= second <= dt.timedelta(seconds=150)
    assert revocations.run_due(rev.next_attempt_at) == {"failed": 1}
    rev.refresh_from_db()
    assert rev.state == R.FAILED and rev.attempts == 3

    # IT takes over: the task becomes their manual item, they are told in-app, subscribers too.
    task = HandoverTask.objects.get(pk=rev.task_id)
    assert task.title == "Revoke access by hand: Identity provider"
    assert task.evidence_kind == "signoff" and task.owner_queue == "it"
    assert task.state == "todo" and "ConnectError" in task.note
    alerts = Notification.objects.filter(case=case)
    assert {n.user_id for n in alerts} == {users["it"].pk}
    assert "Identity provider" in alerts[0].title and alerts[0].url.endswith(f"/tasks/{task.pk}/")
    failed = Event.objects.get(type="access.revocation_failed")
    assert failed.subject == f"revocations/{rev.pk}" and failed.data["state"] == "failed"
    assert len(audited(E.ACCESS_REVOCATION_FAILED, rev)) == 1
    assert ConnectorCall.objects.filter(revocation=rev, status__isnull=True).count() == 3

    # The system is back: IT retries, the revocation goes through and the task is the
    # system's again.
    with ScimServer(port=port) as back:
        system_actions.set_system_secrets(system, {"token": back.token}, acting_user=admin)
        uid = back.add_user(leaver.email)
        rev = system_actions.retry_revocation(rev, acting_user=users["it"])
        assert rev.state == R.RETRY and rev.attempts == 0
        task.refresh_from_db()
        assert task.title == "Revoke access: Identity provider" and task.evidence_kind == "system"
        assert revocations.run_due() == {"revoked": 1}
        assert back.user(uid)["active"] is False  # type: ignore[index]
    assert HandoverTask.objects.get(pk=task.pk).state == "accepted"


def test_wrong_token_fails_at_once(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    server.add_user(leaver.email)
    system = make_system(users["admin"], server)
    system_actions.set_system_secrets(
        system, {"token": "not-the-token"}, acting_user=users["admin"]
    )
    case = resign(users, leaver)
    assert revocations.run_due(due_of(leaver)) == {"failed": 1}
    rev = Revocation.objects.get(case=case)
    assert rev.attempts == 1 and "401" in rev.error


def test_it_marks_a_failed_revocation_done_by_hand(users: dict[str, Any], leaver: Employee) -> None:
    make_system(users["admin"], max_attempts=1)
    case = resign(users, leaver)
    revocations.run_due(due_of(leaver))
    rev = Revocation.objects.get(case=case, state=R.FAILED)
    for who in ("hrbp.cloud", "receiver"):
        with pytest.raises((PermissionDenied, Http404)):
            system_actions.mark_revoked_manually(rev, "已手工停用", acting_user=users[who])
    rev = system_actions.mark_revoked_manually(
        rev, "在管理后台手工停用并移出所有群组", acting_user=users["it"]
    )
    assert rev.state == R.MANUAL and rev.revoked_at is not None
    task = HandoverTask.objects.get(pk=rev.task_id)
    assert task.state == "accepted" and "手工停用" in task.last_comment
    assert audited(E.TASK_ACCEPTED, task)[0].actor_id == users["it"].pk
    assert audited(E.ACCESS_REVOKED_MANUALLY, rev)[0].actor_id == users["it"].pk
    assert Event.objects.get(type="access.revoked").data["state"] == "manual"


# ---------------------------------------------------------------- the case changes


def test_withdrawn_case_cancels_and_restoring_plans_again(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    uid = server.add_user(leaver.email)
    make_system(users["admin"], server)
    case = resign(users, leaver)
    rev = Revocation.objects.get(case=case)
    handover.withdraw_case(case, acting_user=users["hrbp.cloud"], reason="留任")
    rev.refresh_from_db()
    assert rev.state == R.CANCELLED and len(audited(E.REVOCATION_CANCELLED, rev)) == 1
    assert revocations.run_due(due_of(leaver)) == {}
    assert server.user(uid)["active"] is True  # type: ignore[index]

    handover.restore_case(case, acting_user=users["hrbp.cloud"])
    rev.refresh_from_db()
    assert rev.state == R.SCHEDULED and rev.due_at == due_of(leaver)
    assert Revocation.objects.filter(case=case).count() == 1


def test_moved_last_day_reschedules(users: dict[str, Any], leaver: Employee) -> None:
    make_system(users["admin"])
    case = resign(users, leaver)
    rev = Revocation.objects.get(case=case)
    later = dt.date(2027, 1, 15)
    handover.change_last_day(case, later, acting_user=users["hrbp.cloud"])
    rev.refresh_from_db()
    assert rev.due_at == due_of(leaver, day=later) == rev.next_attempt_at
    moved = audited(E.REVOCATION_RESCHEDULED, rev)
    assert len(moved) == 1 and moved[0].actor_id is None
    assert HandoverTask.objects.get(pk=rev.task_id).due_date == later
    assert revocations.run_due(due_of(leaver)) == {}


def test_account_deleted_after_the_grace_period(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    uid = server.add_user(leaver.email)
    make_system(users["admin"], server, delete_after_days=30)
    case = resign(users, leaver)
    due = due_of(leaver)
    revocations.run_due(due)
    rev = Revocation.objects.get(case=case, state=R.REVOKED)
    assert revocations.run_due(due + dt.timedelta(days=29)) == {}
    assert server.user(uid) is not None
    assert revocations.run_due(due + dt.timedelta(days=30, minutes=1)) == {"deleted": 1}
    rev.refresh_from_db()
    assert rev.state == R.DELETED and rev.deleted_at is not None
    assert server.user(uid) is None
    assert len(audited(E.ACCOUNT_DELETED, rev)) == 1
    assert Event.objects.filter(type="access.account_deleted").count() == 1
    delete = ConnectorCall.objects.get(revocation=rev, step="delete")
    assert (delete.method, delete.status) == ("DELETE", 204)


def test_no_deletion_when_the_login_is_in_use_again(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    uid = server.add_user(leaver.email)
    system = make_system(users["admin"], server, delete_after_days=1)
    case = resign(users, leaver)
    due = due_of(leaver)
    revocations.run_due(due)
    # Rehired meanwhile under another employee record that uses the same login.
    rehired = Employee.objects.exclude(pk=leaver.pk).filter(status="active").first()
    AccountLink.objects.create(system=system, employee=rehired, login=leaver.email)
    assert revocations.run_due(due + dt.timedelta(days=2)) == {"kept": 1}
    rev = Revocation.objects.get(case=case)
    assert rev.state == R.REVOKED and rev.delete_at is None
    assert server.user(uid) is not None


# ---------------------------------------------------------------- workers


def test_a_running_row_of_a_dead_worker_is_taken_over(
    users: dict[str, Any], leaver: Employee, settings: Any
) -> None:
    settings.BATON_REVOCATION_RUNNING_TIMEOUT = 300
    make_system(users["admin"])
    case = resign(users, leaver)
    due = due_of(leaver)
    [(rev_id, token)] = revocations.claim(due, "worker-a")
    # worker-a dies here. Soon after, nobody may take it; after the time-out, another does.
    assert revocations.claim(due, "worker-b") == []
    Revocation.objects.filter(pk=rev_id).update(
        claimed_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=301)
    )
    [(again, token_b)] = revocations.claim(due, "worker-b")
    assert again == rev_id and token_b != token
    assert Revocation.objects.get(pk=rev_id).attempts == 2
    # worker-a's late result is discarded.
    assert revocations._finish_absent(Revocation.objects.get(pk=rev_id), token, "x") == "lost"
    assert Revocation.objects.get(case=case).state == R.RUNNING


def test_the_worker_task_and_the_command_run_what_is_due(
    users: dict[str, Any], leaver: Employee, server: ScimServer
) -> None:
    from django.core.management import call_command

    from baton.core import schedule
    from baton.integrations.tasks import run_revocations

    uid = server.add_user(leaver.email)
    make_system(users["admin"], server)
    case = handover.open_case(
        leaver,
        acting_user=users["admin"],
        exit_type="employer_for_cause",
        last_working_day=LAST_DAY,
        submit=True,
    )
    handover.approve_case(case, acting_user=users["admin"])
    assert "revocations" in schedule._JOBS  # on the workers' clock
    assert run_revocations.call() == {"revoked": 1}
    assert server.user(uid)["active"] is False  # type: ignore[index]
    out = io.StringIO()
    call_command("revocations", "run", "--now", "2027-01-31T18:00+08:00", stdout=out)
    assert '"now": "2027-01-31T18:00:00+08:00"' in out.getvalue()
    out = io.StringIO()
    call_command("revocations", "list", "--state", "revoked", stdout=out)
    assert "Identity provider" in out.getvalue() and leaver.email in out.getvalue()


@pytest.mark.xdist_group("processes")
def test_claims_skip_rows_locked_by_another_worker(
    transactional_db: Any, demo_data: None, users: dict[str, Any]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    import threading

    from django.db import transaction

    packs.install(acting_user=users["admin"])
    leaver = Employee.objects.select_related("work_city").get(user=users["employee"])
    make_system(users["admin"], name="A")
    make_system(users["admin"], name="B")
    case = resign(users, leaver)
    due = due_of(leaver)
    first = Revocation.objects.filter(case=case).order_by("id").first()
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            Revocation.objects.select_for_update().get(pk=first.pk)  # type: ignore[union-attr]
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(10)
    try:
        claimed = revocations.claim(due, "worker-b")
    finally:
        release.set()
        thread.join()
    assert [rev_id for rev_id, _t in claimed] == [
        r.pk
        for r in Revocation.objects.filter(case=case).exclude(pk=first.pk)  # type: ignore[union-attr]
    ]


# ---------------------------------------------------------------- the API


def test_revocations_api(users: dict[str, Any], client_as: Any, leaver: Employee) -> None:
    make_system(users["admin"], max_attempts=1)
    case = resign(users, leaver)
    revocations.run_due(due_of(leaver))
    rev = Revocation.objects.get(case=case)
    it = client_as("it")
    page = it.get("/api/integrations/revocations", {"state": "failed"}).json()
    assert [r["id"] for r in page["items"]] == [rev.pk]
    assert page["items"][0]["system_name"] == "Identity provider"
    assert page["items"][0]["employee_name"] == leaver.name
    calls = it.get(f"/api/integrations/revocations/{rev.pk}/calls").json()["items"]
    assert [(c["step"], c["method"], c["status"]) for c in calls] == [("find", "GET", None)]
    assert "t0ken" not in str(calls)
    # Neither the leaver nor a department head reads IT's evidence.
    assert client_as("employee").get("/api/integrations/revocations").status_code == 403
    assert client_as("head.rd").get(f"/api/integrations/revocations/{rev.pk}").status_code == 403
    assert (
        client_as("hrbp.devices").get(f"/api/integrations/revocations/{rev.pk}").status_code == 404
    )

    r = it.post(f"/api/integrations/revocations/{rev.pk}/retry")
    assert r.status_code == 200 and r.json()["state"] == "retry"
    r = it.post(
        f"/api/integrations/revocations/{rev.pk}/manual",
        {"note": "在管理后台手工停用"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["state"] == "manual"
    r = it.post(
        f"/api/integrations/revocations/{rev.pk}/manual",
        {"note": "再来一次"},
        content_type="application/json",
    )
    assert r.status_code == 409
    r = it.post(
        f"/api/integrations/systems/{rev.system_id}/accounts",
        {"employee_id": leaver.pk, "login": "guo.huichun", "external_id": "42"},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["login"] == "guo.huichun"
