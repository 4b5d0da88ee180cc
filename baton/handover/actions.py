"""Every change in the handover domain: templates, cases, tasks, evidence, documents,
external confirmations and the knowledge map. One transaction each, audited, locking what it
read-modifies; side effects (notifications, webhooks) are deferred to commit by later modules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as base
from baton.core.errors import Conflict, InvalidInput
from baton.core.workdays import add_working_days
from baton.handover import crypto
from baton.handover.models import (
    DONE_TASK_STATES,
    OPEN_CASE_STATES,
    ApproverRole,
    CaseState,
    ChangeRequestState,
    ChecklistTemplate,
    Document,
    EvidenceKind,
    ExitCase,
    ExitType,
    ExternalConfirmation,
    HandoverTask,
    KnowledgeItem,
    OwnerRole,
    ReceiverRule,
    TaskState,
    TemplateChangeRequest,
    TemplateItem,
    TemplateVersion,
)
from baton.handover.templates_logic import compose_checklist, effective_items
from baton.org.models import Department, Employee, EmployeeStatus

# ---------------------------------------------------------------- templates

TEMPLATE_FIELDS = {
    "name",
    "parent_id",
    "position_id",
    "position_family_id",
    "department_id",
    "business_unit_id",
    "legal_entity_id",
    "exit_type",
    "is_active",
}
ITEM_EDIT_FIELDS = {
    "title",
    "category",
    "owner_role",
    "owner_user_id",
    "receiver_rule",
    "approver_role",
    "approver_user_id",
    "due_offset",
    "acceptance_criteria",
    "evidence_kind",
    "sub_items",
    "blocks_clearance",
    "reusable",
    "sort",
    "removed",
}


@transaction.atomic
def create_template(data: Mapping[str, Any], *, acting_user: Any) -> ChecklistTemplate:
    authz.require(acting_user, Perm.TEMPLATE_MANAGE)
    return base.create(ChecklistTemplate, data, acting_user=acting_user, event=E.TEMPLATE_CREATED)


@transaction.atomic
def update_template(
    template: ChecklistTemplate, data: Mapping[str, Any], *, acting_user: Any
) -> ChecklistTemplate:
    authz.require(acting_user, Perm.TEMPLATE_MANAGE)
    if data.get("parent_id"):
        node = ChecklistTemplate.objects.filter(pk=data["parent_id"]).first()
        while node is not None:
            if node.pk == template.pk:
                raise InvalidInput.field("parent", _("A template cannot inherit from itself."))
            node = node.parent
    return base.update(
        template, data, acting_user=acting_user, event=E.TEMPLATE_UPDATED, allowed=TEMPLATE_FIELDS
    )


def _validate_item(data: Mapping[str, Any]) -> None:
    if data.get("owner_role") == OwnerRole.USER and not data.get("owner_user_id"):
        raise InvalidInput.field("owner_user", _("Name the person who owns this item."))
    if data.get("approver_role") == ApproverRole.USER and not data.get("approver_user_id"):
        raise InvalidInput.field("approver_user", _("Name the person who approves this item."))
    if data.get("evidence_kind") == EvidenceKind.CHECKLIST and not data.get("sub_items"):
        raise InvalidInput.field("sub_items", _("A checklist needs at least one sub-item."))
    offset = data.get("due_offset")
    if offset is not None and not -120 <= int(offset) <= 120:
        raise InvalidInput.field(
            "due_offset", _("The due offset must be within ±120 working days.")
        )
    sub_items = data.get("sub_items")
    if sub_items is not None and (
        not isinstance(sub_items, list)
        or not all(isinstance(s, str) and s.strip() for s in sub_items)
    ):
        raise InvalidInput.field("sub_items", _("Sub-items are a list of non-empty texts."))


@transaction.atomic
def save_template_item(
    template: ChecklistTemplate, key: str, data: Mapping[str, Any], *, acting_user: Any
) -> TemplateItem:
    """Add or change one item of the template's draft (takes effect when published)."""
    authz.require(acting_user, Perm.TEMPLATE_MANAGE)
    unknown = set(data) - ITEM_EDIT_FIELDS
    if unknown:
        raise InvalidInput(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    existing = TemplateItem.objects.filter(template=template, key=key).first()
    if existing is None:
        merged = {"template_id": template.pk, "key": key, **data}
        _validate_item(merged)
        if not merged.get("title") and not merged.get("removed"):
            raise InvalidInput.field("title", _("Give the item a title."))
        return base.create(
            TemplateItem, merged, acting_user=acting_user, event=E.TEMPLATE_ITEM_SAVED
        )
    _validate_item({**base_item_values(existing), **data})
    return base.update(
        existing,
        data,
        acting_user=acting_user,
        event=E.TEMPLATE_ITEM_SAVED,
        allowed=ITEM_EDIT_FIELDS,
    )


def base_item_values(item: TemplateItem) -> dict[str, Any]:
    return {
        f: getattr(item, f)
        for f in (
            "owner_role",
            "owner_user_id",
            "approver_role",
            "approver_user_id",
            "evidence_kind",
            "sub_items",
        )
    }


@transaction.atomic
def publish_template(
    template: ChecklistTemplate, *, acting_user: Any, note: str = ""
) -> TemplateVersion:
    """Freeze the template's effective items (inheritance applied) as its next version."""
    authz.require(acting_user, Perm.TEMPLATE_MANAGE)
    template = ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
    items = effective_items(template)
    if not items:
        raise InvalidInput(_("A checklist needs at least one item before it is published."))
    number = (template.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = TemplateVersion.objects.create(
        template=template, number=number, items=items, published_by=acting_user, note=note[:500]
    )
    trail.record(
        E.TEMPLATE_PUBLISHED,
        actor=acting_user,
        subject=template,
        extra={"version": number, "items": len(items), "note": note[:500]},
    )
    return version


@transaction.atomic
def propose_template_change(
    template: ChecklistTemplate, item: Mapping[str, Any], *, acting_user: Any, reason: str = ""
) -> TemplateChangeRequest:
    """HR, the department head or the employee propose a change to a position's checklist;
    it applies only when HR approves."""
    authz.require(acting_user, Perm.TEMPLATE_VIEW)
    key = str(item.get("key") or "").strip()
    if not key:
        raise InvalidInput.field("key", _("Say which item (its key) the change is about."))
    _validate_item(item)
    request = TemplateChangeRequest.objects.create(
        template=template, proposed_by=acting_user, item=dict(item), reason=reason[:500]
    )
    trail.record(
        E.TEMPLATE_CHANGE_PROPOSED,
        actor=acting_user,
        subject=template,
        extra={"request": request.pk, "item": dict(item), "reason": reason[:500]},
    )
    return request


@transaction.atomic
def decide_template_change(
    request: TemplateChangeRequest, approve: bool, *, acting_user: Any
) -> TemplateChangeRequest:
    authz.require(acting_user, Perm.TEMPLATE_MANAGE)
    request = TemplateChangeRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != ChangeRequestState.PENDING:
        raise Conflict(_("This change was already decided."))
    request.state = ChangeRequestState.APPROVED if approve else ChangeRequestState.REJECTED
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.save(update_fields=["state", "decided_by", "decided_at"])
    trail.record(
        E.TEMPLATE_CHANGE_DECIDED,
        actor=acting_user,
        subject=request.template,
        extra={"request": request.pk, "approved": approve},
    )
    if approve:
        item = dict(request.item)
        key = item.pop("key")
        save_template_item(request.template, key, item, acting_user=acting_user)
        publish_template(
            request.template,
            acting_user=acting_user,
            note=_("Change #%(n)s approved") % {"n": request.pk},
        )
    return request


# ---------------------------------------------------------------- cases


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
        return  # self-service resignation
    visible = Employee.objects.filter(pk=employee.pk)
    manage = authz.visible_to(acting_user, Perm.CASE_MANAGE, visible).exists()
    approve = authz.visible_to(acting_user, Perm.CASE_APPROVE, visible).exists()
    if confidential and not manage:
        raise PermissionDenied(_("Only HR opens a confidential pre-resignation handover."))
    if not (manage or approve) or on_self:
        raise PermissionDenied(_("You may not open an exit case for this person."))


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
    if ExitCase.objects.filter(employee=employee, state__in=OPEN_CASE_STATES).exists():
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


def _lock_case(case: ExitCase) -> ExitCase:
    return (
        ExitCase.objects.select_for_update()
        .select_related("employee", "employee__department", "legal_entity")
        .get(pk=case.pk)
    )


def _transition(
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


def _require_case(acting_user: Any, case: ExitCase, perm: Perm) -> None:
    if not authz.visible_to(acting_user, perm, ExitCase.objects.filter(pk=case.pk)).exists():
        raise PermissionDenied(_("You may not do this on this exit case."))


@transaction.atomic
def submit_case(case: ExitCase, *, acting_user: Any) -> ExitCase:
    case = _lock_case(case)
    if authz.access_for(acting_user).employee_id != case.employee_id:
        _require_case(acting_user, case, Perm.CASE_APPROVE)
    if case.state != CaseState.DRAFT:
        raise Conflict(_("Only a draft can be submitted."))
    return _transition(
        case, CaseState.SUBMITTED, E.CASE_SUBMITTED, acting_user=acting_user, stamp="submitted_at"
    )


@transaction.atomic
def approve_case(
    case: ExitCase,
    *,
    acting_user: Any,
    receivers: Mapping[str, int] | None = None,
    owners: Mapping[str, int] | None = None,
) -> ExitCase:
    """Approve the exit and generate every handover task from the chosen checklist version in
    this one transaction: owners, receivers and approvers resolved by rule (up the management
    chain when a role is empty), due dates in working days from the last working day.
    `receivers` / `owners` answer the items whose rule is "ask at launch" (item key → employee).
    """
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_APPROVE)
    if authz.access_for(acting_user).employee_id == case.employee_id:
        raise PermissionDenied(_("Nobody approves their own exit."))
    if case.state not in (CaseState.DRAFT, CaseState.SUBMITTED):
        raise Conflict(_("This case is not waiting for approval."))
    employee = case.employee
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
    wanted = set(asked.values()) | set(asked_owners.values())
    people = {e.pk: e for e in Employee.objects.filter(pk__in=wanted)} if wanted else {}
    missing = wanted - set(people)
    if missing:
        raise InvalidInput.field(
            "receivers",
            _("Unknown employee ids: %(ids)s") % {"ids": ", ".join(map(str, sorted(missing)))},
        )
    jurisdiction = case.legal_entity.jurisdiction
    due_cache: dict[int, dt.date] = {}
    tasks: list[HandoverTask] = []
    for n, item in enumerate(items):
        key = item["key"]
        receiver = _resolve_receiver(
            item["receiver_rule"], manager, successor, people.get(asked.get(key, 0))
        )
        task = HandoverTask(
            case=case,
            key=key,
            title=item["title"],
            category=item["category"],
            acceptance_criteria=item["acceptance_criteria"],
            evidence_kind=item["evidence_kind"],
            sub_items=[{"label": s, "done": False} for s in item["sub_items"]],
            blocks_clearance=item["blocks_clearance"],
            reusable=item.get("reusable", False),
            receiver=receiver,
            sort=n,
        )
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
    _transition(
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
    trail.record_many(
        [
            trail.Change(
                E.TASK_CREATED,
                t,
                extra={
                    "case": case.pk,
                    "owner": t.owner_id,
                    "owner_queue": t.owner_queue,
                    "receiver": t.receiver_id,
                    "due": t.due_date.isoformat(),
                },
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
            for t in tasks
        ],
        actor=acting_user,
    )
    if employee.status not in (EmployeeStatus.DEPARTING, EmployeeStatus.DEPARTED):
        base.update(
            employee,
            {"status": EmployeeStatus.DEPARTING},
            acting_user=acting_user,
            event=E.EMPLOYEE_UPDATED,
            allowed={"status"},
            extra={"case": case.pk},
        )
    return case


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
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_MANAGE)
    if not case.confidential or case.revealed_at is not None:
        raise Conflict(_("This case is not a hidden pre-resignation handover."))
    case.revealed_at = timezone.now()
    case.save(update_fields=["revealed_at", "updated_at"])
    trail.record(E.CASE_REVEALED, actor=acting_user, subject=case)
    return case


@transaction.atomic
def withdraw_case(case: ExitCase, *, acting_user: Any, reason: str = "") -> ExitCase:
    """The employee withdraws their resignation (or HR records it). Nothing is deleted."""
    case = _lock_case(case)
    if authz.access_for(acting_user).employee_id != case.employee_id:
        _require_case(acting_user, case, Perm.CASE_MANAGE)
    return _stop(
        case, CaseState.WITHDRAWN, E.CASE_WITHDRAWN, acting_user=acting_user, reason=reason
    )


@transaction.atomic
def cancel_case(case: ExitCase, *, acting_user: Any, reason: str) -> ExitCase:
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_MANAGE)
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
    case = _transition(case, to, event, acting_user=acting_user, extra={"reason": reason[:500]})
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
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_MANAGE)
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
    case = _transition(case, back, E.CASE_REOPENED, acting_user=acting_user)
    if back in (CaseState.APPROVED, CaseState.HANDOVER):
        base.update(
            case.employee,
            {"status": EmployeeStatus.DEPARTING},
            acting_user=acting_user,
            event=E.EMPLOYEE_UPDATED,
            allowed={"status"},
            extra={"case": case.pk},
        )
    return case


@transaction.atomic
def change_last_day(case: ExitCase, last_working_day: dt.date, *, acting_user: Any) -> ExitCase:
    """Move the last working day; open tasks' due dates follow (same working-day offsets)."""
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_MANAGE)
    if not case.is_open:
        raise Conflict(_("The case is no longer open."))
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
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_MANAGE)
    return _clear_if_done(case, acting_user=acting_user, explicit=True)


