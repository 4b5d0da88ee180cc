"""The organisation's shape: department moves rewrite the materialised paths of a whole subtree
(and never make a loop), reporting lines never become a cycle, and unified employee numbers
follow the group's pattern, per prefix, without gaps or repeats."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.core.errors import Conflict, InvalidInput
from baton.org import actions
from baton.org.models import (
    BusinessUnit,
    Department,
    Employee,
    EmployeeNumberSequence,
    Group,
    LegalEntity,
    Position,
)

pytestmark = pytest.mark.django_db


def _dept(admin: Any, bu: str, name: str, parent: Department | None = None) -> Department:
    unit = BusinessUnit.objects.get(code=bu)
    n = Department.objects.filter(business_unit=unit).count() + 1
    return actions.create_department(
        {
            "business_unit_id": unit.pk,
            "parent_id": parent.pk if parent else None,
            "code": f"T{bu}{n:04d}",
            "name": name,
        },
        acting_user=admin,
    )


def _hire(admin: Any, dept: Department, entity: str = "CSH", **data: Any) -> Employee:
    le = LegalEntity.objects.get(code=entity)
    return actions.create_employee(
        {
            "name": data.pop("name", "测试"),
            "legal_entity_id": le.pk,
            "department_id": dept.pk,
            "position_id": Position.objects.get(code="ENG-SWE").pk,
            "work_city_id": le.city_id,
            "hire_date": data.pop("hire_date", dt.date(2026, 3, 2)),
            **data,
        },
        acting_user=admin,
    )


@pytest.fixture
def admin(users: dict[str, Any]) -> Any:
    return users["admin"]


@pytest.fixture
def tree(admin: Any) -> dict[str, Department]:
    """root (BU C's head office) > a > a1 > a11, and root > b."""
    root = Department.objects.get(business_unit__code="C", parent__isnull=True)
    a = _dept(admin, "C", "甲", root)
    a1 = _dept(admin, "C", "甲一", a)
    a11 = _dept(admin, "C", "甲一一", a1)
    b = _dept(admin, "C", "乙", root)
    return {"root": root, "a": a, "a1": a1, "a11": a11, "b": b}


# ---------------------------------------------------------------- departments


def test_created_departments_carry_their_ancestors_in_the_path(tree: dict[str, Department]) -> None:
    root, a, a1, a11 = tree["root"], tree["a"], tree["a1"], tree["a11"]
    assert root.path == f"/{root.pk}/"
    assert a.path == f"/{root.pk}/{a.pk}/"
    assert a1.path == f"/{root.pk}/{a.pk}/{a1.pk}/"
    assert a11.path == f"/{root.pk}/{a.pk}/{a1.pk}/{a11.pk}/"


def test_a_top_level_department_has_its_own_id_as_path(admin: Any) -> None:
    top = _dept(admin, "C", "新根")
    assert top.path == f"/{top.pk}/"


def test_moving_a_department_rewrites_its_whole_subtree(
    admin: Any, tree: dict[str, Department]
) -> None:
    root, a, a1, a11, b = (tree[k] for k in ("root", "a", "a1", "a11", "b"))
    actions.update_department(a1, {"parent_id": b.pk}, acting_user=admin)
    for d in (a, a1, a11, b):
        d.refresh_from_db()
    assert a1.parent_id == b.pk
    assert a1.path == f"/{root.pk}/{b.pk}/{a1.pk}/"
    assert a11.path == f"/{root.pk}/{b.pk}/{a1.pk}/{a11.pk}/"
    # The old parent and the new one keep their own paths.
    assert a.path == f"/{root.pk}/{a.pk}/"
    assert b.path == f"/{root.pk}/{b.pk}/"
    # Nothing in the group still points below the old place.
    assert not Department.objects.filter(path__startswith=f"/{root.pk}/{a.pk}/{a1.pk}/").exists()


def test_a_move_is_audited_with_the_old_and_new_path(
    admin: Any, tree: dict[str, Department]
) -> None:
    a1, b = tree["a1"], tree["b"]
    old = a1.path
    actions.update_department(a1, {"parent_id": b.pk}, acting_user=admin)
    entry = AuditEntry.objects.filter(event_type=E.DEPARTMENT_MOVED).latest("id")
    assert entry.subject_type == "org.department" and entry.subject_id == str(a1.pk)
    a1.refresh_from_db()
    assert entry.data["changes"]["path"] == [old, a1.path]
    # a1 and a11 were rewritten.
    assert entry.data["extra"]["subtree_size"] == 2


def test_moving_to_the_top_level(admin: Any, tree: dict[str, Department]) -> None:
    a1, a11 = tree["a1"], tree["a11"]
    actions.update_department(a1, {"parent_id": None}, acting_user=admin)
    a1.refresh_from_db()
    a11.refresh_from_db()
    assert a1.path == f"/{a1.pk}/"
    assert a11.path == f"/{a1.pk}/{a11.pk}/"


def test_renaming_without_moving_leaves_paths_alone(
    admin: Any, tree: dict[str, Department]
) -> None:
    a, a11 = tree["a"], tree["a11"]
    before = a11.path
    moved_before = AuditEntry.objects.filter(event_type=E.DEPARTMENT_MOVED).count()
    # Same parent given again: not a move.
    actions.update_department(a, {"name": "甲部", "parent_id": a.parent_id}, acting_user=admin)
    a11.refresh_from_db()
    assert a11.path == before
    assert AuditEntry.objects.filter(event_type=E.DEPARTMENT_MOVED).count() == moved_before


@pytest.mark.parametrize("target", ["a", "a1", "a11"])
def test_a_department_cannot_move_into_its_own_subtree(
    admin: Any, tree: dict[str, Department], target: str
) -> None:
    a = tree["a"]
    paths = dict(Department.objects.values_list("pk", "path"))
    entries = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.update_department(a, {"parent_id": tree[target].pk}, acting_user=admin)
    assert "parent" in exc.value.field_errors
    assert "subtree" in exc.value.field_errors["parent"][0]
    assert dict(Department.objects.values_list("pk", "path")) == paths
    assert AuditEntry.objects.count() == entries


def test_a_department_cannot_move_to_another_business_unit(
    admin: Any, tree: dict[str, Department]
) -> None:
    other = Department.objects.filter(business_unit__code="D").first()
    assert other is not None
    a1 = tree["a1"]
    with pytest.raises(InvalidInput) as exc:
        actions.update_department(a1, {"parent_id": other.pk}, acting_user=admin)
    assert "another business unit" in exc.value.field_errors["parent"][0]
    a1.refresh_from_db()
    assert a1.parent_id == tree["a"].pk


def test_an_unknown_parent_is_named(admin: Any, tree: dict[str, Department]) -> None:
    with pytest.raises(InvalidInput) as exc:
        actions.update_department(tree["a1"], {"parent_id": 99999999}, acting_user=admin)
    assert exc.value.field_errors == {"parent": ["Unknown parent department."]}
    with pytest.raises(InvalidInput) as exc:
        actions.create_department(
            {
                "business_unit_id": tree["a"].business_unit_id,
                "parent_id": 99999999,
                "code": "X1",
                "name": "x",
            },
            acting_user=admin,
        )
    assert "parent" in exc.value.field_errors


def test_a_new_department_under_a_parent_of_another_unit_is_refused(
    admin: Any, tree: dict[str, Department]
) -> None:
    d_unit = BusinessUnit.objects.get(code="D")
    before = Department.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.create_department(
            {"business_unit_id": d_unit.pk, "parent_id": tree["a"].pk, "code": "Z1", "name": "z"},
            acting_user=admin,
        )
    assert "parent" in exc.value.field_errors
    assert Department.objects.count() == before


def test_department_codes_are_unique_per_unit_only(admin: Any, tree: dict[str, Department]) -> None:
    code = tree["a"].code
    with pytest.raises(Conflict):
        actions.create_department(
            {"business_unit_id": tree["a"].business_unit_id, "code": code, "name": "重复"},
            acting_user=admin,
        )
    # The same code in another business unit is someone else's numbering.
    d_unit = BusinessUnit.objects.get(code="D")
    other = actions.create_department(
        {"business_unit_id": d_unit.pk, "code": code, "name": "同码"}, acting_user=admin
    )
    assert other.path == f"/{other.pk}/"


def test_people_follow_their_department_when_it_moves(
    admin: Any, tree: dict[str, Department]
) -> None:
    """Subtree filters read the paths: after a move the people are found under the new parent
    and no longer under the old one."""
    person = _hire(admin, tree["a11"])
    under = Employee.objects.filter(department__path__startswith=tree["a"].path)
    assert person in under
    actions.update_department(tree["a1"], {"parent_id": tree["b"].pk}, acting_user=admin)
    b = Department.objects.get(pk=tree["b"].pk)
    assert not Employee.objects.filter(
        pk=person.pk, department__path__startswith=tree["a"].path
    ).exists()
    assert Employee.objects.filter(pk=person.pk, department__path__startswith=b.path).exists()


@pytest.mark.parametrize("who", ["hrbp.cloud", "head.rd", "it", "employee"])
def test_only_group_hr_changes_the_structure(
    users: dict[str, Any], tree: dict[str, Department], who: str
) -> None:
    with pytest.raises(PermissionDenied):
        actions.update_department(tree["a1"], {"parent_id": tree["b"].pk}, acting_user=users[who])
    with pytest.raises(PermissionDenied):
        actions.create_department(
            {"business_unit_id": tree["a"].business_unit_id, "code": "NOPE", "name": "x"},
            acting_user=users[who],
        )
    tree["a1"].refresh_from_db()
    assert tree["a1"].parent_id == tree["a"].pk


def test_the_department_api_moves_and_refuses_loops(
    client_as: Any, tree: dict[str, Department]
) -> None:
    client = client_as("admin")
    a, a1, a11, b = tree["a"], tree["a1"], tree["a11"], tree["b"]
    loop = client.patch(
        f"/api/org/departments/{a.pk}",
        data={"parent_id": a11.pk},
        content_type="application/json",
    )
    assert loop.status_code == 400
    assert "parent" in loop.json()["errors"]
    ok = client.patch(
        f"/api/org/departments/{a1.pk}",
        data={"parent_id": b.pk},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["path"] == f"{Department.objects.get(pk=b.pk).path}{a1.pk}/"
    listed = client.get(f"/api/org/departments?business_unit={a.business_unit_id}&limit=500")
    paths = {d["id"]: d["path"] for d in listed.json()["items"]}
    assert paths[a11.pk] == f"{paths[b.pk]}{a1.pk}/{a11.pk}/"


# ---------------------------------------------------------------- reporting lines


def test_an_employee_cannot_be_their_own_manager(admin: Any, tree: dict[str, Department]) -> None:
    person = _hire(admin, tree["a"])
    with pytest.raises(InvalidInput) as exc:
        actions.update_employee(person, {"manager_id": person.pk}, acting_user=admin)
    assert "cycle" in exc.value.field_errors["manager"][0]


def test_a_long_reporting_cycle_is_refused(admin: Any, tree: dict[str, Department]) -> None:
    top = _hire(admin, tree["a"], name="顶")
    mid = _hire(admin, tree["a"], name="中", manager_id=top.pk)
    low = _hire(admin, tree["a"], name="底", manager_id=mid.pk)
    entries = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.update_employee(top, {"manager_id": low.pk}, acting_user=admin)
    assert "manager" in exc.value.field_errors
    top.refresh_from_db()
    assert top.manager_id is None
    assert AuditEntry.objects.count() == entries


def test_reassigning_within_a_chain_without_a_loop_is_fine(
    admin: Any, tree: dict[str, Department]
) -> None:
    top = _hire(admin, tree["a"], name="顶")
    mid = _hire(admin, tree["a"], name="中", manager_id=top.pk)
    low = _hire(admin, tree["a"], name="底", manager_id=mid.pk)
    # Skip a level, then remove the manager altogether.
    actions.update_employee(low, {"manager_id": top.pk}, acting_user=admin)
    low.refresh_from_db()
    assert low.manager_id == top.pk
    actions.update_employee(low, {"manager_id": None}, acting_user=admin)
    low.refresh_from_db()
    assert low.manager_id is None


def test_an_existing_loop_elsewhere_does_not_hang_the_check(
    admin: Any, tree: dict[str, Department]
) -> None:
    """Data imported before the rule (x ↔ y report to each other) must not make the walk up
    the chain run for ever when someone outside the loop is given x as manager."""
    x = _hire(admin, tree["a"], name="甲")
    y = _hire(admin, tree["a"], name="乙", manager_id=x.pk)
    # The loop is written past the action on purpose: it stands for legacy data.
    Employee.objects.filter(pk=x.pk).update(manager_id=y.pk)
    z = _hire(admin, tree["a"], name="丙")
    actions.update_employee(z, {"manager_id": x.pk}, acting_user=admin)
    z.refresh_from_db()
    assert z.manager_id == x.pk


def test_a_hire_with_a_manager_is_checked_too(admin: Any, tree: dict[str, Department]) -> None:
    boss = _hire(admin, tree["a"], name="老板")
    new = _hire(admin, tree["a"], name="新人", manager_id=boss.pk)
    assert new.manager_id == boss.pk
    assert list(boss.reports.all()) == [new]


def test_the_api_names_the_manager_field_in_a_cycle(
    client_as: Any, admin: Any, tree: dict[str, Department]
) -> None:
    top = _hire(admin, tree["a"], name="顶")
    low = _hire(admin, tree["a"], name="底", manager_id=top.pk)
    response = client_as("admin").patch(
        f"/api/org/employees/{top.pk}",
        data={"manager_id": low.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    # The admin's language is Chinese: the message is translated.
    message = response.json()["errors"]["manager"][0]
    assert "cycle" not in message and message


# ---------------------------------------------------------------- employee numbers


def _set_pattern(admin: Any, pattern: str) -> Group:
    group = Group.objects.get()
    return actions.update_group(group, {"employee_number_pattern": pattern}, acting_user=admin)


@pytest.mark.parametrize(
    ("pattern", "number"),
    [
        ("{group}{bu}{yy}{seq:05}", "HXC3100001"),
        ("{group}-{yyyy}-{seq:06}", "HX-2031-000001"),
        ("{entity}{seq:3}", "CSH001"),
        ("E{seq}", "E1"),
        ("{bu}{seq:04}{yy}", "C000131"),
    ],
)
def test_number_patterns(
    admin: Any, tree: dict[str, Department], pattern: str, number: str
) -> None:
    _set_pattern(admin, pattern)
    # Hired in 2031: a prefix nobody in the demo group was numbered under yet.
    person = _hire(admin, tree["a"], hire_date=dt.date(2031, 1, 5))
    assert person.employee_number == number


def test_sequences_run_per_prefix(admin: Any, tree: dict[str, Department]) -> None:
    _set_pattern(admin, "T{bu}{yyyy}{seq:03}")
    d_dept = Department.objects.filter(business_unit__code="D", parent__isnull=False).first()
    assert d_dept is not None
    c1 = _hire(admin, tree["a"])
    c2 = _hire(admin, tree["a"])
    d1 = _hire(admin, d_dept, entity="DSZ")
    c_old = _hire(admin, tree["a"], hire_date=dt.date(2025, 12, 31))
    assert [c1.employee_number, c2.employee_number] == ["TC2026001", "TC2026002"]
    assert d1.employee_number == "TD2026001"
    assert c_old.employee_number == "TC2025001"
    seq = EmployeeNumberSequence.objects.get(prefix="TC2026{seq:03}")
    assert seq.last_value == 2


def test_a_given_number_is_kept_and_does_not_advance_the_sequence(
    admin: Any, tree: dict[str, Department]
) -> None:
    _set_pattern(admin, "G{seq:04}")
    person = _hire(admin, tree["a"], employee_number="LEGACY-7")
    assert person.employee_number == "LEGACY-7"
    assert not EmployeeNumberSequence.objects.filter(prefix="G{seq:04}").exists()
    with pytest.raises(Conflict):
        _hire(admin, tree["a"], employee_number="LEGACY-7")


def test_allocating_a_block_reserves_consecutive_numbers(admin: Any) -> None:
    group = Group.objects.get()
    first = actions.allocate_numbers(group, "B{seq:03}X", 3)
    second = actions.allocate_numbers(group, "B{seq:03}X", 2)
    assert first == ["B001X", "B002X", "B003X"]
    assert second == ["B004X", "B005X"]


def test_an_allocated_number_skips_one_already_taken(
    admin: Any, tree: dict[str, Department]
) -> None:
    _set_pattern(admin, "K{seq:03}")
    _hire(admin, tree["a"], employee_number="K001")
    person = _hire(admin, tree["a"])
    assert person.employee_number == "K002"


def test_a_hire_without_a_date_is_refused_before_a_number_is_used(
    admin: Any, tree: dict[str, Department]
) -> None:
    _set_pattern(admin, "N{seq:03}")
    le = LegalEntity.objects.get(code="CSH")
    with pytest.raises(InvalidInput) as exc:
        actions.create_employee(
            {
                "name": "无日期",
                "legal_entity_id": le.pk,
                "department_id": tree["a"].pk,
                "position_id": Position.objects.get(code="ENG-SWE").pk,
                "work_city_id": le.city_id,
            },
            acting_user=admin,
        )
    assert "hire_date" in exc.value.field_errors
    assert not EmployeeNumberSequence.objects.filter(prefix="N{seq:03}", last_value__gt=0).exists()


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("{group}{bu}", "{seq}"),
        ("{group}{seq:05}{nope}", "Unknown placeholder"),
        ("{group}{SEQ}", "Unknown placeholder"),
        ("{group}{seq:x}", "Unknown placeholder"),
        ("{group}{seq", "Unknown placeholder"),
        ("seq}", "Unknown placeholder"),
    ],
)
def test_bad_patterns_are_refused_and_nothing_changes(
    admin: Any, pattern: str, problem: str
) -> None:
    before = Group.objects.get().employee_number_pattern
    with pytest.raises(InvalidInput) as exc:
        _set_pattern(admin, pattern)
    assert problem in exc.value.field_errors["employee_number_pattern"][0]
    assert Group.objects.get().employee_number_pattern == before


def test_pattern_change_is_audited(admin: Any) -> None:
    before = Group.objects.get().employee_number_pattern
    _set_pattern(admin, "{group}{yyyy}{seq:06}")
    entry = AuditEntry.objects.filter(event_type=E.GROUP_UPDATED).latest("id")
    assert entry.data["changes"]["employee_number_pattern"] == [before, "{group}{yyyy}{seq:06}"]


def test_the_group_api_validates_the_pattern(client_as: Any) -> None:
    client = client_as("admin")
    bad = client.patch(
        "/api/org/group", data={"employee_number_pattern": "{x}"}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert "employee_number_pattern" in bad.json()["errors"]
    assert (
        client_as("hrbp.cloud")
        .patch("/api/org/group", data={"name": "x"}, content_type="application/json")
        .status_code
        == 403
    )
    ok = client.patch(
        "/api/org/group",
        data={"employee_number_pattern": "{group}{seq:07}"},
        content_type="application/json",
    )
    assert ok.status_code == 200
    assert ok.json()["employee_number_pattern"] == "{group}{seq:07}"
