"""Column mappings: how the columns of someone's file become the columns Baton imports.

A mapping is JSON (saved under a name, passed with `--mapping`, or built on the mapping page):

    {
      "columns":   {"employee_number": "工号", "name": "姓名"},        # ours ← theirs
      "constants": {"business_unit": "C", "work_city": "SH"},          # the same for every row
      "templates": {"name": "IBM {EmployeeNumber}"},                   # built from their columns
      "values":    {"department": {"Sales": "C-SALES"}},               # their value → ours
      "years_before": {"hire_date": {"column": "YearsAtCompany", "as_of": "2026-11-30"}},
      "attributes": ["JobLevel", "OverTime"],                          # kept as attributes
      "protected_attributes": ["Age", "Gender", "MaritalStatus"],      # kept apart
      "date_format": "%d/%m/%Y",
      "sheet": "Sheet1",
      "ignore": ["email"]                                              # not taken, even if named
    }

Without a mapping, a column is taken when its header is our column name or its label in
English or Chinese, so a file Baton exported imports as it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from baton.core.errors import InvalidInput
from baton.imports.values import typed

_FIELD = re.compile(r"\{([^{}]+)\}")
KNOWN_KEYS = {
    "kind",
    "name",
    "columns",
    "constants",
    "templates",
    "values",
    "years_before",
    "attributes",
    "protected_attributes",
    "date_format",
    "sheet",
    "ignore",
}


@dataclass
class Compiled:
    """A mapping bound to one file's header: `row(cells)` gives our columns as text."""

    present: frozenset[str]  # our columns that have a value source
    row: Callable[[Sequence[str]], dict[str, str]]
    attribute_columns: list[tuple[str, int]]
    protected_columns: list[tuple[str, int]]
    date_format: str
    sources: dict[str, str]  # our column → their column (for report lines)