def _clear_if_done(case: ExitCase, *, acting_user: Any, explicit: bool = False) -> ExitCase:
    if case.state not in (CaseState.APPROVED, CaseState.HANDOVER):
        if explicit:
            raise Conflict(_("Only a case in handover can be cleared."))
        return case
    open_blocking = (
        case.tasks.filter(blocks_clearance=True).exclude(state__in=DONE_TASK_STATES).count()
    )
    if open_blocking:
        if explicit:
            raise Conflict(_("%(n)s blocking items are still open.") % {"n": open_blocking})
        return case
    return _transition(
        case, CaseState.CLEARED, E.CASE_CLEARED, acting_user=acting_user, stamp="cleared_at"
    )


@transaction.atomic
def close_case(case: ExitCase, *, acting_user: Any) -> ExitCase:
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_MANAGE)
    if case.state != CaseState.CLEARED:
        raise Conflict(_("Only a cleared case can be closed."))
    case = _transition(
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
    case = _lock_case(case)
    _require_case(acting_user, case, Perm.CASE_MANAGE)
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


# ---------------------------------------------------------------- tasks


def is_owner(user: Any, task: HandoverTask) -> bool:
    me = authz.access_for(user).employee_id
    if task.owner_id and me == task.owner_id:
        return True
    if task.owner_user_id and task.owner_user_id == user.pk:
        return True
    return bool(task.owner_queue) and authz.in_queue(user, task.owner_queue, task.case)


def is_approver(user: Any, task: HandoverTask) -> bool:
    me = authz.access_for(user).employee_id
    if task.approver_id and me == task.approver_id:
        return True
    if task.approver_user_id and task.approver_user_id == user.pk:
        return True
    return bool(task.approver_queue) and authz.in_queue(user, task.approver_queue, task.case)


def _lock_task(task: HandoverTask, acting_user: Any) -> HandoverTask:
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


def _require_owner(user: Any, task: HandoverTask) -> None:
    if not is_owner(user, task):
        raise PermissionDenied(_("Only the owner of this item can do this."))


def _task_change(
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
        _transition(task.case, CaseState.HANDOVER, E.CASE_HANDOVER_STARTED, acting_user=acting_user)
    return task


@transaction.atomic
def start_task(task: HandoverTask, *, acting_user: Any) -> HandoverTask:
    task = _lock_task(task, acting_user)
    _require_owner(acting_user, task)
    if task.state != TaskState.TODO:
        raise Conflict(_("This item has already been started."))
    return _task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)


@transaction.atomic
def update_task_work(
    task: HandoverTask,
    *,
    acting_user: Any,
    note: str | None = None,
    done_sub_items: Iterable[int] | None = None,
) -> HandoverTask:
    """The owner records progress: the handover note and which sub-items are done."""
    task = _lock_task(task, acting_user)
    _require_owner(acting_user, task)
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
        _task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)
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
    return []


