"""The customers of an exit case in the UI (客户交接): who each customer goes to, whether the
change reached the system and whether the customer was told and confirmed; the reassign form
(to the receiver, round robin or by current load over a team, with per-customer overrides)
and sending the letters.

The section is a partial for the case page (loaded by HTMX) and a page of its own. Only HR
and the leaver's manager see it (the actions refuse anyone else anyway).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError, InvalidInput
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.integrations import customers, letters, rules
from baton.integrations.actions import customers as customer_actions
from baton.integrations.actions import letters as letter_actions
from baton.org.models import Department, Employee

TEMPLATE = "integrations/case_customers.html"
CANDIDATES = 200  # people offered in the per-customer selects (the leaver's department)
STRATEGY_CHOICES = [
    ("", gettext_lazy("Only the changes per customer below")),
    ("receiver", gettext_lazy("All to the receiver")),
    ("round_robin", gettext_lazy("Round robin over a team")),
    ("by_load", gettext_lazy("By current load over a team")),
]


class ReassignForm(forms.Form):
    strategy = forms.ChoiceField(
        label=gettext_lazy("Reassign"), choices=STRATEGY_CHOICES, required=False
    )
    department = forms.TypedChoiceField(
        label=gettext_lazy("Team: a department"), coerce=int, required=False, empty_value=None
    )
    people = forms.CharField(
        label=gettext_lazy("Team: people"),
        required=False,
        help_text=gettext_lazy("Employee numbers, separated by commas or spaces."),
    )

    def __init__(self, *args: Any, departments: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", "—"), *departments]  # type: ignore[attr-defined]

    def numbers(self) -> list[str]:
        return [n for n in re.split(r"[\s,，;；]+", self.cleaned_data.get("people") or "") if n]


def _departments(case: ExitCase) -> list[tuple[int, str]]:
    return list(
        Department.objects.filter(business_unit_id=case.business_unit_id)
        .order_by("path")
        .values_list("pk", "name")
    )


def _candidates(user: Any, case: ExitCase) -> list[Employee]:
    """People offered per customer: the leaver's department, plus current owners."""
    qs = authz.visible_to(
        user,
        Perm.EMPLOYEE_VIEW,
        Employee.objects.filter(department_id=case.department_id).exclude(
            status__in=customers.UNAVAILABLE
        ),
    ).exclude(pk=case.employee_id)
    return list(qs.order_by("name", "id")[:CANDIDATES])


def _context(
    request: AuthedRequest, case: ExitCase, form: ReassignForm | None = None
) -> dict[str, Any]:
    user = request.user
    items = list(customers.customers_of(case))
    people = {e.pk: e for e in _candidates(user, case)}
    for item in items:
        if item.new_owner is not None:
            people.setdefault(item.new_owner.pk, item.new_owner)
    return {
        "case": case,
        "items": items,
        "people": sorted(people.values(), key=lambda e: (e.name, e.pk)),
        "form": form or ReassignForm(departments=_departments(case)),
        "channel": letters.email_channel(case),
        "unsent": sum(
            1 for i in items if i.new_owner_id and i.contact_email and not i.letter_sent_at
        ),
        "can_act": case.state in rules.WORK_CASE_STATES,
    }


def _show(
    request: AuthedRequest,
    case: ExitCase,
    form: ReassignForm | None = None,
    status: int = 200,
    notice: str = "",
) -> HttpResponse:
    ctx = {**_context(request, case, form), "notice": notice}
    if request.headers.get("HX-Request"):
        return render(request, f"{TEMPLATE}#section", ctx, status=status)
    return render(request, TEMPLATE, ctx, status=status)


@login_required
def case_customers(request: AuthedRequest, pk: int) -> HttpResponse:
    """The case's customers (a page, or the case page's section when asked by HTMX)."""
    return _show(request, customers.case_for_handler(request.user, pk))


def _done(request: AuthedRequest, case: ExitCase, message: str) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return _show(request, case, notice=message)
    messages.success(request, message)
    return redirect(reverse("integrations:case_customers", args=[case.pk]))


@login_required
@require_POST
def case_customers_reassign(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    case = customers.case_for_handler(user, pk)
    form = ReassignForm(request.POST, departments=_departments(case))
    if not form.is_valid():
        return _show(request, case, form, status=400)
    overrides: dict[int, int] = {}
    for key in request.POST:
        value = request.POST.get(key, "").strip()
        if key.startswith("owner_") and key[6:].isdigit() and value.isdigit():
            overrides[int(key[6:])] = int(value)
    try:
        team = _team(user, form)
        result = customer_actions.reassign_customers(
            case,
            acting_user=user,
            strategy=form.cleaned_data["strategy"] or None,
            team=team,
            overrides=overrides,
        )
    except ActionError as exc:
        apply_action_error(form, exc)
        return _show(request, case, form, status=exc.status)
    return _done(
        request,
        case,
        ngettext(
            "%(moved)s customer reassigned (%(same)s already had that owner).",
            "%(moved)s customers reassigned (%(same)s already had that owner).",
            len(result.moved),
        )
        % {"moved": len(result.moved), "same": len(result.unchanged)},
    )


def _team(user: Any, form: ReassignForm) -> list[Employee]:
    department = form.cleaned_data.get("department")
    if department:
        return customers.team_of_department(user, department)
    numbers = form.numbers()
    if not numbers:
        return []
    found = {
        e.employee_number: e
        for e in authz.visible_to(
            user, Perm.EMPLOYEE_VIEW, Employee.objects.filter(employee_number__in=numbers)
        )
    }
    missing = [n for n in numbers if n not in found]
    if missing:
        raise InvalidInput.field(
            "people",
            _("Unknown employee number, or outside what you may see: %(numbers)s.")
            % {"numbers": ", ".join(missing)},
        )
    return [found[n] for n in dict.fromkeys(numbers)]


@login_required
@require_POST
def case_customers_letters(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    case = customers.case_for_handler(user, pk)
    try:
        queued = letter_actions.request_letters(
            case, acting_user=user, resend=request.POST.get("resend") == "1"
        )
    except ActionError as exc:
        form = ReassignForm(departments=_departments(case))
        form.add_error(None, exc.message)
        return _show(request, case, form, status=exc.status)
    return _done(
        request,
        case,
        ngettext(
            "%(count)s letter will be sent to customers.",
            "%(count)s letters will be sent to customers.",
            queued,
        )
        % {"count": queued},
    )
