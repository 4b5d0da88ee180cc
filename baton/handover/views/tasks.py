"""The task page (work, evidence, decisions) and document downloads (the public
confirmation page is in views/confirm.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import Conflict
from baton.core.http import AuthedRequest
from baton.handover import actions, forms, rules
from baton.handover.models import (
    Document,
    ExitCase,
    HandoverTask,
)
from baton.handover.views.common import (
    NEW_LINK_SESSION_KEY,
    attachment,
    get_task,
    me,
    rows,
    run,
)

# ---------------------------------------------------------------- the task page


@dataclass
class TaskRights:
    """What the page says about the user's relation to the item (not what they may do: that
    is `rules.task_ops`)."""

    owner: bool
    case_visible: bool


def _task_context(request: AuthedRequest, task: HandoverTask) -> dict[str, Any]:
    user = request.user
    ops = rules.task_ops(user, task)
    one = ExitCase.objects.filter(pk=task.case_id)
    rights = TaskRights(
        owner=rules.is_owner(user, task),
        case_visible=authz.visible_to(user, Perm.CASE_VIEW, one).exists(),
    )
    return {
        "task": task,
        "row": rows([task])[0],
        "rights": rights,
        "ops": ops.flags(),
        "active": task.case.state in rules.ACTIVE_CASE_STATES,
        "can_work": "note" in ops,
        "can_start": "start" in ops,
        "can_decide": "accept" in ops,
        "can_confirm": "confirmation" in ops,
        "can_waive": "waive" in ops,
        "can_reassign": "reassign" in ops,
        "is_receiver": task.receiver_id is not None and task.receiver_id == me(user),
    }


def render_task(
    request: AuthedRequest,
    task: HandoverTask,
    *,
    bound: tuple[str, djforms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    ctx = _task_context(request, task)
    ctx["documents"] = list(
        task.documents.select_related("uploaded_by").order_by("name", "-version")
    )
    ctx["confirmations"] = list(task.confirmations.select_related("created_by").order_by("-id"))
    ctx["missing"] = actions.missing_evidence(task) if ctx["can_work"] else []
    ctx["now_ts"] = timezone.now()
    new_link = request.session.get(NEW_LINK_SESSION_KEY)
    if isinstance(new_link, dict) and new_link.get("task") == task.pk:
        ctx["new_link"] = request.session.pop(NEW_LINK_SESSION_KEY)["url"]
    f: dict[str, djforms.Form] = {
        "subitems": forms.SubItemsForm(task=task),
        "note": forms.NoteForm(prefix="note", initial={"note": task.note}),
        "upload": forms.UploadForm(prefix="upload"),
        "confirmation": forms.ConfirmationForm(prefix="confirmation"),
        "decision": forms.DecisionForm(prefix="decision"),
        "submit": forms.EmptyForm(),
        "start": forms.EmptyForm(),
        "waive": forms.WaiveForm(prefix="waive", tasks=[task], initial={"task": task.pk}),
        "reassign": forms.ReassignForm(prefix="reassign", tasks=[task], initial={"task": task.pk}),
    }
    if bound is not None:
        f[bound[0]] = bound[1]
    ctx["f"] = f
    return render(request, "handover/task_detail.html", ctx, status=status)


@login_required
def task_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return render_task(request, get_task(request, pk))


TaskFormFactory = Callable[[QueryDict, MultiValueDict[str, UploadedFile]], djforms.Form]


def _form(cls: Callable[..., djforms.Form], prefix: str | None = None) -> TaskFormFactory:
    def make(post: QueryDict, files: MultiValueDict[str, UploadedFile]) -> djforms.Form:
        return cls(post, prefix=prefix)

    return make


def _upload_form(post: QueryDict, files: MultiValueDict[str, UploadedFile]) -> djforms.Form:
    return forms.UploadForm(post, files, prefix="upload")


def _start(task: HandoverTask, user: Any, form: Any) -> Any:
    return actions.start_task(task, acting_user=user)


def _submit(task: HandoverTask, user: Any, form: Any) -> Any:
    return actions.submit_task(task, acting_user=user)


def _accept(task: HandoverTask, user: Any, form: Any) -> Any:
    return actions.accept_task(task, acting_user=user, comment=form.cleaned_data["comment"])


def _reject(task: HandoverTask, user: Any, form: Any) -> Any:
    return actions.reject_task(task, acting_user=user, comment=form.cleaned_data["comment"])


def _note(task: HandoverTask, user: Any, form: Any) -> Any:
    return actions.update_task_work(task, acting_user=user, note=form.cleaned_data["note"])


def _upload(task: HandoverTask, user: Any, form: Any) -> Any:
    d = form.cleaned_data
    return actions.upload_document(
        task.case, d["file"], acting_user=user, task=task, reusable=d["reusable"], note=d["note"]
    )


def _confirmation(task: HandoverTask, user: Any, form: Any) -> Any:
    d = form.cleaned_data
    return actions.create_confirmation(
        task,
        acting_user=user,
        recipient_name=d["recipient_name"],
        recipient_email=d["recipient_email"],
        statement=d["statement"],
        valid_days=d["valid_days"],
    )


@dataclass(frozen=True)
class TaskOp:
    """One operation of the task page: the form it is posted with (and the name of that form
    on the page), the action called with the valid form, and what the user is told."""

    form: TaskFormFactory
    call: Callable[[HandoverTask, Any, Any], Any]
    message: Promise
    key: str


TASK_OPS: dict[str, TaskOp] = {
    "start": TaskOp(_form(forms.EmptyForm), _start, gettext_lazy("Started."), "start"),
    "submit": TaskOp(
        _form(forms.EmptyForm), _submit, gettext_lazy("Submitted for acceptance."), "submit"
    ),
    "accept": TaskOp(
        _form(forms.DecisionForm, "decision"), _accept, gettext_lazy("Accepted."), "decision"
    ),
    "reject": TaskOp(
        _form(forms.DecisionForm, "decision"),
        _reject,
        gettext_lazy("Rejected; it went back to the owner."),
        "decision",
    ),
    "note": TaskOp(
        _form(forms.NoteForm, "note"), _note, gettext_lazy("The handover note was saved."), "note"
    ),
    "upload": TaskOp(
        _upload_form, _upload, gettext_lazy("The file was uploaded and encrypted."), "upload"
    ),
    "confirmation": TaskOp(
        _form(forms.ConfirmationForm, "confirmation"),
        _confirmation,
        gettext_lazy("The confirmation link was created."),
        "confirmation",
    ),
}


@login_required
@require_POST
def task_op(request: AuthedRequest, pk: int, op: str) -> HttpResponse:
    """Start, submit, accept, reject, save the note, upload a file, create a confirmation
    link."""
    task = get_task(request, pk)
    user = request.user
    rules.task_ops(user, task).require(op)
    spec = TASK_OPS.get(op)
    if spec is None:
        raise Http404
    form = spec.form(request.POST, request.FILES)
    result, status = run(form, partial(spec.call, task, user, form))
    if status:
        fresh = get_task(request, pk)
        return render_task(request, fresh, bound=(spec.key, form), status=status)
    if op == "confirmation":
        _conf, raw = result
        request.session[NEW_LINK_SESSION_KEY] = {
            "task": task.pk,
            "url": request.build_absolute_uri(actions.confirmation_link(raw)),
        }
    messages.success(request, str(spec.message))
    return redirect("handover:task", pk)


@login_required
@require_POST
def task_sub_items(request: AuthedRequest, pk: int) -> HttpResponse:
    """Tick sub-items; with HTMX the sub-items block (and the state badge) is re-rendered."""
    task = get_task(request, pk)
    user = request.user
    rules.task_ops(user, task).require("subitems")
    form = forms.SubItemsForm(request.POST, task=task)
    _result, status = run(
        form,
        lambda: actions.update_task_work(
            task, acting_user=user, done_sub_items=form.cleaned_data["done"]
        ),
    )
    htmx = bool(request.headers.get("HX-Request"))
    if not htmx:
        if status:
            return render_task(
                request, get_task(request, pk), bound=("subitems", form), status=status
            )
        return redirect("handover:task", pk)
    fresh = get_task(request, pk)
    ctx = _task_context(request, fresh)
    ctx["f"] = {"subitems": form if status else forms.SubItemsForm(task=fresh)}
    ctx["missing"] = actions.missing_evidence(fresh) if ctx["can_work"] else []
    html = render_to_string("handover/task_detail.html#subitems", ctx, request=request)
    ctx["oob"] = True
    for block in ("state", "missing"):
        html += render_to_string(f"handover/task_detail.html#{block}", ctx, request=request)
    # HTMX does not swap error responses: the refusal is shown in the block with a 200.
    return HttpResponse(html)


@login_required
def document_download(request: AuthedRequest, pk: int) -> HttpResponse:
    """Decrypt and send a handover document as an attachment; the read is audited."""
    doc = authz.get_for(request.user, Perm.CASE_VIEW, Document, pk=pk)
    try:
        data = actions.read_document(doc, acting_user=request.user)
    except Conflict as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    return attachment(doc.name, doc.content_type, data)


urlpatterns = [
    path("tasks/<int:pk>/", task_detail, name="task"),
    path("tasks/<int:pk>/sub-items/", task_sub_items, name="task_sub_items"),
    path("tasks/<int:pk>/<slug:op>/", task_op, name="task_op"),
    path("documents/<int:pk>/download/", document_download, name="document_download"),
]
