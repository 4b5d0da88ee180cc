"""/api/handover: handover tasks."""


# No `from __future__ import annotations` here: django-ninja reads the payload, File and Form
# annotations of these endpoints at run time.

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.errors import InvalidInput
from baton.core.http import AuthedRequest
from baton.handover import actions, rules
from baton.handover.api.cases import (
    PersonRef,
    ReasonIn,
    TaskAddIn,
    employee_or_invalid,
)
from baton.handover.api.common import (
    fetch_case,
    fetch_task,
    page,
    reader,
    task_queryset,
    writer,
)
from baton.handover.models import (
    DONE_TASK_STATES,
    EvidenceKind,
    HandoverTask,
    TaskState,
)
from baton.org.models import Employee

router = Router(tags=["handover"])

# ---------------------------------------------------------------- tasks


class SubItemOut(Schema):
    label: str
    done: bool


class TaskOut(Schema):
    id: int
    case_id: int
    leaver: PersonRef = Field(...)
    key: str
    title: str
    category: str
    owner_id: int | None
    owner_user_id: int | None
    owner_queue: str
    receiver_id: int | None
    approver_id: int | None
    approver_user_id: int | None
    approver_queue: str
    due_date: dt.date
    due_offset: int | None
    overdue: bool = Field(...)
    acceptance_criteria: str
    evidence_kind: EvidenceKind
    sub_items: list[SubItemOut]
    blocks_clearance: bool
    reusable: bool
    state: TaskState
    note: str
    last_comment: str
    added_by_hr: bool
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_leaver(obj: HandoverTask) -> Employee:
        return obj.case.employee

    @staticmethod
    def resolve_overdue(obj: HandoverTask) -> bool:
        return obj.state not in DONE_TASK_STATES and obj.due_date < timezone.localdate()


class TaskDetail(TaskOut):
    missing_evidence: list[str] = Field(...)
    allowed_ops: list[str] = Field(
        ..., description="The operations the caller may run on this task now (rules.task_ops)."
    )

    @staticmethod
    def resolve_allowed_ops(obj: HandoverTask, context: dict[str, Any]) -> list[str]:
        return list(rules.task_ops(context["request"].user, obj).allowed)

    @staticmethod
    def resolve_missing_evidence(obj: HandoverTask) -> list[str]:
        if obj.state in DONE_TASK_STATES:
            return []
        return [str(m) for m in actions.missing_evidence(obj)]


class TaskPage(Page):
    items: list[TaskOut]


class WorkIn(Schema):
    note: str | None = Field(default=None, max_length=20000)
    done_sub_items: list[int] | None = Field(
        None, description="Indexes of the sub-items that are done (the others are not)."
    )


class SubmitIn(Schema):
    note: str | None = Field(default=None, max_length=20000)


class CommentIn(Schema):
    comment: str = Field(default="", max_length=2000)


class ReassignIn(Schema):
    owner_id: int | None = None
    receiver_id: int | None = None
    approver_id: int | None = None


@router.get("/tasks", response=TaskPage, operation_id="list_tasks")
def list_tasks(
    request: AuthedRequest,
    case: int | None = None,
    state: TaskState | None = None,
    mine: Literal["owner", "approver", "receiver"] | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Handover tasks the user may see: on cases they may see, and those they take part in."""
    user = reader(request)
    qs = authz.visible_to(user, Perm.CASE_VIEW, task_queryset())
    if case is not None:
        qs = qs.filter(case_id=case)
    if state is not None:
        qs = qs.filter(state=state)
    if mine is not None:
        qs = qs.filter(authz.task_role_q(user, mine))
    if overdue:
        qs = qs.filter(due_date__lt=timezone.localdate()).exclude(state__in=DONE_TASK_STATES)
    return page(qs.order_by("due_date", "case_id", "sort", "id"), limit, offset)


@router.get("/tasks/{int:task_id}", response=TaskDetail, operation_id="get_task")
def get_task(request: AuthedRequest, task_id: int) -> Any:
    return fetch_task(reader(request), task_id)


@router.post("/cases/{int:case_id}/tasks", response={201: TaskDetail}, operation_id="add_task")
def add_task(request: AuthedRequest, case_id: int, payload: TaskAddIn) -> Any:
    """HR adds an item to a running case (HR accepts it)."""
    user = writer(request)
    case = fetch_case(user, case_id)
    employee_or_invalid("owner_id", payload.owner_id)
    employee_or_invalid("receiver_id", payload.receiver_id)
    task = actions.add_task(case, payload.model_dump(), acting_user=user)
    return Status(201, task_queryset().get(pk=task.pk))


def _task_action(
    request: AuthedRequest, task_id: int, do: Callable[[HandoverTask, Any], Any]
) -> HandoverTask:
    user = writer(request)
    task = fetch_task(user, task_id)
    do(task, user)
    return task_queryset().get(pk=task.pk)


@router.post("/tasks/{int:task_id}/start", response=TaskDetail, operation_id="start_task")
def start_task(request: AuthedRequest, task_id: int) -> Any:
    return _task_action(request, task_id, lambda t, u: actions.start_task(t, acting_user=u))


@router.patch("/tasks/{int:task_id}/work", response=TaskDetail, operation_id="update_task_work")
def update_task_work(request: AuthedRequest, task_id: int, payload: WorkIn) -> Any:
    """The owner records progress: the handover note and which sub-items are done."""
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.update_task_work(
            t, acting_user=u, note=payload.note, done_sub_items=payload.done_sub_items
        ),
    )


@router.post("/tasks/{int:task_id}/submit", response=TaskDetail, operation_id="submit_task")
def submit_task(request: AuthedRequest, task_id: int, payload: SubmitIn | None = None) -> Any:
    """The owner submits for acceptance; the declared evidence must be complete."""
    body = payload or SubmitIn()
    return _task_action(
        request, task_id, lambda t, u: actions.submit_task(t, acting_user=u, note=body.note)
    )


@router.post("/tasks/{int:task_id}/accept", response=TaskDetail, operation_id="accept_task")
def accept_task(request: AuthedRequest, task_id: int, payload: CommentIn | None = None) -> Any:
    body = payload or CommentIn()
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.accept_task(t, acting_user=u, comment=body.comment),
    )


@router.post("/tasks/{int:task_id}/reject", response=TaskDetail, operation_id="reject_task")
def reject_task(request: AuthedRequest, task_id: int, payload: CommentIn | None = None) -> Any:
    """Send the work back to the owner; the comment says what is missing."""
    body = payload or CommentIn()
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.reject_task(t, acting_user=u, comment=body.comment),
    )


@router.post("/tasks/{int:task_id}/waive", response=TaskDetail, operation_id="waive_task")
def waive_task(request: AuthedRequest, task_id: int, payload: ReasonIn | None = None) -> Any:
    body = payload or ReasonIn()
    return _task_action(
        request, task_id, lambda t, u: actions.waive_task(t, acting_user=u, reason=body.reason)
    )


@router.post("/tasks/{int:task_id}/reassign", response=TaskDetail, operation_id="reassign_task")
def reassign_task(request: AuthedRequest, task_id: int, payload: ReassignIn) -> Any:
    """HR gives the item another owner, receiver or approver (employee ids)."""
    if payload.owner_id is None and payload.receiver_id is None and payload.approver_id is None:
        raise InvalidInput(_("The request is not valid."))
    return _task_action(
        request,
        task_id,
        lambda t, u: actions.reassign_task(
            t,
            acting_user=u,
            owner_id=payload.owner_id,
            receiver_id=payload.receiver_id,
            approver_id=payload.approver_id,
        ),
    )
