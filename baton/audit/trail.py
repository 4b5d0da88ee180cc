"""Writing and verifying the hash chain.

`record()` is called by actions inside their transaction; it locks the chain head, so two
concurrent writers append one after the other and their entries commit or roll back with the
change they describe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from baton.audit.events import AuditEvent
from baton.audit.models import SCRUBBED_PAYLOAD, AuditEntry, AuditHead
from baton.core import context

GENESIS_HASH = "0" * 64
_SEP = "\x1f"
# Called with every batch of audited changes, inside the same transaction (the integrations
# outbox turns the ones subscribers care about into events that commit with the change).
listeners: list[Callable[[list[Change]], None]] = []


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "__str__"):
        return str(value)
    raise TypeError(type(value))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chain_hash(
    entry_id: int,
    created_at: dt.datetime,
    event_type: int,
    actor_id: int | None,
    on_behalf_of_id: int | None,
    token_id: int | None,
    subject_type: str,
    subject_id: str,
    business_unit_id: int | None,
    department_id: int | None,
    request_id: str,
    client_ip: str,
    payload_hash: str,
    prev_hash: str,
) -> str:
    """SHA-256 over an entry's canonical form.

    The field order is part of the stored format: never change it."""
    parts = (
        str(entry_id),
        created_at.astimezone(dt.UTC).isoformat(),
        str(event_type),
        "" if actor_id is None else str(actor_id),
        "" if on_behalf_of_id is None else str(on_behalf_of_id),
        "" if token_id is None else str(token_id),
        subject_type,
        subject_id,
        "" if business_unit_id is None else str(business_unit_id),
        "" if department_id is None else str(department_id),
        request_id,
        client_ip,
        payload_hash,
        prev_hash,
    )
    return hashlib.sha256(_SEP.join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """What one audited event says about its subject."""

    event: AuditEvent
    subject: models.Model
    changes: Mapping[str, tuple[Any, Any]] | None = None
    extra: Mapping[str, Any] | None = None
    business_unit_id: int | None = None
    department_id: int | None = None


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Old → new for the fields that differ."""
    return {k: (before.get(k), after[k]) for k in after if before.get(k) != after[k]}


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` (FKs as ids) as they are now, for diffing."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        out[name] = getattr(obj, field.attname)  # type: ignore[union-attr]
    return out


def _scope_of(subject: models.Model) -> tuple[int | None, int | None]:
    """The business unit and department an entry is filed under, for scoped readers."""
    bu = getattr(subject, "business_unit_id", None)
    dept = getattr(subject, "department_id", None)
    if bu is None and getattr(subject, "employee_id", None) is not None:
        emp = subject.employee  # type: ignore[attr-defined]
        bu, dept = emp.business_unit_id, emp.department_id
    return bu, dept


def record(
    event: AuditEvent,
    *,
    actor: Any,
    subject: models.Model,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
    on_behalf_of: Any = None,
) -> AuditEntry:
    """Append one entry. Must run inside the action's transaction."""
    return record_many(
        [Change(event, subject, changes, extra)], actor=actor, on_behalf_of=on_behalf_of
    )[0]


def record_many(
    items: Iterable[Change],
    *,
    actor: Any,
    on_behalf_of: Any = None,
) -> list[AuditEntry]:
    if not connection.in_atomic_block:
        raise RuntimeError("audit entries are written inside the action's transaction")
    items = list(items)
    ctx = context.current()
    AuditHead.objects.get_or_create(pk=1)
    head = AuditHead.objects.select_for_update().get(pk=1)
    now = timezone.now()
    actor_id = getattr(actor, "pk", None)
    behalf_id = getattr(on_behalf_of, "pk", None)
    actor_label = str(actor) if actor is not None else "system"
    entries: list[AuditEntry] = []
    last_id, last_hash = head.last_id, head.last_hash
    for item in items:
        bu, dept = item.business_unit_id, item.department_id
        if bu is None and dept is None:
            bu, dept = _scope_of(item.subject)
        payload = canonical_json(
            {
                "actor": actor_label,
                "subject": str(item.subject),
                "changes": {k: list(v) for k, v in (item.changes or {}).items()},
                "extra": dict(item.extra or {}),
            }
        )
        payload_hash = sha256(payload)
        last_id += 1
        subject_type = item.subject._meta.label_lower
        subject_id = str(item.subject.pk)
        entry_hash = chain_hash(
            last_id,
            now,
            int(item.event),
            actor_id,
            behalf_id,
            ctx.via_token_id,
            subject_type,
            subject_id,
            bu,
            dept,
            ctx.request_id,
            ctx.client_ip or "",
            payload_hash,
            last_hash,
        )
        entries.append(
            AuditEntry(
                id=last_id,
                created_at=now,
                event_type=int(item.event),
                actor_id=actor_id,
                on_behalf_of_id=behalf_id,
                token_id=ctx.via_token_id,
                subject_type=subject_type,
                subject_id=subject_id,
                business_unit_id=bu,
                department_id=dept,
                request_id=ctx.request_id,
                client_ip=ctx.client_ip or "",
                payload=payload,
                payload_hash=payload_hash,
                prev_hash=last_hash,
                entry_hash=entry_hash,
            )
        )
        last_hash = entry_hash
    if not entries:
        return entries
    AuditEntry.objects.bulk_create(entries, batch_size=2000)
    head.last_id, head.last_hash = last_id, last_hash
    head.save(update_fields=["last_id", "last_hash"])
    for listener in listeners:
        listener(items)
    return entries


@dataclass
class VerifyResult:
    checked: int
    ok: bool
    broken_id: int | None = None
    reason: str = ""


_VERIFY_COLUMNS = (
    "id",
    "created_at",
    "event_type",
    "actor_id",
    "on_behalf_of_id",
    "token_id",
    "subject_type",
    "subject_id",
    "business_unit_id",
    "department_id",
    "request_id",
    "client_ip",
    "payload",
    "payload_hash",
    "prev_hash",
    "entry_hash",
    "scrubbed_at",
)


def _rows(batch: int) -> Iterator[tuple[Any, ...]]:
    """All entries in chain order, streamed in key-ordered batches (keyset pagination)."""
    after = -1
    while True:
        chunk = list(
            AuditEntry.objects.filter(id__gt=after)
            .order_by("id")
            .values_list(*_VERIFY_COLUMNS)[:batch]
        )
        if not chunk:
            return
        yield from chunk
        after = chunk[-1][0]


def _entry_problem(row: tuple[Any, ...], expected_id: int, expected_prev: str) -> str:
    """Why one stored entry does not hold where it stands in the chain ("" if it does)."""
    eid, payload, payload_hash, prev_hash, entry_hash, scrubbed_at = (
        row[0],
        *row[12:17],
    )
    if eid != expected_id:
        return "missing entries before it" if eid > expected_id else "out of order"
    if prev_hash != expected_prev:
        return "does not follow the previous entry"
    scrubbed = scrubbed_at is not None and payload == SCRUBBED_PAYLOAD
    if not scrubbed and hashlib.sha256(payload.encode()).hexdigest() != payload_hash:
        return "content changed"
    # id, time, event, actor, on-behalf-of, token, subject type/id, unit, department, request
    # id and client IP are row[0:12], in chain_hash's order.
    hashed: tuple[Any, ...] = (*row[:12], payload_hash, prev_hash)
    if chain_hash(*hashed) != entry_hash:
        return "entry fields changed"
    return ""


def _end_problem(
    checked: int, start: tuple[int, str], hash_at_start: str
) -> tuple[int, str] | None:
    """Whether the walk's end agrees with the chain head read before it and after it."""
    start_id, start_hash = start
    if checked < start_id:
        return checked + 1, "entries missing at the end of the trail"
    end_id = AuditHead.objects.filter(pk=1).values_list("last_id", flat=True).first()
    if end_id is None and checked:
        # Every write keeps the head: without it a truncated tail would go unnoticed.
        return checked, "the chain head is missing"
    if end_id is not None and end_id < checked:
        return end_id + 1, "entries after the end of the trail"
    if hash_at_start != start_hash:
        return start_id, "does not match the chain head"
    return None


def verify(batch: int = 20000, progress: Any = None, progress_every: int = 100000) -> VerifyResult:
    """Walk the whole chain; report the first entry that does not hold.

    Writers may append while we walk (the walk takes several queries), so the end is checked
    against the head twice: the head read before the walk names an entry that must be there with
    that hash, and the head read after it must cover every entry we saw."""
    head = AuditHead.objects.filter(pk=1).values_list("last_id", "last_hash").first()
    start = head or (0, GENESIS_HASH)
    hash_at_start = GENESIS_HASH
    # A scrubbed payload is not hashed, so each one must be named by a (hashed) scrub record:
    # otherwise blanking an entry's details would pass for a scrub.
    scrubbed: list[int] = []
    scrub_recorded: set[int] = set()
    expected_prev = GENESIS_HASH
    checked = 0
    for row in _rows(batch):
        eid, event_type, payload, entry_hash = row[0], row[2], row[12], row[15]
        problem = _entry_problem(row, checked + 1, expected_prev)
        if problem:
            return VerifyResult(checked, False, eid, problem)
        if row[16] is not None and payload == SCRUBBED_PAYLOAD:
            scrubbed.append(eid)
        elif event_type == AuditEvent.AUDIT_SCRUBBED:
            scrub_recorded.update(json.loads(payload).get("extra", {}).get("entries", []))
        expected_prev = entry_hash
        checked += 1
        if eid == start[0]:
            hash_at_start = entry_hash
        if progress is not None and checked % progress_every == 0:
            progress(checked)
    unrecorded = [eid for eid in scrubbed if eid not in scrub_recorded]
    if unrecorded:
        return VerifyResult(checked, False, unrecorded[0], "scrubbed without a recorded scrub")
    end = _end_problem(checked, start, hash_at_start)
    if end is not None:
        return VerifyResult(checked, False, *end)
    return VerifyResult(checked, True)


@transaction.atomic
def scrub(entry_ids: Iterable[int], *, actor: Any, reason: str) -> int:
    """Remove personal data from entries' payloads, keeping the chain verifiable."""
    ids = list(entry_ids)
    # Scrub records are kept: verify checks every scrubbed entry against the ids they name.
    entries = list(
        AuditEntry.objects.select_for_update()
        .filter(id__in=ids, scrubbed_at=None)
        .exclude(event_type=AuditEvent.AUDIT_SCRUBBED)
    )
    now = timezone.now()
    for e in entries:
        e.payload = SCRUBBED_PAYLOAD
        e.scrubbed_at = now
    AuditEntry.objects.bulk_update(entries, ["payload", "scrubbed_at"])
    if entries:
        record(
            AuditEvent.AUDIT_SCRUBBED,
            actor=actor,
            subject=entries[0],
            extra={"entries": [e.id for e in entries], "reason": reason},
        )
    return len(entries)