@transaction.atomic
def submit_task(task: HandoverTask, *, acting_user: Any, note: str | None = None) -> HandoverTask:
    task = _lock_task(task, acting_user)
    _require_owner(acting_user, task)
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
    return _task_change(
        task,
        TaskState.SUBMITTED,
        E.TASK_SUBMITTED,
        acting_user=acting_user,
        fields=["submitted_at", "note"],
    )


@transaction.atomic
def accept_task(task: HandoverTask, *, acting_user: Any, comment: str = "") -> HandoverTask:
    """Only the approver accepts; the row lock makes a concurrent accept/reject see the other's
    outcome and refuse."""
    task = _lock_task(task, acting_user)
    if not is_approver(acting_user, task):
        raise PermissionDenied(_("Only the approver of this item can accept or reject it."))
    if task.state != TaskState.SUBMITTED:
        raise Conflict(
            _("This item is not waiting for acceptance (it is %(state)s).")
            % {"state": task.get_state_display()}
        )
    task.decided_at = timezone.now()
    task.last_comment = comment
    task = _task_change(
        task,
        TaskState.ACCEPTED,
        E.TASK_ACCEPTED,
        acting_user=acting_user,
        fields=["decided_at", "last_comment"],
        extra={"comment": comment},
    )
    if task.reusable:
        _add_to_knowledge_map(task, acting_user=acting_user)
    _clear_if_done(task.case, acting_user=acting_user)
    return task


