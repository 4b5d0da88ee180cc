"""A case's lawful exit in one place (`/compliance/cases/<id>/`): how the employment ends in
law (termination type, notice, the lawful earliest last day, what blocks it, the steps the law
requires), HR's forms for the terms, protected status, union notice and early release, and the
way to the settlement, the certificate, the statutory deadlines and the exit interview.

HR (case managers) see and change everything; others who see the case get the links their
role opens (the pages themselves decide what they show)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.compliance import actions_terms, rules
from baton.compliance import terminations as T
from baton.compliance.models import TerminationTerms
from baton.core.forms import run_action
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.handover.rules import is_leaver


class TermsForm(forms.Form):
    termination_type = forms.ChoiceField(label=gettext_lazy("Termination type"))
    notice_date = forms.DateField(
        label=gettext_lazy("Notice given on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    pay_in_lieu = forms.BooleanField(label=gettext_lazy("Pay in lieu of notice"), required=False)

    def __init__(self, *args: Any, case: ExitCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["termination_type"]
        field.choices = [
            (code, label) for code, label in T.type_choices() if T.compatible(code, case.exit_type)
        ]


class ProtectionForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label in T.PROTECTION_FLAGS.items():
            self.fields[code] = forms.BooleanField(label=str(label), required=False)


class DatedNoteForm(forms.Form):
    on = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("Evidence"), widget=forms.Textarea(attrs={"rows": 2}))


def _case(user: Any, pk: int) -> ExitCase:
    return authz.get_for(
        user,
        Perm.CASE_VIEW,
        ExitCase.objects.select_related("employee", "legal_entity", "employee__work_city"),
        pk=pk,
    )


def _manages(user: Any, case: ExitCase) -> bool:
    return authz.visible_to(
        user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)
    ).exists() and not is_leaver(user, case)


@login_required
def case_compliance(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    case = _case(user, pk)
    manages = _manages(user, case)
    terms = TerminationTerms.objects.filter(case=case).first()
    ctx: dict[str, Any] = {"case": case, "terms": terms, "manages": manages}
    if manages:
        assessment = actions_terms.assess_case(case, terms)
        code = terms.termination_type if terms else T.for_case(case)
        ctx.update(
            {
                "assessment": assessment,
                "type": T.TYPES[code],
                "jurisdiction": rules.jurisdiction_for(case),
                "terms_form": TermsForm(
                    case=case,
                    initial={
                        "termination_type": code,
                        "notice_date": terms.notice_date
                        if terms
                        else actions_terms.default_notice_date(case),
                        "pay_in_lieu": bool(terms and terms.pay_in_lieu),
                    },
                ),
                "protection_form": ProtectionForm(
                    initial={**(terms.protection if terms else {}), "note": ""}
                ),
                "union_form": DatedNoteForm(prefix="union"),
                "release_form": DatedNoteForm(prefix="release"),
            }
        )
    return render(request, "compliance/case.html", ctx)


def _done(request: AuthedRequest, case: ExitCase, ok: Any, message: str) -> HttpResponse:
    if ok is not None:
        messages.success(request, message)
    return redirect("compliance:case", pk=case.pk)


def _errors(request: AuthedRequest, form: forms.Form) -> None:
    for field, errs in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for err in errs:
            messages.error(request, f"{label}: {err}" if label else str(err))


@login_required
@require_POST
def case_compliance_op(request: AuthedRequest, pk: int, op: str) -> HttpResponse:
    user = request.user
    case = _case(user, pk)
    if not _manages(user, case):
        raise PermissionDenied(_("Only HR records how an employment ends."))
    form: forms.Form
    if op == "terms":
        form = TermsForm(request.POST, case=case)
        done = run_action(
            form, lambda: actions_terms.record_terms(case, form.cleaned_data, acting_user=user)
        )
        message = _("Termination terms recorded.")
    elif op == "protection":
        form = ProtectionForm(request.POST)
        done = run_action(
            form,
            lambda: actions_terms.set_protection(
                case,
                {k: v for k, v in form.cleaned_data.items() if k in T.PROTECTION_FLAGS},
                acting_user=user,
                note=form.cleaned_data["note"],
            ),
        )
        message = _("Protected status recorded.")
    elif op in ("union", "release"):
        form = DatedNoteForm(request.POST, prefix=op)

        def call() -> Any:
            on: dt.date = form.cleaned_data["on"]
            note: str = form.cleaned_data["note"]
            if op == "union":
                return actions_terms.record_union_notice(case, on, acting_user=user, evidence=note)
            return actions_terms.agree_early_release(case, on, acting_user=user, note=note)

        done = run_action(form, call)
        message = _("Recorded.")
    else:
        raise PermissionDenied(_("Unknown operation."))
    if done is None:
        _errors(request, form)
    return _done(request, case, done, message)


urlpatterns = [
    path("cases/<int:pk>/", case_compliance, name="case"),
    path("cases/<int:pk>/terms/<slug:op>/", case_compliance_op, name="case_op"),
]
