"""/api/audit: read and export the audit trail (scoped to the reader)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Router, Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import export
from baton.audit.actions import export_trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.audit.selectors import entries_for
from baton.core.api_crud import Page, paginate

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    created_at: dt.datetime
    event_type: int
    event: str
    actor_id: int | None
    on_behalf_of_id: int | None
    token_id: int | None
    subject_type: str
    subject_id: str
    request_id: str
    client_ip: str
    data: dict[str, Any]
    payload_hash: str
    prev_hash: str
    entry_hash: str

    @staticmethod
    def resolve_event(obj: AuditEntry) -> str:
        return str(AuditEvent(obj.event_type).label)


class AuditPage(Page):
    items: list[AuditEntryOut]


@router.get("/entries", response=AuditPage, operation_id="list_audit_entries")
def list_entries(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    authz.require(request.user, Perm.AUDIT_VIEW)
    count, items = paginate(entries_for(request.user, request.GET), limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


@router.get("/entries/{int:entry_id}", response=AuditEntryOut, operation_id="get_audit_entry")
def get_entry(request: HttpRequest, entry_id: int) -> Any:
    return authz.get_for(request.user, Perm.AUDIT_VIEW, AuditEntry, pk=entry_id)


@router.get("/export", operation_id="export_audit_entries", response={200: None})
def export_entries(
    request: HttpRequest, format: str = "csv"
) -> HttpResponse | StreamingHttpResponse:
    """CSV or XLSX with the chain hashes; the same filters as /entries."""
    fmt = "xlsx" if format == "xlsx" else "csv"
    qs = export_trail(request.GET, fmt, acting_user=request.user)
    return export_response(qs, fmt)


def export_response(qs: Any, fmt: str) -> HttpResponse | StreamingHttpResponse:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    resp: HttpResponse | StreamingHttpResponse
    if fmt == "xlsx":
        resp = HttpResponse(
            export.to_xlsx(qs),
            content_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    else:
        resp = StreamingHttpResponse(export.to_csv(qs), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="baton-audit-{stamp}.{fmt}"'
    return resp
