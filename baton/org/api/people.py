"""/api/org: people — employees, their contracts, agreements and lifecycle events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema

from baton.access.authz import Perm
from baton.core.api_crud import register
from baton.org import actions
from baton.org.models import (
    Agreement,
    AgreementType,
    Contract,
    ContractType,
    Department,
    Employee,
    EmployeeStatus,
    LifecycleEvent,
    LifecycleEventType,
)

router = Router()


class Ref(Schema):
    id: int
    name: str


class EmployeeOut(Schema):
    id: int
    employee_number: str
    name: str
    email: str
    phone: str
    status: EmployeeStatus
    hire_date: dt.date
    termination_date: dt.date | None
    business_unit: Ref
    legal_entity: Ref
    department: Ref
    position_id: int
    position_title: str = Field(..., alias="position.title")
    manager_id: int | None
    work_city_id: int


class EmployeeIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str = Field("", max_length=32)
    legal_entity_id: int
    department_id: int
    position_id: int
    manager_id: int | None = None
    work_city_id: int
    hire_date: dt.date
    status: EmployeeStatus = EmployeeStatus.ACTIVE
    employee_number: str | None = Field(None, max_length=32)

    def model_dump(self, **kw: Any) -> dict[str, Any]:
        data = super().model_dump(**kw)
        if data.get("email") is None and "email" in data:
            data["email"] = ""
        if "employee_number" in data and not data["employee_number"]:
            data.pop("employee_number")
        return data


class EmployeePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    legal_entity_id: int | None = None
    department_id: int | None = None
    position_id: int | None = None
    manager_id: int | None = None
    work_city_id: int | None = None
    hire_date: dt.date | None = None
    status: EmployeeStatus | None = None
    termination_date: dt.date | None = None


def employee_queryset() -> QuerySet[Employee]:
    return Employee.objects.select_related(
        "business_unit", "legal_entity", "department", "position"
    )


def employee_filters(qs: QuerySet[Any], request: HttpRequest) -> QuerySet[Any]:
    """?q= (name, number, email prefix) &department= (subtree) &business_unit= &status=
    (records merged into another never listed)"""
    g = request.GET
    # A record merged into another is the same person: lists show the survivor only.
    qs = qs.filter(merged_into__isnull=True)
    if q := g.get("q", "").strip():
        qs = qs.filter(
            Q(name__startswith=q) | Q(employee_number__startswith=q) | Q(email__istartswith=q)
        )
    if (dept := g.get("department", "")).isdigit():
        path = Department.objects.filter(pk=dept).values_list("path", flat=True).first() or "-"
        qs = qs.filter(department__path__startswith=path)
    if (bu := g.get("business_unit", "")).isdigit():
        qs = qs.filter(business_unit_id=bu)
    if (status := g.get("status", "")) in EmployeeStatus.values:
        qs = qs.filter(status=status)
    return qs


register(
    router,
    path="employees",
    name="employees",
    model=Employee,
    out=EmployeeOut,
    create_in=EmployeeIn,
    patch_in=EmployeePatch,
    view_perm=Perm.EMPLOYEE_VIEW,
    change_perm=Perm.EMPLOYEE_CHANGE,
    base_qs=employee_queryset,
    create=actions.create_employee,
    update=actions.update_employee,
    filters=employee_filters,
)


def _by_employee(qs: QuerySet[Any], request: HttpRequest) -> QuerySet[Any]:
    emp = request.GET.get("employee", "")
    return qs.filter(employee_id=emp) if emp.isdigit() else qs


class ContractOut(Schema):
    id: int
    employee_id: int
    legal_entity_id: int
    contract_type: ContractType
    start_date: dt.date
    end_date: dt.date | None
    probation_end_date: dt.date | None
    signed_on: dt.date | None
    sequence: int


class ContractIn(Schema):
    employee_id: int
    legal_entity_id: int
    contract_type: ContractType
    start_date: dt.date
    end_date: dt.date | None = None
    probation_end_date: dt.date | None = None
    signed_on: dt.date | None = None
    sequence: int = Field(1, ge=1, le=99)


class ContractPatch(Schema):
    legal_entity_id: int | None = None
    contract_type: ContractType | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    probation_end_date: dt.date | None = None
    signed_on: dt.date | None = None
    sequence: int | None = Field(None, ge=1, le=99)


register(
    router,
    path="contracts",
    name="contracts",
    model=Contract,
    out=ContractOut,
    create_in=ContractIn,
    patch_in=ContractPatch,
    view_perm=Perm.RECORDS_VIEW,
    change_perm=Perm.RECORDS_CHANGE,
    base_qs=Contract.objects.all,
    create=actions.create_contract,
    update=actions.update_contract,
    filters=_by_employee,
)


class AgreementOut(Schema):
    id: int
    employee_id: int
    agreement_type: AgreementType
    signed_on: dt.date
    effective_until: dt.date | None
    terms: dict[str, Any]
    has_document: bool = Field(False)
    document_sha256: str

    @staticmethod
    def resolve_has_document(obj: Agreement) -> bool:
        return bool(obj.document)


class AgreementIn(Schema):
    employee_id: int
    agreement_type: AgreementType
    signed_on: dt.date
    effective_until: dt.date | None = None
    terms: dict[str, Any] = Field(default_factory=dict)


class AgreementPatch(Schema):
    agreement_type: AgreementType | None = None
    signed_on: dt.date | None = None
    effective_until: dt.date | None = None
    terms: dict[str, Any] | None = None


register(
    router,
    path="agreements",
    name="agreements",
    model=Agreement,
    out=AgreementOut,
    create_in=AgreementIn,
    patch_in=AgreementPatch,
    view_perm=Perm.RECORDS_VIEW,
    change_perm=Perm.RECORDS_CHANGE,
    base_qs=Agreement.objects.all,
    create=actions.create_agreement,
    update=actions.update_agreement,
    filters=_by_employee,
)


class LifecycleEventOut(Schema):
    id: int
    employee_id: int
    event_type: LifecycleEventType
    effective_date: dt.date
    details: dict[str, Any]
    note: str


class LifecycleEventIn(Schema):
    employee_id: int
    event_type: LifecycleEventType
    effective_date: dt.date
    details: dict[str, Any] = Field(default_factory=dict)
    note: str = Field("", max_length=500)


register(
    router,
    path="lifecycle-events",
    name="lifecycle_events",
    model=LifecycleEvent,
    out=LifecycleEventOut,
    create_in=LifecycleEventIn,
    patch_in=None,
    view_perm=Perm.RECORDS_VIEW,
    change_perm=Perm.RECORDS_CHANGE,
    base_qs=LifecycleEvent.objects.all,
    create=actions.record_lifecycle_event,
    filters=_by_employee,
)
