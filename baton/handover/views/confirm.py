"""The public confirmation page an outside party opens from a confirmation link (no
account)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from baton.core.context import current as current_context
from baton.core.errors import ActionError, Conflict, InvalidInput
from baton.handover import actions, forms
from baton.handover.models import ExternalConfirmation


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
