"""Builds the list / read / create / update endpoints of one resource from its parts, so every
resource reads, scopes, paginates, validates and answers errors the same way."""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of the generated endpoints at run time.

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import InvalidInput


class Page(Schema):
    count: int
    limit: int
    offset: int


MAX_LIMIT = 500
# Far past any real list, well inside the databases' 64-bit OFFSET (a larger one was a 500).
MAX_OFFSET = 1_000_000_000


def paginate(qs: QuerySet[Any], limit: int, offset: int) -> tuple[int, list[Any]]:
    """One page of `qs`. Every list endpoint pages here: a `limit` outside 1-500 is brought
    inside; an `offset` outside 0-MAX_OFFSET is refused (the schema says so, see api_errors)."""
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput.field(
            "offset", _("Give a number from 0 to %(max)d.") % {"max": MAX_OFFSET}
        )
    limit = max(1, min(limit, MAX_LIMIT))
    return qs.count(), list(qs[offset : offset + limit])


def register(
    router: Router,
    *,
    path: str,
    name: str,
    model: type[Model],
    out: type[Schema],
    create_in: type[Schema] | None,
    patch_in: type[Schema] | None,
    view_perm: Perm,
    base_qs: Callable[[], QuerySet[Any]],
    create: Callable[..., Any] | None = None,
    update: Callable[..., Any] | None = None,
    change_perm: Perm | None = None,
    filters: Callable[[QuerySet[Any], HttpRequest], QuerySet[Any]] | None = None,
    tag: str | None = None,
) -> None:
    tags = [tag or name]
    page_schema = type(f"{out.__name__}Page", (Page,), {"__annotations__": {"items": list[out]}})  # type: ignore[valid-type]

    @router.get(f"/{path}", response=page_schema, operation_id=f"list_{name}", tags=tags)
    def list_items(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        authz.require(request.user, view_perm)
        qs = authz.visible_to(request.user, view_perm, base_qs())
        if filters is not None:
            qs = filters(qs, request)
        count, items = paginate(qs, limit, offset)
        return {"count": count, "limit": limit, "offset": offset, "items": items}

    @router.get(f"/{path}/{{int:item_id}}", response=out, operation_id=f"get_{name}", tags=tags)
    def get_item(request: HttpRequest, item_id: int) -> Any:
        return authz.get_for(request.user, view_perm, base_qs(), pk=item_id)

    if create is not None and create_in is not None:

        @router.post(f"/{path}", response={201: out}, operation_id=f"create_{name}", tags=tags)
        def create_item(request: HttpRequest, payload: create_in) -> Any:  # type: ignore[valid-type]
            obj = create(payload.model_dump(), acting_user=request.user)  # type: ignore[attr-defined]
            return Status(201, base_qs().get(pk=obj.pk))

    if update is not None and patch_in is not None:

        @router.patch(
            f"/{path}/{{int:item_id}}", response=out, operation_id=f"update_{name}", tags=tags
        )
        def update_item(request: HttpRequest, item_id: int, payload: patch_in) -> Any:  # type: ignore[valid-type]
            obj = authz.get_for(request.user, change_perm or view_perm, base_qs(), pk=item_id)
            update(obj, payload.model_dump(exclude_unset=True), acting_user=request.user)  # type: ignore[attr-defined]
            return base_qs().get(pk=item_id)
