"""The progress board (every exit case the user may see, with per-case item counts) and the
unfinished-items report of one case (PDF / XLSX)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from baton.access import authz
from baton.access.authz import Perm
from baton.handover import actions, report, selectors
from baton.handover.models import CaseState, ExitCase
from baton.org.models import BusinessUnit, Department

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _query(request: HttpRequest, *drop: str) -> str:
    params = request.GET.copy()
    for name in ("page", *drop):
        params.pop(name, None)
    return params.urlencode()


def _departments() -> list[tuple[str, list[tuple[int, str]]]]:
    """The top two levels of every business unit's tree, for the filter (deeper departments
    are reachable by ?department= and are included as part of their parent's subtree)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    qs = (
        Department.objects.filter(is_active=True)
        .filter(parent__parent__isnull=True)
        .select_related("business_unit")
        .order_by("business_unit__code", "path")
    )
    for d in qs:
        indent = "· " if d.parent_id else ""
        groups.setdefault(d.business_unit.name, []).append((d.pk, f"{indent}{d.name}"))
    return list(groups.items())


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """Every exit case visible to the user, filtered, 50 a page; item counts are computed for
    the cases on the page only (one grouped query), so the page costs the same at any size."""
    authz.require(request.user, Perm.CASE_VIEW)
    b = selectors.board(request.user, request.GET, per_page=PAGE_SIZE)
    ctx: dict[str, Any] = {
        "page": b.page,
        "rows": b.rows,
        "summary": b.summary,
        "state": b.state,
        "due": b.due,
        "query": _query(request),
        "where": _query(request, "state", "due"),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "board-table":
        return render(request, "handover/board.html#table", ctx)
    ctx.update(
        states=CaseState.choices,
        business_units=BusinessUnit.objects.filter(is_active=True),
        departments=_departments(),
    )
    return render(request, "handover/board.html", ctx)


def _filename(case: ExitCase, ext: str) -> str:
    number = re.sub(r"[^A-Za-z0-9_-]", "", case.employee.employee_number) or str(case.pk)
    return f"unfinished-items-{number}-{timezone.localdate():%Y%m%d}.{ext}"


@login_required
def case_report(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """未完成项报告: the case's open items with owner, due date, lateness and history."""
    case = authz.get_for(
        request.user,
        Perm.CASE_VIEW,
        ExitCase.objects.select_related("employee", "department", "legal_entity"),
        pk=pk,
    )
    data = report.build(case, user=request.user)
    actions.record_report_export(case, fmt, acting_user=request.user)
    if fmt == "pdf":
        response = HttpResponse(report.to_pdf(data), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{_filename(case, "pdf")}"'
    else:
        response = HttpResponse(report.to_xlsx(data), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{_filename(case, "xlsx")}"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("cases/", board, name="board"),
    path("cases/<int:pk>/report.pdf", case_report, {"fmt": "pdf"}, name="case_report_pdf"),
    path("cases/<int:pk>/report.xlsx", case_report, {"fmt": "xlsx"}, name="case_report_xlsx"),
]
