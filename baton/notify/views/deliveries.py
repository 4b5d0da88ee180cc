"""The delivery log: every message sent, for those who may see it, and a case's latest."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.notify.forms import DeliveryFilterForm
from baton.notify.models import Delivery
from baton.notify.views.common import CASE_LOG_LIMIT, PAGE_SIZE, htmx, without_page


def _deliveries(user: Any) -> QuerySet[Delivery]:
    return authz.visible_to(
        user,
        Perm.DELIVERY_VIEW,
        Delivery.objects.select_related("recipient", "channel", "case__employee"),
    ).order_by("-created_at", "-id")


@login_required
def deliveries(request: AuthedRequest) -> HttpResponse:
    """Everything sent (or not) in the user's scope, filtered and paginated."""
    user = request.user
    authz.require(user, Perm.DELIVERY_VIEW)
    filters = DeliveryFilterForm(request.GET or None)
    qs = _deliveries(user).filter(**filters.filters())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "query": without_page(request),
        "section": "deliveries",
    }
    if htmx(request) and request.headers.get("HX-Target") == "delivery-table":
        return render(request, "notify/deliveries.html#table", ctx)
    return render(request, "notify/deliveries.html", ctx)


@login_required
def case_deliveries(request: AuthedRequest, pk: int) -> HttpResponse:
    """The case page's "Reminders sent" section: 404 if the case is not visible to the user,
    403 if it is but its delivery log is not."""
    user = request.user
    case = authz.get_for(user, Perm.CASE_VIEW, ExitCase, pk=pk)
    in_scope = ExitCase.objects.filter(authz.case_q(user, Perm.DELIVERY_VIEW), pk=case.pk)
    if not authz.has_perm(user, Perm.DELIVERY_VIEW) or not in_scope.exists():
        raise PermissionDenied(_("You may see this case, but not the messages sent about it."))
    qs = authz.visible_to(
        user,
        Perm.DELIVERY_VIEW,
        Delivery.objects.filter(case_id=case.pk).select_related("recipient", "channel"),
    ).order_by("-created_at", "-id")
    rows = list(qs[: CASE_LOG_LIMIT + 1])
    return render(
        request,
        "notify/case_deliveries.html",
        {
            "case": case,
            "rows": rows[:CASE_LOG_LIMIT],
            "more": len(rows) > CASE_LOG_LIMIT,
        },
    )
