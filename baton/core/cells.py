"""Spreadsheet cells and formula injection.

A cell whose text starts with "=", "+", "-", "@" (or a tab / carriage return) may be run as a
formula when a spreadsheet opens the file. Our exports neutralise such text with a leading
apostrophe (`safe_cell`); our imports recognise the escape (`unescape_cell`) and flag text a
spreadsheet would treat as a formula (`looks_like_formula`)."""

from __future__ import annotations

from typing import Any

FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formula injection: prefix formula-leading text with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_LEAD):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """Undo `safe_cell`: drop the apostrophe our export put before a formula-leading character."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_LEAD):
        return text[1:]
    return text


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet would take this text for a formula (a possible injection).

    A sign followed by a digit, a dot or a space is an ordinary value such as "-12.5" or a phone
    number "+86 138 0000 0000", so it is not flagged; "+cmd|..." and "-A1" are."""
    if not text:
        return False
    first = text[0]
    if first in "=@\t\r":
        return True
    if first in "+-" and len(text) > 1:
        nxt = text[1]
        return not (nxt.isdigit() or nxt == "." or nxt.isspace())
    return False
