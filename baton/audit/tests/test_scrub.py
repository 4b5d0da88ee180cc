"""Scrubbing personal data out of the trail keeps it verifiable, is itself audited, is refused to
all but the group admin, and cannot be faked by blanking a payload in the database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from baton.audit import actions, trail
from baton.audit.events import AuditEvent
from baton.audit.models import SCRUBBED_PAYLOAD, AuditEntry
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(users: dict[str, Any]) -> list[AuditEntry]:
    """Four entries naming a person and the old/new values of their record."""
    emp = Employee.objects.exclude(department=None).order_by("pk").first()
    assert emp is not None
    return trail.record_many(
        [
            trail.Change(
                AuditEvent.EMPLOYEE_UPDATED, emp, {"mobile": ("13800000000", f"1390000{i}")}
            )
            for i in range(4)
        ],
        actor=users["hrbp.cloud"],
    )


def _last() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry is not None
    return entry


def test_scrubbed_entry_loses_its_data_but_keeps_its_place(
    entries: list[AuditEntry], users: dict[str, Any]
) -> None:
    victim = entries[1]
    assert (
        actions.scrub_entries([victim.id], acting_user=users["admin"], reason="PIPL 删除请求") == 1
    )
    after = AuditEntry.objects.get(id=victim.id)
    assert after.payload == SCRUBBED_PAYLOAD and after.data == {"scrubbed": True}
    assert after.scrubbed_at is not None
    assert "13800000000" not in after.payload
    # Everything the chain covers is untouched, so the chain still verifies.
    for column in ("entry_hash", "prev_hash", "payload_hash", "subject_id", "actor_id"):
        assert getattr(after, column) == getattr(victim, column)
    assert trail.verify().ok
    # The neighbours keep their data.
    assert "13800000000" in AuditEntry.objects.get(id=entries[2].id).payload


def test_the_scrub_is_itself_audited(entries: list[AuditEntry], users: dict[str, Any]) -> None:
    ids = [entries[0].id, entries[2].id]
    assert actions.scrub_entries(ids, acting_user=users["admin"], reason="离职满三年") == 2
    record = _last()
    assert record.id == entries[-1].id + 1
    assert record.event_type == AuditEvent.AUDIT_SCRUBBED
    assert record.actor_id == users["admin"].pk
    assert record.subject_type == "audit.auditentry" and int(record.subject_id) in ids
    # Filed where the scrubbed entries belong, so the same scoped readers see it.
    assert record.business_unit_id == entries[0].business_unit_id
    extra = record.data["extra"]
    assert sorted(extra["entries"]) == ids and extra["reason"] == "离职满三年"


def test_scrubbing_twice_changes_nothing(entries: list[AuditEntry], users: dict[str, Any]) -> None:
    admin = users["admin"]
    assert actions.scrub_entries([entries[1].id], acting_user=admin, reason="first") == 1
    first = AuditEntry.objects.get(id=entries[1].id).scrubbed_at
    head = _last().id
    assert actions.scrub_entries([entries[1].id], acting_user=admin, reason="again") == 0
    # No second record, and the time of the first scrub stands.
    assert _last().id == head
    assert AuditEntry.objects.get(id=entries[1].id).scrubbed_at == first
    # Unknown ids are ignored; a mix scrubs only what is left.
    assert (
        actions.scrub_entries([entries[1].id, entries[3].id, 10**9], acting_user=admin, reason="x")
        == 1
    )
    assert _last().data["extra"]["entries"] == [entries[3].id]
    assert trail.verify().ok


def test_scrub_records_are_not_scrubbed(entries: list[AuditEntry], users: dict[str, Any]) -> None:
    admin = users["admin"]
    actions.scrub_entries([entries[0].id], acting_user=admin, reason="r")
    record = _last()
    assert actions.scrub_entries([record.id], acting_user=admin, reason="r") == 0
    assert AuditEntry.objects.get(id=record.id).scrubbed_at is None
    assert trail.verify().ok


@pytest.mark.parametrize(
    "tamper",
    [
        {"payload": '{"scrubbed":false}'},
        {"payload": "{}"},
        {"scrubbed_at": None},  # "un-scrubbing" leaves a payload that no longer matches its hash
    ],
)
def test_scrubbed_entry_edited_afterwards_is_detected(
    entries: list[AuditEntry], users: dict[str, Any], tamper: dict[str, Any]
) -> None:
    victim = entries[1]
    actions.scrub_entries([victim.id], acting_user=users["admin"], reason="r")
    AuditEntry.objects.filter(id=victim.id).update(**tamper)
    result = trail.verify()
    assert (result.ok, result.broken_id, result.reason) == (False, victim.id, "content changed")


def test_restoring_the_original_payload_verifies_again(
    entries: list[AuditEntry], users: dict[str, Any]
) -> None:
    # The payload hash still commits to the original details: a copy kept elsewhere can be
    # proven genuine after the scrub.
    victim = entries[1]
    actions.scrub_entries([victim.id], acting_user=users["admin"], reason="r")
    assert trail.sha256(victim.payload) == AuditEntry.objects.get(id=victim.id).payload_hash
    AuditEntry.objects.filter(id=victim.id).update(payload=victim.payload, scrubbed_at=None)
    assert trail.verify().ok


def test_blanking_a_payload_without_a_scrub_record_is_detected(
    entries: list[AuditEntry], users: dict[str, Any]
) -> None:
    from django.utils import timezone

    actions.scrub_entries([entries[0].id], acting_user=users["admin"], reason="r")
    # An attacker makes entries[2] look scrubbed, to destroy its details.
    AuditEntry.objects.filter(id=entries[2].id).update(
        payload=SCRUBBED_PAYLOAD, scrubbed_at=timezone.now()
    )
    result = trail.verify()
    assert (result.ok, result.broken_id) == (False, entries[2].id)
    assert result.reason == "scrubbed without a recorded scrub"


def test_a_scrub_record_cannot_be_stretched_to_more_entries(
    entries: list[AuditEntry], users: dict[str, Any]
) -> None:
    actions.scrub_entries([entries[0].id], acting_user=users["admin"], reason="r")
    record = _last()
    data = record.data
    data["extra"]["entries"].append(entries[2].id)
    AuditEntry.objects.filter(id=record.id).update(payload=json.dumps(data))
    result = trail.verify()
    assert (result.ok, result.broken_id, result.reason) == (False, record.id, "content changed")


@pytest.mark.parametrize("username", ["auditor", "hrbp.cloud", "head.rd", "employee", "it"])
def test_only_the_group_admin_may_scrub(
    entries: list[AuditEntry], users: dict[str, Any], username: str
) -> None:
    head = _last().id
    with pytest.raises(PermissionDenied):
        actions.scrub_entries([entries[1].id], acting_user=users[username], reason="r")
    # Refused before anything changed: the entry keeps its data and nothing is recorded.
    assert AuditEntry.objects.get(id=entries[1].id).scrubbed_at is None
    assert _last().id == head


def test_scrub_refused_through_an_api_token(
    entries: list[AuditEntry], users: dict[str, Any]
) -> None:
    # The admin signed in with a token holding every scope still may not scrub: users.manage
    # is never granted to a token.
    from baton.access.models import TokenScope, User

    admin = User.objects.get(pk=users["admin"].pk)
    admin._baton_token_scopes = [s.value for s in TokenScope]  # as API token sign-in sets it
    with pytest.raises(PermissionDenied):
        actions.scrub_entries([entries[1].id], acting_user=admin, reason="r")
    assert AuditEntry.objects.get(id=entries[1].id).scrubbed_at is None
