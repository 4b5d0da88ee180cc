"""The settlement statement page (离职结算) of an exit case, for HR (with the input form and the
operations) and for the leaver (read-only, once approved), and its PDF / XLSX exports.

Views are thin: the case is fetched through `authz` (404 outside what the user may see), the
statement's readers are decided by `actions_settlement.readable`, forms call the actions and
show their refusals.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from baton.audit.export import safe_cell
from baton.compliance import actions_settlement as actions
from baton.compliance import settlement as calc
from baton.compliance.api_settlement import out
from baton.compliance.models.settlement import (
    NonCompeteDecision,
    NonCompetePayment,
    Settlement,
)
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PDF_CSS = """
@page { size: A4; margin: 14mm 12mm 18mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #5d6778; } }
html { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 8.5pt; color: #1d2430; }
h1 { font-size: 15pt; margin: 0 0 2mm; } h2 { font-size: 11pt; margin: 5mm 0 1.5mm; }
.sub, .muted { color: #5d6778; }
table { border-collapse: collapse; width: 100%; }
table.facts { width: auto; margin-bottom: 3mm; }
table.facts th { text-align: left; color: #5d6778; font-weight: normal;
  padding: 0.5mm 4mm 0.5mm 0; }
table.facts td { padding: 0.5mm 8mm 0.5mm 0; }
table.lines th { text-align: left; color: #5d6778; border-bottom: 0.6pt solid #5d6778;
  padding: 1mm; }
table.lines td { border-bottom: 0.4pt solid #dde2ea; padding: 1.2mm 1mm; vertical-align: top; }
table.lines tr { page-break-inside: avoid; }
.num { text-align: right; white-space: nowrap; }
ul.inputs { margin: 0.5mm 0 0; padding-left: 3.5mm; color: #5d6778; font-size: 7.5pt; }
.tbc { color: #b3261e; font-weight: bold; }
.legal { border: 0.6pt solid #5d6778; padding: 2mm; margin: 3mm 0; }
"""


# ---------------------------------------------------------------- forms


def _money_field(label: Any, required: bool = False, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        help_text=help_text,
    )


class SettlementForm(forms.Form):
    avg_wage_12m = _money_field(
        gettext_lazy("12-month average wage (应得, incl. bonus)"), required=True
    )
    avg_wage_12m_excl_ot = _money_field(
        gettext_lazy("12-month average wage excluding overtime"), required=True
    )
    previous_month_wage = _money_field(gettext_lazy("Previous month's wage"), required=True)
    final_month_wage = _money_field(
        gettext_lazy("Final month's wage (deductions)"),
        help_text=gettext_lazy("Empty: the previous month's wage."),
    )
    cumulative_work_years = forms.IntegerField(
        label=gettext_lazy("Cumulative working years (all employers)"), min_value=0, max_value=60
    )
    leave_entitlement_days = forms.IntegerField(
        label=gettext_lazy("Contractual annual leave (days)"),
        required=False,
        min_value=0,
        max_value=60,
        help_text=gettext_lazy("Only if better than the statute; empty: statutory."),
    )
    leave_taken_days = forms.DecimalField(
        label=gettext_lazy("Annual leave taken this year (days)"),
        min_value=Decimal("0"),
        max_value=Decimal("366"),
        decimal_places=1,
    )
    pay_in_lieu = forms.BooleanField(
        label=gettext_lazy("Payment in lieu of notice"), required=False
    )
    unlawful = forms.BooleanField(
        label=gettext_lazy("Unlawful termination: 2N replaces N"), required=False
    )
    agreed_non_compete_monthly = _money_field(
        gettext_lazy("Agreed monthly non-compete compensation")
    )
    owed_loans = _money_field(gettext_lazy("Loans outstanding"))
    owed_advances = _money_field(gettext_lazy("Unsettled advances and expense claims"))
    owed_assets = _money_field(gettext_lazy("Unreturned equipment (value)"))
    severance_hold = forms.BooleanField(
        label=gettext_lazy("Hold the severance until the handover is cleared"), required=False
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class NonCompeteForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Non-compete"), choices=NonCompeteDecision.choices
    )
    months = forms.IntegerField(
        label=gettext_lazy("Months (at most 24)"), required=False, min_value=0, max_value=24
    )
    eligibility = forms.CharField(
        label=gettext_lazy("Why this person is restricted (role, trade secrets known)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PaymentForm(forms.Form):
    seq = forms.IntegerField(min_value=1, max_value=24, widget=forms.HiddenInput)
    paid_at = forms.DateField(label=gettext_lazy("Paid on"))
    amount = _money_field(gettext_lazy("Amount paid"))


def _initial(s: Settlement | None, case: ExitCase) -> dict[str, Any]:
    if s is None:
        base: dict[str, Any] = {"cumulative_work_years": 0, "leave_taken_days": 0}
        base["severance_hold"] = True
        base.update(actions.owed_from_business_records(case))
        return base
    return {name: getattr(s, name) for name in actions.INPUT_FIELDS}


# ---------------------------------------------------------------- pages


def _context(request: AuthedRequest, case: ExitCase, **forms_: Any) -> dict[str, Any]:
    role, s = actions.readable(request.user, case)
    data = out(s) if s is not None else None
    hr = role == "hr"
    ctx: dict[str, Any] = {
        "case": case,
        "role": role,
        "hr": hr,
        "s": s,
        "data": data,
        "lines": _grouped(data["lines"]) if data else {},
        "hold_note": calc.hold_note(),
        "rounding_note": calc.rounding_note(),
        "today": timezone.localdate(),
    }
    if hr:
        ctx["form"] = forms_.get("form") or SettlementForm(initial=_initial(s, case))
        nc = (data or {}).get("non_compete")
        ctx["nc_form"] = forms_.get("nc_form") or NonCompeteForm(
            initial={
                "decision": nc["decision"] if nc else NonCompeteDecision.WAIVE,
                "months": nc["months"] if nc else 0,
                "eligibility": nc["eligibility"] if nc else "",
            }
        )
    if role in ("hr", "finance"):
        ctx["payment_form"] = forms_.get("payment_form") or PaymentForm()
    ctx["op_error"] = forms_.get("op_error", "")
    return ctx


def _grouped(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out_: dict[str, list[dict[str, Any]]] = {}
    for li in lines:
        li = {**li, "confidence_label": calc.confidence_label(li["confidence"] or "R")}
        out_.setdefault(li["section"], []).append(li)
    return out_


@login_required
def settlement_page(request: AuthedRequest, pk: int) -> HttpResponse:
    """The statement; for HR also the input form (POST recalculates)."""
    case = actions.get_case(request.user, pk)
    if request.method == "POST":
        form = SettlementForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                actions.calculate(case, form.cleaned_data, acting_user=request.user)
                messages.success(request, _("The settlement was calculated."))
                return redirect("compliance:settlement", pk=case.pk)
            except ActionError as exc:
                apply_action_error(form, exc)
                status = exc.status
        ctx = _context(request, case, form=form)
        return render(request, "compliance/settlement.html", ctx, status=status)
    return render(request, "compliance/settlement.html", _context(request, case))


@login_required
@require_POST
def settlement_op(request: AuthedRequest, pk: int, op: str) -> HttpResponse:
    """approve / release / non_compete / payment."""
    case = actions.get_case(request.user, pk)
    _role, s = actions.readable(request.user, case)
    if s is None:
        raise Http404(_("No settlement has been calculated for this exit yet."))
    extra: dict[str, Any] = {}
    try:
        if op == "approve":
            actions.approve(s, acting_user=request.user)
            messages.success(request, _("The settlement is approved; the leaver can now see it."))
        elif op == "release":
            actions.release_severance(s, acting_user=request.user)
            messages.success(request, _("The severance is released for payment."))
        elif op == "non_compete":
            f = NonCompeteForm(request.POST)
            extra["nc_form"] = f
            if not f.is_valid():
                raise _FormInvalid
            actions.decide_non_compete(
                s,
                acting_user=request.user,
                decision=f.cleaned_data["decision"],
                months=f.cleaned_data["months"] or 0,
                eligibility=f.cleaned_data["eligibility"],
            )
            messages.success(request, _("The non-compete decision is recorded."))
        elif op == "payment":
            pf = PaymentForm(request.POST)
            extra["payment_form"] = pf
            if not pf.is_valid():
                raise _FormInvalid
            p = NonCompetePayment.objects.filter(
                non_compete__settlement=s, seq=pf.cleaned_data["seq"]
            ).first()
            if p is None:
                raise Http404(_("No such payment in the schedule."))
            actions.record_non_compete_payment(
                p,
                acting_user=request.user,
                paid_at=pf.cleaned_data["paid_at"],
                amount=pf.cleaned_data["amount"],
            )
            messages.success(request, _("The payment is recorded."))
        else:
            raise Http404
    except _FormInvalid:
        return render(
            request, "compliance/settlement.html", _context(request, case, **extra), status=400
        )
    except ActionError as exc:
        for form in extra.values():
            apply_action_error(form, exc)
        extra["op_error"] = exc.message if not extra else ""
        return render(
            request,
            "compliance/settlement.html",
            _context(request, case, **extra),
            status=exc.status,
        )
    except PermissionDenied:
        raise
    return redirect("compliance:settlement", pk=case.pk)


class _FormInvalid(Exception):
    pass


# ---------------------------------------------------------------- exports


def _filename(case: ExitCase, ext: str) -> str:
    number = re.sub(r"[^A-Za-z0-9_-]", "", case.employee.employee_number) or str(case.pk)
    return f"settlement-{number}-{timezone.localdate():%Y%m%d}.{ext}"


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"the statement fetches nothing ({url[:40]})")


def header_rows(case: ExitCase, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (_("Leaver"), case.employee.name),
        (_("Employee number"), case.employee.employee_number),
        (_("Legal entity"), case.legal_entity.name),
        (_("Exit type"), case.get_exit_type_display()),
        (_("Termination type"), data["termination_type"]),
        (_("First day of work"), case.employee.hire_date.isoformat()),
        (_("Last working day"), case.last_working_day.isoformat()),
        (_("Statement state"), str(dict(_state_labels()).get(data["state"], data["state"]))),
        (_("Work city"), str(data["params"].get("city", ""))),
    ]


def _state_labels() -> list[tuple[str, str]]:
    from baton.compliance.models.settlement import SettlementState

    return [(str(v), str(label)) for v, label in SettlementState.choices]


TOTAL_LABELS = {
    "severance": gettext_lazy("Severance"),
    "pay_in_lieu": gettext_lazy("Payment in lieu of notice"),
    "leave_pay": gettext_lazy("Unused annual leave pay (extra 200 %)"),
    "payable": gettext_lazy("Payable by the employer (this statement)"),
    "owed_by_employee": gettext_lazy("Owed by the employee"),
    "deducted_from_wages": gettext_lazy("Deducted from the final wages"),
    "still_owed": gettext_lazy("Still owed, recovered otherwise"),
    "non_compete_total": gettext_lazy("Non-compete compensation (paid monthly)"),
}


def totals_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(TOTAL_LABELS.get(k, k)), v) for k, v in data["totals"].items()]


def to_pdf(case: ExitCase, data: dict[str, Any], user: Any) -> bytes:
    from weasyprint import CSS, HTML

    html = render_to_string(
        "compliance/settlement_pdf.html",
        {
            "case": case,
            "data": data,
            "header": header_rows(case, data),
            "totals": totals_rows(data),
            "lines": _grouped(data["lines"]),
            "hold_note": calc.hold_note(),
            "rounding_note": calc.rounding_note(),
            "generated_at": timezone.localtime(),
            "generated_by": str(user),
        },
    )
    pdf: bytes = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf(
        stylesheets=[CSS(string=PDF_CSS)]
    )
    return pdf


def to_xlsx(case: ExitCase, data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Settlement")[:31]
    bold = Font(bold=True)
    ws.append([safe_cell(_("Settlement statement"))])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in header_rows(case, data):
        ws.append([safe_cell(label), safe_cell(value)])
    ws.append([])
    for label, value in totals_rows(data):
        ws.append([safe_cell(label), Decimal(value)])
        ws.cell(row=ws.max_row, column=2).number_format = "#,##0.00"
    ws.append([])
    ws.append(
        [
            safe_cell(h)
            for h in (
                _("Figure"),
                _("Result"),
                _("Formula"),
                _("Inputs"),
                _("Legal basis"),
                _("Confidence"),
                _("Note"),
            )
        ]
    )
    for cell in ws[ws.max_row]:
        cell.font = bold
    wrap = Alignment(wrap_text=True, vertical="top")
    for li in data["lines"]:
        result: Any = Decimal(li["amount"]) if li["amount"] is not None else li["value"]
        ws.append(
            [
                safe_cell(li["label"]),
                result if isinstance(result, Decimal) else safe_cell(result),
                safe_cell(li["formula"]),
                safe_cell("\n".join(f"{k}: {v}" for k, v in li["inputs"])),
                safe_cell("; ".join(li["legal_basis"])),
                safe_cell(calc.confidence_label(li["confidence"]) if li["confidence"] else ""),
                safe_cell(li["note"]),
            ]
        )
        for cell in ws[ws.max_row]:
            cell.alignment = wrap
        if isinstance(result, Decimal):
            ws.cell(row=ws.max_row, column=2).number_format = "#,##0.00"
    nc = data.get("non_compete")
    if nc and nc["payments"]:
        ws.append([])
        ws.append([safe_cell(_("Non-compete payments"))])
        ws.cell(row=ws.max_row, column=1).font = bold
        for p in nc["payments"]:
            ws.append(
                [
                    p["seq"],
                    p["due_date"],
                    p["amount"],
                    p["paid_at"],
                    _("late") if p["late"] else "",
                ]
            )
            ws.cell(row=ws.max_row, column=2).number_format = "yyyy-mm-dd"
            ws.cell(row=ws.max_row, column=4).number_format = "yyyy-mm-dd"
    ws.append([])
    ws.append([safe_cell(calc.hold_note())])
    ws.append([safe_cell(calc.rounding_note())])
    for col, width in zip("ABCDEFG", (34, 16, 48, 48, 30, 16, 36), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@login_required
def settlement_export(request: AuthedRequest, pk: int, fmt: str) -> HttpResponse:
    """The statement as PDF (WeasyPrint, Noto CJK) or XLSX; every export is audited."""
    case = actions.get_case(request.user, pk)
    _role, s = actions.readable(request.user, case)
    if s is None:
        raise Http404(_("No settlement has been calculated for this exit yet."))
    data = out(s)
    actions.record_export(s, fmt, acting_user=request.user)
    if fmt == "pdf":
        response = HttpResponse(to_pdf(case, data, request.user), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{_filename(case, "pdf")}"'
    else:
        response = HttpResponse(to_xlsx(case, data), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{_filename(case, "xlsx")}"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("cases/<int:pk>/settlement/", settlement_page, name="settlement"),
    path("cases/<int:pk>/settlement/<str:op>", settlement_op, name="settlement_op"),
    path("cases/<int:pk>/settlement.pdf", settlement_export, {"fmt": "pdf"}, name="settlement_pdf"),
    path(
        "cases/<int:pk>/settlement.xlsx",
        settlement_export,
        {"fmt": "xlsx"},
        name="settlement_xlsx",
    ),
]
