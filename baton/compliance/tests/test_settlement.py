"""The settlement arithmetic: golden tests for every worked example in labor-rules.md (§1.5,
§3.5, §4.2) and property tests for the money and date rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.compliance import settlement as calc

D = Decimal
AVG_LOCAL = D("12000")  # the document's illustrative local average wage
MIN_WAGE = D("2690")
P = calc.Params(local_avg_wage=AVG_LOCAL, local_min_wage=MIN_WAGE)


def _inputs(**kw: object) -> calc.Inputs:
    base: dict[str, object] = {
        "hire_date": dt.date(2019, 3, 15),
        "last_day": dt.date(2025, 10, 20),
        "avg_wage": D("18000"),
        "avg_wage_excl_ot": D("18000"),
        "previous_month_wage": D("17500"),
    }
    base.update(kw)
    return calc.Inputs(**base)  # type: ignore[arg-type]


# ---------------------------------------------------------------- golden: the worked examples


def test_ex1_no_fault_with_pay_in_lieu() -> None:
    """Ex. 1: 2019-03-15 → 2025-10-20, W 18,000: 6y 7m 6d → 7 units → N 126,000; with pay in
    lieu 17,500 → 143,500."""
    t = calc.tenure(dt.date(2019, 3, 15), dt.date(2025, 10, 20))
    assert (t.years, t.months, t.days) == (6, 7, 6)
    assert calc.severance_units(t) == 7
    st_ = calc.build_statement(_inputs(pay_in_lieu=True), P)
    assert st_.totals["severance"] == D("126000.00")
    assert st_.totals["pay_in_lieu"] == D("17500.00")
    assert st_.totals["payable"] == D("143500.00")
    sev = st_.line("severance")
    assert not sev.note  # below 3 × 12,000: no cap
    assert sev.legal_basis == ("劳动合同法 46", "劳动合同法 47", "实施条例 27")
    assert sev.confidence == "P"


def test_ex1_pregnant_is_unlawful_2n_replaces_n() -> None:
    """Ex. 1 with a pregnant employee (LCL 42(4)): 2N = 252,000, N not paid, and pay in lieu
    not on top (courts generally do not award it [R])."""
    st_ = calc.build_statement(_inputs(pay_in_lieu=True, unlawful=True), P)
    assert st_.totals["severance"] == D("252000.00")
    assert st_.totals["pay_in_lieu"] == D("0")
    assert st_.totals["payable"] == D("252000.00")
    sev = st_.line("severance")
    assert "2N" in sev.label and sev.rule == "CN.SEVERANCE.2N"
    assert [li.key for li in st_.lines].count("severance") == 1  # no N line besides
    assert st_.line("pay_in_lieu").to_be_confirmed


def test_ex2_high_earner_capped() -> None:
    """Ex. 2: 2010-01-01 → 2025-06-30 (exactly 15y 6m), W 60,000 > 36,000: base 36,000, units
    min(16, 12) = 12 → 432,000; uncapped 960,000."""
    t = calc.tenure(dt.date(2010, 1, 1), dt.date(2025, 6, 30))
    assert (t.years, t.months, t.days) == (15, 6, 0)
    s = calc.severance(
        first_day=dt.date(2010, 1, 1),
        last_day=dt.date(2025, 6, 30),
        avg_wage=D("60000"),
        local_avg_wage=AVG_LOCAL,
        local_min_wage=MIN_WAGE,
    )
    assert s.units_uncapped == 16 and s.units == 12
    assert s.base == D("36000") and s.capped
    assert s.amount == D("432000.00")
    assert s.uncapped_amount == D("960000.00")
    line = calc.build_statement(
        _inputs(hire_date=dt.date(2010, 1, 1), last_day=dt.date(2025, 6, 30), avg_wage=D("60000")),
        P,
    ).line("severance")
    assert "960,000.00" in line.note


def test_ex3_long_tenure_normal_earner_no_year_cap() -> None:
    """Ex. 3: 15y 3m, W 10,000 → 15.5 units, no 12-year cap → 155,000."""
    s = calc.severance(
        first_day=dt.date(2010, 1, 1),
        last_day=dt.date(2025, 3, 31),
        avg_wage=D("10000"),
        local_avg_wage=AVG_LOCAL,
    )
    assert (s.tenure.years, s.tenure.months, s.tenure.days) == (15, 3, 0)
    assert s.units == D("15.5") and not s.capped
    assert s.amount == D("155000.00")


def test_ex4_non_compete() -> None:
    """Ex. 4: W12 30,000, none agreed → 9,000/month × 24 = 216,000; released after 6 months →
    6 × 9,000 + 3 × 9,000 = 81,000."""
    terms = calc.non_compete_terms(months=24, avg_wage=D("30000"), local_min_wage=MIN_WAGE)
    assert terms.monthly == D("9000.00")
    assert terms.total == D("216000.00")
    assert calc.non_compete_release_cost(terms.monthly, 6) == D("81000.00")
    st_ = calc.build_statement(
        _inputs(avg_wage=D("30000"), non_compete=True, non_compete_months=24), P
    )
    assert st_.totals["non_compete_total"] == D("216000.00")
    assert st_.line("non_compete_release").amount == D("81000.00")


def test_ex5_annual_leave() -> None:
    """Ex. 5: 12 years → 10 days; last day 2025-08-31 → 243 days; 6.66 − 3 taken → 3 days;
    daily 689.66; extra 200 % 4,137.93; total 300 % 6,206.90."""
    assert calc.leave_entitlement(12) == 10
    al = calc.annual_leave(
        entitlement=10,
        last_day=dt.date(2025, 8, 31),
        hire_date=dt.date(2013, 1, 1),
        taken=D("3"),
        monthly_wage_excl_ot=D("15000"),
    )
    assert al.days_elapsed == 243
    assert f"{float(al.pro_rata):.2f}" == "6.66"
    assert al.days == 3
    assert al.daily_wage == D("689.66")
    assert al.extra_pay == D("4137.93")  # from the exact daily wage, rounded once
    assert al.total_pay == D("6206.90")
    st_ = calc.build_statement(
        _inputs(
            hire_date=dt.date(2013, 1, 1),
            last_day=dt.date(2025, 8, 31),
            avg_wage_excl_ot=D("15000"),
            cumulative_work_years=12,
            leave_taken=D("3"),
            severance_owed=False,
        ),
        P,
    )
    assert st_.line("leave_days").value == "3"
    assert st_.line("leave_pay").amount == D("4137.93")
    assert st_.line("leave_pay_total").amount == D("6206.90")
    assert st_.totals["payable"] == D("4137.93")  # no N for a resignation


# ---------------------------------------------------------------- other rules


def test_tenure_conventions() -> None:
    # End-exclusive: a last day on the eve of an anniversary makes a full year.
    t = calc.tenure(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    assert (t.years, t.months, t.days) == (1, 0, 0)
    assert calc.severance_units(t) == 1
    # Exactly 6 months counts as a full unit ("以上" includes 6).
    assert calc.severance_units(calc.tenure(dt.date(2020, 1, 1), dt.date(2020, 6, 30))) == 1
    # One day of service is half a month.
    assert calc.severance_units(calc.tenure(dt.date(2020, 1, 1), dt.date(2020, 1, 1))) == D("0.5")
    # Month ends clamp (31 Jan + 1 month is 29 Feb 2020): 31 Jan → 28 Feb inclusive is a month.
    t = calc.tenure(dt.date(2020, 1, 31), dt.date(2020, 2, 28))
    assert (t.years, t.months, t.days) == (0, 1, 0)


def test_minimum_wage_floor_on_w() -> None:
    s = calc.severance(
        first_day=dt.date(2020, 1, 1),
        last_day=dt.date(2021, 12, 31),
        avg_wage=D("2000"),
        local_avg_wage=AVG_LOCAL,
        local_min_wage=MIN_WAGE,
    )
    assert s.wage_floored and s.amount == D("5380.00")


def test_no_severance_for_resignation_line_says_so() -> None:
    st_ = calc.build_statement(_inputs(severance_owed=False), P)
    assert st_.totals["severance"] == 0
    assert "Not owed" in st_.line("severance").formula


def test_final_wage_deadline_by_city() -> None:
    # CN default: at termination; Shenzhen: 3 working days (2025-10-01..08 is the National
    # Day holiday, 2025-09-30 a Tuesday → 3 working days after is 2025-10-11, a make-up day).
    assert calc.final_wage_due(dt.date(2025, 9, 30), 0) == dt.date(2025, 9, 30)
    assert calc.final_wage_due(dt.date(2025, 10, 20), 3) == dt.date(2025, 10, 23)
    sz = calc.Params(local_avg_wage=AVG_LOCAL, local_min_wage=MIN_WAGE, final_pay_working_days=3)
    line = calc.build_statement(_inputs(), sz).line("final_wage_due")
    assert line.value == "2025-10-23"
    assert "never held back" in line.note


def test_non_compete_floor_and_schedule() -> None:
    # Agreed below 30 %: the agreement stands (only the minimum wage is a floor), flagged.
    t = calc.non_compete_terms(
        months=12, avg_wage=D("20000"), local_min_wage=MIN_WAGE, agreed_monthly=D("3000")
    )
    assert t.monthly == D("3000.00") and t.raised_to_floor
    # Agreed below the minimum wage: raised to it.
    t = calc.non_compete_terms(
        months=12, avg_wage=D("20000"), local_min_wage=MIN_WAGE, agreed_monthly=D("1000")
    )
    assert t.monthly == MIN_WAGE
    # A low earner: the minimum wage is the floor.
    t = calc.non_compete_terms(months=3, avg_wage=D("5000"), local_min_wage=MIN_WAGE)
    assert t.monthly == MIN_WAGE
    with pytest.raises(ValueError):
        calc.non_compete_terms(months=25, avg_wage=D("5000"), local_min_wage=MIN_WAGE)
    sched = calc.non_compete_schedule(dt.date(2025, 11, 1), 3, D("6000"))
    assert [d for _k, d, _a in sched] == [
        dt.date(2025, 11, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
    ]
    assert calc.payment_is_late(dt.date(2025, 11, 30), None, dt.date(2026, 1, 29)) is False
    assert calc.payment_is_late(dt.date(2025, 11, 30), None, dt.date(2026, 1, 30)) is True
    assert (
        calc.payment_is_late(dt.date(2025, 11, 30), dt.date(2025, 12, 2), dt.date(2026, 6, 1))
        is False
    )


def test_deduction_limits() -> None:
    # 20 % of 10,000 = 2,000 (remainder 8,000 ≥ minimum wage).
    d = calc.deduction(owed=D("5000"), monthly_wage=D("10000"), local_min_wage=MIN_WAGE)
    assert (d.limit, d.deducted, d.outstanding) == (D("2000.00"), D("2000.00"), D("3000.00"))
    # A low wage: only down to the minimum wage.
    d = calc.deduction(owed=D("5000"), monthly_wage=D("3000"), local_min_wage=MIN_WAGE)
    assert d.deducted == D("310.00") and d.remaining_wage == MIN_WAGE
    # At or below the minimum wage nothing may be deducted.
    d = calc.deduction(owed=D("5000"), monthly_wage=D("2500"), local_min_wage=MIN_WAGE)
    assert d.deducted == 0
    st_ = calc.build_statement(_inputs(owed_loans=D("1000"), owed_assets=D("4999.99")), P)
    assert st_.totals["owed_by_employee"] == D("5999.99")
    assert st_.totals["deducted_from_wages"] == D("3500.00")  # 20 % of 17,500
    assert st_.totals["still_owed"] == D("2499.99")
    assert st_.line("deduction").section == "owed"


def test_every_line_has_working_and_basis() -> None:
    st_ = calc.build_statement(
        _inputs(
            pay_in_lieu=True,
            non_compete=True,
            non_compete_months=12,
            owed_loans=D("100"),
            cumulative_work_years=5,
        ),
        P,
    )
    for line in st_.lines:
        assert line.label and line.formula
        if line.section != "owed" or line.key == "deduction":
            assert line.legal_basis, line.key
            assert line.confidence in ("P", "S", "R")
        else:  # a recorded amount, not a rule
            assert line.confidence == "" and not line.legal_basis
        if line.amount is not None:
            assert line.amount == line.amount.quantize(D("0.01"))
    # JSON round trip keeps amounts exact as strings.
    js = st_.lines_json()
    assert js[0]["amount"] == "126000.00"


def test_pre_2008_service_flagged() -> None:
    line = calc.build_statement(_inputs(hire_date=dt.date(2005, 1, 1)), P).line("severance")
    assert line.to_be_confirmed and "2008" in line.note


# ---------------------------------------------------------------- properties

dates = st.dates(min_value=dt.date(2008, 1, 1), max_value=dt.date(2035, 12, 31))
wages = st.decimals(min_value=D("0"), max_value=D("500000"), places=2)
locals_ = st.decimals(min_value=D("3000"), max_value=D("20000"), places=2)


def _n(first: dt.date, last: dt.date, w: Decimal, avg: Decimal) -> calc.Severance:
    return calc.severance(
        first_day=first, last_day=last, avg_wage=w, local_avg_wage=avg, local_min_wage=MIN_WAGE
    )


@settings(max_examples=300, deadline=None)
@given(first=dates, days=st.integers(0, 12000), more=st.integers(0, 800), w=wages, avg=locals_)
def test_severance_monotone_in_tenure(
    first: dt.date, days: int, more: int, w: Decimal, avg: Decimal
) -> None:
    last = first + dt.timedelta(days=days)
    a = _n(first, last, w, avg)
    b = _n(first, last + dt.timedelta(days=more), w, avg)
    assert b.units >= a.units and b.amount >= a.amount


@settings(max_examples=300, deadline=None)
@given(first=dates, days=st.integers(0, 12000), w1=wages, w2=wages, avg=locals_)
def test_severance_monotone_in_wage(
    first: dt.date, days: int, w1: Decimal, w2: Decimal, avg: Decimal
) -> None:
    """Non-decreasing in the wage on each side of the high-earner threshold, and across it
    whenever the 12-year cap does not bite. (Across it with more than 12 units the statute
    itself has a cliff — see test_the_statutes_cliff.)"""
    last = first + dt.timedelta(days=days)
    lo, hi = sorted((w1, w2))
    a, b = _n(first, last, lo, avg), _n(first, last, hi, avg)
    if a.capped == b.capped or a.units_uncapped <= 12:
        assert b.amount >= a.amount


def test_the_statutes_cliff() -> None:
    """Just above 3× the local average, 16 units drop to 12: the law's own discontinuity."""
    below = _n(dt.date(2010, 1, 1), dt.date(2025, 6, 30), D("36000"), AVG_LOCAL)
    above = _n(dt.date(2010, 1, 1), dt.date(2025, 6, 30), D("36000.01"), AVG_LOCAL)
    assert below.amount == D("576000.00") and above.amount == D("432000.00")


