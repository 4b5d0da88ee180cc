"""Sending customer letters (客户交接通知函): each letter with its one-time confirmation link
and the customer's handover task started, a letter per transaction. What a letter says and how
one is sent: `baton.integrations.letters`."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from baton.access.models import hash_token
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import Conflict, InvalidInput
from baton.handover.actions import confirmation_link
from baton.handover.actions.documents import CONFIRMATION_DAYS
from baton.handover.actions.tasks import task_change
from baton.handover.models import ExitCase, ExternalConfirmation, HandoverTask, TaskState
from baton.integrations import queue
from baton.integrations.letters import (
    email_channel,
    letter_language,
    no_channel_message,
    render,
    send,
)
from baton.integrations.models import BusinessItem, BusinessKind
from baton.integrations.rules import WORK_CASE_STATES, require_handler
from baton.integrations.selectors import lock_rows
from baton.org.models import Employee

LETTER_CHUNK = 1  # a letter per transaction: a crash re-sends at most the one in flight


# ---------------------------------------------------------------- sending


@dataclass
class LetterReport:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": len(self.sent), "failed": len(self.failed), "skipped": len(self.skipped)}


def _letters_due(
    case: ExitCase, *, resend_before: dt.datetime | None, item_ids: Iterable[int] | None
) -> QuerySet[BusinessItem]:
    qs = BusinessItem.objects.filter(
        case=case, kind=BusinessKind.CUSTOMER, new_owner__isnull=False, task__isnull=False
    ).exclude(contact_email="")
    if item_ids is not None:
        qs = qs.filter(pk__in=list(item_ids))
    not_sent = Q(letter_sent_at__isnull=True)
    if resend_before is not None:
        not_sent |= Q(letter_sent_at__lt=resend_before)
    return qs.filter(not_sent)


@transaction.atomic
def request_letters(
    case: ExitCase,
    *,
    acting_user: Any,
    resend: bool = False,
    item_ids: Sequence[int] | None = None,
) -> int:
    """Ask for the letters to go out (in the background): those not yet sent, or — on a resend
    — again. Refuses at once when no email channel is configured. Returns how many are due."""
    case = ExitCase.objects.select_related("employee", "business_unit").get(pk=case.pk)
    require_handler(acting_user, case)
    if email_channel(case) is None:
        raise Conflict(no_channel_message(case))
    if item_ids is not None:
        known = set(
            BusinessItem.objects.filter(
                case=case, kind=BusinessKind.CUSTOMER, pk__in=list(item_ids)
            ).values_list("pk", flat=True)
        )
        if set(item_ids) - known:
            raise InvalidInput.field(
                "item_ids",
                _("Not a customer of this exit case: %(ids)s.")
                % {"ids": ", ".join(map(str, sorted(set(item_ids) - known)))},
            )
    resend_before = timezone.now() if resend else None
    due = _letters_due(case, resend_before=resend_before, item_ids=item_ids).count()
    if due:
        args = (
            case.pk,
            acting_user.pk,
            resend_before.isoformat() if resend_before else None,
            list(item_ids) if item_ids is not None else None,
        )
        transaction.on_commit(lambda: queue.send_customer_letters(*args))
    return due


def send_letters(
    case_id: int,
    *,
    acting_user: Any,
    resend_before: dt.datetime | None = None,
    item_ids: Iterable[int] | None = None,
) -> LetterReport:
    """Send the due letters of a case, one per transaction: each letter's confirmation link is
    created, the letter sent (SMTP) and `letter_sent_at` set together — a letter that cannot be
    sent leaves no link behind. Safe to run twice."""
    case = ExitCase.objects.select_related(
        "employee", "legal_entity", "business_unit", "department"
    ).get(pk=case_id)
    require_handler(acting_user, case)
    if case.state not in WORK_CASE_STATES:
        raise Conflict(_("Letters go out while the exit case is in handover."))
    channel = email_channel(case)
    if channel is None:
        raise Conflict(no_channel_message(case))
    ids = list(
        _letters_due(case, resend_before=resend_before, item_ids=item_ids)
        .order_by("name", "id")
        .values_list("pk", flat=True)
    )
    report = LetterReport()
    for start in range(0, len(ids), LETTER_CHUNK):
        _send_chunk(
            case, ids[start : start + LETTER_CHUNK], channel, acting_user, resend_before, report
        )
    return report


@transaction.atomic
def _send_chunk(
    case: ExitCase,
    ids: list[int],
    channel: Any,
    acting_user: Any,
    resend_before: dt.datetime | None,
    report: LetterReport,
) -> None:
    items = list(lock_rows(_letters_due(case, resend_before=resend_before, item_ids=ids)))
    if not items:
        return
    tasks = {
        t.pk: t for t in lock_rows(HandoverTask.objects.filter(pk__in=[i.task_id for i in items]))
    }
    owners = {e.pk: e for e in Employee.objects.filter(pk__in={i.new_owner_id for i in items})}
    now = timezone.now()
    sent: list[BusinessItem] = []
    confirmations: list[ExternalConfirmation] = []
    for item in items:
        task = tasks[item.task_id]  # type: ignore[index]
        task.case = case
        owner = owners[item.new_owner_id]  # type: ignore[index]
        if task.state not in (TaskState.TODO, TaskState.IN_PROGRESS):
            report.skipped[item.pk] = _("The customer's handover item is no longer open.")
            continue
        language = letter_language(item, case)
        try:
            with transaction.atomic():
                conf, raw = _new_confirmation(task, item, owner, case, language, acting_user)
                link = settings.BATON_PUBLIC_URL + confirmation_link(raw)
                letter = render(
                    item=item,
                    case=case,
                    new_owner=owner,
                    link=link,
                    language=language,
                    expires_at=conf.expires_at,
                )
                outcome = send(channel, item, letter, key=f"customer-letter-{conf.pk}")
                if not outcome.ok:
                    raise _NotSent(outcome.error or outcome.response)
        except _NotSent as exc:
            report.failed[item.pk] = str(exc)
            continue
        item.letter_sent_at = now
        item.updated_at = now
        sent.append(item)
        confirmations.append(conf)
        report.sent.append(item.pk)
    failed_here = {str(pk): msg[:300] for pk, msg in report.failed.items() if pk in ids}
    if not sent and not failed_here:
        return
    BusinessItem.objects.bulk_update(sent, ["letter_sent_at", "updated_at"])
    changes = [
        trail.Change(
            E.CONFIRMATION_SENT,
            conf,
            extra={
                "task": conf.task_id,
                "recipient": conf.recipient_name,
                "expires": conf.expires_at,
            },
            business_unit_id=case.business_unit_id,
            department_id=case.department_id,
        )
        for conf in confirmations
    ]
    changes.append(
        trail.Change(
            E.CUSTOMER_LETTERS_SENT,
            case,
            extra={
                "count": len(sent),
                "items": [i.pk for i in sent],
                "failed": failed_here,
                "resend": resend_before is not None,
            },
        )
    )
    trail.record_many(changes, actor=acting_user)
    _start_tasks([tasks[i.task_id] for i in sent], acting_user)  # type: ignore[index]


class _NotSent(Exception):
    pass


def _new_confirmation(
    task: HandoverTask,
    item: BusinessItem,
    owner: Employee,
    case: ExitCase,
    language: str,
    acting_user: Any,
) -> tuple[ExternalConfirmation, str]:
    """A one-time, expiring link for the customer (as the handover app makes them: only the
    token's SHA-256 is stored)."""
    with translation.override(language):
        statement = _("%(name)s is your new contact at %(company)s.") % {
            "name": owner.name,
            "company": case.legal_entity.name,
        }
    raw = secrets.token_urlsafe(32)
    conf = ExternalConfirmation.objects.create(
        task=task,
        recipient_name=(item.contact_name or item.name)[:200],
        recipient_email=item.contact_email,
        statement=statement,
        token_hash=hash_token(raw),
        expires_at=timezone.now() + dt.timedelta(days=CONFIRMATION_DAYS),
        created_by=acting_user,
    )
    return conf, raw


def _start_tasks(tasks: list[HandoverTask], acting_user: Any) -> None:
    """A letter sent starts the customer's handover item (as asking for a confirmation does)."""
    for t in {t.pk: t for t in tasks if t.state == TaskState.TODO}.values():
        task_change(t, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)
