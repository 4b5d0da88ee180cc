"""Scope edges: what an HRBP of one business unit, an HRBP of one legal entity, an HRBP or a
head of one department subtree (materialised paths), and people who only see themselves may
see and change — in lists, single records, filters and the API — and what happens when a person
or a department moves into or out of someone's scope."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import Role, RoleAssignment, User
from baton.audit.models import AuditEntry
from baton.org import actions
from baton.org.models import (
    BusinessUnit,
    Contract,
    Department,
    Employee,
    LegalEntity,
    Position,
)

pytestmark = pytest.mark.django_db


def _ids(qs: Any) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def _fresh(user: User) -> User:
    """The user read again: access is computed once per user object (once per request)."""
    return User.objects.get(pk=user.pk)


def _login(username: str, role: str, **scope: Any) -> User:
    user = User.objects.create(username=username, display_name=username, language="en")
    RoleAssignment.objects.create(user=user, role=role, **scope)
    return user


def _hire(admin: Any, dept: Department, entity: LegalEntity, name: str = "新人") -> Employee:
    return actions.create_employee(
        {
            "name": name,
            "legal_entity_id": entity.pk,
            "department_id": dept.pk,
            "position_id": Position.objects.get(code="ENG-SWE").pk,
            "work_city_id": entity.city_id,
            "hire_date": dt.date(2026, 2, 2),
        },
        acting_user=admin,
    )


@pytest.fixture
def admin(users: dict[str, Any]) -> Any:
    return users["admin"]


@pytest.fixture
def rd(users: dict[str, Any]) -> Department:
    """The department head.rd heads (R&D in the cloud-software unit)."""
    assignment = RoleAssignment.objects.get(user=users["head.rd"], role=Role.DEPT_HEAD)
    assert assignment.department is not None
    return assignment.department


@pytest.fixture
def c_root() -> Department:
    return Department.objects.get(business_unit__code="C", parent__isnull=True)


@pytest.fixture
def sibling(admin: Any, c_root: Department) -> Department:
    """A department next to R&D in the same unit."""
    return actions.create_department(
        {
            "business_unit_id": c_root.business_unit_id,
            "parent_id": c_root.pk,
            "code": "SIB1",
            "name": "旁邻部门",
        },
        acting_user=admin,
    )


def entity(code: str) -> LegalEntity:
    return LegalEntity.objects.get(code=code)


# ---------------------------------------------------------------- a business-unit HRBP


def test_bu_hrbp_sees_exactly_their_unit(users: dict[str, Any]) -> None:
    hr = users["hrbp.cloud"]
    seen = _ids(authz.visible_to(hr, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    assert seen == _ids(Employee.objects.filter(business_unit__code="C"))
    assert seen and not seen & _ids(Employee.objects.exclude(business_unit__code="C"))
    contracts = _ids(authz.visible_to(hr, Perm.RECORDS_VIEW, Contract.objects.all()))
    assert contracts == _ids(Contract.objects.filter(employee__business_unit__code="C"))


def test_bu_hrbp_gets_404_for_another_unit_and_403_for_nothing_they_see(
    users: dict[str, Any],
) -> None:
    hr = users["hrbp.cloud"]
    outsider = Employee.objects.filter(business_unit__code="D").first()
    insider = Employee.objects.filter(business_unit__code="C").first()
    assert outsider is not None and insider is not None
    with pytest.raises(Http404):
        authz.get_for(hr, Perm.EMPLOYEE_VIEW, Employee, pk=outsider.pk)
    with pytest.raises(Http404):
        # Not visible is 404 even when asking to change: nothing says the record exists.
        authz.get_for(hr, Perm.EMPLOYEE_CHANGE, Employee, pk=outsider.pk)
    assert authz.get_for(hr, Perm.EMPLOYEE_CHANGE, Employee, pk=insider.pk) == insider


def test_bu_hrbp_moves_people_within_the_unit_across_its_entities(
    users: dict[str, Any],
) -> None:
    hr = users["hrbp.cloud"]
    person = Employee.objects.filter(legal_entity__code="CSH").first()
    assert person is not None
    actions.update_employee(person, {"legal_entity_id": entity("CBJ").pk}, acting_user=hr)
    person.refresh_from_db()
    assert person.legal_entity.code == "CBJ"


def test_a_move_into_another_unit_by_group_hr_changes_who_sees_the_person(
    users: dict[str, Any], admin: Any
) -> None:
    person = Employee.objects.get(pk=users["employee"].employee_id)
    d_dept = Department.objects.filter(business_unit__code="D", parent__isnull=False).first()
    assert d_dept is not None
    actions.update_employee(
        person,
        {"department_id": d_dept.pk, "legal_entity_id": entity("DSZ").pk},
        acting_user=admin,
    )
    person.refresh_from_db()
    # The unit follows the department.
    assert person.business_unit.code == "D"
    cloud, devices = _fresh(users["hrbp.cloud"]), _fresh(users["hrbp.devices"])
    assert person.pk not in _ids(
        authz.visible_to(cloud, Perm.EMPLOYEE_VIEW, Employee.objects.all())
    )
    assert person.pk in _ids(authz.visible_to(devices, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    # Their contracts went with them.
    assert not authz.visible_to(cloud, Perm.RECORDS_VIEW, Contract.objects.all()).filter(
        employee=person
    )


def test_bu_hrbp_cannot_pull_someone_in_from_another_unit(users: dict[str, Any]) -> None:
    hr = users["hrbp.cloud"]
    outsider = Employee.objects.filter(business_unit__code="D").first()
    c_dept = Department.objects.filter(business_unit__code="C").first()
    assert outsider is not None and c_dept is not None
    with pytest.raises(Http404):
        actions.update_employee(outsider, {"department_id": c_dept.pk}, acting_user=hr)
    outsider.refresh_from_db()
    assert outsider.business_unit.code == "D"


def test_bu_hrbp_cannot_hire_into_another_unit(users: dict[str, Any]) -> None:
    d_dept = Department.objects.filter(business_unit__code="D", parent__isnull=False).first()
    assert d_dept is not None
    before = (Employee.objects.count(), AuditEntry.objects.count())
    with pytest.raises(PermissionDenied):
        _hire(users["hrbp.cloud"], d_dept, entity("DSZ"))
    assert (Employee.objects.count(), AuditEntry.objects.count()) == before


def test_an_hrbp_of_two_units_sees_both(users: dict[str, Any]) -> None:
    hr = _login("hrbp.two", Role.HRBP, business_unit=BusinessUnit.objects.get(code="C"))
    RoleAssignment.objects.create(
        user=hr, role=Role.HRBP, business_unit=BusinessUnit.objects.get(code="D")
    )
    seen = _ids(authz.visible_to(hr, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    assert seen == _ids(Employee.objects.filter(business_unit__code__in=["C", "D"]))


def test_a_deactivated_hrbp_sees_nothing(users: dict[str, Any]) -> None:
    hr = _fresh(users["hrbp.cloud"])
    hr.is_active = False
    assert not authz.visible_to(hr, Perm.EMPLOYEE_VIEW, Employee.objects.all()).exists()
    assert not authz.has_perm(hr, Perm.EMPLOYEE_CHANGE)


# ---------------------------------------------------------------- a legal-entity HRBP


@pytest.fixture
def le_hr(admin: Any, rd: Department) -> User:
    hr = _login("hrbp.cbj", Role.HRBP, legal_entity=entity("CBJ"))
    # Make sure the entity employs someone, in and out of R&D.
    _hire(admin, rd, entity("CBJ"), name="北京员工")
    return hr


def test_entity_hrbp_sees_only_that_employer(le_hr: User) -> None:
    seen = _ids(authz.visible_to(le_hr, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    assert seen == _ids(Employee.objects.filter(legal_entity__code="CBJ"))
    # Same unit, other employer: invisible.
    same_unit = Employee.objects.filter(legal_entity__code="CSH").first()
    assert same_unit is not None
    with pytest.raises(Http404):
        authz.get_for(le_hr, Perm.EMPLOYEE_VIEW, Employee, pk=same_unit.pk)


def test_entity_hrbp_hires_for_their_entity_only(le_hr: User, rd: Department) -> None:
    person = _hire(le_hr, rd, entity("CBJ"))
    assert person.legal_entity.code == "CBJ"
    before = Employee.objects.count()
    with pytest.raises(PermissionDenied):
        _hire(le_hr, rd, entity("CSH"))
    assert Employee.objects.count() == before


def test_entity_hrbp_cannot_move_someone_to_another_employer(le_hr: User) -> None:
    person = Employee.objects.filter(legal_entity__code="CBJ").first()
    assert person is not None
    with pytest.raises(PermissionDenied):
        actions.update_employee(person, {"legal_entity_id": entity("CSH").pk}, acting_user=le_hr)
    person.refresh_from_db()
    assert person.legal_entity.code == "CBJ"


def test_entity_hrbp_may_change_the_department_keeping_the_employer(
    le_hr: User, sibling: Department
) -> None:
    person = Employee.objects.filter(legal_entity__code="CBJ").first()
    assert person is not None
    actions.update_employee(person, {"department_id": sibling.pk}, acting_user=le_hr)
    person.refresh_from_db()
    assert person.department_id == sibling.pk
    assert person.pk in _ids(
        authz.visible_to(_fresh(le_hr), Perm.EMPLOYEE_VIEW, Employee.objects.all())
    )


def test_entity_hrbp_records_follow_the_employer(le_hr: User) -> None:
    contracts = _ids(authz.visible_to(le_hr, Perm.RECORDS_VIEW, Contract.objects.all()))
    assert contracts == _ids(Contract.objects.filter(employee__legal_entity__code="CBJ"))


# ---------------------------------------------------------------- a department subtree


@pytest.fixture
def dept_hr(rd: Department) -> User:
    return _login("hrbp.rd", Role.HRBP, department=rd)


def _subtree(dept: Department) -> set[int]:
    return _ids(Employee.objects.filter(department__path__startswith=dept.path))


def test_department_head_sees_their_subtree_and_themselves(
    users: dict[str, Any], rd: Department
) -> None:
    head = users["head.rd"]
    seen = _ids(authz.visible_to(head, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    assert seen == _subtree(rd) | {head.employee_id}
    assert len(seen) > 1


def test_department_head_sees_no_records_but_their_own(
    users: dict[str, Any], rd: Department
) -> None:
    head = users["head.rd"]
    contracts = authz.visible_to(head, Perm.RECORDS_VIEW, Contract.objects.all())
    assert set(contracts.values_list("employee_id", flat=True)) <= {head.employee_id}


def test_department_head_may_see_but_not_change_their_people(
    users: dict[str, Any], rd: Department
) -> None:
    head = users["head.rd"]
    member = Employee.objects.get(pk=users["employee"].employee_id)
    assert member.department.path.startswith(rd.path)
    with pytest.raises(PermissionDenied):
        actions.update_employee(member, {"phone": "13900000000"}, acting_user=head)
    with pytest.raises(PermissionDenied):
        _hire(head, rd, entity("CSH"))
    with pytest.raises(PermissionDenied):
        actions.create_contract(
            {
                "employee_id": member.pk,
                "legal_entity_id": member.legal_entity_id,
                "contract_type": "open_ended",
                "start_date": dt.date(2026, 1, 1),
                "sequence": 9,
            },
            acting_user=head,
        )


def test_a_department_created_under_the_subtree_is_in_scope_at_once(
    users: dict[str, Any], admin: Any, rd: Department
) -> None:
    child = actions.create_department(
        {
            "business_unit_id": rd.business_unit_id,
            "parent_id": rd.pk,
            "code": "RDNEW",
            "name": "新组",
        },
        acting_user=admin,
    )
    person = _hire(admin, child, entity("CSH"))
    head = _fresh(users["head.rd"])
    assert person.pk in _ids(authz.visible_to(head, Perm.EMPLOYEE_VIEW, Employee.objects.all()))


def test_a_sibling_whose_id_starts_with_the_same_digits_is_outside(
    users: dict[str, Any], admin: Any, rd: Department
) -> None:
    """Paths are compared with their trailing slash: /1/5/ must not cover /1/59999/."""
    parent = rd.parent
    assert parent is not None
    pk = int(f"{rd.pk}9999")
    # A row with a chosen id stands for a large group where such ids exist.
    twin = Department.objects.create(
        pk=pk,
        business_unit_id=rd.business_unit_id,
        parent=parent,
        code="TWIN",
        name="同号前缀",
        path=f"{parent.path}{pk}/",
    )
    assert twin.path.startswith(rd.path.rstrip("/"))
    person = _hire(admin, twin, entity("CSH"))
    head = _fresh(users["head.rd"])
    assert person.pk not in _ids(authz.visible_to(head, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    hr = _login("hrbp.rd2", Role.HRBP, department=rd)
    with pytest.raises(PermissionDenied):
        authz.check_target(
            hr,
            Perm.EMPLOYEE_CHANGE,
            business_unit_id=None,
            legal_entity_id=None,
            department=twin,
        )
    with pytest.raises(PermissionDenied):
        _hire(_fresh(hr), twin, entity("CSH"))


def test_check_target_inside_the_subtree(dept_hr: User, rd: Department) -> None:
    deep = Department(path=f"{rd.path}123456/")
    authz.check_target(
        dept_hr, Perm.EMPLOYEE_CHANGE, business_unit_id=None, legal_entity_id=None, department=deep
    )
    authz.check_target(
        dept_hr, Perm.EMPLOYEE_CHANGE, business_unit_id=None, legal_entity_id=None, department=rd
    )
    with pytest.raises(PermissionDenied):
        authz.check_target(
            dept_hr,
            Perm.EMPLOYEE_CHANGE,
            business_unit_id=rd.business_unit_id,
            legal_entity_id=None,
            department=None,
        )
    # A permission the role does not have is refused whatever the place.
    with pytest.raises(PermissionDenied):
        authz.check_target(
            dept_hr, Perm.ORG_MANAGE, business_unit_id=None, legal_entity_id=None, department=rd
        )


def test_subtree_hrbp_hires_inside_and_not_next_door(
    dept_hr: User, rd: Department, sibling: Department
) -> None:
    person = _hire(dept_hr, rd, entity("CSH"))
    assert person.department_id == rd.pk
    with pytest.raises(PermissionDenied):
        _hire(dept_hr, sibling, entity("CSH"))


def test_subtree_hrbp_cannot_move_someone_out_of_the_subtree(
    users: dict[str, Any], dept_hr: User, sibling: Department
) -> None:
    member = Employee.objects.get(pk=users["employee"].employee_id)
    before = member.department_id
    entries = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        actions.update_employee(member, {"department_id": sibling.pk}, acting_user=dept_hr)
    member.refresh_from_db()
    assert member.department_id == before
    assert AuditEntry.objects.count() == entries


def test_people_moved_out_by_group_hr_leave_the_head_s_view(
    users: dict[str, Any], admin: Any, sibling: Department, rd: Department
) -> None:
    member = Employee.objects.get(pk=users["employee"].employee_id)
    actions.update_employee(member, {"department_id": sibling.pk}, acting_user=admin)
    head = _fresh(users["head.rd"])
    assert member.pk not in _ids(authz.visible_to(head, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    with pytest.raises(Http404):
        authz.get_for(head, Perm.EMPLOYEE_VIEW, Employee, pk=member.pk)
    # And back in: visible again.
    actions.update_employee(member, {"department_id": rd.pk}, acting_user=admin)
    assert member.pk in _ids(
        authz.visible_to(_fresh(head), Perm.EMPLOYEE_VIEW, Employee.objects.all())
    )


def test_the_scope_follows_the_department_when_it_moves(
    users: dict[str, Any], admin: Any, rd: Department, sibling: Department
) -> None:
    """A head's scope is their department's subtree wherever the department goes."""
    before = _ids(authz.visible_to(users["head.rd"], Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    actions.update_department(rd, {"parent_id": sibling.pk}, acting_user=admin)
    rd.refresh_from_db()
    assert rd.path.startswith(sibling.path)
    head = _fresh(users["head.rd"])
    after = _ids(authz.visible_to(head, Perm.EMPLOYEE_VIEW, Employee.objects.all()))
    assert after == before
    # The new parent's people are not the head's.
    newcomer = _hire(admin, sibling, entity("CSH"))
    assert newcomer.pk not in _ids(
        authz.visible_to(_fresh(head), Perm.EMPLOYEE_VIEW, Employee.objects.all())
    )


# ---------------------------------------------------------------- people who see themselves


def test_an_employee_sees_their_own_record_and_records_only(users: dict[str, Any]) -> None:
    me = users["employee"]
    assert _ids(authz.visible_to(me, Perm.EMPLOYEE_VIEW, Employee.objects.all())) == {
        me.employee_id
    }
    contracts = authz.visible_to(me, Perm.RECORDS_VIEW, Contract.objects.all())
    assert set(contracts.values_list("employee_id", flat=True)) <= {me.employee_id}
    colleague = Employee.objects.exclude(pk=me.employee_id).first()
    assert colleague is not None
    with pytest.raises(Http404):
        authz.get_for(me, Perm.EMPLOYEE_VIEW, Employee, pk=colleague.pk)


def test_an_employee_cannot_change_their_own_record(users: dict[str, Any]) -> None:
    me = users["employee"]
    own = Employee.objects.get(pk=me.employee_id)
    with pytest.raises(PermissionDenied):
        actions.update_employee(own, {"phone": "13911112222"}, acting_user=me)
    with pytest.raises(PermissionDenied):
        actions.record_lifecycle_event(
            {"employee_id": own.pk, "event_type": "promotion", "effective_date": dt.date.today()},
            acting_user=me,
        )


@pytest.mark.parametrize(
    ("who", "employees", "records"),
    [("it", True, False), ("finance", True, True), ("auditor", True, True)],
)
def test_group_wide_roles(users: dict[str, Any], who: str, employees: bool, records: bool) -> None:
    user = users[who]
    seen = authz.visible_to(user, Perm.EMPLOYEE_VIEW, Employee.objects.all()).count()
    assert (seen == Employee.objects.count()) is employees
    contracts = authz.visible_to(user, Perm.RECORDS_VIEW, Contract.objects.all()).count()
    assert (contracts == Contract.objects.count() and contracts > 0) is records
    # None of them changes people.
    person = Employee.objects.first()
    assert person is not None
    with pytest.raises(PermissionDenied):
        actions.update_employee(person, {"phone": "13000000000"}, acting_user=user)


# ---------------------------------------------------------------- through the API and pages


def _items(client: Any, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_api_filters_never_widen_the_scope(client_as: Any) -> None:
    client = client_as("hrbp.cloud")
    d_unit = BusinessUnit.objects.get(code="D")
    d_dept = Department.objects.filter(business_unit=d_unit).first()
    d_person = Employee.objects.filter(business_unit=d_unit).first()
    assert d_dept is not None and d_person is not None
    assert _items(client, f"/api/org/employees?business_unit={d_unit.pk}") == []
    assert _items(client, f"/api/org/employees?department={d_dept.pk}") == []
    assert _items(client, f"/api/org/employees?q={d_person.employee_number}") == []
    assert _items(client, f"/api/org/contracts?employee={d_person.pk}") == []
    assert client.get(f"/api/org/employees/{d_person.pk}").status_code == 404
    patch = client.patch(
        f"/api/org/employees/{d_person.pk}",
        data=json.dumps({"phone": "1"}),
        content_type="application/json",
    )
    assert patch.status_code == 404


def test_api_department_filter_is_a_subtree(client_as: Any, rd: Department) -> None:
    items = _items(client_as("admin"), f"/api/org/employees?department={rd.pk}&limit=500")
    assert {e["id"] for e in items} == _subtree(rd)
    # An unknown department matches nobody rather than everybody.
    assert _items(client_as("admin"), "/api/org/employees?department=99999999") == []


def test_api_department_head_list_is_their_subtree(
    client_as: Any, users: dict[str, Any], rd: Department, c_root: Department
) -> None:
    client = client_as("head.rd")
    everyone = {e["id"] for e in _items(client, "/api/org/employees?limit=500")}
    assert everyone == _subtree(rd) | {users["head.rd"].employee_id}
    # Filtering by the unit's root narrows nothing beyond the scope.
    by_root = {
        e["id"] for e in _items(client, f"/api/org/employees?department={c_root.pk}&limit=500")
    }
    assert by_root == everyone & _ids(
        Employee.objects.filter(department__path__startswith=c_root.path)
    )
    assert _items(client, "/api/org/contracts?limit=500") == [] or all(
        c["employee_id"] == users["head.rd"].employee_id
        for c in _items(client, "/api/org/contracts?limit=500")
    )


def test_api_entity_hrbp_cannot_create_for_another_employer(
    client_as: Any, le_hr: User, rd: Department
) -> None:
    from django.test import Client

    client = Client(headers={"host": "127.0.0.1"})
    client.force_login(le_hr)
    body = {
        "name": "跨主体",
        "legal_entity_id": entity("CSH").pk,
        "department_id": rd.pk,
        "position_id": Position.objects.get(code="ENG-SWE").pk,
        "work_city_id": entity("CSH").city_id,
        "hire_date": "2026-05-01",
    }
    refused = client.post(
        "/api/org/employees", data=json.dumps(body), content_type="application/json"
    )
    assert refused.status_code == 403
    ok = client.post(
        "/api/org/employees",
        data=json.dumps({**body, "legal_entity_id": entity("CBJ").pk}),
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["legal_entity"]["id"] == entity("CBJ").pk


def test_people_page_keeps_to_the_scope(client_as: Any, users: dict[str, Any]) -> None:
    client = client_as("hrbp.cloud")
    d_unit = BusinessUnit.objects.get(code="D")
    d_person = Employee.objects.filter(business_unit=d_unit).first()
    assert d_person is not None
    page = client.get(f"/people/?business_unit={d_unit.pk}").content.decode()
    assert d_person.employee_number not in page
    assert client.get(f"/people/{d_person.pk}/").status_code == 404
    assert client.get(f"/people/{d_person.pk}/edit/").status_code == 404
    member = users["employee"].employee_id
    head = client_as("head.rd")
    assert head.get(f"/people/{member}/").status_code == 200
    assert head.get(f"/people/{member}/edit/").status_code == 403
    assert head.post(f"/people/{member}/contract/add/", {}).status_code == 403
