"""Duplicate people across business units: found by ID number hash, phone and email, scoped to
what the user may see, merged by HR with the history moving to the kept record."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.errors import Conflict, InvalidInput
from baton.org import actions as org_actions
from baton.org import idcard
from baton.org.actions_merge import merge_employees
from baton.org.duplicates import existing_matches, find_duplicates, normal_phone
from baton.org.models import (
    AttendanceDay,
    CompensationChange,
    Department,
    Employee,
    LeaveRecord,
    LegalEntity,
    PerformanceRating,
    Position,
)

pytestmark = pytest.mark.django_db
ID_A = "11010519491231002X"
ID_B = "440305199003071236"


class Hire:
    """Creates people in a business unit (cloud software "C" or devices "D") as group HR."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.n = 0

    def __call__(self, bu: str, *, id_number: str = "", **data: Any) -> Employee:
        self.n += 1
        dept = (
            Department.objects.filter(business_unit__code=bu, parent__isnull=False)
            .order_by("path")
            .first()
        )
        entity = LegalEntity.objects.filter(business_unit__code=bu).order_by("code").first()
        assert dept is not None and entity is not None
        values = {
            "name": f"测试{self.n}",
            "legal_entity_id": entity.pk,
            "department_id": dept.pk,
            "position_id": Position.objects.order_by("code").first().pk,  # type: ignore[union-attr]
            "work_city_id": entity.city_id,
            "hire_date": dt.date(2025, 6, 1),
            **data,
        }
        emp = org_actions.create_employee(values, acting_user=self.admin)
        if id_number:
            idcard.seal(emp, id_number)
            emp.save(update_fields=list(idcard.SEALED_FIELDS))
        return emp


@pytest.fixture
def hire(users: dict[str, Any]) -> Hire:
    return Hire(users["admin"])


def _groups(user: Any) -> list[tuple[list[str], set[int]]]:
    return [(g.reasons, set(g.employee_ids)) for g in find_duplicates(user)]


# ---------------------------------------------------------------- finding


def test_the_demo_group_has_no_duplicates(users: dict[str, Any]) -> None:
    assert find_duplicates(users["admin"]) == []


def test_normal_phone() -> None:
    assert normal_phone("+86 138-0013-8000") == "13800138000"
    assert normal_phone("0086 (138) 0013.8000") == "13800138000"
    assert normal_phone("８６１３８００１３８０００") == "13800138000"
    assert normal_phone("13800138000") == "13800138000"
    assert normal_phone("") == ""


def test_same_id_number_across_units(hire: Hire, users: dict[str, Any]) -> None:
    a = hire("C", id_number=ID_A)
    b = hire("D", id_number="110105491231002")  # the same person's first-generation card
    assert _groups(users["admin"]) == [(["id_number"], {a.pk, b.pk})]


def test_same_phone_written_differently(hire: Hire, users: dict[str, Any]) -> None:
    a = hire("C", phone="+86 138-0013-8000")
    b = hire("D", phone="13800138000")
    c = hire("D", phone="0086 138 0013 8000")
    hire("D", phone="13800138001")
    assert _groups(users["admin"]) == [(["phone"], {a.pk, b.pk, c.pk})]


def test_same_email_in_any_case(hire: Hire, users: dict[str, Any]) -> None:
    a = hire("C", email="Li.Wei@Example.com")
    b = hire("D", email="li.wei@example.com")
    assert _groups(users["admin"]) == [(["email"], {a.pk, b.pk})]


def test_evidence_joins_into_one_group_with_every_reason(hire: Hire, users: dict[str, Any]) -> None:
    a = hire("C", id_number=ID_A, email="wang@hx.example")
    b = hire("D", id_number=ID_A, email="WANG@hx.example", phone="13900000001")
    c = hire("D", phone="+8613900000001")  # same phone as b only: joins through b
    other = hire("C", id_number=ID_B)
    groups = find_duplicates(users["admin"])
    assert len(groups) == 1
    assert groups[0].reasons == ["id_number", "phone", "email"]
    assert set(groups[0].employee_ids) == {a.pk, b.pk, c.pk}
    assert other.pk not in groups[0].employee_ids
    assert groups[0].business_unit_ids == {a.business_unit_id, b.business_unit_id}


