"""Forms for the notification pages. They parse the input; `baton.notify.actions` decides and
writes, and its refusals land on these forms (field errors next to their fields)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from baton.handover.models import ChecklistTemplate
from baton.notify.channels import adapter_for
from baton.notify.models import (
    FAMILY_OF_KIND,
    Audience,
    Channel,
    ChannelKind,
    DeliveryKind,
    DeliveryStatus,
    Family,
    Mode,
    ReminderRule,
    Repeat,
)
from baton.org.models import BusinessUnit

# The families a user may switch off (in-app is always on).
CHOOSABLE = (Family.EMAIL, Family.SMS, Family.IM)


# ---------------------------------------------------------------- the user's own channels


class OptionCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes of which some options are shown ticked and cannot be changed."""

    def __init__(self, *args: Any, locked: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locked = set(locked)

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.locked:
            option["attrs"] = {**option["attrs"], "disabled": True, "checked": True}
        return option


class PreferencesForm(forms.Form):
    """The channels a user wants, within what the organisation allows."""

    enabled = forms.MultipleChoiceField(
        label=_("Send me reminders by"),
        required=False,
        choices=[(f.value, f.label) for f in CHOOSABLE],
    )
    # The channels the page showed as required (their boxes are disabled, so the browser does
    # not send them): they are not switched off. A channel made mandatory after the page was
    # shown is refused by the action, with its name.
    mandatory_shown = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, mandatory: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mandatory = sorted(set(mandatory))
        field = self.fields["enabled"]
        field.widget = OptionCheckboxes(locked=self.mandatory, choices=field.choices)  # type: ignore[attr-defined]
        self.initial.setdefault("mandatory_shown", ",".join(self.mandatory))

    def disabled_families(self) -> list[str]:
        """The families to switch off (what `actions.set_preferences` takes)."""
        enabled = set(self.cleaned_data["enabled"])
        shown = {v for v in self.cleaned_data["mandatory_shown"].split(",") if v}
        return [f.value for f in CHOOSABLE if f.value not in enabled and f.value not in shown]


# ---------------------------------------------------------------- channels

# Labels of the provider settings and secrets (the adapters name them in code).
SETTING_LABELS: dict[str, Any] = {
    "host": _("SMTP server"),
    "port": _("Port"),
    "from_email": _("From address"),
    "username": _("User name"),
    "security": _("Connection security"),
    "password": _("Password"),
    "url": _("Webhook address"),
    "key": _("Robot key"),
    "access_token": _("Access token"),
    "sign_secret": _("Signing secret"),
    "endpoint": _("API endpoint"),
    "access_key_id": _("AccessKey ID"),
    "access_key_secret": _("AccessKey secret"),
    "sign_name": _("SMS signature"),
    "template_code": _("SMS template code"),
    "region_id": _("Region"),
    "region": _("Region"),
    "secret_id": _("SecretId"),
    "secret_key": _("SecretKey"),
    "sdk_app_id": _("SMS SdkAppId"),
    "template_id": _("SMS template ID"),
}
SECURITY_CHOICES = [
    ("none", _("None (plain SMTP)")),
    ("starttls", _("STARTTLS")),
    ("ssl", _("SSL/TLS")),
]
NUMBER_SETTINGS = frozenset({"port"})
CHANNEL_BASE_FIELDS = ("name", "business_unit", "enabled", "mandatory", "quiet_start", "quiet_end")


def provider_fields(kind: str) -> tuple[list[str], list[str], list[str]]:
    """(settings, secrets, required names) of a provider kind."""
    adapter = adapter_for(kind)
    settings = [*adapter.setting_fields, *getattr(adapter, "optional_fields", ())]
    secrets = [*adapter.secret_fields, *getattr(adapter, "optional_secrets", ())]
    required = [*adapter.setting_fields, *adapter.secret_fields]
    return settings, secrets, required


def _label(name: str) -> Any:
    return SETTING_LABELS.get(name, name.replace("_", " ").capitalize())


class ChannelForm(forms.Form):
    """A channel of one provider kind: its place, switches, quiet hours, provider settings
    (named as the adapter names them, so the action's field errors land on them) and secrets
    (write-only: an empty input keeps the stored value)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    business_unit = forms.ModelChoiceField(
        label=_("Business unit"),
        queryset=BusinessUnit.objects.none(),
        required=False,
        empty_label=_("The whole group"),
        help_text=_("Empty: the whole group. A business unit's own channel wins over the group's."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    mandatory = forms.BooleanField(
        label=_("Mandatory"),
        required=False,
        help_text=_("Users cannot switch this channel off."),
    )
    quiet_start = forms.TimeField(
        label=_("Quiet hours from"),
        initial=dt.time(21, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("SMS and robot messages wait until the quiet hours end (recipient's time)."),
    )
    quiet_end = forms.TimeField(
        label=_("Quiet hours until"),
        initial=dt.time(8, 30),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    internal = forms.BooleanField(
        label=_("Internal addresses allowed"),
        required=False,
        help_text=_(
            "Allow a private or local address (e.g. the company's own SMTP relay). Only "
            "group administrators may set this."
        ),
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        business_units: Any,
        channel: Channel | None = None,
        secrets_set: Iterable[str] = (),
        allow_internal: bool = False,
        **kwargs: Any,
    ) -> None:
        if channel is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": channel.name,
                    "business_unit": channel.business_unit_id,
                    "enabled": channel.enabled,
                    "mandatory": channel.mandatory,
                    "quiet_start": channel.quiet_start,
                    "quiet_end": channel.quiet_end,
                    "internal": channel.internal,
                    **(channel.settings or {}),
                },
            )
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.channel = channel
        # Only group administrators see (and may set) the internal switch.
        self.base_names = [*CHANNEL_BASE_FIELDS, *(["internal"] if allow_internal else [])]
        if not allow_internal:
            del self.fields["internal"]
        bu = self.fields["business_unit"]
        assert isinstance(bu, forms.ModelChoiceField)
        bu.queryset = business_units
        if channel is not None:
            # A channel stays where it was created.
            bu.disabled = True
        adapter = adapter_for(kind)
        self.setting_names, self.secret_names, required = provider_fields(kind)
        defaults = getattr(adapter, "defaults", {})
        stored = set(secrets_set)
        for name in self.setting_names:
            field: forms.Field
            if name in NUMBER_SETTINGS:
                field = forms.IntegerField(required=False, min_value=1, max_value=65535)
            elif name == "security" and kind == ChannelKind.EMAIL:
                field = forms.ChoiceField(required=False, choices=SECURITY_CHOICES)
            else:
                field = forms.CharField(required=False, max_length=500)
            field.label = _label(name)
            setattr(field, "marked_required", name in required)  # noqa: B010
            if name in defaults:
                field.help_text = _("Default: %(value)s") % {"value": defaults[name]}
            self.fields[name] = field
        for name in self.secret_names:
            field = forms.CharField(
                required=False,
                max_length=500,
                strip=False,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                label=_label(name),
            )
            setattr(field, "marked_required", name in required)  # noqa: B010
            if channel is not None:
                field.help_text = (
                    _("Set. Leave empty to keep it; type a new value to replace it.")
                    if name in stored
                    else _("Not set.")
                )
            self.fields[name] = field
        self.secrets_set = sorted(stored)

    @property
    def family(self) -> str:
        return FAMILY_OF_KIND[ChannelKind(self.kind)]

    def base_fields_bound(self) -> list[forms.BoundField]:
        return [self[n] for n in self.base_names]

    def _internal(self) -> dict[str, Any]:
        return {"internal": self.cleaned_data["internal"]} if "internal" in self.fields else {}

    def setting_fields_bound(self) -> list[forms.BoundField]:
        return [self[n] for n in self.setting_names]

    def secret_fields_bound(self) -> list[forms.BoundField]:
        return [self[n] for n in self.secret_names]

    def settings_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        out: dict[str, Any] = {}
        for name in self.setting_names:
            value = d.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            out[name] = value
        return out

    def secrets_data(self) -> dict[str, str]:
        """Only the secrets typed in (an empty input keeps the stored value)."""
        return {n: self.cleaned_data[n] for n in self.secret_names if self.cleaned_data.get(n)}

    def create_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        bu = d.get("business_unit")
        return {
            "name": d["name"].strip(),
            "kind": self.kind,
            "business_unit_id": bu.pk if bu is not None else None,
            "enabled": d["enabled"],
            "mandatory": d["mandatory"],
            "quiet_start": d["quiet_start"],
            "quiet_end": d["quiet_end"],
            "settings": self.settings_data(),
            **self._internal(),
        }

    def update_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "name": d["name"].strip(),
            "enabled": d["enabled"],
            "mandatory": d["mandatory"],
            "quiet_start": d["quiet_start"],
            "quiet_end": d["quiet_end"],
            "settings": self.settings_data(),
            **self._internal(),
        }


# ---------------------------------------------------------------- reminder rules


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class RuleForm(forms.Form):
    """A reminder rule. Its checklist and item are fixed once it exists."""

    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Optional: without a name the rule is described in words."),
    )
    template = TemplateChoiceField(
        label=_("Checklist"),
        queryset=ChecklistTemplate.objects.none(),
        required=False,
        empty_label=_("Group default (every checklist without rules of its own)"),
    )
    item_key = forms.SlugField(
        label=_("Item key"),
        max_length=64,
        required=False,
        help_text=_("Only for one item of the checklist; empty for all of its items."),
    )
    offset = forms.IntegerField(
        label=_("Working days from the due date"),
        min_value=-30,
        max_value=60,
        help_text=_("Negative: before the due date; 0: on it; 1 or more: overdue."),
    )
    repeat = forms.ChoiceField(label=_("Repeat"), choices=Repeat.choices)
    audience = forms.ChoiceField(
        label=pgettext_lazy("reminder rule", "To"), choices=Audience.choices
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=Family.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    mode = forms.ChoiceField(label=_("How"), choices=Mode.choices)
    escalation = forms.BooleanField(
        label=_("Escalation"),
        required=False,
        help_text=_("Carries the case's unfinished-items report."),
    )
    is_active = forms.BooleanField(
        label=pgettext_lazy("reminder rule", "Active"), required=False, initial=True
    )

    def __init__(self, *args: Any, rule: ReminderRule | None = None, **kwargs: Any) -> None:
        if rule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": rule.name,
                    "template": rule.template_id,
                    "item_key": rule.item_key,
                    "offset": rule.offset,
                    "repeat": rule.repeat,
                    "audience": rule.audience,
                    "channels": list(rule.channels),
                    "mode": rule.mode,
                    "escalation": rule.escalation,
                    "is_active": rule.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        template = self.fields["template"]
        assert isinstance(template, forms.ModelChoiceField)
        template.queryset = ChecklistTemplate.objects.order_by("name", "id")
        if rule is not None:
            template.disabled = True
            self.fields["item_key"].disabled = True

    def create_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        template = d.get("template")
        return {
            "name": d["name"].strip(),
            "template_id": template.pk if template is not None else None,
            "item_key": d.get("item_key") or "",
            **self.update_data(),
        }

    def update_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "name": d["name"].strip(),
            "offset": d["offset"],
            "repeat": d["repeat"],
            "audience": d["audience"],
            "channels": list(d["channels"]),
            "mode": d["mode"],
            "escalation": d["escalation"],
            "is_active": d["is_active"],
        }


# ---------------------------------------------------------------- the delivery log


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *DeliveryStatus.choices]
    )
    family = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Family.choices]
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All")), *DeliveryKind.choices]
    )
    case = forms.IntegerField(label=_("Case no."), required=False, min_value=1)

    def filters(self) -> Mapping[str, Any]:
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        out: dict[str, Any] = {}
        for name in ("status", "family", "kind"):
            if d.get(name):
                out[name] = d[name]
        if d.get("case"):
            out["case_id"] = d["case"]
        return out
