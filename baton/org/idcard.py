"""Resident identity card numbers (居民身份证号码, GB 11643-1999): validation, encryption at
rest and a keyed hash for finding the same person across business units.

An 18-character number is a 6-digit area code, an 8-digit birth date (YYYYMMDD), a 3-digit
sequence (odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2.
First-generation cards (before 2004) carry 15 digits: the year has two digits and there is no
check character. They are converted to the 18-character form by inserting "19" after the area
code (all first-generation cards were issued to people born in the 1900s) and computing the
check character, so one person has one canonical number — and one lookup hash — whichever card
a record came from.

Stored on the employee row: the number encrypted with AES-256-GCM under the document keys
(bound to the row, like `baton.core.sealed`), an HMAC-SHA-256 of it under the lookup key (which
does not rotate with the document keys, so hashes stay comparable for ever) and a masked hint
for display. Nothing else ever shows the full number.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import InvalidInput
from baton.handover import crypto
from baton.org.models import Employee

FIELD = "id_number"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
SEALED_FIELDS = ("id_number_blob", "id_number_key_id", "id_number_hash", "id_number_hint")
_BODY = re.compile(r"^\d{17}[\dX]$")


def normalize(text: str) -> str:
    """The number as typed, tidied: full-width digits and X become ASCII, spaces go, and a
    final lower-case x becomes X."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(folded.split()).upper()


