"""The migration validation report (数据迁移校验报告) of an import batch, as a workbook: a
"Summary" sheet (the file, who did what when, the counts per kind) and a "Problems" sheet with
every rejected row and warning (kind, row, column, severity, code, problem, value).

Problems stream from the database into openpyxl's write-only mode, so a report of a hundred
thousand lines never sits in memory as cells. Every text cell is escaped against formula
injection: the values come from the customer's file.
"""

from __future__ import annotations

import io
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.cells import safe_cell
from baton.imports.models import ImportBatch, ImportKind, Severity

# The counts shown per kind, in this order (the engine's names).
COUNTS = ("read", "created", "updated", "unchanged", "rejected", "warnings", "repeated")


def count_labels() -> list[str]:
    return [
        _("Rows read"),
        _("Created"),
        _("Updated"),
        _("Unchanged"),
        _("Rejected"),
        _("Warnings"),
        _("Repeated rows"),
    ]


def kind_label(code: str) -> str:
    if code == "total":
        return _("Total")
    try:
        return str(ImportKind(code).label)
    except ValueError:
        return code


def count_rows(batch: ImportBatch) -> list[tuple[str, list[int]]]:
    """(kind label, counts in COUNTS order) per kind, the total last when there are several."""
    kinds = [k for k in batch.counts if k != "total"]
    rows = [(kind_label(k), [int(batch.counts[k].get(c, 0)) for c in COUNTS]) for k in kinds]
    if len(kinds) > 1 and "total" in batch.counts:
        rows.append((kind_label("total"), [int(batch.counts["total"].get(c, 0)) for c in COUNTS]))
    return rows


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_cell(value)
    return value


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _who(user: Any) -> str:
    return str(user) if user is not None else ""


def _validated_by(batch: ImportBatch) -> str:
    entry = (
        AuditEntry.objects.filter(
            subject_type=ImportBatch._meta.label_lower,
            subject_id=str(batch.pk),
            event_type=E.IMPORT_VALIDATED,
        )
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    return _who(entry.actor) if entry is not None else ""


def summary_rows(batch: ImportBatch) -> list[tuple[str, Any]]:
    return [
        (_("Batch"), f"#{batch.pk}"),
        (_("Kind"), batch.get_kind_display()),
        (_("File"), batch.file_name),
        (_("SHA-256"), batch.file_sha256),
        (_("Size"), f"{filesizeformat(batch.file_size)} ({batch.file_size:,} B)"),
        (_("Encoding"), batch.encoding),
        (_("Status"), batch.get_status_display()),
        (_("Uploaded by"), _who(batch.created_by)),
        (_("Uploaded at"), _when(batch.created_at)),
        (_("Validated by"), _validated_by(batch)),
        (_("Validated at"), _when(batch.validated_at)),
        (_("Committed by"), _who(batch.committed_by)),
        (_("Committed at"), _when(batch.committed_at)),
        (_("Error"), batch.error),
    ]


def report_xlsx(batch: ImportBatch) -> bytes:
    """The report workbook of `batch` as bytes."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def strong(sheet: Any, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=_text(text))
        cell.font = bold
        return cell

    summary = book.create_sheet(_("Summary")[:31])
    summary.column_dimensions["A"].width = 18
    summary.column_dimensions["B"].width = 70
    summary.append([strong(summary, _("Migration validation report"))])
    summary.append([])
    for label, value in summary_rows(batch):
        summary.append([strong(summary, label), _text(value)])
    summary.append([])
    summary.append([strong(summary, h) for h in [_("Kind"), *count_labels()]])
    for label, numbers in count_rows(batch):
        summary.append([_text(label), *numbers])
    not_listed = sum(int(c.get("problems_not_listed", 0)) for c in batch.counts.values())
    if not_listed:
        summary.append([])
        summary.append(
            [_text(_("%(n)s more problems were found but not listed.") % {"n": f"{not_listed:,}"})]
        )

    problems = book.create_sheet(_("Problems")[:31])
    for letter, width in zip("ABCDEFG", (18, 8, 24, 10, 16, 70, 30), strict=True):
        problems.column_dimensions[letter].width = width
    problems.append(
        [
            strong(problems, h)
            for h in (
                _("Kind"),
                _("Row"),
                _("Column"),
                _("Severity"),
                _("Code"),
                _("Problem"),
                _("Value"),
            )
        ]
    )
    severities = {s.value: str(s.label) for s in Severity}
    kinds: dict[str, str] = {}
    rows = (
        batch.problems.order_by("id")
        .values_list("kind", "row", "column", "severity", "code", "message", "value")
        .iterator(chunk_size=5000)
    )
    for kind, row, column, severity, code, message, value in rows:
        if kind not in kinds:
            kinds[kind] = kind_label(kind) if kind else ""
        problems.append(
            [
                _text(kinds[kind]),
                row,
                _text(column),
                _text(severities.get(severity, severity)),
                _text(code),
                _text(message),
                _text(value),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
