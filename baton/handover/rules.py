"""Who may do what in handover: which checklists a user may change, and which operations they
may run on an exit case or a handover task, and why not. Pure decisions, shared by the actions
(which enforce them), the views (which show buttons from them) and the API (`allowed_ops`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.handover.models import (
    DONE_TASK_STATES,
    ChecklistTemplate,
    EvidenceKind,
    ExitCase,
    ExitType,
    HandoverTask,
)
from baton.handover.models import CaseState as S
from baton.handover.models import TaskState as T
from baton.handover.templates_logic import matching_templates
from baton.org.models import Department, Employee, LegalEntity


def require_manage(acting_user: Any, binding: Mapping[str, Any]) -> None:
    """HR of a business unit manages the checklists bound inside it; checklists for the whole
    group (unbound, or bound to a position / family / exit type only) need group-wide rights."""
    authz.require(acting_user, Perm.TEMPLATE_MANAGE)
    scope = authz.access_for(acting_user).scopes[Perm.TEMPLATE_MANAGE]
    if scope.everything:
        return
    bu, entity, dept_id = (
        binding.get("business_unit_id"),
        binding.get("legal_entity_id"),
        binding.get("department_id"),
    )
    dept = Department.objects.filter(pk=dept_id).first() if dept_id else None
    if bu or entity or dept:
        if entity and not bu:
            bu = (
                LegalEntity.objects.filter(pk=entity)
                .values_list("business_unit_id", flat=True)
                .first()
            )
        authz.check_target(
            acting_user,
            Perm.TEMPLATE_MANAGE,
            business_unit_id=bu,
            legal_entity_id=entity,
            department=dept,
        )
        return
    raise PermissionDenied(_("Group-wide checklists are managed by group HR."))


def binding(template: ChecklistTemplate) -> dict[str, Any]:
    return {
        "business_unit_id": template.business_unit_id,
        "legal_entity_id": template.legal_entity_id,
        "department_id": template.department_id,
    }


def self_only(user: Any, perm: Perm) -> bool:
    scope = authz.access_for(user).scopes.get(perm)
    return bool(
        scope is not None
        and scope.self_employee
        and not (
            scope.everything
            or scope.business_units
            or scope.legal_entities
            or scope.department_paths
        )
    )


def own_employee(user: Any) -> Employee | None:
    emp_id = authz.access_for(user).employee_id
    if not emp_id:
        return None
    return (
        Employee.objects.select_related("department", "position", "position__family")
        .filter(pk=emp_id)
        .first()
    )


def applicable_templates(employee: Employee) -> set[int]:
    """The templates that apply to this person's position, for any kind of exit."""
    found: set[int] = set()
    for exit_type in ExitType.values:
        found |= {t.pk for _score, t in matching_templates(employee, exit_type)}
    return found


def can_propose(user: Any, template: ChecklistTemplate) -> bool:
    """HR and department heads may propose a change to any checklist; an employee only to
    the ones that apply to their own position."""
    if not authz.has_perm(user, Perm.TEMPLATE_PROPOSE):
        return False
    if authz.has_perm(user, Perm.TEMPLATE_MANAGE) or not self_only(user, Perm.TEMPLATE_PROPOSE):
        return True
    employee = own_employee(user)
    return employee is not None and template.pk in applicable_templates(employee)


def can_manage_template(user: Any, template: ChecklistTemplate) -> bool:
    """Whether the user may change this checklist: the action's own rule (HR of a business
    unit manages the checklists bound inside it; group-wide ones need group-wide rights)."""
    if not authz.has_perm(user, Perm.TEMPLATE_MANAGE):
        return False
    try:
        require_manage(
            user,
            {
                "business_unit_id": template.business_unit_id,
                "legal_entity_id": template.legal_entity_id,
                "department_id": template.department_id,
            },
        )
    except PermissionDenied:
        return False
    return True


# ---------------------------------------------------------------- exit cases and tasks

# Cases whose tasks are worked (the actions refuse task changes in other states).
ACTIVE_CASE_STATES = (S.APPROVED, S.HANDOVER, S.CLEARED)
WORK_STATES = (T.TODO, T.IN_PROGRESS, T.REJECTED)
IN_HANDOVER_STATES = (S.APPROVED, S.HANDOVER)


