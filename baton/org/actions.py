"""Every change to organisation master data. Called by the UI, the API, imports and tasks alike.

Each action is one transaction: it checks the acting user's scope, validates, writes, and writes
its audit entry; on any error nothing is written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as base
from baton.core.errors import InvalidInput
from baton.org.models import (
    Agreement,
    BusinessUnit,
    City,
    Contract,
    Department,
    Employee,
    EmployeeNumberSequence,
    Group,
    LegalEntity,
    LifecycleEvent,
    Position,
    PositionFamily,
)

# ---------------------------------------------------------------- group and structure


def _group_id() -> int:
    """Baton serves one group per installation."""
    group_id = Group.objects.values_list("id", flat=True).first()
    if group_id is None:
        raise InvalidInput(_("Set up the group first (baton demo, or an import)."))
    return group_id


@transaction.atomic
def update_group(group: Group, data: Mapping[str, Any], *, acting_user: Any) -> Group:
    authz.require(acting_user, Perm.ORG_MANAGE)
    if "employee_number_pattern" in data:
        validate_number_pattern(data["employee_number_pattern"])
    return base.update(
        group,
        data,
        acting_user=acting_user,
        event=E.GROUP_UPDATED,
        allowed={"name", "employee_number_pattern"},
    )


@transaction.atomic
def create_city(data: Mapping[str, Any], *, acting_user: Any) -> City:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.create(City, data, acting_user=acting_user, event=E.CITY_CREATED)


@transaction.atomic
def update_city(city: City, data: Mapping[str, Any], *, acting_user: Any) -> City:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.update(
        city,
        data,
        acting_user=acting_user,
        event=E.CITY_UPDATED,
        allowed={"name", "name_en", "province", "jurisdiction", "time_zone"},
    )


@transaction.atomic
def create_business_unit(data: Mapping[str, Any], *, acting_user: Any) -> BusinessUnit:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.create(
        BusinessUnit,
        {"group_id": _group_id(), **data},
        acting_user=acting_user,
        event=E.BUSINESS_UNIT_CREATED,
    )


@transaction.atomic
def update_business_unit(
    bu: BusinessUnit, data: Mapping[str, Any], *, acting_user: Any
) -> BusinessUnit:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.update(
        bu,
        data,
        acting_user=acting_user,
        event=E.BUSINESS_UNIT_UPDATED,
        allowed={"name", "city_id", "is_active"},
    )


@transaction.atomic
def create_legal_entity(data: Mapping[str, Any], *, acting_user: Any) -> LegalEntity:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.create(
        LegalEntity,
        {"group_id": _group_id(), **data},
        acting_user=acting_user,
        event=E.LEGAL_ENTITY_CREATED,
    )


@transaction.atomic
def update_legal_entity(
    entity: LegalEntity, data: Mapping[str, Any], *, acting_user: Any
) -> LegalEntity:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.update(
        entity,
        data,
        acting_user=acting_user,
        event=E.LEGAL_ENTITY_UPDATED,
        allowed={
            "name",
            "business_unit_id",
            "registration_number",
            "jurisdiction",
            "city_id",
            "is_active",
        },
    )


def _department_path(parent: Department | None, own_id: int) -> str:
    return f"{parent.path if parent else '/'}{own_id}/"


@transaction.atomic
def create_department(data: Mapping[str, Any], *, acting_user: Any) -> Department:
    authz.require(acting_user, Perm.ORG_MANAGE)
    parent = _parent(data)
    if parent is not None and parent.business_unit_id != data.get("business_unit_id"):
        raise InvalidInput.field("parent", _("The parent department is in another business unit."))
    dept = base.create(Department, data, acting_user=acting_user, event=E.DEPARTMENT_CREATED)
    dept.path = _department_path(parent, dept.pk)
    dept.save(update_fields=["path"])
    return dept


def _parent(data: Mapping[str, Any]) -> Department | None:
    parent_id = data.get("parent_id")
    if not parent_id:
        return None
    parent = Department.objects.filter(pk=parent_id).first()
    if parent is None:
        raise InvalidInput.field("parent", _("Unknown parent department."))
    return parent


@transaction.atomic
def update_department(dept: Department, data: Mapping[str, Any], *, acting_user: Any) -> Department:
    """Rename, re-head or move a department. Moving rewrites the paths of its whole subtree."""
    authz.require(acting_user, Perm.ORG_MANAGE)
    old_path = dept.path
    moving = "parent_id" in data and data["parent_id"] != dept.parent_id
    if moving:
        parent = _parent(data)
        if parent is not None and parent.path.startswith(old_path):
            raise InvalidInput.field(
                "parent", _("A department cannot be moved under its own subtree.")
            )
        if parent is not None and parent.business_unit_id != dept.business_unit_id:
            raise InvalidInput.field(
                "parent", _("The parent department is in another business unit.")
            )
    dept = base.update(
        dept,
        data,
        acting_user=acting_user,
        event=E.DEPARTMENT_UPDATED,
        allowed={"name", "head_id", "parent_id", "is_active"},
    )
    if moving:
        new_path = _department_path(dept.parent, dept.pk)
        subtree = list(Department.objects.select_for_update().filter(path__startswith=old_path))
        for d in subtree:
            d.path = new_path + d.path[len(old_path) :]
        Department.objects.bulk_update(subtree, ["path"])
        trail.record(
            E.DEPARTMENT_MOVED,
            actor=acting_user,
            subject=dept,
            changes={"path": (old_path, new_path)},
            extra={"subtree_size": len(subtree)},
        )
    return dept


@transaction.atomic
def create_position_family(data: Mapping[str, Any], *, acting_user: Any) -> PositionFamily:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.create(
        PositionFamily, data, acting_user=acting_user, event=E.POSITION_FAMILY_CREATED
    )


@transaction.atomic
def create_position(data: Mapping[str, Any], *, acting_user: Any) -> Position:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.create(Position, data, acting_user=acting_user, event=E.POSITION_CREATED)


@transaction.atomic
def update_position(position: Position, data: Mapping[str, Any], *, acting_user: Any) -> Position:
    authz.require(acting_user, Perm.ORG_MANAGE)
    return base.update(
        position,
        data,
        acting_user=acting_user,
        event=E.POSITION_UPDATED,
        allowed={"title", "family_id", "department_id", "is_active"},
    )


# ---------------------------------------------------------------- employee numbers

_PATTERN_TOKEN = re.compile(r"\{(group|bu|entity|yyyy|yy|seq(?::0?(\d+))?)\}")


def validate_number_pattern(pattern: str) -> None:
    leftovers = _PATTERN_TOKEN.sub("", pattern)
    if "{" in leftovers or "}" in leftovers:
        raise InvalidInput.field(
            "employee_number_pattern",
            _(
                "Unknown placeholder. Use {group}, {bu}, {entity}, {yyyy}, {yy} "
                "and {seq} or {seq:05}."
            ),
        )
    if not re.search(r"\{seq(?::0?\d+)?\}", pattern):
        raise InvalidInput.field(
            "employee_number_pattern", _("The pattern needs a {seq} placeholder to stay unique.")
        )


def number_prefix(group: Group, bu: BusinessUnit, entity: LegalEntity, hire_year: int) -> str:
    """The pattern with everything but the sequence filled in; sequences run per prefix."""
    values = {
        "group": group.code,
        "bu": bu.code,
        "entity": entity.code,
        "yyyy": f"{hire_year:04d}",
        "yy": f"{hire_year % 100:02d}",
    }

    def fill(m: re.Match[str]) -> str:
        return m.group(0) if m.group(1).startswith("seq") else values[m.group(1)]

    return _PATTERN_TOKEN.sub(fill, group.employee_number_pattern)


def allocate_numbers(group: Group, prefix: str, count: int) -> list[str]:
    """Reserve `count` consecutive numbers under `prefix` (row-locked, so never twice)."""
    seq, _created = EmployeeNumberSequence.objects.get_or_create(group=group, prefix=prefix)
    seq = EmployeeNumberSequence.objects.select_for_update().get(pk=seq.pk)
    first = seq.last_value + 1
    seq.last_value += count
    seq.save(update_fields=["last_value"])
    m = re.search(r"\{seq(?::0?(\d+))?\}", prefix)
    assert m is not None
    width = int(m.group(1) or 0)
    return [
        prefix[: m.start()] + str(n).zfill(width) + prefix[m.end() :]
        for n in range(first, first + count)
    ]


def free_number(group: Group, prefix: str) -> str:
    """The next number under `prefix` that nobody holds: a number given by hand or imported
    is skipped (the sequence moves past it), as the import's numbering does."""
    while True:
        number = allocate_numbers(group, prefix, 1)[0]
        if not Employee.objects.filter(group=group, employee_number=number).exists():
            return number


