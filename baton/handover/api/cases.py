"""/api/handover: exit cases."""


# No `from __future__ import annotations` here: django-ninja reads the payload, File and Form
# annotations of these endpoints at run time.

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.errors import InvalidInput
from baton.core.http import AuthedRequest
from baton.handover import actions, rules
from baton.handover.api.common import (
    case_queryset,
    fetch_case,
    page,
    reader,
    writer,
)
from baton.handover.models import (
    DONE_TASK_STATES,
    CaseState,
    Category,
    EvidenceKind,
    ExitCase,
    ExitType,
    HandoverTask,
    TaskState,
)
from baton.org.models import Department, Employee

router = Router(tags=["handover"])

# ---------------------------------------------------------------- cases


class PersonRef(Schema):
    id: int
    name: str
    employee_number: str


class CaseOut(Schema):
    id: int
    employee: PersonRef
    business_unit_id: int
    department_id: int
    legal_entity_id: int
    exit_type: ExitType
    reason: str
    desired_last_day: dt.date | None
    last_working_day: dt.date
    state: CaseState
    state_before_stop: str
    confidential: bool
    revealed_at: dt.datetime | None
    successor: PersonRef | None
    template_version_id: int | None
    opened_by_id: int
    opened_at: dt.datetime
    submitted_at: dt.datetime | None
    approved_at: dt.datetime | None
    cleared_at: dt.datetime | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime


class CasePage(Page):
    items: list[CaseOut]


class TaskCounts(Schema):
    total: int
    done: int
    open: int
    submitted: int
    overdue: int
    blocking_open: int
    by_state: dict[str, int]


class CaseDetail(CaseOut):
    tasks: TaskCounts = Field(...)
    allowed_ops: list[str] = Field(
        ..., description="The operations the caller may run on this case now (rules.case_ops)."
    )

    @staticmethod
    def resolve_tasks(obj: ExitCase) -> dict[str, Any]:
        return _task_counts(obj)

    @staticmethod
    def resolve_allowed_ops(obj: ExitCase, context: dict[str, Any]) -> list[str]:
        return list(rules.case_ops(context["request"].user, obj).allowed)


def _task_counts(case: ExitCase) -> dict[str, Any]:
    done = Q(state__in=DONE_TASK_STATES)
    today = timezone.localdate()
    tasks = HandoverTask.objects.filter(case_id=case.pk).order_by()
    agg = tasks.aggregate(
        total=Count("id"),
        done=Count("id", filter=done),
        submitted=Count("id", filter=Q(state=TaskState.SUBMITTED)),
        overdue=Count("id", filter=Q(due_date__lt=today) & ~done),
        blocking_open=Count("id", filter=Q(blocks_clearance=True) & ~done),
    )
    by_state = dict(tasks.values_list("state").annotate(n=Count("id")))
    return {**agg, "open": agg["total"] - agg["done"], "by_state": by_state}


class CaseOpenIn(Schema):
    employee_id: int
    exit_type: ExitType
    last_working_day: dt.date
    reason: str = Field(default="", max_length=2000)
    desired_last_day: dt.date | None = None
    confidential: bool = False
    successor_id: int | None = None
    submit: bool = False


def _employee_or_none(pk: int | None) -> Employee | None:
    if pk is None:
        return None
    found = Employee.objects.filter(pk=pk).first()
    if found is None:
        raise InvalidInput.field("successor", _("Unknown employee."))
    return found


class ApproveIn(Schema):
    successor_id: int | None = Field(None, description="The successor (default receiver).")
    receivers: dict[str, int] = Field(
        default_factory=dict,
        description='Item key → employee id, for items whose receiver is "ask at launch".',
    )
    owners: dict[str, int] = Field(
        default_factory=dict,
        description='Item key → employee id, for items whose owner is "ask at launch".',
    )


class ReasonIn(Schema):
    reason: str = Field(default="", max_length=2000)


class LastDayIn(Schema):
    last_working_day: dt.date


class TaskAddIn(Schema):
    title: str = Field(..., max_length=200)
    category: Category = Category.BUSINESS
    acceptance_criteria: str = Field(default="", max_length=4000)
    evidence_kind: EvidenceKind = EvidenceKind.SIGNOFF
    sub_items: list[str] = Field(default_factory=list)
    owner_id: int | None = None
    receiver_id: int | None = None
    due_date: dt.date | None = None
    blocks_clearance: bool = True


def employee_or_invalid(field: str, employee_id: int | None) -> Employee | None:
    if employee_id is None:
        return None
    found = Employee.objects.filter(pk=employee_id).first()
    if found is None:
        raise InvalidInput.field(field, _("Unknown employee."))
    return found


def _leaver(user: Any, employee_id: int) -> Employee:
    """The person a case is opened for: themselves, or someone the user may see or handle exits
    of (the action decides whether they may open this case)."""
    qs = Employee.objects.filter(pk=employee_id)
    me = authz.access_for(user).employee_id
    if me != employee_id and not any(
        authz.visible_to(user, perm, qs).exists()
        for perm in (Perm.EMPLOYEE_VIEW, Perm.CASE_MANAGE, Perm.CASE_APPROVE)
    ):
        raise Http404(_("Not found, or not visible to you."))
    employee = qs.first()
    if employee is None:
        raise Http404(_("Not found, or not visible to you."))
    return employee


