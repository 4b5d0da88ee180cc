"""The import engine: a file streamed a chunk of rows at a time, each row checked and turned
into a row of a table, the chunk diffed against what exists by natural key and written in bulk.

The same run serves both phases. Validation runs it inside a transaction that is rolled back
(on SQLite, in a private copy of the database, so no write lock is held on the real one), so its
counts (created, updated, unchanged) and its checks — including those only the database
can answer, like a manager cycle across the whole group — are exactly what a commit would do.
The commit runs it again and keeps it, or keeps nothing if a single row is rejected.

Memory stays flat whatever the file's size: one chunk of rows, the lookups of the kind (codes
and employee numbers → ids) and at most MAX_PROBLEMS report lines are held at a time.
"""

from __future__ import annotations

import contextlib
import operator
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils.translation import gettext as _

from baton.core.cells import looks_like_formula, unescape_cell
from baton.imports import bulk
from baton.imports.kinds import KINDS
from baton.imports.kinds.base import Kind, RowError
from baton.imports.mapping import compile_mapping
from baton.imports.models import ChangeOp, ImportChange
from baton.imports.run import Run


def run_table(run: Run, kind_code: str, table: Any, spec: dict[str, Any] | None) -> None:
    """Import one table of one kind (inside the caller's transaction)."""
    kind_cls = KINDS[kind_code]
    run.kind_code = kind_code
    run.counts.setdefault(kind_code, Counter())
    kind = kind_cls(run)
    run.compiled = compiled = compile_mapping(
        spec, table.header, [(c.name, c.label, c.required) for c in kind_cls.columns]
    )
    kind.compiled = compiled  # type: ignore[attr-defined]
    kind.prepare()
    run.seen_keys = set()
    lengths = _text_limits(kind_cls)
    chunk: list[tuple[int, dict[str, Any]]] = []
    counts = run.counts[kind_code]
    chunk_rows = kind_cls.chunk_rows
    read = 0  # rows read since the counts were last brought up to date

    def count_read() -> None:
        nonlocal read
        counts["read"] += read
        run.rows_done += read
        read = 0

    for row_no, cells in table.rows():
        read += 1
        raw = compiled.row(cells)
        for text in raw.values():
            if text and text[0] in _FORMULA_STARTS:
                break
        else:
            text = ""
        if text:  # a cell starts like a formula, or like our export's escape of one
            bad = _formula_cell(raw)
            if bad is not None:
                run.error(
                    row_no,
                    bad,
                    "formula",
                    _("The cell starts like a spreadsheet formula; formulas are not imported."),
                    raw[bad],
                )
                continue
        try:
            values = kind.build(raw, row_no)
            if compiled.attribute_columns or compiled.protected_columns:
                kind.add_attributes(values, cells)  # type: ignore[attr-defined]
            for name, limit in lengths:
                value = values.get(name)
                if isinstance(value, str) and len(value) > limit and value[:1] != "\x01":
                    raise RowError(
                        name,
                        _("Longer than %(limit)d characters.") % {"limit": limit},
                        "too_long",
                        value[:60],
                    )
        except RowError as e:
            run.error(row_no, e.column, e.code, e.message, e.value)
            continue
        chunk.append((row_no, values))
        if len(chunk) >= chunk_rows:
            count_read()
            _flush(run, kind, chunk)
            chunk = []
            run.tick(table.bytes_read)
    count_read()
    _flush(run, kind, chunk)
    kind.finish()
    run.tables_before.add(kind_cls.model._meta.db_table)
    run.tick(table.bytes_read, force=True)
    run.bytes_base += table.size


_FORMULA_STARTS = frozenset("=+-@'\t\r")


def _formula_cell(raw: dict[str, str]) -> str | None:
    """Undo our own export's escape (`'=…`) in place; the name of the first cell that is a
    formula, if any."""
    for name, text in raw.items():
        if text and text[0] in _FORMULA_STARTS:
            plain = unescape_cell(text)
            if plain != text:
                raw[name] = plain
            elif looks_like_formula(text):
                return name
    return None


