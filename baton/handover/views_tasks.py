"""The task page (work, evidence, decisions), document downloads and the public
confirmation page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.context import current as current_context
from baton.core.errors import ActionError, Conflict, InvalidInput
from baton.core.http import AuthedRequest
from baton.handover import actions, forms
from baton.handover.models import (
    DONE_TASK_STATES,
    Document,
    EvidenceKind,
    ExitCase,
    ExternalConfirmation,
    HandoverTask,
    TaskState,
)

# Cases whose tasks are worked (the actions refuse task changes in other states).
from baton.handover.views_cases import (
    ACTIVE_CASE_STATES,
    NEW_LINK_SESSION_KEY,
    WORK_STATES,
    _me,
    _rows,
    _run,
    _task_queryset,
)

# ---------------------------------------------------------------- the task page


@dataclass
class TaskRights:
    owner: bool
    approver: bool
    manage: bool
    leaver: bool
    case_visible: bool


def _task_rights(user: Any, task: HandoverTask) -> TaskRights:
    me = _me(user)
    leaver = me is not None and me == task.case.employee_id
    owner = actions.is_owner(user, task)
    if leaver:
        # On their own exit a leaver works only the items they own in person; queue items
        # and acceptance belong to others.
        owner = owner and (task.owner_id == me or task.owner_user_id == user.pk)
    approver = not leaver and actions.is_approver(user, task)
    one = ExitCase.objects.filter(pk=task.case_id)
    manage = (
        not leaver
        and authz.has_perm(user, Perm.CASE_MANAGE)
        and authz.visible_to(user, Perm.CASE_MANAGE, one).exists()
    )
    case_visible = authz.visible_to(user, Perm.CASE_VIEW, one).exists()
    return TaskRights(owner, approver, manage, leaver, case_visible)


def _get_task(request: AuthedRequest, pk: int) -> HandoverTask:
    return authz.get_for(request.user, Perm.CASE_VIEW, _task_queryset(), pk=pk)


def _task_context(request: AuthedRequest, task: HandoverTask) -> dict[str, Any]:
    rights = _task_rights(request.user, task)
    active = task.case.state in ACTIVE_CASE_STATES
    working = active and task.state in WORK_STATES
    can_work = rights.owner and working
    return {
        "task": task,
        "row": _rows([task])[0],
        "rights": rights,
        "active": active,
        "can_work": can_work,
        "can_start": can_work and task.state == TaskState.TODO,
        # The person who submitted an item never decides on it (a queue may own and accept).
        "can_decide": rights.approver
        and active
        and task.state == TaskState.SUBMITTED
        and task.submitted_by_id != request.user.pk,
        "can_confirm": (
            active
            and task.evidence_kind == EvidenceKind.EXTERNAL
            and task.state not in DONE_TASK_STATES
            and (rights.owner or rights.manage)
        ),
        "can_waive": rights.manage and active and task.state not in DONE_TASK_STATES,
        "can_reassign": rights.manage and active,
        "is_receiver": task.receiver_id is not None and task.receiver_id == _me(request.user),
    }


def _render_task(
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
    return _render_task(request, _get_task(request, pk))


def _guard_leaver(user: Any, task: HandoverTask, op: str) -> None:
    """The UI's rule on top of the actions: on their own exit a leaver acts only on items they
    own in person."""
    rights = _task_rights(user, task)
    if not rights.leaver:
        return
    if op in ("accept", "reject") or not rights.owner:
        raise PermissionDenied(_("Only the owner of this item can do this."))


@login_required
@require_POST
def task_op(request: AuthedRequest, pk: int, op: str) -> HttpResponse:
    """Start, submit, accept, reject, save the note, upload a file, create a confirmation
    link."""
    task = _get_task(request, pk)
    user = request.user
    _guard_leaver(user, task, op)
    post = request.POST
    form: djforms.Form
    call: Callable[[], Any]
    if op == "start":
        form = forms.EmptyForm(post)
        call = lambda: actions.start_task(task, acting_user=user)  # noqa: E731
        message = _("Started.")
    elif op == "submit":
        form = forms.EmptyForm(post)
        call = lambda: actions.submit_task(task, acting_user=user)  # noqa: E731
        message = _("Submitted for acceptance.")
    elif op in ("accept", "reject"):
        form = forms.DecisionForm(post, prefix="decision")
        decide = actions.accept_task if op == "accept" else actions.reject_task
        call = lambda: decide(  # noqa: E731
            task, acting_user=user, comment=form.cleaned_data["comment"]
        )
        message = _("Accepted.") if op == "accept" else _("Rejected; it went back to the owner.")
    elif op == "note":
        form = forms.NoteForm(post, prefix="note")
        call = lambda: actions.update_task_work(  # noqa: E731
            task, acting_user=user, note=form.cleaned_data["note"]
        )
        message = _("The handover note was saved.")
    elif op == "upload":
        form = forms.UploadForm(post, request.FILES, prefix="upload")
        call = lambda: actions.upload_document(  # noqa: E731
            task.case,
            form.cleaned_data["file"],
            acting_user=user,
            task=task,
            reusable=form.cleaned_data["reusable"],
            note=form.cleaned_data["note"],
        )
        message = _("The file was uploaded and encrypted.")
    elif op == "confirmation":
        form = forms.ConfirmationForm(post, prefix="confirmation")
        call = lambda: actions.create_confirmation(  # noqa: E731
            task,
            acting_user=user,
            recipient_name=form.cleaned_data["recipient_name"],
            recipient_email=form.cleaned_data["recipient_email"],
            statement=form.cleaned_data["statement"],
            valid_days=form.cleaned_data["valid_days"],
        )
        message = _("The confirmation link was created.")
    else:
        raise Http404
    result, status = _run(form, call)
    if status:
        fresh = _get_task(request, pk)
        key = "decision" if op in ("accept", "reject") else op
        return _render_task(request, fresh, bound=(key, form), status=status)
    if op == "confirmation":
        _conf, raw = result
        request.session[NEW_LINK_SESSION_KEY] = {
            "task": task.pk,
            "url": request.build_absolute_uri(actions.confirmation_link(raw)),
        }
    messages.success(request, message)
    return redirect("handover:task", pk)


@login_required
@require_POST
def task_sub_items(request: AuthedRequest, pk: int) -> HttpResponse:
    """Tick sub-items; with HTMX the sub-items block (and the state badge) is re-rendered."""
    task = _get_task(request, pk)
    user = request.user
    _guard_leaver(user, task, "subitems")
    form = forms.SubItemsForm(request.POST, task=task)
    _result, status = _run(
        form,
        lambda: actions.update_task_work(
            task, acting_user=user, done_sub_items=form.cleaned_data["done"]
        ),
    )
    htmx = bool(request.headers.get("HX-Request"))
    if not htmx:
        if status:
            return _render_task(
                request, _get_task(request, pk), bound=("subitems", form), status=status
            )
        return redirect("handover:task", pk)
    fresh = _get_task(request, pk)
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
    response = HttpResponse(data, content_type=doc.content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, doc.name)
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- public confirmation


def _confirm_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    invalid = isinstance(exc, InvalidInput)
    return render(
        request,
        "handover/confirm_error.html",
        {"message": exc.message, "invalid": invalid},
        status=404 if invalid else 410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """The page an outside party opens from a confirmation link (no account). The link carries
    its one-time token after "#", which never reaches the server; this page posts it in a form
    body (a small script; without one, the recipient pastes it), so the secret is in no URL a
    server or proxy logs. One answer; expired, used or unknown links explain themselves (410 /
    404)."""
    if request.method == "GET":
        return render(request, "handover/confirm_open.html")
    return _confirm_with(request, request.POST.get("token", "").strip())


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_legacy(request: HttpRequest, token: str) -> HttpResponse:
    """Links sent before the token moved into the fragment (`/confirm/<token>/`, still in
    mailboxes) keep working: GET sends the browser on to the fragment form without looking the
    token up, and a page opened from such a link before the upgrade can still post its answer."""
    if request.method == "GET":
        return redirect(actions.confirmation_link(token))
    return _confirm_with(request, token)


def _confirm_with(request: HttpRequest, token: str) -> HttpResponse:
    try:
        conf = actions.find_confirmation(token)
    except (InvalidInput, Conflict) as exc:
        return _confirm_error(request, exc)
    answering = "answer" in request.POST
    form = forms.AnswerForm(request.POST if answering else None)
    if answering and form.is_valid():
        try:
            conf = actions.answer_confirmation(
                token,
                confirmed=form.cleaned_data["answer"] == "yes",
                note=form.cleaned_data["note"],
                client_ip=current_context().client_ip or "",
            )
        except (InvalidInput, Conflict) as exc:
            return _confirm_error(request, exc)
        return render(request, "handover/confirm_done.html", {"conf": conf})
    conf = ExternalConfirmation.objects.select_related(
        "created_by", "task__case__legal_entity"
    ).get(pk=conf.pk)
    return render(
        request,
        "handover/confirm.html",
        {
            "conf": conf,
            "company": conf.task.case.legal_entity.name,
            "form": form,
            # Posted back with the answer: the page's own URL carries no token.
            "token": token,
        },
        status=400 if answering else 200,
    )


urlpatterns = [
    path("tasks/<int:pk>/", task_detail, name="task"),
    path("tasks/<int:pk>/sub-items/", task_sub_items, name="task_sub_items"),
    path("tasks/<int:pk>/<slug:op>/", task_op, name="task_op"),
    path("documents/<int:pk>/download/", document_download, name="document_download"),
]