def check_char(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def upgrade_15(number: str) -> str:
    """A first-generation 15-digit number in its 18-character form (born 19yy)."""
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_char(first17)


def _birth_date_error(number: str) -> str | None:
    digits = number[6:14]
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return _("The birth date in the ID number (%(digits)s) is not a real date.") % {
            "digits": digits
        }
    if born.year < 1900:
        return _("The birth date in the ID number (%(digits)s) is before 1900.") % {
            "digits": digits
        }
    if born > dt.date.today():
        return _("The birth date in the ID number (%(digits)s) is in the future.") % {
            "digits": digits
        }
    return None


def validate(text: str) -> str:
    """The canonical 18-character number, or InvalidInput naming what is wrong with it."""
    number = normalize(text)
    if not number:
        raise InvalidInput.field(FIELD, _("Enter the ID card number."))
    if len(number) not in (15, 18):
        raise InvalidInput.field(
            FIELD,
            _(
                "An ID card number has 18 characters (15 digits on a first-generation card); "
                "this one has %(n)d."
            )
            % {"n": len(number)},
        )
    if len(number) == 15 and number.isdigit():
        number = upgrade_15(number)
    if not _BODY.match(number):
        raise InvalidInput.field(
            FIELD,
            _(
                "An ID card number is made of digits (the last one may be X); "
                "this one has other characters."
            ),
        )
    if (problem := _birth_date_error(number)) is not None:
        raise InvalidInput.field(FIELD, problem)
    expected = check_char(number[:17])
    if number[17] != expected:
        raise InvalidInput.field(
            FIELD,
            _(
                "The check digit of the ID card number is wrong (%(given)s, expected "
                "%(expected)s): a digit is probably mistyped."
            )
            % {"given": number[17], "expected": expected},
        )
    return number


def canonical(text: str) -> str:
    """The number normalized and, if it is a 15-digit one, in its 18-character form (without
    refusing anything: for hashing what a file carries)."""
    number = normalize(text)
    if len(number) == 15 and number.isdigit():
        return upgrade_15(number)
    return number


# ---------------------------------------------------------------- lookup hash


def _lookup_key() -> bytes:
    return _derive_lookup_key(getattr(settings, "BATON_LOOKUP_KEY", "") or "", settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _derive_lookup_key(configured: str, secret_key: str) -> bytes:
    """Decoded once per configuration (an import hashes a number per row)."""
    if configured:
        try:
            raw = base64.b64decode(configured, validate=True)
        except ValueError:
            raise ImproperlyConfigured("BATON_LOOKUP_KEY is not base64.") from None
        if len(raw) != 32:
            raise ImproperlyConfigured("BATON_LOOKUP_KEY is not 32 bytes.")
        return raw
    # Development only (`baton check --deploy` refuses it): derived from SECRET_KEY under a
    # label of its own, so it is neither the development file key nor the secret key.
    return hashlib.sha256(b"baton-lookup-key:" + secret_key.encode()).digest()


def lookup_hash(number: str) -> str:
    """HMAC-SHA-256 (hex) of the canonical number under the lookup key: equal numbers give
    equal hashes across rows and imports, and nobody without the key can test a guess."""
    return hmac.new(_lookup_key(), canonical(number).encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- encryption on the row


def _binding(pk: int) -> str:
    return hashlib.sha256(f"baton:org.employee:id_number:{pk}".encode()).hexdigest()


def mask(number: str) -> str:
    """What pages show: the first three and last four characters."""
    return number[:3] + "*" * 11 + number[-4:]


def sealed_values(pk: int, number: str) -> dict[str, Any]:
    """The four stored fields for employee `pk` holding `number` (validated here), for bulk
    writers that set them with one UPDATE per chunk."""
    if not pk:
        raise ValueError("the employee row must be saved before its ID number is sealed")
    valid = validate(number)
    blob, key_id = crypto.encrypt(valid.encode(), _binding(pk))
    return {
        "id_number_blob": blob,
        "id_number_key_id": key_id,
        "id_number_hash": lookup_hash(valid),
        "id_number_hint": mask(valid),
    }


def seal_blob(pk: int, valid: str) -> tuple[bytes, str]:
    """The encrypted number and its key id for employee `pk`, for a number already validated
    (bulk writers have its hash and hint already)."""
    return crypto.encrypt(valid.encode(), _binding(pk))


def seal(employee: Any, number: str) -> None:
    """Set the sealed ID number on the (saved) employee; the caller saves SEALED_FIELDS."""
    for name, value in sealed_values(employee.pk, number).items():
        setattr(employee, name, value)


def clear(employee: Any) -> None:
    employee.id_number_blob = None
    employee.id_number_key_id = ""
    employee.id_number_hash = ""
    employee.id_number_hint = ""


def reveal(employee: Any) -> str:
    """The full number ('' when none is stored)."""
    if not employee.id_number_blob:
        return ""
    return reveal_blob(employee.pk, employee.id_number_blob, employee.id_number_key_id)


def reveal_blob(pk: int, blob: bytes, key_id: str) -> str:
    """The full number sealed for employee `pk`, from its stored fields (for readers that
    fetched the columns, not the row)."""
    return crypto.decrypt(bytes(blob), _binding(pk), key_id).decode()


@transaction.atomic
def record_id_number(employee: Any, number: str, *, acting_user: Any) -> Any:
    """Record (or correct) an employee's ID card number. The audit entry keeps the masked
    form only."""
    employee = authz.get_for(acting_user, Perm.EMPLOYEE_CHANGE, Employee, pk=employee.pk)
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    old_hint = employee.id_number_hint
    seal(employee, number)
    employee.save(update_fields=[*SEALED_FIELDS, "updated_at"])
    trail.record(
        E.ID_NUMBER_RECORDED,
        actor=acting_user,
        subject=employee,
        changes={"id_number_hint": (old_hint, employee.id_number_hint)},
    )
    return employee


# ---------------------------------------------------------------- key rotation

RESEAL_CHUNK = 500


def reseal_all() -> int:
    """Re-encrypt every stored ID number not under the current document key (part of
    `baton keys rotate`): a transaction per chunk of rows, one audit entry per row. The lookup
    hash does not change (its key does not rotate)."""
    current = crypto.current_key_id()
    stale = (
        Employee.objects.exclude(id_number_key_id=current)
        .exclude(id_number_key_id="")
        .filter(id_number_blob__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    pks = list(stale)
    done = 0
    for start in range(0, len(pks), RESEAL_CHUNK):
        chunk = pks[start : start + RESEAL_CHUNK]
        with transaction.atomic():
            rows = list(Employee.objects.select_for_update().filter(pk__in=chunk).order_by("pk"))
            for row in rows:
                row.id_number_blob, row.id_number_key_id = crypto.encrypt(
                    reveal(row).encode(), _binding(row.pk)
                )
            Employee.objects.bulk_update(rows, ["id_number_blob", "id_number_key_id"])
            trail.record_many(
                [
                    trail.Change(E.EMPLOYEE_UPDATED, row, extra={"id_number_key": current})
                    for row in rows
                ],
                actor=None,
            )
            done += len(rows)
    return done
