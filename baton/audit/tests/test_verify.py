"""`verify` names the exact first entry that does not hold, and why, for every kind of tampering.

Tampering goes around the application on purpose (queryset updates, raw deletes), as an attacker
with database access would."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry, AuditHead
from baton.audit.tasks import verify_audit_chain
from baton.core import context
from baton.org.models import Employee

pytestmark = pytest.mark.django_db

FIELDS = "entry fields changed"
CONTENT = "content changed"
LINK = "does not follow the previous entry"
GAP = "missing entries before it"
TAIL = "entries missing at the end of the trail"
BEYOND = "entries after the end of the trail"
HEAD = "does not match the chain head"


@pytest.fixture
def chain(users: dict[str, Any]) -> list[AuditEntry]:
    """Six fresh entries at the end of the demo trail, with every chained column filled in."""
    emp = Employee.objects.exclude(department=None).order_by("pk").first()
    assert emp is not None
    with context.request_context("req-verify", "10.1.2.3", via_token_id=7):
        trail.record_many(
            [
                trail.Change(AuditEvent.EMPLOYEE_UPDATED, emp, {"name": ("张三", f"张三{i}")})
                for i in range(6)
            ],
            actor=users["admin"],
            on_behalf_of=users["hrbp.cloud"],
        )
    entries = list(AuditEntry.objects.order_by("-id")[:6])[::-1]
    assert all(e.business_unit_id and e.department_id and e.token_id == 7 for e in entries)
    return entries


def _broken(broken_id: int, reason: str, checked: int | None = None, **kw: Any) -> None:
    result = trail.verify(**kw)
    assert (result.ok, result.broken_id, result.reason) == (False, broken_id, reason), result
    # Everything before the broken entry was checked and held.
    assert result.checked == (broken_id - 1 if checked is None else checked), result


def _set(entry: AuditEntry, **values: Any) -> None:
    assert AuditEntry.objects.filter(id=entry.id).update(**values) == 1


def _rehash(entry: AuditEntry, prev_hash: str) -> str:
    """The entry hash an attacker would compute for the row as it is now stored."""
    e = AuditEntry.objects.get(id=entry.id)
    return trail.chain_hash(
        e.id, e.created_at, e.event_type, e.actor_id, e.on_behalf_of_id, e.token_id,
        e.subject_type, e.subject_id, e.business_unit_id, e.department_id, e.request_id,
        e.client_ip, e.payload_hash, prev_hash,
    )  # fmt: skip


def test_intact_trail_verifies_to_the_head(chain: list[AuditEntry]) -> None:
    result = trail.verify()
    assert result == trail.VerifyResult(chain[-1].id, True)
    assert AuditHead.objects.get().last_id == chain[-1].id


COLUMN_EDITS: list[tuple[str, Callable[[AuditEntry], Any]]] = [
    ("created_at", lambda e: e.created_at + dt.timedelta(microseconds=1)),
    ("created_at", lambda e: e.created_at - dt.timedelta(days=1)),
    ("event_type", lambda e: AuditEvent.EMPLOYEE_CREATED),
    ("actor_id", lambda e: e.actor_id + 1),
    ("actor_id", lambda e: None),
    ("on_behalf_of_id", lambda e: None),
    ("token_id", lambda e: 8),
    ("token_id", lambda e: None),
    ("subject_type", lambda e: "org.contract"),
    ("subject_id", lambda e: e.subject_id + "0"),
    ("business_unit_id", lambda e: e.business_unit_id + 1),
    ("business_unit_id", lambda e: None),
    ("department_id", lambda e: None),
    ("request_id", lambda e: "req-other"),
    ("client_ip", lambda e: "10.1.2.4"),
    ("client_ip", lambda e: ""),
]


@pytest.mark.parametrize(("column", "new"), COLUMN_EDITS)
def test_edited_chained_column_is_detected(
    chain: list[AuditEntry], column: str, new: Callable[[AuditEntry], Any]
) -> None:
    victim = chain[2]
    _set(victim, **{column: new(victim)})
    _broken(victim.id, FIELDS)


def test_edited_payload_is_detected(chain: list[AuditEntry]) -> None:
    victim = chain[2]
    _set(victim, payload=victim.payload.replace("张三2", "李四"))
    _broken(victim.id, CONTENT)


def test_edited_payload_hash_alone_is_detected(chain: list[AuditEntry]) -> None:
    victim = chain[2]
    _set(victim, payload_hash=trail.sha256("{}"))
    _broken(victim.id, CONTENT)


def test_edited_entry_hash_is_detected(chain: list[AuditEntry]) -> None:
    victim = chain[2]
    _set(victim, entry_hash="a" * 64)
    _broken(victim.id, FIELDS)


def test_edited_prev_hash_is_detected(chain: list[AuditEntry]) -> None:
    victim = chain[2]
    _set(victim, prev_hash="b" * 64)
    _broken(victim.id, LINK)


def test_edit_with_its_hash_recomputed_breaks_the_next_link(chain: list[AuditEntry]) -> None:
    victim = chain[2]
    _set(victim, subject_id="999999")
    _set(victim, entry_hash=_rehash(victim, victim.prev_hash))
    _broken(chain[3].id, LINK)


def test_rewriting_the_rest_of_the_chain_is_caught_by_the_head(chain: list[AuditEntry]) -> None:
    # The attacker recomputes every hash from the edit to the end, but not the head row.
    _set(chain[2], request_id="req-forged")
    prev = chain[2].prev_hash
    for entry in chain[2:]:
        _set(entry, prev_hash=prev)
        prev = _rehash(entry, prev)
        _set(entry, entry_hash=prev)
    _broken(chain[-1].id, HEAD, checked=chain[-1].id)


def test_deleted_middle_entry_names_the_entry_after_the_gap(chain: list[AuditEntry]) -> None:
    AuditEntry.objects.filter(id=chain[2].id).delete()
    _broken(chain[3].id, GAP, checked=chain[1].id)


def test_deleted_tail_is_caught_by_the_head(chain: list[AuditEntry]) -> None:
    AuditEntry.objects.filter(id__gte=chain[-2].id).delete()
    _broken(chain[-2].id, TAIL)


def test_whole_trail_deleted_but_the_head_is_caught(chain: list[AuditEntry]) -> None:
    AuditEntry.objects.all().delete()
    _broken(1, TAIL, checked=0)


def test_inserted_entry_is_detected_at_the_displaced_one(chain: list[AuditEntry]) -> None:
    # Make room at chain[2] (in two steps: the primary key is checked row by row), then insert
    # a forged entry whose own hashes are all consistent with its predecessor.
    victim = chain[2]
    AuditEntry.objects.filter(id__gte=victim.id).update(id=F("id") + 1_000_000)
    AuditEntry.objects.filter(id__gte=1_000_000).update(id=F("id") - 999_999)
    forged = AuditEntry(**{f.attname: getattr(victim, f.attname) for f in AuditEntry._meta.fields})
    forged.payload = victim.payload.replace("张三2", "伪造")
    forged.payload_hash = trail.sha256(forged.payload)
    forged.entry_hash = "0" * 64
    forged.save(force_insert=True)
    _set(forged, entry_hash=_rehash(forged, victim.prev_hash))
    # The forged row holds; the displaced original no longer follows it.
    _broken(victim.id + 1, LINK)


def test_forged_entry_appended_after_the_head_is_detected(chain: list[AuditEntry]) -> None:
    last = chain[-1]
    forged = AuditEntry(**{f.attname: getattr(last, f.attname) for f in AuditEntry._meta.fields})
    forged.id, forged.prev_hash, forged.entry_hash = last.id + 1, last.entry_hash, "0" * 64
    forged.save(force_insert=True)
    _set(forged, entry_hash=_rehash(forged, last.entry_hash))
    _broken(last.id + 1, BEYOND, checked=last.id + 1)


def test_swapped_entries_are_detected(chain: list[AuditEntry]) -> None:
    a, b = chain[2], chain[3]
    _set(a, id=-1)
    _set(b, id=a.id)
    AuditEntry.objects.filter(id=-1).update(id=b.id)
    _broken(a.id, LINK)


def test_edited_head_hash_is_detected(chain: list[AuditEntry]) -> None:
    AuditHead.objects.update(last_hash="c" * 64)
    _broken(chain[-1].id, HEAD, checked=chain[-1].id)


def test_head_moved_forward_is_detected(chain: list[AuditEntry]) -> None:
    AuditHead.objects.update(last_id=chain[-1].id + 3)
    _broken(chain[-1].id + 1, TAIL, checked=chain[-1].id)


def test_head_moved_back_is_detected(chain: list[AuditEntry]) -> None:
    # Hiding the last entry behind a shorter head leaves it dangling after the end.
    AuditHead.objects.update(last_id=chain[-2].id, last_hash=chain[-2].entry_hash)
    _broken(chain[-1].id, BEYOND, checked=chain[-1].id)


def test_deleted_head_row_is_detected(chain: list[AuditEntry]) -> None:
    # Without the head, deleting the tail would go unnoticed: its absence is itself tampering.
    AuditHead.objects.all().delete()
    _broken(chain[-1].id, "the chain head is missing", checked=chain[-1].id)


def test_empty_trail_verifies(db: Any) -> None:
    AuditEntry.objects.all().delete()
    AuditHead.objects.all().delete()
    assert trail.verify() == trail.VerifyResult(0, True)
    AuditHead.objects.create(pk=1)  # the head of a trail nothing was written to yet
    assert trail.verify() == trail.VerifyResult(0, True)


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 1000])
def test_batch_size_does_not_change_the_outcome(chain: list[AuditEntry], batch: int) -> None:
    assert trail.verify(batch=batch) == trail.VerifyResult(chain[-1].id, True)
    _set(chain[3], payload="{}")
    # Keyset batches of any size neither skip nor repeat an entry.
    _broken(chain[3].id, CONTENT, batch=batch)


def test_gap_exactly_at_a_batch_boundary(chain: list[AuditEntry]) -> None:
    # The first batch ends right before the missing entry; the next one starts after it.
    AuditEntry.objects.filter(id=chain[3].id).delete()
    _broken(chain[4].id, GAP, checked=chain[2].id, batch=chain[2].id)
    _broken(chain[4].id, GAP, checked=chain[2].id, batch=chain[3].id)


def test_progress_is_reported_while_walking(chain: list[AuditEntry]) -> None:
    seen: list[int] = []
    result = trail.verify(batch=4, progress=seen.append, progress_every=2)
    assert result.ok
    assert seen == list(range(2, result.checked + 1, 2))
    seen.clear()
    _set(chain[2], payload="{}")
    trail.verify(progress=seen.append, progress_every=1)
    assert seen == list(range(1, chain[2].id))  # nothing past the broken entry


def test_verify_command_reports_an_intact_chain(chain: list[AuditEntry]) -> None:
    out = io.StringIO()
    call_command("audit", "verify", "--batch", "2", stdout=out)
    assert f"Audit chain intact: {chain[-1].id} entries verified" in out.getvalue()


def test_verify_command_fails_naming_the_entry(chain: list[AuditEntry]) -> None:
    _set(chain[2], client_ip="192.0.2.1")
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("audit", "verify", stdout=out)
    # `baton audit verify` exits 1 with this message; nothing claims the chain is intact.
    assert failed.value.returncode == 1
    assert str(failed.value) == (
        f"Audit chain broken at entry #{chain[2].id}: {FIELDS} "
        f"({chain[2].id - 1} entries before it verified)."
    )
    assert "intact" not in out.getvalue()


def test_verify_task_returns_the_outcome(chain: list[AuditEntry]) -> None:
    n = chain[-1].id
    assert verify_audit_chain.call() == {"ok": True, "checked": n, "broken_id": None, "reason": ""}
    AuditEntry.objects.filter(id=chain[1].id).delete()
    assert verify_audit_chain.call() == {
        "ok": False,
        "checked": chain[0].id,
        "broken_id": chain[2].id,
        "reason": GAP,
    }
