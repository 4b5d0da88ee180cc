"""The API's contract, case by case: what the schema declares and what the API answers where
the schema fuzzing (test_api_schema.py) found them apart."""

from __future__ import annotations

from typing import Any

import pytest

from baton.core.api_crud import MAX_OFFSET

pytestmark = pytest.mark.smoke

ERROR = {"$ref": "#/components/schemas/ErrorOut"}


@pytest.fixture
def openapi(client_as: Any) -> dict[str, Any]:
    return client_as(None).get("/api/openapi.json").json()


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in openapi["paths"].items() for m, op in item.items()]


def test_every_error_answer_is_declared_with_the_one_error_schema(openapi: dict) -> None:
    assert openapi["components"]["schemas"]["ErrorOut"]["required"] == ["detail", "errors"]
    for method, path, op in _operations(openapi):
        codes = {int(c) for c in op["responses"]}
        if op.get("security"):
            assert {401, 403} <= codes, (method, path)
        if "{" in path or method in ("post", "put", "patch", "delete"):
            assert 404 in codes, (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert {400, 409} <= codes, (method, path)
        for code, response in op["responses"].items():
            if int(code) >= 400:
                assert response["content"]["application/json"]["schema"] == ERROR, (path, code)
    # Not claimed where it cannot happen: a read without parameters has no 400 to give.
    me = openapi["paths"]["/api/access/me"]["get"]["responses"]
    assert "400" not in me and "404" not in me


def test_schema_names_are_not_shared_by_two_models(openapi: dict) -> None:
    # Two models named RuleOut (notify, compliance) shared one component: /notify/rules was
    # declared to answer compliance rules. Each resource's answer is its own model now.
    rules = openapi["paths"]["/api/notify/rules"]["get"]["responses"]["200"]["content"]
    page = rules["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    item = openapi["components"]["schemas"][page]["properties"]["items"]["items"]["$ref"]
    rule = openapi["components"]["schemas"][item.rsplit("/", 1)[1]]
    assert {"audience", "offset", "channels"} <= set(rule["properties"])


@pytest.mark.parametrize("path", ["/api/org/positions", "/api/org/cities", "/api/audit/entries"])
def test_an_offset_out_of_range_is_a_400_naming_it(client_as: Any, path: str) -> None:
    admin = client_as("admin", **{"accept-language": "en"})
    huge = 4531 * 10**30  # was a 500: the database's OFFSET is 64-bit
    for offset in (huge, MAX_OFFSET + 1, -1):
        response = admin.get(f"{path}?offset={offset}")
        assert response.status_code == 400, (offset, response.content)
        assert list(response.json()["errors"]) == ["offset"]
    page = admin.get(f"{path}?offset={MAX_OFFSET}&limit=5")
    assert page.status_code == 200 and page.json()["items"] == []


def test_the_offset_bound_is_in_the_schema(openapi: dict) -> None:
    params = openapi["paths"]["/api/org/positions"]["get"]["parameters"]
    offset = next(p for p in params if p["name"] == "offset")
    assert offset["schema"]["minimum"] == 0 and offset["schema"]["maximum"] == MAX_OFFSET


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/org/employees/abc"),
        ("patch", "/api/org/employees/abc"),
        ("get", "/api/handover/templates/1.5"),
        ("post", "/api/no-such-thing"),
    ],
)
def test_an_unmatched_api_path_is_the_api_json_404(client_as: Any, method: str, path: str) -> None:
    # It was Django's HTML 404 page (the int path converter does not match "abc").
    response = getattr(client_as("admin"), method)(path, content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail", "errors"}


@pytest.mark.parametrize("body", ["[null, null]", "5", '"x"'])
def test_a_body_that_is_not_a_json_object_is_refused(client_as: Any, body: str) -> None:
    # Every field of the patch is optional, and ninja's schemas read attributes: `[null, null]`
    # passed as an empty change (200).
    response = client_as("admin").patch("/api/access/me", body, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"detail", "errors"}


def test_a_null_in_the_group_patch_leaves_the_field_unchanged(client_as: Any) -> None:
    admin = client_as("admin")
    before = admin.get("/api/org/group").json()
    response = admin.patch(
        "/api/org/group",
        {"name": "Renamed", "employee_number_pattern": None},
        content_type="application/json",
    )  # was a 500
    assert response.status_code == 200, response.content
    after = response.json()
    assert after["name"] == "Renamed"
    assert after["employee_number_pattern"] == before["employee_number_pattern"]


@pytest.mark.parametrize(
    "body",
    [
        '{"code": "a\\u0000b", "name": "x"}',
        '{"name": "x", "code": "fam", "extra": ["ok", "n\\u0000"]}',
    ],
)
def test_a_nul_character_anywhere_in_a_body_is_a_400(client_as: Any, body: str) -> None:
    # PostgreSQL text cannot hold NUL: a position family with one in its code was a 500
    # (found by schemathesis); SQLite stored it. Refused for every field, on both databases.
    response = client_as("admin").post(
        "/api/org/position-families", body, content_type="application/json"
    )
    assert response.status_code == 400 and set(response.json()) == {"detail", "errors"}
