"""Set-based reads and writes for imports, on PostgreSQL and SQLite alike.

The import engine works a chunk of rows at a time: it looks up the rows that already exist by
their natural key (one query with a row-value `IN (VALUES …)`), inserts the new ones (COPY on
PostgreSQL — the fastest way in — and one `executemany` on SQLite) and updates the changed ones
(one `UPDATE … FROM (VALUES …)` on PostgreSQL). Everything runs inside the caller's transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

# PostgreSQL takes at most 65,535 parameters per statement; SQLite (3.32+) 32,766.
MAX_PARAMS = 30000


def concrete_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def field_map(model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
    return {f.attname: f for f in model._meta.concrete_fields}


def _q(name: str | None) -> str:
    assert name is not None
    return connection.ops.quote_name(name)


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


@contextlib.contextmanager
def _bound_cursor() -> Iterator[Any]:
    """A PostgreSQL cursor that sends its parameters apart from the statement (server-side
    binding). Django's cursors bind on the client, quoting every element of an array of tens of
    thousands of keys into the SQL text, which costs more than the query itself. Wrapped like
    Django's own cursors, so its queries are logged and counted."""
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    try:
        wrapped: Any = raw  # Django's wrappers take any DB-API cursor
        if connection.queries_logged:
            yield connection.make_debug_cursor(wrapped)
        else:
            yield connection.make_cursor(wrapped)
    finally:
        raw.close()


