"""The API answers bad input with clear, translated errors and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from baton.audit.models import AuditEntry
from baton.org.models import BusinessUnit, Department, Employee, LegalEntity, Position

pytestmark = pytest.mark.django_db


def _post(client: Any, url: str, body: dict[str, Any], method: str = "post") -> Any:
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def hire(demo_data: None) -> dict[str, Any]:
    dept = Department.objects.filter(business_unit__code="C", parent__isnull=False).first()
    assert dept is not None
    entity = LegalEntity.objects.get(code="CSH")
    return {
        "name": "新同事",
        "legal_entity_id": entity.pk,
        "department_id": dept.pk,
        "position_id": Position.objects.get(code="ENG-SWE").pk,
        "work_city_id": entity.city_id,
        "hire_date": "2026-03-02",
    }


@pytest.mark.smoke
def test_create_employee_assigns_a_unified_number_and_audits(
    client_as: Any, hire: dict[str, Any]
) -> None:
    response = _post(client_as("hrbp.cloud"), "/api/org/employees", hire)
    assert response.status_code == 201, response.content
    body = response.json()
    # group HX + BU C + hire year 26 + sequence
    assert body["employee_number"].startswith("HXC26")
    assert len(body["employee_number"]) == len("HXC26") + 5
    entry = AuditEntry.objects.latest("id")
    assert entry.subject_type == "org.employee" and entry.subject_id == str(body["id"])
    assert entry.data["changes"]["name"] == [None, "新同事"]


def test_numbers_are_unique_and_sequential(client_as: Any, hire: dict[str, Any]) -> None:
    client = client_as("admin")
    numbers = [
        _post(client, "/api/org/employees", hire).json()["employee_number"] for _ in range(3)
    ]
    assert len(set(numbers)) == 3
    assert sorted(numbers) == numbers


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hire_date": "2026-02-30"}, "hire_date"),
        ({"name": ""}, "name"),
        ({"department_id": 999999}, "department"),
        ({"legal_entity_id": 999999}, "legal_entity"),
        ({"status": "retired"}, "status"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_bad_employee_input_is_400_with_the_field_named(
    client_as: Any, hire: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    before = (Employee.objects.count(), AuditEntry.objects.count())
    response = _post(client_as("admin"), "/api/org/employees", {**hire, **change})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"]
    assert any(field in key for key in body["errors"]), body
    assert (Employee.objects.count(), AuditEntry.objects.count()) == before


def test_errors_are_translated(client_as: Any, hire: dict[str, Any]) -> None:
    zh = _post(
        client_as("admin", **{"accept-language": "zh-hans"}),
        "/api/org/employees",
        {**hire, "department_id": 999999},
    )
    en = _post(client_as("admin"), "/api/org/employees", {**hire, "department_id": 999999})
    # The admin user's language is zh-hans; English comes with an English-speaking user.
    assert "部门" in json.dumps(zh.json(), ensure_ascii=False)
    assert en.status_code == zh.status_code == 400


def test_malformed_json_is_400(client_as: Any) -> None:
    response = client_as("admin").post(
        "/api/org/employees", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_duplicate_code_is_409_and_nothing_written(client_as: Any) -> None:
    existing = BusinessUnit.objects.get(code="C")
    before = AuditEntry.objects.count()
    response = _post(
        client_as("admin"), "/api/org/business-units", {"code": existing.code, "name": "重复"}
    )
    assert response.status_code == 409, response.content
    assert response.json()["errors"], "the clash is named"
    assert BusinessUnit.objects.filter(code="C").count() == 1
    assert AuditEntry.objects.count() == before


def test_manager_cycle_is_refused(client_as: Any, users: dict[str, Any]) -> None:
    emp = Employee.objects.get(pk=users["employee"].employee_id)
    manager = emp.manager
    assert manager is not None
    response = _post(
        client_as("admin"),
        f"/api/org/employees/{manager.pk}",
        {"manager_id": emp.pk},
        method="patch",
    )
    assert response.status_code == 400
    assert "manager" in response.json()["errors"]


def test_termination_before_hire_is_refused(client_as: Any, users: dict[str, Any]) -> None:
    emp = Employee.objects.get(pk=users["employee"].employee_id)
    response = _post(
        client_as("admin"),
        f"/api/org/employees/{emp.pk}",
        {"termination_date": "1999-01-01"},
        method="patch",
    )
    assert response.status_code == 400
    emp.refresh_from_db()
    assert emp.termination_date is None


def test_hr_cannot_move_someone_out_of_their_scope(client_as: Any, users: dict[str, Any]) -> None:
    emp = Employee.objects.get(pk=users["employee"].employee_id)
    other_bu_dept = Department.objects.filter(business_unit__code="D").first()
    assert other_bu_dept is not None
    response = _post(
        client_as("hrbp.cloud"),
        f"/api/org/employees/{emp.pk}",
        {"department_id": other_bu_dept.pk},
        method="patch",
    )
    assert response.status_code == 403
    emp.refresh_from_db()
    assert emp.department.business_unit.code == "C"


def test_unknown_id_is_404(client_as: Any) -> None:
    assert client_as("admin").get("/api/org/employees/99999999").status_code == 404


def test_invalid_token_is_401(client_as: Any) -> None:
    client = client_as(None, authorization="Bearer btn_nonsense")
    assert client.get("/api/org/employees").status_code == 401


def test_token_is_narrowed_to_its_scopes(
    client_as: Any, users: dict[str, Any], hire: dict[str, Any]
) -> None:
    from baton.access import actions

    admin = users["admin"]
    _token, raw = actions.create_token(admin, "crm", ["org:read"], acting_user=admin)
    client = client_as(None, authorization=f"Bearer {raw}")
    assert client.get("/api/org/employees").status_code == 200
    assert _post(client, "/api/org/employees", hire).status_code == 403
    assert client.get("/api/audit/entries").status_code == 403
    # A token cannot mint a wider token.
    assert (
        _post(client, "/api/access/tokens", {"name": "x", "scopes": ["org:write"]}).status_code
        == 403
    )


def test_employee_list_query_count_is_constant(client_as: Any) -> None:
    client = client_as("hrbp.cloud")
    client.get("/api/org/employees?limit=5")
    with CaptureQueriesContext(connection) as small:
        client.get("/api/org/employees?limit=5")
    with CaptureQueriesContext(connection) as large:
        client.get("/api/org/employees?limit=100")
    assert len(small) == len(large) <= 6, [q["sql"] for q in large.captured_queries]


def test_employee_page_query_count_is_constant(client_as: Any) -> None:
    client = client_as("admin")
    client.get("/people/")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/people/")
    assert response.status_code == 200
    assert len(ctx) <= 8, [q["sql"] for q in ctx.captured_queries]


def test_search_filters(client_as: Any, users: dict[str, Any]) -> None:
    emp = Employee.objects.get(pk=users["employee"].employee_id)
    body = client_as("admin").get(f"/api/org/employees?q={emp.employee_number}").json()
    assert [e["id"] for e in body["items"]] == [emp.pk]
