"""One pass of the import engine over one or more files: what it counts and reports. Apart
from the engine so the kinds can type against it without importing the engine back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from baton.imports.mapping import Compiled

MAX_PROBLEMS = 100_000


@dataclass
class Problem:
    kind: str
    row: int | None
    column: str
    severity: str
    code: str
    message: str
    value: str = ""


@dataclass
class Run:
    """One pass over one or more files (an archive holds several kinds)."""

    user: Any
    batch_id: int
    dry_run: bool
    progress: Callable[[int, int], None] | None = None  # (rows done, bytes read)
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    rows_done: int = 0
    bytes_base: int = 0
    kind_code: str = ""
    compiled: Compiled | None = None
    # Tables an earlier kind of this run wrote (departments, then their heads): a row this run
    # wrote there is not a repeated key of the current file.
    tables_before: set[str] = field(default_factory=set)
    # Hashes of the keys of the current file seen in earlier chunks: a key repeated across chunks
    # is rejected even when its first row changed nothing (~50 bytes per row; 5 million rows of
    # attendance ≈ 250 MB, within the import's memory budget).
    seen_keys: set[int] = field(default_factory=set)
    _last_progress: float = 0.0

    # ---------------------------------------------------------------- report lines

    def count(self, name: str, n: int = 1) -> None:
        self.counts.setdefault(self.kind_code, Counter())[name] += n

    def _add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.count("problems_not_listed")

    def error(self, row: int | None, column: str, code: str, message: str, value: str = "") -> None:
        self.count("rejected")
        self._add(
            Problem(self.kind_code, row, self.source(column), "error", code, message, value[:200])
        )

    def warn(self, row: int | None, column: str, code: str, message: str, value: str = "") -> None:
        self.count("warnings")
        self._add(
            Problem(self.kind_code, row, self.source(column), "warning", code, message, value[:200])
        )

    def source(self, column: str) -> str:
        """Report lines name the column as the file calls it."""
        if self.compiled and column in self.compiled.sources and column:
            theirs = self.compiled.sources[column]
            return column if theirs == column else f"{theirs} → {column}"
        return column

    @property
    def error_count(self) -> int:
        return sum(c["rejected"] for c in self.counts.values())

    def tick(self, bytes_read: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress and (force or now - self._last_progress > 0.5):
            self._last_progress = now
            self.progress(self.rows_done, self.bytes_base + bytes_read)
