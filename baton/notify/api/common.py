"""What the notify API modules share: a page of results."""

from typing import Any

from django.db.models import QuerySet

from baton.core.api_crud import paginate


def page(qs: QuerySet[Any], limit: int, offset: int) -> dict[str, Any]:
    count, items = paginate(qs, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}