@transaction.atomic
def reject_task(task: HandoverTask, *, acting_user: Any, comment: str) -> HandoverTask:
    task = _lock_task(task, acting_user)
    if not is_approver(acting_user, task):
        raise PermissionDenied(_("Only the approver of this item can accept or reject it."))
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
    return _task_change(
        task,
        TaskState.IN_PROGRESS,
        E.TASK_REJECTED,
        acting_user=acting_user,
        fields=["decided_at", "last_comment"],
        extra={"comment": comment},
    )


@transaction.atomic
def waive_task(task: HandoverTask, *, acting_user: Any, reason: str) -> HandoverTask:
    task = _lock_task(task, acting_user)
    _require_case(acting_user, task.case, Perm.CASE_MANAGE)
    if not reason.strip():
        raise InvalidInput.field("reason", _("Say why the item is waived."))
    if task.state in DONE_TASK_STATES:
        raise Conflict(_("This item is already finished."))
    task.last_comment = reason
    task = _task_change(
        task,
        TaskState.WAIVED,
        E.TASK_WAIVED,
        acting_user=acting_user,
        fields=["last_comment"],
        extra={"reason": reason},
    )
    _clear_if_done(task.case, acting_user=acting_user)
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
    task = _lock_task(task, acting_user)
    _require_case(acting_user, task.case, Perm.CASE_MANAGE)
    values: dict[str, Any] = {}
    if owner_id is not None:
        values.update(owner_id=owner_id, owner_queue="", owner_user_id=None)
    if receiver_id is not None:
        values["receiver_id"] = receiver_id
    if approver_id is not None:
        values.update(approver_id=approver_id, approver_queue="", approver_user_id=None)
    wanted = {v for k, v in values.items() if k in ("owner_id", "receiver_id", "approver_id")}
    if len(wanted) != Employee.objects.filter(pk__in=wanted).count():
        raise InvalidInput(_("Unknown employee."))
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


