"""Every branch of the settlement arithmetic, with figures worked by hand from
docs/domain labor-rules.md (§1.2–1.5, §3, §4) — each expected amount is written out in the
test, never recomputed with the code's own formula.

Parameters throughout: the document's illustrative local average wage 12,000 (so the
high-earner threshold is 36,000) and a local minimum wage of 2,690."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from baton.compliance import settlement as calc

D = Decimal
P = calc.Params(local_avg_wage=D("12000"), local_min_wage=D("2690"))


def _inputs(**kw: object) -> calc.Inputs:
    base: dict[str, object] = {
        "hire_date": dt.date(2020, 1, 1),
        "last_day": dt.date(2024, 12, 31),
        "avg_wage": D("10000"),
        "avg_wage_excl_ot": D("10000"),
        "previous_month_wage": D("10000"),
    }
    base.update(kw)
    return calc.Inputs(**base)  # type: ignore[arg-type]


def _statement(params: calc.Params = P, **kw: object) -> calc.Statement:
    return calc.build_statement(_inputs(**kw), params)


# ---------------------------------------------------------------- severance: units


@pytest.mark.parametrize(
    ("first", "last", "ymd", "units"),
    [
        # 3 months: any part of a year under six months is half a month's wage.
        (dt.date(2025, 1, 1), dt.date(2025, 3, 31), (0, 3, 0), D("0.5")),
        # 3 years 5 months 29 days: still under six months.
        (dt.date(2020, 1, 1), dt.date(2023, 6, 29), (3, 5, 29), D("3.5")),
        # 3 years 6 months exactly: "六个月以上" includes six.
        (dt.date(2020, 1, 1), dt.date(2023, 6, 30), (3, 6, 0), D("4")),
        # 3 years 11 months: a whole month's wage for the remainder.
        (dt.date(2020, 1, 1), dt.date(2023, 11, 30), (3, 11, 0), D("4")),
        # Whole years only: no remainder, nothing added.
        (dt.date(2013, 1, 1), dt.date(2024, 12, 31), (12, 0, 0), D("12")),
        # A last day before the first: no service.
        (dt.date(2024, 5, 1), dt.date(2024, 4, 30), (0, 0, 0), D("0")),
        # Leap day hire: 29 Feb 2020 + 1 year is clamped to 28 Feb 2021, so the service to
        # 27 Feb 2021 inclusive (end-exclusive 28 Feb) is one whole year.
        (dt.date(2020, 2, 29), dt.date(2021, 2, 27), (1, 0, 0), D("1")),
    ],
)
def test_tenure_and_units(
    first: dt.date, last: dt.date, ymd: tuple[int, int, int], units: Decimal
) -> None:
    t = calc.tenure(first, last)
    assert (t.years, t.months, t.days) == ymd
    assert calc.severance_units(t) == units


def test_half_a_unit_for_a_short_remainder_in_money() -> None:
    # 3y 3m at 10,000 → 3.5 × 10,000 = 35,000.
    s = _statement(hire_date=dt.date(2020, 1, 1), last_day=dt.date(2023, 3, 31))
    assert s.totals["severance"] == D("35000.00")


# ---------------------------------------------------------------- severance: caps


def test_exactly_three_times_the_average_is_not_capped() -> None:
    # W = 36,000 is not *above* 3 × 12,000: 15y6m → 16 units × 36,000 = 576,000.
    sev = calc.severance(
        first_day=dt.date(2010, 1, 1),
        last_day=dt.date(2025, 6, 30),
        avg_wage=D("36000"),
        local_avg_wage=D("12000"),
    )
    assert not sev.capped
    assert sev.units == D("16") and sev.amount == D("576000.00")


def test_a_high_earner_under_twelve_years_has_only_the_base_capped() -> None:
    # 5 years at 50,000: base 36,000, units 5 (the 12 cap does not bite) → 180,000.
    sev = calc.severance(
        first_day=dt.date(2020, 1, 1),
        last_day=dt.date(2024, 12, 31),
        avg_wage=D("50000"),
        local_avg_wage=D("12000"),
    )
    assert sev.capped and sev.units == D("5") and sev.base == D("36000")
    assert sev.amount == D("180000.00")
    assert sev.uncapped_amount == D("250000.00")


def test_a_high_earner_at_exactly_twelve_years() -> None:
    # 12 years at 50,000: 12 × 36,000 = 432,000; uncapped 12 × 50,000 = 600,000.
    s = _statement(
        hire_date=dt.date(2013, 1, 1), last_day=dt.date(2024, 12, 31), avg_wage=D("50000")
    )
    assert s.totals["severance"] == D("432000.00")
    assert "600,000.00" in s.line("severance").note


def test_a_normal_earner_has_no_twelve_year_cap() -> None:
    # 20 years at 10,000 (from 2005 to 2024): 20 units × 10,000 = 200,000.
    s = _statement(hire_date=dt.date(2005, 1, 1), last_day=dt.date(2024, 12, 31))
    assert s.totals["severance"] == D("200000.00")
    assert "capped" not in s.line("severance").note


def test_2n_keeps_both_caps() -> None:
    # Ex. 2 dismissed unlawfully: 2 × 12 × 36,000 = 864,000; uncapped 2 × 16 × 60,000 =
    # 1,920,000.
    s = _statement(
        hire_date=dt.date(2010, 1, 1),
        last_day=dt.date(2025, 6, 30),
        avg_wage=D("60000"),
        unlawful=True,
    )
    assert s.totals["severance"] == D("864000.00")
    line = s.line("severance")
    assert "1,920,000.00" in line.note
    assert line.rule == "CN.SEVERANCE.2N"
    assert line.legal_basis == ("劳动合同法 48", "劳动合同法 87", "实施条例 25")


def test_high_earner_threshold_follows_the_parameters() -> None:
    # A pack could set 2 × the average: 24,000 < 30,000 → base 24,000, 4y → 96,000.
    params = calc.Params(
        local_avg_wage=D("12000"), local_min_wage=D("2690"), high_earner_multiple=D(2)
    )
    s = _statement(params, hire_date=dt.date(2021, 1, 1), avg_wage=D("30000"))
    assert s.totals["severance"] == D("96000.00")


def test_no_local_average_means_no_cap() -> None:
    # A missing average (0) must not make everyone a "high earner" capped at 0.
    params = calc.Params(local_avg_wage=D("0"), local_min_wage=D("2690"))
    s = _statement(params, avg_wage=D("50000"))
    # 5 years × 50,000.
    assert s.totals["severance"] == D("250000.00")


# ---------------------------------------------------------------- severance: floor and 2N


def test_the_minimum_wage_floor_applies_to_2n_too() -> None:
    # W 2,000 < 2,690: 2 years → 2 × 2,690 × 2 = 10,760.
    s = _statement(hire_date=dt.date(2023, 1, 1), avg_wage=D("2000"), unlawful=True)
    assert s.totals["severance"] == D("10760.00")
    assert "minimum wage" in s.line("severance").note


def test_a_wage_exactly_at_the_minimum_is_not_floored() -> None:
    sev = calc.severance(
        first_day=dt.date(2023, 1, 1),
        last_day=dt.date(2024, 12, 31),
        avg_wage=D("2690"),
        local_avg_wage=D("12000"),
        local_min_wage=D("2690"),
    )
    assert not sev.wage_floored and sev.amount == D("5380.00")


def test_unlawful_termination_owes_2n_even_where_n_is_not_owed() -> None:
    # A dismissal for cause found unlawful: no N by type, but 2N: 5y × 10,000 × 2 = 100,000.
    s = _statement(severance_owed=False, unlawful=True)
    assert s.totals["severance"] == D("100000.00")
    assert s.line("severance").label.startswith("Double")


def test_not_owed_shows_the_tenure_but_no_amount() -> None:
    s = _statement(severance_owed=False)
    line = s.line("severance")
    assert line.amount == 0 and s.totals["severance"] == 0
    assert [label for label, _v in line.inputs][:2] == ["First day of work (用工之日)", "Last day"]
    assert len(line.inputs) == 3


# ---------------------------------------------------------------- pre-2008 service


def test_service_before_2008_is_flagged_for_counsel_on_n() -> None:
    # 2005-07-01 → 2025-06-30: 20 years × 10,000 = 200,000, to be confirmed (LCL 97).
    s = _statement(hire_date=dt.date(2005, 7, 1), last_day=dt.date(2025, 6, 30))
    line = s.line("severance")
    assert s.totals["severance"] == D("200000.00")
    assert "2008-01-01" in line.note and line.confidence == "R"


def test_service_before_2008_is_not_flagged_on_2n() -> None:
    # 2N counts from the first day of employment (Impl. Reg. 25): 400,000, no LCL 97 note.
    s = _statement(hire_date=dt.date(2005, 7, 1), last_day=dt.date(2025, 6, 30), unlawful=True)
    line = s.line("severance")
    assert s.totals["severance"] == D("400000.00")
    assert "2008-01-01" not in line.note and line.confidence == "P"


def test_a_hire_on_1_january_2008_is_not_flagged() -> None:
    s = _statement(hire_date=dt.date(2008, 1, 1), last_day=dt.date(2024, 12, 31))
    # 17 years × 10,000.
    assert s.totals["severance"] == D("170000.00")
    assert s.line("severance").confidence == "P" and not s.line("severance").note


# ---------------------------------------------------------------- pay in lieu


def test_no_pay_in_lieu_unless_it_applies() -> None:
    s = _statement()
    assert not s.has("pay_in_lieu") and s.totals["pay_in_lieu"] == 0


def test_pay_in_lieu_is_the_previous_month_rounded_once() -> None:
    s = _statement(pay_in_lieu=True, previous_month_wage=D("17500.005"))
    assert s.totals["pay_in_lieu"] == D("17500.01")
    # 5y × 10,000 + 17,500.01.
    assert s.totals["payable"] == D("67500.01")


def test_pay_in_lieu_is_not_on_top_of_2n_and_says_why() -> None:
    s = _statement(pay_in_lieu=True, unlawful=True, previous_month_wage=D("12000"))
    line = s.line("pay_in_lieu")
    assert line.amount == 0 and s.totals["pay_in_lieu"] == 0
    assert "2N" in line.note and line.confidence == "R"
    assert s.totals["payable"] == D("100000.00")


# ---------------------------------------------------------------- annual leave


@pytest.mark.parametrize(
    ("years", "days"),
    [(0, 0), (1, 5), (9, 5), (10, 10), (19, 10), (20, 15), (40, 15)],
)
def test_entitlement_bands(years: int, days: int) -> None:
    assert calc.leave_entitlement(years) == days


def test_entitlement_bands_from_a_pack() -> None:
    bands = ((1, 7), (5, 12))
    assert [calc.leave_entitlement(y, bands) for y in (0, 1, 4, 5, 30)] == [0, 7, 7, 12, 12]


def test_a_mid_year_hire_counts_from_the_hire_date() -> None:
    # Hired 1 July, leaving 31 Dec: 184 days; 184 / 365 × 5 = 2.52 → 2 days.
    # Extra pay 2 × 10,000 / 21.75 × 2 = 1,839.08; total 300 % = 2,758.62; daily 459.77.
    al = calc.annual_leave(
        entitlement=5,
        last_day=dt.date(2025, 12, 31),
        hire_date=dt.date(2025, 7, 1),
        taken=D("0"),
        monthly_wage_excl_ot=D("10000"),
    )
    assert al.days_elapsed == 184 and al.days == 2
    assert al.daily_wage == D("459.77")
    assert al.extra_pay == D("1839.08") and al.total_pay == D("2758.62")


def test_more_taken_than_due_is_not_clawed_back() -> None:
    # Ex. 5 with 8 days taken: 6.66 − 8 < 0 → 0 days, nothing paid, nothing owed back.
    s = _statement(
        last_day=dt.date(2025, 8, 31),
        avg_wage_excl_ot=D("15000"),
        cumulative_work_years=12,
        leave_taken=D("8"),
    )
    assert s.line("leave_days").value == "0"
    assert s.totals["leave_pay"] == D("0.00")
    assert s.totals["owed_by_employee"] == 0


def test_half_days_taken() -> None:
    # Ex. 5 with 2.5 taken: 6.66 − 2.5 = 4.16 → 4 days × 15,000 / 21.75 × 2 = 5,517.24.
    s = _statement(
        last_day=dt.date(2025, 8, 31),
        avg_wage_excl_ot=D("15000"),
        cumulative_work_years=12,
        leave_taken=D("2.5"),
    )
    assert s.line("leave_days").value == "4"
    assert s.totals["leave_pay"] == D("5517.24")


def test_a_whole_leap_year_counts_365_days() -> None:
    # 31 Dec 2024 (a leap year): 366 days elapsed, counted as 365 → the full 10 days.
    # 10 × 15,000 / 21.75 × 2 = 13,793.10.
    al = calc.annual_leave(
        entitlement=10,
        last_day=dt.date(2024, 12, 31),
        hire_date=dt.date(2010, 1, 1),
        taken=D("0"),
        monthly_wage_excl_ot=D("15000"),
    )
    assert al.days_elapsed == 365 and al.days == 10
    assert al.extra_pay == D("13793.10")


def test_leaving_on_the_first_of_january() -> None:
    # 1 day elapsed: 1 / 365 × 15 = 0.04 → nothing.
    al = calc.annual_leave(
        entitlement=15,
        last_day=dt.date(2025, 1, 1),
        hire_date=dt.date(2000, 1, 1),
        taken=D("0"),
        monthly_wage_excl_ot=D("15000"),
    )
    assert al.days_elapsed == 1 and al.days == 0 and al.extra_pay == 0


def test_better_contractual_leave_prevails() -> None:
    # Ex. 5 with a contractual 20 days: 243 / 365 × 20 = 13.32 − 3 = 10.32 → 10 days →
    # 10 × 15,000 / 21.75 × 2 = 13,793.10.
    s = _statement(
        last_day=dt.date(2025, 8, 31),
        avg_wage_excl_ot=D("15000"),
        cumulative_work_years=12,
        leave_taken=D("3"),
        leave_entitlement=20,
    )
    assert s.line("leave_days").value == "10"
    assert s.totals["leave_pay"] == D("13793.10")


def test_less_than_a_year_of_work_gives_no_statutory_leave() -> None:
    s = _statement(
        hire_date=dt.date(2025, 3, 1),
        last_day=dt.date(2025, 12, 31),
        cumulative_work_years=0,
    )
    assert s.line("leave_days").value == "0" and s.totals["leave_pay"] == 0


def test_leave_uses_the_wage_without_overtime() -> None:
    # W 20,000 with overtime, 12,000 without: Ex. 5 → 3 days × 12,000 / 21.75 × 2 = 3,310.34.
    s = _statement(
        last_day=dt.date(2025, 8, 31),
        avg_wage=D("20000"),
        avg_wage_excl_ot=D("12000"),
        cumulative_work_years=12,
        leave_taken=D("3"),
    )
    assert s.totals["leave_pay"] == D("3310.34")
    assert s.line("daily_wage").amount == D("551.72")


# ---------------------------------------------------------------- final wages


@pytest.mark.parametrize(
    ("last_day", "due"),
    [
        # Tue 30 Sep 2025; 1–8 Oct is the National Day holiday; Sat 11 Oct is a make-up
        # working day: 9, 10, 11 Oct.
        (dt.date(2025, 9, 30), dt.date(2025, 10, 11)),
        # Fri 24 Jan 2025; Sun 26 Jan is a make-up day, 28 Jan–4 Feb the Spring Festival:
        # 26, 27 Jan, 5 Feb.
        (dt.date(2025, 1, 24), dt.date(2025, 2, 5)),
        # An ordinary Friday: Mon, Tue, Wed.
        (dt.date(2025, 10, 24), dt.date(2025, 10, 29)),
    ],
)
def test_final_wages_within_three_city_working_days(last_day: dt.date, due: dt.date) -> None:
    assert calc.final_wage_due(last_day, 3) == due


def test_final_wages_at_termination_even_on_a_holiday() -> None:
    assert calc.final_wage_due(dt.date(2025, 10, 1), 0) == dt.date(2025, 10, 1)


def test_final_wage_line_takes_the_city_s_confidence() -> None:
    params = calc.Params(
        local_avg_wage=D("12000"),
        local_min_wage=D("2690"),
        final_pay_working_days=3,
        city_confidence="R",
    )
    line = _statement(params, last_day=dt.date(2025, 9, 30)).line("final_wage_due")
    assert line.value == "2025-10-11"
    assert line.confidence == "R" and line.section == "info"
    assert "3" in line.formula


# ---------------------------------------------------------------- non-compete


def test_an_agreed_amount_at_exactly_thirty_percent_is_not_flagged() -> None:
    t = calc.non_compete_terms(
        months=12, avg_wage=D("20000"), local_min_wage=D("2690"), agreed_monthly=D("6000")
    )
    assert t.monthly == D("6000.00") and not t.raised_to_floor
    assert t.total == D("72000.00")


def test_an_agreed_amount_above_thirty_percent_stands() -> None:
    t = calc.non_compete_terms(
        months=6, avg_wage=D("20000"), local_min_wage=D("2690"), agreed_monthly=D("10000")
    )
    assert t.monthly == D("10000.00") and t.total == D("60000.00")


def test_thirty_percent_below_the_minimum_wage_is_raised_to_it() -> None:
    # 30 % of 8,000 = 2,400 < 2,690.
    t = calc.non_compete_terms(months=2, avg_wage=D("8000"), local_min_wage=D("2690"))
    assert t.floor == D("2690.00") and t.monthly == D("2690.00") and t.total == D("5380.00")


def test_thirty_percent_is_rounded_once() -> None:
    # 30 % of 12,345.67 = 3,703.701 → 3,703.70; × 24 = 88,888.80.
    t = calc.non_compete_terms(months=24, avg_wage=D("12345.67"), local_min_wage=D("2690"))
    assert t.monthly == D("3703.70") and t.total == D("88888.80")


@pytest.mark.parametrize("months", [0, -1, 25])
def test_a_non_compete_lasts_one_to_twenty_four_months(months: int) -> None:
    with pytest.raises(ValueError):
        calc.non_compete_terms(months=months, avg_wage=D("20000"), local_min_wage=D("2690"))


@pytest.mark.parametrize(
    ("monthly", "elapsed", "cost"),
    [
        # Ex. 4: 6 × 9,000 + 3 × 9,000.
        (D("9000"), 6, D("81000.00")),
        # Released before it starts: still 3 extra months.
        (D("9000"), 0, D("27000.00")),
        (D("2690"), 24, D("72630.00")),
    ],
)
def test_release_cost(monthly: Decimal, elapsed: int, cost: Decimal) -> None:
    assert calc.non_compete_release_cost(monthly, elapsed) == cost


def test_a_short_non_compete_on_the_statement() -> None:
    # 3 months at 30 % of 20,000 = 6,000: total 18,000; release after 3 months: 6 × 6,000.
    s = _statement(avg_wage=D("20000"), non_compete=True, non_compete_months=3)
    assert s.totals["non_compete_total"] == D("18000.00")
    release = s.line("non_compete_release")
    assert release.amount == D("36000.00") and "3" in release.label
    # Paid monthly during the restriction: never part of what is payable at exit.
    # 5y × 20,000 = 100,000.
    assert s.totals["payable"] == D("100000.00")


def test_an_agreed_amount_below_thirty_percent_is_flagged_on_the_statement() -> None:
    s = _statement(
        avg_wage=D("20000"),
        non_compete=True,
        non_compete_months=12,
        agreed_non_compete_monthly=D("4000"),
    )
    line = s.line("non_compete_monthly")
    assert line.amount == D("4000.00") and "dispute risk" in line.note
    assert s.totals["non_compete_total"] == D("48000.00")


@pytest.mark.parametrize(("active", "months"), [(False, 12), (True, 0)])
def test_no_non_compete_lines_unless_activated_with_months(active: bool, months: int) -> None:
    s = _statement(non_compete=active, non_compete_months=months)
    assert not any(li.section == "non_compete" for li in s.lines)
    assert s.totals["non_compete_total"] == 0


def test_the_schedule_adds_up_to_the_total() -> None:
    sched = calc.non_compete_schedule(dt.date(2026, 1, 1), 24, D("9000"))
    assert [k for k, _d, _a in sched] == list(range(1, 25))
    assert sum(a for _k, _d, a in sched) == D("216000.00")
    assert sched[0][1] == dt.date(2026, 1, 31) and sched[-1][1] == dt.date(2027, 12, 31)


# ---------------------------------------------------------------- deductions


def test_everything_owed_is_deducted_when_under_the_limit() -> None:
    d = calc.deduction(owed=D("1000"), monthly_wage=D("10000"), local_min_wage=D("2690"))
    assert (d.limit, d.deducted, d.outstanding, d.remaining_wage) == (
        D("2000.00"),
        D("1000.00"),
        D("0.00"),
        D("9000.00"),
    )


def test_nothing_is_deducted_from_a_wage_at_the_minimum() -> None:
    d = calc.deduction(owed=D("500"), monthly_wage=D("2690"), local_min_wage=D("2690"))
    assert d.limit == 0 and d.deducted == 0 and d.outstanding == D("500.00")


def test_several_owed_items_from_the_final_month_s_wage() -> None:
    # 1,000 + 500.50 + 2,000 = 3,500.50 owed; final month 12,000 → limit
    # min(2,400, 12,000 − 2,690) = 2,400; still owed 1,100.50. (The previous month's 17,500
    # would have allowed 3,500 — the final month's wage is the one deducted from.)
    s = _statement(
        previous_month_wage=D("17500"),
        final_month_wage=D("12000"),
        owed_loans=D("1000"),
        owed_advances=D("500.50"),
        owed_assets=D("2000"),
    )
    assert s.totals["owed_by_employee"] == D("3500.50")
    assert s.totals["deducted_from_wages"] == D("2400.00")
    assert s.totals["still_owed"] == D("1100.50")
    keys = [li.key for li in s.lines if li.section == "owed"]
    assert keys == ["owed_loans", "owed_advances", "owed_assets", "deduction"]
    # What is owed never reduces what is payable.
    assert s.totals["payable"] == D("50000.00")


def test_only_the_items_owed_get_a_line() -> None:
    s = _statement(owed_assets=D("800"))
    assert [li.key for li in s.lines if li.section == "owed"] == ["owed_assets", "deduction"]
    assert s.totals["deducted_from_wages"] == D("800.00")


def test_nothing_owed_means_no_owed_section() -> None:
    s = _statement()
    assert not any(li.section == "owed" for li in s.lines)
    assert (
        s.totals["owed_by_employee"],
        s.totals["deducted_from_wages"],
        s.totals["still_owed"],
    ) == (D("0.00"), D("0.00"), D("0.00"))


def test_a_deduction_rate_from_a_pack() -> None:
    params = calc.Params(
        local_avg_wage=D("12000"), local_min_wage=D("2690"), deduction_rate=D("0.10")
    )
    s = _statement(params, owed_loans=D("5000"))
    # 10 % of 10,000.
    assert s.totals["deducted_from_wages"] == D("1000.00")
    assert "10 %" in s.line("deduction").formula


# ---------------------------------------------------------------- the whole statement


def test_a_full_statement_adds_up() -> None:
    """No-fault dismissal, 2019-03-15 → 2025-08-31 (6y 5m 17d → 6.5 units), W 18,000,
    15,000 without overtime, 12 years' work, 3 days taken, pay in lieu 17,500:
    N = 6.5 × 18,000 = 117,000; leave Ex. 5 = 4,137.93; payable 138,637.93."""
    s = _statement(
        hire_date=dt.date(2019, 3, 15),
        last_day=dt.date(2025, 8, 31),
        avg_wage=D("18000"),
        avg_wage_excl_ot=D("15000"),
        previous_month_wage=D("17500"),
        cumulative_work_years=12,
        leave_taken=D("3"),
        pay_in_lieu=True,
    )
    assert s.totals["severance"] == D("117000.00")
    assert s.totals["leave_pay"] == D("4137.93")
    assert s.line("leave_pay_total").amount == D("6206.90")
    assert s.totals["payable"] == D("138637.93")
    assert [li.key for li in s.lines] == [
        "severance",
        "pay_in_lieu",
        "leave_days",
        "daily_wage",
        "leave_pay",
        "leave_pay_total",
        "final_wage_due",
    ]


def test_a_rule_the_packs_do_not_know_is_to_be_confirmed() -> None:
    params = calc.Params(
        local_avg_wage=D("12000"),
        local_min_wage=D("2690"),
        bases={"CN.SEVERANCE.N": calc.Basis(("某地方规定 1",), "S")},
    )
    s = _statement(params)
    assert s.line("severance").legal_basis == ("某地方规定 1",)
    assert s.line("severance").confidence == "S"
    # Missing from the given bases: the document's default basis is used.
    assert s.line("leave_pay").legal_basis == calc.DEFAULT_BASES["CN.ANNUAL_LEAVE"].legal_basis
    assert params.basis("XX.UNKNOWN") == calc.Basis((), "R")


def test_the_statement_serialises_every_figure_as_text() -> None:
    s = _statement(pay_in_lieu=True, owed_loans=D("10"))
    totals = s.totals_json()
    assert totals["payable"] == "60000.00"
    assert all(isinstance(v, str) for v in totals.values())
    lines = s.lines_json()
    assert lines[0]["key"] == "severance" and lines[0]["amount"] == "50000.00"
    assert all(isinstance(li["inputs"], list) for li in lines)
