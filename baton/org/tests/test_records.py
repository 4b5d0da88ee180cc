"""Contracts, agreements and lifecycle events (the records an exit is judged on), and the org
API's answers to bad input: a status that says what kind of problem it is, the field named,
the message in the caller's language, and nothing written."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import Client

from baton.access.models import Role, RoleAssignment, User
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.errors import Conflict, InvalidInput
from baton.org import actions
from baton.org.models import (
    Agreement,
    Contract,
    Department,
    Employee,
    LegalEntity,
    LifecycleEvent,
    Position,
)

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def admin(users: dict[str, Any]) -> Any:
    return users["admin"]


@pytest.fixture
def member(users: dict[str, Any]) -> Employee:
    """The demo employee in R&D (cloud-software unit)."""
    return Employee.objects.get(pk=users["employee"].employee_id)


@pytest.fixture
def outsider() -> Employee:
    person = Employee.objects.filter(business_unit__code="D").order_by("pk").first()
    assert person is not None
    return person


def _counts() -> tuple[int, int, int, int]:
    return (
        Contract.objects.count(),
        Agreement.objects.count(),
        LifecycleEvent.objects.count(),
        AuditEntry.objects.count(),
    )


def _next_sequence(emp: Employee) -> int:
    return max(emp.contracts.values_list("sequence", flat=True), default=0) + 1


def _contract_data(emp: Employee, **over: Any) -> dict[str, Any]:
    return {
        "employee_id": emp.pk,
        "legal_entity_id": emp.legal_entity_id,
        "contract_type": "fixed_term",
        "start_date": dt.date(2027, 1, 1),
        "end_date": dt.date(2029, 12, 31),
        "sequence": _next_sequence(emp),
        **over,
    }


def _json(client: Client, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


# ---------------------------------------------------------------- contracts


def test_a_contract_is_recorded_and_audited(admin: Any, member: Employee) -> None:
    contract = actions.create_contract(_contract_data(member), acting_user=admin)
    entry = AuditEntry.objects.latest("id")
    assert entry.event_type == E.CONTRACT_CREATED
    assert entry.subject_type == "org.contract" and entry.subject_id == str(contract.pk)
    assert entry.data["changes"]["contract_type"] == [None, "fixed_term"]


def test_a_contract_cannot_end_before_it_starts(admin: Any, member: Employee) -> None:
    before = _counts()
    with pytest.raises(InvalidInput):
        actions.create_contract(
            _contract_data(member, end_date=dt.date(2026, 12, 31)), acting_user=admin
        )
    assert _counts() == before


def test_an_open_ended_contract_has_no_end(admin: Any, member: Employee) -> None:
    contract = actions.create_contract(
        _contract_data(member, contract_type="open_ended", end_date=None), acting_user=admin
    )
    assert contract.end_date is None


def test_contract_numbers_are_unique_per_person_only(
    admin: Any, member: Employee, outsider: Employee
) -> None:
    taken = _next_sequence(member) - 1
    assert taken >= 1, "the demo employee has a contract"
    before = _counts()
    with pytest.raises(Conflict):
        actions.create_contract(_contract_data(member, sequence=taken), acting_user=admin)
    assert _counts() == before
    # Another person's first contract is number 1 too.
    first = _next_sequence(outsider)
    actions.create_contract(_contract_data(outsider, sequence=first), acting_user=admin)


def test_renumbering_a_contract_onto_another_is_a_conflict(admin: Any, member: Employee) -> None:
    a = actions.create_contract(_contract_data(member), acting_user=admin)
    b = actions.create_contract(
        _contract_data(member, start_date=dt.date(2030, 1, 1), end_date=None), acting_user=admin
    )
    with pytest.raises(Conflict):
        actions.update_contract(b, {"sequence": a.sequence}, acting_user=admin)
    b.refresh_from_db()
    assert b.sequence == a.sequence + 1


def test_moving_a_contract_s_end_before_its_start_is_refused(admin: Any, member: Employee) -> None:
    contract = actions.create_contract(_contract_data(member), acting_user=admin)
    with pytest.raises(InvalidInput):
        actions.update_contract(contract, {"end_date": dt.date(2026, 6, 30)}, acting_user=admin)
    contract.refresh_from_db()
    assert contract.end_date == dt.date(2029, 12, 31)


def test_a_contract_field_outside_the_list_cannot_be_changed(
    admin: Any, member: Employee, outsider: Employee
) -> None:
    contract = actions.create_contract(_contract_data(member), acting_user=admin)
    with pytest.raises(InvalidInput, match="cannot be changed"):
        actions.update_contract(contract, {"employee_id": outsider.pk}, acting_user=admin)
    contract.refresh_from_db()
    assert contract.employee_id == member.pk


def test_contracts_need_records_rights_over_the_person(
    users: dict[str, Any], member: Employee, outsider: Employee
) -> None:
    # Another unit's HR cannot even see the person.
    with pytest.raises(Http404):
        actions.create_contract(_contract_data(member), acting_user=users["hrbp.devices"])
    # Finance may read records but not write them; the head sees the person only.
    for who in ("finance", "head.rd", "employee"):
        with pytest.raises(PermissionDenied):
            actions.create_contract(_contract_data(member), acting_user=users[who])
    existing = outsider.contracts.first()
    assert existing is not None
    with pytest.raises(Http404):
        actions.update_contract(
            existing, {"signed_on": dt.date(2020, 1, 1)}, acting_user=users["hrbp.cloud"]
        )
    # Own unit's HR may.
    actions.create_contract(_contract_data(member), acting_user=users["hrbp.cloud"])


def test_a_contract_without_an_employee_is_named(admin: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        actions.create_contract({"contract_type": "fixed_term"}, acting_user=admin)
    assert "employee" in exc.value.field_errors


# ---------------------------------------------------------------- agreements


def test_an_agreement_with_terms_and_a_document(admin: Any, member: Employee) -> None:
    body = b"%PDF-1.7 non-compete"
    agreement = actions.create_agreement(
        {
            "employee_id": member.pk,
            "agreement_type": "non_compete",
            "signed_on": dt.date(2024, 5, 1),
            "terms": {"months": 12, "monthly_compensation": "6000"},
        },
        acting_user=admin,
        document=SimpleUploadedFile("nc.pdf", body, content_type="application/pdf"),
    )
    assert agreement.document_sha256 == hashlib.sha256(body).hexdigest()
    assert agreement.terms["months"] == 12
    with agreement.document.open("rb") as f:
        assert f.read() == body


def test_replacing_the_document_replaces_its_digest(admin: Any, member: Employee) -> None:
    agreement = actions.create_agreement(
        {"employee_id": member.pk, "agreement_type": "nda", "signed_on": dt.date(2024, 5, 2)},
        acting_user=admin,
    )
    assert agreement.document_sha256 == ""
    png = b"\x89PNG\r\n\x1a\nscan"
    actions.update_agreement(
        agreement,
        {"effective_until": dt.date(2027, 5, 1)},
        acting_user=admin,
        document=SimpleUploadedFile("scan.png", png, content_type="image/png"),
    )
    agreement.refresh_from_db()
    assert agreement.document_sha256 == hashlib.sha256(png).hexdigest()
    entry = AuditEntry.objects.latest("id")
    assert entry.event_type == E.AGREEMENT_UPDATED
    assert entry.data["changes"]["document_sha256"] == ["", hashlib.sha256(png).hexdigest()]


def test_an_oversized_document_is_refused_and_nothing_written(admin: Any, member: Employee) -> None:
    big = SimpleUploadedFile(
        "big.pdf", b"0" * (actions.MAX_DOCUMENT_BYTES + 1), content_type="application/pdf"
    )
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        actions.create_agreement(
            {"employee_id": member.pk, "agreement_type": "nda", "signed_on": dt.date(2024, 5, 3)},
            acting_user=admin,
            document=big,
        )
    assert "20 MB" in exc.value.field_errors["document"][0]
    assert _counts() == before


def test_a_document_of_exactly_the_limit_is_accepted(admin: Any, member: Employee) -> None:
    exact = SimpleUploadedFile(
        "max.pdf", b"0" * actions.MAX_DOCUMENT_BYTES, content_type="application/pdf"
    )
    agreement = actions.create_agreement(
        {"employee_id": member.pk, "agreement_type": "nda", "signed_on": dt.date(2024, 5, 4)},
        acting_user=admin,
        document=exact,
    )
    assert agreement.document_sha256


def test_a_document_view_is_audited_with_its_digest(admin: Any, member: Employee) -> None:
    agreement = actions.create_agreement(
        {"employee_id": member.pk, "agreement_type": "nda", "signed_on": dt.date(2024, 5, 5)},
        acting_user=admin,
        document=SimpleUploadedFile("n.pdf", b"%PDF x", content_type="application/pdf"),
    )
    actions.record_document_view(agreement, acting_user=admin)
    entry = AuditEntry.objects.latest("id")
    assert entry.event_type == E.AGREEMENT_DOCUMENT_VIEWED
    assert entry.data["extra"]["sha256"] == agreement.document_sha256


def test_agreements_of_another_unit_are_not_reachable(
    users: dict[str, Any], outsider: Employee, admin: Any
) -> None:
    agreement = actions.create_agreement(
        {"employee_id": outsider.pk, "agreement_type": "nda", "signed_on": dt.date(2024, 5, 6)},
        acting_user=admin,
    )
    with pytest.raises(Http404):
        actions.update_agreement(agreement, {"terms": {"x": 1}}, acting_user=users["hrbp.cloud"])
    agreement.refresh_from_db()
    assert agreement.terms == {}


# ---------------------------------------------------------------- lifecycle events


def test_a_hire_records_the_hire_event_on_the_hire_date(admin: Any) -> None:
    entity = LegalEntity.objects.get(code="CSH")
    dept = Department.objects.filter(business_unit__code="C", parent__isnull=False).first()
    assert dept is not None
    emp = actions.create_employee(
        {
            "name": "入职事件",
            "legal_entity_id": entity.pk,
            "department_id": dept.pk,
            "position_id": Position.objects.get(code="ENG-QA").pk,
            "work_city_id": entity.city_id,
            "hire_date": dt.date(2026, 7, 1),
        },
        acting_user=admin,
    )
    events = list(emp.lifecycle_events.values_list("event_type", "effective_date"))
    assert events == [("hire", dt.date(2026, 7, 1))]


def test_a_lifecycle_event_is_recorded_and_audited(admin: Any, member: Employee) -> None:
    event = actions.record_lifecycle_event(
        {
            "employee_id": member.pk,
            "event_type": "retention_raise",
            "effective_date": dt.date(2026, 4, 1),
            "details": {"pct": 15},
            "note": "挽留",
        },
        acting_user=admin,
    )
    entry = AuditEntry.objects.latest("id")
    assert entry.event_type == E.LIFECYCLE_EVENT_RECORDED
    assert entry.subject_id == str(event.pk)
    assert entry.data["changes"]["details"] == [None, {"pct": 15}]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_type": "promoted"}, "event_type"),
        ({"note": "x" * 501}, "note"),
        ({"effective_date": None}, "effective_date"),
    ],
)
def test_a_bad_lifecycle_event_is_refused(
    admin: Any, member: Employee, change: dict[str, Any], field: str
) -> None:
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        actions.record_lifecycle_event(
            {
                "employee_id": member.pk,
                "event_type": "promotion",
                "effective_date": dt.date(2026, 4, 1),
                **change,
            },
            acting_user=admin,
        )
    assert field in exc.value.field_errors
    assert _counts() == before


# ---------------------------------------------------------------- API: statuses and fields


@pytest.fixture
def hire_body() -> dict[str, Any]:
    dept = Department.objects.filter(business_unit__code="C", parent__isnull=False).first()
    assert dept is not None
    entity = LegalEntity.objects.get(code="CSH")
    return {
        "name": "接口新人",
        "legal_entity_id": entity.pk,
        "department_id": dept.pk,
        "position_id": Position.objects.get(code="ENG-SWE").pk,
        "work_city_id": entity.city_id,
        "hire_date": "2026-03-02",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"position_id": 99999999}, "position"),
        ({"work_city_id": 99999999}, "work_city"),
        ({"manager_id": 99999999}, "manager"),
        ({"name": "名" * 101}, "name"),
        ({"phone": "1" * 33}, "phone"),
        ({"hire_date": None}, "hire_date"),
    ],
)
def test_more_bad_employee_input_names_the_field(
    client_as: Any, hire_body: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    before = (Employee.objects.count(), AuditEntry.objects.count())
    response = _json(client_as("admin"), "post", "/api/org/employees", {**hire_body, **change})
    assert response.status_code == 400, response.content
    assert any(field in key for key in response.json()["errors"]), response.json()
    assert (Employee.objects.count(), AuditEntry.objects.count()) == before


def test_an_employee_number_given_twice_is_a_conflict(
    client_as: Any, hire_body: dict[str, Any], member: Employee
) -> None:
    before = Employee.objects.count()
    response = _json(
        client_as("admin"),
        "post",
        "/api/org/employees",
        {**hire_body, "employee_number": member.employee_number},
    )
    assert response.status_code == 409
    assert Employee.objects.count() == before


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"contract_type": "forever"}, 400, "contract_type"),
        ({"sequence": 0}, 400, "sequence"),
        ({"sequence": 100}, 400, "sequence"),
        ({"start_date": "2027-02-30"}, 400, "start_date"),
        ({"legal_entity_id": 99999999}, 400, "legal_entity"),
        ({"employee_id": 99999999}, 404, None),
    ],
)
def test_contract_api_input(
    client_as: Any,
    member: Employee,
    change: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    body = {
        "employee_id": member.pk,
        "legal_entity_id": member.legal_entity_id,
        "contract_type": "fixed_term",
        "start_date": "2027-01-01",
        "sequence": _next_sequence(member),
        **change,
    }
    before = _counts()
    response = _json(client_as("admin"), "post", "/api/org/contracts", body)
    assert response.status_code == status, response.content
    if field:
        assert any(field in key for key in response.json()["errors"]), response.json()
    assert _counts() == before


def test_contract_api_end_before_start_and_clash(client_as: Any, member: Employee) -> None:
    client = client_as("admin")
    body = {
        "employee_id": member.pk,
        "legal_entity_id": member.legal_entity_id,
        "contract_type": "fixed_term",
        "start_date": "2027-01-01",
        "end_date": "2026-01-01",
        "sequence": _next_sequence(member),
    }
    before = _counts()
    assert _json(client, "post", "/api/org/contracts", body).status_code == 400
    clash = _json(client, "post", "/api/org/contracts", {**body, "end_date": None, "sequence": 1})
    assert clash.status_code == 409
    assert _counts() == before


def test_contract_api_scope(client_as: Any, member: Employee) -> None:
    body = {
        "employee_id": member.pk,
        "legal_entity_id": member.legal_entity_id,
        "contract_type": "open_ended",
        "start_date": "2027-01-01",
        "sequence": _next_sequence(member),
    }
    assert _json(client_as("hrbp.devices"), "post", "/api/org/contracts", body).status_code == 404
    assert _json(client_as("finance"), "post", "/api/org/contracts", body).status_code == 403
    ok = _json(client_as("hrbp.cloud"), "post", "/api/org/contracts", body)
    assert ok.status_code == 201, ok.content
    contract_id = ok.json()["id"]
    other = client_as("hrbp.devices")
    assert other.get(f"/api/org/contracts/{contract_id}").status_code == 404
    assert (
        _json(
            other, "patch", f"/api/org/contracts/{contract_id}", {"signed_on": "2027-01-01"}
        ).status_code
        == 404
    )
    # The employee reads their own contract; a colleague's is not there.
    assert client_as("employee").get(f"/api/org/contracts/{contract_id}").status_code == 200
    assert client_as("receiver").get(f"/api/org/contracts/{contract_id}").status_code == 404


def test_agreement_and_event_api_validation(client_as: Any, member: Employee) -> None:
    client = client_as("admin")
    before = _counts()
    bad_type = _json(
        client,
        "post",
        "/api/org/agreements",
        {"employee_id": member.pk, "agreement_type": "secret", "signed_on": "2026-01-01"},
    )
    assert bad_type.status_code == 400
    assert any("agreement_type" in k for k in bad_type.json()["errors"])
    bad_terms = _json(
        client,
        "post",
        "/api/org/agreements",
        {
            "employee_id": member.pk,
            "agreement_type": "nda",
            "signed_on": "2026-01-01",
            "terms": ["not", "an", "object"],
        },
    )
    assert bad_terms.status_code == 400
    bad_event = _json(
        client,
        "post",
        "/api/org/lifecycle-events",
        {"employee_id": member.pk, "event_type": "fired", "effective_date": "2026-01-01"},
    )
    assert bad_event.status_code == 400
    assert any("event_type" in k for k in bad_event.json()["errors"])
    assert _counts() == before
    good = _json(
        client,
        "post",
        "/api/org/lifecycle-events",
        {"employee_id": member.pk, "event_type": "transfer", "effective_date": "2026-01-01"},
    )
    assert good.status_code == 201
    # History is written once: there is no way to change an event afterwards.
    patched = _json(
        client, "patch", f"/api/org/lifecycle-events/{good.json()['id']}", {"note": "改"}
    )
    assert patched.status_code in (404, 405)


def test_records_lists_filter_by_employee_within_the_scope(
    client_as: Any, member: Employee, outsider: Employee
) -> None:
    client = client_as("hrbp.cloud")
    mine = client.get(f"/api/org/lifecycle-events?employee={member.pk}&limit=500").json()
    assert mine["count"] == member.lifecycle_events.count() > 0
    assert {e["employee_id"] for e in mine["items"]} == {member.pk}
    theirs = client.get(f"/api/org/lifecycle-events?employee={outsider.pk}").json()
    assert theirs["count"] == 0
    agreements = client.get(f"/api/org/agreements?employee={outsider.pk}").json()
    assert agreements["count"] == 0


@pytest.fixture
def english_admin() -> Client:
    user = User.objects.create(username="admin.en", display_name="Admin EN", language="en")
    RoleAssignment.objects.create(user=user, role=Role.GROUP_ADMIN)
    client = Client(headers={"host": "127.0.0.1"})
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("url", "body_of"),
    [
        ("/api/org/employees", lambda h, m: {**h, "department_id": 99999999}),
        ("/api/org/employees", lambda h, m: {**h, "manager_id": m.pk, "hire_date": "2026-02-30"}),
        (
            "/api/org/departments",
            lambda h, m: {
                "code": "X9",
                "name": "x",
                "business_unit_id": m.business_unit_id,
                "parent_id": 99999999,
            },
        ),
    ],
)
def test_errors_come_in_the_caller_s_language(
    client_as: Any,
    english_admin: Client,
    hire_body: dict[str, Any],
    member: Employee,
    url: str,
    body_of: Any,
) -> None:
    body = body_of(hire_body, member)
    zh = _json(client_as("admin"), "post", url, body)
    en = _json(english_admin, "post", url, body)
    assert zh.status_code == en.status_code == 400
    zh_text = json.dumps(zh.json(), ensure_ascii=False)
    en_text = json.dumps(en.json(), ensure_ascii=False)
    assert CJK.search(zh_text), zh_text
    assert not CJK.search(en_text), en_text
    # Same fields named in both languages.
    assert set(zh.json()["errors"]) == set(en.json()["errors"])


def test_a_moved_department_out_of_the_unit_via_the_api_is_refused_in_english(
    english_admin: Client,
) -> None:
    c_dept = Department.objects.filter(business_unit__code="C", parent__isnull=False).first()
    d_dept = Department.objects.filter(business_unit__code="D").first()
    assert c_dept is not None and d_dept is not None
    response = _json(
        english_admin, "patch", f"/api/org/departments/{c_dept.pk}", {"parent_id": d_dept.pk}
    )
    assert response.status_code == 400
    assert response.json()["errors"]["parent"] == [
        "The parent department is in another business unit."
    ]
