"""The settlement statement (离职结算): what the employer owes a leaver and what the leaver owes
the employer, figure by figure, each with its formula in words, its inputs, its result, its
legal basis and how sure that basis is.

The heart is a set of pure functions taking explicit parameters (golden-tested against the
worked examples in docs/domain labor-rules.md); `build_statement` assembles them into lines,
and `params_for` (at the bottom) is the thin layer that reads the parameters for a case from
the rule packs (`baton.compliance.rules`).

Conventions, stated once and shown on the statement:
- Money is `Decimal`, never float. Each figure is computed exactly from its inputs and rounded
  once, at its end, ROUND_HALF_UP to 0.01 CNY; a figure built on another uses the unrounded
  value (so 3 days × 15,000 / 21.75 × 200 % is 4,137.93, not 3 × 689.66 × 2 = 4,137.96).
- Tenure is counted from 用工之日 (the first day of actual work) with an end-exclusive end,
  end = last day + 1: 2010-01-01 → 2025-06-30 is exactly 15 years 6 months.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext as _

from baton.core.workdays import add_working_days

CENT = Decimal("0.01")
ZERO = Decimal("0")
ROUNDING_NOTE = "ROUND_HALF_UP, 0.01 CNY"
DAYS_PER_MONTH = Decimal("21.75")  # (365 − 104) / 12: 劳社部发〔2008〕3号
LEAVE_YEAR_DAYS = 365  # 实施办法 12 divides by 365 whatever the year
LATE_PAYMENT_DAYS = 60  # a non-compete payment this late risks the 3-month release (Interp. I 38)
MAX_NON_COMPETE_MONTHS = 24  # LCL 24
RELEASE_EXTRA_MONTHS = 3  # Interp. (I) 39


def money(value: Decimal | Fraction | int) -> Decimal:
    """A figure's final amount: rounded once, ROUND_HALF_UP to 0.01."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _fmt(value: Decimal) -> str:
    return f"{money(value):,.2f}"


# ---------------------------------------------------------------- tenure and severance


