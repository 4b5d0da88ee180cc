"""The case page (header, progress, items by category, documents, timeline from the audit
trail) and the case's operations.

Views are thin: they fetch through `authz` (404 outside what the user may see), parse with a
form, call the action and show its refusal on the form. Buttons are shown only when allowed;
the actions refuse anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from baton.core.http import AuthedRequest
from baton.handover import actions, forms, rules
from baton.handover.models import (
    DONE_TASK_STATES,
    OPEN_CASE_STATES,
    Category,
    ExitCase,
    HandoverTask,
    TaskState,
)
from baton.handover.templates_logic import compose_checklist
from baton.handover.views.common import (
    get_case,
    get_task,
    is_overdue,
    rows,
    run,
)
from baton.handover.views.tasks import render_task
from baton.handover.views.timeline import timeline

LEGAL_GUARD = gettext_lazy(
    "Clearance gates only the severance payment. The separation certificate, final wages and "
    "the social-insurance / personnel-file transfer are never held back by open handover "
    "items (LCL 50, 89)."
)


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
    case_ops = rules.case_ops(user, case, tasks)
    ops = case_ops.flags()
    # HR sees why there is no clear button yet: blocking items are open.
    clear_waits = "clear" not in case_ops.forbidden and case.state in rules.IN_HANDOVER_STATES
    case_forms = _case_forms(case, ops, tasks)
    if bound is not None:
        case_forms[bound[0]] = bound[1]
        ops[bound[0]] = True  # keep showing the form with its errors
    task_rows = rows(tasks)
    groups = []
    labels = dict(Category.choices)
    for value, _label in Category.choices:
        in_group = [r for r in task_rows if r.task.category == value]
        if in_group:
            groups.append((labels[value], in_group))
    today = timezone.localdate()
    done = sum(1 for t in tasks if t.state in DONE_TASK_STATES)
    progress = {
        "total": len(tasks),
        "done": done,
        "overdue": sum(1 for t in tasks if is_overdue(t, today)),
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
            "timeline": timeline(case, tasks, documents),
            "ops": ops,
            "f": case_forms,
            "any_op": any(ops.values()),
            "clear_waits": clear_waits,
            "rights": {"leaver": rules.is_leaver(user, case)},
            "legal_guard": LEGAL_GUARD,
        },
        status=status,
    )


@login_required
def case_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _render_case(request, get_case(request, pk))


FormFactory = Callable[[QueryDict, ExitCase, list[HandoverTask]], djforms.Form]


def _form(
    cls: Callable[..., djforms.Form], prefix: str | None = None, *, pick_task: bool = False
) -> FormFactory:
    def make(post: QueryDict, case: ExitCase, tasks: list[HandoverTask]) -> djforms.Form:
        if pick_task:
            return cls(post, prefix=prefix, tasks=tasks)
        return cls(post, prefix=prefix)

    return make


_empty_form = _form(forms.EmptyForm)


def _approve_form(post: QueryDict, case: ExitCase, tasks: list[HandoverTask]) -> djforms.Form:
    ask = _ask_items(case) if case.state in OPEN_CASE_STATES else []
    return forms.ApproveForm(post, prefix="approve", ask_items=ask)


def _nothing(form: Any) -> dict[str, Any]:
    return {}


def _reason(form: Any) -> dict[str, Any]:
    return {"reason": form.cleaned_data["reason"]}


def _approval(form: Any) -> dict[str, Any]:
    return {"receivers": form.receivers(), "owners": form.owners(), "successor": form.successor()}


def _last_day(form: Any) -> dict[str, Any]:
    return {"last_working_day": form.cleaned_data["last_working_day"]}


def _item(form: Any) -> dict[str, Any]:
    return {"data": form.action_data()}


def _assignment(form: Any) -> dict[str, Any]:
    return {k: form.cleaned_data.get(k) for k in ("owner_id", "receiver_id", "approver_id")}


@dataclass(frozen=True)
class CaseOp:
    """One operation of the case page: the action, the form it is posted with, the action's
    arguments from the valid form, and what the user is told when it is done."""

    action: Callable[..., Any]
    message: Promise
    form: FormFactory = _empty_form
    args: Callable[[Any], dict[str, Any]] = _nothing
    on_task: bool = False  # the form picks one of the case's tasks, which the action takes


CASE_OPS: dict[str, CaseOp] = {
    "submit": CaseOp(actions.submit_case, gettext_lazy("The case was submitted for approval.")),
    "approve": CaseOp(
        actions.approve_case,
        gettext_lazy("Approved; the handover items were created."),
        _approve_form,
        _approval,
    ),
    "reveal": CaseOp(actions.reveal_case, gettext_lazy("The case is now visible to the employee.")),
    "withdraw": CaseOp(
        actions.withdraw_case,
        gettext_lazy("The case was withdrawn. Nothing was deleted."),
        _form(forms.ReasonForm, "withdraw"),
        _reason,
    ),
    "cancel": CaseOp(
        actions.cancel_case,
        gettext_lazy("The case was cancelled. Nothing was deleted."),
        _form(forms.ReasonForm, "cancel"),
        _reason,
    ),
    "restore": CaseOp(actions.restore_case, gettext_lazy("The case was restored.")),
    "last_day": CaseOp(
        actions.change_last_day,
        gettext_lazy("The last working day was changed; open items' due dates moved."),
        _form(forms.LastDayForm, "last_day"),
        _last_day,
    ),
    "clear": CaseOp(actions.clear_case, gettext_lazy("The case is cleared.")),
    "close": CaseOp(actions.close_case, gettext_lazy("The case is closed.")),
    "add_item": CaseOp(
        actions.add_task,
        gettext_lazy("The item was added."),
        _form(forms.AddItemForm, "add_item"),
        _item,
    ),
    "waive": CaseOp(
        actions.waive_task,
        gettext_lazy("The item was waived."),
        _form(forms.WaiveForm, "waive", pick_task=True),
        _reason,
        on_task=True,
    ),
    "reassign": CaseOp(
        actions.reassign_task,
        gettext_lazy("The item was reassigned."),
        _form(forms.ReassignForm, "reassign", pick_task=True),
        _assignment,
        on_task=True,
    ),
}


@login_required
@require_POST
def case_op(request: AuthedRequest, pk: int, op: str) -> HttpResponse:
    """Run one operation on a case from its page (or, for waive/reassign, from a task page)."""
    op = op.replace("-", "_")
    case = get_case(request, pk)
    user = request.user
    spec = CASE_OPS.get(op)
    if spec is None:
        raise Http404
    tasks = list(case.tasks.all()) if spec.on_task else []
    # Who may run it (the action refuses too); whether the state allows it is the action's
    # answer, shown on the form.
    rules.case_ops(user, case, tasks).require(op)
    form = spec.form(request.POST, case, tasks)

    def call() -> Any:
        target: Any = case
        if spec.on_task:
            target = {t.pk: t for t in tasks}[form.cleaned_data["task"]]
        return spec.action(target, acting_user=user, **spec.args(form))

    result, status = run(form, call)
    back_to_task = request.POST.get("return") == "task" and spec.on_task
    if status:
        if back_to_task and form.is_bound and "task" in form.cleaned_data:
            # HR waived or reassigned from the task page: show the refusal there.
            task = get_task(request, form.cleaned_data["task"])
            return render_task(request, task, bound=(op, form), status=status)
        return _render_case(request, get_case(request, pk), bound=(op, form), status=status)
    messages.success(request, str(spec.message))
    if back_to_task:
        return redirect("handover:task", result.pk)
    return redirect("handover:case", pk)


urlpatterns = [
    path("cases/<int:pk>/", case_detail, name="case"),
    path("cases/<int:pk>/<slug:op>/", case_op, name="case_op"),
]