# ---------------------------------------------------------------- documents

ALLOWED_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


@transaction.atomic
def upload_document(
    case: ExitCase,
    upload: UploadedFile,
    *,
    acting_user: Any,
    task: HandoverTask | None = None,
    reusable: bool = False,
    note: str = "",
) -> Document:
    """Store a file encrypted (AES-256-GCM) with its SHA-256; same name again = next version."""
    if task is not None:
        task = _lock_task(task, acting_user)
        _require_owner(acting_user, task)
        if task.state not in (TaskState.TODO, TaskState.IN_PROGRESS, TaskState.REJECTED):
            raise Conflict(_("This item is waiting for acceptance or finished."))
        case = task.case
    else:
        case = _lock_case(case)
        _require_case(acting_user, case, Perm.CASE_MANAGE)
    name = (upload.name or "").rsplit("/", 1)[-1].strip()[:255]
    if not name:
        raise InvalidInput.field("file", _("The file has no name."))
    size = upload.size or 0
    if size == 0:
        raise InvalidInput.field("file", _("The file is empty."))
    limit = settings.BATON_MAX_UPLOAD_BYTES
    if size > limit:
        raise InvalidInput.field(
            "file",
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": round(size / 1048576, 1), "limit": limit // 1048576},
        )
    content_type = (upload.content_type or "").split(";")[0].strip()
    if content_type not in ALLOWED_TYPES:
        raise InvalidInput.field(
            "file",
            _(
                "Files of type %(type)s are not accepted. Use PDF, "
                "images, Office documents, text, CSV or ZIP."
            )
            % {"type": content_type or "?"},
        )
    data = b"".join(upload.chunks())
    digest = hashlib.sha256(data).hexdigest()
    previous = Document.objects.filter(case=case, task=task, name=name).order_by("-version").first()
    blob, key_id = crypto.encrypt(data, digest)
    doc = Document(
        case=case,
        task=task,
        name=name,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        version=(previous.version + 1) if previous else 1,
        previous=previous,
        key_id=key_id,
        reusable=reusable,
        note=note[:500],
        uploaded_by=acting_user,
    )
    doc.blob.save(f"{digest}.bin", ContentFile(blob), save=False)
    # If the transaction rolls back, the encrypted blob stays behind as an unreferenced file;
    # it holds nothing readable without its record, and `baton keys rotate` ignores it.
    doc.save()
    trail.record_many(
        [
            trail.Change(
                E.DOCUMENT_UPLOADED,
                doc,
                extra={
                    "case": case.pk,
                    "task": task.pk if task else None,
                    "name": name,
                    "sha256": digest,
                    "version": doc.version,
                    "size": doc.size,
                },
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
        ],
        actor=acting_user,
    )
    if task is not None and task.state == TaskState.TODO:
        _task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)
    return doc


