"""Every API call made with a token is audited: which token (and connected system), what was
called and how it was answered. Calls from the signed-in UI are not — their changes are
audited by the actions they run. A refusal with no valid token behind it (a bad, expired or
revoked token; a session failing the CSRF check) is audited once as a refused API request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from baton.access import actions


class ApiCallAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        token = getattr(request, "api_token", None)
        if token is not None:
            actions.record_api_call(
                token,
                method=request.method or "",
                path=request.get_full_path(),
                status=response.status_code,
            )
        elif (refusal := getattr(request, "api_refusal", None)) is not None:
            actions.record_api_refusal(
                refusal.reason,
                token=refusal.token,
                user=refusal.user,
                method=request.method or "",
                path=request.path,
                status=response.status_code,
            )
        return response