@dataclass(frozen=True)
class Tenure:
    """Length of service from the first day of work to the last day, end-exclusive."""

    years: int
    months: int
    days: int

    @property
    def remainder_months(self) -> Fraction:
        """The part beyond full years, in months (days as a fraction of 31, only used to tell
        zero from a part of a month)."""
        return Fraction(self.months) + Fraction(self.days, 31)

    def __str__(self) -> str:
        return _("%(y)s years %(m)s months %(d)s days") % {
            "y": self.years,
            "m": self.months,
            "d": self.days,
        }


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def tenure(first_day: dt.date, last_day: dt.date) -> Tenure:
    """Service from `first_day` (用工之日) to `last_day` inclusive, i.e. to `last_day + 1`
    exclusive, as whole years, whole months and days."""
    if last_day < first_day:
        return Tenure(0, 0, 0)
    end = last_day + dt.timedelta(days=1)
    months = (end.year - first_day.year) * 12 + end.month - first_day.month
    if _add_months(first_day, months) > end:
        months -= 1
    days = (end - _add_months(first_day, months)).days
    return Tenure(months // 12, months % 12, days)


def severance_units(t: Tenure) -> Decimal:
    """Months of wage for a tenure (LCL 47): 1 per full year; a remainder of 6 months or more
    counts 1 ("六个月以上" includes 6), a shorter non-zero remainder ½, none 0."""
    if t.months >= 6:
        extra = Decimal(1)
    elif t.months or t.days:
        extra = Decimal("0.5")
    else:
        extra = ZERO
    return Decimal(t.years) + extra


@dataclass(frozen=True)
class Severance:
    """Economic compensation N (or its double) with the working behind it."""

    tenure: Tenure
    wage: Decimal  # W after the minimum-wage floor
    wage_floored: bool
    units_uncapped: Decimal
    units: Decimal
    base: Decimal
    capped: bool  # a high earner: base at 3× the local average and at most 12 units
    multiplier: int  # 1 for N, 2 for 2N
    amount: Decimal  # rounded
    uncapped_amount: Decimal  # what it would be without the high-earner caps (rounded)


def severance(
    *,
    first_day: dt.date,
    last_day: dt.date,
    avg_wage: Decimal,
    local_avg_wage: Decimal,
    local_min_wage: Decimal = ZERO,
    high_earner_multiple: Decimal = Decimal(3),
    high_earner_year_cap: Decimal = Decimal(12),
    multiplier: int = 1,
) -> Severance:
    """N = units × base (LCL 47; Impl. Reg. 27): W is the 12-month average wage, never below the
    local minimum wage; if W is above `high_earner_multiple` × the local average wage, the base
    is capped at that multiple and the units at `high_earner_year_cap`. No year cap otherwise.
    `multiplier=2` gives the 2N of LCL 87, which is defined by reference to art. 47 (same caps).

    Note the law's cliff: just above 3× the average, a person with more than 12 units gets less
    than just below it (the cap on units switches on). It is the statute, not a bug."""
    t = tenure(first_day, last_day)
    wage = _d(avg_wage)
    floored = wage < local_min_wage
    wage = max(wage, _d(local_min_wage))
    units = severance_units(t)
    threshold = _d(high_earner_multiple) * _d(local_avg_wage)
    capped = local_avg_wage > 0 and wage > threshold
    if capped:
        base, capped_units = threshold, min(units, _d(high_earner_year_cap))
    else:
        base, capped_units = wage, units
    return Severance(
        tenure=t,
        wage=wage,
        wage_floored=floored,
        units_uncapped=units,
        units=capped_units,
        base=base,
        capped=capped,
        multiplier=multiplier,
        amount=money(capped_units * base * multiplier),
        uncapped_amount=money(units * wage * multiplier),
    )


def pay_in_lieu(previous_month_wage: Decimal) -> Decimal:
    """代通知金: one month's wage at the previous month's standard (Impl. Reg. 20)."""
    return money(_d(previous_month_wage))


# ---------------------------------------------------------------- annual leave


def leave_entitlement(
    cumulative_years: int, bands: Sequence[tuple[int, int]] = ((1, 5), (10, 10), (20, 15))
) -> int:
    """Statutory annual days by cumulative working years (条例 3; 办法 3): none under one year
    of continuous work, 5 for 1–<10, 10 for 10–<20, 15 from 20 (`bands`: from-years → days)."""
    days = 0
    for from_years, band_days in sorted(bands):
        if cumulative_years >= from_years:
            days = band_days
    return days


@dataclass(frozen=True)
class AnnualLeave:
    entitlement: int
    days_elapsed: int
    pro_rata: Fraction  # elapsed / 365 × entitlement
    taken: Decimal
    due_exact: Fraction  # pro_rata − taken (may be negative: no clawback)
    days: int  # floor(due), never negative
    daily_wage: Decimal  # rounded, for display
    extra_pay: Decimal  # 200 %: the cash still to pay
    total_pay: Decimal  # 300 %, of which 100 % was paid in the salary


def annual_leave(
    *,
    entitlement: int,
    last_day: dt.date,
    hire_date: dt.date,
    taken: Decimal,
    monthly_wage_excl_ot: Decimal,
    divisor: Decimal = DAYS_PER_MONTH,
) -> AnnualLeave:
    """Unused statutory annual leave at termination (实施办法 10–12): days elapsed this calendar
    year at this employer / 365 × entitlement − days already taken; only whole days are paid
    (a fraction is not) and more taken than due is not clawed back. Each unpaid day is paid at
    300 % of the daily wage including the 100 % already in the salary, so 200 % is still owed.
    Daily wage = 12-month average excluding overtime / 21.75."""
    year_start = max(dt.date(last_day.year, 1, 1), hire_date)
    elapsed = max(min((last_day - year_start).days + 1, LEAVE_YEAR_DAYS), 0)
    pro_rata = Fraction(elapsed * entitlement, LEAVE_YEAR_DAYS)
    taken_d = _d(taken)
    due = pro_rata - Fraction(taken_d)
    days = max(math.floor(due), 0)
    wage = _d(monthly_wage_excl_ot)
    return AnnualLeave(
        entitlement=entitlement,
        days_elapsed=elapsed,
        pro_rata=pro_rata,
        taken=taken_d,
        due_exact=due,
        days=days,
        daily_wage=money(wage / divisor),
        extra_pay=money(days * wage * 2 / divisor),
        total_pay=money(days * wage * 3 / divisor),
    )


# ---------------------------------------------------------------- final wages


def final_wage_due(last_day: dt.date, working_days: int, jurisdiction: str = "CN") -> dt.date:
    """When final wages fall due: at termination (工资支付暂行规定 9) or, where the city allows
    it, within N working days after (e.g. Shenzhen 3)."""
    if working_days <= 0:
        return last_day
    return add_working_days(last_day, working_days, jurisdiction)


# ---------------------------------------------------------------- non-compete


@dataclass(frozen=True)
class NonCompeteTerms:
    monthly: Decimal
    floor: Decimal  # max(30 % × W12, local minimum wage)
    raised_to_floor: bool  # an agreed amount is below 30 % (a warning; the agreement stands)
    months: int
    total: Decimal


def non_compete_terms(
    *,
    months: int,
    avg_wage: Decimal,
    local_min_wage: Decimal,
    agreed_monthly: Decimal | None = None,
    rate: Decimal = Decimal("0.30"),
) -> NonCompeteTerms:
    """Monthly compensation for an activated non-compete (LCL 23, 24; SPC Interp. (I) 36): the
    agreed amount, never below the local minimum wage; with no amount agreed, 30 % of the
    12-month average wage, again never below the minimum wage. At most 24 months.
    `raised_to_floor` says an agreed amount was below 30 % (a warning: courts and the 2025
    guidance look at it, but the law does not replace an agreed amount)."""
    if not 0 < months <= MAX_NON_COMPETE_MONTHS:
        raise ValueError("months must be 1..24")
    floor = money(max(_d(rate) * _d(avg_wage), _d(local_min_wage)))
    agreed = money(_d(agreed_monthly)) if agreed_monthly is not None else None
    monthly = max(agreed, money(_d(local_min_wage))) if agreed is not None else floor
    return NonCompeteTerms(
        monthly=monthly,
        floor=floor,
        raised_to_floor=agreed is not None and agreed < floor,
        months=months,
        total=money(monthly * months),
    )


def non_compete_schedule(
    start: dt.date, months: int, monthly: Decimal
) -> list[tuple[int, dt.date, Decimal]]:
    """Monthly payments (number, due date, amount): the restriction starts the day after the
    last day; each month is paid on its last day (start + k months − 1 day)."""
    return [
        (k, _add_months(start, k) - dt.timedelta(days=1), money(monthly))
        for k in range(1, months + 1)
    ]


def non_compete_release_cost(monthly: Decimal, months_elapsed: int) -> Decimal:
    """What a release during the period costs in total: the months already restricted plus 3
    extra months' compensation (SPC Interp. (I) 39)."""
    return money(_d(monthly) * (months_elapsed + RELEASE_EXTRA_MONTHS))


def payment_is_late(due: dt.date, paid_at: dt.date | None, today: dt.date) -> bool:
    """A payment more than 60 days late (paid late, or still unpaid) — approaching the three
    months of non-payment after which the employee may end the restriction (Interp. (I) 38)."""
    when = paid_at or today
    return (when - due).days > LATE_PAYMENT_DAYS


# ---------------------------------------------------------------- deductions


@dataclass(frozen=True)
class Deduction:
    owed: Decimal
    limit: Decimal  # the most this month's wage may lose
    deducted: Decimal
    remaining_wage: Decimal
    outstanding: Decimal  # still owed after the deduction: recovered otherwise


def deduction(
    *,
    owed: Decimal,
    monthly_wage: Decimal,
    local_min_wage: Decimal,
    rate: Decimal = Decimal("0.20"),
) -> Deduction:
    """What may be deducted from a month's wage for what the employee owes (工资支付暂行规定
    16): at most 20 % of the wage, and what remains must not fall below the local minimum
    wage."""
    wage = _d(monthly_wage)
    limit = max(min(money(wage * _d(rate)), money(wage - _d(local_min_wage))), ZERO)
    deducted = min(money(_d(owed)), limit)
    return Deduction(
        owed=money(_d(owed)),
        limit=limit,
        deducted=deducted,
        remaining_wage=money(wage - deducted),
        outstanding=money(_d(owed) - deducted),
    )


# ---------------------------------------------------------------- the statement


@dataclass(frozen=True)
class Basis:
    """A rule's legal basis and confidence: P primary text, S secondary source, R common
    practice (shown as "to be confirmed")."""

    legal_basis: tuple[str, ...]
    confidence: str = "P"


# The rules document's bases, used when the rule packs do not say otherwise.
DEFAULT_BASES: dict[str, Basis] = {
    "CN.SEVERANCE.N": Basis(("劳动合同法 46", "劳动合同法 47", "实施条例 27"), "P"),
    "CN.SEVERANCE.2N": Basis(("劳动合同法 48", "劳动合同法 87", "实施条例 25"), "P"),
    "CN.PAY_IN_LIEU": Basis(("劳动合同法 40", "实施条例 20"), "P"),
    "CN.ANNUAL_LEAVE": Basis(("职工带薪年休假条例 3", "企业职工带薪年休假实施办法 10–12"), "P"),
    "CN.FINAL_PAY": Basis(("工资支付暂行规定 9",), "S"),
    "CN.NON_COMPETE": Basis(("劳动合同法 23", "劳动合同法 24", "法释〔2020〕26号 36–39"), "S"),
    "CN.DEDUCTION_LIMIT": Basis(("工资支付暂行规定 16",), "S"),
}


@dataclass(frozen=True)
class Params:
    """Everything a statement depends on that is not about the person: resolved per case from
    the rule packs and the city tables (the thin layer), or given explicitly in tests."""

    local_avg_wage: Decimal
    local_min_wage: Decimal
    final_pay_working_days: int = 0
    jurisdiction: str = "CN"
    high_earner_multiple: Decimal = Decimal(3)
    high_earner_year_cap: Decimal = Decimal(12)
    non_compete_rate: Decimal = Decimal("0.30")
    deduction_rate: Decimal = Decimal("0.20")
    leave_bands: tuple[tuple[int, int], ...] = ((1, 5), (10, 10), (20, 15))
    daily_wage_divisor: Decimal = DAYS_PER_MONTH
    city_confidence: str = "P"
    bases: Mapping[str, Basis] = field(default_factory=lambda: dict(DEFAULT_BASES))

    def basis(self, rule_id: str) -> Basis:
        return self.bases.get(rule_id) or DEFAULT_BASES.get(rule_id) or Basis((), "R")


@dataclass(frozen=True)
class Inputs:
    """The person's figures, entered by HR (or prefilled)."""

    hire_date: dt.date
    last_day: dt.date
    avg_wage: Decimal  # 12-month average 应得 wage (incl. bonus and allowances)
    avg_wage_excl_ot: Decimal  # the same without overtime pay (annual leave)
    previous_month_wage: Decimal
    cumulative_work_years: int = 0
    leave_taken: Decimal = ZERO
    leave_entitlement: int | None = None  # better contractual terms; None: statutory
    severance_owed: bool = True  # by the termination type
    unlawful: bool = False  # 2N instead of N
    pay_in_lieu: bool = False
    non_compete: bool = False
    non_compete_months: int = 0
    agreed_non_compete_monthly: Decimal | None = None
    owed_loans: Decimal = ZERO
    owed_advances: Decimal = ZERO
    owed_assets: Decimal = ZERO
    final_month_wage: Decimal | None = None  # the wage deductions come from; default previous


@dataclass
class Line:
    """One figure of the statement."""

    key: str
    label: str
    formula: str
    inputs: list[tuple[str, str]]
    amount: Decimal | None = None
    value: str = ""  # a figure that is not money (days, a date)
    rule: str = ""
    legal_basis: tuple[str, ...] = ()
    confidence: str = "P"
    note: str = ""
    section: str = "payable"  # payable / info / owed / non_compete

    @property
    def to_be_confirmed(self) -> bool:
        return self.confidence == "R"

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "formula": self.formula,
            "inputs": [list(p) for p in self.inputs],
            "amount": None if self.amount is None else str(self.amount),
            "value": self.value,
            "rule": self.rule,
            "legal_basis": list(self.legal_basis),
            "confidence": self.confidence,
            "note": self.note,
            "section": self.section,
        }