def to_python(field: models.Field[Any, Any], value: Any) -> Any:
    """A value read back with a raw cursor, in the type the import engine compares with."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.loads(value) if isinstance(value, str | bytes) else value
    if isinstance(field, models.DecimalField):
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if isinstance(field, models.BooleanField):
        return bool(value)
    if isinstance(field, models.DateTimeField):
        return field.to_python(value)
    if isinstance(field, models.DateField):
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    if isinstance(field, models.TimeField):
        return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)
    if isinstance(field, models.BinaryField):
        return bytes(value)
    return value


# Values the driver takes as they are: Django's per-field preparation would return them unchanged.
_PLAIN = {int, str, dt.date, Decimal, bool}


def _prep(field: models.Field[Any, Any], value: Any) -> Any:
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return field.get_db_prep_save(value, connection)


def fetch_existing(
    model: type[models.Model],
    key: Sequence[str],
    values: Sequence[str],
    keys: Iterable[tuple[Any, ...]],
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Rows whose natural key is one of `keys`: key → (pk, *values) as Python values."""
    fields = field_map(model)
    keys = list(keys)
    out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    if not keys:
        return out
    table = _q(model._meta.db_table)
    cols = ", ".join(_q(fields[c].column) for c in (*key, *values))
    pk = _q(model._meta.pk.column if model._meta.pk else None)
    per = max(1, MAX_PARAMS // len(key))
    key_fields = [fields[k] for k in key]
    value_fields = [fields[v] for v in values]
    if _is_pg():
        # One array per key column, probed key by key through the key's index (the LATERAL
        # subquery with OFFSET 0 cannot be flattened into a hash or merge join, which would read
        # the whole table for every chunk). The arrays go in PostgreSQL's binary format (%b):
        # no text to build and parse for every key.
        names = [f"k{i}" for i in range(len(key_fields))]
        arrays = [[_prep(f, k[i]) for k in keys] for i, f in enumerate(key_fields)]
        unnest = ", ".join(f"%b::{f.cast_db_type(connection)}[]" for f in key_fields)
        match = " AND ".join(
            f"{_q(f.column)} = k.{n}" for f, n in zip(key_fields, names, strict=True)
        )
        vcols = "".join(f", t.{_q(fields[c].column)}" for c in values)
        sql = (
            f"SELECT t.{pk}, {', '.join('k.' + n for n in names)}{vcols} "  # noqa: S608
            f"FROM unnest({unnest}) AS k({', '.join(names)}) CROSS JOIN LATERAL "
            f"(SELECT * FROM {table} WHERE {match} OFFSET 0) AS t"
        )
        with _bound_cursor() as cur:
            cur.execute(sql, arrays)
            _collect(cur.fetchall(), key_fields, value_fields, out)
        return out
    with connection.cursor() as cur:
        for start in range(0, len(keys), per):
            part = keys[start : start + per]
            params: list[Any] = []
            if len(key) == 1:
                marks = ", ".join(["%s"] * len(part))
                cond = f"{_q(key_fields[0].column)} IN ({marks})"
                params = [_prep(key_fields[0], k[0]) for k in part]
            else:
                row = "(" + ", ".join(["%s"] * len(key_fields)) + ")"
                cond = (
                    "("
                    + ", ".join(_q(f.column) for f in key_fields)
                    + ") IN (VALUES "
                    + ", ".join([row] * len(part))
                    + ")"
                )
                for k in part:
                    params.extend(_prep(f, v) for f, v in zip(key_fields, k, strict=True))
            cur.execute(
                f"SELECT {pk}, {cols} FROM {table} WHERE {cond}",  # noqa: S608 — model names
                params,
            )
            _collect(cur.fetchall(), key_fields, value_fields, out)
    return out


def _collect(
    rows: Iterable[Sequence[Any]],
    key_fields: Sequence[models.Field[Any, Any]],
    value_fields: Sequence[models.Field[Any, Any]],
    out: dict[tuple[Any, ...], tuple[Any, ...]],
) -> None:
    """(pk, *key, *values) rows → out[key] = (pk, *values), as Python values."""
    nk = len(key_fields)
    for r in rows:
        k = tuple(to_python(f, v) for f, v in zip(key_fields, r[1 : 1 + nk], strict=True))
        vals = tuple(to_python(f, v) for f, v in zip(value_fields, r[1 + nk :], strict=True))
        out[k] = (r[0], *vals)


def _array_type(field: models.Field[Any, Any]) -> str:
    if isinstance(field, models.CharField | models.TextField):
        return "text"
    return str(field.cast_db_type(connection))


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` primary keys no row has, for rows about to be inserted: what is bound to a row's
    id (a sealed ID card number) is then written with the row, not updated after it, which
    would write every index of the table a second time. Inside the caller's transaction."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column if model._meta.pk else "id"
    with connection.cursor() as cur:
        if _is_pg():
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [_q(table), pk, count],
            )
            return [r[0] for r in cur.fetchall()]
        # SQLite: the write transaction holds the database, so the next ids are ours; above
        # both the largest id and the AUTOINCREMENT counter (ids of deleted rows stay unused).
        cur.execute(f"SELECT COALESCE(MAX({_q(pk)}), 0) FROM {_q(table)}")  # noqa: S608
        top = cur.fetchone()[0]
        cur.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
        top = max(top, cur.fetchone()[0])
    return list(range(top + 1, top + 1 + count))


def _fill(
    model: type[models.Model], rows: Sequence[dict[str, Any]]
) -> tuple[list[Any], list[list[Any]]]:
    """Every concrete column of `model` for each row: given values, else the field's default
    (auto_now fields get the current time). The primary key too when the rows carry one
    (`allocate_ids`); otherwise the database numbers them."""
    now = timezone.now()
    fields = concrete_fields(model)
    if rows and model._meta.pk is not None and model._meta.pk.attname in rows[0]:
        fields = [model._meta.pk, *fields]
    out: list[list[Any]] = []
    plan = [
        (
            f.attname,
            (lambda: now)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default,
        )
        for f in fields
    ]
    for row in rows:
        out.append([row[n] if n in row else d() for n, d in plan])
    return fields, out


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> int:
    """Insert `rows` (attname → value); columns not given take their defaults."""
    if not rows:
        return 0
    fields, data = _fill(model, rows)
    table = model._meta.db_table
    if _is_pg():
        cols = ", ".join(_q(f.column) for f in fields)
        json_cols = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        bin_cols = [i for i, f in enumerate(fields) if isinstance(f, models.BinaryField)]
        with connection.cursor() as cur:
            raw = cur.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {_q(table)} ({cols}) FROM STDIN") as copy:
                for vals in data:
                    for i in json_cols:
                        if vals[i] is not None:
                            vals[i] = json.dumps(vals[i], ensure_ascii=False, sort_keys=True)
                    for i in bin_cols:
                        if vals[i] is not None:
                            vals[i] = bytes(vals[i])
                    copy.write_row(vals)
        return len(data)
    cols = ", ".join(_q(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    prepped = [[_prep(f, v) for f, v in zip(fields, vals, strict=True)] for vals in data]
    with connection.cursor() as cur:
        sql = f"INSERT INTO {_q(table)} ({cols}) VALUES ({marks})"  # noqa: S608 — model names
        cur.executemany(sql, prepped)
    return len(data)


def update_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> int:
    """Set `columns` (attnames) on the rows given as (pk, *values)."""
    if not rows:
        return 0
    fmap = field_map(model)
    fields = [fmap[c] for c in columns]
    auto = [f for f in concrete_fields(model) if getattr(f, "auto_now", False)]
    auto = [f for f in auto if f.attname not in columns]
    table = _q(model._meta.db_table)
    pk_field = model._meta.pk
    assert pk_field is not None
    pk = _q(pk_field.column)
    now = timezone.now()
    with _bound_cursor() if _is_pg() else connection.cursor() as cur:
        if _is_pg():
            # One array per column, unnested: one statement and no per-value placeholders to
            # parse whatever the number of rows. Text goes as text[] so an over-long value is an
            # error on assignment, never cut by a cast.
            sets = [f"{_q(f.column)} = v.c{i}" for i, f in enumerate(fields)]
            sets += [f"{_q(f.column)} = %s" for f in auto]
            names = ", ".join(["id", *(f"c{i}" for i in range(len(fields)))])
            types = [_array_type(pk_field), *(_array_type(f) for f in fields)]
            arrays: list[list[Any]] = [[r[0] for r in rows]]
            for i, f in enumerate(fields, start=1):
                arrays.append([_prep(f, r[i]) for r in rows])
            unnest = ", ".join(f"%b::{t}[]" for t in types)
            cur.execute(
                f"UPDATE {table} AS t SET {', '.join(sets)} "  # noqa: S608 — model names
                f"FROM unnest({unnest}) AS v({names}) WHERE t.{pk} = v.id",
                [*(now for _ in auto), *arrays],
            )
        else:
            assigns = ", ".join(f"{_q(f.column)} = %s" for f in (*fields, *auto))
            params_list = [
                [
                    *(_prep(f, v) for f, v in zip(fields, r[1:], strict=True)),
                    *(_prep(f, now) for f in auto),
                    r[0],
                ]
                for r in rows
            ]
            sql = f"UPDATE {table} SET {assigns} WHERE {pk} = %s"  # noqa: S608 — model names
            cur.executemany(sql, params_list)
    return len(rows)