def test_a_business_unit_hr_sees_only_their_unit(hire: Hire, users: dict[str, Any]) -> None:
    hire("C", id_number=ID_A)
    hire("D", id_number=ID_A)  # across units: only group HR sees the pair
    c1, c2 = hire("C", phone="13700000000"), hire("C", phone="137 0000 0000")
    assert len(_groups(users["admin"])) == 2
    assert _groups(users["hrbp.cloud"]) == [(["phone"], {c1.pk, c2.pk})]
    assert _groups(users["hrbp.devices"]) == []
    assert _groups(users["employee"]) == []


def test_merged_records_are_not_duplicates_any_more(hire: Hire, users: dict[str, Any]) -> None:
    a, b = hire("C", email="x@hx.example"), hire("D", email="x@hx.example")
    merge_employees(a, b, acting_user=users["admin"], reason="同一人")
    assert find_duplicates(users["admin"]) == []


def test_finding_takes_the_same_few_queries_however_many_groups(
    hire: Hire, users: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    for i in range(12):
        hire("C", phone=f"1360000{i:04d}")
        hire("D", phone=f"+86 1360000{i:04d}", email=f"p{i}@hx.example")
        hire("C", email=f"P{i}@hx.example")
    admin = users["admin"]
    find_duplicates(admin)  # the user's scopes are computed once and cached
    with django_assert_max_num_queries(4):
        groups = find_duplicates(admin)
    assert len(groups) == 12 and all(g.reasons == ["phone", "email"] for g in groups)
    # The employees come with what the page shows, without further queries.
    with django_assert_max_num_queries(0):
        [(e.business_unit.name, e.department.name) for g in groups for e in g.employees]
    assert len(find_duplicates(admin, limit=5)) == 5


def test_existing_matches_for_an_import_chunk(
    hire: Hire, users: dict[str, Any], django_assert_num_queries: Any
) -> None:
    a = hire("C", id_number=ID_A, phone="+86 138-0013-8000")
    b = hire("D", email="Li@HX.example")
    merged = hire("D", email="li@hx.example")
    merge_employees(b, merged, acting_user=users["admin"], reason="同一人")
    with django_assert_num_queries(1):
        found = existing_matches(
            a.group_id,
            {idcard.lookup_hash("110105491231002"), "f" * 64},
            {"13800138000", "13900000000"},
            {"li@hx.example", "nobody@hx.example"},
        )
    assert found == {
        ("id", idcard.lookup_hash(ID_A)): [(a.pk, a.business_unit_id)],
        ("phone", "13800138000"): [(a.pk, a.business_unit_id)],
        ("email", "li@hx.example"): [(b.pk, b.business_unit_id)],
    }
    assert existing_matches(a.group_id, set(), set(), {""}) == {}


# ---------------------------------------------------------------- merging


def _history(emp: Employee, admin: Any) -> None:
    org_actions.create_contract(
        {
            "employee_id": emp.pk,
            "legal_entity_id": emp.legal_entity_id,
            "contract_type": "fixed_term",
            "start_date": dt.date(2025, 6, 1),
            "end_date": dt.date(2028, 5, 31),
        },
        acting_user=admin,
    )
    org_actions.create_agreement(
        {"employee_id": emp.pk, "agreement_type": "nda", "signed_on": dt.date(2025, 6, 1)},
        acting_user=admin,
    )
    AttendanceDay.objects.create(employee=emp, date=dt.date(2025, 6, 2))
    AttendanceDay.objects.create(employee=emp, date=dt.date(2025, 6, 3))
    LeaveRecord.objects.create(
        employee=emp,
        leave_type="annual",
        start_date=dt.date(2025, 7, 1),
        end_date=dt.date(2025, 7, 2),
        days=Decimal(2),
    )
    PerformanceRating.objects.create(employee=emp, period="2025H1", rating="B")
    CompensationChange.objects.create(
        employee=emp, effective_date=dt.date(2025, 6, 1), change_type="hire", monthly_base=20000
    )


def test_merge_moves_the_history_fills_gaps_and_audits(hire: Hire, users: dict[str, Any]) -> None:
    admin = users["admin"]
    survivor = hire("C", email="wang@hx.example")
    survivor.attributes = {"job_level": 3}
    survivor.save(update_fields=["attributes"])
    duplicate = hire(
        "D", id_number=ID_A, phone="13800138000", email="wang.d@hx.example", status="suspended"
    )
    duplicate.attributes = {"job_level": 4, "overtime": "Yes"}
    duplicate.save(update_fields=["attributes"])
    _history(duplicate, admin)
    # The survivor already has attendance on 2 June and the 2025H1 rating: those stay behind.
    AttendanceDay.objects.create(employee=survivor, date=dt.date(2025, 6, 2), status="remote")
    PerformanceRating.objects.create(employee=survivor, period="2025H1", rating="A")

    result = merge_employees(survivor, duplicate, acting_user=admin, reason="同一身份证号")

    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk and duplicate.status == "suspended"
    assert survivor.contracts.count() == 1 and survivor.agreements.count() == 1
    assert survivor.lifecycle_events.filter(event_type="hire").count() == 2
    assert not duplicate.contracts.exists() and not duplicate.lifecycle_events.exists()
    assert set(AttendanceDay.objects.filter(employee=survivor).values_list("date", "status")) == {
        (dt.date(2025, 6, 2), "remote"),
        (dt.date(2025, 6, 3), "present"),
    }
    assert AttendanceDay.objects.filter(employee=duplicate).count() == 1
    assert survivor.leave_records.count() == 1 and survivor.compensation_changes.count() == 1
    assert survivor.performance_ratings.get().rating == "A"
    assert result.moved["attendance_days"] == 1 and result.moved["leave_records"] == 1
    assert result.skipped == {"attendance_days": 1, "performance_ratings": 1}
    # Empty fields filled from the duplicate; the survivor's own values kept.
    assert survivor.email == "wang@hx.example" and survivor.phone == "13800138000"
    assert idcard.reveal(survivor) == ID_A and survivor.id_number_hint == "110***********002X"
    assert survivor.attributes == {"job_level": 3, "overtime": "Yes"}

    entry = AuditEntry.objects.latest("id")
    assert entry.event_type == E.EMPLOYEES_MERGED
    assert entry.subject_id == str(survivor.pk)
    extra = entry.data["extra"]
    assert extra["duplicate_id"] == duplicate.pk and extra["reason"] == "同一身份证号"
    assert extra["moved"]["contracts"] == 1 and extra["skipped"]["performance_ratings"] == 1
    assert entry.data["changes"]["phone"] == ["", "13800138000"]
    assert ID_A not in json.dumps(entry.data)


def test_people_lists_hide_merged_records(
    hire: Hire, users: dict[str, Any], client_as: Any
) -> None:
    a = hire("C", name="合并测试甲")
    b = hire("D", name="合并测试乙")
    merge_employees(a, b, acting_user=users["admin"], reason="同一人")
    client = client_as("admin")
    listed = client.get("/api/org/employees", {"q": "合并测试"}).json()
    assert [e["id"] for e in listed["items"]] == [a.pk]
    page = client.get("/people/", {"q": "合并测试"}).content.decode()
    assert "合并测试甲" in page and "合并测试乙" not in page
    # The merged record itself can still be opened (history, evidence).
    assert client.get(f"/people/{b.pk}/").status_code == 200


def _refused(exc_type: type[Exception], survivor: Any, duplicate: Any, user: Any) -> str:
    before = AuditEntry.objects.count()
    with pytest.raises(exc_type) as exc:
        merge_employees(survivor, duplicate, acting_user=user, reason="同一人")
    assert AuditEntry.objects.count() == before
    assert Employee.objects.get(pk=duplicate.pk).merged_into_id is None or survivor == duplicate
    return str(getattr(exc.value, "message", exc.value))


def test_merge_refuses_the_same_record_and_records_already_merged(
    hire: Hire, users: dict[str, Any]
) -> None:
    admin = users["admin"]
    a, b, c = hire("C"), hire("D"), hire("D")
    assert "into itself" in _refused(Conflict, a, a, admin)
    merge_employees(a, b, acting_user=admin, reason="同一人")
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict, match="already merged"):
        merge_employees(c, b, acting_user=admin, reason="同一人")
    with pytest.raises(Conflict, match="already merged"):
        merge_employees(b, c, acting_user=admin, reason="同一人")
    assert AuditEntry.objects.count() == before
    with pytest.raises(InvalidInput):
        merge_employees(a, c, acting_user=admin, reason=" ")