@dataclass
class Statement:
    lines: list[Line]
    totals: dict[str, Decimal]

    def line(self, key: str) -> Line:
        return next(li for li in self.lines if li.key == key)

    def has(self, key: str) -> bool:
        return any(li.key == key for li in self.lines)

    def lines_json(self) -> list[dict[str, Any]]:
        return [li.as_json() for li in self.lines]

    def totals_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.totals.items()}


def _ruled(line: Line, params: Params, rule: str, confidence: str | None = None) -> Line:
    b = params.basis(rule)
    line.rule = rule
    line.legal_basis = b.legal_basis
    conf = {b.confidence, confidence or b.confidence}
    line.confidence = "R" if "R" in conf else ("S" if "S" in conf else "P")
    return line


def _severance_notes(inp: Inputs, s: Severance, pre_2008: bool) -> list[str]:
    """What the reader of the severance line must know beyond the formula."""
    notes = []
    if s.capped:
        notes.append(
            _("High earner: capped. Without the caps it would be %(amount)s.")
            % {"amount": _fmt(s.uncapped_amount)}
        )
    if s.wage_floored:
        notes.append(_("The average wage was below the local minimum wage; the minimum applies."))
    if inp.unlawful:
        notes.append(
            _(
                "Unlawful termination: 2N replaces N (N is not also paid); years count from the "
                "first day of employment."
            )
        )
    if pre_2008:
        notes.append(
            _(
                "Service before 2008-01-01 falls under the rules of the time (LCL 97): to be "
                "confirmed with counsel."
            )
        )
    return notes


