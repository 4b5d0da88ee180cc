from typing import Any

from django.http import HttpRequest

from baton.access.authz import Perm, has_perm


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "can": {p.name.lower(): has_perm(user, p) for p in Perm},
    }