def is_leaver(user: Any, case: ExitCase) -> bool:
    """Whether the user is the employee leaving in this case (it is their own exit)."""
    employee_id = authz.access_for(user).employee_id
    return employee_id is not None and employee_id == case.employee_id


def require_case(acting_user: Any, case: ExitCase, perm: Perm) -> None:
    """The user holds `perm` on this case; beyond reading it, nobody acts on their own exit
    with HR's or an approver's rights."""
    if not authz.visible_to(acting_user, perm, ExitCase.objects.filter(pk=case.pk)).exists():
        raise PermissionDenied(_("You may not do this on this exit case."))
    if perm != Perm.CASE_VIEW and is_leaver(acting_user, case):
        # HR leaving the company does not manage or approve their own exit.
        raise PermissionDenied(_("Nobody manages their own exit case."))


def require_case_manager(acting_user: Any, case: ExitCase) -> None:
    """May manage this case and is not the leaver."""
    require_case(acting_user, case, Perm.CASE_MANAGE)


def manages_case(user: Any, case: ExitCase) -> bool:
    """May manage this case and is not the leaver (no waiving one's own items)."""
    return (
        not is_leaver(user, case)
        and authz.has_perm(user, Perm.CASE_MANAGE)
        and authz.visible_to(user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)).exists()
    )


def approves_case(user: Any, case: ExitCase) -> bool:
    """May approve this exit: not has_perm(CASE_APPROVE) alone, as a direct manager approves
    their reports' exits whatever their role; authz.case_q decides. Never one's own."""
    return (
        not is_leaver(user, case)
        and authz.has_perm(user, Perm.CASE_PARTICIPATE)
        and authz.visible_to(user, Perm.CASE_APPROVE, ExitCase.objects.filter(pk=case.pk)).exists()
    )


def is_owner(user: Any, task: HandoverTask) -> bool:
    """Owns the task in person, or through a queue. On their own exit a leaver works only the
    items they own in person: queue work (IT revoking their own accounts) is someone else's."""
    if not authz.has_perm(user, Perm.CASE_PARTICIPATE):
        return False  # e.g. a read-only token acting as its owner
    me = authz.access_for(user).employee_id
    if task.owner_id and me == task.owner_id:
        return True
    if task.owner_user_id and task.owner_user_id == user.pk:
        return True
    return (
        bool(task.owner_queue)
        and not is_leaver(user, task.case)
        and authz.in_queue(user, task.owner_queue, task.case)
    )


def is_approver(user: Any, task: HandoverTask) -> bool:
    """Approves the task in person, or through a queue (never as the leaver through a queue)."""
    if not authz.has_perm(user, Perm.CASE_PARTICIPATE):
        return False
    me = authz.access_for(user).employee_id
    if task.approver_id and me == task.approver_id:
        return True
    if task.approver_user_id and task.approver_user_id == user.pk:
        return True
    return (
        bool(task.approver_queue)
        and not is_leaver(user, task.case)
        and authz.in_queue(user, task.approver_queue, task.case)
    )


def decide_refusal(user: Any, task: HandoverTask) -> str:
    """Why the user may not accept or reject this task ("" when they may)."""
    if is_leaver(user, task.case) or not is_approver(user, task):
        # Nobody accepts items of their own exit, even when named as the approver.
        return _("Only the approver of this item can accept or reject it.")
    if task.submitted_by_id == user.pk:
        # A queue may both own and approve an item; the same person never does both.
        return _("Someone other than the person who submitted it must decide.")
    return ""


@dataclass(frozen=True)
class Ops:
    """The operations a user may run on one object now, and the reason for each refused one
    (translated). `forbidden` are the refusals because of who the user is (HTTP 403), the rest
    are refused because of the object's state."""

    allowed: tuple[str, ...]
    refused: Mapping[str, str] = field(default_factory=dict)
    forbidden: frozenset[str] = frozenset()

    def __contains__(self, op: object) -> bool:
        return op in self.allowed

    def flags(self) -> dict[str, bool]:
        """Op name → allowed, for templates."""
        return {op: op in self.allowed for op in (*self.allowed, *self.refused)}

    def require(self, op: str) -> None:
        """Refuse (403) an operation this user may not run on the object at all."""
        if op in self.forbidden:
            raise PermissionDenied(self.refused[op])


