"""/api/org/group: the group itself (its name and employee-number pattern)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.org import actions
from baton.org.models import Group

router = Router()


class GroupOut(Schema):
    id: int
    code: str
    name: str
    employee_number_pattern: str


class GroupPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    employee_number_pattern: str | None = Field(None, min_length=1, max_length=100)


@router.get("/group", response=GroupOut, operation_id="get_group", tags=["group"])
def get_group(request: HttpRequest) -> Any:
    authz.require(request.user, Perm.ORG_VIEW)
    return Group.objects.get()


@router.patch("/group", response=GroupOut, operation_id="update_group", tags=["group"])
def update_group(request: HttpRequest, payload: GroupPatch) -> Any:
    # Neither field may be empty: null leaves it as it is (a null pattern was a 500).
    return actions.update_group(
        Group.objects.get(),
        payload.model_dump(exclude_unset=True, exclude_none=True),
        acting_user=request.user,
    )