@transaction.atomic
def read_document(doc: Document, *, acting_user: Any) -> bytes:
    """Decrypt a document for someone allowed to see it; every read is audited."""
    doc = authz.get_for(acting_user, Perm.CASE_VIEW, Document, pk=doc.pk)
    with doc.blob.open("rb") as fh:
        blob = fh.read()
    data = crypto.decrypt(blob, doc.sha256, doc.key_id)
    if hashlib.sha256(data).hexdigest() != doc.sha256:
        raise Conflict(_("The stored file does not match its recorded SHA-256."))
    trail.record_many(
        [
            trail.Change(
                E.DOCUMENT_VIEWED,
                doc,
                extra={"name": doc.name, "version": doc.version},
                business_unit_id=doc.case.business_unit_id,
                department_id=doc.case.department_id,
            )
        ],
        actor=acting_user,
    )
    return data


def reencrypt_all(*, acting_user: Any = None) -> int:
    """Re-encrypt every document not under the current key (`baton keys rotate`), one
    transaction per document so a long rotation can be interrupted and resumed."""
    current = crypto.current_key_id()
    done = 0
    for doc_id in Document.objects.exclude(key_id=current).values_list("id", flat=True):
        with transaction.atomic():
            doc = Document.objects.select_for_update().get(pk=doc_id)
            with doc.blob.open("rb") as fh:
                data = crypto.decrypt(fh.read(), doc.sha256, doc.key_id)
            blob, key_id = crypto.encrypt(data, doc.sha256, current)
            old_name = doc.blob.name
            doc.blob.save(f"{doc.sha256}.bin", ContentFile(blob), save=False)
            doc.key_id = key_id
            doc.save(update_fields=["blob", "key_id"])
            if old_name and old_name != doc.blob.name:
                storage = doc.blob.storage
                transaction.on_commit(lambda n=old_name, st=storage: st.delete(n))  # type: ignore[misc]
            done += 1
    if done:
        with transaction.atomic():
            first = Document.objects.first()
            assert first is not None
            trail.record(
                E.DOCUMENTS_REENCRYPTED,
                actor=acting_user,
                subject=first,
                extra={"documents": done, "key": current},
            )
    return done


