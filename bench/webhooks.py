"""Webhook figures: outbox delivery to a local receiver with two real `baton worker`
processes on PostgreSQL (target ≥ 500 events/s), next to the rate one plain HTTP client loop
reaches against the same receiver (the ceiling of this machine's receiver)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

EVENTS = 20_000
SUBJECTS = 2_000
TARGET = 500.0
ROOT = Path(__file__).resolve().parent.parent


def _client_ceiling(url: str, n: int = 3000) -> float:
    import httpx

    body = b'{"specversion":"1.0"}'
    with httpx.Client(trust_env=False) as client:
        started = time.perf_counter()
        for _ in range(n):
            client.post(url, content=body)
        return n / (time.perf_counter() - started)


def outbox(p: Any) -> None:
    from django.db import connection
    from django.utils import timezone

    from baton.access.models import User
    from baton.integrations.actions import webhooks as webhook_actions
    from baton.integrations.models import Event, WebhookDelivery
    from baton.integrations.testing.receiver import Receiver

    if connection.vendor != "postgresql":
        return
    admin = User.objects.get(username="admin")
    # The demo's own subscriber (all events, to a stand-in that is not running here) would
    # double the work: only the bench's subscription is active while it is measured.
    from baton.integrations.models import Subscription

    for other in Subscription.objects.filter(active=True):
        webhook_actions.update_subscription(other, {"active": False}, acting_user=admin)
    with Receiver(record=False) as receiver:
        ceiling = _client_ceiling(receiver.url)
        receiver.count = 0
        webhook_actions.create_subscription(
            {"name": "bench", "url": receiver.url, "event_types": ["bench.*"], "internal": True},
            acting_user=admin,
        )
        now = timezone.now()
        Event.objects.bulk_create(
            [
                Event(
                    type="bench.tick",
                    subject=f"bench/{n % SUBJECTS}",
                    data={"n": n},
                    occurred_at=now,
                )
                for n in range(EVENTS)
            ],
            batch_size=5000,
        )
        s = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
            # No scheduler: other jobs (the reminder sweep's pending sends) stay out of it.
            "BATON_SCHEDULER_INTERVAL": "0",
        }
        from baton.integrations.tasks import deliver_webhooks

        for _ in range(2):
            deliver_webhooks.enqueue()
        started = time.perf_counter()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "baton.manage", "worker", "--interval", "0.05"],
                env=env,
                cwd=ROOT,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = WebhookDelivery.objects.filter(status="delivered").count()
                if done >= EVENTS:
                    break
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(30)
        delivered = WebhookDelivery.objects.filter(status="delivered").count()
        rate = delivered / elapsed
        p.add(
            "webhooks.outbox_2_workers.events_per_s",
            rate,
            "events/s",
            target=TARGET,
            limit=round(ceiling, 1),
            better="higher",
            notes=f"{delivered:,} of {EVENTS:,} events over {SUBJECTS:,} subjects (ordered per "
            f"subject) in {elapsed:.1f} s incl. worker start-up; receiver saw {receiver.count:,} "
            f"requests; limit = one plain HTTP client loop against the same receiver; "
            "target ≥ 500 events/s",
        )
