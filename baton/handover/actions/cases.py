"""Exit cases: opening, approval (which generates the tasks), the state machine, HR's
additions, clearance and closing. Clearance gates only the severance payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as base
from baton.core.errors import Conflict, InvalidInput
from baton.core.workdays import add_working_days
from baton.handover.models import (
    DONE_TASK_STATES,
    OPEN_CASE_STATES,
    ApproverRole,
    CaseState,
    EvidenceKind,
    ExitCase,
    ExitType,
    HandoverTask,
    OwnerRole,
    ReceiverRule,
)
from baton.handover.rules import is_leaver, require_case, require_case_manager
from baton.handover.templates_logic import compose_checklist
from baton.org.models import Department, Employee, EmployeeStatus

# ---------------------------------------------------------------- cases

# Once approved, the leaver is departing (until the case closes, is withdrawn or cancelled).
APPROVED_STATES = (CaseState.APPROVED, CaseState.HANDOVER, CaseState.CLEARED)


def _manager_chain(employee: Employee) -> list[Employee]:
    """The leaver's managers upwards, then department heads upwards, skipping the leaver."""
    chain: list[Employee] = []
    seen = {employee.pk}
    node = employee.manager
    while node is not None and node.pk not in seen and len(chain) < 20:
        chain.append(node)
        seen.add(node.pk)
        node = node.manager
    dept: Department | None = employee.department
    while dept is not None:
        if dept.head_id and dept.head_id not in seen:
            chain.append(dept.head)  # type: ignore[arg-type]
            seen.add(dept.head_id)
        dept = dept.parent
    return chain


def _can_open(acting_user: Any, employee: Employee, exit_type: str, confidential: bool) -> None:
    me = authz.access_for(acting_user).employee_id
    on_self = me == employee.pk
    if on_self and not confidential and exit_type == ExitType.RESIGNATION:
        _require_participant(acting_user)
        return  # self-service resignation
    visible = Employee.objects.filter(pk=employee.pk)
    manage = authz.visible_to(acting_user, Perm.CASE_MANAGE, visible).exists()
    approve = authz.visible_to(acting_user, Perm.CASE_APPROVE, visible).exists()
    if confidential and not manage:
        raise PermissionDenied(_("Only HR opens a confidential pre-resignation handover."))
    if exit_type in ExitType.employer_initiated() and not manage:
        raise PermissionDenied(_("Only HR opens an employer-initiated termination."))
    if not (manage or approve) or on_self:
        raise PermissionDenied(_("You may not open an exit case for this person."))


def _require_participant(acting_user: Any) -> None:
    if not authz.has_perm(acting_user, Perm.CASE_PARTICIPATE):
        raise PermissionDenied(_("You do not have permission to do this."))


def _own_case(acting_user: Any, case: ExitCase) -> bool:
    """Whether the user is the leaver acting on their own, visible case."""
    if not is_leaver(acting_user, case):
        return False
    _require_participant(acting_user)
    if not authz.visible_to(
        acting_user, Perm.CASE_VIEW, ExitCase.objects.filter(pk=case.pk)
    ).exists():
        raise Http404(_("Not found, or not visible to you."))  # a hidden case does not exist
    return True


