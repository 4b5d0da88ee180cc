"""Merging and finding duplicate people, beyond the main path: chains of earlier merges,
reporting lines that touch both records, what the survivor keeps, refusals that leave every
row where it was, and the SQL and Python forms of a phone number agreeing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import CharField
from django.db.models.functions import Cast

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.errors import Conflict, InvalidInput
from baton.org import actions as org_actions
from baton.org import idcard
from baton.org.actions_merge import merge_employees
from baton.org.duplicates import find_duplicates, normal_email, normal_phone, normal_phone_expr
from baton.org.models import (
    Agreement,
    CompensationChange,
    Contract,
    Department,
    Employee,
    LeaveRecord,
    LegalEntity,
    LifecycleEvent,
    Position,
)

pytestmark = pytest.mark.django_db
ID_A = "11010519491231002X"
ID_B = "440305199003071236"


@pytest.fixture
def admin(users: dict[str, Any]) -> Any:
    return users["admin"]


@pytest.fixture
def hire(admin: Any) -> Any:
    counter = {"n": 0}

    def make(bu: str = "C", *, id_number: str = "", **data: Any) -> Employee:
        counter["n"] += 1
        dept = (
            Department.objects.filter(business_unit__code=bu, parent__isnull=False)
            .order_by("path")
            .first()
        )
        entity = LegalEntity.objects.filter(business_unit__code=bu).order_by("code").first()
        assert dept is not None and entity is not None
        emp = org_actions.create_employee(
            {
                "name": f"合并{counter['n']}",
                "legal_entity_id": entity.pk,
                "department_id": dept.pk,
                "position_id": Position.objects.get(code="ENG-SWE").pk,
                "work_city_id": entity.city_id,
                "hire_date": dt.date(2024, 3, 1),
                **data,
            },
            acting_user=admin,
        )
        if id_number:
            idcard.seal(emp, id_number)
            emp.save(update_fields=list(idcard.SEALED_FIELDS))
        return emp

    return make


def _contract(emp: Employee, sequence: int, start: dt.date) -> Contract:
    return Contract.objects.create(
        employee=emp,
        legal_entity=emp.legal_entity,
        contract_type="fixed_term",
        start_date=start,
        sequence=sequence,
    )


def _snapshot(*people: Employee) -> dict[str, Any]:
    pks = [p.pk for p in people]
    return {
        "contracts": sorted(
            Contract.objects.filter(employee_id__in=pks).values_list(
                "pk", "employee_id", "sequence"
            )
        ),
        "agreements": sorted(
            Agreement.objects.filter(employee_id__in=pks).values_list("pk", "employee_id")
        ),
        "events": sorted(
            LifecycleEvent.objects.filter(employee_id__in=pks).values_list("pk", "employee_id")
        ),
        "people": sorted(
            Employee.objects.filter(pk__in=pks).values_list(
                "pk", "merged_into_id", "manager_id", "email", "phone", "id_number_hash"
            )
        ),
        "reports": sorted(
            Employee.objects.filter(manager_id__in=pks).values_list("pk", "manager_id")
        ),
        "heads": sorted(Department.objects.filter(head_id__in=pks).values_list("pk", "head_id")),
        "audit": AuditEntry.objects.count(),
    }


# ---------------------------------------------------------------- chains and idempotence


def test_records_merged_earlier_follow_to_the_new_survivor(hire: Any, admin: Any) -> None:
    """b was merged into d; d is then merged into s: b points at s, never at d (no chains)."""
    s, d, b = hire("C"), hire("D"), hire("D")
    merge_employees(d, b, acting_user=admin, reason="第一次")
    result = merge_employees(s, d, acting_user=admin, reason="第二次")
    b.refresh_from_db()
    d.refresh_from_db()
    assert b.merged_into_id == s.pk and d.merged_into_id == s.pk
    assert result.moved["merged_records"] == 1
    assert not Employee.objects.filter(merged_into_id=d.pk).exists()


def test_merging_the_same_pair_twice_changes_nothing_the_second_time(hire: Any, admin: Any) -> None:
    s, d = hire("C"), hire("D", phone="13600000000")
    _contract(d, 1, dt.date(2024, 3, 1))
    merge_employees(s, d, acting_user=admin, reason="同一人")
    before = _snapshot(s, d)
    with pytest.raises(Conflict, match="already merged"):
        merge_employees(s, d, acting_user=admin, reason="同一人")
    # Swapped, too: the duplicate is already merged, so it cannot become the survivor.
    with pytest.raises(Conflict, match="already merged"):
        merge_employees(d, s, acting_user=admin, reason="同一人")
    assert _snapshot(s, d) == before


def test_the_reason_is_kept_trimmed_and_a_missing_one_is_named(hire: Any, admin: Any) -> None:
    s, d = hire("C"), hire("D")
    with pytest.raises(InvalidInput) as exc:
        merge_employees(s, d, acting_user=admin, reason="")
    assert "reason" in exc.value.field_errors
    merge_employees(s, d, acting_user=admin, reason="  同一身份证号  ")
    entry = AuditEntry.objects.filter(event_type=E.EMPLOYEES_MERGED).latest("id")
    assert entry.data["extra"]["reason"] == "同一身份证号"
    assert entry.data["extra"]["duplicate_number"] == d.employee_number
    assert entry.data["extra"]["duplicate_business_unit_id"] == d.business_unit_id


# ---------------------------------------------------------------- refusals write nothing


def test_a_refusal_for_a_login_leaves_every_row_in_place(
    hire: Any, admin: Any, users: dict[str, Any]
) -> None:
    s = hire("C")
    linked = Employee.objects.get(pk=users["receiver"].employee_id)
    _contract(s, 1, dt.date(2024, 3, 1))
    report = hire("C", manager_id=linked.pk)
    before = _snapshot(s, linked, report)
    with pytest.raises(Conflict, match="login"):
        merge_employees(s, linked, acting_user=admin, reason="同一人")
    assert _snapshot(s, linked, report) == before


def test_a_refusal_for_an_exit_case_leaves_every_row_in_place(
    hire: Any, admin: Any, approved_case: Any
) -> None:
    leaver = approved_case.employee
    s = hire("C", email="")
    before = _snapshot(s, leaver)
    with pytest.raises(Conflict, match="exit cases"):
        merge_employees(s, leaver, acting_user=admin, reason="同一人")
    assert _snapshot(s, leaver) == before


def test_the_record_with_a_login_or_an_exit_case_can_be_the_survivor(
    hire: Any, admin: Any, approved_case: Any
) -> None:
    leaver = approved_case.employee
    d = hire("C", phone="13611112222")
    result = merge_employees(leaver, d, acting_user=admin, reason="同一人")
    assert result.survivor.pk == leaver.pk
    d.refresh_from_db()
    assert d.merged_into_id == leaver.pk


# ---------------------------------------------------------------- what the survivor keeps


def test_contracts_are_renumbered_after_the_survivor_s_own_in_their_order(
    hire: Any, admin: Any
) -> None:
    s, d = hire("C"), hire("D")
    _contract(s, 1, dt.date(2018, 1, 1))
    _contract(s, 2, dt.date(2021, 1, 1))
    # Gaps and an order that differs from the ids.
    late = _contract(d, 5, dt.date(2023, 1, 1))
    early = _contract(d, 2, dt.date(2019, 1, 1))
    result = merge_employees(s, d, acting_user=admin, reason="同一人")
    late.refresh_from_db()
    early.refresh_from_db()
    assert (early.employee_id, early.sequence) == (s.pk, 3)
    assert (late.employee_id, late.sequence) == (s.pk, 4)
    assert sorted(s.contracts.values_list("sequence", flat=True)) == [1, 2, 3, 4]
    assert result.moved["contracts"] == 2


def test_the_survivor_keeps_its_own_id_number(hire: Any, admin: Any) -> None:
    s = hire("C", id_number=ID_A)
    d = hire("D", id_number=ID_B)
    merge_employees(s, d, acting_user=admin, reason="同一人")
    s.refresh_from_db()
    assert idcard.reveal(s) == ID_A
    assert s.id_number_hash == idcard.lookup_hash(ID_A)
    entry = AuditEntry.objects.filter(event_type=E.EMPLOYEES_MERGED).latest("id")
    assert "id_number_hint" not in entry.data["changes"]


def test_an_id_number_taken_over_is_sealed_for_the_survivor_s_row(hire: Any, admin: Any) -> None:
    s = hire("C")
    d = hire("D", id_number="110105491231002")  # first-generation card, stored upgraded
    merge_employees(s, d, acting_user=admin, reason="同一人")
    s.refresh_from_db()
    assert idcard.reveal(s) == ID_A
    assert s.id_number_hash == d.id_number_hash
    # Not the duplicate's ciphertext copied: it is bound to the survivor's row.
    assert bytes(s.id_number_blob) != bytes(d.id_number_blob)


def test_protected_attributes_are_named_not_shown_in_the_trail(hire: Any, admin: Any) -> None:
    s, d = hire("C"), hire("D")
    s.protected_attributes = {"gender": "F"}
    s.save(update_fields=["protected_attributes"])
    d.protected_attributes = {"gender": "M", "marital_status": "married"}
    d.attributes = {"job_level": 5}
    d.save(update_fields=["protected_attributes", "attributes"])
    merge_employees(s, d, acting_user=admin, reason="同一人")
    s.refresh_from_db()
    # The survivor's own value wins; a missing one is filled.
    assert s.protected_attributes == {"gender": "F", "marital_status": "married"}
    assert s.attributes == {"job_level": 5}
    entry = AuditEntry.objects.filter(event_type=E.EMPLOYEES_MERGED).latest("id")
    assert entry.data["changes"]["protected_attributes"] == [None, ["marital_status"]]
    assert "married" not in json.dumps(entry.data, ensure_ascii=False)
    assert entry.data["changes"]["attributes"] == [None, {"job_level": 5}]


def test_keyed_history_the_survivor_already_has_stays_behind(hire: Any, admin: Any) -> None:
    s, d = hire("C"), hire("D")
    for emp, base in ((s, 20000), (d, 21000)):
        CompensationChange.objects.create(
            employee=emp,
            effective_date=dt.date(2024, 3, 1),
            change_type="hire",
            monthly_base=Decimal(base),
        )
    CompensationChange.objects.create(
        employee=d,
        effective_date=dt.date(2025, 3, 1),
        change_type="annual",
        monthly_base=Decimal(23000),
    )
    LeaveRecord.objects.create(
        employee=d,
        leave_type="sick",
        start_date=dt.date(2025, 1, 6),
        end_date=dt.date(2025, 1, 6),
        days=Decimal(1),
    )
    result = merge_employees(s, d, acting_user=admin, reason="同一人")
    assert result.moved["compensation_changes"] == 1
    assert result.skipped == {"compensation_changes": 1}
    assert result.moved["leave_records"] == 1
    assert list(
        s.compensation_changes.order_by("effective_date").values_list("monthly_base", flat=True)
    ) == [Decimal(20000), Decimal(23000)]
    # The clash stays with the duplicate (nothing deleted).
    assert d.compensation_changes.get().monthly_base == Decimal(21000)


def test_a_report_of_the_duplicate_who_is_the_survivor_s_manager_keeps_a_valid_line(
    hire: Any, admin: Any
) -> None:
    """The duplicate's reports move to the survivor; the survivor's own manager is untouched."""
    boss = hire("C", name="上级")
    s = hire("C", manager_id=boss.pk)
    d = hire("D")
    r1, r2 = hire("D", manager_id=d.pk), hire("C", manager_id=d.pk)
    result = merge_employees(s, d, acting_user=admin, reason="同一人")
    assert result.moved["reports"] == 2
    assert set(s.reports.values_list("pk", flat=True)) == {r1.pk, r2.pk}
    s.refresh_from_db()
    assert s.manager_id == boss.pk


def test_a_survivor_that_reported_to_the_duplicate_is_not_its_own_manager(
    hire: Any, admin: Any
) -> None:
    d = hire("D")
    s = hire("C", manager_id=d.pk)
    merge_employees(s, d, acting_user=admin, reason="同一人")
    s.refresh_from_db()
    d.refresh_from_db()
    assert s.manager_id != s.pk
    assert s.manager_id == d.manager_id  # where the duplicate reported


# ---------------------------------------------------------------- finding


@pytest.mark.parametrize(
    "spelling",
    [
        "13800138000",
        "+86 138-0013-8000",
        "0086 138 0013 8000",
        "(+86) 138.0013.8000",
        "138\u30000013\u30008000",
        "86 13800138000",
        # Not a mobile with a country code: 12 digits starting 86 stay as they are.
        "861380013800",
        "021-6888-1234",
    ],
)
def test_the_sql_and_python_forms_of_a_phone_agree(hire: Any, spelling: str) -> None:
    emp = hire("C", phone=spelling)
    in_sql = (
        Employee.objects.filter(pk=emp.pk)
        .annotate(p=Cast(normal_phone_expr(), CharField()))
        .values_list("p", flat=True)
        .get()
    )
    assert in_sql == normal_phone(spelling)


@pytest.mark.xfail(
    strict=True,
    reason="find_duplicates compares phones in SQL, which strips separators but does not fold "
    "full-width digits (NFKC) as normal_phone does; ten more nested REPLACE calls overflow "
    "SQLite's parser stack in the duplicates query, so the fix needs a stored normalised phone",
)
def test_a_phone_typed_in_full_width_digits_is_the_same_phone(
    hire: Any, users: dict[str, Any]
) -> None:
    a = hire("C", phone="１３８００１３８０００")
    b = hire("D", phone="13800138000")
    groups = find_duplicates(users["admin"])
    assert [set(g.employee_ids) for g in groups] == [{a.pk, b.pk}]


def test_different_people_with_similar_numbers_are_not_grouped(
    hire: Any, users: dict[str, Any]
) -> None:
    hire("C", phone="13800138000", email="a@hx.example")
    hire("D", phone="13800138001", email="a@hx.example.cn")
    hire("D", phone="3800138000")
    assert find_duplicates(users["admin"]) == []


def test_empty_contact_details_never_make_a_group(hire: Any, users: dict[str, Any]) -> None:
    hire("C", phone="", email="")
    hire("D", phone="", email="")
    hire("D", phone="", email="")
    assert find_duplicates(users["admin"]) == []


def test_the_same_person_twice_in_one_unit_is_found_by_that_unit_s_hr(
    hire: Any, users: dict[str, Any]
) -> None:
    a = hire("D", email="Zhang@HX.example")
    b = hire("D", email="zhang@hx.example")
    groups = find_duplicates(users["hrbp.devices"])
    assert [(g.reasons, set(g.employee_ids)) for g in groups] == [(["email"], {a.pk, b.pk})]
    assert find_duplicates(users["hrbp.cloud"]) == []


def test_id_number_groups_come_first(hire: Any, users: dict[str, Any]) -> None:
    hire("C", email="first@hx.example")
    hire("D", email="FIRST@hx.example")
    x = hire("C", id_number=ID_B)
    y = hire("D", id_number=ID_B)
    groups = find_duplicates(users["admin"])
    assert groups[0].reasons == ["id_number"] and set(groups[0].employee_ids) == {x.pk, y.pk}
    assert groups[1].reasons == ["email"]
    assert [e.employee_number for e in groups[0].employees] == sorted(
        [x.employee_number, y.employee_number]
    )


def test_after_a_merge_a_third_record_pairs_with_the_survivor(
    hire: Any, users: dict[str, Any], admin: Any
) -> None:
    s = hire("C", phone="13912345678")
    d = hire("D", phone="13912345678")
    merge_employees(s, d, acting_user=admin, reason="同一人")
    third = hire("D", phone="+86 139 1234 5678")
    groups = find_duplicates(admin)
    assert [set(g.employee_ids) for g in groups] == [{s.pk, third.pk}]


def test_normal_email() -> None:
    assert normal_email("  Li.Wei@Example.COM ") == "li.wei@example.com"
    assert normal_email("") == ""


def test_the_merge_page_refuses_a_record_outside_the_scope(hire: Any, client_as: Any) -> None:
    c, d = hire("C"), hire("D")
    response = client_as("hrbp.cloud").post(
        "/org/duplicates/merge/", {"survivor": c.pk, "duplicate": d.pk, "reason": "同一人"}
    )
    assert response.status_code == 404
    d.refresh_from_db()
    assert d.merged_into_id is None


def test_the_merge_api_validates_its_input(hire: Any, client_as: Any) -> None:
    c1, c2 = hire("C"), hire("C")
    client = client_as("hrbp.cloud")
    missing = client.post(
        "/api/org/duplicates/merge",
        data=json.dumps({"survivor_id": c1.pk, "duplicate_id": c2.pk, "reason": ""}),
        content_type="application/json",
    )
    assert missing.status_code == 400
    assert any("reason" in key for key in missing.json()["errors"])
    itself = client.post(
        "/api/org/duplicates/merge",
        data=json.dumps({"survivor_id": c1.pk, "duplicate_id": c1.pk, "reason": "x"}),
        content_type="application/json",
    )
    assert itself.status_code == 409
    assert client_as("head.rd").get("/api/org/duplicates").status_code == 403
    assert Employee.objects.filter(pk__in=[c1.pk, c2.pk], merged_into__isnull=False).count() == 0
