"""The notification centre (the user's in-app notifications) and the user's channel choices."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.http import AuthedRequest
from baton.notify import actions
from baton.notify.forms import CHOOSABLE, PreferencesForm
from baton.notify.models import Channel, Notification, Preference
from baton.notify.views.common import PAGE_SIZE, form_status, htmx, run_form, safe_link


def _unread(user: Any) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def _notifications(user: Any) -> QuerySet[Notification]:
    return authz.visible_to(user, Perm.INBOX, Notification.objects.all()).order_by(
        "-created_at", "-id"
    )


def _with_links(items: Any) -> list[Notification]:
    rows: list[Notification] = list(items)
    for n in rows:
        n.link = safe_link(n.url)  # type: ignore[attr-defined]
    return rows


def _list_context(request: HttpRequest, page_number: Any) -> dict[str, Any]:
    user = request.user
    page = Paginator(_notifications(user), PAGE_SIZE).get_page(page_number)
    return {"page": page, "items": _with_links(page.object_list), "unread": _unread(user)}


@login_required
def centre(request: AuthedRequest) -> HttpResponse:
    """The user's notifications, newest first, unread ones highlighted."""
    authz.require(request.user, Perm.INBOX)
    return render(request, "notify/centre.html", _list_context(request, request.GET.get("page")))


def badge(request: HttpRequest) -> HttpResponse:
    """The unread count in the top bar, polled by HTMX. Not behind @login_required: a signed-out
    page must not swap the sign-in page into the badge, so it answers 286 (htmx stops polling)."""
    user = request.user
    if not user.is_authenticated or not authz.has_perm(user, Perm.INBOX):
        return HttpResponse(status=286)
    response = render(request, "notify/badge.html#count", {"unread": _unread(user)})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def mark_one(request: AuthedRequest, pk: int) -> HttpResponse:
    """Mark one notification read: HTMX swaps the item and updates the badge."""
    user = request.user
    authz.require(user, Perm.INBOX)
    note = authz.get_for(user, Perm.INBOX, Notification, pk=pk)
    actions.mark_read(user, [note.pk])
    if not htmx(request):
        return redirect("notify:centre")
    note = Notification.objects.get(pk=note.pk)
    ctx = {"n": _with_links([note])[0], "unread": _unread(user)}
    return render(request, "notify/centre.html#item_swap", ctx)


@login_required
@require_POST
def mark_all(request: AuthedRequest) -> HttpResponse:
    """Mark every unread notification read: HTMX swaps the list and updates the badge."""
    user = request.user
    authz.require(user, Perm.INBOX)
    marked = actions.mark_read(user, None)
    if not htmx(request):
        messages.success(
            request,
            _("%(n)s notification(s) marked read.") % {"n": marked},
        )
        return redirect("notify:centre")
    ctx = _list_context(request, request.POST.get("page"))
    return render(request, "notify/centre.html#list_swap", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthedRequest) -> HttpResponse:
    """The channels the user wants: email, SMS, IM robots (in-app is always on; a channel the
    organisation made mandatory cannot be switched off)."""
    user = request.user
    authz.require(user, Perm.INBOX)
    channels = list(Channel.objects.filter(enabled=True).only("family", "mandatory", "name"))
    mandatory = sorted({c.family for c in channels if c.mandatory})
    configured = {c.family for c in channels}
    pref = Preference.objects.filter(user=user).first()
    disabled = set(pref.disabled) if pref else set()
    initial = {"enabled": [f.value for f in CHOOSABLE if f.value not in disabled]}
    form = PreferencesForm(request.POST or None, initial=initial, mandatory=mandatory)
    if request.method == "POST":
        done = run_form(
            form,
            lambda: actions.set_preferences(user, form.disabled_families(), acting_user=user),
            rename={"disabled": "enabled"},
        )
        if done is not None:
            messages.success(request, _("Your notification channels were saved."))
            return redirect("notify:preferences")
    rows = [
        {
            "family": f,
            "mandatory": f.value in mandatory,
            "configured": f.value in configured,
        }
        for f in CHOOSABLE
    ]
    return render(
        request,
        "notify/preferences.html",
        {"form": form, "rows": rows, "mandatory": mandatory},
        status=form_status(request, form),
    )