@settings(max_examples=300, deadline=None)
@given(first=dates, days=st.integers(0, 15000), w=wages, avg=locals_, two=st.booleans())
def test_caps_never_exceeded_and_money_exact(
    first: dt.date, days: int, w: Decimal, avg: Decimal, two: bool
) -> None:
    s = calc.severance(
        first_day=first,
        last_day=first + dt.timedelta(days=days),
        avg_wage=w,
        local_avg_wage=avg,
        local_min_wage=MIN_WAGE,
        multiplier=2 if two else 1,
    )
    if s.capped:
        assert s.base <= 3 * avg and s.units <= 12
    assert s.base <= max(w, MIN_WAGE)
    assert s.amount <= 3 * avg * 12 * s.multiplier or not s.capped
    assert isinstance(s.amount, Decimal) and s.amount == s.amount.quantize(D("0.01"))
    assert s.amount == calc.money(s.units * s.base * s.multiplier)
    assert s.units * 2 == int(s.units * 2)  # whole or half months


@settings(max_examples=300, deadline=None)
@given(
    ent=st.sampled_from([0, 5, 10, 15]),
    last=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)),
    hire_offset=st.integers(0, 4000),
    taken=st.decimals(min_value=D("0"), max_value=D("30"), places=1),
    wage=wages,
)
def test_annual_leave_whole_days_never_negative(
    ent: int, last: dt.date, hire_offset: int, taken: Decimal, wage: Decimal
) -> None:
    al = calc.annual_leave(
        entitlement=ent,
        last_day=last,
        hire_date=last - dt.timedelta(days=hire_offset),
        taken=taken,
        monthly_wage_excl_ot=wage,
    )
    assert isinstance(al.days, int) and 0 <= al.days <= ent
    assert al.days <= al.pro_rata
    for amount in (al.extra_pay, al.total_pay, al.daily_wage):
        assert amount == amount.quantize(D("0.01")) and amount >= 0
    assert abs(al.total_pay - al.extra_pay * 3 / 2) <= D("0.01")


