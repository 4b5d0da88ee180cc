"""Checklist templates (list, binding, items, versions, proposed changes) in the UI (the
position knowledge map is in views/knowledge.py). Views are thin: parse with a form, call the
action, show the result or the action's refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import User
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.handover import actions, selectors
from baton.handover.forms_admin import (
    DecisionForm,
    ItemForm,
    ProposalForm,
    PublishForm,
    TemplateForm,
)
from baton.handover.models import (
    ApproverRole,
    Category,
    ChecklistTemplate,
    EvidenceKind,
    OwnerRole,
    ReceiverRule,
    TemplateChangeRequest,
    TemplateItem,
)
from baton.handover.templates_logic import effective_items, item_dict

PAGE_SIZE = 50


def _run_form(form: forms.BaseForm, call: Callable[[], Any]) -> Any:
    """Validate the form, then run the action; put its refusal on the form."""
    if not form.is_valid():
        return None
    try:
        return call()
    except ActionError as exc:
        apply_action_error(form, exc)
    except PermissionDenied as exc:
        # E.g. a business unit's HR binding a checklist to the whole group: say why, in place.
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
        form.denied = True  # type: ignore[attr-defined]
    return None


def _form_page(
    request: HttpRequest, form: forms.BaseForm, title: str, cancel: str, **extra: Any
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    if getattr(form, "denied", False):
        status = 403
    ctx = {"form": form, "title": title, "cancel": cancel, **extra}
    return render(request, "handover/template_form.html", ctx, status=status)


def _managed(request: HttpRequest, pk: int) -> ChecklistTemplate:
    """The checklist, if the user may change it (404 if unknown, 403 if not theirs)."""
    template = authz.get_for(request.user, Perm.TEMPLATE_MANAGE, ChecklistTemplate, pk=pk)
    if not selectors.can_manage_template(request.user, template):
        raise PermissionDenied(
            _("This checklist is managed by HR of the part of the group it applies to.")
        )
    return template


def _template_url(template: ChecklistTemplate, anchor: str = "") -> str:
    url = reverse("handover:template", args=[template.pk])
    return f"{url}#{anchor}" if anchor else url


# ---------------------------------------------------------------- checklist templates


@login_required
def templates(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.TEMPLATE_VIEW)
    return render(
        request,
        "handover/template_list.html",
        {
            "rows": selectors.template_rows(request.user),
            "can_manage": authz.has_perm(request.user, Perm.TEMPLATE_MANAGE),
            "only_mine": selectors.templates_for_self(request.user) is not None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.TEMPLATE_MANAGE)
    form = TemplateForm(request.POST or None)
    if request.method == "POST":
        template = _run_form(
            form, lambda: actions.create_template(form.action_data(), acting_user=request.user)
        )
        if template is not None:
            return redirect(_template_url(template))
    return _form_page(request, form, _("New checklist"), reverse("handover:templates"))


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = _managed(request, pk)
    form = TemplateForm(request.POST or None, instance=template)
    if request.method == "POST":
        # A fresh copy: the bound form mutates `instance` while cleaning.
        fresh = ChecklistTemplate.objects.get(pk=pk)
        done = _run_form(
            form,
            lambda: actions.update_template(
                fresh, form.changed_data_for_action(), acting_user=request.user
            ),
        )
        if done is not None:
            return redirect(_template_url(template))
    return _form_page(
        request,
        form,
        _("Where %(name)s applies") % {"name": template.name},
        _template_url(template),
    )


def describe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items with their choices spelled out and named people resolved (one query)."""
    ids = {i for it in items for i in (it.get("owner_user_id"), it.get("approver_user_id")) if i}
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)} if ids else {}
    labels = {
        "category": dict(Category.choices),
        "owner_role": dict(OwnerRole.choices),
        "receiver_rule": dict(ReceiverRule.choices),
        "approver_role": dict(ApproverRole.choices),
        "evidence_kind": dict(EvidenceKind.choices),
    }
    out = []
    for it in items:
        d = dict(it)
        for name, choices in labels.items():
            d[f"{name}_label"] = choices.get(it.get(name, ""), it.get(name, ""))
        d["owner_name"] = names.get(it.get("owner_user_id") or 0, "")
        d["approver_name"] = names.get(it.get("approver_user_id") or 0, "")
        out.append(d)
    return out


@login_required
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    template = authz.get_for(
        user,
        Perm.TEMPLATE_VIEW,
        ChecklistTemplate.objects.select_related(
            "parent", "position", "position_family", "department", "business_unit", "legal_entity"
        ),
        pk=pk,
    )
    own = list(TemplateItem.objects.filter(template=template).order_by("sort", "id"))
    own_rows = describe([{**item_dict(it), "removed": it.removed} for it in own])
    effective = effective_items(template)
    own_keys = {it.key for it in own if not it.removed}
    eff_rows = describe(effective)
    for row in eff_rows:
        row["own"] = row["key"] in own_keys
    versions = list(template.versions.select_related("published_by").order_by("-number"))
    latest = versions[0] if versions else None
    can_manage = selectors.can_manage_template(user, template)
    proposals = list(selectors.proposals_for(user, template)[:100])
    described = describe([{"key": "", **p.item} for p in proposals])
    for p, view in zip(proposals, described, strict=True):
        p.view = view  # type: ignore[attr-defined]
    return render(
        request,
        "handover/template_detail.html",
        {
            "t": template,
            "own_items": own_rows,
            "effective": eff_rows,
            "versions": versions,
            "latest": latest,
            "diff": selectors.diff_items(effective, latest.items if latest else []),
            "proposals": proposals,
            "can_manage": can_manage,
            "can_propose": selectors.can_propose(user, template),
            "publish_form": PublishForm(),
        },
    )


