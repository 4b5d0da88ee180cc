"""Forms for the exit-case and task UI. They parse and check the shape of the input (dates,
numbers, which employee a number names); the actions decide everything else and their
refusals are shown on the same forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from baton.access import authz
from baton.access.authz import Perm
from baton.handover.models import (
    Category,
    EvidenceKind,
    ExitType,
    HandoverTask,
    OwnerRole,
    ReceiverRule,
)
from baton.org.models import Employee, EmployeeStatus


class DateInput(forms.DateInput):
    """A native date picker; its value must be ISO (yyyy-mm-dd) whatever the language."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def _text(label: Any, *, required: bool = False, rows: int = 3, **kw: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=kw.pop("max_length", 2000),
        **kw,
    )


def _number_field(label: Any, *, required: bool = False, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=32,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono-input"}),
    )


def employee_by_number(number: str, *, user: Any = None) -> Employee:
    """The (not departed) employee with this number; with `user`, only among the people the
    user may see, so the form does not confirm that someone outside their scope exists."""
    qs = Employee.objects.exclude(status=EmployeeStatus.DEPARTED).filter(
        employee_number=number.strip()
    )
    if user is not None:
        qs = authz.visible_to(user, Perm.EMPLOYEE_VIEW, qs)
    emp = qs.select_related("department").first()
    if emp is None:
        raise forms.ValidationError(
            _("No current employee has the number %(number)s."),
            code="unknown_employee",
            params={"number": number.strip()},
        )
    return emp


class NumberLookupMixin:
    """Clean `*_number` fields into employees (or None when left empty)."""

    cleaned_data: dict[str, Any]

    def _employee(self, name: str, *, user: Any = None) -> Employee | None:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        return employee_by_number(raw, user=user)


# ---------------------------------------------------------------- opening a case


class ResignForm(forms.Form):
    """Self-service resignation: the employee gives notice."""

    desired_last_day = forms.DateField(
        label=_("Your desired last working day"),
        widget=DateInput,
        help_text=_(
            "Under the Labour Contract Law you give 30 days' written notice (3 days during "
            "probation); HR confirms the last working day."
        ),
    )
    reason = _text(_("Reason (optional)"), rows=4)


