"""ID card numbers, more edges: first-generation cards and 1900's missing leap day, check
digits worked by hand, who may record a number, corrections, and what is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.errors import InvalidInput
from baton.org import idcard
from baton.org.models import Employee

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _check(first17: str) -> str:
    """ISO 7064 MOD 11-2, written out here (not the code under test)."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _problem(text: str) -> str:
    with pytest.raises(InvalidInput) as exc:
        idcard.validate(text)
    return exc.value.field_errors["id_number"][0]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("number", "why"),
    [
        # 1,1,0,1,0,5,1,9,0,0,0,2,2,8,0,0,2 · weights = 134; 134 mod 11 = 2 → "X".
        ("11010519000228002X", "remainder 2"),
        # 4,4,0,3,0,5,2,0,1,0,0,1,0,1,0,0,1 · weights = 125; 125 mod 11 = 4 → "8".
        ("440305201001010018", "remainder 4"),
        # 3,1,0,1,0,4,1,9,8,0,0,1,0,1,0,0,1 · weights = 126; 126 mod 11 = 5 → "7".
        ("310104198001010017", "remainder 5"),
    ],
)
def test_check_digits_worked_by_hand(number: str, why: str) -> None:
    assert idcard.validate(number) == number, why
    assert idcard.check_char(number[:17]) == number[17]


def test_a_first_generation_card_from_1900_has_no_29_february() -> None:
    # 15 digits "000229" become 1900-02-29: 1900 was not a leap year.
    message = _problem("110105000229002")
    assert "19000229" in message and "not a real date" in message
    # 28 February 1900 is fine, and the upgrade adds the hand-computed "X".
    assert idcard.validate("110105000228002") == "11010519000228002X"


def test_born_today_is_allowed_and_tomorrow_is_not() -> None:
    today = dt.date.today()
    first17 = f"110105{today:%Y%m%d}002"
    assert idcard.validate(first17 + _check(first17)) == first17 + _check(first17)
    tomorrow = today + dt.timedelta(days=1)
    later = f"110105{tomorrow:%Y%m%d}002"
    assert "in the future" in _problem(later + _check(later))


def test_a_wrong_check_digit_names_the_expected_one() -> None:
    # Hand-computed above: the sequence 003 gives "8", so "…003X" is a typo.
    message = _problem("11010519491231003X")
    assert "(X, expected 8)" in message


def test_the_hash_is_the_same_for_the_15_and_18_character_forms() -> None:
    assert idcard.lookup_hash("110105000228002") == idcard.lookup_hash("11010519000228002x")
    assert idcard.lookup_hash("11010519000228002X") != idcard.lookup_hash("440305201001010018")


def test_masking_keeps_three_and_four() -> None:
    assert idcard.mask("440305201001010018") == "440***********0018"
    assert len(idcard.mask("440305201001010018")) == 18


# ---------------------------------------------------------------- stored on the row


@pytest.fixture
def member(users: dict[str, Any]) -> Employee:
    return Employee.objects.get(pk=users["employee"].employee_id)


@pytest.mark.django_db
def test_nothing_stored_reveals_as_empty(member: Employee) -> None:
    idcard.clear(member)
    assert idcard.reveal(member) == ""
    assert (member.id_number_hash, member.id_number_hint, member.id_number_key_id) == ("", "", "")


@pytest.mark.django_db
def test_a_correction_replaces_hash_and_hint_and_is_audited(
    member: Employee, users: dict[str, Any]
) -> None:
    hr = users["hrbp.cloud"]
    idcard.record_id_number(member, "11010519000228002X", acting_user=hr)
    idcard.record_id_number(member, "440305201001010018", acting_user=hr)
    member.refresh_from_db()
    assert idcard.reveal(member) == "440305201001010018"
    assert member.id_number_hash == idcard.lookup_hash("440305201001010018")
    entry = AuditEntry.objects.filter(event_type=E.ID_NUMBER_RECORDED).latest("id")
    assert entry.data["changes"]["id_number_hint"] == ["110***********002X", "440***********0018"]
    # Only the masked forms are in the trail, never the numbers.
    assert "440305201001010018" not in str(entry.data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "refusal"), [("head.rd", PermissionDenied), ("it", PermissionDenied)]
)
def test_who_may_record_a_number(
    member: Employee, users: dict[str, Any], who: str, refusal: type[Exception]
) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(refusal):
        idcard.record_id_number(member, "440305201001010018", acting_user=users[who])
    member.refresh_from_db()
    assert member.id_number_hash == "" or member.id_number_hash != idcard.lookup_hash(
        "440305201001010018"
    )
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_the_employee_cannot_record_their_own_and_others_cannot_see_it(
    member: Employee, users: dict[str, Any]
) -> None:
    with pytest.raises(PermissionDenied):
        idcard.record_id_number(member, "440305201001010018", acting_user=users["employee"])
    with pytest.raises(Http404):
        idcard.record_id_number(member, "440305201001010018", acting_user=users["receiver"])


@pytest.mark.django_db
def test_an_invalid_number_is_refused_before_anything_is_written(
    member: Employee, users: dict[str, Any]
) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidInput):
        idcard.record_id_number(member, "11010519000228002Y", acting_user=users["admin"])
    member.refresh_from_db()
    assert member.id_number_blob is None or idcard.reveal(member) != "11010519000228002Y"
    assert AuditEntry.objects.count() == before
