"""Every change to a settlement: calculating (and recalculating) it from HR's inputs, approving
it, releasing the severance once the handover is cleared, deciding the non-compete at exit and
recording its monthly payments, and noting who exported the statement.

Who: HR over the leaver (`case.manage`) calculates, approves, releases and decides; HR or the
finance queue over the leaver records non-compete payments. The statement is read by HR,
finance and auditors over the leaver, and by the leaver once it is approved (read-only).
Nobody works on their own settlement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.compliance import settlement as calc
from baton.compliance.models.settlement import (
    NonCompete,
    NonCompeteDecision,
    NonCompetePayment,
    Settlement,
    SettlementState,
)
from baton.core.errors import Conflict, InvalidInput
from baton.handover.models import DONE_TASK_STATES, CaseState, ExitCase
from baton.handover.rules import is_leaver
from baton.org.models import Employee

INPUT_FIELDS = (
    "avg_wage_12m",
    "avg_wage_12m_excl_ot",
    "previous_month_wage",
    "final_month_wage",
    "cumulative_work_years",
    "leave_entitlement_days",
    "leave_taken_days",
    "pay_in_lieu",
    "unlawful",
    "agreed_non_compete_monthly",
    "owed_loans",
    "owed_advances",
    "owed_assets",
    "severance_hold",
    "note",
)
REQUIRED = ("avg_wage_12m", "avg_wage_12m_excl_ot", "previous_month_wage")
MONEY_FIELDS = (
    "avg_wage_12m",
    "avg_wage_12m_excl_ot",
    "previous_month_wage",
    "final_month_wage",
    "agreed_non_compete_monthly",
    "owed_loans",
    "owed_advances",
    "owed_assets",
)
MAX_MONEY = Decimal("999999999999.99")
CLEARED_STATES = (CaseState.CLEARED, CaseState.CLOSED)
# Business records (pulled from finance and IT) that prefill what the leaver owes.
OWED_KINDS = {"loan": "owed_loans", "expense_claim": "owed_advances", "asset": "owed_assets"}


# ---------------------------------------------------------------- who


def _on_leaver(user: Any, perm: Perm, case: ExitCase) -> bool:
    return authz.visible_to(user, perm, Employee.objects.filter(pk=case.employee_id)).exists()


def viewer_role(user: Any, case: ExitCase) -> str | None:
    """How the user may read this case's settlement: "hr" (and acts), "finance" (records
    non-compete payments), "auditor" (reads), "leaver" (their own, once approved) or None.
    `case` must already be visible to the user (fetched with `authz.get_for`)."""
    if is_leaver(user, case):
        return "leaver"
    if authz.visible_to(user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)).exists():
        return "hr"
    if _on_leaver(user, Perm.QUEUE_FINANCE, case):
        return "finance"
    if _on_leaver(user, Perm.AUDIT_VIEW, case):
        return "auditor"
    return None


def get_case(user: Any, case_id: int) -> ExitCase:
    """The case, if the user may see it (404 otherwise)."""
    return authz.get_for(
        user,
        Perm.CASE_VIEW,
        ExitCase.objects.select_related(
            "employee",
            "employee__work_city",
            "employee__position",
            "department",
            "legal_entity",
        ),
        pk=case_id,
    )


def readable(user: Any, case: ExitCase) -> tuple[str, Settlement | None]:
    """The user's role and the settlement they may read (None: none yet, or not approved for
    the leaver). Anyone who sees the case but not its money gets a 404: the figures of someone
    else's pay do not exist for them."""
    role = viewer_role(user, case)
    if role is None:
        raise Http404(_("Not found, or not visible to you."))
    s = Settlement.objects.filter(case=case).first()
    if s is not None and role == "leaver" and s.state != SettlementState.APPROVED:
        s = None
    if s is not None:
        s.case = case
    return role, s


def _require_hr(user: Any, case: ExitCase) -> None:
    if is_leaver(user, case):
        raise PermissionDenied(_("Nobody settles their own exit."))
    if viewer_role(user, case) != "hr":
        raise PermissionDenied(_("Only HR over the leaver calculates and approves a settlement."))


