"""Pages of the separation certificate: the case's certificate page (issue, download, revoke,
the statutory deadlines) for HR and the leaver, the download, and the public verification page
that anyone can open from the QR code without an account."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.compliance import actions_certificates as actions
from baton.compliance import actions_deadlines, deadlines
from baton.compliance import certificates as docs
from baton.compliance.models import Certificate, CertificateKind, StatutoryDeadline
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.handover.rules import is_leaver

JP_ITEM_LABELS = (
    ("period", gettext_lazy("Period of employment")),
    ("job_type", gettext_lazy("Type of work")),
    ("position", gettext_lazy("Position")),
    ("wage", gettext_lazy("Wage")),
    ("reason", gettext_lazy("Reason for leaving")),
)


class IssueForm(forms.Form):
    hold_until_handover = forms.BooleanField(
        label=gettext_lazy("Hold the certificate until the handover is complete"), required=False
    )
    items = forms.MultipleChoiceField(
        label=gettext_lazy("Items the worker asked for"),
        choices=JP_ITEM_LABELS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    wage = forms.CharField(label=gettext_lazy("Wage"), max_length=200, required=False)
    reason = forms.CharField(
        label=gettext_lazy("Reason for leaving"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RevokeForm(forms.Form):
    certificate = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Why is it revoked?"), max_length=500)


class DeadlineForm(forms.Form):
    deadline = forms.IntegerField(widget=forms.HiddenInput)
    evidence_note = forms.CharField(label=gettext_lazy("Evidence"), max_length=2000)


def _case(request: AuthedRequest, pk: int) -> tuple[ExitCase, bool, bool]:
    """The case, whether the user is HR over it and whether they are its leaver; anyone else
    is refused (the page is HR's and the leaver's)."""
    case = authz.get_for(
        request.user,
        Perm.CASE_VIEW,
        ExitCase.objects.select_related("employee__position", "legal_entity"),
        pk=pk,
    )
    leaver = is_leaver(request.user, case)
    manage = (
        not leaver
        and authz.visible_to(
            request.user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)
        ).exists()
    )
    if not (leaver or manage):
        raise PermissionDenied(_("The certificate page is for HR and the employee."))
    return case, manage, leaver


def _context(
    request: AuthedRequest, case: ExitCase, manage: bool, leaver: bool, **forms_: Any
) -> dict[str, Any]:
    certs = list(
        Certificate.objects.filter(case=case)
        .select_related("issued_by", "template")
        .defer("pdf")
        .order_by("-issued_at", "-id")
    )
    today = timezone.localdate()
    rows = list(
        StatutoryDeadline.objects.filter(case=case)
        .select_related("done_by", "task")
        .order_by("due_date", "id")
    )
    valid = next((c for c in certs if not c.is_revoked), None)
    kind = docs.kind_for(case)
    return {
        "case": case,
        "manage": manage,
        "leaver": leaver,
        "certs": certs,
        "valid": valid,
        "kind": kind,
        "is_jp": kind == CertificateKind.JP_TAISHOKU,
        "issuable": kind is not None and case.state in actions.ISSUABLE_STATES,
        "deadlines": [(d, deadlines.is_overdue(d, today)) for d in rows],
        "issue_form": forms_.get("issue_form") or IssueForm(),
        "revoke_form": forms_.get("revoke_form") or RevokeForm(),
        "deadline_form": forms_.get("deadline_form"),
        "deadline_bound": forms_.get("deadline_bound"),
        "hold_refusal": actions.hold_refusal(),
        "early": case.last_working_day > today,
    }


@login_required
def case_certificate(request: AuthedRequest, pk: int) -> HttpResponse:
    case, manage, leaver = _case(request, pk)
    return render(
        request, "compliance/certificate_case.html", _context(request, case, manage, leaver)
    )


@login_required
@require_POST
def case_certificate_op(request: AuthedRequest, pk: int, op: str) -> HttpResponse:
    """HR's actions on the page: issue (or the refused hold), revoke, record a deadline met."""
    case, manage, leaver = _case(request, pk)
    if not manage:
        raise PermissionDenied(_("Only HR issues and revokes certificates."))
    user = request.user
    bound: dict[str, Any] = {}
    form: forms.Form
    try:
        if op == "issue":
            form = bound["issue_form"] = IssueForm(request.POST)
            if not form.is_valid():
                raise _Invalid
            if form.cleaned_data["hold_until_handover"]:
                # Refused (and recorded); the form comes back unticked, with the reason.
                data = request.POST.copy()
                data.pop("hold_until_handover", None)
                form = bound["issue_form"] = IssueForm(data)
                form.is_valid()
                actions.hold_certificate(case, acting_user=user, reason="hold_until_handover")
            cert = actions.issue_certificate(
                case,
                acting_user=user,
                items=form.cleaned_data["items"],
                wage=form.cleaned_data["wage"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("Certificate %(number)s issued.") % {"number": cert.number})
        elif op == "revoke":
            form = bound["revoke_form"] = RevokeForm(request.POST)
            if not form.is_valid():
                raise _Invalid
            target = Certificate.objects.filter(
                pk=form.cleaned_data["certificate"], case=case
            ).first()
            if target is None:
                raise Http404
            actions.revoke_certificate(target, acting_user=user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The certificate was revoked."))
        elif op == "deadline":
            form = bound["deadline_form"] = DeadlineForm(request.POST)
            if not form.is_valid():
                raise _Invalid
            row = StatutoryDeadline.objects.filter(
                pk=form.cleaned_data["deadline"], case=case
            ).first()
            if row is None:
                raise Http404
            bound["deadline_bound"] = row.pk
            actions_deadlines.complete_deadline(
                row, acting_user=user, evidence_note=form.cleaned_data["evidence_note"]
            )
            messages.success(request, _("Recorded as done."))
        else:
            raise Http404
    except _Invalid:
        return _render_errors(request, case, manage, leaver, bound, 400)
    except ActionError as exc:
        apply_action_error(form, exc)
        return _render_errors(request, case, manage, leaver, bound, exc.status)
    return redirect("compliance:case_certificate", case.pk)


class _Invalid(Exception):
    """The form did not validate (its errors are on it)."""


def _render_errors(
    request: AuthedRequest,
    case: ExitCase,
    manage: bool,
    leaver: bool,
    bound: dict[str, Any],
    status: int,
) -> HttpResponse:
    case.refresh_from_db()
    return render(
        request,
        "compliance/certificate_case.html",
        _context(request, case, manage, leaver, **bound),
        status=status,
    )


@login_required
@require_GET
def certificate_download(request: AuthedRequest, pk: int) -> HttpResponse:
    """The issued PDF, for HR and the leaver; every download is audited."""
    cert = actions.get_certificate(request.user, pk)
    data = actions.read_certificate_pdf(cert, acting_user=request.user)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{cert.number}.pdf")
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- public verification


@never_cache
@require_GET
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Whether a certificate is genuine: its number, employer, the person's name partly
    masked, the termination date, position, when it was issued and whether it was revoked —
    nothing else. An unknown code is a 404."""
    cert = actions.verify(code)
    if cert is None:
        return render(request, "compliance/certificate_verify_unknown.html", status=404)
    facts = cert.facts
    return render(
        request,
        "compliance/certificate_verify.html",
        {
            "cert": cert,
            "employer": cert.legal_entity.name,
            "masked_name": docs.mask_name(str(facts.get("name", ""))),
            # As stated on the paper (frozen at issue), and only if the paper states it (a JP
            # 退職証明書 carries only the items the worker asked for).
            "termination_date": facts.get("termination_date")
            or str(facts.get("period", "")).rpartition("～")[2],
            "position": facts.get("position", ""),
            "kind_label": CertificateKind(cert.kind).label,
        },
    )


@login_required
def register(request: AuthedRequest) -> HttpResponse:
    """The issuance register (HR and auditors): every certificate issued for cases in scope,
    with its number, issuer and time, newest first."""
    user = request.user
    if not (authz.has_perm(user, Perm.CASE_MANAGE) or authz.has_perm(user, Perm.AUDIT_VIEW)):
        raise PermissionDenied(_("The certificate register is for HR and auditors."))
    qs = (
        Certificate.objects.filter(authz.case_q(user, Perm.CASE_VIEW, "case__"))
        .select_related("case__employee", "legal_entity", "issued_by")
        .order_by("-issued_at", "-id")
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "compliance/certificate_register.html", {"page": page})


urlpatterns = [
    path("certificates/", register, name="certificate_register"),
    path("cases/<int:pk>/certificate/", case_certificate, name="case_certificate"),
    path("cases/<int:pk>/certificate/<slug:op>/", case_certificate_op, name="certificate_op"),
    path("certificates/<int:pk>/download/", certificate_download, name="certificate_download"),
]
public_urlpatterns = [
    path("verify/<str:code>/", verify, name="verify"),
]