# ---------------------------------------------------------------- external confirmations

CONFIRMATION_DAYS = 14


@transaction.atomic
def create_confirmation(
    task: HandoverTask,
    *,
    acting_user: Any,
    recipient_name: str,
    statement: str,
    recipient_email: str = "",
    valid_days: int = CONFIRMATION_DAYS,
) -> tuple[ExternalConfirmation, str]:
    """A one-time link for an outside party; returns the raw token (only its hash is kept)."""
    task = _lock_task(task, acting_user)
    if not (
        is_owner(acting_user, task)
        or authz.visible_to(
            acting_user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=task.case_id)
        ).exists()
    ):
        raise PermissionDenied(_("Only the owner of this item or HR can ask for a confirmation."))
    if task.evidence_kind != EvidenceKind.EXTERNAL:
        raise InvalidInput(_("This item does not ask for an external confirmation."))
    if not recipient_name.strip() or not statement.strip():
        raise InvalidInput(
            _("Name the recipient and what they confirm."),
            {
                **({"recipient_name": [_("Required.")]} if not recipient_name.strip() else {}),
                **({"statement": [_("Required.")]} if not statement.strip() else {}),
            },
        )
    if not 1 <= valid_days <= 60:
        raise InvalidInput.field("valid_days", _("A link is valid for 1 to 60 days."))
    raw = secrets.token_urlsafe(32)
    conf = ExternalConfirmation.objects.create(
        task=task,
        recipient_name=recipient_name.strip()[:200],
        recipient_email=recipient_email.strip(),
        statement=statement.strip(),
        token_hash=hashlib.sha256(raw.encode()).hexdigest(),
        expires_at=timezone.now() + dt.timedelta(days=valid_days),
        created_by=acting_user,
    )
    trail.record_many(
        [
            trail.Change(
                E.CONFIRMATION_SENT,
                conf,
                extra={
                    "task": task.pk,
                    "recipient": conf.recipient_name,
                    "expires": conf.expires_at,
                },
                business_unit_id=task.case.business_unit_id,
                department_id=task.case.department_id,
            )
        ],
        actor=acting_user,
    )
    if task.state == TaskState.TODO:
        _task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)
    return conf, raw


