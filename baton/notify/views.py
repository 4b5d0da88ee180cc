"""The notification centre, the user's channel choices, and the notification settings (channels,
reminder rules, the delivery log). Views are thin: parse with a form, check with `authz`, call
`baton.notify.actions`, show the result or the action's refusal in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover.models import ChecklistTemplate, ExitCase
from baton.notify import actions, selectors
from baton.notify.forms import (
    CHOOSABLE,
    ChannelForm,
    DeliveryFilterForm,
    PreferencesForm,
    RuleForm,
)
from baton.notify.models import (
    FAMILY_OF_KIND,
    Channel,
    ChannelKind,
    Delivery,
    Family,
    Notification,
    Preference,
    ReminderRule,
)
from baton.org.models import BusinessUnit

PAGE_SIZE = 50
CASE_LOG_LIMIT = 200  # the case page shows the latest deliveries; the full log has the rest
# The families a channel is configured for (in-app needs none), in the order the page shows.
CHANNEL_FAMILIES = (Family.EMAIL, Family.SMS, Family.IM)


def _htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _safe_link(url: str) -> str:
    """A notification's link, if it is one (a path on this site or an http(s) address)."""
    url = (url or "").strip()
    if not url:
        return ""
    if url.startswith("/") and not url.startswith("//"):
        return url
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _run_form(
    form: forms.BaseForm, call: Callable[[], Any], rename: dict[str, str] | None = None
) -> Any:
    """Validate the form, then run the action; put its refusal on the form (`rename` maps the
    action's field names to the form's)."""
    if not form.is_valid():
        return None
    try:
        return call()
    except ActionError as exc:
        if rename:
            exc.field_errors = {rename.get(k, k): v for k, v in exc.field_errors.items()}
        apply_action_error(form, exc)
        form.error_status = exc.status  # type: ignore[attr-defined]
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
        form.denied = True  # type: ignore[attr-defined]
    return None


def _form_status(request: HttpRequest, form: forms.BaseForm) -> int:
    if getattr(form, "denied", False):
        return 403
    if request.method != "POST":
        return 200
    return int(getattr(form, "error_status", 400))


# ---------------------------------------------------------------- the notification centre


def _unread(user: Any) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def _notifications(user: Any) -> QuerySet[Notification]:
    return authz.visible_to(user, Perm.INBOX, Notification.objects.all()).order_by(
        "-created_at", "-id"
    )


def _with_links(items: Any) -> list[Notification]:
    rows: list[Notification] = list(items)
    for n in rows:
        n.link = _safe_link(n.url)  # type: ignore[attr-defined]
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
    if not _htmx(request):
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
    if not _htmx(request):
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
        done = _run_form(
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
        status=_form_status(request, form),
    )


# ---------------------------------------------------------------- channels


def _manage_scope(user: Any) -> authz.Scope:
    authz.require(user, Perm.NOTIFY_MANAGE)
    return authz.access_for(user).scopes[Perm.NOTIFY_MANAGE]