def _flush(run: Run, kind: Kind, chunk: list[tuple[int, dict[str, Any]]]) -> None:
    if not chunk:
        return
    cls = type(kind)
    key_of = cls.key
    fields = (*cls.values, "import_batch_id")
    get = operator.itemgetter(*key_of)
    key_list: list[tuple[Any, ...]] = (
        [get(v) for _r, v in chunk] if len(key_of) > 1 else [(get(v),) for _r, v in chunk]
    )
    keys = set(key_list)
    existing = bulk.fetch_existing(cls.model, key_of, fields, keys)
    creates: list[dict[str, Any]] = []
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    written: list[tuple[int, dict[str, Any]]] = []
    log = cls.log_changes and not run.dry_run
    earlier = run.seen_keys
    hashes = [hash(k) for k in keys]
    unchanged = updated = 0
    if (
        not existing
        and not cls.update_only
        and len(keys) == len(key_list)
        and earlier.isdisjoint(hashes)
    ):
        # The bulk of a first import: every row new, no key repeated. Nothing to compare.
        creates = [v for _r, v in chunk]
        written = chunk
        keyed: list[tuple[tuple[Any, ...], int, dict[str, Any]]] = []
    else:
        hashes = []
        keyed = [(k, row_no, v) for k, (row_no, v) in zip(key_list, chunk, strict=True)]
    seen: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    for k, row_no, v in keyed:
        first = seen.get(k)
        h = hash(k)
        if first is None and h in earlier:
            run.error(
                row_no,
                "",
                "duplicate_key",
                _("%(key)s appears earlier in this file.") % {"key": kind.key_text(v)},
            )
            continue
        if first is not None:
            if all(first[1].get(f) == v.get(f) for f in cls.values):
                run.count("repeated")
            else:
                run.error(
                    row_no,
                    "",
                    "duplicate_key",
                    _("%(key)s appears again (first in row %(row)d) with different values.")
                    % {"key": kind.key_text(v), "row": first[0]},
                )
            continue
        seen[k] = (row_no, v)
        hashes.append(h)
        old = existing.get(k)
        if old is None:
            if cls.update_only:
                run.error(
                    row_no, "", "unknown", _("%(key)s does not exist.") % {"key": kind.key_text(v)}
                )
                continue
            creates.append(v)
            written.append((row_no, v))
            continue
        pk, before, old_batch = old[0], old[1:-1], old[-1]
        try:
            kind.check_existing(v, dict(zip(cls.values, before, strict=True)))
        except RowError as e:
            run.error(row_no, e.column, e.code, e.message, e.value)
            continue
        diff = {
            f: (o, v[f]) for f, o in zip(cls.values, before, strict=True) if f in v and o != v[f]
        }
        if not diff:
            unchanged += 1
            continue
        if old_batch == run.batch_id and cls.model._meta.db_table not in run.tables_before:
            run.error(
                row_no,
                "",
                "duplicate_key",
                _("%(key)s appears earlier in this file with different values.")
                % {"key": kind.key_text(v)},
            )
            continue
        v["id"] = pk
        cols = tuple(f for f in cls.values if f in v)
        updates.setdefault(cols, []).append((pk, *(v[f] for f in cols), run.batch_id))
        written.append((row_no, v))
        updated += 1
        if log:
            run.changes.append(
                {
                    "kind": cls.code,
                    "key": kind.key_text(v)[:200],
                    "op": ChangeOp.UPDATE,
                    "changes": {f: [_plain(a), _plain(b)] for f, (a, b) in diff.items()},
                }
            )
    earlier.update(hashes)
    if unchanged:
        run.count("unchanged", unchanged)
    if updated:
        run.count("updated", updated)
    if run.dry_run and not cls.validate_by_writing:
        run.count("created", len(creates))
        return
    if creates:
        kind.before_insert(creates)
        for v in creates:
            v["import_batch_id"] = run.batch_id
        bulk.insert_rows(cls.model, creates)
        run.count("created", len(creates))
        if log:
            run.changes.extend(
                {
                    "kind": cls.code,
                    "key": kind.key_text(v)[:200],
                    "op": ChangeOp.CREATE,
                    "changes": {},
                }
                for v in creates
            )
    for cols, rows in updates.items():
        bulk.update_rows(cls.model, (*cols, "import_batch_id"), rows)
    kind.after_write(written, creates)
    if len(run.changes) >= 20000:
        flush_changes(run)


