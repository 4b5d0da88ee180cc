"""Writing the trail: gap-free ordered ids, who did it (actor, on behalf of, token, request),
where it is filed, and a canonical form whose hash does not depend on dict order, language or
time zone."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import uuid
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone, translation

from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry, AuditHead
from baton.core import context
from baton.org.models import City, Contract, Employee

pytestmark = pytest.mark.django_db


def _head() -> tuple[int, str]:
    head = AuditHead.objects.get()
    return head.last_id, head.last_hash


def test_ids_are_gap_free_and_each_entry_follows_the_last(users: dict[str, Any]) -> None:
    admin = users["admin"]
    start_id, start_hash = _head()
    cities = list(City.objects.order_by("pk")[:3])
    written = [trail.record(AuditEvent.CITY_UPDATED, actor=admin, subject=cities[0])]
    written += trail.record_many(
        [trail.Change(AuditEvent.CITY_UPDATED, c) for c in cities], actor=admin
    )
    written.append(trail.record(AuditEvent.CITY_UPDATED, actor=None, subject=cities[1]))
    assert [e.id for e in written] == list(range(start_id + 1, start_id + 6))
    stored = list(AuditEntry.objects.filter(id__gt=start_id).order_by("id"))
    assert [e.id for e in stored] == [e.id for e in written]
    prev = start_hash
    for e in stored:
        assert e.prev_hash == prev
        prev = e.entry_hash
    assert _head() == (start_id + 5, prev)
    # One call is one moment: its entries share the time.
    assert len({e.created_at for e in stored[1:4]}) == 1
    assert trail.verify().ok


def test_recording_nothing_leaves_the_head_alone(users: dict[str, Any]) -> None:
    before = _head()
    assert trail.record_many([], actor=users["admin"]) == []
    assert _head() == before


def test_actor_on_behalf_of_token_and_request_are_recorded(users: dict[str, Any]) -> None:
    city = City.objects.order_by("pk").first()
    assert city is not None
    with context.request_context("req-abc", "203.0.113.9"):
        context.set_token(42)  # what API token sign-in does
        entry = trail.record(
            AuditEvent.CITY_UPDATED,
            actor=users["admin"],
            subject=city,
            on_behalf_of=users["employee"],
            changes={"name": ("旧", "新")},
            extra={"note": "代办"},
        )
    stored = AuditEntry.objects.get(id=entry.id)
    assert (stored.actor_id, stored.on_behalf_of_id) == (users["admin"].pk, users["employee"].pk)
    assert (stored.token_id, stored.request_id, stored.client_ip) == (42, "req-abc", "203.0.113.9")
    assert (stored.subject_type, stored.subject_id) == ("org.city", str(city.pk))
    assert stored.data == {
        "actor": str(users["admin"]),
        "subject": str(city),
        "changes": {"name": ["旧", "新"]},
        "extra": {"note": "代办"},
    }


def test_system_entries_outside_a_request(users: dict[str, Any]) -> None:
    city = City.objects.order_by("pk").first()
    assert city is not None
    first = trail.record(AuditEvent.CITY_UPDATED, actor=None, subject=city)
    second = trail.record(AuditEvent.CITY_UPDATED, actor=None, subject=city)
    assert first.actor_id is None and first.on_behalf_of_id is None and first.token_id is None
    assert first.data["actor"] == "system"
    assert first.client_ip == ""
    # Each call outside a request is still traceable on its own.
    assert first.request_id.startswith("local-") and second.request_id.startswith("local-")
    assert first.request_id != second.request_id


def test_entries_are_filed_under_the_subjects_unit(users: dict[str, Any]) -> None:
    admin = users["admin"]
    emp = Employee.objects.exclude(department=None).order_by("pk").first()
    contract = Contract.objects.select_related("employee").order_by("pk").first()
    city = City.objects.order_by("pk").first()
    assert emp is not None and contract is not None and city is not None
    own, via_employee, unfiled, explicit = trail.record_many(
        [
            trail.Change(AuditEvent.EMPLOYEE_UPDATED, emp),
            trail.Change(AuditEvent.CONTRACT_UPDATED, contract),
            trail.Change(AuditEvent.CITY_UPDATED, city),
            trail.Change(AuditEvent.CITY_UPDATED, city, business_unit_id=emp.business_unit_id),
        ],
        actor=admin,
    )
    assert (own.business_unit_id, own.department_id) == (emp.business_unit_id, emp.department_id)
    assert (via_employee.business_unit_id, via_employee.department_id) == (
        contract.employee.business_unit_id,
        contract.employee.department_id,
    )
    assert (unfiled.business_unit_id, unfiled.department_id) == (None, None)
    assert (explicit.business_unit_id, explicit.department_id) == (emp.business_unit_id, None)
    assert trail.verify().ok


def test_listeners_see_each_batch_inside_the_transaction(users: dict[str, Any]) -> None:
    seen: list[list[trail.Change]] = []
    city = City.objects.order_by("pk").first()
    assert city is not None
    trail.listeners.append(seen.append)
    try:
        items = [trail.Change(AuditEvent.CITY_UPDATED, city, extra={"n": i}) for i in range(2)]
        trail.record_many(items, actor=users["admin"])
        trail.record_many([], actor=users["admin"])  # nothing written, nothing announced
    finally:
        trail.listeners.remove(seen.append)
    assert seen == [items]


# ---------------------------------------------------------------- the canonical form


def test_canonical_json_ignores_dict_order() -> None:
    a = {"b": 1, "a": {"d": [2, {"y": 1, "x": 0}], "c": 3}}
    b = {"a": {"c": 3, "d": [2, {"x": 0, "y": 1}]}, "b": 1}
    assert trail.canonical_json(a) == trail.canonical_json(b)
    assert trail.canonical_json(a) == '{"a":{"c":3,"d":[2,{"x":0,"y":1}]},"b":1}'


def test_canonical_json_of_typed_values(users: dict[str, Any]) -> None:
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    value = {
        "amount": decimal.Decimal("12345.10"),  # money keeps its exact digits: no float
        "day": dt.date(2026, 12, 31),
        "at": dt.datetime(2026, 3, 1, 9, 30, 0, 5, tzinfo=shanghai),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "user": users["admin"],
        "pair": ("旧", "新"),
    }
    assert trail.canonical_json(value) == (
        '{"amount":"12345.10","at":"2026-03-01T09:30:00.000005+08:00","day":"2026-12-31",'
        f'"id":"12345678-1234-5678-1234-567812345678","pair":["旧","新"],"user":{users["admin"].pk}}}'
    )


def test_canonical_json_keeps_chinese_and_hashes_utf8() -> None:
    text = trail.canonical_json({"name": "张三", "城市": "上海"})
    assert text == '{"name":"张三","城市":"上海"}'  # not \\u escapes
    assert trail.sha256(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_canonical_form_does_not_depend_on_language_or_time_zone() -> None:
    value = {"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "n": decimal.Decimal("0.1"), "名": "李"}
    with translation.override("en"), timezone.override("UTC"):
        english = trail.canonical_json(value)
    with translation.override("zh-hans"), timezone.override("Asia/Shanghai"):
        chinese = trail.canonical_json(value)
    assert english == chinese


# The stored format: these hashes were computed when the format was fixed. If one changes,
# every existing trail stops verifying.
GOLDEN = [
    (
        (7, dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC), 422, 3, None, 12,
         "handover.exitcase", "55", 2, None, "req-1", "203.0.113.9"),
        "7a2729e700cc129712b35f92045be7d9ee78b33ac47ca7b5cd18d117ef4f88c6",
    ),
    (
        (1, dt.datetime(2026, 3, 1, tzinfo=dt.UTC), 101, None, None, None, "org.group", "1",
         None, None, "", ""),
        "28885852de36bbe19d8df565367f7e605a775dcedec36ebf4a91b1eac786a372",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "expected"), GOLDEN)
def test_chain_hash_format_is_frozen(fields: tuple[Any, ...], expected: str) -> None:
    prev = trail.GENESIS_HASH if fields[0] == 7 else "f" * 64
    assert trail.chain_hash(*fields, trail.sha256("{}"), prev) == expected


def test_chain_hash_covers_the_instant_not_its_time_zone() -> None:
    at = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    fields, expected = GOLDEN[0]
    local = at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert trail.chain_hash(7, local, *fields[2:], trail.sha256("{}"), trail.GENESIS_HASH) == (
        expected
    )
    later = at + dt.timedelta(microseconds=1)
    assert trail.chain_hash(7, later, *fields[2:], trail.sha256("{}"), trail.GENESIS_HASH) != (
        expected
    )


def test_diff_and_snapshot_give_old_and_new(users: dict[str, Any]) -> None:
    emp = Employee.objects.order_by("pk").first()
    assert emp is not None
    before = trail.snapshot(emp, ["name", "department"])
    assert before == {"name": emp.name, "department": emp.department_id}
    after = {**before, "name": "新名字"}
    assert trail.diff(before, after) == {"name": (emp.name, "新名字")}
    assert trail.diff(before, before) == {}
