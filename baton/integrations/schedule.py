"""Integration jobs on the workers' clock: the outbox is swept every scheduler interval (events
are also kicked on commit; this catches retries that came due and anything missed)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from baton.core.models import ScheduledRun
from baton.core.schedule import Job, every, hourly
from baton.integrations.actions.customers import sweep_write_backs
from baton.integrations.tasks import deliver_webhooks, emit_overdue_events, run_revocations


def _deliver(run: ScheduledRun, now: dt.datetime) -> None:
    deliver_webhooks.enqueue()


def _slot(now: dt.datetime) -> str:
    return str(int(now.timestamp() // max(settings.BATON_SCHEDULER_INTERVAL, 0.1)))


def _overdue(run: ScheduledRun, now: dt.datetime) -> None:
    emit_overdue_events.enqueue()


def _revocations(run: ScheduledRun, now: dt.datetime) -> None:
    run_revocations.enqueue()


def _write_backs(run: ScheduledRun, now: dt.datetime) -> None:
    sweep_write_backs(now)


def register() -> None:
    every(Job("webhooks", _slot, _deliver, keep_days=1))
    # Access revocations due (and accounts past their grace period): every interval too.
    every(Job("revocations", _slot, _revocations, keep_days=1))
    every(Job("task-overdue", hourly, _overdue))
    # Customers still to write back: WeCom's once the leaver has left, any a crash left behind.
    every(Job("customer-write-backs", hourly, _write_backs))
