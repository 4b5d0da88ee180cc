"""The notification jobs on the workers' clock (`baton.core.schedule`): the reminder sweep
every hour (each legal entity plans once its local reminder hour has come; later sweeps the
same day add only what became due since), and redelivery — deferred, retried and abandoned
sends — once per scheduler interval."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from baton.core.models import ScheduledRun
from baton.core.schedule import Job, every, hourly
from baton.notify.tasks import redeliver, sweep_reminders


def _sweep(run: ScheduledRun, now: dt.datetime) -> None:
    sweep_reminders.enqueue(run.pk, now.isoformat())


def _redeliver(run: ScheduledRun, now: dt.datetime) -> None:
    redeliver.enqueue(now.isoformat())


def _interval_slot(now: dt.datetime) -> str:
    return str(int(now.timestamp() // max(settings.BATON_SCHEDULER_INTERVAL, 0.1)))


def register() -> None:
    every(Job("reminders", hourly, _sweep))
    every(Job("redeliver", _interval_slot, _redeliver, keep_days=1))
