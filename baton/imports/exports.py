"""Export of what a customer owns, in the shape imports read back: one CSV or XLSX per kind
(our column names as the header) and a full archive (a ZIP of every kind's CSV plus a
manifest). Exporting a database and importing the archive into an empty one reproduces it.

Text cells that a spreadsheet would run as a formula are escaped with a leading quote (imports
undo it). Rows stream from the database; an XLSX is written in openpyxl's write-only mode.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.cells import safe_cell
from baton.core.errors import InvalidInput
from baton.imports.kinds import EXPORTED, KINDS
from baton.imports.kinds.base import Kind
from baton.org.models import Group

FORMAT_VERSION = 1


class _Echo:
    def write(self, value: str) -> str:
        return value


def _kind(code: str, user: Any) -> Kind:
    if code not in KINDS or code == "separations":
        raise InvalidInput.field("kind", _("Unknown kind of export: %(kind)s.") % {"kind": code})
    cls = KINDS[code]
    view = {
        "org.manage": "org.view",
        "employee.change": "employee.view",
        "records.change": "records.view",
    }
    authz.require(user, authz.Perm(view.get(cls.perm.value, cls.perm.value)))
    return cls.__new__(cls)


def header(code: str) -> list[str]:
    return [c.name for c in KINDS[code].columns]


def _cells(row: list[Any]) -> list[Any]:
    return ["" if v is None else safe_cell(v if isinstance(v, str) else str(v)) for v in row]


def csv_lines(code: str, user: Any) -> Iterator[str]:
    """The CSV of one kind, line by line (UTF-8 with BOM so Excel reads Chinese)."""
    kind = _kind(code, user)
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(header(code))
    for row in kind.export_rows(user):
        yield writer.writerow(_cells(row))


def xlsx_bytes(code: str, user: Any) -> bytes:
    from openpyxl import Workbook

    kind = _kind(code, user)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(code[:31])
    sheet.append(header(code))
    for row in kind.export_rows(user):
        sheet.append(_cells(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@transaction.atomic
def record_export(user: Any, what: str, fmt: str, rows: int | None = None) -> None:
    group = Group.objects.first()
    if group is None:
        return
    trail.record(
        E.DATA_EXPORTED,
        actor=user,
        subject=group,
        extra={"what": what, "format": fmt, "rows": rows},
    )


def write_archive(user: Any, target: Path) -> dict[str, Any]:
    """Every kind the user may read, one CSV each, and manifest.json (counts and SHA-256 of each
    file). Written to `target` (a file path), streamed: memory stays flat."""
    manifest: dict[str, Any] = {
        "format": "baton-export",
        "version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "files": {},
    }
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for cls in EXPORTED:
            try:
                lines = csv_lines(cls.code, user)
                first = next(lines)
            except authz.PermissionDenied:
                continue
            digest = hashlib.sha256()
            rows = -1
            with archive.open(f"{cls.code}.csv", "w", force_zip64=True) as member:
                for text in itertools.chain((first,), lines):
                    data = text.encode("utf-8")
                    digest.update(data)
                    member.write(data)
                    rows += 1
            manifest["files"][f"{cls.code}.csv"] = {"rows": rows, "sha256": digest.hexdigest()}
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    record_export(user, "archive", "zip", sum(f["rows"] for f in manifest["files"].values()))
    return manifest
