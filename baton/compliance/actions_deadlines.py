"""Every change to statutory deadlines (what they are and when they fall due:
`baton.compliance.deadlines`): planning them when a case is approved, moving them with the last
working day, and completing them — by the action that met the obligation, by HR with a note of
the evidence, or by accepting the deadline's task."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.compliance.deadlines import (
    CRITERIA,
    PLANNED_CASE_STATES,
    TASK_KEY,
    TASK_SORT,
    due_date,
    rules_for,
)
from baton.compliance.models import DeadlineKind as K
from baton.compliance.models import StatutoryDeadline
from baton.core.errors import Conflict, InvalidInput
from baton.handover.actions.cases import task_created
from baton.handover.models import DONE_TASK_STATES, EvidenceKind, ExitCase, HandoverTask, TaskState
from baton.handover.rules import is_leaver

# ================================================================ planning


def on_audit(items: list[trail.Change]) -> None:
    """The audit trail's listener: plan deadlines on approval, move them with the last day, and
    complete a deadline whose task HR accepted through the task page."""
    for item in items:
        label = item.subject._meta.label_lower
        if label == "handover.exitcase":
            case: Any = item.subject
            if item.event == E.CASE_APPROVED:
                plan(case, fresh=True)
            elif item.event in (E.CASE_REVEALED, E.CASE_REOPENED):
                plan(case)
            elif item.event == E.CASE_UPDATED and "last_working_day" in (item.changes or {}):
                reschedule(case)
        elif label == "handover.handovertask" and item.event == E.TASK_ACCEPTED:
            task: Any = item.subject
            if str(task.key).startswith(TASK_KEY):
                _task_accepted(task)


def plan(case: ExitCase, *, fresh: bool = False) -> list[StatutoryDeadline]:
    """Create the case's missing deadlines and their HR tasks. Idempotent; a hidden
    pre-resignation handover is planned once it is revealed. `fresh`: the case was approved
    just now, so it has none yet (one query saved on approval)."""
    if case.state not in PLANNED_CASE_STATES or (case.confidential and case.revealed_at is None):
        return []
    have: set[str] = (
        set()
        if fresh
        else set(StatutoryDeadline.objects.filter(case_id=case.pk).values_list("kind", flat=True))
    )
    todo = [r for r in rules_for(case) if r.kind not in have]
    if not todo:
        return []
    tasks: list[HandoverTask] = []
    rows: list[StatutoryDeadline] = []
    for n, rule in enumerate(todo):
        due = due_date(rule, case.last_working_day)
        row = StatutoryDeadline(
            case=case,
            kind=rule.kind,
            due_date=due,
            offset_days=rule.days + 365 * rule.years,
            legal_basis=rule.legal_basis,
            confidence=rule.confidence,
            is_retention=rule.retention,
        )
        if not rule.retention:
            task = HandoverTask(
                case=case,
                key=f"{TASK_KEY}{rule.kind}",
                title=str(K(rule.kind).label),
                category="hr",
                owner_queue="hr",
                approver_queue="hr",
                due_date=due,
                due_offset=None,  # calendar days: moved by `reschedule`, not by working days
                acceptance_criteria=f"{CRITERIA.get(rule.kind, '')} ({rule.legal_basis})",
                evidence_kind=EvidenceKind.SIGNOFF,
                blocks_clearance=False,
                sort=TASK_SORT + n,
            )
            tasks.append(task)
            row.task = task
        rows.append(row)
    HandoverTask.objects.bulk_create(tasks)
    for row in rows:
        row.task = row.task  # re-assign: copies the task's id, which it has only now
    StatutoryDeadline.objects.bulk_create(rows)
    trail.record_many(
        [task_created(case, t) for t in tasks]
        + [
            trail.Change(
                E.DEADLINES_PLANNED,
                case,
                extra={
                    "deadlines": {r.kind: r.due_date.isoformat() for r in rows},
                    "last_working_day": case.last_working_day.isoformat(),
                },
            )
        ],
        actor=None,
    )
    return rows


def reschedule(case: ExitCase) -> int:
    """The last working day moved: open deadlines (and their open tasks) move with it."""
    rows = list(
        StatutoryDeadline.objects.select_for_update(of=("self",))
        .select_related("task")
        .filter(case_id=case.pk, done_at__isnull=True)
    )
    if not rows:
        return 0
    by_kind = {r.kind: r for r in rules_for(case)}
    moved: list[StatutoryDeadline] = []
    tasks: list[HandoverTask] = []
    changes: dict[str, tuple[str, str]] = {}
    for row in rows:
        rule = by_kind.get(K(row.kind))
        if rule is None:
            continue
        due = due_date(rule, case.last_working_day)
        if due == row.due_date:
            continue
        changes[row.kind] = (row.due_date.isoformat(), due.isoformat())
        row.due_date = due
        moved.append(row)
        if row.task is not None and row.task.state not in DONE_TASK_STATES:
            row.task.due_date = due
            tasks.append(row.task)
    if not moved:
        return 0
    StatutoryDeadline.objects.bulk_update(moved, ["due_date"])
    HandoverTask.objects.bulk_update(tasks, ["due_date"])
    trail.record_many(
        [trail.Change(E.DEADLINES_PLANNED, case, changes=changes, extra={"moved": len(moved)})],
        actor=None,
    )
    return len(moved)


# ================================================================ tracking


def _mark_done(
    row: StatutoryDeadline, *, acting_user: Any, evidence_note: str, extra: dict[str, Any]
) -> None:
    row.done_at = timezone.now()
    row.done_by = acting_user
    row.evidence_note = evidence_note
    row.save(update_fields=["done_at", "done_by", "evidence_note"])
    case = row.case
    trail.record_many(
        [
            trail.Change(
                E.DEADLINE_MET,
                row,
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
                extra={
                    "case": row.case_id,
                    "kind": row.kind,
                    "due": row.due_date.isoformat(),
                    "late_days": max(0, (timezone.localdate() - row.due_date).days),
                    **extra,
                },
            )
        ],
        actor=acting_user,
    )


def _accept_task(task: HandoverTask | None, note: str, *, acting_user: Any) -> None:
    """Accept the deadline's task on behalf of the HR queue (the obligation is met)."""
    if task is None:
        return
    task = HandoverTask.objects.select_for_update().get(pk=task.pk)
    if task.state in DONE_TASK_STATES:
        return
    old = task.state
    task.state, task.decided_at = TaskState.ACCEPTED, timezone.now()
    task.last_comment = note[:2000]
    task.note = task.note or note
    task.save(update_fields=["state", "decided_at", "last_comment", "note", "updated_at"])
    trail.record(
        E.TASK_ACCEPTED,
        actor=acting_user,
        subject=task,
        changes={"state": (old, TaskState.ACCEPTED)},
        extra={"case": task.case_id, "comment": note[:500], "statutory": True},
    )