def _item_keys(template: ChecklistTemplate) -> tuple[dict[str, TemplateItem], dict[str, Any]]:
    own = {it.key: it for it in TemplateItem.objects.filter(template=template)}
    effective = {d["key"]: d for d in effective_items(template)}
    return own, effective


def _next_sort(effective: dict[str, Any]) -> int:
    return max((int(d["sort"]) for d in effective.values()), default=-1) + 1


@login_required
@require_http_methods(["GET", "POST"])
def template_item(request: HttpRequest, pk: int, key: str | None = None) -> HttpResponse:
    """Add an item to the draft, or change one (its own, or an inherited one, which the change
    then overrides). Takes effect when the checklist is published."""
    template = _managed(request, pk)
    own, effective = _item_keys(template)
    if key is not None:
        current = own.get(key)
        source = item_dict(current) if current is not None else effective.get(key)
        if source is None:
            raise Http404(_("This checklist has no item with this key."))
        initial = ItemForm.initial_from(source)
        title = _("Change item %(key)s") % {"key": key}
    else:
        initial = {"sort": _next_sort(effective)}
        title = _("New item")
    form = ItemForm(
        request.POST or None,
        initial=initial,
        key=key,
        taken_keys=set(own) | set(effective),
    )
    if request.method == "POST":
        done = _run_form(
            form,
            lambda: actions.save_template_item(
                template, form.cleaned_data["key"], form.action_data(), acting_user=request.user
            ),
        )
        if done is not None:
            messages.success(request, _("Saved to the draft; publish to put it in use."))
            return redirect(_template_url(template, "draft"))
    return _form_page(request, form, title, _template_url(template, "draft"), template=template)


@login_required
@require_POST
def template_item_remove(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """Remove an item from the draft: its own item, or an inherited one (recorded as a removal
    that hides the parent's item); `restore=1` brings back an own item that was removed."""
    template = _managed(request, pk)
    own, effective = _item_keys(template)
    restore = request.POST.get("restore") == "1"
    if key not in own and key not in effective:
        raise Http404(_("This checklist has no item with this key."))
    try:
        actions.save_template_item(
            template, key, {"removed": not restore}, acting_user=request.user
        )
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Item restored in the draft.") if restore else _("Item removed from the draft."),
        )
    return redirect(_template_url(template, "draft"))


@login_required
@require_POST
def template_publish(request: HttpRequest, pk: int) -> HttpResponse:
    template = _managed(request, pk)
    form = PublishForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        version = actions.publish_template(template, acting_user=request.user, note=note)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Version %(n)s published.") % {"n": version.number})
    return redirect(_template_url(template, "versions"))


@login_required
@require_http_methods(["GET", "POST"])
def template_propose(request: HttpRequest, pk: int) -> HttpResponse:
    """Propose a change to one item (HR, the department head, or the employee for their own
    position's checklist); it applies only when HR approves it."""
    template = authz.get_for(request.user, Perm.TEMPLATE_VIEW, ChecklistTemplate, pk=pk)
    if not selectors.can_propose(request.user, template):
        raise PermissionDenied(
            _("You may propose changes to the checklists of your own position only.")
            if authz.has_perm(request.user, Perm.TEMPLATE_PROPOSE)
            else _("You do not have permission to do this.")
        )
    effective = {d["key"]: d for d in effective_items(template)}
    initial: dict[str, Any] = {"sort": _next_sort(effective)}
    key = request.GET.get("key", "")
    if key in effective:
        initial = ItemForm.initial_from(effective[key])
    form = ProposalForm(request.POST or None, initial=initial)
    if request.method == "POST":
        done = _run_form(
            form,
            lambda: actions.propose_template_change(
                template,
                form.proposal(),
                acting_user=request.user,
                reason=form.cleaned_data["reason"].strip(),
            ),
        )
        if done is not None:
            messages.success(request, _("Your proposal was sent to HR for approval."))
            return redirect(_template_url(template, "proposals"))
    return _form_page(
        request,
        form,
        _("Propose a change to %(name)s") % {"name": template.name},
        _template_url(template),
        template=template,
    )


@login_required
@require_POST
def template_decide(request: HttpRequest, pk: int, request_pk: int) -> HttpResponse:
    template = _managed(request, pk)
    change = get_object_or_404(TemplateChangeRequest, pk=request_pk, template=template)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or reject."))
        return redirect(_template_url(template, "proposals"))
    approve = form.cleaned_data["decision"] == "approve"
    try:
        actions.decide_template_change(change, approve, acting_user=request.user)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Change approved and a new version published.") if approve else _("Change rejected."),
        )
    return redirect(_template_url(template, "proposals"))


urlpatterns = [
    path("checklists/", templates, name="templates"),
    path("checklists/new/", template_create, name="template_create"),
    path("checklists/<int:pk>/", template_detail, name="template"),
    path("checklists/<int:pk>/edit/", template_edit, name="template_edit"),
    path("checklists/<int:pk>/items/new/", template_item, name="template_item_new"),
    path("checklists/<int:pk>/items/<slug:key>/edit/", template_item, name="template_item"),
    path(
        "checklists/<int:pk>/items/<slug:key>/remove/",
        template_item_remove,
        name="template_item_remove",
    ),
    path("checklists/<int:pk>/publish/", template_publish, name="template_publish"),
    path("checklists/<int:pk>/propose/", template_propose, name="template_propose"),
    path(
        "checklists/<int:pk>/proposals/<int:request_pk>/decide/",
        template_decide,
        name="template_decide",
    ),
]
