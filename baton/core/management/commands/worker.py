"""`baton worker`: the background task worker (django-tasks-db's db_worker) plus a heartbeat
that /healthz reads. Any number may run against one PostgreSQL; they share the queue."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone

from baton.core.models import WorkerHeartbeat

HEARTBEAT_SECONDS = 15
logger = logging.getLogger(__name__)


def _beat(name: str, started: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            # Bookkeeping about the worker process itself, not a business change: no audit.
            WorkerHeartbeat.objects.update_or_create(
                name=name, defaults={"started_at": started, "last_seen": timezone.now()}
            )
        except Exception:  # a missed beat must never kill the worker
            logger.warning("worker heartbeat failed", exc_info=True)
        finally:
            connection.close()
        stop.wait(HEARTBEAT_SECONDS)


def _schedule(stop: threading.Event, interval: float) -> None:
    """Tick the periodic jobs (reminder sweeps, redelivery); each slot starts in one worker."""
    from baton.core import schedule

    while not stop.wait(interval):
        try:
            close_old_connections()
            schedule.tick()
        except Exception:  # a failed tick is retried at the next one
            logger.warning("scheduler tick failed", exc_info=True)
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Run a background worker (tasks from the database queue) with a health heartbeat."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queue-name", default="*")
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Do not start periodic jobs from this worker (others may).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        name = f"{socket.gethostname()}:{os.getpid()}"
        stop = threading.Event()
        beat = threading.Thread(target=_beat, args=(name, timezone.now(), stop), daemon=True)
        beat.start()
        interval = settings.BATON_SCHEDULER_INTERVAL
        if interval > 0 and not opts["no_scheduler"] and not opts["batch"]:
            threading.Thread(target=_schedule, args=(stop, interval), daemon=True).start()
        try:
            call_command(
                "db_worker",
                queue_name=opts["queue_name"],
                interval=opts["interval"],
                batch=opts["batch"],
                reload=False,
                worker_id=name[:64],
                verbosity=opts["verbosity"],
            )
        finally:
            stop.set()
            WorkerHeartbeat.objects.filter(name=name).delete()
