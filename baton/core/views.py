from __future__ import annotations

import datetime as dt
import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache

from baton.access import authz
from baton.access.authz import Perm
from baton.core.models import WorkerHeartbeat
from baton.org.models import Employee


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database reachable, and how many workers have been seen recently. 503 if the DB is down."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        db_ok = True
    except Exception:
        db_ok = False
    workers = 0
    if db_ok:
        since = timezone.now() - dt.timedelta(seconds=settings.BATON_WORKER_STALE_SECONDS)
        workers = WorkerHeartbeat.objects.filter(last_seen__gte=since).count()
    body = {
        "status": "ok" if db_ok else "error",
        "database": "ok" if db_ok else "unreachable",
        "database_vendor": connection.vendor,
        "workers": workers,
        "worker_status": "ok" if workers else "none",
    }
    return JsonResponse(body, status=200 if db_ok else 503)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    ctx: dict[str, object] = {}
    if authz.has_perm(user, Perm.EMPLOYEE_VIEW):
        visible = authz.visible_to(user, Perm.EMPLOYEE_VIEW, Employee.objects.all())
        ctx["headcount"] = visible.exclude(status="departed").count()
        ctx["departing"] = visible.filter(status="departing").count()
    ctx["me"] = getattr(user, "employee", None)
    return render(request, "core/home.html", ctx)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler. A write that found the database locked (SQLite while a large import
    commits: one writer at a time) is no server fault but a busy server: 503 with Retry-After
    and a translated message, as JSON under /api/, so a sign-in is told to retry, not that
    Baton broke."""
    exc = sys.exc_info()[1]
    if not (isinstance(exc, OperationalError) and "locked" in str(exc)):
        return defaults.server_error(request)
    message = _("Baton is busy writing a large change. Please try again in a few seconds.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "errors": {}}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "5"
    return response