def _severance_lines(inp: Inputs, p: Params) -> tuple[list[Line], Decimal]:
    owed = inp.severance_owed or inp.unlawful
    mult = 2 if inp.unlawful else 1
    s = severance(
        first_day=inp.hire_date,
        last_day=inp.last_day,
        avg_wage=inp.avg_wage,
        local_avg_wage=p.local_avg_wage,
        local_min_wage=p.local_min_wage,
        high_earner_multiple=p.high_earner_multiple,
        high_earner_year_cap=p.high_earner_year_cap,
        multiplier=mult,
    )
    rule = "CN.SEVERANCE.2N" if inp.unlawful else "CN.SEVERANCE.N"
    inputs = [
        (_("First day of work (用工之日)"), inp.hire_date.isoformat()),
        (_("Last day"), inp.last_day.isoformat()),
        (_("Tenure (end-exclusive: last day + 1)"), str(s.tenure)),
        (_("Units before caps"), str(s.units_uncapped)),
        (_("12-month average wage W"), _fmt(_d(inp.avg_wage))),
        (_("Local minimum wage"), _fmt(p.local_min_wage)),
        (_("Local average monthly wage (prior year)"), _fmt(p.local_avg_wage)),
        (
            _("High-earner threshold (%(m)s × local average)") % {"m": p.high_earner_multiple},
            _fmt(p.high_earner_multiple * p.local_avg_wage),
        ),
        (_("Base"), _fmt(s.base)),
        (_("Units"), str(s.units)),
    ]
    if not owed:
        line = Line(
            key="severance",
            label=_("Economic compensation (N)"),
            formula=_("Not owed for this termination type."),
            inputs=inputs[:3],
            amount=ZERO,
            section="payable",
        )
        return [_ruled(line, p, "CN.SEVERANCE.N")], ZERO
    formula = _(
        "Units × base%(two)s. Units: one per full year of service, plus 1 for a remainder of "
        "six months or more, ½ for a shorter remainder. Base: the 12-month average wage (not "
        "below the local minimum wage); if it exceeds %(m)s × the local average wage, the base "
        "is that amount and the units are at most %(cap)s."
    ) % {
        "two": " × 2" if mult == 2 else "",
        "m": p.high_earner_multiple,
        "cap": p.high_earner_year_cap,
    }
    pre_2008 = inp.hire_date < dt.date(2008, 1, 1) and not inp.unlawful
    notes = _severance_notes(inp, s, pre_2008)
    line = Line(
        key="severance",
        label=_("Double compensation (2N)") if mult == 2 else _("Economic compensation (N)"),
        formula=formula,
        inputs=inputs,
        amount=s.amount,
        note=" ".join(notes),
    )
    return [_ruled(line, p, rule, "R" if pre_2008 else None)], s.amount