def _ops(checks: Mapping[str, tuple[bool, bool]], denied: Mapping[str, str], not_now: str) -> Ops:
    """From op → (the user may, the state allows) to Ops; `denied` says why per op."""
    allowed = tuple(op for op, (who, when) in checks.items() if who and when)
    forbidden = frozenset(op for op, (who, _when) in checks.items() if not who)
    refused = {op: denied[op] if op in forbidden else not_now for op in checks if op not in allowed}
    return Ops(allowed, refused, forbidden)


CASE_MANAGE_OPS = (
    "reveal",
    "cancel",
    "restore",
    "last_day",
    "clear",
    "close",
    "add_item",
    "waive",
    "reassign",
)


def case_ops(user: Any, case: ExitCase, tasks: Sequence[HandoverTask] | None = None) -> Ops:
    """What the user may do to this exit case now (the operations of the case page and of the
    case API), and why not."""
    if tasks is None:
        tasks = list(case.tasks.all())
    own = is_leaver(user, case)
    # The leaver acts on their own case only while they take part in handovers at all.
    leaver = own and authz.has_perm(user, Perm.CASE_PARTICIPATE)
    hr = manages_case(user, case)
    approve = approves_case(user, case)
    open_ = case.is_open
    working = case.state in ACTIVE_CASE_STATES
    in_handover = case.state in IN_HANDOVER_STATES
    blocking_open = any(t.blocks_clearance and t.state not in DONE_TASK_STATES for t in tasks)
    # The employee withdraws their own resignation until it is approved; after that a
    # withdrawal is agreed with HR, who records it.
    own_withdrawal = leaver and case.exit_type == ExitType.RESIGNATION
    checks = {
        "submit": (leaver or approve, case.state == S.DRAFT),
        "approve": (approve, case.state in (S.DRAFT, S.SUBMITTED)),
        "reveal": (hr, case.confidential and case.revealed_at is None),
        "withdraw": (
            hr or own_withdrawal,
            open_ if hr else case.state in (S.DRAFT, S.SUBMITTED),
        ),
        "cancel": (hr, open_),
        "restore": (hr, case.state in (S.WITHDRAWN, S.CANCELLED) and bool(case.state_before_stop)),
        "last_day": (hr, open_),
        # The case clears by itself once every blocking item is done; until then HR waits.
        "clear": (hr, in_handover and not blocking_open),
        "close": (hr, case.state == S.CLEARED),
        "add_item": (hr, in_handover),
        "waive": (hr, working and any(t.state not in DONE_TASK_STATES for t in tasks)),
        "reassign": (hr, working and bool(tasks)),
    }
    denied = (
        _("You cannot manage your own exit case.")
        if own
        else _("You may not do this on this exit case.")
    )
    return _ops(
        checks, dict.fromkeys(checks, denied), _("Not possible in the case's current state.")
    )


def task_ops(user: Any, task: HandoverTask) -> Ops:
    """What the user may do to this handover task now (the operations of the task page and of
    the task API), and why not."""
    owner = is_owner(user, task)
    manage = manages_case(user, task.case)
    active = task.case.state in ACTIVE_CASE_STATES
    working = active and task.state in WORK_STATES
    open_ = task.state not in DONE_TASK_STATES
    decide_no = decide_refusal(user, task)
    deciding = not decide_no
    waiting = active and task.state == T.SUBMITTED
    checks = {
        "start": (owner, working and task.state == T.TODO),
        "submit": (owner, working),
        "note": (owner, working),
        "subitems": (owner, working),
        "upload": (owner, working),
        "confirmation": (
            owner or manage,
            active
            and task.evidence_kind == EvidenceKind.EXTERNAL
            and task.state in (T.TODO, T.IN_PROGRESS),
        ),
        "accept": (deciding, waiting),
        "reject": (deciding, waiting),
        "waive": (manage, active and open_),
        "reassign": (manage, active),
    }
    not_manager = (
        _("You cannot manage your own exit case.")
        if is_leaver(user, task.case)
        else _("You may not do this on this exit case.")
    )
    denied = {
        **dict.fromkeys(checks, _("Only the owner of this item can do this.")),
        "accept": decide_no,
        "reject": decide_no,
        "waive": not_manager,
        "reassign": not_manager,
    }
    return _ops(checks, denied, _("Not possible in the item's current state."))