@transaction.atomic
def open_case(
    employee: Employee,
    *,
    acting_user: Any,
    exit_type: str,
    last_working_day: dt.date,
    reason: str = "",
    desired_last_day: dt.date | None = None,
    confidential: bool = False,
    successor: Employee | None = None,
    submit: bool = False,
) -> ExitCase:
    """Open an exit case: an employee resigning (self-service), HR or the manager initiating,
    or HR opening a confidential pre-resignation handover."""
    if exit_type not in ExitType.values:
        raise InvalidInput.field("exit_type", _("Unknown exit type."))
    employee = Employee.objects.select_for_update().select_related("department").get(pk=employee.pk)
    _can_open(acting_user, employee, exit_type, confidential)
    if employee.status == EmployeeStatus.DEPARTED:
        raise Conflict(_("%(name)s has already left.") % {"name": employee.name})
    open_case_ = ExitCase.objects.filter(employee=employee, state__in=OPEN_CASE_STATES).first()
    if open_case_ is not None:
        me = authz.access_for(acting_user).employee_id
        if me == employee.pk and open_case_.confidential and open_case_.revealed_at is None:
            # The leaver resigns while HR was preparing a confidential handover: the resignation
            # joins that case (revealed now), so the leaver never learns of it by a refusal.
            return _join_hidden_case(
                open_case_,
                acting_user=acting_user,
                reason=reason,
                desired_last_day=desired_last_day,
                last_working_day=last_working_day,
            )
        raise Conflict(_("%(name)s already has an open exit case.") % {"name": employee.name})
    if last_working_day < employee.hire_date:
        raise InvalidInput.field(
            "last_working_day", _("The last working day is before the hire date.")
        )
    if last_working_day < timezone.localdate() and not authz.has_perm(
        acting_user, Perm.CASE_MANAGE
    ):
        raise InvalidInput.field("last_working_day", _("The last working day is in the past."))
    if successor is not None and successor.pk == employee.pk:
        raise InvalidInput.field("successor", _("The leaver cannot be their own successor."))
    case = ExitCase.objects.create(
        employee=employee,
        business_unit_id=employee.business_unit_id,
        department_id=employee.department_id,
        legal_entity_id=employee.legal_entity_id,
        exit_type=exit_type,
        reason=reason,
        desired_last_day=desired_last_day,
        last_working_day=last_working_day,
        confidential=confidential,
        successor=successor,
        opened_by=acting_user,
    )
    trail.record(
        E.CASE_OPENED,
        actor=acting_user,
        subject=case,
        changes={
            "exit_type": (None, exit_type),
            "last_working_day": (None, last_working_day),
            "confidential": (None, confidential),
            "successor": (None, successor.pk if successor else None),
        },
    )
    if submit:
        case = submit_case(case, acting_user=acting_user)
    return case


def lock_case(case: ExitCase) -> ExitCase:
    return (
        ExitCase.objects.select_for_update()
        .select_related("employee", "employee__department", "legal_entity")
        .get(pk=case.pk)
    )