@dataclass
class Part:
    """The lines one part of the statement adds, and the raw amounts it contributes to the
    totals (rounded once, in `build_statement`)."""

    lines: list[Line]
    amounts: dict[str, Decimal]


def _severance_part(inp: Inputs, p: Params) -> Part:
    lines, amount = _severance_lines(inp, p)
    return Part(lines, {"severance": amount})


def _pay_in_lieu_part(inp: Inputs, p: Params) -> Part:
    """Payment in lieu of notice: not on top of 2N (courts generally do not award it)."""
    if not inp.pay_in_lieu:
        return Part([], {"pay_in_lieu": ZERO})
    amount = ZERO if inp.unlawful else pay_in_lieu(inp.previous_month_wage)
    line = Line(
        key="pay_in_lieu",
        label=_("Payment in lieu of notice (代通知金)"),
        formula=_("One month's wage at the previous month's standard."),
        inputs=[(_("Previous month's wage"), _fmt(_d(inp.previous_month_wage)))],
        amount=amount,
        note=_("Not paid on top of 2N: courts generally do not award it.") if inp.unlawful else "",
    )
    return Part(
        [_ruled(line, p, "CN.PAY_IN_LIEU", "R" if inp.unlawful else None)], {"pay_in_lieu": amount}
    )


def _annual_leave_part(inp: Inputs, p: Params) -> Part:
    """Unused annual leave: the days payable, the daily wage, the extra 200 % paid and the
    300 % total it stands for."""
    ent = (
        inp.leave_entitlement
        if inp.leave_entitlement is not None
        else leave_entitlement(inp.cumulative_work_years, p.leave_bands)
    )
    al = annual_leave(
        entitlement=ent,
        last_day=inp.last_day,
        hire_date=inp.hire_date,
        taken=inp.leave_taken,
        monthly_wage_excl_ot=inp.avg_wage_excl_ot,
        divisor=p.daily_wage_divisor,
    )
    pro_rata = Decimal(al.pro_rata.numerator) / Decimal(al.pro_rata.denominator)
    leave_inputs = [
        (_("Cumulative working years"), str(inp.cumulative_work_years)),
        (_("Annual entitlement (days)"), str(ent)),
        (_("Days elapsed this year at the employer"), str(al.days_elapsed)),
        (_("Pro rata (elapsed / 365 × entitlement)"), f"{pro_rata:.2f}"),
        (_("Days already taken this year"), str(al.taken)),
    ]
    wage_in = (_("12-month average wage excluding overtime"), _fmt(_d(inp.avg_wage_excl_ot)))
    days_in = (_("Days payable"), str(al.days))
    lines = [
        Line(
            key="leave_days",
            label=_("Unused annual leave (days payable)"),
            formula=_(
                "Days elapsed this calendar year / 365 × annual entitlement − days already "
                "taken, rounded down to whole days; never negative (no clawback)."
            ),
            inputs=leave_inputs,
            value=str(al.days),
            section="info",
        ),
        Line(
            key="daily_wage",
            label=_("Daily wage"),
            formula=_("12-month average wage excluding overtime / 21.75."),
            inputs=[wage_in, (_("Days per month (divisor)"), str(p.daily_wage_divisor))],
            amount=al.daily_wage,
            section="info",
        ),
        Line(
            key="leave_pay",
            label=_("Unused annual leave pay (extra 200 %)"),
            formula=_("Days payable × monthly wage excluding overtime / 21.75 × 200 %."),
            inputs=[days_in, wage_in],
            amount=al.extra_pay,
        ),
        Line(
            key="leave_pay_total",
            label=_("Unused annual leave: total remuneration (300 %)"),
            formula=_(
                "Days payable × daily wage × 300 %, of which 100 % was already paid in the "
                "salary; the statement pays the other 200 %."
            ),
            inputs=[days_in, wage_in],
            amount=al.total_pay,
            section="info",
        ),
    ]
    return Part([_ruled(line, p, "CN.ANNUAL_LEAVE") for line in lines], {"leave_pay": al.extra_pay})