def find_confirmation(raw: str) -> ExternalConfirmation:
    """The confirmation behind a link, or an error that explains itself."""
    conf = (
        ExternalConfirmation.objects.select_related("task", "task__case")
        .filter(token_hash=hashlib.sha256(raw.encode()).hexdigest())
        .first()
    )
    if conf is None:
        raise InvalidInput(_("This link is not valid. Check that you copied all of it."))
    if conf.responded_at is not None:
        raise Conflict(
            _("This link was already used on %(when)s; it works only once.")
            % {"when": timezone.localtime(conf.responded_at).strftime("%Y-%m-%d %H:%M")}
        )
    if conf.expires_at <= timezone.now():
        raise Conflict(
            _("This link expired on %(when)s. Ask your contact for a new one.")
            % {"when": timezone.localtime(conf.expires_at).strftime("%Y-%m-%d")}
        )
    return conf


@transaction.atomic
def answer_confirmation(
    raw: str, *, confirmed: bool, note: str = "", client_ip: str = ""
) -> ExternalConfirmation:
    """The outside party answers (no account): recorded once, with time and IP, audited."""
    conf = find_confirmation(raw)
    conf = ExternalConfirmation.objects.select_for_update().get(pk=conf.pk)
    if conf.responded_at is not None:
        raise Conflict(_("This link was already used; it works only once."))
    conf.responded_at = timezone.now()
    conf.confirmed = confirmed
    conf.response_note = note[:2000]
    conf.response_ip = client_ip[:45]
    conf.save(update_fields=["responded_at", "confirmed", "response_note", "response_ip"])
    case = conf.task.case
    trail.record_many(
        [
            trail.Change(
                E.CONFIRMATION_ANSWERED,
                conf,
                extra={"task": conf.task_id, "confirmed": confirmed, "note": note[:500]},
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
        ],
        actor=None,
    )
    return conf


# ---------------------------------------------------------------- knowledge map


def _add_to_knowledge_map(task: HandoverTask, *, acting_user: Any) -> None:
    """An accepted reusable item becomes part of the position's knowledge map: its note and
    the documents marked reusable (or all its documents, for an item meant for reuse)."""
    position_id = task.case.employee.position_id
    docs = list(task.documents.order_by("name", "-version"))
    latest: dict[str, Document] = {}
    for d in docs:
        latest.setdefault(d.name, d)
    entries = [
        KnowledgeItem(
            position_id=position_id,
            title=f"{task.title} · {d.name}",
            body=d.note,
            category=task.category,
            document=d,
            source_task=task,
            contributed_by_id=task.case.employee_id,
        )
        for d in latest.values()
    ]
    if task.note.strip():
        entries.append(
            KnowledgeItem(
                position_id=position_id,
                title=task.title,
                body=task.note,
                category=task.category,
                source_task=task,
                contributed_by_id=task.case.employee_id,
            )
        )
    KnowledgeItem.objects.bulk_create(entries)
    if entries:
        trail.record_many(
            [
                trail.Change(
                    E.KNOWLEDGE_ADDED,
                    e,
                    extra={"task": task.pk},
                    business_unit_id=task.case.business_unit_id,
                )
                for e in entries
            ],
            actor=acting_user,
        )


@transaction.atomic
def count_knowledge_view(item: KnowledgeItem) -> None:
    # A counter for analytics, not a business change: no audit entry of its own.
    KnowledgeItem.objects.select_for_update().filter(pk=item.pk).first()
    item.views += 1
    item.save(update_fields=["views"])
