"""Shared parts of the handover API: error schema, scope checks, fetch helpers."""


# No `from __future__ import annotations` here: django-ninja reads the payload, File and Form
# annotations of these endpoints at run time.

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import TokenScope
from baton.core.api_crud import paginate
from baton.core.api_errors import ErrorOut  # noqa: F401  (re-exported to the routers)
from baton.core.http import AuthedRequest
from baton.handover.models import (
    ChecklistTemplate,
    ExitCase,
    HandoverTask,
)

# ---------------------------------------------------------------- helpers


def reader(request: AuthedRequest) -> Any:
    """The user a read acts as. An API token reads handover data only with handover:read."""
    require_token_scope(request, TokenScope.HANDOVER_READ)
    return request.user


def writer(request: AuthedRequest) -> Any:
    """The user a change acts as. An API token changes handover data only with handover:write:
    the actions let a leaver, a task owner or an approver act because of who they are, not
    through a permission a token's scopes would narrow, so the scope is checked here."""
    require_token_scope(request, TokenScope.HANDOVER_WRITE)
    return request.user


def require_token_scope(request: HttpRequest, scope: str) -> None:
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDenied(_("You do not have permission to do this."))


def page(qs: QuerySet[Any], limit: int, offset: int) -> dict[str, Any]:
    count, items = paginate(qs, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


def dump(payload: Schema, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields the client sent, minus explicit nulls on fields that cannot be empty."""
    data = payload.model_dump(mode="json", exclude_unset=True)
    return {k: v for k, v in data.items() if v is not None or k in nullable}


def fetch_case(user: Any, case_id: int) -> ExitCase:
    return authz.get_for(user, Perm.CASE_VIEW, case_queryset(), pk=case_id)


def fetch_task(user: Any, task_id: int) -> HandoverTask:
    return authz.get_for(user, Perm.CASE_VIEW, task_queryset(), pk=task_id)


def fetch_template(
    user: Any, template_id: int, perm: Perm = Perm.TEMPLATE_VIEW
) -> ChecklistTemplate:
    return authz.get_for(user, perm, ChecklistTemplate, pk=template_id)


def case_queryset() -> QuerySet[ExitCase]:
    return ExitCase.objects.select_related("employee", "successor")


def task_queryset() -> QuerySet[HandoverTask]:
    return HandoverTask.objects.select_related("case", "case__employee")
