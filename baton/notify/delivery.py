"""Sending what the planner claimed: claim → check it still holds → render → send → record.

- A worker sends only deliveries it claimed: pending/retry rows whose time has come, or rows
  left 'sending' longer than BATON_DELIVERY_SENDING_TIMEOUT (their worker died), moved to
  'sending' under a row lock that other workers skip (PostgreSQL SKIP LOCKED).
- At send time the reminder is decided again from the database: a finished task, a closed
  case, a moved due date or a switched-off rule make it 'skipped', never a stale message.
- Deliveries for one recipient, channel, case and rule go out as one message (a list of
  items), each still recorded on its own row with the provider's answer.
- Provider errors retry with exponential backoff and jitter, up to
  BATON_DELIVERY_MAX_ATTEMPTS; errors that retrying cannot fix fail at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import User
from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.handover.models import ExitCase, HandoverTask
from baton.notify import render
from baton.notify.channels import adapter_for
from baton.notify.channels.base import Message, Recipient, SendResult, internal_destinations
from baton.notify.models import (
    Audience,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Family,
    Notification,
    ReminderRule,
)
from baton.notify.planner import ACTIVE_CASE_STATES, OPEN_TASK_STATES, Channels
from baton.notify.secrets import read_secrets

logger = logging.getLogger(__name__)
S = DeliveryStatus
BATCH = 200  # deliveries per background task (never splitting one recipient's)
# Hands a batch of delivery ids (and the planned time) to the workers.
HandOff = Callable[[list[int], str], object]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retry: int = 0
    failed: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        for name in ("claimed", "sent", "skipped", "retry", "failed", "messages"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "skipped": self.skipped,
            "retry": self.retry,
            "failed": self.failed,
            "messages": self.messages,
        }


def _due_q(now: dt.datetime) -> Q:
    stale = timezone.now() - dt.timedelta(seconds=settings.BATON_DELIVERY_SENDING_TIMEOUT)
    return Q(status__in=[S.PENDING, S.RETRY], not_before__lte=now) | Q(
        status=S.SENDING, claimed_at__lt=stale
    )


def due_batches(now: dt.datetime, batch: int = BATCH) -> list[list[int]]:
    """Ids of deliveries ready at `now`, in batches that keep one recipient together."""
    rows = (
        Delivery.objects.filter(_due_q(now))
        .order_by("recipient_id", "id")
        .values_list("id", "recipient_id")
    )
    batches: list[list[int]] = []
    current: list[int] = []
    last = None
    for pk, rid in rows.iterator(chunk_size=10000):
        if len(current) >= batch and rid != last:
            batches.append(current)
            current = []
        current.append(pk)
        last = rid
    if current:
        batches.append(current)
    return batches


def claim(ids: list[int], now: dt.datetime, worker: str = "") -> list[Delivery]:
    """Move the ready deliveries among `ids` to 'sending' for this worker; rows another
    worker holds (locked or already claimed) are left alone."""
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids)
            .filter(_due_q(now))
            .order_by("id")
        )
        stamp = timezone.now()
        for d in rows:
            d.status = S.SENDING
            d.claimed_at = stamp
            d.claimed_by = worker or worker_name()
            d.attempts += 1
        Delivery.objects.bulk_update(rows, ["status", "claimed_at", "claimed_by", "attempts"])
    return rows


def send_batch(ids: list[int], now: dt.datetime | None = None, worker: str = "") -> SendReport:
    """Claim and send one batch. Safe to run twice, concurrently or after a crash."""
    now = now or timezone.now()
    report = SendReport()
    claimed = claim(ids, now, worker)
    report.claimed = len(claimed)
    if not claimed:
        return report
    context = _Context.load(claimed)
    groups: dict[tuple[Any, ...], list[Delivery]] = defaultdict(list)
    for d in claimed:
        reason = context.stale_reason(d)
        if reason:
            _finish(d, S.SKIPPED, error=reason)
            report.skipped += 1
            continue
        groups[(d.recipient_id, d.family, d.kind, d.case_id, d.rule_id)].append(d)
    for group in groups.values():
        report.add(_send_group(group, context, now))
    return report


class _Context:
    """Everything a batch's messages need, loaded with a fixed number of queries."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.tasks: dict[int, HandoverTask] = {}
        self.cases: dict[int, ExitCase] = {}
        self.rules: dict[int, ReminderRule] = {}
        self.channels = Channels()

    @classmethod
    def load(cls, deliveries: list[Delivery]) -> _Context:
        ctx = cls()
        ctx.users = {
            u.pk: u
            for u in User.objects.select_related("employee").filter(
                pk__in={d.recipient_id for d in deliveries}
            )
        }
        ctx.tasks = {
            t.pk: t
            for t in HandoverTask.objects.filter(
                pk__in={d.task_id for d in deliveries if d.task_id}
            ).select_related("owner__user", "approver__user")
        }
        case_ids = {d.case_id for d in deliveries if d.case_id}
        ctx.cases = {
            c.pk: c
            for c in ExitCase.objects.select_related("employee", "legal_entity").filter(
                pk__in=case_ids
            )
        }
        ctx.rules = {
            r.pk: r
            for r in ReminderRule.objects.filter(
                pk__in={d.rule_id for d in deliveries if d.rule_id}
            )
        }
        return ctx

    def stale_reason(self, d: Delivery) -> str:
        user = self.users.get(d.recipient_id or 0)
        if user is None or not user.is_active:
            return _("The recipient's account is no longer active.")
        if d.kind in (DeliveryKind.DIGEST, DeliveryKind.TEST):
            return ""
        rule = self.rules.get(d.rule_id or 0)
        if rule is None or not rule.is_active:
            return _("The reminder rule was removed or switched off.")
        task = self.tasks.get(d.task_id or 0)
        case = self.cases.get(d.case_id or 0)
        if task is None or case is None:
            return _("The task no longer exists.")
        if case.state not in ACTIVE_CASE_STATES:
            return _("The case is %(state)s.") % {"state": case.get_state_display()}
        if (
            case.confidential
            and case.revealed_at is None
            and not authz.visible_to(
                user, Perm.CASE_VIEW, ExitCase.objects.filter(pk=case.pk)
            ).exists()
        ):
            # Planned before the rule said so (or the recipient's role changed since): a
            # hidden pre-resignation handover reaches only those who may approve the exit.
            return _("The case is not visible to the recipient.")
        if task.state not in OPEN_TASK_STATES:
            return _("The task is %(state)s.") % {"state": task.get_state_display()}
        if d.due_date and task.due_date != d.due_date:
            return _("The due date moved from %(old)s to %(new)s.") % {
                "old": d.due_date,
                "new": task.due_date,
            }
        if rule.audience == Audience.OWNER and not _still_owner(task, user):
            return _("The task now has another owner.")
        return ""