def _final_wage_part(inp: Inputs, p: Params) -> Part:
    """When the final wages are due: never held back for the handover."""
    due = final_wage_due(inp.last_day, p.final_pay_working_days, p.jurisdiction)
    line = Line(
        key="final_wage_due",
        label=_("Final wages due by"),
        formula=_("At termination, or within the city's working days where it allows.")
        if p.final_pay_working_days == 0
        else _("Within %(n)s working days after the last day (city rule).")
        % {"n": p.final_pay_working_days},
        inputs=[
            (_("Last day"), inp.last_day.isoformat()),
            (_("City working days"), str(p.final_pay_working_days)),
        ],
        value=due.isoformat(),
        note=_("Final wages are never held back for the handover."),
        section="info",
    )
    return Part([_ruled(line, p, "CN.FINAL_PAY", p.city_confidence)], {})


def _non_compete_part(inp: Inputs, p: Params) -> Part:
    """The non-compete's monthly compensation, its total and the cost of a later release."""
    if not (inp.non_compete and inp.non_compete_months > 0):
        return Part([], {"non_compete_total": ZERO})
    nc = non_compete_terms(
        months=inp.non_compete_months,
        avg_wage=inp.avg_wage,
        local_min_wage=p.local_min_wage,
        agreed_monthly=inp.agreed_non_compete_monthly,
        rate=p.non_compete_rate,
    )
    agreed = inp.agreed_non_compete_monthly
    elapsed = min(6, nc.months)
    lines = [
        Line(
            key="non_compete_monthly",
            label=_("Non-compete: monthly compensation"),
            # xgettext:no-python-format
            formula=_(
                "The agreed amount, not below the local minimum wage; with none "
                "agreed, 30 percent of the 12-month average wage, not below the local "
                "minimum wage."
            ),
            inputs=[
                (_("12-month average wage W"), _fmt(_d(inp.avg_wage))),
                (_("Agreed monthly compensation"), _fmt(agreed) if agreed is not None else "—"),
                (
                    _("Floor: max(%(r)s %% × W, local minimum wage)")
                    % {"r": int(p.non_compete_rate * 100)},
                    _fmt(nc.floor),
                ),
                (_("Months (at most 24)"), str(nc.months)),
            ],
            amount=nc.monthly,
            note=_(
                "The agreed amount is below 30 percent of the 12-month average wage: "
                "it stands (only the minimum wage is a floor), but it is a dispute risk."
            )
            if nc.raised_to_floor
            else "",
            section="non_compete",
        ),
        Line(
            key="non_compete_total",
            label=_("Non-compete: total over the period"),
            formula=_("Monthly compensation × months, paid monthly."),
            inputs=[(_("Monthly"), _fmt(nc.monthly)), (_("Months"), str(nc.months))],
            amount=nc.total,
            section="non_compete",
        ),
        Line(
            key="non_compete_release",
            label=_("Non-compete: cost of releasing it after %(n)s months") % {"n": elapsed},
            formula=_(
                "Months already restricted × monthly + 3 extra months (a release later "
                "costs 3 more months; deciding at exit avoids it)."
            ),
            inputs=[(_("Monthly"), _fmt(nc.monthly)), (_("Months elapsed"), str(elapsed))],
            amount=non_compete_release_cost(nc.monthly, elapsed),
            section="non_compete",
        ),
    ]
    return Part(
        [_ruled(line, p, "CN.NON_COMPETE") for line in lines], {"non_compete_total": nc.total}
    )


