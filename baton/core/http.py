from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from baton.access.models import User


class AuthedRequest(HttpRequest):
    """A request that passed authentication (login_required or API auth): `user` is a User."""

    user: User
