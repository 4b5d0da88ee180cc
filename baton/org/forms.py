"""Forms parse and validate input for the UI; the actions decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _

from baton.org.models import (
    Agreement,
    BusinessUnit,
    City,
    Contract,
    Department,
    Employee,
    Group,
    LegalEntity,
    LifecycleEvent,
    Position,
    PositionFamily,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: Any = None, format: str | None = None) -> None:
        # <input type="date"> takes ISO dates only, whatever the language's date format.
        super().__init__(attrs, format=format or "%Y-%m-%d")


class ActionForm(forms.ModelForm):
    """A ModelForm whose cleaned data is handed to an action as {field_attname: value}."""

    def action_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in self.fields:
            if name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            try:
                field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                data[name] = value
                continue
            if isinstance(field, models.ForeignKey):
                data[field.attname] = value.pk if value is not None else None
            elif isinstance(field, models.FileField):
                continue
            else:
                data[name] = value
        return data

    def changed_data_for_action(self) -> dict[str, Any]:
        data = self.action_data()
        changed = set(self.changed_data)
        return {k: v for k, v in data.items() if k.removesuffix("_id") in changed or k in changed}

    def _post_clean(self) -> None:
        # Model validation is the action's job (so the API gets the same); skip it here.
        pass


def _dates(*names: str) -> dict[str, forms.Widget]:
    return {n: DateInput() for n in names}


class EmployeeForm(ActionForm):
    # The manager is entered by employee number: a select of 100,000 people is unusable.
    manager_number = forms.CharField(
        label=_("Manager's employee number"), required=False, max_length=32
    )

    class Meta:
        model = Employee
        fields = [
            "name",
            "email",
            "phone",
            "legal_entity",
            "department",
            "position",
            "work_city",
            "hire_date",
            "status",
            "termination_date",
        ]
        widgets = _dates("hire_date", "termination_date")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        dept_field = self.fields["department"]
        assert isinstance(dept_field, forms.ModelChoiceField)
        dept_field.queryset = Department.objects.select_related("business_unit")
        if self.instance.pk is None:
            self.fields.pop("termination_date")
        elif self.instance.manager_id:
            self.initial["manager_number"] = self.instance.manager.employee_number

    def clean_manager_number(self) -> int | None:
        number = self.cleaned_data["manager_number"].strip()
        if not number:
            return None
        manager_id = (
            Employee.objects.filter(employee_number=number).values_list("id", flat=True).first()
        )
        if manager_id is None:
            raise forms.ValidationError(
                _("No employee has the number %(number)s."), params={"number": number}
            )
        return manager_id

    def action_data(self) -> dict[str, Any]:
        data = super().action_data()
        data["manager_id"] = data.pop("manager_number", None)
        return data

    def changed_data_for_action(self) -> dict[str, Any]:
        data = super().changed_data_for_action()
        if "manager_number" in self.changed_data:
            data["manager_id"] = self.cleaned_data["manager_number"]
        data.pop("manager_number", None)
        return data


class GroupForm(ActionForm):
    class Meta:
        model = Group
        fields = ["name", "employee_number_pattern"]
        help_texts = {
            "employee_number_pattern": _(
                "Placeholders: {group} {bu} {entity} {yyyy} {yy} and the sequence {seq} or "
                "{seq:05}. Applies to people hired from now on."
            )
        }


class BusinessUnitForm(ActionForm):
    class Meta:
        model = BusinessUnit
        fields = ["code", "name", "city"]


class LegalEntityForm(ActionForm):
    class Meta:
        model = LegalEntity
        fields = ["code", "name", "business_unit", "registration_number", "jurisdiction", "city"]


class DepartmentForm(ActionForm):
    class Meta:
        model = Department
        fields = ["business_unit", "parent", "code", "name"]


class CityForm(ActionForm):
    class Meta:
        model = City
        fields = ["code", "name", "name_en", "province", "jurisdiction", "time_zone"]


class PositionFamilyForm(ActionForm):
    class Meta:
        model = PositionFamily
        fields = ["code", "name"]


class PositionForm(ActionForm):
    class Meta:
        model = Position
        fields = ["code", "title", "family", "department"]


class ContractForm(ActionForm):
    class Meta:
        model = Contract
        fields = [
            "legal_entity",
            "contract_type",
            "start_date",
            "end_date",
            "probation_end_date",
            "signed_on",
            "sequence",
        ]
        widgets = _dates("start_date", "end_date", "probation_end_date", "signed_on")


class AgreementForm(ActionForm):
    class Meta:
        model = Agreement
        fields = ["agreement_type", "signed_on", "effective_until", "document"]
        widgets = _dates("signed_on", "effective_until")


class LifecycleEventForm(ActionForm):
    class Meta:
        model = LifecycleEvent
        fields = ["event_type", "effective_date", "note"]
        widgets = _dates("effective_date")