def _owed_part(inp: Inputs, p: Params) -> Part:
    """What the employee owes, and how much of it may be deducted from the final wage."""
    owed_parts = [
        ("owed_loans", _("Loans outstanding"), _d(inp.owed_loans)),
        ("owed_advances", _("Unsettled advances and expense claims"), _d(inp.owed_advances)),
        ("owed_assets", _("Unreturned equipment (value)"), _d(inp.owed_assets)),
    ]
    owed = sum((money(v) for _k, _l, v in owed_parts), ZERO)
    final_wage = _d(
        inp.final_month_wage if inp.final_month_wage is not None else inp.previous_month_wage
    )
    ded = deduction(
        owed=owed,
        monthly_wage=final_wage,
        local_min_wage=p.local_min_wage,
        rate=p.deduction_rate,
    )
    amounts = {
        "owed_by_employee": ded.owed,
        "deducted_from_wages": ded.deducted,
        "still_owed": ded.outstanding,
    }
    if owed <= 0:
        return Part([], amounts)
    lines = [
        Line(
            key=key,
            label=label,
            formula=_("As recorded (business records from finance and IT)."),
            inputs=[],
            amount=money(value),
            confidence="",
            section="owed",
        )
        for key, label, value in owed_parts
        if value
    ]
    limit = Line(
        key="deduction",
        label=_("Deductible from the final month's wage"),
        formula=_(
            "The smaller of what is owed and the limit: at most %(r)s %% of the "
            "month's wage, and what remains must not fall below the local minimum "
            "wage. The rest is recovered by agreement, not from wages."
        )
        % {"r": int(p.deduction_rate * 100)},
        inputs=[
            (_("Owed in total"), _fmt(ded.owed)),
            (_("Month's wage"), _fmt(final_wage)),
            (_("Local minimum wage"), _fmt(p.local_min_wage)),
            (_("Limit"), _fmt(ded.limit)),
            (_("Still owed after the deduction"), _fmt(ded.outstanding)),
        ],
        amount=ded.deducted,
        section="owed",
    )
    return Part([*lines, _ruled(limit, p, "CN.DEDUCTION_LIMIT")], amounts)


# The statement, part by part, in the order its lines are shown.
STATEMENT_PARTS = (
    _severance_part,
    _pay_in_lieu_part,
    _annual_leave_part,
    _final_wage_part,
    _non_compete_part,
    _owed_part,
)


def build_statement(inp: Inputs, p: Params) -> Statement:
    """Every figure of the settlement, with its working. Pure: the same inputs and parameters
    always give the same statement."""
    lines: list[Line] = []
    a: dict[str, Decimal] = {}
    for part in STATEMENT_PARTS:
        built = part(inp, p)
        lines.extend(built.lines)
        a.update(built.amounts)
    totals = {
        "severance": money(a["severance"]),
        "pay_in_lieu": money(a["pay_in_lieu"]),
        "leave_pay": a["leave_pay"],
        "payable": money(a["severance"] + a["pay_in_lieu"] + a["leave_pay"]),
        "owed_by_employee": a["owed_by_employee"],
        "deducted_from_wages": a["deducted_from_wages"],
        "still_owed": a["still_owed"],
        "non_compete_total": money(a["non_compete_total"]),
    }
    return Statement(lines=lines, totals=totals)


