"""Notification settings: the channels (email, SMS, IM) per business unit or the whole group."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.http import AuthedRequest
from baton.notify import actions, selectors
from baton.notify.forms import ChannelForm
from baton.notify.models import FAMILY_OF_KIND, Channel, ChannelKind
from baton.notify.views.common import CHANNEL_FAMILIES, form_status, htmx, manage_scope, run_form
from baton.org.models import BusinessUnit


def _business_units(user: Any) -> QuerySet[BusinessUnit]:
    scope = manage_scope(user)
    qs = BusinessUnit.objects.order_by("name")
    return qs if scope.everything else qs.filter(pk__in=scope.business_units)


def _channels(user: Any) -> QuerySet[Channel]:
    return authz.visible_to(
        user, Perm.NOTIFY_MANAGE, Channel.objects.select_related("business_unit")
    ).order_by("family", "business_unit__name", "name")


def _kinds_of(family: str) -> list[tuple[str, str]]:
    return [(k.value, str(k.label)) for k in ChannelKind if FAMILY_OF_KIND[k] == family]


@login_required
def channels(request: AuthedRequest) -> HttpResponse:
    """The configured channels per family, with their last test."""
    user = request.user
    scope = manage_scope(user)
    rows = list(_channels(user))
    families = [
        {
            "family": f,
            "channels": [c for c in rows if c.family == f.value],
            "kinds": _kinds_of(f.value),
        }
        for f in CHANNEL_FAMILIES
    ]
    return render(
        request,
        "notify/channels.html",
        {"families": families, "whole_group": scope.everything, "section": "channels"},
    )


def _channel_page(request: HttpRequest, form: ChannelForm, title: str, status: int) -> HttpResponse:
    return render(
        request,
        "notify/channel_form.html",
        {
            "form": form,
            "title": title,
            "kind_label": ChannelKind(form.kind).label,
            "section": "channels",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def channel_create(request: AuthedRequest, kind: str) -> HttpResponse:
    user = request.user
    bus = _business_units(user)
    if kind not in ChannelKind.values:
        raise Http404(_("Unknown provider."))
    scope = manage_scope(user)
    # HR of a business unit configures its unit's channels: that unit is the starting choice.
    initial = {} if scope.everything else {"business_unit": bus.first()}
    form = ChannelForm(
        request.POST or None,
        kind=kind,
        business_units=bus,
        initial=initial,
        allow_internal=actions.may_allow_internal(user),
    )

    def create() -> Channel:
        data = form.create_data()
        return actions.create_channel(data, form.secrets_data(), acting_user=user)

    if request.method == "POST":
        channel = run_form(form, create)
        if channel is not None:
            messages.success(
                request,
                _("Channel “%(name)s” saved. Send a test message to check it.")
                % {"name": channel.name},
            )
            return redirect(f"{reverse('notify:channels')}#channel-{channel.pk}")
    title = _("New channel: %(kind)s") % {"kind": ChannelKind(kind).label}
    return _channel_page(request, form, title, form_status(request, form))


@login_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    bus = _business_units(user)
    channel = authz.get_for(
        user, Perm.NOTIFY_MANAGE, Channel.objects.select_related("business_unit"), pk=pk
    )
    form = ChannelForm(
        request.POST or None,
        kind=channel.kind,
        business_units=bus,
        channel=channel,
        secrets_set=selectors.secrets_set(channel),
        allow_internal=actions.may_allow_internal(user),
    )
    if request.method == "POST":
        done = run_form(
            form,
            lambda: actions.update_channel(
                channel, form.update_data(), form.secrets_data(), acting_user=user
            ),
        )
        if done is not None:
            messages.success(request, _("Channel “%(name)s” saved.") % {"name": done.name})
            for notice in getattr(done, "notices", ()):
                messages.warning(request, notice)
            return redirect(f"{reverse('notify:channels')}#channel-{channel.pk}")
    title = _("Channel %(name)s") % {"name": channel.name}
    return _channel_page(request, form, title, form_status(request, form))


@login_required
@require_POST
def channel_test(request: AuthedRequest, pk: int) -> HttpResponse:
    """Send a test message to oneself through the channel, now; show the outcome in place."""
    user = request.user
    manage_scope(user)
    channel = authz.get_for(user, Perm.NOTIFY_MANAGE, Channel, pk=pk)
    delivery = actions.test_channel(channel, acting_user=user)
    channel = Channel.objects.select_related("business_unit").get(pk=channel.pk)
    if not htmx(request):
        if channel.last_test_ok:
            messages.success(
                request,
                _("Test message sent to %(address)s.") % {"address": delivery.address or user},
            )
        else:
            messages.error(
                request,
                _("The test failed: %(error)s") % {"error": channel.last_error},
            )
        return redirect(f"{reverse('notify:channels')}#channel-{channel.pk}")
    return render(
        request,
        "notify/channels.html#test_state",
        {"c": channel, "delivery": delivery, "just_tested": True},
    )
