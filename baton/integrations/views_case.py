"""What connected systems do for a case, on the case page and for IT: the access revocation of
each system (with its call log as evidence), the business data pulls with their progress, and
the records they brought; IT's revocation queue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.integrations import rules, selectors
from baton.integrations.actions import systems as system_actions
from baton.integrations.models import (
    OPEN_REVOCATION,
    BusinessItem,
    BusinessKind,
    DataPull,
    Revocation,
    RevocationState,
)

PAGE_SIZE = 50
LIVE_PULLS = ("queued", "running")


def _revocations(user: Any, perm: Perm = Perm.CASE_VIEW) -> QuerySet[Revocation]:
    return authz.visible_to(
        user, perm, Revocation.objects.select_related("system", "employee", "case", "task")
    )


@login_required
def case_section(request: AuthedRequest, pk: int) -> HttpResponse:
    """The case page's "Systems" section (loaded by HTMX, refreshed while work is running)."""
    user = request.user
    case = authz.get_for(user, Perm.CASE_VIEW, ExitCase, pk=pk)
    revocations = list(_revocations(user).filter(case=case).order_by("system__name"))
    pulls = list(DataPull.objects.filter(case=case).select_related("system").order_by("-id")[:20])
    counts = {
        row["kind"]: row
        for row in BusinessItem.objects.filter(case=case)
        .values("kind")
        .annotate(n=Count("id"), reassigned=Count("id", filter=Q(new_owner__isnull=False)))
    }
    kinds = [
        {"kind": k, "label": k.label, **counts[k.value]} for k in BusinessKind if k.value in counts
    ]
    handles_customers = False
    if "customer" in counts:
        try:
            rules.require_handler(user, case)
            handles_customers = True
        except (PermissionDenied, ActionError):
            pass
    live = any(p.state in LIVE_PULLS for p in pulls) or any(
        r.state == RevocationState.RUNNING for r in revocations
    )
    return render(
        request,
        "integrations/case_section.html",
        {
            "case": case,
            "revocations": revocations,
            "pulls": pulls,
            "kinds": kinds,
            "live": live,
            "evidence": selectors.sees_revocations(user),
            "handles_customers": handles_customers,
        },
    )


@login_required
def revocation_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """One revocation and every call made for it: the evidence of its task."""
    user = request.user
    if not selectors.sees_revocations(user):
        raise PermissionDenied(_("Connector call logs are for IT, HR and auditors."))
    revocation = authz.get_for(user, Perm.CASE_VIEW, _revocations(user), pk=pk)
    return render(
        request,
        "integrations/revocation_detail.html",
        {
            "r": revocation,
            "calls": revocation.calls.order_by("id"),
            "can_retry": authz.has_perm(user, Perm.QUEUE_IT)
            or authz.has_perm(user, Perm.CASE_MANAGE),
            "can_mark": authz.has_perm(user, Perm.QUEUE_IT),
            "section": "revocations",
        },
    )


@login_required
def revocation_queue(request: AuthedRequest) -> HttpResponse:
    """IT's queue: revocations still to run, retrying or failed (to do by hand), or any state."""
    user = request.user
    if not (authz.has_perm(user, Perm.QUEUE_IT) or authz.has_perm(user, Perm.CASE_MANAGE)):
        raise PermissionDenied(_("The revocation queue is for IT and HR."))
    state = request.GET.get("state", "attention")
    qs = _revocations(user)
    if state == "attention":
        qs = qs.filter(state__in=(*OPEN_REVOCATION, RevocationState.FAILED))
    elif state in RevocationState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs.order_by("due_at", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "integrations/revocations.html",
        {
            "page": page,
            "state": state,
            "states": RevocationState.choices,
            "section": "revocations",
        },
    )


def _act(request: AuthedRequest, pk: int, call: Any) -> HttpResponse:
    user = request.user
    revocation = authz.get_for(user, Perm.CASE_VIEW, _revocations(user), pk=pk)
    try:
        call(revocation)
    except ActionError as exc:
        details = [m for msgs in exc.field_errors.values() for m in msgs]
        messages.error(request, " ".join(details) or exc.message)
    return redirect("integrations:revocation", pk=pk)


@login_required
@require_POST
def revocation_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    """IT (or HR) tries a failed revocation again now."""

    def retry(rev: Revocation) -> None:
        system_actions.retry_revocation(rev, acting_user=request.user)
        messages.success(request, _("The revocation runs again now."))

    return _act(request, pk, retry)


@login_required
@require_POST
def revocation_manual(request: AuthedRequest, pk: int) -> HttpResponse:
    """IT records that it revoked the access by hand, saying what it did."""

    def manual(rev: Revocation) -> None:
        system_actions.mark_revoked_manually(
            rev, request.POST.get("note", ""), acting_user=request.user
        )
        messages.success(request, _("Recorded as revoked by hand."))

    return _act(request, pk, manual)