class OpenCaseForm(NumberLookupMixin, forms.Form):
    """HR or a manager opens a case for someone."""

    employee_number = _number_field(_("Employee number of the person leaving"), required=True)
    exit_type = forms.ChoiceField(label=_("Exit type"), choices=ExitType.choices)
    last_working_day = forms.DateField(label=_("Last working day"), widget=DateInput)
    reason = _text(_("Reason"), rows=3)
    successor_number = _number_field(
        _("Successor's employee number"),
        help_text=_("The default receiver of the handover items; empty: the manager."),
    )
    confidential = forms.BooleanField(
        label=_("Confidential pre-resignation handover"),
        required=False,
        help_text=_(
            "Hidden from the employee until HR reveals it; only those who may approve the exit "
            "and the task owners see it."
        ),
    )
    submit = forms.BooleanField(label=_("Submit for approval now"), required=False, initial=True)

    def __init__(self, *args: Any, user: Any, can_manage: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not can_manage:
            # Confidential handovers and employer-initiated terminations are HR's to open.
            del self.fields["confidential"]
            exit_type = self.fields["exit_type"]
            assert isinstance(exit_type, forms.ChoiceField)
            hr_only = ExitType.employer_initiated()
            exit_type.choices = [(v, lbl) for v, lbl in ExitType.choices if v not in hr_only]

    def clean_employee_number(self) -> Employee:
        return employee_by_number(self.cleaned_data["employee_number"], user=self.user)

    def clean_successor_number(self) -> Employee | None:
        return self._employee("successor_number")


# ---------------------------------------------------------------- case operations


class EmptyForm(forms.Form):
    """For operations without input: carries the action's refusal to the page."""


class ApproveForm(forms.Form):
    """Approval; asks for the receivers / owners of items whose rule is "ask at launch"."""

    def __init__(
        self, *args: Any, ask_items: Iterable[Mapping[str, Any]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["successor"] = _number_field(
            _("Successor's employee number"),
            help_text=_(
                "Receives the items whose receiver is the successor; empty: as set on "
                "the case, else the manager."
            ),
        )
        for item in ask_items:
            key, title = item["key"], item.get("title") or item["key"]
            if item.get("receiver_rule") == ReceiverRule.ASK:
                self.fields[f"receiver__{key}"] = _number_field(
                    _("Receiver of “%(title)s” (employee number)") % {"title": title}
                )
            if item.get("owner_role") == OwnerRole.ASK:
                self.fields[f"owner__{key}"] = _number_field(
                    _("Owner of “%(title)s” (employee number)") % {"title": title}
                )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in list(self.fields):
            raw = (data.get(name) or "").strip()
            if not raw:
                data[name] = None
                continue
            try:
                data[name] = employee_by_number(raw).pk
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return data

    def _picked(self, prefix: str) -> dict[str, int]:
        return {
            name.removeprefix(prefix): value
            for name, value in self.cleaned_data.items()
            if name.startswith(prefix) and value
        }

    def receivers(self) -> dict[str, int]:
        return self._picked("receiver__")

    def successor(self) -> Employee | None:
        pk = self.cleaned_data.get("successor")
        return Employee.objects.filter(pk=pk).first() if pk else None

    def owners(self) -> dict[str, int]:
        return self._picked("owner__")


class ReasonForm(forms.Form):
    # Whether a reason is required is the action's rule (cancel, waive); its message is shown.
    reason = _text(_("Reason"), rows=2, max_length=500)


class LastDayForm(forms.Form):
    last_working_day = forms.DateField(label=_("New last working day"), widget=DateInput)


class AddItemForm(NumberLookupMixin, forms.Form):
    title = forms.CharField(
        label=pgettext_lazy("checklist item", "Title"), max_length=200, required=False
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=Category.choices, initial=Category.BUSINESS
    )
    evidence_kind = forms.ChoiceField(
        label=_("Evidence required"), choices=EvidenceKind.choices, initial=EvidenceKind.SIGNOFF
    )
    acceptance_criteria = _text(_("Acceptance criteria"), rows=2)
    sub_items = _text(
        _("Sub-items"), rows=3, help_text=_("One per line (for a sub-item checklist).")
    )
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=DateInput,
        help_text=_("Empty: the last working day."),
    )
    owner_number = _number_field(_("Owner (employee number)"), help_text=_("Empty: the leaver."))
    receiver_number = _number_field(_("Receiver (employee number)"))
    blocks_clearance = forms.BooleanField(label=_("Blocks clearance"), required=False, initial=True)

    def clean_owner_number(self) -> Employee | None:
        return self._employee("owner_number")

    def clean_receiver_number(self) -> Employee | None:
        return self._employee("receiver_number")

    def action_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        owner, receiver = d.get("owner_number"), d.get("receiver_number")
        return {
            "title": d.get("title", ""),
            "category": d.get("category"),
            "evidence_kind": d.get("evidence_kind"),
            "acceptance_criteria": d.get("acceptance_criteria", ""),
            "sub_items": [s.strip() for s in d.get("sub_items", "").splitlines() if s.strip()],
            "due_date": d.get("due_date"),
            "owner_id": owner.pk if owner else None,
            "receiver_id": receiver.pk if receiver else None,
            "blocks_clearance": bool(d.get("blocks_clearance")),
        }


class TaskChoiceForm(forms.Form):
    """A form about one of the case's tasks (chosen on the case page, fixed on the task page)."""

    task = forms.TypedChoiceField(label=_("Item"), coerce=int)

    def __init__(self, *args: Any, tasks: Iterable[HandoverTask] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["task"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(t.pk, t.title) for t in tasks]


class WaiveForm(TaskChoiceForm):
    reason = _text(_("Why is it waived?"), rows=2, max_length=500)


class ReassignForm(NumberLookupMixin, TaskChoiceForm):
    owner_number = _number_field(_("New owner (employee number)"))
    receiver_number = _number_field(_("New receiver (employee number)"))
    approver_number = _number_field(_("New approver (employee number)"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("owner_number", "receiver_number", "approver_number"):
            if name in self.errors:
                continue
            try:
                emp = self._employee(name)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
                continue
            data[name.replace("_number", "_id")] = emp.pk if emp else None
        if not self.errors and not any(
            data.get(k) for k in ("owner_id", "receiver_id", "approver_id")
        ):
            raise forms.ValidationError(_("Give at least one new owner, receiver or approver."))
        return data


# ---------------------------------------------------------------- task work


class SubItemsForm(forms.Form):
    done = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, task: HandoverTask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["done"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(i, s.get("label", "")) for i, s in enumerate(task.sub_items)]


class NoteForm(forms.Form):
    note = _text(_("Handover note"), rows=6, max_length=20000)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    reusable = forms.BooleanField(
        label=_("Reusable for the next holder of the position"),
        required=False,
        help_text=_("Once accepted, the file goes into the position's knowledge map."),
    )
    note = forms.CharField(label=_("Note on the file"), required=False, max_length=500)


class ConfirmationForm(forms.Form):
    recipient_name = forms.CharField(label=_("Recipient"), max_length=200, required=False)
    recipient_email = forms.EmailField(label=_("Recipient email"), required=False)
    statement = _text(
        _("What they confirm"),
        rows=3,
        help_text=_("E.g. “From 1 March our contact person for your account is Wang Wu.”"),
    )
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"),
        initial=14,
        widget=forms.NumberInput(attrs={"min": 1, "max": 60}),
    )


class DecisionForm(forms.Form):
    comment = _text(
        _("Comment"), rows=2, help_text=_("Required when rejecting: say what is missing.")
    )


class AnswerForm(forms.Form):
    """The outside party's answer on the public confirmation page."""

    answer = forms.ChoiceField(choices=[("yes", "yes"), ("no", "no")])
    note = _text(_("Note (optional)"), rows=3)
