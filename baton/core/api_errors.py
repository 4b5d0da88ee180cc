"""The API's one error body, and the OpenAPI schema saying which errors each operation answers.

Every error the API answers has the same JSON body, `ErrorOut`: `{"detail": str, "errors":
{field: [str]}}` (translated; `errors` names the fields at fault, `{}` when none). The
exception handlers in baton/api.py produce it; `document_errors` declares it in the schema once
for all operations, by what each operation can meet:

- 400: the request is not valid (a parameter, a body, or an action refusing the input) — every
  operation that takes parameters or a body, and every change;
- 401 / 403: no valid sign-in or token / not permitted (also a token without the scope, or a
  failed CSRF check) — every operation that requires authentication;
- 404: what the path (or a change's body) names does not exist or is not visible — every
  operation with a path parameter (one of the wrong type is a 404 as well: no such resource)
  and every change;
- 409: the change conflicts with the current state (an action's `Conflict`) — every change.

Operation-specific codes (410, 413, ...) are declared on the operation itself.
"""

# No `from __future__ import annotations` here: django-ninja reads the schema's annotations.

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import Schema
from ninja.parser import Parser


class ErrorOut(Schema):
    """An error: what is wrong, and the fields at fault."""

    detail: str
    errors: dict[str, list[str]]


ERROR_REF = "#/components/schemas/ErrorOut"
_CHANGES = {"post", "put", "patch", "delete"}
_DESCRIPTIONS = {
    400: "The request is not valid; `errors` names the fields at fault.",
    401: "No valid sign-in or API token.",
    403: "Not permitted (the role, the scope, the token's scopes, or a failed CSRF check).",
    404: "Not found, or not visible to the caller.",
    409: "The change conflicts with the current state.",
}


def error_codes(method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer, from its shape (see the module's docstring)."""
    params = operation.get("parameters", [])
    changes = method in _CHANGES
    codes = []
    if params or "requestBody" in operation or changes:
        codes.append(400)
    if operation.get("security"):
        codes += [401, 403]
    if changes or any(p.get("in") == "path" for p in params):
        codes.append(404)
    if changes:
        codes.append(409)
    return codes


def document_errors(schema: dict[str, Any], *, max_offset: int) -> dict[str, Any]:
    """Declare the error answers of every operation, all with the one `ErrorOut` body, and the
    bound on a page's `offset`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    body = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code in error_codes(method, operation):
                responses.setdefault(code, {"description": _DESCRIPTIONS[code], "content": body})
            for param in operation.get("parameters", []):
                if param.get("in") == "query" and param.get("name") == "offset":
                    param["schema"] = {**param["schema"], "minimum": 0, "maximum": max_offset}
    return schema


class ObjectParser(Parser):
    """JSON bodies are objects (or null for an optional body). Anything else is refused: an
    array or a number would otherwise pass as an empty payload (ninja's schemas read
    attributes), turning `[null]` into an accepted no-op change."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        if data is not None and not isinstance(data, dict):
            raise ValueError("the body is not a JSON object")
        if _has_nul(data):
            # PostgreSQL text cannot hold NUL: refused here for every field at once, rather
            # than a 500 from the database (or a field that SQLite stores and PostgreSQL not).
            raise ValueError("the body contains a NUL character")
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


@csrf_exempt  # it changes nothing; a POST to a wrong path is a 404, not a CSRF failure
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Anything under /api/ that no operation answers (an unknown path, or an id that is not a
    number): the API's 404, not the site's HTML page."""
    return JsonResponse(
        {"detail": _("Not found, or not visible to you."), "errors": {}}, status=404
    )
