"""What the integrations API modules share: a page of results and the one "not found"."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from baton.core.api_crud import paginate


def page(qs: QuerySet[Any], limit: int, offset: int) -> dict[str, Any]:
    count, items = paginate(qs, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


def not_found() -> Http404:
    return Http404(_("Not found, or not visible to you."))