def transition(
    case: ExitCase,
    to: str,
    event: E,
    *,
    acting_user: Any,
    stamp: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ExitCase:
    old = case.state
    case.state = to
    fields = ["state", "updated_at"]
    if stamp:
        setattr(case, stamp, timezone.now())
        fields.append(stamp)
    case.save(update_fields=fields)
    trail.record(event, actor=acting_user, subject=case, changes={"state": (old, to)}, extra=extra)
    return case


def _join_hidden_case(
    case: ExitCase,
    *,
    acting_user: Any,
    reason: str,
    desired_last_day: dt.date | None,
    last_working_day: dt.date,
) -> ExitCase:
    case = ExitCase.objects.select_for_update().get(pk=case.pk)
    old = {"reason": case.reason, "desired_last_day": case.desired_last_day}
    case.reason = reason or case.reason
    case.desired_last_day = desired_last_day or last_working_day
    case.revealed_at = timezone.now()
    case.save(update_fields=["reason", "desired_last_day", "revealed_at", "updated_at"])
    trail.record(
        E.CASE_REVEALED,
        actor=acting_user,
        subject=case,
        changes={
            "reason": (old["reason"], case.reason),
            "desired_last_day": (old["desired_last_day"], case.desired_last_day),
        },
        extra={"joined": "resignation"},
    )
    if case.state in APPROVED_STATES:
        _mark_departing(case, acting_user=acting_user)
    if case.state == CaseState.DRAFT:
        case = transition(
            case,
            CaseState.SUBMITTED,
            E.CASE_SUBMITTED,
            acting_user=acting_user,
            stamp="submitted_at",
        )
    return case


@transaction.atomic
def submit_case(case: ExitCase, *, acting_user: Any) -> ExitCase:
    case = lock_case(case)
    if not _own_case(acting_user, case):
        require_case(acting_user, case, Perm.CASE_APPROVE)
    if case.state != CaseState.DRAFT:
        raise Conflict(_("Only a draft can be submitted."))
    return transition(
        case, CaseState.SUBMITTED, E.CASE_SUBMITTED, acting_user=acting_user, stamp="submitted_at"
    )


def _set_successor(case: ExitCase, successor: Employee, *, acting_user: Any) -> None:
    if successor.pk == case.employee_id:
        raise InvalidInput.field("successor", _("The leaver cannot be their own successor."))
    if successor.status == EmployeeStatus.DEPARTED:
        raise InvalidInput.field("successor", _("The successor has already left."))
    old_successor = case.successor_id
    case.successor = successor
    case.save(update_fields=["successor"])
    trail.record(
        E.CASE_UPDATED,
        actor=acting_user,
        subject=case,
        changes={"successor": (old_successor, successor.pk)},
    )


def _asked_people(wanted: set[int]) -> dict[int, Employee]:
    """The employees named at approval for "ask at launch" items, all of them known."""
    people = {e.pk: e for e in Employee.objects.filter(pk__in=wanted)} if wanted else {}
    missing = wanted - set(people)
    if missing:
        raise InvalidInput.field(
            "receivers",
            _("Unknown employee ids: %(ids)s") % {"ids": ", ".join(map(str, sorted(missing)))},
        )
    return people


def _new_task(
    case: ExitCase, item: Mapping[str, Any], receiver: Employee | None, *, sort: int
) -> HandoverTask:
    """The task for one checklist item (owner, approver and due date are set by the caller)."""
    return HandoverTask(
        case=case,
        key=item["key"],
        template_id=item.get("template_id"),
        title=item["title"],
        category=item["category"],
        acceptance_criteria=item["acceptance_criteria"],
        evidence_kind=item["evidence_kind"],
        sub_items=[{"label": s, "done": False} for s in item["sub_items"]],
        blocks_clearance=item["blocks_clearance"],
        reusable=item.get("reusable", False),
        receiver=receiver,
        sort=sort,
    )


@transaction.atomic
def approve_case(
    case: ExitCase,
    *,
    acting_user: Any,
    receivers: Mapping[str, int] | None = None,
    owners: Mapping[str, int] | None = None,
    successor: Employee | None = None,
) -> ExitCase:
    """Approve the exit and generate every handover task from the chosen checklist version in
    this one transaction: owners, receivers and approvers resolved by rule (up the management
    chain when a role is empty), due dates in working days from the last working day.
    `receivers` / `owners` answer the items whose rule is "ask at launch" (item key → employee).
    """
    case = lock_case(case)
    require_case(acting_user, case, Perm.CASE_APPROVE)
    if is_leaver(acting_user, case):
        raise PermissionDenied(_("Nobody approves their own exit."))
    if case.state not in (CaseState.DRAFT, CaseState.SUBMITTED):
        raise Conflict(_("This case is not waiting for approval."))
    employee = case.employee
    if successor is not None:
        _set_successor(case, successor, acting_user=acting_user)
    versions, items = compose_checklist(employee, case.exit_type)
    if not items:
        raise Conflict(
            _("No published checklist applies to %(name)s; publish one first.")
            % {"name": employee.name}
        )
    version = versions[-1]
    chain = _manager_chain(employee)
    manager = chain[0] if chain else None
    successor = case.successor or manager
    asked = {**{k: int(v) for k, v in (receivers or {}).items()}}
    asked_owners = {k: int(v) for k, v in (owners or {}).items()}
    people = _asked_people({*asked.values(), *asked_owners.values()})
    jurisdiction = case.legal_entity.jurisdiction
    due_cache: dict[int, dt.date] = {}
    tasks: list[HandoverTask] = []
    for n, item in enumerate(items):
        key = item["key"]
        receiver = _resolve_receiver(
            item["receiver_rule"], manager, successor, people.get(asked.get(key, 0))
        )
        task = _new_task(case, item, receiver, sort=n)
        _assign_owner(task, item, employee, manager, receiver, people.get(asked_owners.get(key, 0)))
        _assign_approver(task, item, manager, receiver)
        offset = int(item["due_offset"])
        if offset not in due_cache:
            due_cache[offset] = add_working_days(case.last_working_day, offset, jurisdiction)
        task.due_date = due_cache[offset]
        task.due_offset = offset
        tasks.append(task)
    HandoverTask.objects.bulk_create(tasks)
    case.template_version = version
    case.save(update_fields=["template_version"])
    transition(
        case,
        CaseState.APPROVED,
        E.CASE_APPROVED,
        acting_user=acting_user,
        stamp="approved_at",
        extra={
            "checklists": [[v.template_id, v.number] for v in versions],
            "tasks": len(tasks),
        },
    )
    trail.record_many([task_created(case, t) for t in tasks], actor=acting_user)
    _mark_departing(case, acting_user=acting_user)
    return case


def is_hidden(case: ExitCase) -> bool:
    """A confidential pre-resignation handover HR has not revealed yet."""
    return case.confidential and case.revealed_at is None


def _mark_departing(case: ExitCase, *, acting_user: Any) -> None:
    """The leaver's record says 离职中 once their exit is approved — but for a hidden
    pre-resignation handover only when HR reveals it. The stored status is what every list,
    filter, counter, export, API answer and `employee.departing` event reads; keeping it
    unchanged until the reveal means none of them can leak the case (rather than computing a
    per-reader status in each of those places, where one missed would tell)."""
    employee = case.employee
    if is_hidden(case) or employee.status in (EmployeeStatus.DEPARTING, EmployeeStatus.DEPARTED):
        return
    base.update(
        employee,
        {"status": EmployeeStatus.DEPARTING},
        acting_user=acting_user,
        event=E.EMPLOYEE_UPDATED,
        allowed={"status"},
        extra={"case": case.pk},
    )


def task_created(case: ExitCase, task: HandoverTask, **extra: Any) -> trail.Change:
    """The audit entry of a task created on a case (by approval, a pull, a revocation plan):
    who owns and receives it, and when it is due."""
    return trail.Change(
        E.TASK_CREATED,
        task,
        extra={
            "case": case.pk,
            "owner": task.owner_id,
            "owner_queue": task.owner_queue,
            "receiver": task.receiver_id,
            "due": task.due_date.isoformat(),
            **extra,
        },
        business_unit_id=case.business_unit_id,
        department_id=case.department_id,
    )


def _resolve_receiver(
    rule: str, manager: Employee | None, successor: Employee | None, asked: Employee | None
) -> Employee | None:
    if rule == ReceiverRule.NONE:
        return None
    if rule == ReceiverRule.MANAGER:
        return manager
    if rule == ReceiverRule.ASK and asked is not None:
        return asked
    return successor or manager


QUEUE_OF = {
    OwnerRole.HR: "hr",
    OwnerRole.IT: "it",
    OwnerRole.FINANCE: "finance",
    OwnerRole.ADMIN: "admin",
}


def _assign_owner(
    task: HandoverTask,
    item: Mapping[str, Any],
    leaver: Employee,
    manager: Employee | None,
    receiver: Employee | None,
    asked: Employee | None,
) -> None:
    role = item["owner_role"]
    if role in QUEUE_OF:
        task.owner_queue = QUEUE_OF[role]
    elif role == OwnerRole.USER and item.get("owner_user_id"):
        task.owner_user_id = item["owner_user_id"]
    elif role == OwnerRole.MANAGER:
        task.owner = manager or leaver
    elif role == OwnerRole.RECEIVER:
        task.owner = receiver or manager or leaver
    elif role == OwnerRole.ASK and asked is not None:
        task.owner = asked
    else:
        task.owner = leaver


def _assign_approver(
    task: HandoverTask, item: Mapping[str, Any], manager: Employee | None, receiver: Employee | None
) -> None:
    role = item["approver_role"]
    if role in QUEUE_OF:
        task.approver_queue = QUEUE_OF[role]
    elif role == ApproverRole.USER and item.get("approver_user_id"):
        task.approver_user_id = item["approver_user_id"]
    elif role == ApproverRole.RECEIVER and receiver is not None:
        task.approver = receiver
    elif manager is not None:
        task.approver = manager
    else:
        task.approver_queue = "hr"  # nobody above the leaver: HR accepts
    if task.approver_id and task.approver_id == task.owner_id:
        # Nobody accepts their own work: the next one up, else HR.
        task.approver = None
        task.approver_queue = "hr"


@transaction.atomic
def reveal_case(case: ExitCase, *, acting_user: Any) -> ExitCase:
    case = lock_case(case)
    require_case_manager(acting_user, case)
    if not case.confidential or case.revealed_at is not None:
        raise Conflict(_("This case is not a hidden pre-resignation handover."))
    case.revealed_at = timezone.now()
    case.save(update_fields=["revealed_at", "updated_at"])
    trail.record(E.CASE_REVEALED, actor=acting_user, subject=case)
    if case.state in APPROVED_STATES:
        _mark_departing(case, acting_user=acting_user)
    return case


@transaction.atomic
def withdraw_case(case: ExitCase, *, acting_user: Any, reason: str = "") -> ExitCase:
    """The employee withdraws their resignation (or HR records it). Nothing is deleted."""
    case = lock_case(case)
    if _own_case(acting_user, case):
        if case.exit_type != ExitType.RESIGNATION or case.state not in (
            CaseState.DRAFT,
            CaseState.SUBMITTED,
        ):
            # After approval a resignation is withdrawn only with the employer's agreement.
            raise PermissionDenied(
                _("Once approved, a withdrawal is agreed with HR, who records it.")
            )
    else:
        require_case_manager(acting_user, case)
    return _stop(
        case, CaseState.WITHDRAWN, E.CASE_WITHDRAWN, acting_user=acting_user, reason=reason
    )


@transaction.atomic
def cancel_case(case: ExitCase, *, acting_user: Any, reason: str) -> ExitCase:
    case = lock_case(case)
    require_case_manager(acting_user, case)
    if not reason.strip():
        raise InvalidInput.field("reason", _("Say why the case is cancelled."))
    return _stop(
        case, CaseState.CANCELLED, E.CASE_CANCELLED, acting_user=acting_user, reason=reason
    )


def _stop(case: ExitCase, to: str, event: E, *, acting_user: Any, reason: str) -> ExitCase:
    if case.state not in OPEN_CASE_STATES:
        raise Conflict(_("Only an open case can be withdrawn or cancelled."))
    case.state_before_stop = case.state
    case.save(update_fields=["state_before_stop"])
    case = transition(case, to, event, acting_user=acting_user, extra={"reason": reason[:500]})
    if case.employee.status == EmployeeStatus.DEPARTING:
        base.update(
            case.employee,
            {"status": EmployeeStatus.ACTIVE},
            acting_user=acting_user,
            event=E.EMPLOYEE_UPDATED,
            allowed={"status"},
            extra={"case": case.pk},
        )
    return case


@transaction.atomic
def restore_case(case: ExitCase, *, acting_user: Any) -> ExitCase:
    """HR undoes a withdrawal or cancellation: the case returns to where it was, tasks and all."""
    case = lock_case(case)
    require_case_manager(acting_user, case)
    if case.state not in (CaseState.WITHDRAWN, CaseState.CANCELLED) or not case.state_before_stop:
        raise Conflict(_("Only a withdrawn or cancelled case can be restored."))
    if (
        ExitCase.objects.filter(employee_id=case.employee_id, state__in=OPEN_CASE_STATES)
        .exclude(pk=case.pk)
        .exists()
    ):
        raise Conflict(_("This person has another open exit case."))
    back = case.state_before_stop
    case.state_before_stop = ""
    case.save(update_fields=["state_before_stop"])
    case = transition(case, back, E.CASE_REOPENED, acting_user=acting_user)
    if back in (CaseState.APPROVED, CaseState.HANDOVER):
        _mark_departing(case, acting_user=acting_user)
    return case


@transaction.atomic
def change_last_day(case: ExitCase, last_working_day: dt.date, *, acting_user: Any) -> ExitCase:
    """Move the last working day; open tasks' due dates follow (same working-day offsets)."""
    case = lock_case(case)
    require_case_manager(acting_user, case)
    if not case.is_open:
        raise Conflict(_("The case is no longer open."))
    if last_working_day < case.employee.hire_date:
        raise InvalidInput.field(
            "last_working_day", _("The last working day is before the hire date.")
        )
    old = case.last_working_day
    case.last_working_day = last_working_day
    case.save(update_fields=["last_working_day", "updated_at"])
    jur = case.legal_entity.jurisdiction
    moved = []
    for task in case.tasks.select_for_update().exclude(state__in=DONE_TASK_STATES):
        if task.due_offset is not None:
            task.due_date = add_working_days(last_working_day, task.due_offset, jur)
            moved.append(task)
    HandoverTask.objects.bulk_update(moved, ["due_date"])
    trail.record(
        E.CASE_UPDATED,
        actor=acting_user,
        subject=case,
        changes={"last_working_day": (old, last_working_day)},
        extra={"tasks_moved": len(moved)},
    )
    return case


@transaction.atomic
def clear_case(case: ExitCase, *, acting_user: Any) -> ExitCase:
    """Clearance: every blocking item accepted or waived. Clearance gates only the severance
    payment (LCL 50 §2) — never the separation certificate, final wages or the social-insurance
    and personnel-file transfer."""
    case = lock_case(case)
    require_case_manager(acting_user, case)
    return clear_if_done(case, acting_user=acting_user, explicit=True)


def clear_if_done(case: ExitCase, *, acting_user: Any, explicit: bool = False) -> ExitCase:
    if case.state not in (CaseState.APPROVED, CaseState.HANDOVER):
        if explicit:
            raise Conflict(_("Only a case in handover can be cleared."))
        return case
    open_blocking = (
        case.tasks.filter(blocks_clearance=True).exclude(state__in=DONE_TASK_STATES).count()
    )
    if open_blocking:
        if explicit:
            raise Conflict(
                ngettext(
                    "%(n)s blocking item is still open.",
                    "%(n)s blocking items are still open.",
                    open_blocking,
                )
                % {"n": open_blocking}
            )
        return case
    return transition(
        case, CaseState.CLEARED, E.CASE_CLEARED, acting_user=acting_user, stamp="cleared_at"
    )


@transaction.atomic
def close_case(case: ExitCase, *, acting_user: Any) -> ExitCase:
    case = lock_case(case)
    require_case_manager(acting_user, case)
    if case.state != CaseState.CLEARED:
        raise Conflict(_("Only a cleared case can be closed."))
    if is_hidden(case):
        # Closing records the person as departed, for everyone to see: tell them first.
        raise Conflict(_("Reveal the pre-resignation handover before closing the case."))
    case = transition(
        case, CaseState.CLOSED, E.CASE_CLOSED, acting_user=acting_user, stamp="closed_at"
    )
    if case.employee.status != EmployeeStatus.DEPARTED:
        base.update(
            case.employee,
            {"status": EmployeeStatus.DEPARTED, "termination_date": case.last_working_day},
            acting_user=acting_user,
            event=E.EMPLOYEE_UPDATED,
            allowed={"status", "termination_date"},
            extra={"case": case.pk},
        )
    return case


@transaction.atomic
def add_task(case: ExitCase, data: Mapping[str, Any], *, acting_user: Any) -> HandoverTask:
    """HR adds an item to a running case."""
    case = lock_case(case)
    require_case_manager(acting_user, case)
    if not case.is_open or case.state in (CaseState.DRAFT, CaseState.SUBMITTED):
        raise Conflict(_("Items are added once the case is approved and still open."))
    title = str(data.get("title") or "").strip()
    if not title:
        raise InvalidInput.field("title", _("Give the item a title."))
    due = data.get("due_date") or case.last_working_day
    n = case.tasks.count()
    owner_id = data.get("owner_id") or case.employee_id
    task = base.create(
        HandoverTask,
        {
            "case_id": case.pk,
            "key": f"hr-{n + 1}",
            "title": title,
            "category": data.get("category") or "business",
            "acceptance_criteria": data.get("acceptance_criteria", ""),
            "evidence_kind": data.get("evidence_kind") or EvidenceKind.SIGNOFF,
            "sub_items": [{"label": s, "done": False} for s in data.get("sub_items", [])],
            "owner_id": owner_id,
            "receiver_id": data.get("receiver_id"),
            "approver_queue": "hr",
            "due_date": due,
            "added_by_hr": True,
            "sort": n,
            "blocks_clearance": bool(data.get("blocks_clearance", True)),
        },
        acting_user=acting_user,
        event=E.TASK_CREATED,
        extra={"case": case.pk},
    )
    return task


@transaction.atomic
def record_report_export(case: ExitCase, fmt: str, *, acting_user: Any) -> None:
    """Who took the unfinished-items report (a document of evidence) and when."""
    require_case(acting_user, case, Perm.CASE_VIEW)
    trail.record(E.CASE_REPORT_EXPORTED, actor=acting_user, subject=case, extra={"format": fmt})
