"""Settings pages for connected systems: the list, a system's settings (configuration or
manifest, secrets that are never shown back), "test connection", its API tokens (shown once)
and its recent calls. Thin views over `actions.systems` and `actions.system_tokens`."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.forms import run_action
from baton.core.http import AuthedRequest
from baton.integrations import selectors
from baton.integrations.actions import system_tokens
from baton.integrations.actions import systems as system_actions
from baton.integrations.models import ConnectedSystem, SystemKind
from baton.org.models import BusinessUnit, LegalEntity

CALLS_SHOWN = 50


class SystemForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    business_unit = forms.ModelChoiceField(
        label=gettext_lazy("Business unit"),
        queryset=BusinessUnit.objects.none(),
        required=False,
        empty_label=gettext_lazy("The whole group"),
    )
    legal_entity = forms.ModelChoiceField(
        label=gettext_lazy("Legal entity"),
        queryset=LegalEntity.objects.none(),
        required=False,
        empty_label=gettext_lazy("Every legal entity"),
        help_text=gettext_lazy("Whose employees have accounts in it."),
    )
    base_url = forms.CharField(label=gettext_lazy("Base URL"), max_length=500)
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
    revokes_access = forms.BooleanField(
        label=gettext_lazy("Revokes access"), required=False, initial=True
    )
    pulls_data = forms.BooleanField(label=gettext_lazy("Pulls business data"), required=False)
    transfers_customers = forms.BooleanField(
        label=gettext_lazy("Transfers customers"), required=False
    )
    revoke_hour = forms.IntegerField(
        label=gettext_lazy("Revocation hour"),
        min_value=0,
        max_value=23,
        initial=18,
        help_text=gettext_lazy(
            "Local hour on the last working day (a dismissal for cause: at once)."
        ),
    )
    delete_after_days = forms.IntegerField(
        label=gettext_lazy("Delete after (days)"),
        min_value=0,
        max_value=3650,
        required=False,
        help_text=gettext_lazy(
            "Grace period before the deactivated account is deleted; empty: never."
        ),
    )
    max_attempts = forms.IntegerField(
        label=gettext_lazy("Attempts before IT takes over"), min_value=1, max_value=50, initial=5
    )
    config = forms.CharField(
        label=gettext_lazy("Configuration"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "JSON or YAML. SCIM: match, filter_attribute, sessions_path. REST: the manifest "
            "(docs/integrations-manifest.md). WeCom: corpid."
        ),
    )
    secrets = forms.CharField(
        label=gettext_lazy("Secrets"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One name=value per line (e.g. token=…). Stored encrypted, never shown again; "
            "leave empty to keep the current ones."
        ),
    )

    def __init__(self, *args: Any, user: Any, system: ConnectedSystem | None = None, **kw: Any):
        super().__init__(*args, **kw)
        scope = authz.access_for(user).scopes[Perm.INTEGRATIONS_MANAGE]
        bus = BusinessUnit.objects.order_by("name")
        entities = LegalEntity.objects.order_by("name")
        if not scope.everything:
            bus = bus.filter(pk__in=scope.business_units)
            entities = entities.filter(business_unit_id__in=scope.business_units)
        bu_field: Any = self.fields["business_unit"]
        bu_field.queryset = bus
        entity_field: Any = self.fields["legal_entity"]
        entity_field.queryset = entities
        if not scope.everything:
            bu_field.required = True
            bu_field.empty_label = None
        if system is not None:
            del self.fields["business_unit"]  # a system's unit never changes
        if not authz.has_perm(user, Perm.USERS_MANAGE):
            del self.fields["internal"]

    def clean_config(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("config") or ""
        if not raw.strip():
            return {}
        try:
            value = yaml.safe_load(raw)  # YAML is a superset of JSON
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            if mark is None:
                raise forms.ValidationError(
                    _("The configuration is not valid JSON or YAML.")
                ) from None
            raise forms.ValidationError(
                _("The configuration is not valid JSON or YAML (line %(line)s).")
                % {"line": mark.line + 1}
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The configuration is a JSON or YAML object."))
        return value

    def clean_secrets(self) -> dict[str, str] | None:
        raw = self.cleaned_data.get("secrets") or ""
        if not raw.strip():
            return None
        found: dict[str, str] = {}
        for n, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise forms.ValidationError(_("Line %(n)s: write name=value.") % {"n": n})
            found[name.strip()] = value.strip()
        return found

    def action_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "secrets"}
        if "business_unit" in data:
            bu = data.pop("business_unit")
            data["business_unit_id"] = bu.pk if bu else None
        entity = data.pop("legal_entity", None)
        data["legal_entity"] = entity.pk if entity else None
        return data


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Token name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Scopes"),
        choices=[(s.value, s.label) for s in system_tokens.SYSTEM_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )


def _config_errors(exc: ActionError) -> None:
    """A manifest's problems are named by their place ("config.steps.revoke[0]…"): shown on
    the configuration field, place first."""
    for name in [n for n in exc.field_errors if n.startswith("config.")]:
        place = name.removeprefix("config.")
        exc.field_errors.setdefault("config", []).extend(
            f"{place}: {m}" for m in exc.field_errors.pop(name)
        )


def _run(form: forms.Form, call: Any) -> Any:
    return run_action(form, call, adapt=_config_errors)


@login_required
def systems(request: AuthedRequest) -> HttpResponse:
    attention = Q(revocations__state__in=("failed", "retry"))
    rows = selectors.systems(request.user).annotate(
        waiting=Count("revocations", filter=Q(revocations__state="scheduled")),
        attention=Count("revocations", filter=attention),
    )
    return render(
        request,
        "integrations/systems.html",
        {"rows": rows.order_by("name"), "kinds": SystemKind.choices, "section": "systems"},
    )


def _form_page(request: HttpRequest, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(
        request, "integrations/system_form.html", {**ctx, "section": "systems"}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def system_create(request: AuthedRequest, kind: str) -> HttpResponse:
    user = request.user
    authz.require(user, Perm.INTEGRATIONS_MANAGE)
    if kind not in SystemKind.values:
        raise Http404(_("Unknown kind of system."))
    initial: dict[str, Any] = {}
    if kind == SystemKind.SCIM:
        initial["config"] = json.dumps({"match": "email", "filter_attribute": "userName"})
    form = SystemForm(request.POST or None, user=user, initial=initial)

    def create() -> ConnectedSystem:
        data = {**form.action_data(), "kind": kind}
        return system_actions.create_system(
            data, form.cleaned_data.get("secrets") or {}, acting_user=user
        )

    if request.method == "POST":
        system = _run(form, create)
        if system is not None:
            messages.success(
                request,
                _("System “%(name)s” saved. Test the connection to check it.")
                % {"name": system.name},
            )
            return redirect("integrations:system", pk=system.pk)
    title = _("New connected system: %(kind)s") % {"kind": SystemKind(kind).label}
    return _form_page(request, {"form": form, "title": title}, 400 if form.errors else 200)


def _detail_context(user: Any, system: ConnectedSystem) -> dict[str, Any]:
    return {
        "system": system,
        "tokens": system.tokens.filter(revoked_at__isnull=True).order_by("-created_at"),
        "token_form": TokenForm(),
        "calls": system.calls.order_by("-id")[:CALLS_SHOWN],
        "section": "systems",
    }


def _initial(system: ConnectedSystem) -> dict[str, Any]:
    return {
        "name": system.name,
        "legal_entity": system.legal_entity,
        "base_url": system.base_url,
        "internal": system.internal,
        "active": system.active,
        "revokes_access": system.revokes_access,
        "pulls_data": system.pulls_data,
        "transfers_customers": system.transfers_customers,
        "revoke_hour": system.revoke_hour,
        "delete_after_days": system.delete_after_days,
        "max_attempts": system.max_attempts,
        "config": yaml.safe_dump(system.config, allow_unicode=True, sort_keys=False)
        if system.config
        else "",
    }


@login_required
@require_http_methods(["GET", "POST"])
def system_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    system = selectors.system(user, pk)
    initial = _initial(system)
    form = SystemForm(request.POST or None, user=user, system=system, initial=initial)

    def save() -> ConnectedSystem:
        # New secrets go with the change: given together with a new address, they are kept.
        return system_actions.update_system(
            system, form.action_data(), form.cleaned_data.get("secrets"), acting_user=user
        )

    if request.method == "POST":
        done = _run(form, save)
        if done is not None:
            messages.success(request, _("System “%(name)s” saved.") % {"name": done.name})
            for notice in getattr(done, "notices", ()):
                messages.warning(request, notice)
            return redirect("integrations:system", pk=system.pk)
    ctx = {**_detail_context(user, system), "form": form, "title": system.name}
    return render(
        request, "integrations/system_detail.html", ctx, status=400 if form.errors else 200
    )


@login_required
@require_POST
def system_test(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    system = selectors.system(user, pk)
    ok, message = system_actions.test_system(system, acting_user=user)
    if ok:
        messages.success(request, _("Connection OK: %(message)s") % {"message": message})
    else:
        messages.error(request, _("The test failed: %(error)s") % {"error": message})
    return redirect("integrations:system", pk=system.pk)


@login_required
@require_POST
def token_issue(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    system = selectors.system(user, pk)
    form = TokenForm(request.POST)
    done = _run(
        form,
        lambda: system_tokens.issue_token(
            system, form.cleaned_data["name"], form.cleaned_data["scopes"], acting_user=user
        ),
    )
    if done is None:
        ctx = {**_detail_context(user, system), "token_form": form, "title": system.name}
        ctx["form"] = SystemForm(user=user, system=system, initial=_initial(system))
        return render(request, "integrations/system_detail.html", ctx, status=400)
    token, raw = done
    return render(
        request,
        "integrations/system_token.html",
        {"system": system, "token": token, "raw": raw, "section": "systems"},
    )


@login_required
@require_POST
def token_revoke(request: AuthedRequest, pk: int, token_id: int) -> HttpResponse:
    user = request.user
    system = selectors.system(user, pk)
    token = system.tokens.filter(pk=token_id).first()
    if token is None:
        raise Http404(_("Not found, or not visible to you."))
    system_tokens.revoke_token(token, acting_user=user)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("integrations:system", pk=system.pk)