# ---------------------------------------------------------------- employees

EMPLOYEE_FIELDS = {
    "name",
    "email",
    "phone",
    "legal_entity_id",
    "department_id",
    "position_id",
    "manager_id",
    "work_city_id",
    "hire_date",
    "status",
    "termination_date",
}


def _placement(data: Mapping[str, Any]) -> tuple[Department, LegalEntity]:
    dept = Department.objects.filter(pk=data.get("department_id") or 0).first()
    if dept is None:
        raise InvalidInput.field("department", _("Unknown department."))
    entity = LegalEntity.objects.filter(pk=data.get("legal_entity_id") or 0).first()
    if entity is None:
        raise InvalidInput.field("legal_entity", _("Unknown legal entity."))
    return dept, entity


def _check_manager(employee_id: int | None, manager_id: int | None) -> None:
    """Refuse a manager that is the employee or reports to them (a cycle)."""
    seen: set[int] = set()
    current = manager_id
    while current:
        if current == employee_id:
            raise InvalidInput.field("manager", _("This manager would create a reporting cycle."))
        if current in seen:
            break
        seen.add(current)
        current = Employee.objects.filter(pk=current).values_list("manager_id", flat=True).first()


@transaction.atomic
def create_employee(
    data: Mapping[str, Any], *, acting_user: Any, group: Group | None = None
) -> Employee:
    """Hire: create the employee with a unified employee number (unless one is given)."""
    unknown = set(data) - EMPLOYEE_FIELDS - {"employee_number"}
    if unknown:
        raise InvalidInput(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    dept, entity = _placement(data)
    authz.check_target(
        acting_user,
        Perm.EMPLOYEE_CHANGE,
        business_unit_id=dept.business_unit_id,
        legal_entity_id=entity.pk,
        department=dept,
    )
    group = group or Group.objects.get()
    values = dict(data)
    values["group"] = group
    values["business_unit_id"] = dept.business_unit_id
    if not values.get("employee_number"):
        hire = values.get("hire_date")
        if hire is None:
            raise InvalidInput.field("hire_date", _("The hire date is required."))
        prefix = number_prefix(group, dept.business_unit, entity, hire.year)
        values["employee_number"] = free_number(group, prefix)
    _check_manager(None, values.get("manager_id"))
    values.pop("group")
    emp = base.create(
        Employee,
        {**values, "group_id": group.pk},
        acting_user=acting_user,
        event=E.EMPLOYEE_CREATED,
    )
    LifecycleEvent.objects.create(employee=emp, event_type="hire", effective_date=emp.hire_date)
    return emp


@transaction.atomic
def update_employee(employee: Employee, data: Mapping[str, Any], *, acting_user: Any) -> Employee:
    """Change an employee's record. Moving them elsewhere needs change rights at both ends."""
    employee = authz.get_for(acting_user, Perm.EMPLOYEE_CHANGE, Employee, pk=employee.pk)
    values = dict(data)
    if "department_id" in values or "legal_entity_id" in values:
        merged = {
            "department_id": employee.department_id,
            "legal_entity_id": employee.legal_entity_id,
            **values,
        }
        dept, entity = _placement(merged)
        authz.check_target(
            acting_user,
            Perm.EMPLOYEE_CHANGE,
            business_unit_id=dept.business_unit_id,
            legal_entity_id=entity.pk,
            department=dept,
        )
        values["business_unit_id"] = dept.business_unit_id
    if "manager_id" in values:
        _check_manager(employee.pk, values["manager_id"])
    return base.update(
        employee,
        values,
        acting_user=acting_user,
        event=E.EMPLOYEE_UPDATED,
        allowed=EMPLOYEE_FIELDS | {"business_unit_id"},
    )


# ---------------------------------------------------------------- contracts, agreements, history


def _employee_for_records(acting_user: Any, employee_id: Any) -> Employee:
    if not employee_id:
        raise InvalidInput.field("employee", _("Choose the employee."))
    return authz.get_for(acting_user, Perm.RECORDS_CHANGE, Employee, pk=employee_id)


@transaction.atomic
def create_contract(data: Mapping[str, Any], *, acting_user: Any) -> Contract:
    _employee_for_records(acting_user, data.get("employee_id"))
    return base.create(Contract, data, acting_user=acting_user, event=E.CONTRACT_CREATED)


@transaction.atomic
def update_contract(contract: Contract, data: Mapping[str, Any], *, acting_user: Any) -> Contract:
    authz.get_for(acting_user, Perm.RECORDS_CHANGE, Contract, pk=contract.pk)
    return base.update(
        contract,
        data,
        acting_user=acting_user,
        event=E.CONTRACT_UPDATED,
        allowed={
            "contract_type",
            "start_date",
            "end_date",
            "probation_end_date",
            "signed_on",
            "legal_entity_id",
            "sequence",
        },
    )


MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
DOCUMENT_TYPES = {"application/pdf", "image/png", "image/jpeg"}


def _document_fields(document: UploadedFile | None) -> dict[str, Any]:
    if document is None:
        return {}
    if document.size is not None and document.size > MAX_DOCUMENT_BYTES:
        raise InvalidInput.field("document", _("The document is larger than 20 MB."))
    if (document.content_type or "") not in DOCUMENT_TYPES:
        raise InvalidInput.field("document", _("Only PDF, PNG or JPEG documents are accepted."))
    digest = hashlib.sha256()
    for chunk in document.chunks():
        digest.update(chunk)
    document.seek(0)
    return {"document": document, "document_sha256": digest.hexdigest()}


@transaction.atomic
def create_agreement(
    data: Mapping[str, Any], *, acting_user: Any, document: UploadedFile | None = None
) -> Agreement:
    _employee_for_records(acting_user, data.get("employee_id"))
    return base.create(
        Agreement,
        {**data, **_document_fields(document)},
        acting_user=acting_user,
        event=E.AGREEMENT_CREATED,
    )


@transaction.atomic
def update_agreement(
    agreement: Agreement,
    data: Mapping[str, Any],
    *,
    acting_user: Any,
    document: UploadedFile | None = None,
) -> Agreement:
    authz.get_for(acting_user, Perm.RECORDS_CHANGE, Agreement, pk=agreement.pk)
    return base.update(
        agreement,
        {**data, **_document_fields(document)},
        acting_user=acting_user,
        event=E.AGREEMENT_UPDATED,
        allowed={
            "agreement_type",
            "signed_on",
            "effective_until",
            "terms",
            "document",
            "document_sha256",
        },
    )


@transaction.atomic
def record_document_view(agreement: Agreement, *, acting_user: Any) -> None:
    """Who opened which signed agreement, and when: documents are evidence too."""
    trail.record(
        E.AGREEMENT_DOCUMENT_VIEWED,
        actor=acting_user,
        subject=agreement,
        extra={"sha256": agreement.document_sha256},
    )


@transaction.atomic
def record_lifecycle_event(data: Mapping[str, Any], *, acting_user: Any) -> LifecycleEvent:
    _employee_for_records(acting_user, data.get("employee_id"))
    return base.create(
        LifecycleEvent, data, acting_user=acting_user, event=E.LIFECYCLE_EVENT_RECORDED
    )
