"""Kill -9 a worker while it delivers webhooks and start another: every event arrives (at
least once; duplicates only of what was in flight), in order per subject."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.models import Event, WebhookDelivery
from baton.integrations.tasks import deliver_webhooks
from baton.integrations.testing.receiver import Receiver

pytestmark = [pytest.mark.xdist_group("processes")]
BIN = Path(sys.executable).parent
EVENTS, SUBJECTS = 300, 30


def _worker(**env: str) -> subprocess.Popen[bytes]:
    s = connection.settings_dict
    full = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
        "BATON_LOG_LEVEL": "WARNING",
        "BATON_SCHEDULER_INTERVAL": "0",
        **env,
    }
    return subprocess.Popen(  # noqa: S603 — our own binary from the venv
        [str(BIN / "baton"), "worker", "--interval", "0.1"], env=full
    )


def test_kill_a_worker_mid_delivery(
    transactional_db: Any, demo_data: None, users: dict[str, Any]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("workers share the queue on PostgreSQL")
    procs: list[subprocess.Popen[bytes]] = []
    with Receiver(delay=0.02) as receiver:
        _sub, receiver.secret = webhook_actions.create_subscription(
            {"name": "t", "url": receiver.url, "event_types": ["t.*"], "internal": True},
            acting_user=users["admin"],
        )
        Event.objects.bulk_create(
            [
                Event(
                    type="t.n",
                    subject=f"s/{n % SUBJECTS}",
                    data={"n": n},
                    occurred_at=timezone.now(),
                )
                for n in range(EVENTS)
            ]
        )
        deliver_webhooks.enqueue()
        try:
            first = _worker()
            procs.append(first)
            deadline = time.monotonic() + 60
            while receiver.count < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            assert WebhookDelivery.objects.filter(status="sending").exists()
            procs.append(
                _worker(BATON_SCHEDULER_INTERVAL="0.5", BATON_DELIVERY_SENDING_TIMEOUT="2")
            )
            done = WebhookDelivery.objects.filter(status="delivered")
            deadline = time.monotonic() + 120
            while done.count() < EVENTS and time.monotonic() < deadline:
                time.sleep(0.2)
            assert done.count() == EVENTS
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait(15)
        got = receiver.received
        assert all(r.verified for r in got)
        assert {r.json["data"]["n"] for r in got} == set(range(EVENTS))  # none lost
        # In order per subject (first arrival of each event).
        seen: dict[str, list[int]] = {}
        firsts: set[int] = set()
        for r in got:
            n = r.json["data"]["n"]
            if n not in firsts:
                firsts.add(n)
                seen.setdefault(r.json["subject"], []).append(n)
        assert all(v == sorted(v) for v in seen.values())
