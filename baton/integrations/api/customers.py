"""/api/…/cases/{case_id}/customers: a leaver's customers, their reassignment, the write-back
to the system they live in and the letters telling each customer who the new contact is.

HR (CASE_MANAGE) and whoever approves the leaver's exit (the manager, CASE_APPROVE) use these;
the leaver never does (403), and anyone who may not see the case gets 404. An API token reads
with `handover:read` and changes with `handover:write`.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import TokenScope
from baton.core.errors import InvalidInput
from baton.core.http import AuthedRequest
from baton.integrations import customers, letters
from baton.integrations.actions import customers as customer_actions
from baton.integrations.actions import letters as letter_actions
from baton.integrations.models import BusinessItem
from baton.org.models import Employee

router = Router(tags=["customers"])


def _user(request: AuthedRequest, scope: str) -> Any:
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDenied(_("You do not have permission to do this."))
    return request.user


class CustomerOut(Schema):
    id: int
    name: str
    external_id: str
    system_id: int
    system_name: str = ""
    contact_name: str
    contact_email: str
    contact_phone: str
    contact_language: str
    new_owner_id: int | None
    new_owner_name: str | None = Field(None, description="The new owner's name.")
    reassigned_at: dt.datetime | None
    write_back: Literal["", "pending", "running", "done", "failed"] = Field(
        ..., description="'': the system is not written back to."
    )
    write_back_error: str
    written_back_at: dt.datetime | None
    letter_sent_at: dt.datetime | None
    task_id: int | None
    task_state: str | None = None
    confirmed: bool = Field(False, description="The customer confirmed the new contact.")

    @staticmethod
    def resolve_system_name(obj: BusinessItem) -> str:
        return obj.system.name

    @staticmethod
    def resolve_new_owner_name(obj: BusinessItem) -> str | None:
        return obj.new_owner.name if obj.new_owner_id and obj.new_owner else None

    @staticmethod
    def resolve_task_state(obj: BusinessItem) -> str | None:
        return obj.task.state if obj.task_id and obj.task else None

    @staticmethod
    def resolve_confirmed(obj: BusinessItem) -> bool:
        return bool(getattr(obj, "confirmed", 0))


class CustomersOut(Schema):
    case_id: int
    count: int
    email_channel: bool = Field(..., description="Whether letters can be sent (a channel exists).")
    items: list[CustomerOut]


class CustomerReassignIn(Schema):
    strategy: Literal["receiver", "round_robin", "by_load"] | None = Field(
        None, description="null: only the overrides."
    )
    team_ids: list[int] = Field(default_factory=list, description="Employees to spread over.")
    department_id: int | None = Field(None, description="Or the team is this department.")
    overrides: dict[int, int] = Field(
        default_factory=dict, description="Customer item id → employee id; wins over strategy."
    )


class ReassignOut(Schema):
    reassigned: int
    unchanged: int
    owners: dict[int, int] = Field(..., description="Employee id → customers given to them.")


class LettersIn(Schema):
    resend: bool = Field(False, description="Send again to customers who already had a letter.")
    item_ids: list[int] | None = Field(None, description="Only these customers.")


class LettersOut(Schema):
    queued: int


@router.get(
    "/cases/{int:case_id}/customers",
    response=CustomersOut,
    operation_id="list_case_customers",
)
def list_case_customers(request: AuthedRequest, case_id: int) -> dict[str, Any]:
    """The leaver's customers with their new owner, write-back and letter state."""
    user = _user(request, TokenScope.HANDOVER_READ)
    case = customers.case_for_handler(user, case_id)
    items = list(customers.customers_of(case))
    return {
        "case_id": case.pk,
        "count": len(items),
        "email_channel": letters.email_channel(case) is not None,
        "items": items,
    }


def _team(user: Any, payload: CustomerReassignIn) -> list[Employee]:
    if payload.department_id is not None:
        return customers.team_of_department(user, payload.department_id)
    ids = list(dict.fromkeys(payload.team_ids))
    found = {
        e.pk: e
        for e in authz.visible_to(user, Perm.EMPLOYEE_VIEW, Employee.objects.filter(pk__in=ids))
    }
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise InvalidInput.field(
            "team_ids",
            _("Unknown employee, or outside the part of the group you may see: %(ids)s.")
            % {"ids": ", ".join(map(str, missing))},
        )
    return [found[pk] for pk in ids]


@router.post(
    "/cases/{int:case_id}/customers/reassign",
    response=ReassignOut,
    operation_id="reassign_case_customers",
)
def reassign_case_customers(
    request: AuthedRequest, case_id: int, payload: CustomerReassignIn
) -> dict[str, Any]:
    """Give the customers new owners; writing back and the letters follow in the background."""
    user = _user(request, TokenScope.HANDOVER_WRITE)
    case = customers.case_for_handler(user, case_id)
    result = customer_actions.reassign_customers(
        case,
        acting_user=user,
        strategy=payload.strategy,
        team=_team(user, payload),
        overrides=payload.overrides,
    )
    return {
        "reassigned": len(result.moved),
        "unchanged": len(result.unchanged),
        "owners": result.per_owner(),
    }


@router.post(
    "/cases/{int:case_id}/customers/letters",
    response={202: LettersOut},
    operation_id="send_customer_letters",
)
def send_customer_letters(request: AuthedRequest, case_id: int, payload: LettersIn) -> Any:
    """Send the letters not yet sent (or, with `resend`, again), in the background."""
    user = _user(request, TokenScope.HANDOVER_WRITE)
    case = customers.case_for_handler(user, case_id)
    queued = letter_actions.request_letters(
        case, acting_user=user, resend=payload.resend, item_ids=payload.item_ids
    )
    return Status(202, {"queued": queued})
