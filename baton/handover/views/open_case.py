"""Opening an exit case: resigning (self-service), or opening a case for someone (HR, a
manager)."""

from __future__ import annotations

from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover import actions, forms
from baton.handover.models import ExitCase, ExitType
from baton.handover.views.common import me
from baton.org.models import Employee


def _alias_errors(exc: ActionError, aliases: dict[str, str]) -> ActionError:
    renamed = {aliases.get(k, k): v for k, v in exc.field_errors.items()}
    copy = type(exc)(exc.message, renamed)
    return copy


def _mode(request: AuthedRequest, me_id: int | None, for_others: bool) -> str:
    """ "self" (resigning) or "other" (opening a case for someone), as asked when allowed."""
    mode = request.POST.get("mode") or request.GET.get("mode") or ""
    if mode not in ("self", "other"):
        mode = "other" if for_others else "self"
    if mode == "self" and not me_id:
        if not for_others:
            raise PermissionDenied(_("Your account is not linked to an employee record."))
        mode = "other"
    if mode == "other" and not for_others:
        mode = "self"
    return mode


def _open(
    form: djforms.Form,
    call: Any,
    aliases: dict[str, str],
    denied: str,
) -> tuple[ExitCase | None, int]:
    """Run the opening action: (case, 200) or (None, status) with the refusal on the form."""
    try:
        return call(form.cleaned_data), 200
    except ActionError as exc:
        apply_action_error(form, _alias_errors(exc, aliases))
        return None, exc.status
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or denied)
        return None, 403


@login_required
@require_http_methods(["GET", "POST"])
def open_case(request: AuthedRequest) -> HttpResponse:
    """Resign (self-service), or open a case for someone (HR, a manager)."""
    user = request.user
    me_id = me(user)
    can_manage = authz.has_perm(user, Perm.CASE_MANAGE)
    for_others = can_manage or authz.has_perm(user, Perm.CASE_APPROVE)
    mode = _mode(request, me_id, for_others)
    data = request.POST if request.method == "POST" else None
    form: djforms.Form
    if mode == "self":
        assert me_id is not None
        form = forms.ResignForm(data)
        aliases = {"last_working_day": "desired_last_day"}
        denied = _("You may not do this.")
        done = _("Your resignation was submitted. Your manager will confirm it.")

        def call(d: dict[str, Any]) -> ExitCase:
            return actions.open_case(
                Employee.objects.get(pk=me_id),
                acting_user=user,
                exit_type=ExitType.RESIGNATION,
                last_working_day=d["desired_last_day"],
                desired_last_day=d["desired_last_day"],
                reason=d["reason"],
                submit=True,
            )

    else:
        form = forms.OpenCaseForm(data, user=user, can_manage=can_manage)
        aliases = {"successor": "successor_number", "employee": "employee_number"}
        denied = _("You may not open an exit case for them.")
        done = _("The exit case was opened.")

        def call(d: dict[str, Any]) -> ExitCase:
            return actions.open_case(
                d["employee_number"],
                acting_user=user,
                exit_type=d["exit_type"],
                last_working_day=d["last_working_day"],
                reason=d["reason"],
                confidential=bool(d.get("confidential")),
                successor=d["successor_number"],
                submit=bool(d.get("submit")),
            )

    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            case, status = _open(form, call, aliases, denied)
            if case is not None:
                messages.success(request, done)
                return redirect("handover:case", case.pk)
    return render(
        request,
        "handover/open_case.html",
        {"form": form, "mode": mode, "for_others": for_others, "has_record": bool(me_id)},
        status=status,
    )


urlpatterns = [
    path("cases/new/", open_case, name="open_case"),
]
