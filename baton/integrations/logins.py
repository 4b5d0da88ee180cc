"""The leaver's login in a connected system: the employee attribute the system matches
accounts by (shared by revocation, customer hand-over and the connectors)."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from baton.org.models import Employee

# Baton's attribute that is the login, per `config["match"]`.
MATCHES = {
    "email": "email",
    "employee_number": "employee_number",
    "phone": "phone",
    "username": "user__username",
}


def _username(employee: Employee) -> str:
    try:
        user = employee.user
    except ObjectDoesNotExist:  # no login of their own
        return ""
    return str(user.username)


def matched_value(employee: Employee, match: str) -> str:
    """The employee's attribute that is their login in a system matching by `match`."""
    if match == "username":
        return _username(employee)
    return str(getattr(employee, MATCHES.get(match, "email"), "") or "")