def check_spec(spec: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """Problems with a mapping itself (names no file): unknown keys or target columns."""
    problems = []
    for key in spec:
        if key not in KNOWN_KEYS:
            problems.append(_("Unknown mapping entry “%(key)s”.") % {"key": key})
    for section in ("columns", "constants", "templates", "values", "years_before"):
        part = spec.get(section) or {}
        if not isinstance(part, dict):
            problems.append(_("“%(section)s” must be an object.") % {"section": section})
            continue
        for ours in part:
            if ours not in columns:
                problems.append(
                    _("“%(column)s” in “%(section)s” is not a column of this kind (%(known)s).")
                    % {"column": ours, "section": section, "known": ", ".join(columns)}
                )
    for section in ("attributes", "protected_attributes"):
        part = spec.get(section) or []
        if not isinstance(part, list) or not all(isinstance(x, str) for x in part):
            problems.append(
                _("“%(section)s” must be a list of column names.") % {"section": section}
            )
    return problems


def aliases(name: str, label: Any) -> set[str]:
    """The headers a column of ours is recognised by: its name, its English and Chinese label."""
    out = {name.lower()}
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            out.add(str(label).strip().lower())
    return out


def compile_mapping(
    spec: Mapping[str, Any] | None,
    header: Sequence[str],
    columns: Sequence[tuple[str, Any, bool]],
) -> Compiled:
    """Bind `spec` to a file's `header`. `columns` are the kind's (name, label, required).
    Raises InvalidInput naming every required column that has no source, and every column the
    mapping names that the file does not have."""
    spec = spec or {}
    names = [c[0] for c in columns]
    problems = check_spec(spec, names)
    index = {h: i for i, h in enumerate(header)}
    lowered = {h.strip().lower(): i for i, h in enumerate(header)}
    mapped: dict[str, str] = dict(spec.get("columns") or {})
    constants: dict[str, str] = {k: str(v) for k, v in (spec.get("constants") or {}).items()}
    templates: dict[str, str] = dict(spec.get("templates") or {})
    value_maps: dict[str, dict[str, str]] = dict(spec.get("values") or {})
    years_before: dict[str, dict[str, str]] = dict(spec.get("years_before") or {})

    def col(theirs: str, where: str) -> int:
        if theirs in index:
            return index[theirs]
        if theirs.strip().lower() in lowered:
            return lowered[theirs.strip().lower()]
        problems.append(
            _("The file has no column “%(column)s” (named in %(where)s).")
            % {"column": theirs, "where": where}
        )
        return -1

    getters: list[tuple[str, Callable[[Sequence[str]], str]]] = []
    sources: dict[str, str] = {}
    ignored = set(spec.get("ignore") or [])
    for name, label, required in columns:
        given = (mapped, constants, templates, years_before)
        if name in ignored and not any(name in part for part in given):
            if required:
                problems.append(
                    _("The required column “%(column)s” (%(label)s) is missing.")
                    % {"column": name, "label": label}
                )
            continue
        if name in mapped:
            i = col(mapped[name], name)
            sources[name] = mapped[name]
            getters.append((name, _cell(i)))
        elif name in templates:
            getters.append((name, _template(templates[name], col, name)))
            sources[name] = templates[name]
        elif name in years_before:
            rule = years_before[name]
            i = col(str(rule.get("column", "")), name)
            as_of = dt.date.fromisoformat(str(rule.get("as_of") or dt.date.today().isoformat()))
            getters.append((name, _years_before(i, as_of)))
            sources[name] = str(rule.get("column", ""))
        elif name in constants:
            value = constants[name]
            getters.append((name, _constant(value)))
            sources[name] = "=" + value
        else:
            hits = [lowered[a] for a in aliases(name, label) if a in lowered]
            if hits:
                getters.append((name, _cell(hits[0])))
                sources[name] = header[hits[0]]
            elif required:
                problems.append(
                    _("The required column “%(column)s” (%(label)s) is missing.")
                    % {"column": name, "label": label}
                )
    for name, table in value_maps.items():
        for k, (n, g) in enumerate(getters):
            if n == name:
                getters[k] = (n, _mapped_value(g, {str(a): str(b) for a, b in table.items()}))
    attrs = [(c, col(c, "attributes")) for c in spec.get("attributes") or []]
    prot = [(c, col(c, "protected_attributes")) for c in spec.get("protected_attributes") or []]
    if problems:
        raise InvalidInput(" ".join(problems), {"mapping": problems})

    def row(cells: Sequence[str]) -> dict[str, str]:
        return {n: g(cells) for n, g in getters}

    plain = [(n, getattr(g, "index", None)) for n, g in getters]
    if getters and all(i is not None for _n, i in plain):
        # Every column read as it is (the usual case, and millions of rows): no call per cell.
        pairs = [(n, int(i)) for n, i in plain if i is not None]

        def row(cells: Sequence[str]) -> dict[str, str]:
            return {n: cells[i] for n, i in pairs}

    return Compiled(
        present=frozenset(n for n, _g in getters),
        row=row,
        attribute_columns=attrs,
        protected_columns=prot,
        date_format=str(spec.get("date_format") or ""),
        sources=sources,
    )


def _constant(value: str) -> Callable[[Sequence[str]], str]:
    return lambda _cells: value


def _cell(i: int) -> Callable[[Sequence[str]], str]:
    def get(cells: Sequence[str]) -> str:
        return cells[i]

    get.index = i  # type: ignore[attr-defined]
    return get


def _template(
    text: str, col: Callable[[str, str], int], where: str
) -> Callable[[Sequence[str]], str]:
    parts = _FIELD.split(text)
    # parts alternate literal, field, literal, …
    idx = [col(p, where) if k % 2 else -1 for k, p in enumerate(parts)]

    def build(cells: Sequence[str]) -> str:
        return "".join(cells[idx[k]] if k % 2 else p for k, p in enumerate(parts))

    return build


def _years_before(i: int, as_of: dt.date) -> Callable[[Sequence[str]], str]:
    def build(cells: Sequence[str]) -> str:
        raw = cells[i].strip()
        if not raw:
            return ""
        try:
            years = int(float(raw))
        except ValueError:
            return raw  # the date parser names the bad value
        try:
            return as_of.replace(year=as_of.year - years).isoformat()
        except ValueError:  # 29 February
            return (as_of.replace(day=28, year=as_of.year - years)).isoformat()

    return build


def _mapped_value(
    get: Callable[[Sequence[str]], str], table: dict[str, str]
) -> Callable[[Sequence[str]], str]:
    return lambda cells: table.get(get(cells), get(cells))


def attributes_of(
    compiled: Compiled, cells: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    attrs = {c: typed(cells[i]) for c, i in compiled.attribute_columns}
    prot = {c: typed(cells[i]) for c, i in compiled.protected_columns}
    return attrs, prot