def _lock(settlement: Settlement) -> Settlement:
    s = (
        Settlement.objects.select_for_update()
        .select_related("case", "case__employee", "case__employee__work_city", "case__legal_entity")
        .get(pk=settlement.pk)
    )
    return s


# ---------------------------------------------------------------- inputs


def _money(name: str, value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput.field(name, _("Enter an amount, e.g. 18000.00.")) from None
    if not d.is_finite() or d < 0 or d > MAX_MONEY:
        raise InvalidInput.field(name, _("Enter an amount of zero or more."))
    if d != d.quantize(calc.CENT):
        raise InvalidInput.field(name, _("Amounts have at most two decimals."))
    return d


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(INPUT_FIELDS)
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], _("Unknown field."))
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in MONEY_FIELDS:
            out[name] = _money(name, value)
        elif name in ("cumulative_work_years", "leave_entitlement_days"):
            if value is None or value == "":
                out[name] = None if name == "leave_entitlement_days" else 0
                continue
            try:
                n = int(value)
            except (TypeError, ValueError):
                raise InvalidInput.field(name, _("Enter a whole number.")) from None
            if not 0 <= n <= 60:
                raise InvalidInput.field(name, _("Enter a number from 0 to 60."))
            out[name] = n
        elif name == "leave_taken_days":
            try:
                d = Decimal(str(value if value not in (None, "") else 0))
            except InvalidOperation:
                raise InvalidInput.field(name, _("Enter a number of days.")) from None
            # Leave is taken in whole and half days.
            if not d.is_finite() or d < 0 or d > 366 or (d * 2) % 1 != 0:
                raise InvalidInput.field(name, _("Enter days from 0 to 366 (halves allowed)."))
            out[name] = d
        elif name == "note":
            out[name] = str(value or "")[:4000]
        else:
            out[name] = bool(value)
    for name in ("owed_loans", "owed_advances", "owed_assets"):
        if name in out and out[name] is None:
            out[name] = Decimal("0")
    return out


def owed_from_business_records(case: ExitCase) -> dict[str, Decimal]:
    """What the leaver still owes according to the business records on the case (loans,
    unsettled expense claims, unreturned equipment whose handover item is not done)."""
    from baton.integrations.models import BusinessItem

    rows = (
        BusinessItem.objects.filter(case=case, kind__in=list(OWED_KINDS), amount__isnull=False)
        .exclude(task__state__in=DONE_TASK_STATES)
        .values("kind")
        .annotate(total=Sum("amount"))
    )
    return {OWED_KINDS[r["kind"]]: calc.money(r["total"]) for r in rows}


def _termination(case: ExitCase) -> tuple[str, bool, bool | None]:
    """(termination type, whether N is owed, pay in lieu as recorded or None)."""
    from baton.compliance import terminations
    from baton.compliance.models.rules import TerminationTerms

    terms = TerminationTerms.objects.filter(case=case).first()
    code = terms.termination_type if terms is not None else terminations.for_case(case)
    spec = terminations.TYPES.get(code)
    owed = bool(spec.severance_owed) if spec is not None else False
    return code, owed, (terms.pay_in_lieu if terms is not None else None)


def _inputs(s: Settlement, case: ExitCase, nc: NonCompete | None) -> calc.Inputs:
    active = nc is not None and nc.decision == NonCompeteDecision.ACTIVATE
    return calc.Inputs(
        hire_date=case.employee.hire_date,
        last_day=case.last_working_day,
        avg_wage=s.avg_wage_12m,
        avg_wage_excl_ot=s.avg_wage_12m_excl_ot,
        previous_month_wage=s.previous_month_wage,
        final_month_wage=s.final_month_wage,
        cumulative_work_years=s.cumulative_work_years,
        leave_entitlement=s.leave_entitlement_days,
        leave_taken=s.leave_taken_days,
        severance_owed=s.severance_owed,
        unlawful=s.unlawful,
        pay_in_lieu=s.pay_in_lieu,
        non_compete=active,
        non_compete_months=nc.months if active and nc is not None else 0,
        agreed_non_compete_monthly=s.agreed_non_compete_monthly,
        owed_loans=s.owed_loans,
        owed_advances=s.owed_advances,
        owed_assets=s.owed_assets,
    )


