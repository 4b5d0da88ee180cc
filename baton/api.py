"""The REST API: /api/ (django-ninja). Schema at /api/openapi.json, docs at /api/docs.

Authentication: `Authorization: Bearer <token>` (decided first, and alone when sent) or the
browser session (with CSRF for unsafe methods). Errors are
JSON `{"detail": ..., "errors": {field: [messages]}}` with 400 / 401 / 403 / 404 / 409, one
`ErrorOut` schema declared for every operation (baton/core/api_errors.py).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from baton.access.api import router as access_router
from baton.access.api_auth import BearerToken, SessionAuth
from baton.audit.api import router as audit_router
from baton.compliance.api import router as compliance_router
from baton.core.api_crud import MAX_OFFSET
from baton.core.api_errors import ObjectParser, document_errors
from baton.core.errors import ActionError
from baton.handover.api import router as handover_router
from baton.imports.api import router as imports_router
from baton.integrations.api import router as integrations_router
from baton.notify.api import router as notify_router
from baton.org.api import router as org_router


class BatonAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        # Every operation's error answers, declared in one place (baton/core/api_errors.py).
        schema = super().get_openapi_schema(*args, **kwargs)
        return document_errors(schema, max_offset=MAX_OFFSET)


api = BatonAPI(
    title="Baton API",
    version="1",
    description=(
        "Exit management: organisation, people, access, audit, handover, notifications, "
        "integrations."
    ),
    # The token first: a request carrying one is never judged by the session's CSRF check.
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
    parser=ObjectParser(),
)
api.add_router("/org", org_router)
api.add_router("/access", access_router)
api.add_router("/audit", audit_router)
api.add_router("/handover", handover_router)
api.add_router("/notify", notify_router)
api.add_router("/integrations", integrations_router)
api.add_router("/compliance", compliance_router)
api.add_router("/imports", imports_router)


def _field_name(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "payload")]
    # Multipart uploads nest the file under its own name ("file.file").
    parts = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
    return ".".join(parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        errors.setdefault(_field_name(list(err.get("loc", []))), []).append(str(err.get("msg")))
    return api.create_response(
        request, {"detail": _("The request is not valid."), "errors": errors}, status=400
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # E.g. a body that is not JSON: the same error shape as everything else.
    detail = str(exc)
    if exc.status_code == 400 and "parse" in detail.lower():
        detail = _("The request body could not be read (send valid JSON).")
    return api.create_response(request, {"detail": detail, "errors": {}}, status=exc.status_code)


@api.exception_handler(ActionError)
def on_action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    detail = str(exc) or _("You do not have permission to do this.")
    return api.create_response(request, {"detail": detail, "errors": {}}, status=403)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(
        request, {"detail": _("Not found, or not visible to you."), "errors": {}}, status=404
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": _("Sign in or send a valid API token."), "errors": {}}, status=401
    )
