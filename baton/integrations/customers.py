"""Reads of the customer hand-over (客户交接): the case for whoever hands its customers over,
its customers, the people who can take them, which systems transfer customers and the
leaver's logins there. The changes are in `baton.integrations.actions.customers`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import InvalidInput
from baton.handover.models import CaseState, ExitCase
from baton.integrations.logins import matched_value
from baton.integrations.models import (
    AccountLink,
    BusinessItem,
    BusinessKind,
    ConnectedSystem,
    SystemKind,
)
from baton.integrations.rules import require_handler
from baton.org.models import Department, Employee, EmployeeStatus

# Exits that make someone unable to take customers over (a draft is not yet an exit).
LEAVING_CASE_STATES = (CaseState.SUBMITTED, CaseState.APPROVED, CaseState.HANDOVER)
UNAVAILABLE = (EmployeeStatus.DEPARTING, EmployeeStatus.DEPARTED)


# ---------------------------------------------------------------- who may do this


def case_for_handler(user: Any, case_id: int) -> ExitCase:
    """The case, for someone who hands over its customers: 404 when the user may not see the
    case, 403 when they may see it but not do this."""
    case = authz.get_for(
        user,
        Perm.CASE_VIEW,
        ExitCase.objects.select_related(
            "employee", "employee__manager", "successor", "legal_entity", "business_unit"
        ),
        pk=case_id,
    )
    require_handler(user, case)
    return case


def customers_of(case: ExitCase) -> QuerySet[BusinessItem]:
    """The case's customers with what the customers table shows."""
    return (
        BusinessItem.objects.filter(case=case, kind=BusinessKind.CUSTOMER)
        .select_related("system", "new_owner", "task")
        .annotate(
            confirmed=Count("task__confirmations", filter=Q(task__confirmations__confirmed=True))
        )
        .order_by("name", "id")
    )


# ---------------------------------------------------------------- systems and logins


def transfers_customers(system: ConnectedSystem) -> bool:
    """Whether new owners are written back to this system: WeCom, or a REST system whose
    manifest has a `reassign_customer` flow — and the system is set to transfer customers."""
    if not system.transfers_customers or not system.active:
        return False
    if system.kind == SystemKind.WECOM:
        return True
    if system.kind == SystemKind.REST:
        # The REST connector's manifest is the system's config; its flows are under "steps".
        steps = (system.config or {}).get("steps")
        return isinstance(steps, Mapping) and bool(steps.get("reassign_customer"))
    return False


def logins_for(
    system: ConnectedSystem, employees: Iterable[Employee], connector: Any = None
) -> dict[int, str]:
    """Each employee's login in the system: their account link's, else the one the system's
    connector makes (a REST manifest's `login`, WeCom's match), else their attribute the system
    matches by (`config["match"]`, as the revocation engine finds accounts). One query (load
    the employees with `select_related("user")` when the system matches by username)."""
    people = {e.pk: e for e in employees}
    found = dict(
        AccountLink.objects.filter(system=system, employee_id__in=people).values_list(
            "employee_id", "login"
        )
    )
    make = getattr(connector, "login_for", None)
    match = str((system.config or {}).get("match") or "email")
    for pk, emp in people.items():
        if not found.get(pk):
            found[pk] = str(make(emp) if make else matched_value(emp, match)).strip()
    return {pk: login for pk, login in found.items() if login}


def team_of_department(user: Any, department_id: int) -> list[Employee]:
    """A department's people who can take customers over (active, in the user's view)."""
    if not Department.objects.filter(pk=department_id).exists():
        raise InvalidInput.field("department", _("Unknown department."))
    people = authz.visible_to(
        user,
        Perm.EMPLOYEE_VIEW,
        Employee.objects.filter(department_id=department_id).exclude(status__in=UNAVAILABLE),
    ).exclude(pk__in=leaving(user).values("employee_id"))
    return list(people.order_by("name", "id"))


def leaving(user: Any) -> QuerySet[ExitCase]:
    """Exits under way that the user may know of: a hidden pre-resignation handover the user
    may not approve must not show through a refusal or a shorter team list."""
    return ExitCase.objects.filter(authz.disclosed_q(user), state__in=LEAVING_CASE_STATES)