def _pay_in_lieu_types(case: ExitCase) -> set[str]:
    """The termination types whose notice may be paid in lieu (the pay-in-lieu rule's)."""
    from baton.compliance import rules

    found = rules.find(
        "PAY_IN_LIEU", jurisdiction=rules.jurisdiction_for(case), on=case.last_working_day
    )
    return set(found.params.get("types", [])) if found else set()


def _compute(s: Settlement, case: ExitCase) -> calc.Params:
    code, owed, lieu = _termination(case)
    s.termination_type = code
    s.severance_owed = owed
    if lieu is not None:
        s.pay_in_lieu = lieu  # the termination terms decide it
    elif code not in _pay_in_lieu_types(case):
        s.pay_in_lieu = False  # 代通知金 exists only where the law offers it (LCL 40)
    params = calc.params_for(case)
    nc = NonCompete.objects.filter(settlement=s).first() if s.pk else None
    st = calc.build_statement(_inputs(s, case, nc), params)
    s.lines = st.lines_json()
    s.totals = st.totals_json()
    s.params = calc.params_json(params, case.employee.work_city.code)
    return params


# ---------------------------------------------------------------- actions


@transaction.atomic
def calculate(case: ExitCase, data: Mapping[str, Any], *, acting_user: Any) -> Settlement:
    """Save HR's inputs and (re)compute every figure. Recalculating an approved settlement
    returns it to draft (approval is of the figures, and they may have changed)."""
    case = get_case(acting_user, case.pk)
    _require_hr(acting_user, case)
    list(ExitCase.objects.select_for_update().filter(pk=case.pk).values_list("pk"))  # serialise
    if case.state in (CaseState.WITHDRAWN, CaseState.CANCELLED, CaseState.DRAFT):
        raise Conflict(_("This exit case is not going ahead; there is nothing to settle."))
    from baton.compliance import rules

    if rules.country(rules.jurisdiction_for(case)) != "CN":
        raise Conflict(
            _("The settlement statement follows mainland China law; this exit is under %(j)s.")
            % {"j": case.legal_entity.jurisdiction}
        )
    clean = _clean(data)
    s = Settlement.objects.select_for_update().filter(case=case).first()
    created = s is None
    if s is None:
        s = Settlement(case=case)
        for name, value in owed_from_business_records(case).items():
            if name not in clean:
                setattr(s, name, value)
    old_totals, old_state = dict(s.totals or {}), s.state
    for name, value in clean.items():
        setattr(s, name, value)
    missing = [n for n in REQUIRED if getattr(s, n, None) is None]
    if missing:
        raise InvalidInput.field(missing[0], _("This figure is needed for the statement."))
    s.case = case
    _compute(s, case)
    s.state = SettlementState.DRAFT
    s.calculated_at = timezone.now()
    s.calculated_by = acting_user
    s.approved_at, s.approved_by = None, None
    s.save()
    trail.record(
        E.SETTLEMENT_CALCULATED,
        actor=acting_user,
        subject=s,
        changes={"state": (None if created else old_state, s.state)},
        extra={
            "case": case.pk,
            "totals": s.totals,
            "previous_totals": old_totals or None,
            "inputs": sorted(clean),
        },
    )
    return s


@transaction.atomic
def approve(settlement: Settlement, *, acting_user: Any) -> Settlement:
    """HR approves the figures; the leaver can then see the statement."""
    s = _lock(settlement)
    _require_hr(acting_user, s.case)
    if s.state == SettlementState.APPROVED:
        raise Conflict(_("This settlement is already approved."))
    if not s.lines:
        raise Conflict(_("Calculate the settlement before approving it."))
    s.state = SettlementState.APPROVED
    s.approved_at = timezone.now()
    s.approved_by = acting_user
    s.save(update_fields=["state", "approved_at", "approved_by", "updated_at"])
    trail.record(
        E.SETTLEMENT_APPROVED,
        actor=acting_user,
        subject=s,
        changes={"state": (SettlementState.DRAFT, SettlementState.APPROVED)},
        extra={"case": s.case_id, "totals": s.totals},
    )
    return s


