"""`task.overdue`: published once per task and due date, the first time the task is open past
its due date (a moved due date that passes again is a new event). One set-based statement per
run, so it costs the same at 300,000 open tasks as at 30; runs hourly on the workers' clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from baton.handover.models import ExitCase, HandoverTask
from baton.integrations import queue
from baton.integrations.models import Event
from baton.notify.planner import ACTIVE_CASE_STATES, OPEN_TASK_STATES


def emit_overdue(today: dt.date | None = None) -> int:
    """Write the task.overdue events not yet written. Returns how many are new."""
    today = today or timezone.localdate()
    if connection.vendor == "postgresql":
        data = (
            "json_build_object('id', t.id, 'case_id', t.case_id, 'key', t.key, "
            "'title', t.title, 'due_date', t.due_date, 'state', t.state, "
            "'owner_id', t.owner_id, 'owner_queue', t.owner_queue)"
        )
        key = "'task.overdue:' || t.id || ':' || t.due_date"
    else:
        data = (
            "json_object('id', t.id, 'case_id', t.case_id, 'key', t.key, "
            "'title', t.title, 'due_date', t.due_date, 'state', t.state, "
            "'owner_id', t.owner_id, 'owner_queue', t.owner_queue)"
        )
        key = "'task.overdue:' || t.id || ':' || t.due_date"
    states = ", ".join(["%s"] * len(OPEN_TASK_STATES))
    cases = ", ".join(["%s"] * len(ACTIVE_CASE_STATES))
    sql = (
        f"INSERT INTO {Event._meta.db_table} "  # noqa: S608 — fixed names, values bound
        "(type, subject, data, business_unit_id, dedupe_key, occurred_at, fanned_out) "
        f"SELECT 'task.overdue', 'tasks/' || t.id, {data}, c.business_unit_id, {key}, %s, %s "
        f"FROM {HandoverTask._meta.db_table} t JOIN {ExitCase._meta.db_table} c "
        "ON c.id = t.case_id "
        f"WHERE t.state IN ({states}) AND c.state IN ({cases}) AND t.due_date < %s "
        "AND NOT (c.confidential AND c.revealed_at IS NULL) "
        "ON CONFLICT (dedupe_key) DO NOTHING"
    )
    params: list[Any] = [
        timezone.now(),
        False,
        *[str(s) for s in OPEN_TASK_STATES],
        *[str(s) for s in ACTIVE_CASE_STATES],
        today,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        made = max(cursor.rowcount, 0)
    if made:
        queue.deliver_webhooks()
    return made
