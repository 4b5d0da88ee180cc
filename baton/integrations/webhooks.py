"""Delivering the outbox to webhook subscriptions: fan out → claim → sign → POST → record.

- **Fan-out** turns new events into one delivery per matching subscription, in event order,
  one fan-out at a time (an advisory lock on PostgreSQL), so a delivery for an earlier event
  always exists before one for a later event.
- **Claim**: a worker takes ready deliveries under `FOR UPDATE SKIP LOCKED`, but never one
  whose subject has an earlier delivery still open for the same subscription: per subscription,
  events of a subject arrive in order. (Actions lock the row they change, so events of one
  subject are committed in id order.)
- **Send** CloudEvents 1.0 JSON, signed per Standard Webhooks; no redirects; timeouts; the
  outbound guard (`baton.core.outbound`) again before each send and on the address connected to.
- **Record**: 2xx → delivered; anything else → retry with exponential backoff and jitter, or
  dead-letter after the subscription's max attempts (replayable from the UI). A worker that
  dies mid-send leaves 'sending'; after the timeout the delivery is sent again with the same
  `webhook-id` — at least once, receivers dedupe.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from baton.core import outbound
from baton.integrations import outbox, queue, signing
from baton.integrations.models import (
    OPEN_WEBHOOK,
    Event,
    Subscription,
    WebhookDelivery,
    WebhookStatus,
)
from baton.integrations.secrets import active_secrets
from baton.notify.delivery import worker_name

logger = logging.getLogger(__name__)
S = WebhookStatus
FAN_OUT_BATCH = 2000
CLAIM_BATCH = 400
FAN_OUT_LOCK = 0x6261746F6E01  # "baton" + 1: the advisory lock id of the fan-out
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def matches(sub: Subscription, event: Event) -> bool:
    if sub.business_unit_id is not None and event.business_unit_id != sub.business_unit_id:
        return False
    for pattern in sub.event_types:
        if pattern == "*" or pattern == event.type:
            return True
        if pattern.endswith(".*") and event.type.startswith(pattern[:-1]):
            return True
    return False


def fan_out(now: dt.datetime | None = None) -> int:
    """Create deliveries for events not yet fanned out. Returns how many events it took."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FAN_OUT_LOCK])
            events = list(
                Event.objects.select_for_update()
                .filter(fanned_out=False)
                .order_by("id")[:FAN_OUT_BATCH]
            )
            if not events:
                return total
            subs = list(Subscription.objects.filter(active=True))
            rows = [
                WebhookDelivery(
                    subscription=sub,
                    event=event,
                    subject=event.subject,
                    next_attempt_at=now,
                )
                for event in events
                for sub in subs
                if matches(sub, event)
            ]
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
            for event in events:
                event.fanned_out = True
            Event.objects.bulk_update(events, ["fanned_out"], batch_size=2000)
            total += len(events)


def _ready(now: dt.datetime) -> Q:
    stale = timezone.now() - dt.timedelta(seconds=settings.BATON_DELIVERY_SENDING_TIMEOUT)
    return Q(status__in=[S.PENDING, S.RETRY], next_attempt_at__lte=now) | Q(
        status=S.SENDING, claimed_at__lt=stale
    )


def _heads_pg(now: dt.datetime, limit: int) -> list[int]:
    """PostgreSQL: the first open delivery of each (subscription, subject), if it is ready —
    one walk of the `webhook_order` index instead of a NOT EXISTS probe per row."""
    stale = timezone.now() - dt.timedelta(seconds=settings.BATON_DELIVERY_SENDING_TIMEOUT)
    table = WebhookDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (SELECT DISTINCT ON (subscription_id, subject) id, status, "  # noqa: S608 — fixed names
            f"next_attempt_at, claimed_at, event_id FROM {table} "
            "WHERE status IN ('pending', 'retry', 'sending') "
            "ORDER BY subscription_id, subject, event_id) head "
            "WHERE (status IN ('pending', 'retry') AND next_attempt_at <= %s) "
            "OR (status = 'sending' AND claimed_at < %s) ORDER BY event_id LIMIT %s",
            [now, stale, limit],
        )
        return [pk for (pk,) in cursor.fetchall()]


def claim(now: dt.datetime, worker: str, limit: int = CLAIM_BATCH) -> list[WebhookDelivery]:
    earlier_open = WebhookDelivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        subject=OuterRef("subject"),
        event_id__lt=OuterRef("event_id"),
        status__in=OPEN_WEBHOOK,
    )
    with transaction.atomic():
        qs = WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            _ready(now)
        )
        if connection.vendor == "postgresql":
            # Heads found without locks; locked and re-checked here (another worker may have
            # taken one meanwhile: skipped).
            qs = qs.filter(pk__in=_heads_pg(now, limit))
        else:
            qs = qs.filter(~Exists(earlier_open))
        rows = list(qs.order_by("event_id")[:limit])
        stamp = timezone.now()
        for d in rows:
            d.status = S.SENDING
            d.claimed_at = stamp
            d.claimed_by = worker
            d.attempts += 1
        WebhookDelivery.objects.bulk_update(
            rows, ["status", "claimed_at", "claimed_by", "attempts"]
        )
    return rows


