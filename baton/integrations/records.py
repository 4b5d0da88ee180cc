"""A leaver's business record as a system sends it (pulled through a manifest or pushed through
the API), checked and normalised into a `PulledRecord`, with every problem named by field."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from baton.integrations.connectors.base import PulledRecord
from baton.integrations.models import BusinessKind

MAX_PUSH = 5000


def parse_record(raw: Any) -> tuple[PulledRecord | None, dict[str, str]]:
    """One record as a system sends it ({kind, external_id, name, amount, currency,
    contact_…, details}) checked and normalised; or None with field → problem."""
    if not isinstance(raw, Mapping):
        return None, {"": _("Expected an object.")}
    errors: dict[str, str] = {}
    allowed = {"kind", "details", *(f.name for f in _record_fields())}
    for key in raw:
        if key not in allowed:
            errors[str(key)] = _("Unknown field.")
    kind = raw.get("kind")
    if kind not in BusinessKind.values:
        errors["kind"] = _("One of: %(kinds)s.") % {"kinds": ", ".join(BusinessKind.values)}
    text: dict[str, str] = {}
    limits = {
        "external_id": 128,
        "name": 300,
        "contact_name": 200,
        "contact_email": 254,
        "contact_phone": 32,
        "contact_language": 8,
    }
    for name, limit in limits.items():
        value = raw.get(name)
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            errors[name] = _("Expected text.")
            continue
        value = str(value).strip()
        if len(value) > limit:
            errors[name] = _("At most %(n)d characters.") % {"n": limit}
        text[name] = value
    for name in ("external_id", "name"):
        if name not in errors and not text.get(name):
            errors[name] = _("Required.")
    if text.get("contact_email") and "contact_email" not in errors:
        try:
            validate_email(text["contact_email"])
        except ValidationError:
            errors["contact_email"] = _("Not a valid email address.")
    amount = None
    if raw.get("amount") not in (None, ""):
        amount = _amount(raw["amount"])
        if amount is None:
            errors["amount"] = _("A number with at most 2 decimals (e.g. 1234.50).")
    currency = raw.get("currency") or ""
    if not isinstance(currency, str) or (
        currency and not (len(currency) == 3 and currency.isascii() and currency.isalpha())
    ):
        errors["currency"] = _("A three-letter currency code (e.g. CNY).")
        currency = ""
    details = raw.get("details") or {}
    if not isinstance(details, Mapping):
        errors["details"] = _("Expected an object.")
    else:
        try:
            if len(json.dumps(details, ensure_ascii=False)) > 8000:
                errors["details"] = _("At most 8,000 characters of details.")
        except (TypeError, ValueError):
            errors["details"] = _("Not JSON.")
    if errors:
        return None, errors
    return PulledRecord(
        kind=str(kind),
        external_id=text["external_id"],
        name=text["name"],
        details=dict(details),
        amount=amount,
        currency=str(currency).upper(),
        contact_name=text["contact_name"],
        contact_email=text["contact_email"],
        contact_phone=text["contact_phone"],
        contact_language=text["contact_language"],
    ), {}


def _record_fields() -> Iterable[Any]:
    return [f for f in fields(PulledRecord) if f.name not in ("kind", "details")]


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        return None
    if abs(amount) >= Decimal(10) ** 14:
        return None
    return amount.quantize(Decimal("0.01"))


def clean_records(raw: Any) -> tuple[list[PulledRecord], dict[str, list[str]]]:
    """A pushed list of records: the records, or every problem by "records[i].field"."""
    if not isinstance(raw, list) or not raw:
        return [], {"records": [_("Send at least one record.")]}
    if len(raw) > MAX_PUSH:
        return [], {"records": [_("At most %(n)d records at a time.") % {"n": MAX_PUSH}]}
    records: list[PulledRecord] = []
    errors: dict[str, list[str]] = {}
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(raw):
        record, problems = parse_record(item)
        for name, message in problems.items():
            errors[f"records[{i}].{name}" if name else f"records[{i}]"] = [message]
        if isinstance(item, Mapping):
            # A record is known by kind and id: twice in one push is a mistake, even when the
            # first one has problems of its own.
            key = (str(item.get("kind")), str(item.get("external_id", "")).strip())
            if key in seen and "external_id" not in problems:
                errors[f"records[{i}].external_id"] = [
                    _("The same record as records[%(n)d].") % {"n": seen[key]}
                ]
                continue
            seen.setdefault(key, i)
        if record is not None:
            records.append(record)
    return records, errors