def release_refusal(s: Settlement) -> str | None:
    """Why the severance may not be released now (None: it may)."""
    if s.state != SettlementState.APPROVED:
        return _("Approve the settlement before releasing the severance.")
    if s.severance_released_at is not None:
        return _("The severance has already been released.")
    if s.severance_hold and s.case.state not in CLEARED_STATES:
        return _(
            "The severance is held until the handover is cleared (LCL 50 §2); the handover is "
            "not cleared yet. Final wages, the certificate and the social-insurance transfer "
            "are not held."
        )
    return None


@transaction.atomic
def release_severance(settlement: Settlement, *, acting_user: Any) -> Settlement:
    """Release the severance for payment: refused, with the reason, while it is held and the
    handover is not cleared."""
    s = _lock(settlement)
    _require_hr(acting_user, s.case)
    reason = release_refusal(s)
    if reason:
        raise Conflict(reason)
    s.severance_released_at = timezone.now()
    s.severance_released_by = acting_user
    s.save(update_fields=["severance_released_at", "severance_released_by", "updated_at"])
    trail.record(
        E.SEVERANCE_RELEASED,
        actor=acting_user,
        subject=s,
        extra={"case": s.case_id, "severance": s.totals.get("severance")},
    )
    return s


@transaction.atomic
def decide_non_compete(
    settlement: Settlement,
    *,
    acting_user: Any,
    decision: str,
    months: int = 0,
    eligibility: str = "",
) -> NonCompete:
    """Activate (months ≤ 24, the monthly compensation never below the floor, a monthly
    schedule from the day after the last day) or waive the non-compete, at exit. It can be
    decided again until a payment has been recorded; then it stands."""
    s = _lock(settlement)
    case = s.case
    _require_hr(acting_user, case)
    if decision not in NonCompeteDecision.values:
        raise InvalidInput.field("decision", _("Choose activate or waive."))
    existing = NonCompete.objects.select_for_update().filter(settlement=s).first()
    if (
        existing is not None
        and NonCompetePayment.objects.filter(non_compete=existing, paid_at__isnull=False).exists()
    ):
        raise Conflict(_("Payments have been recorded; the decision stands."))
    if (
        decision != NonCompeteDecision.ACTIVATE
        and existing is not None
        and existing.decision == NonCompeteDecision.ACTIVATE
        and existing.start_date is not None
        and timezone.localdate() >= existing.start_date
    ):
        # SPC Interp. (I) 39: released during the restriction, the employee is owed the months
        # restricted plus three more — never a silent waiver after the fact.
        raise Conflict(
            _(
                "The restriction has already started: releasing the employee now costs the "
                "months restricted so far plus three months' compensation (SPC Interpretation "
                "(I) art. 39). Keep the decision and record the release with finance."
            )
        )
    if decision == NonCompeteDecision.ACTIVATE:
        if not isinstance(months, int) or not 1 <= months <= calc.MAX_NON_COMPETE_MONTHS:
            raise InvalidInput.field("months", _("A non-compete lasts 1 to 24 months."))
        if not eligibility.strip():
            raise InvalidInput.field(
                "eligibility",
                _("Say why this person is restricted (role, trade secrets actually known)."),
            )
    else:
        months = 0
    old = existing.decision if existing else None
    if existing is not None:
        NonCompetePayment.objects.filter(non_compete=existing).delete()
        nc = existing
    else:
        nc = NonCompete(settlement=s)
    nc.decision, nc.months, nc.eligibility = decision, months, eligibility.strip()[:4000]
    nc.decided_at, nc.decided_by = timezone.now(), acting_user
    if decision == NonCompeteDecision.ACTIVATE:
        params = calc.params_for(case)
        terms = calc.non_compete_terms(
            months=months,
            avg_wage=s.avg_wage_12m,
            local_min_wage=params.local_min_wage,
            agreed_monthly=s.agreed_non_compete_monthly,
            rate=params.non_compete_rate,
        )
        start = case.last_working_day + dt.timedelta(days=1)
        schedule = calc.non_compete_schedule(start, months, terms.monthly)
        nc.monthly_amount, nc.start_date, nc.end_date = terms.monthly, start, schedule[-1][1]
    else:
        nc.monthly_amount, nc.start_date, nc.end_date = Decimal("0"), None, None
        schedule = []
    nc.save()
    NonCompetePayment.objects.bulk_create(
        NonCompetePayment(non_compete=nc, seq=k, due_date=due, amount=amount)
        for k, due, amount in schedule
    )
    # The statement shows the non-compete: recompute it (back to draft if approved).
    old_state = s.state
    _compute(s, case)
    s.state = SettlementState.DRAFT
    s.approved_at, s.approved_by = None, None
    s.save()
    trail.record(
        E.NON_COMPETE_DECIDED,
        actor=acting_user,
        subject=s,
        changes={"non_compete": (old, decision), "state": (old_state, s.state)},
        extra={
            "case": case.pk,
            "months": months,
            "monthly": str(nc.monthly_amount),
            "total": str(nc.monthly_amount * months),
        },
    )
    return nc


