"""The REST API against its own OpenAPI schema: schemathesis generates valid and invalid requests
for every operation and checks every answer with all of schemathesis's checks but the two named
in _CONFIG (no server error, only documented status codes, bodies, headers and content types as
declared, authentication enforced, unsupported methods refused, ...).

It runs in-process through Django's WSGI handler, inside the test's transaction (the demo data,
rolled back afterwards), as an administrator and as the least-privileged demo role, each with a
bearer token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from baton.access import actions as access_actions
from baton.access.models import TokenScope, User


class _App(WSGIHandler):
    # The real handler, CSRF enforced: a bearer token is decided before the session's check.

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        # Cases are built (some at collection) before the test's token exists: they carry the
        # role's name, swapped here for the token issued inside the test's transaction.
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth.startswith(_ROLE_MARK):
            environ["HTTP_AUTHORIZATION"] = "Bearer " + _TOKEN[auth.removeprefix(_ROLE_MARK)]
        return super().__call__(environ, start_response)


# Examples per operation and role (the coverage phase adds its boundary cases on top).
EXAMPLES = 5
_CONFIG: dict[str, Any] = {
    "generation": {"max-examples": EXAMPLES},
    "checks": {
        # Every other check runs. These two are not applicable as they stand:
        # - positive_data_acceptance expects every schema-valid request to succeed, but the
        #   API validates what a schema cannot say: an id must name an existing record the
        #   caller sees, a URL must be http(s) with a host, an e-mail channel needs a host
        #   setting, a model field's length. Those answers are documented 400s with the
        #   ErrorOut body, which status_code_conformance and the schema checks verify.
        # - negative_data_rejection expects every schema-violating value to be refused, but
        #   pydantic's lax mode deliberately accepts values that convert without loss (0/1
        #   for a boolean, false for 0, a number of seconds for a date in a query string).
        #   What is not lax (a body that is not a JSON object) is refused: test_api_contract.py.
        "positive_data_acceptance": {"enabled": False},
        "negative_data_rejection": {"enabled": False},
    },
}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The token of the role under test; issued inside each test's transaction by `token_for`.
_TOKEN: dict[str, str] = {}
_ROLE_MARK = "Bearer role:"


def _load(role: str, *, coverage: bool) -> Any:
    # The coverage phase sends every boundary and type-breaking value the schema implies (a
    # huge offset, a non-numeric id, ...): as the administrator, who reaches every handler.
    # The least-privileged role mostly meets 403s, so random examples suffice there.
    config = SchemathesisConfig.from_dict(
        {**_CONFIG, "phases": {"coverage": {"enabled": coverage}}}
    )
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", _App(), config=config)

    @loaded.auth(refresh_interval=None)
    class _Bearer:
        def get(self, case: Any, ctx: Any) -> str:
            return role

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": _ROLE_MARK + data}

    return loaded


admin_schema = _load("admin", coverage=True)
employee_schema = _load("employee", coverage=False)


@pytest.fixture
def _in_test_transaction() -> Iterator[None]:
    # Django closes "obsolete" connections around each request; inside the test's transaction
    # that would close it. Django's own test client disconnects the same handlers.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token_for(demo_data: None, _in_test_transaction: None) -> Iterator[Any]:
    def issue(username: str) -> None:
        user = User.objects.get(username=username)
        _token, raw = access_actions.create_token(
            user, "schemathesis", TokenScope.values, acting_user=user
        )
        _TOKEN[username] = raw

    yield issue
    _TOKEN.clear()


def _call(case: Any) -> None:
    # Each request in a savepoint rolled back after it: an example's writes (a created record,
    # a deactivated user) never change what the next one meets.
    with transaction.atomic():
        case.call_and_validate()
        transaction.set_rollback(True)


@admin_schema.parametrize()
@FUZZ
def test_api_as_admin(case: Any, token_for: Any) -> None:
    token_for("admin")
    _call(case)


@employee_schema.parametrize()
@FUZZ
def test_api_as_employee(case: Any, token_for: Any) -> None:
    token_for("employee")
    _call(case)
