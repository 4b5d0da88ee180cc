"""The audit trail stands as evidence only if any tampering is detected."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry, AuditHead
from baton.org import actions
from baton.org.models import City

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(users: dict[str, Any]) -> list[AuditEntry]:
    admin = users["admin"]
    for i in range(5):
        actions.create_city({"code": f"T{i}", "name": f"测试城市{i}"}, acting_user=admin)
    return list(AuditEntry.objects.order_by("id"))


def _sql(statement: str, params: list[Any]) -> None:
    # Tampering goes around the application on purpose, as an attacker with DB access would.
    with connection.cursor() as cur:
        cur.execute(statement, params)


@pytest.mark.smoke
def test_intact_chain_verifies(chain: list[AuditEntry]) -> None:
    result = trail.verify()
    assert result.ok, result
    assert result.checked == len(chain)
    call_command("audit", "verify")


def test_changed_payload_is_detected(chain: list[AuditEntry]) -> None:
    victim = chain[-3]
    _sql(
        "UPDATE audit_auditentry SET payload = %s WHERE id = %s",
        [victim.payload.replace("测试", "篡改"), victim.id],
    )
    result = trail.verify()
    assert not result.ok
    assert result.broken_id == victim.id
    with pytest.raises(CommandError, match=f"#{victim.id}"):
        call_command("audit", "verify")


def test_changed_field_with_recomputed_payload_hash_is_detected(chain: list[AuditEntry]) -> None:
    victim = chain[-2]
    new_payload = victim.payload.replace("测试", "篡改")
    _sql(
        "UPDATE audit_auditentry SET payload = %s, payload_hash = %s WHERE id = %s",
        [new_payload, trail.sha256(new_payload), victim.id],
    )
    assert trail.verify().broken_id == victim.id


def test_rehashed_entry_breaks_the_next_link(chain: list[AuditEntry]) -> None:
    victim = chain[-3]
    _sql(
        "UPDATE audit_auditentry SET subject_id = %s, entry_hash = %s WHERE id = %s",
        ["999", "f" * 64, victim.id],
    )
    assert trail.verify().broken_id == victim.id


def test_deleted_entry_is_detected(chain: list[AuditEntry]) -> None:
    victim = chain[-3]
    _sql("DELETE FROM audit_auditentry WHERE id = %s", [victim.id])
    result = trail.verify()
    assert not result.ok
    assert result.broken_id == victim.id + 1


def test_deleted_tail_is_detected(chain: list[AuditEntry]) -> None:
    _sql("DELETE FROM audit_auditentry WHERE id = %s", [chain[-1].id])
    result = trail.verify()
    assert not result.ok
    assert "end" in result.reason


def test_inserted_entry_is_detected(chain: list[AuditEntry]) -> None:
    # Shift the last entry up by one and insert a forged row in the gap.
    last = chain[-1]
    _sql("UPDATE audit_auditentry SET id = id + 1000 WHERE id = %s", [last.id])
    forged = AuditEntry(**{f.attname: getattr(last, f.attname) for f in AuditEntry._meta.fields})
    forged.id = last.id
    forged.entry_hash = "e" * 64
    forged.save(force_insert=True)
    result = trail.verify()
    assert (result.ok, result.broken_id, result.reason) == (False, last.id, "entry fields changed")


def test_reordered_entries_are_detected(chain: list[AuditEntry]) -> None:
    a, b = chain[-3], chain[-2]
    _sql("UPDATE audit_auditentry SET id = -1 WHERE id = %s", [a.id])
    _sql("UPDATE audit_auditentry SET id = %s WHERE id = %s", [a.id, b.id])
    _sql("UPDATE audit_auditentry SET id = %s WHERE id = -1", [b.id])
    result = trail.verify()
    assert (result.broken_id, result.reason) == (a.id, "does not follow the previous entry")


def test_scrubbing_personal_data_keeps_the_chain(
    chain: list[AuditEntry], users: dict[str, Any]
) -> None:
    victim = chain[-2]
    assert trail.scrub([victim.id], actor=users["admin"], reason="PIPL erasure request") == 1
    victim.refresh_from_db()
    assert "测试" not in victim.payload
    assert trail.verify().ok
    last = AuditEntry.objects.order_by("-id").first()
    assert last is not None and last.event_type == AuditEvent.AUDIT_SCRUBBED


def test_entry_is_written_in_the_actions_transaction(users: dict[str, Any]) -> None:
    before = AuditEntry.objects.count()
    head_before = AuditHead.objects.get().last_id
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.create_city({"code": "RB", "name": "回滚"}, acting_user=users["admin"])
        raise RuntimeError("the caller fails after the action")
    assert AuditEntry.objects.count() == before
    assert AuditHead.objects.get().last_id == head_before
    assert not City.objects.filter(code="RB").exists()


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused(users: dict[str, Any]) -> None:
    city = City.objects.first()
    assert city is not None
    with pytest.raises(RuntimeError):
        trail.record(AuditEvent.CITY_UPDATED, actor=users["admin"], subject=city)