@dataclass
class Outcome:
    delivered: int = 0
    retry: int = 0
    dead: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"delivered": self.delivered, "retry": self.retry, "dead": self.dead}


def _backoff(now: dt.datetime, attempts: int) -> dt.datetime:
    base = settings.BATON_WEBHOOK_BACKOFF_SECONDS * (2 ** max(0, attempts - 1))
    jitter = random.uniform(0.75, 1.25)  # noqa: S311 — spreading retries, not security
    return now + dt.timedelta(seconds=min(base * jitter, 3600))


class Clients:
    """One guarded httpx client for public destinations and one for subscriptions an
    administrator marked internal, made on first use."""

    def __init__(self) -> None:
        self._made: dict[bool, httpx.Client] = {}

    def __call__(self, internal: bool) -> httpx.Client:
        if internal not in self._made:
            self._made[internal] = outbound.client(internal=internal, timeout=TIMEOUT)
        return self._made[internal]

    def close(self) -> None:
        for made in self._made.values():
            made.close()
        self._made.clear()


def send(rows: list[WebhookDelivery], now: dt.datetime, clients: Clients | None = None) -> Outcome:
    """POST each claimed delivery and record the answers (one write for the batch)."""
    outcome = Outcome()
    if not rows:
        return outcome
    events = {e.pk: e for e in Event.objects.filter(pk__in={d.event_id for d in rows})}
    subs = {s.pk: s for s in Subscription.objects.filter(pk__in={d.subscription_id for d in rows})}
    keys: dict[int, list[str]] = {}
    guard: dict[int, str] = {}
    own = clients is None
    clients = clients or Clients()
    try:
        for d in rows:
            sub, event = subs[d.subscription_id], events[d.event_id]
            if sub.pk not in guard:
                try:
                    outbound.check_url(sub.url, internal=sub.internal)
                    guard[sub.pk] = ""
                except outbound.Refused as exc:
                    guard[sub.pk] = str(exc)
                keys[sub.pk] = active_secrets(sub)
            body = json.dumps(outbox.cloudevent(event), ensure_ascii=False).encode()
            d.response_status, d.response_body, d.error = None, "", guard[sub.pk]
            if not d.error and sub.active:
                headers = signing.headers(keys[sub.pk], str(event.pk), int(time.time()), body)
                try:
                    resp = clients(sub.internal).post(sub.url, content=body, headers=headers)
                    d.response_status = resp.status_code
                    d.response_body = resp.text[:2000]
                    if not 200 <= resp.status_code < 300:
                        d.error = f"HTTP {resp.status_code}"
                except outbound.Refused as exc:  # refused on the address it resolved to now
                    d.error = str(exc)[:2000]
                except httpx.HTTPError as exc:
                    d.error = f"{type(exc).__name__}: {exc}"[:2000]
            elif not sub.active:
                d.error = "subscription paused"
            if not d.error:
                d.status, d.delivered_at = S.DELIVERED, timezone.now()
                outcome.delivered += 1
            elif d.attempts >= sub.max_attempts:
                d.status = S.DEAD
                outcome.dead += 1
            else:
                d.status, d.next_attempt_at = S.RETRY, _backoff(now, d.attempts)
                outcome.retry += 1
    finally:
        if own:
            clients.close()
        WebhookDelivery.objects.bulk_update(
            rows,
            [
                "status",
                "next_attempt_at",
                "response_status",
                "response_body",
                "error",
                "delivered_at",
            ],
        )
    return outcome


def deliver(
    now: dt.datetime | None = None, *, worker: str = "", budget_s: float = 20.0
) -> dict[str, Any]:
    """Fan out, then claim and send until nothing is ready or the time budget is spent."""
    worker = worker or worker_name()
    started = time.monotonic()
    fanned = fan_out(now)
    totals: dict[str, int] = defaultdict(int)
    helped = False
    clients = Clients()
    try:
        while time.monotonic() - started < budget_s:
            rows = claim(now or timezone.now(), worker)
            if not rows:
                break
            if len(rows) == CLAIM_BATCH and not helped:
                # More is waiting: let another idle worker join in.
                queue.deliver_webhooks()
                helped = True
            for k, v in send(rows, now or timezone.now(), clients).as_dict().items():
                totals[k] += v
        else:
            queue.deliver_webhooks()  # budget spent with work left: continue in a new task
    finally:
        clients.close()
    return {"fanned_out": fanned, **totals}