@settings(max_examples=300, deadline=None)
@given(
    owed=st.decimals(min_value=D("0"), max_value=D("1000000"), places=2),
    wage=st.decimals(min_value=D("0"), max_value=D("200000"), places=2),
    minimum=st.decimals(min_value=D("1000"), max_value=D("4000"), places=2),
)
def test_deduction_never_below_minimum_wage(owed: Decimal, wage: Decimal, minimum: Decimal) -> None:
    d = calc.deduction(owed=owed, monthly_wage=wage, local_min_wage=minimum)
    assert 0 <= d.deducted <= owed
    assert d.deducted <= calc.money(wage * D("0.20"))
    if d.deducted > 0:
        assert wage - d.deducted >= minimum
    assert d.deducted + d.outstanding == d.owed


@settings(max_examples=200, deadline=None)
@given(
    months=st.integers(1, 24),
    w=wages,
    agreed=st.one_of(st.none(), st.decimals(min_value=D("0"), max_value=D("100000"), places=2)),
)
def test_non_compete_floor_always_holds(months: int, w: Decimal, agreed: Decimal | None) -> None:
    t = calc.non_compete_terms(
        months=months, avg_wage=w, local_min_wage=MIN_WAGE, agreed_monthly=agreed
    )
    # Never below the minimum wage; with nothing agreed, never below 30 % (Interp. (I) 36).
    assert t.monthly >= MIN_WAGE
    if agreed is None:
        assert t.monthly >= calc.money(w * D("0.30"))
    assert t.total == t.monthly * months
    assert len(calc.non_compete_schedule(dt.date(2025, 1, 31), months, t.monthly)) == months


