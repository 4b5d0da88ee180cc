"""Every API endpoint × every role → allowed or denied.

The endpoint list comes from the API's own route table (its OpenAPI schema), so an endpoint
added without a row in EXPECTED fails `test_every_endpoint_has_a_rule`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from baton.access import actions as access_actions
from baton.access.models import ApiToken, RoleAssignment, User
from baton.api import api
from baton.audit.models import AuditEntry
from baton.org import actions as org_actions
from baton.org.models import (
    BusinessUnit,
    City,
    Department,
    Employee,
    LegalEntity,
    LifecycleEvent,
    Position,
    PositionFamily,
)

pytestmark = pytest.mark.django_db

ALL = frozenset(
    {
        "admin",
        "hrbp.cloud",
        "hrbp.devices",
        "head.rd",
        "employee",
        "receiver",
        "it",
        "finance",
        "auditor",
    }
)
STRUCTURE_VIEW = ALL - {"employee", "receiver"}
ADMIN = frozenset({"admin"})
HR_CLOUD = frozenset({"admin", "hrbp.cloud"})
# Who may see the target employee (an engineer in the cloud-software BU's R&D subtree).
TARGET_VIEW = frozenset({"admin", "hrbp.cloud", "head.rd", "employee", "it", "finance", "auditor"})
TARGET_RECORDS = frozenset({"admin", "hrbp.cloud", "employee", "finance", "auditor"})
RECORDS_ANYWHERE = ALL - {"it"}
AUDIT_VIEW = frozenset({"admin", "hrbp.cloud", "hrbp.devices", "auditor"})
AUDIT_TARGET = frozenset({"admin", "hrbp.cloud", "auditor"})
AUDIT_EXPORT = frozenset({"admin", "auditor"})


@dataclass
class World:
    users: dict[str, User]
    target: Employee
    ids: dict[str, int] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def n(self) -> int:
        return next(self.counter)


Body = Callable[[World, str], dict[str, Any]]
Path = Callable[[World, str], dict[str, int]]


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    body: Body | None = None
    path: Path | None = None


def _by(key: str) -> Path:
    return lambda w, _role: {"item_id": w.ids[key]}


def _code(prefix: str) -> Body:
    return lambda w, _r: {"code": f"{prefix}{w.n()}", "name": f"测试{w.n()}"}


EXPECTED: dict[str, Rule] = {
    "get_me": Rule(ALL),
    "update_me": Rule(ALL, body=lambda w, r: {"time_zone": f"Etc/GMT-{w.n() % 12 + 1}"}),
    "list_tokens": Rule(ALL),
    "create_token": Rule(ALL, body=lambda w, r: {"name": "ci", "scopes": ["org:read"]}),
    "revoke_token": Rule(ALL, path=lambda w, r: {"token_id": w.ids[f"token:{r}"]}),
    "list_users": Rule(ADMIN),
    "get_users": Rule(ADMIN, path=_by("user")),
    "create_users": Rule(
        ADMIN, body=lambda w, r: {"username": f"new{w.n()}", "display_name": "新用户"}
    ),
    "update_users": Rule(
        ADMIN, body=lambda w, r: {"display_name": f"改名{w.n()}"}, path=_by("user")
    ),
    "grant_role": Rule(
        ADMIN, body=lambda w, r: {"role": "it"}, path=lambda w, r: {"user_id": w.ids["user"]}
    ),
    "revoke_role": Rule(ADMIN, path=lambda w, r: {"assignment_id": w.ids["assignment"]}),
    "get_group": Rule(STRUCTURE_VIEW),
    "update_group": Rule(ADMIN, body=lambda w, r: {"name": f"集团{w.n()}"}),
    "list_cities": Rule(STRUCTURE_VIEW),
    "get_cities": Rule(STRUCTURE_VIEW, path=_by("city")),
    "create_cities": Rule(ADMIN, body=_code("X")),
    "update_cities": Rule(ADMIN, body=lambda w, r: {"name": f"新城{w.n()}"}, path=_by("city")),
    "list_business_units": Rule(STRUCTURE_VIEW),
    "get_business_units": Rule(STRUCTURE_VIEW, path=_by("bu")),
    "create_business_units": Rule(ADMIN, body=_code("B")),
    "update_business_units": Rule(
        ADMIN, body=lambda w, r: {"name": f"新事业部{w.n()}"}, path=_by("bu")
    ),
    "list_legal_entities": Rule(STRUCTURE_VIEW),
    "get_legal_entities": Rule(STRUCTURE_VIEW, path=_by("entity")),
    "create_legal_entities": Rule(
        ADMIN, body=lambda w, r: {**_code("E")(w, r), "business_unit_id": w.ids["bu"]}
    ),
    "update_legal_entities": Rule(
        ADMIN, body=lambda w, r: {"name": f"新公司{w.n()}"}, path=_by("entity")
    ),
    "list_departments": Rule(STRUCTURE_VIEW),
    "get_departments": Rule(STRUCTURE_VIEW, path=_by("dept")),
    "create_departments": Rule(
        ADMIN,
        body=lambda w, r: {
            **_code("D")(w, r),
            "business_unit_id": w.ids["bu"],
            "parent_id": w.ids["dept"],
        },
    ),
    "update_departments": Rule(
        ADMIN, body=lambda w, r: {"name": f"新部门{w.n()}"}, path=_by("dept")
    ),
    "list_position_families": Rule(STRUCTURE_VIEW),
    "get_position_families": Rule(STRUCTURE_VIEW, path=_by("family")),
    "create_position_families": Rule(ADMIN, body=_code("f")),
    "list_positions": Rule(STRUCTURE_VIEW),
    "get_positions": Rule(STRUCTURE_VIEW, path=_by("position")),
    "create_positions": Rule(
        ADMIN,
        body=lambda w, r: {"code": f"P{w.n()}", "title": "岗位", "family_id": w.ids["family"]},
    ),
    "update_positions": Rule(
        ADMIN, body=lambda w, r: {"title": f"新岗位{w.n()}"}, path=_by("position")
    ),
    "list_employees": Rule(ALL),
    "get_employees": Rule(TARGET_VIEW, path=_by("target")),
    "create_employees": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "name": "新员工",
            "legal_entity_id": w.ids["entity"],
            "department_id": w.ids["dept"],
            "position_id": w.ids["position"],
            "work_city_id": w.ids["city"],
            "hire_date": "2026-01-05",
        },
    ),
    "update_employees": Rule(
        HR_CLOUD, body=lambda w, r: {"phone": f"138{w.n():08d}"}, path=_by("target")
    ),
    "list_contracts": Rule(RECORDS_ANYWHERE),
    "get_contracts": Rule(TARGET_RECORDS, path=_by("contract")),
    "create_contracts": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "employee_id": w.ids["target"],
            "legal_entity_id": w.ids["entity"],
            "contract_type": "fixed_term",
            "start_date": "2026-01-01",
            "end_date": "2028-12-31",
            "sequence": 4,
        },
    ),
    "update_contracts": Rule(
        HR_CLOUD,
        body=lambda w, r: {"signed_on": f"2026-02-{w.n() % 28 + 1:02d}"},
        path=_by("contract"),
    ),
    "list_agreements": Rule(RECORDS_ANYWHERE),
    "get_agreements": Rule(TARGET_RECORDS, path=_by("agreement")),
    "create_agreements": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "employee_id": w.ids["target"],
            "agreement_type": "nda",
            "signed_on": "2026-01-01",
        },
    ),
    "update_agreements": Rule(
        HR_CLOUD, body=lambda w, r: {"terms": {"note": r}}, path=_by("agreement")
    ),
    "list_lifecycle_events": Rule(RECORDS_ANYWHERE),
    "get_lifecycle_events": Rule(TARGET_RECORDS, path=_by("event")),
    "create_lifecycle_events": Rule(
        HR_CLOUD,
        body=lambda w, r: {
            "employee_id": w.ids["target"],
            "event_type": "promotion",
            "effective_date": "2026-06-01",
        },
    ),
    "list_audit_entries": Rule(AUDIT_VIEW),
    "get_audit_entry": Rule(AUDIT_TARGET, path=lambda w, r: {"entry_id": w.ids["audit"]}),
    "export_audit_entries": Rule(AUDIT_EXPORT),
}


def operations() -> list[tuple[str, str, str]]:
    """(operation id, method, path template) for every endpoint in the API."""
    schema = api.get_openapi_schema()
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            ops.append((op["operationId"], method.upper(), path))
    return sorted(ops)


OPERATIONS = operations()


def test_every_endpoint_has_a_rule() -> None:
    ids = {op for op, _m, _p in OPERATIONS}
    assert ids - set(EXPECTED) == set(), "endpoints without an authorization rule"
    assert set(EXPECTED) - ids == set(), "rules for endpoints that no longer exist"
    # Every API URL the router serves is in the schema, so nothing escapes the matrix.
    served = {str(p.pattern) for p in api.urls[0]} - {"openapi.json", "docs", ""}
    assert len(served) == len({p for _o, _m, p in OPERATIONS})


@pytest.fixture
def world(users: dict[str, User]) -> World:
    employee_user = users["employee"]
    target = Employee.objects.get(pk=employee_user.employee_id)
    w = World(users=users, target=target)
    admin = users["admin"]
    # An audit entry about the target (scoped to its business unit) to read.
    org_actions.update_employee(target, {"phone": "13900000000"}, acting_user=admin)
    w.ids.update(
        target=target.pk,
        user=employee_user.pk,
        city=target.work_city_id,
        bu=target.business_unit_id,
        entity=target.legal_entity_id,
        dept=target.department_id,
        position=target.position_id,
        family=Position.objects.get(pk=target.position_id).family_id,
        contract=target.contracts.order_by("id").first().pk,  # type: ignore[union-attr]
        agreement=target.agreements.order_by("id").first().pk,  # type: ignore[union-attr]
        event=LifecycleEvent.objects.filter(employee=target).order_by("id").first().pk,  # type: ignore[union-attr]
        audit=AuditEntry.objects.filter(subject_type="org.employee", subject_id=str(target.pk))
        .latest("id")
        .pk,
        assignment=RoleAssignment.objects.get(user=users["it"]).pk,
    )
    for role, user in users.items():
        token, _raw = access_actions.create_token(user, "mine", ["org:read"], acting_user=user)
        w.ids[f"token:{role}"] = token.pk
    assert all(
        m.objects.exists()
        for m in (City, BusinessUnit, LegalEntity, Department, PositionFamily, ApiToken)
    )
    return w


# Admin last: its allowed deletes (revoke role) must not pre-empt others' denials.
ROLE_ORDER = [*sorted(ALL - {"admin"}), "admin"]


@pytest.mark.parametrize(("op_id", "method", "path"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_matrix(op_id: str, method: str, path: str, world: World, client_as: Any) -> None:
    rule = EXPECTED[op_id]
    for role in [None, *ROLE_ORDER]:
        url = path.format(**(rule.path(world, role or "admin") if rule.path else {}))
        body = rule.body(world, role or "admin") if rule.body else None
        client = client_as(role)
        before = AuditEntry.objects.count()
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        response = client.generic(method, url, **kwargs)
        status = response.status_code
        content = (
            b"".join(response.streaming_content)
            if response.streaming  # type: ignore[attr-defined]
            else response.content
        )
        label = f"{method} {url} as {role or 'anonymous'} → {status} {content[:300]!r}"
        if role is None:
            assert status == 401, label
        elif role in rule.allowed:
            assert 200 <= status < 300, label
            if method != "GET":
                assert AuditEntry.objects.count() > before, f"{label}: not audited"
        else:
            assert status in (403, 404), label
            if method != "GET":
                assert AuditEntry.objects.count() == before, f"{label}: denied but wrote"
