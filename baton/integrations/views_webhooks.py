"""Settings pages for events out: webhook subscriptions (the signing secret shown once), secret
rotation, and each subscription's delivery log with replay of dead-lettered deliveries.
Thin views over `baton.integrations.actions.webhooks`; the same rules as /api/integrations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.forms import run_action
from baton.core.http import AuthedRequest
from baton.integrations import outbox, selectors
from baton.integrations.actions import webhooks as webhook_actions
from baton.integrations.models import Subscription, WebhookDelivery, WebhookStatus
from baton.org.models import BusinessUnit

PAGE_SIZE = 50


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        help_text=gettext_lazy("Where events are POSTed (https:// for anything outside)."),
    )
    event_types = forms.CharField(
        label=gettext_lazy("Event types"),
        max_length=2000,
        help_text=gettext_lazy(
            'Separated by spaces or commas: a type ("case.approved"), a prefix ("case.*") or '
            '"*" for everything.'
        ),
    )
    business_unit = forms.ModelChoiceField(
        label=gettext_lazy("Business unit"),
        queryset=BusinessUnit.objects.none(),
        required=False,
        empty_label=gettext_lazy("The whole group"),
    )
    internal = forms.BooleanField(
        label=gettext_lazy("Internal network"),
        required=False,
        help_text=gettext_lazy(
            "Allow private, loopback and link-local addresses (administrators only)."
        ),
    )
    active = forms.BooleanField(
        label=pgettext_lazy("a setting that is switched on", "Active"), required=False, initial=True
    )
    max_attempts = forms.IntegerField(
        label=gettext_lazy("Attempts before dead-letter"), min_value=1, max_value=100, initial=12
    )

    def __init__(self, *args: Any, user: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope = authz.access_for(user).scopes[Perm.INTEGRATIONS_MANAGE]
        bus = BusinessUnit.objects.order_by("name")
        field: Any = self.fields["business_unit"]
        field.queryset = bus if scope.everything else bus.filter(pk__in=scope.business_units)
        if not scope.everything:
            field.required = True
            field.empty_label = None
        if editing:
            del self.fields["business_unit"]  # a subscription's unit never changes
        if not authz.has_perm(user, Perm.USERS_MANAGE):
            del self.fields["internal"]

    def clean_event_types(self) -> list[str]:
        raw = self.cleaned_data["event_types"].replace(",", " ").split()
        return list(dict.fromkeys(raw))

    def data_for_action(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if "business_unit" in data:
            bu = data.pop("business_unit")
            data["business_unit_id"] = bu.pk if bu else None
        return data


def _secret_page(request: HttpRequest, sub: Subscription, secret: str, rotated: bool) -> Any:
    return render(
        request,
        "integrations/webhook_secret.html",
        {"sub": sub, "secret": secret, "rotated": rotated, "section": "webhooks"},
    )


@login_required
def subscriptions(request: AuthedRequest) -> HttpResponse:
    """The webhook subscriptions the user manages, with what is waiting and dead-lettered."""
    open_q = Q(deliveries__status__in=("pending", "retry", "sending"))
    rows = (
        selectors.subscriptions(request.user)
        .select_related("business_unit")
        .annotate(
            waiting=Count("deliveries", filter=open_q),
            dead=Count("deliveries", filter=Q(deliveries__status=WebhookStatus.DEAD)),
        )
        .order_by("name", "id")
    )
    return render(
        request,
        "integrations/webhooks.html",
        {"rows": rows, "section": "webhooks", "types": outbox.catalogue_types()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_create(request: AuthedRequest) -> HttpResponse:
    user = request.user
    authz.require(user, Perm.INTEGRATIONS_MANAGE)
    form = SubscriptionForm(request.POST or None, user=user)
    if request.method == "POST":
        done = run_action(
            form,
            lambda: webhook_actions.create_subscription(form.data_for_action(), acting_user=user),
        )
        if done is not None:
            sub, secret = done
            return _secret_page(request, sub, secret, rotated=False)
    return render(
        request,
        "integrations/webhook_form.html",
        {
            "form": form,
            "title": _("New webhook subscription"),
            "types": outbox.catalogue_types(),
            "section": "webhooks",
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """Edit the subscription; its delivery log with replay below."""
    user = request.user
    sub = selectors.subscription(user, pk)
    initial = {
        "name": sub.name,
        "url": sub.url,
        "event_types": " ".join(sub.event_types),
        "internal": sub.internal,
        "active": sub.active,
        "max_attempts": sub.max_attempts,
    }
    form = SubscriptionForm(request.POST or None, user=user, editing=True, initial=initial)
    if request.method == "POST":
        done = run_action(
            form,
            lambda: webhook_actions.update_subscription(
                sub, form.data_for_action(), acting_user=user
            ),
        )
        if done is not None:
            messages.success(request, _("Subscription “%(name)s” saved.") % {"name": done.name})
            return redirect("integrations:webhook", pk=sub.pk)
    status = request.GET.get("status", "")
    deliveries = WebhookDelivery.objects.filter(subscription=sub).select_related("event")
    if status in WebhookStatus.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries.order_by("-event_id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "integrations/webhook_detail.html",
        {
            "sub": sub,
            "form": form,
            "page": page,
            "status": status,
            "statuses": WebhookStatus.choices,
            "types": outbox.catalogue_types(),
            "section": "webhooks",
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def subscription_rotate(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    sub = selectors.subscription(user, pk)
    secret = webhook_actions.rotate_secret(sub, acting_user=user)
    return _secret_page(request, sub, secret, rotated=True)


@login_required
@require_POST
def subscription_replay(request: AuthedRequest, pk: int) -> HttpResponse:
    """Replay one dead-lettered delivery (`delivery` in the form) or all of them."""
    user = request.user
    sub = selectors.subscription(user, pk)
    one = request.POST.get("delivery", "")
    ids = [int(one)] if one.isdigit() else None
    n = webhook_actions.replay(sub, ids, acting_user=user)
    messages.success(
        request,
        ngettext("%(n)s delivery will be sent again.", "%(n)s deliveries will be sent again.", n)
        % {"n": n},
    )
    return redirect(f"{reverse('integrations:webhook', args=[sub.pk])}?status=")
