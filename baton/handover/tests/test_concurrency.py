"""Concurrent accept and reject of the same task leave exactly one outcome (row locks)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, connections

from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.core.errors import Conflict
from baton.handover import actions, packs
from baton.handover.models import HandoverTask, TaskState
from baton.org.models import Employee

pytestmark = pytest.mark.xdist_group("processes")


@pytest.mark.django_db(transaction=True)
def test_concurrent_accept_and_reject(demo_data: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-lock behaviour is tested on PostgreSQL")
    from baton.access.models import User

    users = {u.username: u for u in User.objects.all()}
    packs.install(acting_user=users["admin"])
    leaver = Employee.objects.get(pk=users["employee"].employee_id)
    case = actions.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        submit=True,
    )
    case = actions.approve_case(case, acting_user=users["head.rd"])
    # The IT queue owns and approves it; IT submits, and a colleague in the queue (here the
    # group admin) decides — twice at once.
    task = case.tasks.get(key="accounts")
    actions.update_task_work(task, acting_user=users["it"], done_sub_items=range(4))
    actions.submit_task(task, acting_user=users["it"])

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(name: str, call: Any) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            outcomes[name] = "ok"
        except Conflict:
            outcomes[name] = "conflict"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(
            target=run,
            args=(
                "accept",
                lambda: actions.accept_task(
                    HandoverTask.objects.get(pk=task.pk), acting_user=users["admin"]
                ),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                "reject",
                lambda: actions.reject_task(
                    HandoverTask.objects.get(pk=task.pk),
                    acting_user=users["admin"],
                    comment="再核对一次",
                ),
            ),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "ok"], outcomes
    task.refresh_from_db()
    decided = AuditEntry.objects.filter(
        subject_type="handover.handovertask",
        subject_id=str(task.pk),
        event_type__in=[AuditEvent.TASK_ACCEPTED, AuditEvent.TASK_REJECTED],
    )
    assert decided.count() == 1
    if outcomes["accept"] == "ok":
        assert task.state == TaskState.ACCEPTED
    else:
        assert task.state == TaskState.IN_PROGRESS