@router.get("/cases", response=CasePage, operation_id="list_cases")
def list_cases(
    request: AuthedRequest,
    state: CaseState | None = None,
    business_unit: int | None = None,
    department: int | None = None,
    employee: int | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Exit cases the user may see; `department` covers its whole subtree, `q` is a name or
    employee-number prefix."""
    user = reader(request)
    authz.require(user, Perm.CASE_VIEW)
    qs = authz.visible_to(user, Perm.CASE_VIEW, case_queryset())
    if state is not None:
        qs = qs.filter(state=state)
    if business_unit is not None:
        qs = qs.filter(business_unit_id=business_unit)
    if department is not None:
        path = Department.objects.filter(pk=department).values_list("path", flat=True).first()
        qs = qs.filter(department__path__startswith=path) if path else qs.none()
    if employee is not None:
        qs = qs.filter(employee_id=employee)
    if q := q.strip():
        qs = qs.filter(Q(employee__name__startswith=q) | Q(employee__employee_number__startswith=q))
    return page(qs.order_by("-opened_at", "-id"), limit, offset)


@router.get("/cases/{int:case_id}", response=CaseDetail, operation_id="get_case")
def get_case(request: AuthedRequest, case_id: int) -> Any:
    return fetch_case(reader(request), case_id)


@router.post("/cases", response={201: CaseDetail}, operation_id="open_case")
def open_case(request: AuthedRequest, payload: CaseOpenIn) -> Any:
    """Open an exit case: an employee's own resignation, HR or the manager initiating one, or
    HR opening a confidential pre-resignation handover. `submit` submits it at once."""
    user = writer(request)
    employee = _leaver(user, payload.employee_id)
    case = actions.open_case(
        employee,
        acting_user=user,
        exit_type=payload.exit_type,
        last_working_day=payload.last_working_day,
        reason=payload.reason,
        desired_last_day=payload.desired_last_day,
        confidential=payload.confidential,
        successor=employee_or_invalid("successor_id", payload.successor_id),
        submit=payload.submit,
    )
    return Status(201, case_queryset().get(pk=case.pk))


def _case_action(
    request: AuthedRequest, case_id: int, do: Callable[[ExitCase, Any], Any]
) -> ExitCase:
    user = writer(request)
    case = fetch_case(user, case_id)
    do(case, user)
    return case_queryset().get(pk=case.pk)


@router.post("/cases/{int:case_id}/submit", response=CaseDetail, operation_id="submit_case")
def submit_case(request: AuthedRequest, case_id: int) -> Any:
    return _case_action(request, case_id, lambda c, u: actions.submit_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/approve", response=CaseDetail, operation_id="approve_case")
def approve_case(request: AuthedRequest, case_id: int, payload: ApproveIn | None = None) -> Any:
    """Approve the exit; every handover task is generated from the checklist in the same
    transaction."""
    body = payload or ApproveIn(successor_id=None)
    return _case_action(
        request,
        case_id,
        lambda c, u: actions.approve_case(
            c,
            acting_user=u,
            receivers=body.receivers,
            owners=body.owners,
            successor=_employee_or_none(body.successor_id),
        ),
    )


@router.post("/cases/{int:case_id}/reveal", response=CaseDetail, operation_id="reveal_case")
def reveal_case(request: AuthedRequest, case_id: int) -> Any:
    """Make a confidential pre-resignation handover visible to the leaver."""
    return _case_action(request, case_id, lambda c, u: actions.reveal_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/withdraw", response=CaseDetail, operation_id="withdraw_case")
def withdraw_case(request: AuthedRequest, case_id: int, payload: ReasonIn | None = None) -> Any:
    body = payload or ReasonIn()
    return _case_action(
        request,
        case_id,
        lambda c, u: actions.withdraw_case(c, acting_user=u, reason=body.reason),
    )


@router.post("/cases/{int:case_id}/cancel", response=CaseDetail, operation_id="cancel_case")
def cancel_case(request: AuthedRequest, case_id: int, payload: ReasonIn | None = None) -> Any:
    body = payload or ReasonIn()
    return _case_action(
        request, case_id, lambda c, u: actions.cancel_case(c, acting_user=u, reason=body.reason)
    )


@router.post("/cases/{int:case_id}/restore", response=CaseDetail, operation_id="restore_case")
def restore_case(request: AuthedRequest, case_id: int) -> Any:
    """Undo a withdrawal or cancellation: the case returns to where it was, tasks and all."""
    return _case_action(request, case_id, lambda c, u: actions.restore_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/last-day", response=CaseDetail, operation_id="change_last_day")
def change_last_day(request: AuthedRequest, case_id: int, payload: LastDayIn) -> Any:
    """Move the last working day; open tasks' due dates follow."""
    return _case_action(
        request,
        case_id,
        lambda c, u: actions.change_last_day(c, payload.last_working_day, acting_user=u),
    )


@router.post("/cases/{int:case_id}/clear", response=CaseDetail, operation_id="clear_case")
def clear_case(request: AuthedRequest, case_id: int) -> Any:
    """Clearance (gates only the severance payment): every blocking item accepted or waived."""
    return _case_action(request, case_id, lambda c, u: actions.clear_case(c, acting_user=u))


@router.post("/cases/{int:case_id}/close", response=CaseDetail, operation_id="close_case")
def close_case(request: AuthedRequest, case_id: int) -> Any:
    return _case_action(request, case_id, lambda c, u: actions.close_case(c, acting_user=u))
