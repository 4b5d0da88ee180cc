"""ID card numbers: checksum and date validation, first-generation numbers, the keyed lookup
hash, encryption bound to the row, key rotation and the deploy check."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.checks import lookup_key_is_set
from baton.core.errors import InvalidInput
from baton.handover import crypto
from baton.org import actions as org_actions
from baton.org import idcard
from baton.org.models import Department, Employee, LegalEntity, Position


def _with_check(first17: str) -> str:
    """The full number, computed here from the standard (not with the code under test)."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    remainder = sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11
    return first17 + "10X98765432"[remainder]


def _error(text: str) -> str:
    with pytest.raises(InvalidInput) as exc:
        idcard.validate(text)
    return exc.value.field_errors["id_number"][0]


# ---------------------------------------------------------------- validation


def test_a_real_format_number_is_valid() -> None:
    assert idcard.validate("11010519491231002X") == "11010519491231002X"


@pytest.mark.parametrize(
    ("area", "birth", "seq"),
    [("440305", "19900307", "123"), ("310104", "20000229", "008"), ("510107", "19751011", "471")],
)
def test_numbers_computed_from_the_standard_are_valid(area: str, birth: str, seq: str) -> None:
    number = _with_check(area + birth + seq)
    assert idcard.validate(number) == number
    assert idcard.check_char(number[:17]) == number[17]


