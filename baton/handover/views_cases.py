"""Exit cases and handover tasks in the UI: my handover work, opening a case, the case page
(header, progress, items by category, documents, timeline from the audit trail, the case's
operations), the task page (evidence, sub-items, note, documents, external confirmations,
acceptance) and the public confirmation page for outside parties.

Views are thin: they fetch through `authz` (404 outside what the user may see), parse with a
form, call the action and show its refusal on the form. Buttons are shown only when allowed;
the actions refuse anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.audit.models import AuditEntry
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover import actions, forms
from baton.handover.models import (
    DONE_TASK_STATES,
    OPEN_CASE_STATES,
    CaseState,
    Category,
    Document,
    ExitCase,
    ExitType,
    ExternalConfirmation,
    HandoverTask,
    TaskState,
)
from baton.handover.templates_logic import compose_checklist
from baton.org.models import Employee

# Cases whose tasks are worked (the actions refuse task changes in other states).
ACTIVE_CASE_STATES = (CaseState.APPROVED, CaseState.HANDOVER, CaseState.CLEARED)
WORK_STATES = (TaskState.TODO, TaskState.IN_PROGRESS, TaskState.REJECTED)
LIST_LIMIT = 100
TIMELINE_LIMIT = 200
NEW_LINK_SESSION_KEY = "handover_new_confirmation"

LEGAL_GUARD = gettext_lazy(
    "Clearance gates only the severance payment. The separation certificate, final wages and "
    "the social-insurance / personnel-file transfer are never held back by open handover "
    "items (LCL 50, 89)."
)


# ---------------------------------------------------------------- helpers


def _me(user: Any) -> int | None:
    return authz.access_for(user).employee_id


def _is_overdue(task: HandoverTask, today: dt.date) -> bool:
    return task.due_date < today and task.state not in DONE_TASK_STATES


def _person(employee: Employee | None, user: Any, queue_label: str) -> str:
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


def _rows(tasks: Iterable[HandoverTask]) -> list[TaskRow]:
    today = timezone.localdate()
    return [
        TaskRow(
            task=t,
            overdue=_is_overdue(t, today),
            owner=_person(t.owner, t.owner_user, t.get_owner_queue_display()),
            receiver=_person(t.receiver, None, ""),
            approver=_person(t.approver, t.approver_user, t.get_approver_queue_display()),
        )
        for t in tasks
    ]


def _task_queryset() -> QuerySet[HandoverTask]:
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


def _run(form: djforms.Form, call: Callable[[], Any]) -> tuple[Any, int]:
    """Validate the form and run the action: (result, 0) or (None, HTTP status) with the
    refusal on the form."""
    if not form.is_valid():
        return None, 400
    try:
        return call(), 0
    except ActionError as exc:
        apply_action_error(form, exc)
        return None, exc.status


# ---------------------------------------------------------------- my handover


@login_required
def my_tasks(request: AuthedRequest) -> HttpResponse:
    """Everything the signed-in user has to do or has received, in one place."""
    user = request.user
    me = _me(user)
    today = timezone.localdate()
    visible = authz.visible_to(user, Perm.CASE_VIEW, _task_queryset())
    base = visible.filter(case__state__in=ACTIVE_CASE_STATES).order_by(
        "due_date", "case_id", "sort", "id"
    )
    owned_qs = base.filter(authz.task_role_q(user, "owner")).exclude(state__in=DONE_TASK_STATES)
    owned = list(owned_qs[: LIST_LIMIT + 1])
    owned_overdue = (
        sum(1 for t in owned if _is_overdue(t, today))
        if len(owned) <= LIST_LIMIT
        else owned_qs.filter(due_date__lt=today).count()
    )
    to_accept_qs = base.filter(
        authz.task_role_q(user, "approver"), state=TaskState.SUBMITTED
    ).exclude(submitted_by_id=user.pk)
    if me:
        # Nobody accepts items of their own exit.
        to_accept_qs = to_accept_qs.exclude(case__employee_id=me)
    to_accept = list(to_accept_qs[: LIST_LIMIT + 1])
    received: list[HandoverTask] = []
    if me:
        # What was handed over stays readable after the leaver has gone (closed cases).
        received = list(
            visible.filter(
                receiver_id=me, case__state__in=(*ACTIVE_CASE_STATES, CaseState.CLOSED)
            ).order_by("-case_id", "sort", "id")[: LIST_LIMIT + 1]
        )
    my_case = None
    can_resign = False
    if me:
        my_case = (
            authz.visible_to(user, Perm.CASE_VIEW, ExitCase.objects.filter(employee_id=me))
            .select_related("department")
            .order_by("-opened_at")
            .first()
        )
        can_resign = authz.has_perm(user, Perm.CASE_PARTICIPATE) and (
            my_case is None or not my_case.is_open
        )
    # Resignations waiting for this user's approval (direct manager, department head, HR).
    to_approve = []
    if authz.has_perm(user, Perm.CASE_PARTICIPATE):
        to_approve = list(
            authz.visible_to(
                user,
                Perm.CASE_APPROVE,
                ExitCase.objects.filter(state__in=(CaseState.DRAFT, CaseState.SUBMITTED)),
            )
            .exclude(employee_id=me or 0)
            .select_related("employee", "department")
            .order_by("last_working_day")[:LIST_LIMIT]
        )
    my_progress = None
    if my_case is not None and my_case.state in ACTIVE_CASE_STATES:
        states = list(my_case.tasks.values_list("state", "due_date"))
        my_progress = {
            "total": len(states),
            "done": sum(1 for s, _d in states if s in DONE_TASK_STATES),
            "overdue": sum(1 for s, d in states if d < today and s not in DONE_TASK_STATES),
        }
    return render(
        request,
        "handover/my_tasks.html",
        {
            "owned": _rows(owned[:LIST_LIMIT]),
            "owned_more": len(owned) > LIST_LIMIT,
            "owned_overdue": owned_overdue,
            "to_accept": _rows(to_accept[:LIST_LIMIT]),
            "to_accept_more": len(to_accept) > LIST_LIMIT,
            "received": _rows(received[:LIST_LIMIT]),
            "received_more": len(received) > LIST_LIMIT,
            "my_case": my_case,
            "to_approve": to_approve,
            "my_progress": my_progress,
            "can_resign": can_resign,
            "limit": LIST_LIMIT,
        },
    )


# ---------------------------------------------------------------- opening a case


def _alias_errors(exc: ActionError, aliases: dict[str, str]) -> ActionError:
    renamed = {aliases.get(k, k): v for k, v in exc.field_errors.items()}
    copy = type(exc)(exc.message, renamed)
    return copy


@login_required
@require_http_methods(["GET", "POST"])
def open_case(request: AuthedRequest) -> HttpResponse:
    """Resign (self-service), or open a case for someone (HR, a manager)."""
    user = request.user
    me = _me(user)
    can_manage = authz.has_perm(user, Perm.CASE_MANAGE)
    for_others = can_manage or authz.has_perm(user, Perm.CASE_APPROVE)
    mode = request.POST.get("mode") or request.GET.get("mode") or ""
    if mode not in ("self", "other"):
        mode = "other" if for_others else "self"
    if mode == "self" and not me:
        if not for_others:
            raise PermissionDenied(_("Your account is not linked to an employee record."))
        mode = "other"
    if mode == "other" and not for_others:
        mode = "self"
    data = request.POST if request.method == "POST" else None
    form: djforms.Form
    status = 200
    if mode == "self":
        assert me is not None
        form = forms.ResignForm(data)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                case = actions.open_case(
                    Employee.objects.get(pk=me),
                    acting_user=user,
                    exit_type=ExitType.RESIGNATION,
                    last_working_day=d["desired_last_day"],
                    desired_last_day=d["desired_last_day"],
                    reason=d["reason"],
                    submit=True,
                )
            except ActionError as exc:
                apply_action_error(
                    form, _alias_errors(exc, {"last_working_day": "desired_last_day"})
                )
                status = exc.status
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You may not do this."))
                status = 403
            else:
                messages.success(
                    request,
                    _("Your resignation was submitted. Your manager will confirm it."),
                )
                return redirect("handover:case", case.pk)
        elif request.method == "POST":
            status = 400
    else:
        form = forms.OpenCaseForm(data, user=user, can_manage=can_manage)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                case = actions.open_case(
                    d["employee_number"],
                    acting_user=user,
                    exit_type=d["exit_type"],
                    last_working_day=d["last_working_day"],
                    reason=d["reason"],
                    confidential=bool(d.get("confidential")),
                    successor=d["successor_number"],
                    submit=bool(d.get("submit")),
                )
            except ActionError as exc:
                apply_action_error(
                    form,
                    _alias_errors(
                        exc, {"successor": "successor_number", "employee": "employee_number"}
                    ),
                )
                status = exc.status
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You may not open an exit case for them."))
                status = 403
            else:
                messages.success(request, _("The exit case was opened."))
                return redirect("handover:case", case.pk)
        elif request.method == "POST":
            status = 400
    return render(
        request,
        "handover/open_case.html",
        {"form": form, "mode": mode, "for_others": for_others, "has_record": bool(me)},
        status=status,
    )


# ---------------------------------------------------------------- the case page


@dataclass
class TimelineRow:
    when: dt.datetime
    event: str
    actor: str
    subject: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    note: str = ""


FIELD_LABELS = {
    "state": gettext_lazy("state"),
    "note": gettext_lazy("handover note"),
    "sub_items": gettext_lazy("sub-items"),
    "last_working_day": gettext_lazy("last working day"),
    "exit_type": gettext_lazy("exit type"),
    "confidential": gettext_lazy("confidential"),
    "successor": gettext_lazy("successor"),
    "owner_id": gettext_lazy("owner"),
    "owner_queue": gettext_lazy("owner queue"),
    "owner_user_id": gettext_lazy("owner"),
    "receiver_id": gettext_lazy("receiver"),
    "approver_id": gettext_lazy("approver"),
    "approver_queue": gettext_lazy("approver queue"),
    "approver_user_id": gettext_lazy("approver"),
}
CASE_STATE_LABELS = dict(CaseState.choices)
TASK_STATE_LABELS = dict(TaskState.choices)


def _value(v: Any, labels: dict[str, Any] | None = None) -> str:
    if v is None or v == "":
        return "∅"
    if labels and isinstance(v, str) and v in labels:
        return str(labels[v])
    if isinstance(v, list):
        return ", ".join(
            f"{'☑' if s.get('done') else '☐'} {s.get('label', '')}"
            if isinstance(s, dict)
            else str(s)
            for s in v
        )
    return str(v)


def _timeline(
    case: ExitCase,
    tasks: Sequence[HandoverTask],
    documents: Sequence[Document],
) -> list[TimelineRow]:
    """The case's history from the audit trail: the case, its tasks, documents and
    confirmations."""
    task_titles = {str(t.pk): t.title for t in tasks}
    doc_titles = {str(d.pk): f"{d.name} v{d.version}" for d in documents}
    conf_titles = {
        str(pk): name
        for pk, name in ExternalConfirmation.objects.filter(task__case=case).values_list(
            "pk", "recipient_name"
        )
    }
    q = Q(subject_type="handover.exitcase", subject_id=str(case.pk))
    for label, ids in (
        ("handover.handovertask", task_titles),
        ("handover.document", doc_titles),
        ("handover.externalconfirmation", conf_titles),
    ):
        if ids:
            q |= Q(subject_type=label, subject_id__in=list(ids))
    subjects = {
        "handover.handovertask": task_titles,
        "handover.document": doc_titles,
        "handover.externalconfirmation": conf_titles,
    }
    out = []
    for entry in AuditEntry.objects.filter(q).order_by("-id")[:TIMELINE_LIMIT]:
        data = entry.data
        if data.get("scrubbed"):
            out.append(
                TimelineRow(entry.created_at, entry.get_event_type_display(), "—", "", note="")
            )
            continue
        labels = (
            CASE_STATE_LABELS if entry.subject_type == "handover.exitcase" else TASK_STATE_LABELS
        )
        changes = [
            (
                str(FIELD_LABELS.get(k, k)),
                _value(v[0], labels if k == "state" else None),
                _value(v[1], labels if k == "state" else None),
            )
            for k, v in (data.get("changes") or {}).items()
            if isinstance(v, list | tuple) and len(v) == 2
        ]
        extra = data.get("extra") or {}
        note = str(extra.get("reason") or extra.get("comment") or extra.get("note") or "")
        out.append(
            TimelineRow(
                when=entry.created_at,
                event=entry.get_event_type_display(),
                actor=str(data.get("actor") or "—"),
                subject=subjects.get(entry.subject_type, {}).get(entry.subject_id, ""),
                changes=changes,
                note=note,
            )
        )
    return out


def _get_case(request: AuthedRequest, pk: int) -> ExitCase:
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


@dataclass
class CaseRights:
    leaver: bool  # the leaver, taking part in their own handover
    own: bool  # the case is the user's own exit
    manage: bool
    approve: bool

    def ops(self, case: ExitCase, tasks: Sequence[HandoverTask]) -> dict[str, bool]:
        open_ = case.is_open
        working = case.state in ACTIVE_CASE_STATES
        # HR rights on one's own exit are not offered (no waiving one's own items).
        hr = self.manage and not self.own
        has_open_tasks = any(t.state not in DONE_TASK_STATES for t in tasks)
        return {
            "submit": case.state == CaseState.DRAFT and (self.leaver or self.approve),
            "approve": case.state in (CaseState.DRAFT, CaseState.SUBMITTED) and self.approve,
            "reveal": hr and case.confidential and case.revealed_at is None,
            # The employee withdraws their own resignation until it is approved; after that
            # a withdrawal is agreed with HR, who records it.
            "withdraw": (open_ and hr)
            or (
                self.leaver
                and case.exit_type == ExitType.RESIGNATION
                and case.state in (CaseState.DRAFT, CaseState.SUBMITTED)
            ),
            "cancel": open_ and hr,
            "restore": hr
            and case.state in (CaseState.WITHDRAWN, CaseState.CANCELLED)
            and bool(case.state_before_stop),
            "last_day": open_ and hr,
            "clear": hr and case.state in (CaseState.APPROVED, CaseState.HANDOVER),
            "close": hr and case.state == CaseState.CLEARED,
            "add_item": hr and case.state in (CaseState.APPROVED, CaseState.HANDOVER),
            "waive": hr and working and has_open_tasks,
            "reassign": hr and working and bool(tasks),
        }


def _case_rights(user: Any, case: ExitCase) -> CaseRights:
    one = ExitCase.objects.filter(pk=case.pk)
    # The leaver acts on their own case only while they take part in handovers at all.
    leaver = _me(user) == case.employee_id and authz.has_perm(user, Perm.CASE_PARTICIPATE)
    manage = authz.has_perm(user, Perm.CASE_MANAGE) and (
        authz.visible_to(user, Perm.CASE_MANAGE, one).exists()
    )
    own = _me(user) == case.employee_id
    # Not has_perm(CASE_APPROVE): a direct manager approves their reports' exits whatever
    # their role; authz.case_q decides.
    approve = (
        not own
        and authz.has_perm(user, Perm.CASE_PARTICIPATE)
        and authz.visible_to(user, Perm.CASE_APPROVE, one).exists()
    )
    return CaseRights(leaver=leaver, own=own, manage=manage, approve=approve)


def _ask_items(case: ExitCase) -> list[dict[str, Any]]:
    """Checklist items whose receiver or owner is asked for at approval."""
    _versions, items = compose_checklist(case.employee, case.exit_type)
    return [i for i in items if i.get("receiver_rule") == "ask" or i.get("owner_role") == "ask"]


def _case_forms(
    case: ExitCase, ops: dict[str, bool], tasks: Sequence[HandoverTask]
) -> dict[str, djforms.Form]:
    open_tasks = [t for t in tasks if t.state not in DONE_TASK_STATES]
    made: dict[str, djforms.Form] = {
        "submit": forms.EmptyForm(),
        "reveal": forms.EmptyForm(),
        "restore": forms.EmptyForm(),
        "clear": forms.EmptyForm(),
        "close": forms.EmptyForm(),
        "withdraw": forms.ReasonForm(prefix="withdraw"),
        "cancel": forms.ReasonForm(prefix="cancel"),
        "last_day": forms.LastDayForm(
            prefix="last_day", initial={"last_working_day": case.last_working_day}
        ),
        "add_item": forms.AddItemForm(prefix="add_item"),
        "waive": forms.WaiveForm(prefix="waive", tasks=open_tasks),
        "reassign": forms.ReassignForm(prefix="reassign", tasks=tasks),
    }
    if ops.get("approve"):
        made["approve"] = forms.ApproveForm(prefix="approve", ask_items=_ask_items(case))
    return made


def _render_case(
    request: AuthedRequest,
    case: ExitCase,
    *,
    bound: tuple[str, djforms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    tasks = list(
        case.tasks.select_related("owner", "owner_user", "receiver", "approver", "approver_user")
    )
    documents = list(case.documents.select_related("task", "uploaded_by"))
    rights = _case_rights(user, case)
    ops = rights.ops(case, tasks)
    case_forms = _case_forms(case, ops, tasks)
    if bound is not None:
        case_forms[bound[0]] = bound[1]
        ops[bound[0]] = True  # keep showing the form with its errors
    rows = _rows(tasks)
    groups = []
    labels = dict(Category.choices)
    for value, _label in Category.choices:
        in_group = [r for r in rows if r.task.category == value]
        if in_group:
            groups.append((labels[value], in_group))
    today = timezone.localdate()
    done = sum(1 for t in tasks if t.state in DONE_TASK_STATES)
    progress = {
        "total": len(tasks),
        "done": done,
        "overdue": sum(1 for t in tasks if _is_overdue(t, today)),
        "blocking_open": sum(
            1 for t in tasks if t.blocks_clearance and t.state not in DONE_TASK_STATES
        ),
        "submitted": sum(1 for t in tasks if t.state == TaskState.SUBMITTED),
    }
    return render(
        request,
        "handover/case_detail.html",
        {
            "case": case,
            "groups": groups,
            "progress": progress,
            "documents": documents,
            "timeline": _timeline(case, tasks, documents),
            "ops": ops,
            "f": case_forms,
            "any_op": any(ops.values()),
            "rights": rights,
            "legal_guard": LEGAL_GUARD,
        },
        status=status,
    )


@login_required
def case_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _render_case(request, _get_case(request, pk))


MANAGE_OPS = {
    "reveal",
    "cancel",
    "restore",
    "last_day",
    "clear",
    "close",
    "add_item",
    "waive",
    "reassign",
}


@login_required
@require_POST
def case_op(request: AuthedRequest, pk: int, op: str) -> HttpResponse:
    """Run one operation on a case from its page (or, for waive/reassign, from a task page)."""
    op = op.replace("-", "_")
    case = _get_case(request, pk)
    user = request.user
    if op in MANAGE_OPS and _me(user) == case.employee_id:
        raise PermissionDenied(_("You cannot manage your own exit case."))
    tasks = list(case.tasks.all()) if op in ("waive", "reassign") else []
    task_by_id = {t.pk: t for t in tasks}
    post = request.POST
    form: djforms.Form
    call: Callable[[], Any]
    done_message = _("Done.")

    if op == "submit":
        form = forms.EmptyForm(post)
        call = lambda: actions.submit_case(case, acting_user=user)  # noqa: E731
        done_message = _("The case was submitted for approval.")
    elif op == "approve":
        approve_form = forms.ApproveForm(
            post,
            prefix="approve",
            ask_items=_ask_items(case) if case.state in OPEN_CASE_STATES else [],
        )
        form = approve_form
        call = lambda: actions.approve_case(  # noqa: E731
            case,
            acting_user=user,
            receivers=approve_form.receivers(),
            owners=approve_form.owners(),
            successor=approve_form.successor(),
        )
        done_message = _("Approved; the handover items were created.")
    elif op == "reveal":
        form = forms.EmptyForm(post)
        call = lambda: actions.reveal_case(case, acting_user=user)  # noqa: E731
        done_message = _("The case is now visible to the employee.")
    elif op == "withdraw":
        form = forms.ReasonForm(post, prefix="withdraw")
        call = lambda: actions.withdraw_case(  # noqa: E731
            case, acting_user=user, reason=form.cleaned_data["reason"]
        )
        done_message = _("The case was withdrawn. Nothing was deleted.")
    elif op == "cancel":
        form = forms.ReasonForm(post, prefix="cancel")
        call = lambda: actions.cancel_case(  # noqa: E731
            case, acting_user=user, reason=form.cleaned_data["reason"]
        )
        done_message = _("The case was cancelled. Nothing was deleted.")
    elif op == "restore":
        form = forms.EmptyForm(post)
        call = lambda: actions.restore_case(case, acting_user=user)  # noqa: E731
        done_message = _("The case was restored.")
    elif op == "last_day":
        form = forms.LastDayForm(post, prefix="last_day")
        call = lambda: actions.change_last_day(  # noqa: E731
            case, form.cleaned_data["last_working_day"], acting_user=user
        )
        done_message = _("The last working day was changed; open items' due dates moved.")
    elif op == "clear":
        form = forms.EmptyForm(post)
        call = lambda: actions.clear_case(case, acting_user=user)  # noqa: E731
        done_message = _("The case is cleared.")
    elif op == "close":
        form = forms.EmptyForm(post)
        call = lambda: actions.close_case(case, acting_user=user)  # noqa: E731
        done_message = _("The case is closed.")
    elif op == "add_item":
        add_form = forms.AddItemForm(post, prefix="add_item")
        form = add_form
        call = lambda: actions.add_task(  # noqa: E731
            case, add_form.action_data(), acting_user=user
        )
        done_message = _("The item was added.")
    elif op == "waive":
        form = forms.WaiveForm(post, prefix="waive", tasks=tasks)
        call = lambda: actions.waive_task(  # noqa: E731
            task_by_id[form.cleaned_data["task"]],
            acting_user=user,
            reason=form.cleaned_data["reason"],
        )
        done_message = _("The item was waived.")
    elif op == "reassign":
        form = forms.ReassignForm(post, prefix="reassign", tasks=tasks)
        call = lambda: actions.reassign_task(  # noqa: E731
            task_by_id[form.cleaned_data["task"]],
            acting_user=user,
            owner_id=form.cleaned_data.get("owner_id"),
            receiver_id=form.cleaned_data.get("receiver_id"),
            approver_id=form.cleaned_data.get("approver_id"),
        )
        done_message = _("The item was reassigned.")
    else:
        raise Http404

    result, status = _run(form, call)
    back_to_task = post.get("return") == "task" and op in ("waive", "reassign")
    if status:
        if back_to_task and form.is_bound and "task" in form.cleaned_data:
            # HR waived or reassigned from the task page: show the refusal there.
            from baton.handover.views_tasks import _get_task, _render_task

            task = _get_task(request, form.cleaned_data["task"])
            return _render_task(request, task, bound=(op, form), status=status)
        return _render_case(request, _get_case(request, pk), bound=(op, form), status=status)
    messages.success(request, done_message)
    if back_to_task:
        return redirect("handover:task", result.pk)
    return redirect("handover:case", pk)


urlpatterns = [
    path("tasks/", my_tasks, name="my_tasks"),
    path("cases/new/", open_case, name="open_case"),
    path("cases/<int:pk>/", case_detail, name="case"),
    path("cases/<int:pk>/<slug:op>/", case_op, name="case_op"),
]
