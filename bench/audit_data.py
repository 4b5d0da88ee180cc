"""Fill the audit trail up to N valid, chained entries, fast.

Rows are made in Python with the trail's own `canonical_json`, `sha256` and `chain_hash`, so
`trail.verify()` accepts them exactly as it accepts entries written by `record_many`, and are
written straight through the database driver: `executemany` on SQLite, `COPY` on PostgreSQL.
The chain continues from the current head (the demo's own entries come first) and the head is
moved to the last generated entry, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, transaction

from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry, AuditHead

# The stored columns, in the order the rows below are built.
FIELDS = (
    "id",
    "created_at",
    "event_type",
    "actor",
    "on_behalf_of",
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
CHUNK = 50_000

SUBJECTS = [
    ("org.employee", 100_000),
    ("org.contract", 175_000),
    ("org.agreement", 75_000),
    ("org.lifecycleevent", 550_000),
    ("org.department", 2_550),
    ("access.user", 9),
]
CHANGES = [
    {"status": ["active", "departing"]},
    {"department_id": [812, 944], "manager_id": [20311, 20417]},
    {"phone": ["13812345678", "13987654321"]},
    {"end_date": [None, "2027-03-31"], "contract_type": ["fixed_term", "open_ended"]},
    {},
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞"


def _payload_pool(rng: random.Random, size: int = 1024) -> list[tuple[str, str]]:
    """Payloads shaped like `record_many`'s (actor, subject, changes, extra), with their hashes.

    A pool is cycled through: verify still hashes every row's payload, and building a fresh
    canonical JSON per row would only slow the set-up down."""
    pool = []
    for i in range(size):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        payload = trail.canonical_json(
            {
                "actor": rng.choice(
                    ["集团人力 · 管理员", "云软件 HRBP", "智能终端 HRBP", "system"]
                ),
                "subject": f"{name} (HXC{24 + i % 3}{i:05d})",
                "changes": rng.choice(CHANGES),
                "extra": {"source": "bench"} if i % 7 == 0 else {},
            }
        )
        pool.append((payload, trail.sha256(payload)))
    return pool


def _rows(
    first_id: int, last_id: int, prev_hash: str, start: dt.datetime, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    pool = _payload_pool(rng)
    events = [int(e) for e in AuditEvent]
    actors = [None, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    chain_hash = trail.chain_hash
    step = dt.timedelta
    t = start
    for eid in range(first_id, last_id + 1):
        t += step(microseconds=rng.randrange(1, 30_000_000))
        event = rng.choice(events)
        actor = rng.choice(actors)
        behalf = 1 if eid % 97 == 0 else None
        token = eid % 13 if eid % 11 == 0 else None
        subject_type, subject_max = rng.choice(SUBJECTS)
        subject_id = str(rng.randrange(1, subject_max))
        bu = rng.randrange(1, 4)
        dept = rng.randrange(1, 2551) if eid % 3 else None
        request_id = f"{rng.getrandbits(128):032x}"
        client_ip = f"10.{eid % 7}.{(eid >> 3) % 250}.{eid % 251}"
        payload, payload_hash = pool[eid % len(pool)]
        entry_hash = chain_hash(
            eid,
            t,
            event,
            actor,
            behalf,
            token,
            subject_type,
            subject_id,
            bu,
            dept,
            request_id,
            client_ip,
            payload_hash,
            prev_hash,
        )
        yield (
            eid,
            t,
            event,
            actor,
            behalf,
            token,
            subject_type,
            subject_id,
            bu,
            dept,
            request_id,
            client_ip,
            payload,
            payload_hash,
            prev_hash,
            entry_hash,
            None,
        )
        prev_hash = entry_hash


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fill(total: int, log: Callable[[str], None] = print, seed: int = 2026) -> dict[str, Any]:
    """Append entries until the trail holds `total`; returns what was done and how long it took."""
    opts = AuditEntry._meta
    table = connection.ops.quote_name(opts.db_table)
    columns = [opts.get_field(f).column for f in FIELDS]  # type: ignore[union-attr]
    col_sql = ", ".join(connection.ops.quote_name(c) for c in columns)
    rng = random.Random(seed)
    started = time.perf_counter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            # Set-up only (this connection): room for the unique entry_hash index while loading.
            cur.execute("PRAGMA cache_size=-262144")
    with transaction.atomic():
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
        existing = AuditEntry.objects.count()
        if existing != head.last_id:
            raise RuntimeError(f"audit trail has {existing} rows but its head says {head.last_id}")
        if head.last_id >= total:
            return {"generated": 0, "existing": existing, "seconds": 0.0}
        last = AuditEntry.objects.order_by("-id").values_list("created_at", flat=True).first()
        start = last or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        rows = _rows(head.last_id + 1, total, head.last_hash, start, rng)
        raw = connection.connection
        done = 0
        last_hash = head.last_hash
        for chunk in _chunks(rows, CHUNK):
            if connection.vendor == "postgresql":
                with raw.cursor() as cur, cur.copy(f"COPY {table} ({col_sql}) FROM STDIN") as cp:
                    for row in chunk:
                        cp.write_row(row)
            else:
                adapt = connection.ops.adapt_datetimefield_value
                marks = ", ".join("?" * len(columns))
                raw.executemany(
                    f"INSERT INTO {table} ({col_sql}) VALUES ({marks})",  # noqa: S608
                    [(r[0], adapt(r[1]), *r[2:]) for r in chunk],
                )
            if (done + len(chunk)) // 250_000 > done // 250_000:
                log(f"   audit entries: {head.last_id + done + len(chunk):,}")
            done += len(chunk)
            last_hash = chunk[-1][15]
        AuditHead.objects.filter(pk=1).update(last_id=total, last_hash=last_hash)
    generated_s = time.perf_counter() - started
    # Steady state for the readers that follow: statistics and visibility on PostgreSQL, the
    # write-ahead log folded into the main file on SQLite.
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"VACUUM ANALYZE {table}")
        else:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "generated": done,
        "existing": existing,
        "seconds": generated_s,
        "settle_seconds": time.perf_counter() - started - generated_s,
    }
