"""Handover tasks: the owner works and submits with evidence, only the approver decides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as base
from baton.core.errors import Conflict, InvalidInput
from baton.handover.actions.cases import clear_if_done, transition
from baton.handover.actions.knowledge import add_to_knowledge_map
from baton.handover.models import (
    DONE_TASK_STATES,
    CaseState,
    EvidenceKind,
    ExitCase,
    HandoverTask,
    TaskState,
)
from baton.handover.rules import decide_refusal, is_owner, require_case_manager
from baton.org.models import Employee, EmployeeStatus

# ---------------------------------------------------------------- tasks


def lock_task(task: HandoverTask, acting_user: Any) -> HandoverTask:
    """Lock the task for a change by this user: it must be visible to them (a hidden
    pre-resignation handover is not, to the leaver) and its case in handover."""
    if not authz.visible_to(
        acting_user, Perm.CASE_VIEW, HandoverTask.objects.filter(pk=task.pk)
    ).exists():
        raise Http404(_("Not found, or not visible to you."))
    task = HandoverTask.objects.select_for_update().get(pk=task.pk)
    task.case = ExitCase.objects.select_related("employee", "legal_entity").get(pk=task.case_id)
    if task.case.state not in (CaseState.APPROVED, CaseState.HANDOVER, CaseState.CLEARED):
        raise Conflict(_("The exit case is not in handover."))
    return task


def _require_decider(user: Any, task: HandoverTask) -> None:
    refusal = decide_refusal(user, task)
    if refusal:
        raise PermissionDenied(refusal)


def require_owner(user: Any, task: HandoverTask) -> None:
    if not is_owner(user, task):
        raise PermissionDenied(_("Only the owner of this item can do this."))


def task_change(
    task: HandoverTask,
    to: str,
    event: E,
    *,
    acting_user: Any,
    fields: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> HandoverTask:
    old = task.state
    task.state = to
    task.save(update_fields=["state", "updated_at", *fields])
    trail.record(
        event,
        actor=acting_user,
        subject=task,
        changes={"state": (old, to)},
        extra={"case": task.case_id, **(extra or {})},
    )
    if task.case.state == CaseState.APPROVED:
        transition(task.case, CaseState.HANDOVER, E.CASE_HANDOVER_STARTED, acting_user=acting_user)
    return task


@transaction.atomic
def start_task(task: HandoverTask, *, acting_user: Any) -> HandoverTask:
    task = lock_task(task, acting_user)
    require_owner(acting_user, task)
    if task.state != TaskState.TODO:
        raise Conflict(_("This item has already been started."))
    return task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)


@transaction.atomic
def update_task_work(
    task: HandoverTask,
    *,
    acting_user: Any,
    note: str | None = None,
    done_sub_items: Iterable[int] | None = None,
) -> HandoverTask:
    """The owner records progress: the handover note and which sub-items are done."""
    task = lock_task(task, acting_user)
    require_owner(acting_user, task)
    if task.state not in (TaskState.TODO, TaskState.IN_PROGRESS, TaskState.REJECTED):
        raise Conflict(_("This item is waiting for acceptance or finished."))
    changes: dict[str, tuple[Any, Any]] = {}
    if note is not None and note != task.note:
        changes["note"] = (task.note, note)
        task.note = note
    if done_sub_items is not None:
        done = set(done_sub_items)
        if any(i < 0 or i >= len(task.sub_items) for i in done):
            raise InvalidInput.field("sub_items", _("Unknown sub-item."))
        new = [{"label": s["label"], "done": i in done} for i, s in enumerate(task.sub_items)]
        if new != task.sub_items:
            changes["sub_items"] = (task.sub_items, new)
            task.sub_items = new
    if not changes:
        return task
    task.save(update_fields=["note", "sub_items", "updated_at"])
    trail.record(
        E.TASK_UPDATED,
        actor=acting_user,
        subject=task,
        changes=changes,
        extra={"case": task.case_id},
    )
    if task.state == TaskState.TODO:
        task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)
    return task


def missing_evidence(task: HandoverTask) -> list[str]:
    """What the declared evidence still lacks, in words the owner can act on."""
    kind = task.evidence_kind
    if kind == EvidenceKind.FILE and not task.documents.exists():
        return [_("Upload at least one file.")]
    if kind == EvidenceKind.CHECKLIST:
        open_items = [s["label"] for s in task.sub_items if not s.get("done")]
        if open_items:
            return [_("Tick off: %(items)s") % {"items": "; ".join(open_items)}]
    if kind == EvidenceKind.EXTERNAL and not task.confirmations.filter(confirmed=True).exists():
        return [_("The external party has not confirmed yet.")]
    if kind == EvidenceKind.SYSTEM:
        # The connected system's call log is the evidence: the task is accepted when the
        # revocation succeeds, or turned into a manual task (sign-off) when it fails.
        return [_("The connected system has not confirmed the revocation yet.")]
    return []


@transaction.atomic
def submit_task(task: HandoverTask, *, acting_user: Any, note: str | None = None) -> HandoverTask:
    task = lock_task(task, acting_user)
    require_owner(acting_user, task)
    if task.state not in (TaskState.TODO, TaskState.IN_PROGRESS, TaskState.REJECTED):
        raise Conflict(_("This item cannot be submitted now."))
    if note is not None:
        task.note = note
    missing = missing_evidence(task)
    if missing:
        raise InvalidInput(
            _("The evidence is not complete: %(missing)s") % {"missing": " ".join(missing)},
            {"evidence": missing},
        )
    task.submitted_at = timezone.now()
    task.submitted_by = acting_user
    return task_change(
        task,
        TaskState.SUBMITTED,
        E.TASK_SUBMITTED,
        acting_user=acting_user,
        fields=["submitted_at", "submitted_by", "note"],
    )


@transaction.atomic
def accept_task(task: HandoverTask, *, acting_user: Any, comment: str = "") -> HandoverTask:
    """Only the approver accepts; the row lock makes a concurrent accept/reject see the other's
    outcome and refuse."""
    task = lock_task(task, acting_user)
    _require_decider(acting_user, task)
    if task.state != TaskState.SUBMITTED:
        raise Conflict(
            _("This item is not waiting for acceptance (it is %(state)s).")
            % {"state": task.get_state_display()}
        )
    task.decided_at = timezone.now()
    task.last_comment = comment
    task = task_change(
        task,
        TaskState.ACCEPTED,
        E.TASK_ACCEPTED,
        acting_user=acting_user,
        fields=["decided_at", "last_comment"],
        extra={"comment": comment},
    )
    if task.reusable:
        add_to_knowledge_map(task, acting_user=acting_user)
    clear_if_done(task.case, acting_user=acting_user)
    return task


@transaction.atomic
def reject_task(task: HandoverTask, *, acting_user: Any, comment: str) -> HandoverTask:
    task = lock_task(task, acting_user)
    _require_decider(acting_user, task)
    if task.state != TaskState.SUBMITTED:
        raise Conflict(
            _("This item is not waiting for acceptance (it is %(state)s).")
            % {"state": task.get_state_display()}
        )
    if not comment.strip():
        raise InvalidInput.field("comment", _("Say what is missing, so the owner can fix it."))
    task.decided_at = timezone.now()
    task.last_comment = comment
    # Rejected goes straight back to the owner as work in progress, with the comment.
    return task_change(
        task,
        TaskState.IN_PROGRESS,
        E.TASK_REJECTED,
        acting_user=acting_user,
        fields=["decided_at", "last_comment"],
        extra={"comment": comment},
    )


@transaction.atomic
def waive_task(task: HandoverTask, *, acting_user: Any, reason: str) -> HandoverTask:
    task = lock_task(task, acting_user)
    require_case_manager(acting_user, task.case)
    if not reason.strip():
        raise InvalidInput.field("reason", _("Say why the item is waived."))
    if task.state in DONE_TASK_STATES:
        raise Conflict(_("This item is already finished."))
    task.last_comment = reason
    task = task_change(
        task,
        TaskState.WAIVED,
        E.TASK_WAIVED,
        acting_user=acting_user,
        fields=["last_comment"],
        extra={"reason": reason},
    )
    clear_if_done(task.case, acting_user=acting_user)
    return task


@transaction.atomic
def reassign_task(
    task: HandoverTask,
    *,
    acting_user: Any,
    owner_id: int | None = None,
    receiver_id: int | None = None,
    approver_id: int | None = None,
) -> HandoverTask:
    task = lock_task(task, acting_user)
    require_case_manager(acting_user, task.case)
    values: dict[str, Any] = {}
    if owner_id is not None:
        values.update(owner_id=owner_id, owner_queue="", owner_user_id=None)
    if receiver_id is not None:
        values["receiver_id"] = receiver_id
    if approver_id is not None:
        values.update(approver_id=approver_id, approver_queue="", approver_user_id=None)
    wanted = {v for k, v in values.items() if k in ("owner_id", "receiver_id", "approver_id")}
    in_scope = authz.visible_to(
        acting_user, Perm.CASE_MANAGE, Employee.objects.filter(pk__in=wanted)
    )
    if len(wanted) != in_scope.count():
        raise InvalidInput(_("Unknown employee, or outside the part of the group you manage."))
    owner = values.get("owner_id", task.owner_id)
    approver = values.get("approver_id", task.approver_id)
    if owner and owner == approver:
        raise InvalidInput.field("approver", _("Nobody accepts their own work."))
    if approver and approver == task.case.employee_id:
        raise InvalidInput.field("approver", _("The leaver does not accept items of their exit."))
    if Employee.objects.filter(pk__in=wanted, status=EmployeeStatus.DEPARTED).exists():
        raise InvalidInput(_("Someone named has already left the company."))
    return base.update(
        task,
        values,
        acting_user=acting_user,
        event=E.TASK_REASSIGNED,
        allowed={
            "owner_id",
            "owner_queue",
            "owner_user_id",
            "receiver_id",
            "approver_id",
            "approver_queue",
            "approver_user_id",
        },
        extra={"case": task.case_id},
    )
