"""Audit-trail probes, each run in a process of its own so its memory is its own:

    python -m bench.audit_probe verify   # time trail.verify(); peak RSS of this process
    python -m bench.audit_probe stream   # the floor: stream the same columns, no hashing
    python -m bench.audit_probe orm      # the ORM read path verify uses, no hashing
    python -m bench.audit_probe hash     # verify's hashing alone, on rows already in memory
    python -m bench.audit_probe command  # `baton audit verify`: wall time and peak RSS

Prints one JSON object on the last line of stdout.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from typing import Any

import django
import psycopg

from bench.figures import peak_rss_mib, rss_mib

HASH_SAMPLE = 200_000


def _verify() -> dict[str, Any]:
    from baton.audit import trail

    base = rss_mib()
    started = time.perf_counter()
    result = trail.verify()
    seconds = time.perf_counter() - started
    return {
        "checked": result.checked,
        "ok": result.ok,
        "reason": result.reason,
        "broken_id": result.broken_id,
        "seconds": seconds,
        "baseline_rss_mib": base,
        "peak_rss_mib": peak_rss_mib(),
    }


def _stream() -> dict[str, Any]:
    """One plain SELECT of verify's columns in chain order, fetched through the driver's cursor
    in batches of 20,000; no ORM, no hashing. Best of two passes (the first also warms the
    caches)."""
    from django.db import connection

    from baton.audit import trail
    from baton.audit.models import AuditEntry

    opts = AuditEntry._meta
    cols = ", ".join(
        connection.ops.quote_name(opts.get_field(c).column)  # type: ignore[union-attr]
        for c in trail._VERIFY_COLUMNS
    )
    sql = f"SELECT {cols} FROM {connection.ops.quote_name(opts.db_table)} ORDER BY id"  # noqa: S608
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
    else:
        # A bare sqlite3 connection: without the type converters Django registers, so
        # timestamps come back as the stored text, as the engine holds them.
        raw = sqlite3.connect(connection.settings_dict["NAME"])

    def timed(read: Any) -> tuple[int, float]:
        started = time.perf_counter()
        n = read()
        return n, time.perf_counter() - started

    def plain(**kw: Any) -> int:
        n = 0
        cur = raw.cursor() if not kw else psycopg.Cursor(raw)
        cur.execute(sql, **kw)
        while batch := cur.fetchmany(20000):
            n += len(batch)
        cur.close()
        return n

    n, first = timed(plain)
    _n, second = timed(plain)
    out: dict[str, Any] = {"rows": n, "seconds": min(first, second)}
    if connection.vendor == "postgresql":

        def copy_out() -> int:
            rows = 0
            with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT") as cp:
                for block in cp:
                    rows += bytes(block).count(b"\n")
            return rows

        _n, out["binary_seconds"] = timed(lambda: plain(binary=True))
        _n, out["copy_seconds"] = timed(copy_out)
    raw.close()
    return out


def _orm() -> dict[str, Any]:
    from baton.audit import trail

    started = time.perf_counter()
    n = 0
    for _row in trail._rows(20000):
        n += 1
    return {"rows": n, "seconds": time.perf_counter() - started}


def _hash() -> dict[str, Any]:
    """verify()'s per-entry work (payload hash + chain hash) on rows already fetched."""
    from baton.audit import trail

    rows = []
    for row in trail._rows(20000):
        rows.append(row)
        if len(rows) >= HASH_SAMPLE:
            break
    sha = hashlib.sha256
    chain_hash = trail.chain_hash
    bad = 0
    started = time.perf_counter()
    for r in rows:
        if sha(r[12].encode()).hexdigest() != r[13]:
            bad += 1
        if chain_hash(*r[:12], r[13], r[14]) != r[15]:
            bad += 1
    return {"rows": len(rows), "bad": bad, "seconds": time.perf_counter() - started}


def _command() -> dict[str, Any]:
    """Run `baton audit verify` (as `python -m baton.manage`) from this small process, so that
    the child's ru_maxrss, which Linux seeds with the forking process's size, is its own."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "baton.manage", "audit", "verify"], stdout=out
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode().strip()
    return {
        "returncode": proc.returncode,
        "seconds": seconds,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "own_peak_rss_mib": peak_rss_mib(),
        "output": output,
    }


PROBES = {"verify": _verify, "stream": _stream, "orm": _orm, "hash": _hash, "command": _command}


def main() -> None:
    name = sys.argv[1]
    if name != "command":
        django.setup()
    print(json.dumps(PROBES[name](), ensure_ascii=False))


if __name__ == "__main__":
    main()
