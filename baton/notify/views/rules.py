"""Notification settings: reminder rules, for all checklists or one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.http import AuthedRequest
from baton.handover.models import ChecklistTemplate
from baton.notify import actions
from baton.notify.forms import RuleForm
from baton.notify.models import Family, ReminderRule
from baton.notify.views.common import form_status, manage_scope, run_form


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
    scope = manage_scope(user)
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
    manage_scope(user)
    initial: dict[str, Any] = {"repeat": "once", "mode": "immediate", "is_active": True}
    template_id = request.GET.get("template", "")
    if template_id.isdigit() and ChecklistTemplate.objects.filter(pk=template_id).exists():
        initial["template"] = int(template_id)
    if request.GET.get("item_key"):
        initial["item_key"] = request.GET["item_key"]
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST":
        rule = run_form(form, lambda: actions.create_rule(form.create_data(), acting_user=user))
        if rule is not None:
            messages.success(request, _("Reminder rule saved."))
            return redirect(_rule_return(rule))
    return _rule_page(request, form, _("New reminder rule"), form_status(request, form), None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    manage_scope(user)
    rule = authz.get_for(
        user, Perm.NOTIFY_MANAGE, ReminderRule.objects.select_related("template"), pk=pk
    )
    form = RuleForm(request.POST or None, rule=rule)
    if request.method == "POST":
        done = run_form(
            form, lambda: actions.update_rule(rule, form.update_data(), acting_user=user)
        )
        if done is not None:
            messages.success(request, _("Reminder rule saved."))
            return redirect(_rule_return(rule))
    title = _("Reminder rule: %(rule)s") % {"rule": rule.name or actions.describe(rule)}
    return _rule_page(request, form, title, form_status(request, form), rule)


@login_required
@require_POST
def rule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    manage_scope(user)
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
    manage_scope(user)
    rows = _described(_rules(user).filter(template=template))
    return render(
        request,
        "notify/rules.html#template_section",
        {"t": template, "template_rules": rows},
    )
