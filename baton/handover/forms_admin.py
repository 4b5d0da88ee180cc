"""Forms for checklist templates, their items and proposed changes. They parse the input; the
actions in `baton.handover.actions` decide and write (their refusals land on these forms)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from baton.access.models import User
from baton.handover.models import (
    ApproverRole,
    Category,
    ChecklistTemplate,
    EvidenceKind,
    OwnerRole,
    ReceiverRule,
)
from baton.org.forms import ActionForm
from baton.org.models import Department, Position


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.business_unit.name}"


class TemplateForm(ActionForm):
    """A checklist's name and where it applies (its binding)."""

    class Meta:
        model = ChecklistTemplate
        field_classes = {"department": DepartmentChoiceField}
        fields = [
            "name",
            "parent",
            "position",
            "position_family",
            "department",
            "business_unit",
            "legal_entity",
            "exit_type",
            "is_active",
        ]
        help_texts = {
            "parent": _("Its items are inherited; this checklist adds, replaces or removes them."),
            "exit_type": _("Leave empty to apply to every kind of exit."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ModelChoiceField)
        parents = ChecklistTemplate.objects.all()
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        parent.queryset = parents
        position = self.fields["position"]
        assert isinstance(position, forms.ModelChoiceField)
        position.queryset = Position.objects.filter(is_active=True)
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)
        department.queryset = Department.objects.filter(is_active=True).select_related(
            "business_unit"
        )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class ItemForm(forms.Form):
    """One checklist item. Named owners and approvers are entered by username."""

    key = forms.SlugField(
        label=_("Key"),
        max_length=64,
        help_text=_(
            "Stable identifier (letters, digits, hyphens); an item with the key of an "
            "inherited one replaces it."
        ),
    )
    title = forms.CharField(
        label=pgettext_lazy("checklist item", "Title"), max_length=200, required=False
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    owner_role = forms.ChoiceField(label=_("Owner"), choices=OwnerRole.choices)
    owner_username = forms.CharField(
        label=_("Named owner (username)"),
        max_length=150,
        required=False,
        help_text=_("Only when the owner is a named person."),
    )
    receiver_rule = forms.ChoiceField(label=_("Receiver"), choices=ReceiverRule.choices)
    approver_role = forms.ChoiceField(label=_("Approver"), choices=ApproverRole.choices)
    approver_username = forms.CharField(
        label=_("Named approver (username)"),
        max_length=150,
        required=False,
        help_text=_("Only when the approver is a named person."),
    )
    due_offset = forms.IntegerField(
        label=_("Due (working days from the last working day)"),
        initial=-3,
        help_text=_("Negative: before the last working day; positive: after it."),
    )
    acceptance_criteria = forms.CharField(
        label=_("Acceptance criteria"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    evidence_kind = forms.ChoiceField(label=_("Evidence required"), choices=EvidenceKind.choices)
    sub_items = forms.CharField(
        label=_("Sub-items"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line; needed when the evidence is a sub-item checklist."),
    )
    blocks_clearance = forms.BooleanField(label=_("Blocks clearance"), required=False, initial=True)
    reusable = forms.BooleanField(
        label=_("Feeds the position knowledge map"), required=False, initial=False
    )
    sort = forms.IntegerField(label=_("Order in the list"), required=False, min_value=0)

    def __init__(
        self,
        *args: Any,
        key: str | None = None,
        taken_keys: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_key = key
        self.taken_keys = set(taken_keys)
        if key is not None:
            self.fields["key"].disabled = True
            self.fields["key"].required = False
            self.initial["key"] = key

    @classmethod
    def initial_from(cls, item: Mapping[str, Any]) -> dict[str, Any]:
        """Initial values from an item dict (a TemplateItem's fields, or an inherited item)."""
        initial = {k: item.get(k) for k in cls.base_fields if k in item}
        initial["sub_items"] = "\n".join(item.get("sub_items") or [])
        ids = [i for i in (item.get("owner_user_id"), item.get("approver_user_id")) if i]
        names = dict(User.objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}
        initial["owner_username"] = names.get(item.get("owner_user_id") or 0, "")
        initial["approver_username"] = names.get(item.get("approver_user_id") or 0, "")
        return initial

    def clean_key(self) -> str:
        if self.fixed_key is not None:
            return self.fixed_key
        key: str = self.cleaned_data["key"]
        if key in self.taken_keys:
            raise forms.ValidationError(
                _("This checklist already has an item with this key; edit that item instead.")
            )
        return key

    def _user_id(self, name: str) -> int | None:
        username = self.cleaned_data.get(name, "").strip()
        if not username:
            return None
        pk = User.objects.filter(username__iexact=username).values_list("pk", flat=True).first()
        if pk is None:
            raise forms.ValidationError(
                _("Nobody signs in as %(username)s."), params={"username": username}
            )
        return pk

    def clean_owner_username(self) -> int | None:
        return self._user_id("owner_username")

    def clean_approver_username(self) -> int | None:
        return self._user_id("approver_username")

    def action_data(self) -> dict[str, Any]:
        """The item as `actions.save_template_item` takes it (without the key)."""
        d = self.cleaned_data
        data: dict[str, Any] = {
            "title": d["title"].strip(),
            "category": d["category"],
            "owner_role": d["owner_role"],
            "owner_user_id": d["owner_username"] if d["owner_role"] == OwnerRole.USER else None,
            "receiver_rule": d["receiver_rule"],
            "approver_role": d["approver_role"],
            "approver_user_id": (
                d["approver_username"] if d["approver_role"] == ApproverRole.USER else None
            ),
            "due_offset": d["due_offset"],
            "acceptance_criteria": d["acceptance_criteria"].strip(),
            "evidence_kind": d["evidence_kind"],
            "sub_items": _lines(d["sub_items"]),
            "blocks_clearance": d["blocks_clearance"],
            "reusable": d["reusable"],
            "removed": False,
        }
        if d.get("sort") is not None:
            data["sort"] = d["sort"]
        return data


class ProposalForm(ItemForm):
    """A proposed change to one item, applied only when HR approves it."""

    remove = forms.BooleanField(
        label=_("Propose removing this item"),
        required=False,
        help_text=_("The other fields are then ignored."),
    )
    reason = forms.CharField(
        label=_("Why"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A proposal may be about any key: a new item, or one the checklist already has.
        self.taken_keys = set()
        self.fields["key"].help_text = _(
            "The key of the item to change, or a new key for a new item."
        )

    def proposal(self) -> dict[str, Any]:
        key = self.cleaned_data["key"]
        if self.cleaned_data["remove"]:
            return {"key": key, "removed": True}
        return {"key": key, **self.action_data()}


class PublishForm(forms.Form):
    note = forms.CharField(label=_("What changed"), max_length=500, required=False)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