@transaction.atomic
def record_non_compete_payment(
    payment: NonCompetePayment,
    *,
    acting_user: Any,
    paid_at: dt.date,
    amount: Decimal | str | None = None,
) -> NonCompetePayment:
    """Record that a monthly non-compete payment was made (HR or the finance queue)."""
    # The settlement first (as decide_non_compete locks it): a decision made meanwhile cannot
    # delete a payment being recorded.
    settlement_ids = NonCompetePayment.objects.filter(pk=payment.pk).values_list(
        "non_compete__settlement_id", flat=True
    )
    list(Settlement.objects.select_for_update().filter(pk__in=settlement_ids).values_list("pk"))
    p = (
        NonCompetePayment.objects.select_for_update()
        .select_related("non_compete__settlement__case")
        .get(pk=payment.pk)
    )
    s = p.non_compete.settlement
    case = s.case
    if is_leaver(acting_user, case):
        raise PermissionDenied(_("Nobody settles their own exit."))
    if viewer_role(acting_user, case) not in ("hr", "finance"):
        raise PermissionDenied(_("Only HR or finance over the leaver records payments."))
    if p.paid_at is not None:
        raise Conflict(_("This payment is already recorded."))
    if not isinstance(paid_at, dt.date):
        raise InvalidInput.field("paid_at", _("Enter the date it was paid."))
    if paid_at > timezone.localdate():
        raise InvalidInput.field("paid_at", _("A payment cannot be recorded in the future."))
    paid = _money("amount", amount) if amount is not None else p.amount
    if paid is None or paid <= 0:
        raise InvalidInput.field("amount", _("Enter the amount paid."))
    p.paid_at, p.paid_amount, p.recorded_by = paid_at, paid, acting_user
    p.save(update_fields=["paid_at", "paid_amount", "recorded_by"])
    trail.record(
        E.NON_COMPETE_PAYMENT_RECORDED,
        actor=acting_user,
        subject=s,
        extra={
            "case": case.pk,
            "month": p.seq,
            "due": p.due_date,
            "paid_at": paid_at,
            "amount": str(paid),
            "late": p.is_late(paid_at),
        },
    )
    return p


@transaction.atomic
def record_export(settlement: Settlement, fmt: str, *, acting_user: Any) -> None:
    """Who took the statement out of the system, and in which format."""
    trail.record(
        E.SETTLEMENT_EXPORTED,
        actor=acting_user,
        subject=settlement,
        extra={"case": settlement.case_id, "format": fmt},
    )