@settings(max_examples=200, deadline=None)
@given(
    first=dates,
    days=st.integers(0, 12000),
    w=wages,
    owed=st.sampled_from([True, False]),
    unlawful=st.booleans(),
    lieu=st.booleans(),
    months=st.integers(0, 24),
    loans=st.decimals(0, 200000, places=2),
)
def test_totals_are_the_sum_of_their_lines(
    first: dt.date,
    days: int,
    w: Decimal,
    owed: bool,
    unlawful: bool,
    lieu: bool,
    months: int,
    loans: Decimal,
) -> None:
    """Each part of the statement adds its lines and its share of the totals: what is payable
    is exactly the payable lines, the non-compete total its line, the deduction its line."""
    st_ = calc.build_statement(
        _inputs(
            hire_date=first,
            last_day=first + dt.timedelta(days=days),
            avg_wage=w,
            avg_wage_excl_ot=w,
            previous_month_wage=w,
            severance_owed=owed,
            unlawful=unlawful,
            pay_in_lieu=lieu,
            non_compete=months > 0,
            non_compete_months=months,
            owed_loans=loans,
        ),
        P,
    )
    payable = sum((li.amount or D(0) for li in st_.lines if li.section == "payable"), start=D(0))
    assert st_.totals["payable"] == payable
    keys = [li.key for li in st_.lines]
    assert len(keys) == len(set(keys))
    assert st_.has("non_compete_total") == (months > 0)
    if months:
        assert st_.totals["non_compete_total"] == st_.line("non_compete_total").amount
    assert st_.has("deduction") == (loans > 0)
    if loans:
        assert st_.totals["deducted_from_wages"] == st_.line("deduction").amount