def complete_for_case(
    case: ExitCase, kind: str, *, acting_user: Any, evidence_note: str, **extra: Any
) -> StatutoryDeadline | None:
    """Complete the case's deadline of `kind` (if planned and open) and its task. Called by
    the action that met the obligation (issuing the certificate), inside its transaction."""
    row = (
        StatutoryDeadline.objects.select_for_update()
        .filter(case_id=case.pk, kind=kind, done_at__isnull=True)
        .first()
    )
    if row is None:
        return None
    _mark_done(row, acting_user=acting_user, evidence_note=evidence_note, extra=extra)
    _accept_task(row.task, evidence_note, acting_user=acting_user)
    return row


@transaction.atomic
def complete_deadline(
    deadline: StatutoryDeadline, *, acting_user: Any, evidence_note: str
) -> StatutoryDeadline:
    """HR records that an obligation was met, with a note of the evidence (a filing
    reference, where the file went)."""
    row = StatutoryDeadline.objects.select_for_update().get(pk=deadline.pk)
    case = ExitCase.objects.select_related("employee").get(pk=row.case_id)
    if not authz.visible_to(
        acting_user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)
    ).exists():
        raise PermissionDenied(_("Only HR records statutory deadlines."))
    if is_leaver(acting_user, case):
        raise PermissionDenied(_("Nobody manages their own exit case."))
    if row.is_retention:
        raise Conflict(_("A retention period is kept, not completed."))
    if row.is_done:
        raise Conflict(_("This deadline is already met."))
    if row.kind == K.CERTIFICATE and not case.certificates.filter(revoked_at__isnull=True).exists():
        raise Conflict(_("Issue the certificate; issuing it completes this deadline."))
    note = evidence_note.strip()
    if not note:
        raise InvalidInput.field("evidence_note", _("Say what shows the obligation was met."))
    _mark_done(row, acting_user=acting_user, evidence_note=note, extra={})
    _accept_task(row.task, note, acting_user=acting_user)
    return row


def _task_accepted(task: HandoverTask) -> None:
    """HR accepted a deadline's task through the task page: the deadline is met, by whoever
    accepted it (read from the audit entry just written)."""
    row = (
        StatutoryDeadline.objects.select_for_update()
        .filter(task_id=task.pk, done_at__isnull=True)
        .first()
    )
    if row is None:
        return
    if (
        row.kind == K.CERTIFICATE
        and not task.case.certificates.filter(revoked_at__isnull=True).exists()
    ):
        return  # only issuing the certificate meets this deadline
    actor_id = (
        AuditEntry.objects.filter(
            subject_type="handover.handovertask",
            subject_id=str(task.pk),
            event_type=E.TASK_ACCEPTED,
        )
        .order_by("-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    row.done_at = timezone.now()
    row.done_by_id = actor_id
    row.evidence_note = task.note or task.last_comment or ""
    row.save(update_fields=["done_at", "done_by", "evidence_note"])
    trail.record_many(
        [
            trail.Change(
                E.DEADLINE_MET,
                row,
                business_unit_id=task.case.business_unit_id,
                department_id=task.case.department_id,
                extra={"case": row.case_id, "kind": row.kind, "task": task.pk, "by": actor_id},
            )
        ],
        actor=None,
    )