def _still_owner(task: HandoverTask, user: User) -> bool:
    submitted = task.state == "submitted"
    person = task.approver if submitted else task.owner
    named = task.approver_user_id if submitted else task.owner_user_id
    queue = task.approver_queue if submitted else task.owner_queue
    if named:
        return named == user.pk
    if person is not None:
        return getattr(person, "user", None) is not None and person.user.pk == user.pk
    return bool(queue)


def recipient_of(user: User) -> Recipient:
    emp = user.employee
    return Recipient(
        user_id=user.pk,
        name=user.display_name or user.username,
        email=user.email or (emp.email if emp else ""),
        phone=emp.phone if emp else "",
        language=user.language,
        time_zone=user.time_zone,
    )


def _send_group(group: list[Delivery], ctx: _Context, now: dt.datetime) -> SendReport:
    report = SendReport()
    first = group[0]
    user = ctx.users[first.recipient_id or 0]
    case = ctx.cases.get(first.case_id or 0)
    recipient = recipient_of(user)
    tasks = [ctx.tasks[d.task_id] for d in group if d.task_id in ctx.tasks]
    with render.language(recipient.language):
        if first.kind == DeliveryKind.DIGEST:
            content = render.digest(user, _local_today(user, now))
            if content is None:
                for d in group:
                    _finish(d, S.SKIPPED, error=_("Nothing overdue or due soon any more."))
                report.skipped += len(group)
                return report
        elif first.kind == DeliveryKind.TEST:
            content = render.test_message(user)
        else:
            assert case is not None
            rule = ctx.rules[first.rule_id or 0]
            content = render.reminder(rule, case, tasks, user, escalation=rule.escalation)
    message = Message(
        idempotency_key=first.idempotency_key,
        subject=content.subject,
        text=content.text,
        html=content.html if first.family == Family.EMAIL else "",
        short=content.short,
        template_params=content.params,
        link=content.link,
        attachments=content.attachments if first.family == Family.EMAIL else (),
    )
    if first.family == Family.INAPP:
        Notification.objects.create(
            user=user,
            kind=first.kind,
            title=content.subject,
            body=content.text,
            url=content.path,
            case=case,
            delivery=first,
        )
        result = SendResult(ok=True, response=_("Shown in the notification centre"))
        channel = None
    else:
        channel = ctx.channels.get(first.family, case.business_unit_id if case else None)
        if channel is None and first.channel_id:
            channel = Channel.objects.filter(pk=first.channel_id).first()
        if channel is None:
            for d in group:
                _finish(d, S.SKIPPED, error=_("No channel is configured for this kind."))
            report.skipped += len(group)
            return report
        result = send_via(channel, recipient, message)
    report.messages += 1
    address = address_for(first.family, recipient)
    for d in group:
        d.address = address[:254]
        d.subject = content.subject[:300]
        d.channel = channel
        if result.ok:
            _finish(d, S.SENT, result=result)
            report.sent += 1
        elif not result.retryable or d.attempts >= settings.BATON_DELIVERY_MAX_ATTEMPTS:
            _finish(d, S.FAILED, result=result)
            report.failed += 1
        else:
            _finish(d, S.RETRY, result=result, retry_at=_backoff(now, d.attempts))
            report.retry += 1
    if not result.ok:
        report.errors.append(result.error)
    if result.ok and first.kind == DeliveryKind.ESCALATION and case is not None:
        with transaction.atomic():
            trail.record(
                AuditEvent.CASE_ESCALATED,
                actor=None,
                subject=case,
                extra={
                    "to": user.username,
                    "channel": first.family,
                    "tasks": [t.pk for t in tasks],
                },
            )
    return report


