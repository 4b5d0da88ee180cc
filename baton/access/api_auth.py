"""API authentication: a bearer token acting as its owner, or the browser session.

The token is decided first. A request that sends `Authorization: Bearer …` is judged by that
token alone: a bad, expired or revoked token is 401 even when a session cookie came along, and
the session's CSRF check (which a server-to-server client cannot pass) never applies to it.
Without a bearer token the signed-in session is used, CSRF-checked for unsafe methods.

Refusals that no valid token stands behind (a bad token, a failed CSRF check) are noted on the
request as `api_refusal` and audited once by `ApiCallAuditMiddleware`; calls with a valid token,
refused or not, are audited there as API calls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth as NinjaSessionAuth

from baton.access.models import WRITE_SCOPES, ApiToken, hash_token
from baton.core import context

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class ApiRefusal:
    """Why an API request was refused before any valid credential stood behind it."""

    reason: str  # "unknown_token" | "revoked_token" | "expired_token" | "inactive_owner"
    # | "paused_system" | "csrf"
    token: ApiToken | None = None
    user: Any = None


class SessionAuth(NinjaSessionAuth):
    """Signed-in browser users; unsafe methods must pass Django's CSRF check."""

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            # No session to protect: nothing for CSRF to guard, the request is simply not
            # authenticated (401), whatever its method.
            return None
        try:
            key = self._get_key(request)  # ninja's CSRF check for unsafe methods
        except HttpError as exc:
            request.api_refusal = ApiRefusal("csrf", user=user)  # type: ignore[attr-defined]
            raise HttpError(
                403,
                _(
                    "CSRF check failed: a signed-in session must send the X-CSRFToken header "
                    "(or use an API token)."
                ),
            ) from exc
        return self.authenticate(request, key)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user


class BearerToken(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        scheme, _sep, raw = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None  # no bearer token: the session decides
        user = self.authenticate(request, raw.strip())
        if user is None:
            # Never fall back to the session: the caller chose this token.
            raise AuthenticationError()
        if request.method not in SAFE_METHODS and not WRITE_SCOPES & set(request.api_token.scopes):  # type: ignore[attr-defined]
            # A floor under every endpoint's own scope check, before the body is even read: a
            # read-only token never changes anything (audited as a refused API call).
            raise PermissionDenied(_("This API token may only read: a change needs a write scope."))
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = (
            ApiToken.objects.select_related("user", "system")
            .filter(token_hash=hash_token(token))
            .first()
            if token
            else None
        )
        now = timezone.now()
        reason = ""
        if api_token is None:
            reason = "unknown_token"
        elif api_token.revoked_at is not None:
            reason = "revoked_token"
        elif api_token.expires_at is not None and api_token.expires_at <= now:
            reason = "expired_token"
        elif not api_token.user.is_active:
            reason = "inactive_owner"
        elif api_token.system is not None and not api_token.system.active:
            reason = "paused_system"  # a paused connected system's tokens pause with it
        if reason:
            request.api_refusal = ApiRefusal(reason, token=api_token)  # type: ignore[attr-defined]
            return None
        assert api_token is not None
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
