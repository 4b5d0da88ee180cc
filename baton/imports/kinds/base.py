"""What every kind of importable record declares: its columns, its natural key, how a row of
text becomes a row of the table, and the checks only it knows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.imports.run import Run
from baton.imports.values import CellError


class RowError(Exception):
    """The row is rejected: `column` (ours) and a translated message saying why."""

    def __init__(self, column: str, message: str, code: str = "invalid", value: str = ""):
        super().__init__(message)
        self.column, self.message, self.code, self.value = column, message, code, value


@dataclass(frozen=True)
class Column:
    name: str
    label: Any  # lazy translation
    required: bool = False
    help: Any = ""


def cell(raw: dict[str, str], name: str, parse: Any = None, *, required: bool = False) -> Any:
    """The parsed value of our column `name`, or None when empty. Parse errors become a
    RowError on that column; an empty required cell too."""
    text = raw.get(name, "")
    if text == "":
        if required:
            raise RowError(name, _("This value is required."), "required")
        return None
    if parse is None:
        return text
    try:
        return parse(text)
    except CellError as e:
        raise RowError(name, e.message, e.code, text) from None


class Kind:
    code: ClassVar[str]
    model: ClassVar[type[models.Model]]
    columns: ClassVar[Sequence[Column]]
    key: ClassVar[tuple[str, ...]]  # attnames
    values: ClassVar[tuple[str, ...]]  # attnames compared and written
    perm: ClassVar[Perm]
    log_changes: ClassVar[bool] = True
    update_only: ClassVar[bool] = False
    chunk_rows: ClassVar[int] = 5000
    # Whether the dry run must write the rows (later rows or checks read them back: managers,
    # parents, numbers). Kinds whose rows nothing else in the file reads only diff and count.
    validate_by_writing: ClassVar[bool] = True

    def __init__(self, run: Run):
        self.run = run

    # ---------------------------------------------------------------- lifecycle of one file

    def prepare(self) -> None:
        """Load the lookups `build` needs (codes → ids), once per file."""

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        """Our row of text → attname → value; raise RowError to reject it."""
        raise NotImplementedError

    def key_text(self, values: dict[str, Any]) -> str:
        return " / ".join(str(values[k]) for k in self.key)

    def check_existing(self, values: dict[str, Any], before: dict[str, Any]) -> None:
        """A row matched an existing record (`before`: its values now): raise RowError when
        this user may not change it or the change would break it."""

    def before_insert(self, creates: list[dict[str, Any]]) -> None:
        """Fill what only a write can give (allocated numbers)."""

    def after_write(
        self, written: list[tuple[int, dict[str, Any]]], created: list[dict[str, Any]]
    ) -> None:
        """After a chunk was written (row number, values) — side tables, warnings."""

    def finish(self) -> None:
        """After the whole file: references between rows of the file (managers, parents)."""

    # ---------------------------------------------------------------- export

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        """Rows in the column order of `columns`, for the export of this kind."""
        raise NotImplementedError


@dataclass
class Scope:
    """What the acting user may change, read once per file."""

    everything: bool
    business_units: set[int] = field(default_factory=set)
    legal_entities: set[int] = field(default_factory=set)
    department_paths: tuple[str, ...] = ()

    @classmethod
    def of(cls, user: Any, perm: Perm) -> Scope:
        s = authz.access_for(user).scopes.get(perm)
        if s is None or s.empty:
            return cls(False)
        return cls(
            s.everything,
            set(s.business_units),
            set(s.legal_entities),
            tuple(s.department_paths),
        )

    @property
    def empty(self) -> bool:
        return not (
            self.everything or self.business_units or self.legal_entities or self.department_paths
        )

    def allows(self, business_unit_id: int, legal_entity_id: int, path: str) -> bool:
        if self.everything:
            return True
        return (
            business_unit_id in self.business_units
            or legal_entity_id in self.legal_entities
            or any(path.startswith(p) for p in self.department_paths)
        )