def send_via(channel: Channel, recipient: Recipient, message: Message) -> SendResult:
    """Send through the channel's adapter. Its connections go through the outbound guard:
    public addresses only, unless a group administrator marked the channel internal."""
    adapter = adapter_for(channel.kind)
    try:
        with internal_destinations(channel.internal):
            return adapter.send(channel.settings, read_secrets(channel), recipient, message)
    except Exception as exc:  # an adapter bug must not lose the delivery
        logger.exception("channel %s failed", channel.pk)
        return SendResult(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")


def address_for(family: str, recipient: Recipient) -> str:
    if family == Family.EMAIL:
        return recipient.email
    if family in (Family.SMS, Family.IM):
        return recipient.phone
    return recipient.name


def _local_today(user: User, now: dt.datetime) -> dt.date:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(user.time_zone)).date()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.localdate(now)


def _backoff(now: dt.datetime, attempts: int) -> dt.datetime:
    base = settings.BATON_DELIVERY_BACKOFF_SECONDS * (2 ** max(0, attempts - 1))
    jitter = random.uniform(0.8, 1.2)  # noqa: S311 — spreading retries, not security
    return now + dt.timedelta(seconds=min(base * jitter, 6 * 3600))


def _finish(
    d: Delivery,
    status: str,
    *,
    result: SendResult | None = None,
    error: str = "",
    retry_at: dt.datetime | None = None,
) -> None:
    """Record a delivery's outcome — only if this worker still holds it (a row taken over
    after a timeout belongs to the worker that took it)."""
    d.status = status
    if result is not None:
        d.response = result.response[:4000]
        d.error = result.error[:2000]
        d.provider_message_id = result.provider_message_id[:128]
    else:
        d.error = error[:2000]
    if status == S.SENT:
        d.sent_at = timezone.now()
    if retry_at is not None:
        d.not_before = retry_at
    fields = [
        "status",
        "response",
        "error",
        "provider_message_id",
        "sent_at",
        "not_before",
        "address",
        "subject",
        "channel",
    ]
    with transaction.atomic():
        held = (
            Delivery.objects.select_for_update()
            .filter(pk=d.pk, status=S.SENDING, claimed_at=d.claimed_at)
            .exists()
        )
        if held:
            d.save(update_fields=fields)


def dispatch(now: dt.datetime, *, hand_off: HandOff | None = None) -> SendReport:
    """Send everything ready at `now`, or hand each batch to the workers through `hand_off`
    (the workers' `send_deliveries.enqueue`: passed in, as `tasks.py` imports this module)."""
    report = SendReport()
    for ids in due_batches(now):
        if hand_off is not None:
            hand_off(ids, now.isoformat())
        else:
            report.add(send_batch(ids, now))
    return report