def test_merge_refuses_a_duplicate_with_an_exit_case(
    hire: Hire, users: dict[str, Any], approved_case: Any
) -> None:
    survivor = hire("C")
    message = _refused(Conflict, survivor, approved_case.employee, users["admin"])
    assert "exit cases" in message


def test_merge_refuses_a_duplicate_with_a_login(hire: Hire, users: dict[str, Any]) -> None:
    survivor = hire("C")
    linked = Employee.objects.get(pk=users["receiver"].employee_id)
    message = _refused(Conflict, survivor, linked, users["admin"])
    assert "receiver" in message and "login" in message


def test_merge_needs_change_rights_over_both_records(hire: Hire, users: dict[str, Any]) -> None:
    c1, c2, d = hire("C"), hire("C"), hire("D")
    # BU HR of the cloud unit cannot reach a devices record…
    _refused(Http404, c1, d, users["hrbp.cloud"])
    _refused(Http404, d, c1, users["hrbp.cloud"])
    # …and a department head may see people but not change them.
    rd_people = Employee.objects.filter(pk=users["employee"].employee_id)
    _refused(PermissionDenied, rd_people.get(), c2, users["head.rd"])
    # Within their unit they may.
    merge_employees(c1, c2, acting_user=users["hrbp.cloud"], reason="同一人")


