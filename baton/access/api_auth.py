"""API authentication: the browser session, or a bearer token acting as its owner."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone, translation
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth as NinjaSessionAuth

from baton.access.models import ApiToken, hash_token
from baton.core import context


class SessionAuth(NinjaSessionAuth):
    """Signed-in browser users (CSRF-checked for unsafe methods by django-ninja)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = (
            ApiToken.objects.select_related("user", "system")
            .filter(token_hash=hash_token(token), revoked_at=None)
            .first()
        )
        now = timezone.now()
        if api_token is None or not api_token.user.is_active:
            return None
        if api_token.system is not None and not api_token.system.active:
            return None  # a paused connected system's tokens pause with it
        if api_token.expires_at is not None and api_token.expires_at <= now:
            return None
        user = api_token.user
        if user.language and not request.headers.get("Accept-Language"):
            # A client that states no language is answered in its token owner's.
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        user._baton_token_scopes = list(api_token.scopes)  # type: ignore[attr-defined]
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        context.set_token(api_token.pk)
        # last-used is bookkeeping, not a business change: refreshed at most once a minute.
        if api_token.last_used_at is None or now - api_token.last_used_at > dt.timedelta(minutes=1):
            api_token.last_used_at = now
            api_token.save(update_fields=["last_used_at"])
        return user