def hold_note() -> str:
    """What may wait for the handover, said on every statement."""
    return _(
        "Only the severance payment may wait until the handover is complete (LCL 50 §2). Final "
        "wages, the separation certificate and the social-insurance and personnel-file "
        "transfer are never held back (LCL 50, 89)."
    )


def rounding_note() -> str:
    return _(
        "Amounts in CNY. Each figure is computed exactly and rounded once at its end "
        "(ROUND_HALF_UP to 0.01). Tenure counts from the first day of work to the last day "
        "inclusive (end = last day + 1)."
    )


def confidence_label(code: str) -> str:
    return {
        "P": _("statute"),
        "S": _("secondary source"),
        "R": _("to be confirmed"),
    }.get(code, _("to be confirmed"))


# ---------------------------------------------------------------- the thin layer: rule packs

# The rules a statement reads (ids in the packs; a short id gets the country prepended).
RULE_IDS = tuple(DEFAULT_BASES)


def params_for(case: Any, on: dt.date | None = None) -> Params:
    """The parameters for a case from the rule packs and the city table, as they stood on the
    last day (the place of performance's city, Impl. Reg. 14). Missing city figures refuse
    (a 409 naming the city); a rule missing from the packs keeps the document's basis, marked
    "to be confirmed"."""
    from baton.compliance import rules

    on = on or case.last_working_day
    jurisdiction = rules.jurisdiction_for(case)
    code = rules.city_code_for(case)
    if code is None:
        raise rules.RuleMissing(_("The leaver has no work city; its wage figures are needed."))
    city = rules.city(code, on)
    bases: dict[str, Basis] = {}
    found: dict[str, dict[str, Any]] = {}
    for rid in RULE_IDS:
        r = rules.find(rid, jurisdiction=jurisdiction, on=on)
        if r is None:
            bases[rid] = Basis(DEFAULT_BASES[rid].legal_basis, "R")
        else:
            bases[rid] = Basis(tuple(r.legal_basis), r.confidence)
            found[rid] = r.params or {}
    sev = found.get("CN.SEVERANCE.N", {})
    nc = found.get("CN.NON_COMPETE", {})
    ded = found.get("CN.DEDUCTION_LIMIT", {})
    leave = found.get("CN.ANNUAL_LEAVE", {})
    final_days = city.final_pay_working_days
    if final_days is None:
        final_days = int(found.get("CN.FINAL_PAY", {}).get("working_days") or 0)
    return Params(
        local_avg_wage=Decimal(city.avg_monthly_wage),
        local_min_wage=Decimal(city.min_monthly_wage),
        final_pay_working_days=final_days,
        jurisdiction=jurisdiction,
        high_earner_multiple=_d(sev.get("high_earner_multiple", 3)),
        high_earner_year_cap=_d(sev.get("high_earner_year_cap", 12)),
        non_compete_rate=_d(nc.get("min_share_of_avg", "0.30")),
        deduction_rate=_d(ded.get("max_share_of_monthly_wage", "0.20")),
        leave_bands=tuple(
            (int(a), int(b)) for a, b in leave.get("bands") or ((1, 5), (10, 10), (20, 15))
        ),
        daily_wage_divisor=_d(leave.get("daily_wage_divisor", DAYS_PER_MONTH)),
        city_confidence=city.confidence,
        bases=bases,
    )


def params_json(p: Params, city_code: str = "") -> dict[str, Any]:
    """What a statement was computed with, kept on the settlement."""
    return {
        "city": city_code,
        "jurisdiction": p.jurisdiction,
        "local_avg_wage": str(p.local_avg_wage),
        "local_min_wage": str(p.local_min_wage),
        "final_pay_working_days": p.final_pay_working_days,
        "high_earner_multiple": str(p.high_earner_multiple),
        "high_earner_year_cap": str(p.high_earner_year_cap),
        "non_compete_rate": str(p.non_compete_rate),
        "deduction_rate": str(p.deduction_rate),
        "daily_wage_divisor": str(p.daily_wage_divisor),
        "city_confidence": p.city_confidence,
        "rounding": ROUNDING_NOTE,
    }