def test_normalize_full_width_spaces_and_lower_case_x() -> None:
    assert idcard.normalize(" 110105 19491231 002x ") == "11010519491231002X"
    assert idcard.validate("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert idcard.validate("110105\u300019491231002X") == "11010519491231002X"


def test_a_first_generation_number_becomes_eighteen_characters() -> None:
    # 15 digits: area 110105, born (19)49-12-31, sequence 002 → "19" inserted, check added.
    assert idcard.validate("110105491231002") == "11010519491231002X"
    assert idcard.upgrade_15("440305900307123") == _with_check("44030519900307123")


def test_empty() -> None:
    assert "Enter the ID card number" in _error("  ")


@pytest.mark.parametrize("text", ["1101051949123100", "11010519491231002X1", "12345"])
def test_wrong_length_says_how_many(text: str) -> None:
    message = _error(text)
    assert "18 characters" in message and f"has {len(text)}" in message


@pytest.mark.parametrize("text", ["1101051949123100A2", "11010519491231002Y", "11010519491231-02X"])
def test_other_characters(text: str) -> None:
    assert "other characters" in _error(text)


def test_a_fifteen_character_number_with_a_letter_is_refused() -> None:
    assert "other characters" in _error("11010549123100X")


@pytest.mark.parametrize(
    ("birth", "problem"),
    [
        ("19491331", "not a real date"),
        ("19490230", "not a real date"),
        ("18991231", "before 1900"),
        (f"{dt.date.today().year + 1}0101", "in the future"),
    ],
)
def test_birth_date_problems(birth: str, problem: str) -> None:
    message = _error(_with_check("110105" + birth + "002"))
    assert problem in message and birth in message


def test_a_typo_is_caught_by_the_check_digit() -> None:
    good = "11010519491231002X"
    typo = "11010519491231003X"  # one digit of the sequence mistyped
    message = _error(typo)
    assert "check digit" in message and "mistyped" in message
    assert _error(good[:17] + "1").startswith("The check digit of the ID card number is wrong (1")


# ---------------------------------------------------------------- lookup hash


def test_lookup_hash_is_stable_keyed_and_canonical(settings: Any) -> None:
    h = idcard.lookup_hash("11010519491231002X")
    assert h == idcard.lookup_hash(" 11010519491231002x")
    # The same person's first-generation card gives the same hash.
    assert h == idcard.lookup_hash("110105491231002")
    assert h != hashlib.sha256(b"11010519491231002X").hexdigest()
    assert h != idcard.lookup_hash(_with_check("44030519900307123"))
    assert len(h) == 64
    settings.BATON_LOOKUP_KEY = base64.b64encode(os.urandom(32)).decode()
    keyed = idcard.lookup_hash("11010519491231002X")
    assert keyed != h and keyed == idcard.lookup_hash("11010519491231002X")


def test_lookup_hash_does_not_follow_the_file_keys(settings: Any) -> None:
    h = idcard.lookup_hash("11010519491231002X")
    settings.BATON_FILE_KEYS = {"k2027": crypto.new_key()}
    settings.BATON_FILE_KEY_CURRENT = "k2027"
    assert idcard.lookup_hash("11010519491231002X") == h


def test_a_malformed_lookup_key_is_refused(settings: Any) -> None:
    settings.BATON_LOOKUP_KEY = base64.b64encode(b"short").decode()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        idcard.lookup_hash("11010519491231002X")


def test_deploy_check_refuses_a_missing_lookup_key(settings: Any) -> None:
    settings.BATON_LOOKUP_KEY = ""
    assert [e.id for e in lookup_key_is_set(None)] == ["baton.E020"]
    settings.BATON_LOOKUP_KEY = "not base64!"
    assert [e.id for e in lookup_key_is_set(None)] == ["baton.E021"]
    settings.BATON_LOOKUP_KEY = base64.b64encode(os.urandom(32)).decode()
    assert lookup_key_is_set(None) == []


# ---------------------------------------------------------------- sealed on the row


@pytest.fixture
def person(users: dict[str, Any]) -> Employee:
    dept = Department.objects.filter(business_unit__code="C", parent__isnull=False).first()
    assert dept is not None
    entity = LegalEntity.objects.get(code="CSH")
    return org_actions.create_employee(
        {
            "name": "王身份",
            "legal_entity_id": entity.pk,
            "department_id": dept.pk,
            "position_id": Position.objects.get(code="ENG-SWE").pk,
            "work_city_id": entity.city_id,
            "hire_date": dt.date(2026, 3, 2),
        },
        acting_user=users["admin"],
    )


@pytest.mark.django_db
def test_seal_and_reveal_round_trip(person: Employee) -> None:
    idcard.seal(person, "110105491231002")
    person.save(update_fields=list(idcard.SEALED_FIELDS))
    stored = Employee.objects.get(pk=person.pk)
    assert idcard.reveal(stored) == "11010519491231002X"
    assert stored.id_number_hint == "110***********002X"
    assert stored.id_number_hash == idcard.lookup_hash("11010519491231002X")
    assert b"11010519491231002X" not in bytes(stored.id_number_blob)


@pytest.mark.django_db
def test_the_ciphertext_is_bound_to_its_row(person: Employee) -> None:
    values = idcard.sealed_values(person.pk, "11010519491231002X")
    other = Employee.objects.exclude(pk=person.pk).first()
    assert other is not None
    for name, value in values.items():
        setattr(other, name, value)
    with pytest.raises(InvalidTag):
        idcard.reveal(other)


def test_sealed_values_need_a_saved_row_and_a_valid_number() -> None:
    with pytest.raises(ValueError, match="saved"):
        idcard.sealed_values(0, "11010519491231002X")


@pytest.mark.django_db
def test_sealed_values_refuse_an_invalid_number(person: Employee) -> None:
    with pytest.raises(InvalidInput):
        idcard.sealed_values(person.pk, "110105194912310021")


@pytest.mark.django_db
def test_record_id_number_audits_the_masked_form_only(
    person: Employee, users: dict[str, Any]
) -> None:
    idcard.record_id_number(person, "11010519491231002x", acting_user=users["hrbp.cloud"])
    entry = AuditEntry.objects.latest("id")
    assert entry.event_type == E.ID_NUMBER_RECORDED
    assert entry.data["changes"]["id_number_hint"] == ["", "110***********002X"]
    assert "11010519491231002X" not in str(entry.data)
    # HR of another unit cannot record it.
    from django.http import Http404

    with pytest.raises(Http404):
        idcard.record_id_number(person, "11010519491231002X", acting_user=users["hrbp.devices"])


@pytest.mark.django_db
def test_keys_rotate_reencrypts_id_numbers(person: Employee, settings: Any) -> None:
    dev = base64.b64encode(
        hashlib.sha256(b"baton-file-key:" + settings.SECRET_KEY.encode()).digest()
    ).decode()
    idcard.seal(person, "11010519491231002X")
    person.save(update_fields=list(idcard.SEALED_FIELDS))
    assert person.id_number_key_id == "dev"
    settings.BATON_FILE_KEYS = {"dev": dev, "k2027": crypto.new_key()}
    settings.BATON_FILE_KEY_CURRENT = "k2027"
    before = AuditEntry.objects.count()
    call_command("keys", "rotate", stdout=open(os.devnull, "w"))  # noqa: SIM115
    person.refresh_from_db()
    assert person.id_number_key_id == "k2027"
    assert AuditEntry.objects.filter(subject_type="org.employee", subject_id=str(person.pk)).latest(
        "id"
    ).data["extra"] == {"id_number_key": "k2027"}
    assert AuditEntry.objects.count() > before
    settings.BATON_FILE_KEYS = {"k2027": settings.BATON_FILE_KEYS["k2027"]}
    assert idcard.reveal(person) == "11010519491231002X"
    assert idcard.reseal_all() == 0
