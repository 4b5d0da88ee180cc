"""Two real `baton worker` processes on PostgreSQL: every reminder is sent once, and a worker
killed mid-send leaves its deliveries visibly 'sending' until another worker retries them."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from baton.handover import actions as handover
from baton.handover import packs
from baton.handover.demo import person_user
from baton.handover.models import ExitCase
from baton.notify import actions, delivery, planner
from baton.notify.models import Delivery, DeliveryStatus
from baton.notify.tasks import send_deliveries
from baton.notify.testing.smtp import MailCatcher
from baton.org.models import Employee

pytestmark = [pytest.mark.xdist_group("processes")]
BIN = Path(sys.executable).parent
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2027, 1, 7, 10, tzinfo=SH)


def _db_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture
def start_worker(transactional_db: Any, demo_data: None) -> Iterator[Callable[..., Any]]:
    if connection.vendor != "postgresql":
        pytest.skip("workers share the queue on PostgreSQL")
    procs: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        full = {
            **os.environ,
            "DATABASE_URL": _db_url(),
            "BATON_LOG_LEVEL": "WARNING",
            "BATON_SCHEDULER_INTERVAL": "0",
            **env,
        }
        p = subprocess.Popen(  # noqa: S603 — our own binary from the venv
            [str(BIN / "baton"), "worker", "--interval", "0.1"], env=full
        )
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def _cases(admin: Any, count: int) -> list[ExitCase]:
    packs.install(acting_user=admin)
    people = Employee.objects.filter(
        status="active", manager__isnull=False, user__isnull=True
    ).order_by("id")[:count]
    made = []
    for emp in people:
        c = handover.open_case(
            emp,
            acting_user=person_user(emp),
            exit_type="resignation",
            last_working_day=dt.date(2026, 12, 31),
            reason="测试",
            submit=True,
        )
        made.append(handover.approve_case(c, acting_user=admin))
    return made


def _wait_until(predicate: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _email_channel(admin: Any, port: int) -> None:
    actions.create_channel(
        {
            "name": "Mail",
            "kind": "email",
            "internal": True,  # a local server on 127.0.0.1 (an administrator allows it)
            "settings": {"host": "127.0.0.1", "port": port, "from_email": "hr@hx.example"},
        },
        {},
        acting_user=admin,
    )


def test_two_workers_send_every_reminder_once(
    start_worker: Callable[..., Any], users: dict[str, Any]
) -> None:
    with MailCatcher() as catcher:
        _email_channel(users["admin"], catcher.port)
        _cases(users["admin"], 8)
        planned = planner.plan(NOW).planned
        assert planned > 50
        batches = delivery.due_batches(NOW, batch=5)
        assert len(batches) > 4
        # Every batch twice: the workers compete for the same rows.
        for ids in batches + batches:
            send_deliveries.enqueue(ids, NOW.isoformat())
        start_worker()
        start_worker()
        open_ = Delivery.objects.filter(status__in=["pending", "sending", "retry"])
        _wait_until(lambda: not open_.exists())
        sent = Delivery.objects.filter(family="email", status=DeliveryStatus.SENT)
        assert sent.exists()
        assert not Delivery.objects.filter(status=DeliveryStatus.FAILED).exists()
        ids = catcher.message_ids()
        assert len(ids) == len(set(ids)), "a message was sent twice"
        # Every sent email delivery is in exactly one received message.
        assert {d.provider_message_id for d in sent} == set(ids)


def test_a_worker_killed_mid_send_is_taken_over(
    start_worker: Callable[..., Any], users: dict[str, Any]
) -> None:
    import threading

    with MailCatcher() as catcher:
        catcher.hold = threading.Event()
        _email_channel(users["admin"], catcher.port)
        _cases(users["admin"], 2)
        planner.plan(NOW)
        for ids in delivery.due_batches(NOW):
            send_deliveries.enqueue(ids, NOW.isoformat())
        first = start_worker()
        assert catcher.holding.wait(60), "the worker never reached the SMTP server"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        catcher.reject_held = True
        catcher.hold.set()
        # What the dead worker held stays visibly 'sending'.
        stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, family="email")
        assert stuck.exists()
        stuck_ids = set(stuck.values_list("id", flat=True))
        catcher.hold = None
        # Another worker, with its scheduler on, retries them after the timeout.
        start_worker(BATON_SCHEDULER_INTERVAL="0.5", BATON_DELIVERY_SENDING_TIMEOUT="2")
        done = Delivery.objects.filter(pk__in=stuck_ids, status=DeliveryStatus.SENT)
        _wait_until(lambda: done.count() == len(stuck_ids))
        rows = Delivery.objects.filter(pk__in=stuck_ids)
        assert all(d.attempts == 2 for d in rows)
        ids = catcher.message_ids()
        assert len(ids) == len(set(ids))
        assert {d.provider_message_id for d in rows} <= set(ids)
