"""/api/org/duplicates: people recorded more than once, and merging their records (HR)."""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# at run time.

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.org import duplicates
from baton.org.actions_merge import merge_employees
from baton.org.models import Employee, EmployeeStatus

router = Router(tags=["duplicates"])


class DuplicateRef(Schema):
    id: int
    name: str


class DuplicateRecordOut(Schema):
    id: int
    employee_number: str
    name: str
    status: EmployeeStatus
    business_unit: DuplicateRef
    department: DuplicateRef
    id_number_hint: str


class DuplicateGroupOut(Schema):
    reasons: list[str] = Field(..., description="id_number, phone and/or email")
    employees: list[DuplicateRecordOut]


class DuplicatesOut(Schema):
    count: int
    items: list[DuplicateGroupOut]


class MergeIn(Schema):
    survivor_id: int
    duplicate_id: int
    reason: str = Field(..., min_length=1, max_length=500)


class MergeOut(Schema):
    survivor_id: int
    duplicate_id: int
    moved: dict[str, int]
    skipped: dict[str, int]


@router.get("/duplicates", response=DuplicatesOut, operation_id="list_duplicates")
def list_duplicates(request: HttpRequest, limit: int = 200) -> dict[str, Any]:
    """Records (of people the caller may see) sharing an ID card number, mobile phone or
    email: candidates for merging. For HR (who may change employee records)."""
    authz.require(request.user, Perm.EMPLOYEE_CHANGE)
    groups = duplicates.find_duplicates(request.user, limit=max(1, min(limit, 500)))
    items = [{"reasons": g.reasons, "employees": g.employees} for g in groups]
    return {"count": len(items), "items": items}


@router.post("/duplicates/merge", response=MergeOut, operation_id="merge_duplicates")
def merge_duplicates(request: HttpRequest, payload: MergeIn) -> dict[str, Any]:
    """Fold the duplicate record into the survivor (its history moves, the duplicate is kept
    and marked merged). Needs the right to change both records."""
    survivor = authz.get_for(request.user, Perm.EMPLOYEE_CHANGE, Employee, pk=payload.survivor_id)
    duplicate = authz.get_for(request.user, Perm.EMPLOYEE_CHANGE, Employee, pk=payload.duplicate_id)
    result = merge_employees(survivor, duplicate, acting_user=request.user, reason=payload.reason)
    return {
        "survivor_id": result.survivor.pk,
        "duplicate_id": result.duplicate.pk,
        "moved": result.moved,
        "skipped": result.skipped,
    }