# ---------------------------------------------------------------- page and API


def test_page_lists_groups_with_masked_ids_and_merges(
    hire: Hire, users: dict[str, Any], client_as: Any
) -> None:
    a = hire("C", id_number=ID_A)
    b = hire("D", id_number=ID_A)
    client = client_as("admin")
    page = client.get("/org/duplicates/").content.decode()
    assert a.employee_number in page and b.employee_number in page
    assert "110***********002X" in page and ID_A not in page
    assert "/org/duplicates/" in client.get("/people/").content.decode()
    response = client.post(
        "/org/duplicates/merge/",
        {"survivor": a.pk, "duplicate": b.pk, "reason": "同一身份证号"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith("/org/duplicates/")
    text = response.content.decode()
    assert f"{b.employee_number}" in text and "合并到" in text
    assert Employee.objects.get(pk=b.pk).merged_into_id == a.pk
    # A refusal comes back as a message naming the problem.
    again = client.post(
        "/org/duplicates/merge/",
        {"survivor": a.pk, "duplicate": b.pk, "reason": "再来"},
        follow=True,
    ).content.decode()
    assert "已被合并" in again
    unexplained = client.post(
        "/org/duplicates/merge/", {"survivor": a.pk, "duplicate": b.pk}, follow=True
    ).content.decode()
    assert "未完成合并" in unexplained


def test_page_is_for_hr(client_as: Any) -> None:
    assert client_as("head.rd").get("/org/duplicates/").status_code == 403
    assert client_as("hrbp.devices").get("/org/duplicates/").status_code == 200
    assert client_as(None).get("/org/duplicates/").status_code == 302


def test_api_lists_and_merges(hire: Hire, users: dict[str, Any], client_as: Any) -> None:
    a = hire("C", phone="+86 138-0013-8000")
    b = hire("C", phone="13800138000")
    client = client_as("hrbp.cloud")
    body = client.get("/api/org/duplicates").json()
    assert body["count"] == 1
    assert body["items"][0]["reasons"] == ["phone"]
    assert {e["id"] for e in body["items"][0]["employees"]} == {a.pk, b.pk}
    assert body["items"][0]["employees"][0]["business_unit"]["name"]
    response = client.post(
        "/api/org/duplicates/merge",
        data=json.dumps({"survivor_id": a.pk, "duplicate_id": b.pk, "reason": "同一手机号"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["survivor_id"] == a.pk
    again = client.post(
        "/api/org/duplicates/merge",
        data=json.dumps({"survivor_id": a.pk, "duplicate_id": b.pk, "reason": "同一手机号"}),
        content_type="application/json",
    )
    assert again.status_code == 409 and "已被合并" in again.json()["detail"]


def test_merge_renumbers_contracts_and_moves_reports_and_headships(
    hire: Hire, users: dict[str, Any]
) -> None:
    from baton.org.models import Contract, Department

    admin = users["admin"]
    survivor, duplicate = hire("C", name="续号甲"), hire("D", name="续号乙")
    for emp in (survivor, duplicate):
        Contract.objects.create(
            employee=emp,
            legal_entity=emp.legal_entity,
            contract_type="fixed_term",
            start_date=emp.hire_date,
            sequence=1,
        )
    report = hire("D", name="下属")
    report.manager = duplicate
    report.save(update_fields=["manager"])
    dept = Department.objects.get(pk=duplicate.department_id)
    dept.head = duplicate
    dept.save(update_fields=["head"])

    result = merge_employees(survivor, duplicate, acting_user=admin, reason="同一人")

    assert sorted(survivor.contracts.values_list("sequence", flat=True)) == [1, 2]
    report.refresh_from_db()
    dept.refresh_from_db()
    assert report.manager_id == survivor.pk and dept.head_id == survivor.pk
    assert result.moved["reports"] == 1 and result.moved["departments_headed"] == 1
