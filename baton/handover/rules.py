"""Who may change which checklist: shared by the actions (which enforce it) and the views and
API (which show only what is allowed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.handover.models import ChecklistTemplate, ExitType
from baton.handover.templates_logic import matching_templates
from baton.org.models import Department, Employee, LegalEntity


def require_manage(acting_user: Any, binding: Mapping[str, Any]) -> None:
    """HR of a business unit manages the checklists bound inside it; checklists for the whole
    group (unbound, or bound to a position / family / exit type only) need group-wide rights."""
    authz.require(acting_user, Perm.TEMPLATE_MANAGE)
    scope = authz.access_for(acting_user).scopes[Perm.TEMPLATE_MANAGE]
    if scope.everything:
        return
    bu, entity, dept_id = (
        binding.get("business_unit_id"),
        binding.get("legal_entity_id"),
        binding.get("department_id"),
    )
    dept = Department.objects.filter(pk=dept_id).first() if dept_id else None
    if bu or entity or dept:
        if entity and not bu:
            bu = (
                LegalEntity.objects.filter(pk=entity)
                .values_list("business_unit_id", flat=True)
                .first()
            )
        authz.check_target(
            acting_user,
            Perm.TEMPLATE_MANAGE,
            business_unit_id=bu,
            legal_entity_id=entity,
            department=dept,
        )
        return
    raise PermissionDenied(_("Group-wide checklists are managed by group HR."))


def binding(template: ChecklistTemplate) -> dict[str, Any]:
    return {
        "business_unit_id": template.business_unit_id,
        "legal_entity_id": template.legal_entity_id,
        "department_id": template.department_id,
    }


def self_only(user: Any, perm: Perm) -> bool:
    scope = authz.access_for(user).scopes.get(perm)
    return bool(
        scope is not None
        and scope.self_employee
        and not (
            scope.everything
            or scope.business_units
            or scope.legal_entities
            or scope.department_paths
        )
    )


def own_employee(user: Any) -> Employee | None:
    emp_id = authz.access_for(user).employee_id
    if not emp_id:
        return None
    return (
        Employee.objects.select_related("department", "position", "position__family")
        .filter(pk=emp_id)
        .first()
    )


def applicable_templates(employee: Employee) -> set[int]:
    """The templates that apply to this person's position, for any kind of exit."""
    found: set[int] = set()
    for exit_type in ExitType.values:
        found |= {t.pk for _score, t in matching_templates(employee, exit_type)}
    return found


def can_propose(user: Any, template: ChecklistTemplate) -> bool:
    """HR and department heads may propose a change to any checklist; an employee only to
    the ones that apply to their own position."""
    if not authz.has_perm(user, Perm.TEMPLATE_PROPOSE):
        return False
    if authz.has_perm(user, Perm.TEMPLATE_MANAGE) or not self_only(user, Perm.TEMPLATE_PROPOSE):
        return True
    employee = own_employee(user)
    return employee is not None and template.pk in applicable_templates(employee)


def can_manage_template(user: Any, template: ChecklistTemplate) -> bool:
    """Whether the user may change this checklist: the action's own rule (HR of a business
    unit manages the checklists bound inside it; group-wide ones need group-wide rights)."""
    if not authz.has_perm(user, Perm.TEMPLATE_MANAGE):
        return False
    try:
        require_manage(
            user,
            {
                "business_unit_id": template.business_unit_id,
                "legal_entity_id": template.legal_entity_id,
                "department_id": template.department_id,
            },
        )
    except PermissionDenied:
        return False
    return True
