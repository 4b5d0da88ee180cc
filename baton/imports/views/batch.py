"""A batch: its report with its progress, validating, committing or discarding it, and the
report workbook."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.http import AuthedRequest
from baton.imports import actions, report, tasks
from baton.imports.models import BatchStatus, ImportBatch, ImportKind
from baton.imports.views.common import (
    FINAL,
    REVALIDATE,
    RUNNING,
    batch_state,
    get_batch,
    waiting_url,
)

PROBLEMS_SHOWN = 200
CHANGES_PER_PAGE = 100
# Polls (one a second) of a batch still waiting for a worker before the page stops asking.
MAX_QUEUE_POLLS = 120


def _progress_ctx(batch: ImportBatch) -> dict[str, Any]:
    return {
        "batch": batch,
        "progress": actions.progress_of(batch),
        "running": batch.status in RUNNING,
    }


def _label_kinds(rows: Any) -> None:
    labels: dict[str, str] = {}
    for row in rows:
        if row.kind not in labels:
            labels[row.kind] = report.kind_label(row.kind) if row.kind else ""
        row.kind_label = labels[row.kind]


@login_required
@require_GET
def batch_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = get_batch(user, pk)
    waiting = request.GET.get("waiting", "")
    ctx: dict[str, Any] = {
        **_progress_ctx(batch),
        "poll": batch.status in RUNNING or waiting == batch_state(batch),
        "waiting": waiting,
        "polls": 0,
        "count_labels": report.count_labels(),
        "count_rows": report.count_rows(batch),
        "can_commit": batch.status == BatchStatus.VALID,
        "can_validate": batch.status in REVALIDATE,
        "can_map": batch.status in REVALIDATE and batch.kind != ImportKind.ARCHIVE,
        "can_discard": batch.status not in (*RUNNING, *FINAL),
        "audit_url": None,
        "problems": None,
        "changes": None,
    }
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.DISCARDED) or batch.counts:
        # Errors first ("error" sorts before "warning"), then in file order.
        problems = list(batch.problems.order_by("severity", "id")[:PROBLEMS_SHOWN])
        _label_kinds(problems)
        ctx["problems"] = problems
        ctx["problem_count"] = (
            len(problems) if len(problems) < PROBLEMS_SHOWN else batch.problems.count()
        )
    if batch.status == BatchStatus.COMMITTED:
        changes = Paginator(batch.changes.order_by("id"), CHANGES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        _label_kinds(changes.object_list)
        ctx["changes"] = changes
    if authz.has_perm(user, Perm.AUDIT_VIEW):
        ctx["audit_url"] = (
            reverse("audit:entries")
            + f"?subject_type={ImportBatch._meta.label_lower}&subject_id={batch.pk}"
        )
    return render(request, "imports/batch.html", ctx)


@login_required
@require_GET
def batch_progress(request: AuthedRequest, pk: int) -> HttpResponse:
    """The progress partial the batch page polls; once the run is over, the page reloads."""
    batch = get_batch(request.user, pk)
    waiting = request.GET.get("waiting", "")
    if batch.status not in RUNNING and waiting != batch_state(batch):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    try:
        polls = int(request.GET.get("n", "0")) + 1
    except ValueError:
        polls = 1
    # Queued for long with no worker picking it up: say so and stop asking.
    stalled = batch.status not in RUNNING and polls > MAX_QUEUE_POLLS
    ctx = {**_progress_ctx(batch), "poll": not stalled, "stalled": stalled}
    return render(
        request, "imports/batch.html#progress", {**ctx, "waiting": waiting, "polls": polls}
    )


def _refuse(request: AuthedRequest, batch: ImportBatch, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect("imports:batch", pk=batch.pk)


@login_required
@require_POST
def batch_validate(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = get_batch(user, pk)
    if batch.status not in REVALIDATE:
        return _refuse(
            request,
            batch,
            _("This import is %(status)s; it cannot be run now.")
            % {"status": batch.get_status_display()},
        )
    tasks.enqueue_validation(batch.pk, user.pk)
    messages.success(request, _("The file is being validated again."))
    return redirect(waiting_url(batch))


@login_required
@require_POST
def batch_commit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = get_batch(user, pk)
    if batch.status != BatchStatus.VALID:
        return _refuse(
            request,
            batch,
            _("Only a validated import without errors can be committed; this one is %(status)s.")
            % {"status": batch.get_status_display()},
        )
    tasks.enqueue_commit(batch.pk, user.pk)
    messages.success(request, _("The import is being committed."))
    return redirect(waiting_url(batch))


@login_required
@require_POST
def batch_discard(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = get_batch(user, pk)
    try:
        actions.discard(batch, acting_user=user)
    except ActionError as e:
        return _refuse(request, batch, e.message)
    messages.success(request, _("The import was discarded; nothing was written."))
    return redirect("imports:batch", pk=batch.pk)


@login_required
@require_GET
def batch_report(request: AuthedRequest, pk: int) -> HttpResponse:
    batch = get_batch(request.user, pk)
    data = report.report_xlsx(batch)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"import-{batch.pk}-report.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
