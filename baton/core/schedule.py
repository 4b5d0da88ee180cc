"""The workers' clock. Each `baton worker` calls `tick()` every BATON_SCHEDULER_INTERVAL
seconds; apps register their periodic jobs with `every()`. A job runs for a time slot only in
the worker that first inserts its (job, slot) row, so two workers never start the same run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from baton.core.models import ScheduledRun


@dataclass(frozen=True)
class Job:
    name: str
    slot: Callable[[dt.datetime], str]  # the time slot `now` falls in
    start: Callable[[ScheduledRun, dt.datetime], None]  # enqueue the work (quickly)
    keep_days: int = 30  # how long the run rows are kept


_JOBS: dict[str, Job] = {}


def every(job: Job) -> None:
    _JOBS[job.name] = job


def hourly(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")


def claim(job: str, slot: str) -> ScheduledRun | None:
    """The run row for (job, slot) if this caller is the first; None if another has it."""
    try:
        with transaction.atomic():
            return ScheduledRun.objects.create(job=job, slot=slot)
    except IntegrityError:
        return None


def tick(now: dt.datetime | None = None) -> list[str]:
    """Start every registered job whose slot has come. Returns what this worker started."""
    now = now or timezone.now()
    started: list[str] = []
    for job in _JOBS.values():
        slot = job.slot(now)
        run = claim(job.name, slot)
        if run is None:
            continue
        job.start(run, now)
        started.append(f"{job.name} {slot}")
    real = timezone.now()  # rows are stamped with the real clock, whatever `now` is
    if claim("prune", real.strftime("%Y-%m-%d")) is not None:
        for job in _JOBS.values():
            # Bookkeeping rows past their keep time (not business records).
            ScheduledRun.objects.filter(
                job=job.name, started_at__lt=real - dt.timedelta(days=job.keep_days)
            ).delete()
    return started