def flush_changes(run: Run) -> None:
    if run.changes and not run.dry_run:
        bulk.insert_rows(ImportChange, [{"batch_id": run.batch_id, **c} for c in run.changes])
    run.changes.clear()


def _text_limits(kind_cls: type[Kind]) -> list[tuple[str, int]]:
    """The text columns a row writes and their lengths (the database would cut or refuse)."""
    fields = {f.attname: f for f in kind_cls.model._meta.concrete_fields}
    return [
        (name, int(fields[name].max_length or 0))
        for name in (*kind_cls.key, *kind_cls.values)
        if isinstance(fields.get(name), models.CharField) and fields[name].max_length
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return "(encrypted)"
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


class _Rollback(Exception):
    pass


def execute_in_transaction(
    run: Run, files: Sequence[tuple[str, Any, dict[str, Any] | None]]
) -> None:
    """Run every (kind, table, mapping) in the caller's transaction."""
    for kind_code, table, spec in files:
        run_table(run, kind_code, table, spec)
    flush_changes(run)


@contextlib.contextmanager
def private_copy(directory: Path) -> Iterator[bool]:
    """On SQLite, point this thread's default connection at a private copy of the database for
    the duration (True); elsewhere, or inside a caller's transaction, do nothing (False).

    Why: the dry run writes (the organisation and the people) inside a transaction it then
    rolls back, and on SQLite a write transaction locks the whole database — with
    `transaction_mode IMMEDIATE` from its first statement. A validation of minutes then made
    every sign-in (which writes the session) wait out the busy timeout and fail with "database is
    locked". A copy made with SQLite's backup API (one read transaction: under WAL it blocks no
    writer) holds the same committed data, so the report is as exact as before, and the real
    database is only read for the copy. PostgreSQL needs none of this: a rolled-back transaction
    there locks only the rows it updated."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "sqlite" or conn.in_atomic_block:
        # Inside a caller's transaction (a test, a script) the backup would wait for that very
        # transaction; the caller chose to hold it, so the dry run runs in it as before.
        yield False
        return
    fd, name = tempfile.mkstemp(prefix="validate-", suffix=".sqlite3", dir=directory)
    os.close(fd)
    try:
        conn.ensure_connection()
        target = sqlite3.connect(name)
        try:
            conn.connection.backup(target)
        finally:
            target.close()
        settings_dict = {**conn.settings_dict, "NAME": name}
        # A throwaway file: no WAL, no fsync (the rollback journal in memory still rolls back).
        settings_dict["OPTIONS"] = {
            **settings_dict.get("OPTIONS", {}),
            "init_command": "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;",
        }
        copy = conn.__class__(settings_dict, DEFAULT_DB_ALIAS)
        connections[DEFAULT_DB_ALIAS] = copy
        try:
            yield True
        finally:
            copy.close()
            connections[DEFAULT_DB_ALIAS] = conn
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(name + suffix)


def execute(run: Run, files: Sequence[tuple[str, Any, dict[str, Any] | None]]) -> None:
    """The dry run: everything applied in a transaction, then rolled back (on SQLite, in a
    private copy of the database: see `private_copy`)."""
    try:
        with transaction.atomic():
            execute_in_transaction(run, files)
            raise _Rollback
    except _Rollback:
        pass