def _business_units(user: Any) -> QuerySet[BusinessUnit]:
    scope = _manage_scope(user)
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
    scope = _manage_scope(user)
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
    scope = _manage_scope(user)
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
        channel = _run_form(form, create)
        if channel is not None:
            messages.success(
                request,
                _("Channel “%(name)s” saved. Send a test message to check it.")
                % {"name": channel.name},
            )
            return redirect(f"{reverse('notify:channels')}#channel-{channel.pk}")
    title = _("New channel: %(kind)s") % {"kind": ChannelKind(kind).label}
    return _channel_page(request, form, title, _form_status(request, form))


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
        done = _run_form(
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
    return _channel_page(request, form, title, _form_status(request, form))


@login_required
@require_POST
def channel_test(request: AuthedRequest, pk: int) -> HttpResponse:
    """Send a test message to oneself through the channel, now; show the outcome in place."""
    user = request.user
    _manage_scope(user)
    channel = authz.get_for(user, Perm.NOTIFY_MANAGE, Channel, pk=pk)
    delivery = actions.test_channel(channel, acting_user=user)
    channel = Channel.objects.select_related("business_unit").get(pk=channel.pk)
    if not _htmx(request):
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


# ---------------------------------------------------------------- reminder rules


def _rules(user: Any) -> QuerySet[ReminderRule]:
    return authz.visible_to(
        user, Perm.NOTIFY_MANAGE, ReminderRule.objects.select_related("template")
    ).order_by("template__name", "template_id", "item_key", "sort", "offset", "id")


def _described(rules: Any) -> list[ReminderRule]:
    out: list[ReminderRule] = list(rules)
    for r in out:
        r.words = actions.describe(r)  # type: ignore[attr-defined]
        r.channel_labels = [  # type: ignore[attr-defined]
            str(Family(c).label) for c in r.channels if c in Family.values
        ]
    return out


@login_required
def rules(request: AuthedRequest) -> HttpResponse:
    """The group defaults and the rules of single checklists and items."""
    user = request.user
    scope = _manage_scope(user)
    rows = _described(_rules(user))
    defaults = [r for r in rows if r.template_id is None]
    by_template: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r.template_id is not None:
            group = by_template.setdefault(r.template_id, {"template": r.template, "rules": []})
            group["rules"].append(r)
    return render(
        request,
        "notify/rules.html",
        {
            "defaults": defaults,
            "templates": list(by_template.values()),
            "can_edit_defaults": scope.everything,
            "section": "rules",
        },
    )


def _rule_page(
    request: HttpRequest, form: RuleForm, title: str, status: int, rule: ReminderRule | None
) -> HttpResponse:
    return render(
        request,
        "notify/rule_form.html",
        {"form": form, "title": title, "rule": rule, "section": "rules"},
        status=status,
    )


def _rule_return(rule: ReminderRule) -> str:
    anchor = f"template-{rule.template_id}" if rule.template_id else "defaults"
    return f"{reverse('notify:rules')}#{anchor}"


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: AuthedRequest) -> HttpResponse:
    user = request.user
    _manage_scope(user)
    initial: dict[str, Any] = {"repeat": "once", "mode": "immediate", "is_active": True}
    template_id = request.GET.get("template", "")
    if template_id.isdigit() and ChecklistTemplate.objects.filter(pk=template_id).exists():
        initial["template"] = int(template_id)
    if request.GET.get("item_key"):
        initial["item_key"] = request.GET["item_key"]
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST":
        rule = _run_form(form, lambda: actions.create_rule(form.create_data(), acting_user=user))
        if rule is not None:
            messages.success(request, _("Reminder rule saved."))
            return redirect(_rule_return(rule))
    return _rule_page(request, form, _("New reminder rule"), _form_status(request, form), None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    _manage_scope(user)
    rule = authz.get_for(
        user, Perm.NOTIFY_MANAGE, ReminderRule.objects.select_related("template"), pk=pk
    )
    form = RuleForm(request.POST or None, rule=rule)
    if request.method == "POST":
        done = _run_form(
            form, lambda: actions.update_rule(rule, form.update_data(), acting_user=user)
        )
        if done is not None:
            messages.success(request, _("Reminder rule saved."))
            return redirect(_rule_return(rule))
    title = _("Reminder rule: %(rule)s") % {"rule": rule.name or actions.describe(rule)}
    return _rule_page(request, form, title, _form_status(request, form), rule)


@login_required
@require_POST
def rule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    _manage_scope(user)
    rule = authz.get_for(user, Perm.NOTIFY_MANAGE, ReminderRule, pk=pk)
    back = _rule_return(rule)
    actions.delete_rule(rule, acting_user=user)
    messages.success(request, _("Reminder rule deleted."))
    return redirect(back)


@login_required
def template_rules(request: AuthedRequest, pk: int) -> HttpResponse:
    """The reminder rules of one checklist, for the checklist page (loaded lazily)."""
    user = request.user
    template = authz.get_for(user, Perm.TEMPLATE_VIEW, ChecklistTemplate, pk=pk)
    _manage_scope(user)
    rows = _described(_rules(user).filter(template=template))
    return render(
        request,
        "notify/rules.html#template_section",
        {"t": template, "template_rules": rows},
    )


# ---------------------------------------------------------------- the delivery log


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
        "query": _without_page(request),
        "section": "deliveries",
    }
    if _htmx(request) and request.headers.get("HX-Target") == "delivery-table":
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
