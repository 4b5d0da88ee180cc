"""Working-day arithmetic per jurisdiction.

Mainland China uses `chinese-calendar` (statutory holidays and 调休 make-up working days, from
the State Council's yearly notice) for the years it covers, and the `holidays` package's CN
calendar (which also knows make-up working days) beyond them; other countries use `holidays`
with Saturday/Sunday weekends. Calendars are cached per (jurisdiction, year).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar
import holidays

_ONE = dt.timedelta(days=1)


@lru_cache(maxsize=64)
def _holiday_calendar(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return None


@lru_cache(maxsize=16384)
def is_working_day(day: dt.date, jurisdiction: str = "CN") -> bool:
    # Cached: calendars do not change while a process runs, and chinese-calendar recomputes
    # its year range on every call (~36 µs; bulk approvals ask it ~1.5 million times).
    country = (jurisdiction or "CN").split("-")[0].upper()
    if country == "CN":
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass  # beyond chinese-calendar's published years: the holidays package below
    cal = _holiday_calendar(country, day.year)
    if cal is None:
        return day.weekday() < 5
    return bool(cal.is_working_day(day))


def add_working_days(start: dt.date, days: int, jurisdiction: str = "CN") -> dt.date:
    """The date `days` working days after (or, if negative, before) `start`. Zero returns
    `start` itself if it is a working day, else the previous working day (a deadline "on" a
    holiday falls due before it)."""
    if days == 0:
        day = start
        while not is_working_day(day, jurisdiction):
            day -= _ONE
        return day
    step = _ONE if days > 0 else -_ONE
    remaining = abs(days)
    day = start
    while remaining:
        day += step
        if is_working_day(day, jurisdiction):
            remaining -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, jurisdiction: str = "CN") -> int:
    """Working days after `start` up to and including `end` (negative if end is earlier)."""
    if end == start:
        return 0
    sign = 1 if end > start else -1
    lo, hi = (start, end) if sign > 0 else (end, start)
    count = 0
    day = lo + _ONE
    while day <= hi:
        if is_working_day(day, jurisdiction):
            count += 1
        day += _ONE
    return sign * count
