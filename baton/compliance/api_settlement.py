"""/api/compliance/cases/{case_id}/settlement: the settlement statement (离职结算) of an exit
case — its inputs, every figure with its formula, inputs, legal basis and confidence, the
totals, the severance hold, and the non-compete with its payment schedule.

Reading: HR, finance and auditors over the leaver, and the leaver once it is approved; anyone
else gets 404. Calculating, approving, releasing the severance and deciding the non-compete:
HR over the leaver. Recording a non-compete payment: HR or the finance queue.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from baton.compliance import actions_settlement as actions
from baton.compliance.models.settlement import (
    NonCompete,
    NonCompeteDecision,
    NonCompetePayment,
    Settlement,
)
from baton.core.http import AuthedRequest

router = Router(tags=["settlement"])


class LineOut(Schema):
    key: str
    label: str
    formula: str = Field(..., description="How the figure is computed, in words.")
    inputs: list[list[str]] = Field(..., description="[label, value] pairs.")
    amount: str | None = Field(None, description="CNY, exact to 0.01 (ROUND_HALF_UP), as text.")
    value: str = Field("", description="A figure that is not money: days, a date.")
    rule: str
    legal_basis: list[str]
    confidence: str = Field(..., description="P statute, S secondary source, R to be confirmed.")
    note: str
    section: str = Field(..., description="payable / info / non_compete / owed")


class PaymentOut(Schema):
    id: int
    seq: int
    due_date: dt.date
    amount: Decimal
    paid_at: dt.date | None
    paid_amount: Decimal | None
    late: bool = Field(..., description="More than 60 days late (paid late or still unpaid).")


class NonCompeteOut(Schema):
    decision: NonCompeteDecision
    months: int
    monthly_amount: Decimal
    start_date: dt.date | None
    end_date: dt.date | None
    eligibility: str
    decided_at: dt.datetime
    payments: list[PaymentOut]


class SettlementOut(Schema):
    id: int
    case_id: int
    state: str
    termination_type: str
    severance_owed: bool
    inputs: dict[str, Any]
    params: dict[str, Any]
    lines: list[LineOut]
    totals: dict[str, str]
    severance_hold: bool
    severance_released_at: dt.datetime | None
    severance_release_refused: str | None = Field(
        None, description="Why the severance may not be released now (null: it may)."
    )
    hold_note: str
    calculated_at: dt.datetime | None
    approved_at: dt.datetime | None
    non_compete: NonCompeteOut | None


class SettlementIn(Schema):
    avg_wage_12m: Decimal | None = Field(None, description="12-month average 应得 wage.")
    avg_wage_12m_excl_ot: Decimal | None = None
    previous_month_wage: Decimal | None = None
    final_month_wage: Decimal | None = None
    cumulative_work_years: int | None = None
    leave_entitlement_days: int | None = None
    leave_taken_days: Decimal | None = None
    pay_in_lieu: bool | None = None
    unlawful: bool | None = None
    agreed_non_compete_monthly: Decimal | None = None
    owed_loans: Decimal | None = None
    owed_advances: Decimal | None = None
    owed_assets: Decimal | None = None
    severance_hold: bool | None = None
    note: str | None = None


class NonCompeteIn(Schema):
    decision: NonCompeteDecision
    months: int = 0
    eligibility: str = ""


class PaymentIn(Schema):
    paid_at: dt.date
    amount: Decimal | None = None


def out(s: Settlement) -> dict[str, Any]:
    """The settlement as the API (and the views) show it."""
    from baton.compliance import settlement as calc

    today = timezone.localdate()
    nc: NonCompete | None = NonCompete.objects.filter(settlement=s).first()
    nc_out = None
    if nc is not None:
        payments = list(NonCompetePayment.objects.filter(non_compete=nc).order_by("seq"))
        nc_out = {
            "decision": nc.decision,
            "months": nc.months,
            "monthly_amount": nc.monthly_amount,
            "start_date": nc.start_date,
            "end_date": nc.end_date,
            "eligibility": nc.eligibility,
            "decided_at": nc.decided_at,
            "payments": [
                {
                    "id": p.pk,
                    "seq": p.seq,
                    "due_date": p.due_date,
                    "amount": p.amount,
                    "paid_at": p.paid_at,
                    "paid_amount": p.paid_amount,
                    "late": p.is_late(today),
                }
                for p in payments
            ],
        }
    return {
        "id": s.pk,
        "case_id": s.case_id,
        "state": s.state,
        "termination_type": s.termination_type,
        "severance_owed": s.severance_owed,
        "inputs": {
            name: (str(v) if isinstance(v := getattr(s, name), Decimal) else v)
            for name in actions.INPUT_FIELDS
        },
        "params": s.params,
        "lines": s.lines,
        "totals": s.totals,
        "severance_hold": s.severance_hold,
        "severance_released_at": s.severance_released_at,
        "severance_release_refused": actions.release_refusal(s),
        "hold_note": calc.hold_note(),
        "calculated_at": s.calculated_at,
        "approved_at": s.approved_at,
        "non_compete": nc_out,
    }


def _read(request: AuthedRequest, case_id: int) -> tuple[str, Settlement]:
    case = actions.get_case(request.user, case_id)
    role, s = actions.readable(request.user, case)
    if s is None:
        raise Http404(_("No settlement has been calculated for this exit yet."))
    return role, s


@router.get(
    "/cases/{int:case_id}/settlement", response=SettlementOut, operation_id="get_settlement"
)
def get_settlement(request: AuthedRequest, case_id: int) -> dict[str, Any]:
    """The statement: every figure with its working, the totals, and the non-compete."""
    return out(_read(request, case_id)[1])


@router.put(
    "/cases/{int:case_id}/settlement",
    response=SettlementOut,
    operation_id="calculate_settlement",
)
def calculate(request: AuthedRequest, case_id: int, payload: SettlementIn) -> dict[str, Any]:
    """Save the inputs given (others keep their values) and recompute every figure. The first
    calculation prefills what the leaver owes from the case's business records. Recalculating
    an approved statement returns it to draft."""
    case = actions.get_case(request.user, case_id)
    data = payload.dict(exclude_unset=True)
    s = actions.calculate(case, data, acting_user=request.user)
    return out(s)


@router.post(
    "/cases/{int:case_id}/settlement/approve",
    response=SettlementOut,
    operation_id="approve_settlement",
)
def approve(request: AuthedRequest, case_id: int) -> dict[str, Any]:
    """Approve the figures; the leaver can then read the statement."""
    _role, s = _read(request, case_id)
    return out(actions.approve(s, acting_user=request.user))


@router.post(
    "/cases/{int:case_id}/settlement/release-severance",
    response=SettlementOut,
    operation_id="release_severance",
)
def release(request: AuthedRequest, case_id: int) -> dict[str, Any]:
    """Release the severance for payment; refused (409, with the reason) while it is held and
    the handover is not cleared. Nothing else is ever held."""
    _role, s = _read(request, case_id)
    return out(actions.release_severance(s, acting_user=request.user))


@router.post(
    "/cases/{int:case_id}/settlement/non-compete",
    response=SettlementOut,
    operation_id="decide_non_compete",
)
def decide(request: AuthedRequest, case_id: int, payload: NonCompeteIn) -> dict[str, Any]:
    """Activate (1–24 months; the agreed monthly compensation, else 30 % of the 12-month
    average, never below the local minimum wage; a monthly schedule) or waive the non-compete,
    at exit."""
    _role, s = _read(request, case_id)
    actions.decide_non_compete(
        s,
        acting_user=request.user,
        decision=payload.decision,
        months=payload.months,
        eligibility=payload.eligibility,
    )
    s.refresh_from_db()
    return out(s)


@router.post(
    "/cases/{int:case_id}/settlement/non-compete/payments/{int:seq}",
    response=PaymentOut,
    operation_id="record_non_compete_payment",
)
def record_payment(
    request: AuthedRequest, case_id: int, seq: int, payload: PaymentIn
) -> dict[str, Any]:
    """Record that month `seq`'s non-compete payment was made."""
    _role, s = _read(request, case_id)
    p = NonCompetePayment.objects.filter(non_compete__settlement=s, seq=seq).first()
    if p is None:
        raise Http404(_("No such payment in the schedule."))
    p = actions.record_non_compete_payment(
        p, acting_user=request.user, paid_at=payload.paid_at, amount=payload.amount
    )
    return {
        "id": p.pk,
        "seq": p.seq,
        "due_date": p.due_date,
        "amount": p.amount,
        "paid_at": p.paid_at,
        "paid_amount": p.paid_amount,
        "late": p.is_late(timezone.localdate()),
    }
