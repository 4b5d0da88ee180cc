"""Background tasks (django.tasks, run by `baton worker`). Each takes ids or a time, is safe to
run twice and leaves its record in the delivery log or the scheduled-run row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.tasks import task
from django.utils import timezone

from baton.notify import actions, delivery


@task()
def send_deliveries(ids: list[int], now: str | None = None) -> dict[str, Any]:
    when = dt.datetime.fromisoformat(now) if now else timezone.now()
    # Real time when it is later than the planned time (a queued batch waited).
    return delivery.send_batch(ids, max(when, timezone.now())).as_dict()


@task()
def sweep_reminders(run_id: int, now: str) -> dict[str, Any]:
    return actions.run_reminders(
        dt.datetime.fromisoformat(now), run_id=run_id, hand_off=send_deliveries.enqueue
    )


@task()
def redeliver(now: str) -> dict[str, Any]:
    """Hand ready deliveries (deferred past quiet hours, due retries, sends abandoned by a dead
    worker) to the workers."""
    return delivery.dispatch(
        dt.datetime.fromisoformat(now), hand_off=send_deliveries.enqueue
    ).as_dict()
