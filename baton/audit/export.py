"""Audit export as CSV or XLSX, with the chain hashes so a copy can be checked offline.
Cells that a spreadsheet would run as a formula are escaped."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry

# Re-exported: other exports import safe_cell from here.
from baton.core.cells import FORMULA_LEAD as FORMULA_LEAD
from baton.core.cells import safe_cell as safe_cell


def header() -> list[str]:
    return [
        _("ID"),
        _("Time"),
        _("Event code"),
        _("Event"),
        _("Actor ID"),
        _("On behalf of"),
        _("Token"),
        _("Subject type"),
        _("Subject ID"),
        _("Request ID"),
        _("Client IP"),
        _("Details"),
        _("Payload SHA-256"),
        _("Previous hash"),
        _("Entry hash"),
    ]


def rows(qs: QuerySet[AuditEntry]) -> Iterator[list[Any]]:
    labels = dict(AuditEvent.choices)
    for e in qs.order_by("id").iterator(chunk_size=5000):
        yield [
            e.id,
            timezone.localtime(e.created_at).isoformat(),
            e.event_type,
            str(labels.get(e.event_type, e.event_type)),
            e.actor_id,
            e.on_behalf_of_id,
            e.token_id,
            e.subject_type,
            e.subject_id,
            e.request_id,
            e.client_ip,
            e.payload,
            e.payload_hash,
            e.prev_hash,
            e.entry_hash,
        ]


def to_csv(qs: QuerySet[AuditEntry]) -> Iterable[str]:
    """Streamed CSV (UTF-8 with BOM so Excel reads Chinese correctly)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    writer.writerow(header())
    for row in rows(qs):
        writer.writerow([safe_cell(c) for c in row])
        if buf.tell() > 64 * 1024:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def to_xlsx(qs: QuerySet[AuditEntry]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Audit trail"))
    ws.append(header())
    for row in rows(qs):
        ws.append([safe_cell(c) for c in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
