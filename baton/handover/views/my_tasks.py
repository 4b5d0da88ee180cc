"""My handover: everything the signed-in user has to do, to accept, to approve or has
received, in one place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from baton.access import authz
from baton.access.authz import Perm
from baton.core.http import AuthedRequest
from baton.handover.models import DONE_TASK_STATES, CaseState, ExitCase, HandoverTask, TaskState
from baton.handover.rules import ACTIVE_CASE_STATES
from baton.handover.views.common import (
    LIST_LIMIT,
    is_overdue,
    me,
    rows,
    task_queryset,
)


def _own_case(user: Any, me_id: int | None, today: dt.date) -> dict[str, Any]:
    """The user's own exit case (if any), its progress, and whether they may resign now."""
    my_case = None
    can_resign = False
    if me_id:
        my_case = (
            authz.visible_to(user, Perm.CASE_VIEW, ExitCase.objects.filter(employee_id=me_id))
            .select_related("department")
            .order_by("-opened_at")
            .first()
        )
        can_resign = authz.has_perm(user, Perm.CASE_PARTICIPATE) and (
            my_case is None or not my_case.is_open
        )
    my_progress = None
    if my_case is not None and my_case.state in ACTIVE_CASE_STATES:
        states = list(my_case.tasks.values_list("state", "due_date"))
        my_progress = {
            "total": len(states),
            "done": sum(1 for s, _d in states if s in DONE_TASK_STATES),
            "overdue": sum(1 for s, d in states if d < today and s not in DONE_TASK_STATES),
        }
    return {"my_case": my_case, "my_progress": my_progress, "can_resign": can_resign}


def _to_approve(user: Any, me_id: int | None) -> list[ExitCase]:
    """Resignations waiting for this user's approval (direct manager, department head, HR)."""
    if not authz.has_perm(user, Perm.CASE_PARTICIPATE):
        return []
    return list(
        authz.visible_to(
            user,
            Perm.CASE_APPROVE,
            ExitCase.objects.filter(state__in=(CaseState.DRAFT, CaseState.SUBMITTED)),
        )
        .exclude(employee_id=me_id or 0)
        .select_related("employee", "department")
        .order_by("last_working_day")[:LIST_LIMIT]
    )


@login_required
def my_tasks(request: AuthedRequest) -> HttpResponse:
    """Everything the signed-in user has to do or has received, in one place."""
    user = request.user
    me_id = me(user)
    today = timezone.localdate()
    visible = authz.visible_to(user, Perm.CASE_VIEW, task_queryset())
    base = visible.filter(case__state__in=ACTIVE_CASE_STATES).order_by(
        "due_date", "case_id", "sort", "id"
    )
    owned_qs = base.filter(authz.task_role_q(user, "owner")).exclude(state__in=DONE_TASK_STATES)
    owned = list(owned_qs[: LIST_LIMIT + 1])
    owned_overdue = (
        sum(1 for t in owned if is_overdue(t, today))
        if len(owned) <= LIST_LIMIT
        else owned_qs.filter(due_date__lt=today).count()
    )
    to_accept_qs = base.filter(
        authz.task_role_q(user, "approver"), state=TaskState.SUBMITTED
    ).exclude(submitted_by_id=user.pk)
    if me_id:
        # Nobody accepts items of their own exit.
        to_accept_qs = to_accept_qs.exclude(case__employee_id=me_id)
    to_accept = list(to_accept_qs[: LIST_LIMIT + 1])
    received: list[HandoverTask] = []
    if me_id:
        # What was handed over stays readable after the leaver has gone (closed cases).
        received = list(
            visible.filter(
                receiver_id=me_id, case__state__in=(*ACTIVE_CASE_STATES, CaseState.CLOSED)
            ).order_by("-case_id", "sort", "id")[: LIST_LIMIT + 1]
        )
    return render(
        request,
        "handover/my_tasks.html",
        {
            "owned": rows(owned[:LIST_LIMIT]),
            "owned_more": len(owned) > LIST_LIMIT,
            "owned_overdue": owned_overdue,
            "to_accept": rows(to_accept[:LIST_LIMIT]),
            "to_accept_more": len(to_accept) > LIST_LIMIT,
            "received": rows(received[:LIST_LIMIT]),
            "received_more": len(received) > LIST_LIMIT,
            **_own_case(user, me_id, today),
            "to_approve": _to_approve(user, me_id),
            "limit": LIST_LIMIT,
        },
    )


urlpatterns = [
    path("tasks/", my_tasks, name="my_tasks"),
]
