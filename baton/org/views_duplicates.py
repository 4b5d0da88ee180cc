"""The duplicates page: people recorded more than once, and merging their records (HR)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.org import duplicates
from baton.org.actions_merge import merge_employees
from baton.org.models import Employee


class MergeForm(forms.Form):
    survivor = forms.IntegerField(label=gettext_lazy("Keep"))
    duplicate = forms.IntegerField(label=gettext_lazy("Merge into the kept record"))
    reason = forms.CharField(label=gettext_lazy("Why they are the same person"), max_length=500)


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.EMPLOYEE_CHANGE)
    groups = duplicates.find_duplicates(request.user)
    return render(request, "org/duplicates.html", {"groups": groups})


@login_required
@require_http_methods(["POST"])
def duplicate_merge(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.EMPLOYEE_CHANGE)
    form = MergeForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label}: {' '.join(str(e) for e in errs)}"
            for name, errs in form.errors.items()
        )
        messages.error(request, _("The merge was not done. %(problems)s") % {"problems": problems})
        return redirect("org:duplicates")
    data = form.cleaned_data
    survivor = authz.get_for(request.user, Perm.EMPLOYEE_CHANGE, Employee, pk=data["survivor"])
    duplicate = authz.get_for(request.user, Perm.EMPLOYEE_CHANGE, Employee, pk=data["duplicate"])
    try:
        result = merge_employees(
            survivor, duplicate, acting_user=request.user, reason=data["reason"]
        )
    except ActionError as exc:
        details = " ".join(m for msgs in exc.field_errors.values() for m in msgs)
        messages.error(request, f"{exc.message} {details}".strip())
        return redirect("org:duplicates")
    skipped = sum(result.skipped.values())
    text = _("%(duplicate)s was merged into %(survivor)s.") % {
        "duplicate": duplicate.employee_number,
        "survivor": survivor.employee_number,
    }
    if skipped:
        text += " " + _(
            "%(n)d rows the kept record already had for the same day or period stayed with "
            "the merged record."
        ) % {"n": skipped}
    messages.success(request, text)
    return redirect("org:duplicates")
