"""What the handover views share: the task rows of lists, fetching a case or a task through
`authz` and running an action from a form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms as djforms
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover.models import DONE_TASK_STATES, ExitCase, HandoverTask
from baton.org.models import Employee

LIST_LIMIT = 100
NEW_LINK_SESSION_KEY = "handover_new_confirmation"


def me(user: Any) -> int | None:
    """The signed-in user's employee record, if their account is linked to one."""
    return authz.access_for(user).employee_id


def is_overdue(task: HandoverTask, today: dt.date) -> bool:
    return task.due_date < today and task.state not in DONE_TASK_STATES


def person(employee: Employee | None, user: Any, queue_label: str) -> str:
    if employee is not None:
        return f"{employee.name} ({employee.employee_number})"
    if user is not None:
        return str(user)
    if queue_label:
        return _("%(queue)s queue") % {"queue": queue_label}
    return "—"


@dataclass
class TaskRow:
    task: HandoverTask
    overdue: bool
    owner: str
    receiver: str
    approver: str


def rows(tasks: Iterable[HandoverTask]) -> list[TaskRow]:
    today = timezone.localdate()
    return [
        TaskRow(
            task=t,
            overdue=is_overdue(t, today),
            owner=person(t.owner, t.owner_user, t.get_owner_queue_display()),
            receiver=person(t.receiver, None, ""),
            approver=person(t.approver, t.approver_user, t.get_approver_queue_display()),
        )
        for t in tasks
    ]


def task_queryset() -> QuerySet[HandoverTask]:
    return HandoverTask.objects.select_related(
        "case",
        "case__employee",
        "case__legal_entity",
        "owner",
        "owner_user",
        "receiver",
        "approver",
        "approver_user",
    )


def get_case(request: AuthedRequest, pk: int) -> ExitCase:
    return authz.get_for(
        request.user,
        Perm.CASE_VIEW,
        ExitCase.objects.select_related(
            "employee",
            "employee__position",
            "department",
            "legal_entity",
            "business_unit",
            "successor",
            "opened_by",
            "template_version__template",
        ),
        pk=pk,
    )


def get_task(request: AuthedRequest, pk: int) -> HandoverTask:
    return authz.get_for(request.user, Perm.CASE_VIEW, task_queryset(), pk=pk)


def run(form: djforms.Form, call: Callable[[], Any]) -> tuple[Any, int]:
    """Validate the form and run the action: (result, 0) or (None, HTTP status) with the
    refusal on the form."""
    if not form.is_valid():
        return None, 400
    try:
        return call(), 0
    except ActionError as exc:
        apply_action_error(form, exc)
        return None, exc.status


def attachment(name: str, content_type: str, data: bytes) -> HttpResponse:
    """A decrypted handover document sent as a download that no cache keeps."""
    response = HttpResponse(data, content_type=content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    return response
