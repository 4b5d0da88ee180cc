"""Working days per jurisdiction, with mainland China's make-up working days (调休)."""

from __future__ import annotations

import datetime as dt

from baton.core.workdays import add_working_days, is_working_day, working_days_between


def test_national_day_week_and_make_up_days() -> None:
    assert not is_working_day(dt.date(2026, 10, 1))  # National Day
    assert not is_working_day(dt.date(2026, 10, 3))
    assert is_working_day(dt.date(2026, 10, 8))  # back to work
    assert is_working_day(dt.date(2026, 10, 10))  # a Saturday made a working day (调休)


def test_add_working_days_skips_holidays_both_ways() -> None:
    assert add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    assert add_working_days(dt.date(2026, 10, 8), -1) == dt.date(2026, 9, 30)
    assert add_working_days(dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 10)
    # Zero on a holiday falls due on the working day before it.
    assert add_working_days(dt.date(2026, 10, 3), 0) == dt.date(2026, 9, 30)


def test_beyond_chinese_calendar_years_and_other_countries() -> None:
    assert not is_working_day(dt.date(2027, 1, 1), "CN")  # New Year, from `holidays`
    assert not is_working_day(dt.date(2026, 12, 25), "DE")
    assert is_working_day(dt.date(2026, 12, 25), "CN")
    # 22, 23, 24 and 28 December (25 and 26 are holidays, 27 a Sunday).
    assert working_days_between(dt.date(2026, 12, 21), dt.date(2026, 12, 28), "DE") == 4
