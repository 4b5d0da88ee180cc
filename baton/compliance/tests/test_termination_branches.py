"""Termination guards beyond the main paths (labor-rules.md §1.1): LCL 45 on expiry, LCL 21
in probation, protection flags that are off or unknown, employer types with no pay in lieu,
service months at month ends, and the final-pay and penalty edges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from baton.compliance import terminations as T

pytestmark = pytest.mark.django_db
D = dt.date


# ---------------------------------------------------------------- LCL 42 and 45


@pytest.mark.parametrize("code", ["EXPIRY", "EXPIRY_RENEWAL_REFUSED"])
def test_a_contract_does_not_expire_while_a_protected_status_lasts(code: str) -> None:
    a = T.assess(
        code,
        D(2025, 11, 1),
        D(2025, 12, 31),
        contract_end=D(2025, 12, 31),
        protection={"medical_period": True},
    )
    assert not a.ok
    assert any("LCL 45" in b for b in a.blocked)


def test_expiry_without_protection_ends_on_the_contract_end() -> None:
    a = T.assess("EXPIRY", D(2025, 11, 1), D(2025, 12, 31), contract_end=D(2025, 12, 31))
    assert a.ok and not a.blocked
    # A last day before the contract's end is early.
    early = T.assess("EXPIRY", D(2025, 11, 1), D(2025, 12, 1), contract_end=D(2025, 12, 31))
    assert not early.ok and "2025-12-31" in early.last_day_errors[0]


def test_an_expiry_notice_after_the_contract_end_allows_the_notice_day() -> None:
    assert T.earliest_last_day("EXPIRY", D(2026, 1, 5), contract_end=D(2025, 12, 31)) == D(
        2026, 1, 5
    )


@pytest.mark.parametrize(
    "protection",
    [{"pregnancy": False}, {"not_a_flag": True}, {}, {"pregnancy": False, "nonsense": True}],
)
def test_flags_that_are_off_or_unknown_block_nothing(protection: dict[str, bool]) -> None:
    a = T.assess("ER_NO_FAULT", D(2025, 3, 1), D(2025, 3, 31), protection=protection)
    assert a.ok and not a.blocked


@pytest.mark.parametrize(
    "code", ["EE_NOTICE", "EE_FOR_CAUSE", "MUTUAL_ER_PROPOSED", "MUTUAL_EE_PROPOSED", "RETIREMENT"]
)
def test_protection_blocks_only_no_fault_layoff_and_expiry(code: str) -> None:
    a = T.assess(
        code, D(2025, 3, 1), D(2025, 4, 30), protection=dict.fromkeys(T.PROTECTION_FLAGS, True)
    )
    assert not a.blocked


def test_every_flag_is_named_in_its_own_refusal() -> None:
    every = dict.fromkeys(T.PROTECTION_FLAGS, True)
    a = T.assess("ER_LAYOFF", D(2025, 3, 1), D(2025, 4, 30), protection=every)
    assert len(a.blocked) == len(T.PROTECTION_FLAGS)
    for flag, label in T.PROTECTION_FLAGS.items():
        assert any(str(label) in b for b in a.blocked), flag


def test_protection_rules_are_mainland_china_s() -> None:
    a = T.assess(
        "ER_NO_FAULT",
        D(2025, 3, 3),
        D(2025, 12, 31),
        jurisdiction="UK",
        hire_date=D(2017, 7, 1),
        protection={"pregnancy": True},
    )
    assert not a.blocked


# ---------------------------------------------------------------- probation (LCL 21)


def test_a_layoff_in_probation_is_refused() -> None:
    a = T.assess("ER_LAYOFF", D(2025, 3, 1), D(2025, 3, 31), probation_end=D(2025, 5, 31))
    assert not a.ok and any("LCL 21" in b for b in a.blocked)


def test_a_no_fault_dismissal_in_probation_is_warned_not_refused() -> None:
    a = T.assess("ER_NO_FAULT", D(2025, 3, 1), D(2025, 3, 31), probation_end=D(2025, 5, 31))
    assert a.ok and any("LCL 21" in w for w in a.warnings)


def test_notice_on_the_last_day_of_probation_is_in_probation() -> None:
    n = T.notice_for("EE_NOTICE", D(2025, 5, 31), probation_end=D(2025, 5, 31))
    assert n.in_probation and n.earliest == D(2025, 6, 3)
    after = T.notice_for("EE_NOTICE", D(2025, 6, 1), probation_end=D(2025, 5, 31))
    assert not after.in_probation and after.earliest == D(2025, 7, 1)


# ---------------------------------------------------------------- early last days


def test_a_layoff_cannot_be_shortened_by_pay_in_lieu() -> None:
    a = T.assess("ER_LAYOFF", D(2025, 3, 1), D(2025, 3, 15), pay_in_lieu=True)
    assert not a.ok
    assert "not available" in a.last_day_errors[0]
    assert "2025-03-31" in a.last_day_errors[0]


def test_a_last_day_before_the_notice_is_its_own_error() -> None:
    a = T.assess("ER_CAUSE", D(2025, 3, 10), D(2025, 3, 9))
    assert a.last_day_errors == ["The last day is before the notice date."]


def test_a_dismissal_for_cause_may_end_the_same_day() -> None:
    assert T.assess("ER_CAUSE", D(2025, 3, 10), D(2025, 3, 10)).ok


def test_union_notice_steps_for_employer_unilateral_types_only() -> None:
    for code in ("ER_CAUSE", "ER_NO_FAULT", "ER_LAYOFF"):
        assert T.UNION_NOTICE in T.assess(code, D(2025, 3, 1), D(2025, 4, 30)).steps
    for code in ("EE_NOTICE", "MUTUAL_ER_PROPOSED", "EXPIRY"):
        assert T.UNION_NOTICE not in T.required_steps(code, "CN")


# ---------------------------------------------------------------- service months


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (D(2025, 1, 31), D(2025, 2, 28), 1),  # a month ending on the month's last day
        (D(2024, 1, 31), D(2024, 2, 29), 1),  # leap year
        (D(2025, 1, 15), D(2025, 2, 14), 0),
        (D(2025, 1, 15), D(2025, 2, 15), 1),
        (D(2025, 3, 1), D(2025, 2, 28), 0),  # end before start
        (D(2015, 3, 1), D(2025, 3, 1), 120),
    ],
)
def test_completed_months(start: dt.date, end: dt.date, months: int) -> None:
    assert T.completed_months(start, end) == months


def test_add_months_clamps_to_the_month_end() -> None:
    assert T.add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert T.add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert T.add_months(D(2025, 11, 30), 3) == D(2026, 2, 28)


# ---------------------------------------------------------------- final pay and penalties


def test_cn_final_pay_at_termination_without_a_city_rule() -> None:
    due = T.final_pay_due("EE_NOTICE", jurisdiction="CN", last_day=D(2025, 9, 30))
    assert due.due_date == D(2025, 9, 30) and due.due_at is None


def test_jp_final_pay_waits_for_the_request() -> None:
    none_yet = T.final_pay_due("EE_NOTICE", jurisdiction="JP", last_day=D(2025, 3, 31))
    assert none_yet.due_date is None and "request" in none_yet.explanation
    asked = T.final_pay_due(
        "EE_NOTICE", jurisdiction="JP", last_day=D(2025, 3, 31), requested_on=D(2025, 4, 2)
    )
    assert asked.due_date == D(2025, 4, 9)


def test_ca_quit_with_too_little_notice_pays_72_hours_after_the_last_day() -> None:
    due = T.final_pay_due(
        "EE_NOTICE", jurisdiction="US-CA", last_day=D(2025, 3, 14), gave_notice_hours=24
    )
    # No quit time given: 17:00 on the last day + 72 hours.
    assert due.due_at == dt.datetime(2025, 3, 17, 17, 0)


@pytest.mark.parametrize(
    ("wage", "days", "penalty"),
    [
        (Decimal("250.00"), 0, Decimal("0.00")),
        (Decimal("250.00"), -3, Decimal("0.00")),
        (Decimal("250.00"), 30, Decimal("7500.00")),
        (Decimal("250.00"), 31, Decimal("7500.00")),
        (Decimal("333.335"), 3, Decimal("1000.01")),  # 1,000.005 rounds half up
    ],
)
def test_ca_waiting_time_penalty_edges(wage: Decimal, days: int, penalty: Decimal) -> None:
    assert T.ca_waiting_time_penalty(wage, days) == penalty


def test_jp_pay_in_lieu_never_negative_and_never_over_30() -> None:
    notice = D(2025, 4, 1)
    assert T.jp_pay_in_lieu_days(notice, notice + dt.timedelta(days=45)) == 0
    assert T.jp_pay_in_lieu_days(notice, notice - dt.timedelta(days=5)) == 30


def test_an_unknown_type_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        T.notice_for("NOT_A_TYPE", D(2025, 3, 1))
