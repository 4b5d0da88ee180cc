from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from baton.access import authz
from baton.access.authz import Perm
from baton.audit.actions import export_trail
from baton.audit.api import export_response
from baton.audit.events import AuditEvent
from baton.audit.selectors import entries_for


@login_required
def entries(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.AUDIT_VIEW)
    qs = entries_for(request.user, request.GET).select_related("actor")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {
        "page": page,
        "events": AuditEvent.choices,
        "query": params.urlencode(),
        "can_export": authz.has_perm(request.user, Perm.AUDIT_EXPORT),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "audit-table":
        return render(request, "audit/entries.html#table", ctx)
    return render(request, "audit/entries.html", ctx)


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    if fmt not in ("csv", "xlsx"):
        # Otherwise "export.pdf" would be a CSV under another name, audited as a "pdf" export.
        raise Http404
    qs = export_trail(request.GET, fmt, acting_user=request.user)
    return export_response(qs, fmt)
