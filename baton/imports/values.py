"""Reading one cell: dates, times, numbers, choices, JSON — each refusal names what was expected.

Parsers raise `CellError` with a translated message; the engine turns it into a report line
with the row and the column.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _


class CellError(Exception):
    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


_SEP = re.compile(r"[./年月]")


def parse_date(text: str, fmt: str = "") -> dt.date:
    """ISO dates (2024-03-01), 2024/3/1, 2024.03.01, 20240301, 2024年3月1日; with `fmt` (a
    strftime pattern from the mapping) that format only. A datetime's time part is ignored."""
    if fmt:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            raise CellError(
                _("“%(value)s” is not a date in the format %(format)s.")
                % {"value": text, "format": fmt},
                "bad_date",
            ) from None
    try:
        return dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in " T" else text)
    except ValueError:
        pass
    t = _SEP.sub("-", text.rstrip("日")).strip()
    parts = t.split("-")
    try:
        if len(parts) == 3:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(t) == 8 and t.isdigit():
            return dt.date(int(t[:4]), int(t[4:6]), int(t[6:]))
    except ValueError:
        pass
    raise CellError(
        _("“%(value)s” is not a date (expected YYYY-MM-DD).") % {"value": text}, "bad_date"
    )


def parse_time(text: str) -> dt.time:
    try:
        if len(text) > 8 and text[10:11] in (" ", "T"):
            text = text[11:]
        return dt.time.fromisoformat(text if len(text) != 4 else "0" + text)
    except ValueError:
        raise CellError(
            _("“%(value)s” is not a time of day (expected HH:MM).") % {"value": text}, "bad_time"
        ) from None


def parse_decimal(
    text: str, *, places: int = 2, minimum: Decimal | None = None, digits: int = 12
) -> Decimal:
    """A number with `places` decimals and at most `digits` digits in all (the column's size)."""
    bad = CellError(_("“%(value)s” is not a number.") % {"value": text[:40]}, "bad_number")
    if len(text) > 40:
        raise bad
    try:
        value = Decimal(text.replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise bad from None
    if not value.is_finite():
        raise bad
    if abs(value) >= Decimal(10) ** (digits - places):
        raise CellError(
            _("%(value)s is too large (at most %(digits)d digits before the decimal point).")
            % {"value": text, "digits": digits - places},
            "out_of_range",
        )
    if minimum is not None and value < minimum:
        raise CellError(
            _("%(value)s is below the least allowed, %(minimum)s.")
            % {"value": text, "minimum": minimum},
            "out_of_range",
        )
    return value.quantize(Decimal(1).scaleb(-places))


def parse_int(text: str) -> int:
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 9:
        raise CellError(
            _("“%(value)s” is not a whole number.") % {"value": text[:40]}, "bad_number"
        )
    try:
        return int(text)
    except ValueError:
        raise CellError(
            _("“%(value)s” is not a whole number.") % {"value": text}, "bad_number"
        ) from None


_TRUE = {"1", "true", "yes", "y", "是", "t", "active", "有效"}
_FALSE = {"0", "false", "no", "n", "否", "f", "inactive", "无效"}


def parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise CellError(_("“%(value)s” is not yes or no.") % {"value": text}, "bad_bool")


_CHOICES: dict[tuple[Any, str], dict[str, str]] = {}


def _choice_table(choices: Any) -> dict[str, str]:
    """Code and label (in the active language, English and Chinese) → code, built once."""
    key = (choices, translation.get_language() or "")
    table = _CHOICES.get(key)
    if table is None:
        table = {}
        for value, label in choices.choices:
            for lang in (None, "en", "zh-hans"):
                with translation.override(lang) if lang else contextlib.nullcontext():
                    table[str(label).lower()] = str(value)
        for value in choices.values:
            table[str(value).lower()] = str(value)
        _CHOICES[key] = table
    return table


def parse_choice(text: str, choices: Any) -> str:
    """A value of a TextChoices: by its code or by its label (English or Chinese)."""
    hit = _choice_table(choices).get(text.strip().lower())
    if hit is not None:
        return hit
    raise CellError(
        _("“%(value)s” is not one of: %(allowed)s.")
        % {"value": text, "allowed": ", ".join(str(v) for v in choices.values)},
        "bad_choice",
    )


def parse_json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise CellError(
            _("“%(value)s” is not a JSON object.") % {"value": text[:60]}, "bad_json"
        ) from None
    if not isinstance(value, dict):
        raise CellError(_("“%(value)s” is not a JSON object.") % {"value": text[:60]}, "bad_json")
    return value


def parse_email(text: str) -> str:
    try:
        validate_email(text)
    except ValidationError:
        raise CellError(
            _("“%(value)s” is not an email address.") % {"value": text}, "bad_email"
        ) from None
    return text


_PHONE = re.compile(r"^\+?[0-9][0-9 \-()]{4,30}$")


def parse_phone(text: str) -> str:
    if not _PHONE.match(text):
        raise CellError(_("“%(value)s” is not a phone number.") % {"value": text}, "bad_phone")
    return text


def check_length(text: str, limit: int) -> str:
    if len(text) > limit:
        raise CellError(_("Longer than %(limit)d characters.") % {"limit": limit}, "too_long")
    return text


def typed(text: str) -> Any:
    """A loose value for a free attribute: whole numbers and decimals as numbers, else text."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        f = float(text)
    except ValueError:
        return text
    return f if f == f and f not in (float("inf"), float("-inf")) else text
