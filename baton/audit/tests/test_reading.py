"""Reading the trail: scoped to the reader everywhere (selector, API, UI, export), filters that
narrow, exports that carry the hashes, read in the reader's language, cannot run a formula and
are themselves audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from baton.access.models import RoleAssignment
from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.audit.selectors import entries_for
from baton.core import context
from baton.org.models import City, Employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(users: dict[str, Any]) -> dict[str, AuditEntry]:
    """One entry about a person in the cloud BU, one in the devices BU, one about a city."""
    unit = {
        name: RoleAssignment.objects.get(user=users[name]).business_unit_id
        for name in ("hrbp.cloud", "hrbp.devices")
    }
    cloud = Employee.objects.filter(business_unit_id=unit["hrbp.cloud"]).order_by("pk").first()
    devices = Employee.objects.filter(business_unit_id=unit["hrbp.devices"]).order_by("pk").first()
    city = City.objects.order_by("pk").first()
    assert cloud is not None and devices is not None and city is not None
    with context.request_context("req-reading", "198.51.100.7"):
        a, b = trail.record_many(
            [
                trail.Change(AuditEvent.EMPLOYEE_UPDATED, cloud, {"phone": ("1", "2")}),
                trail.Change(AuditEvent.EMPLOYEE_UPDATED, devices, {"phone": ("3", "4")}),
            ],
            actor=users["admin"],
        )
    c = trail.record(AuditEvent.CITY_UPDATED, actor=users["hrbp.cloud"], subject=city)
    assert a.business_unit_id == unit["hrbp.cloud"] and b.business_unit_id == unit["hrbp.devices"]
    return {"cloud": a, "devices": b, "city": c}


def _ids(user: Any, **params: str) -> set[int]:
    return set(entries_for(user, params).values_list("id", flat=True))


def test_a_bu_hrbp_sees_only_their_units_entries(
    users: dict[str, Any], filed: dict[str, AuditEntry]
) -> None:
    hrbp = users["hrbp.cloud"]
    visible = entries_for(hrbp, {})
    unit = filed["cloud"].business_unit_id
    assert set(visible.values_list("business_unit_id", flat=True)) == {unit}
    assert filed["cloud"].id in _ids(hrbp)
    # Not the other unit's entries, nor group-wide ones (even one the HRBP wrote).
    assert filed["devices"].id not in _ids(hrbp) and filed["city"].id not in _ids(hrbp)
    assert _ids(users["hrbp.devices"]) & {e.id for e in filed.values()} == {filed["devices"].id}


def test_an_auditor_sees_everything_and_others_nothing(
    users: dict[str, Any], filed: dict[str, AuditEntry]
) -> None:
    assert _ids(users["auditor"]) == set(AuditEntry.objects.values_list("id", flat=True))
    for name in ("employee", "head.rd", "receiver", "it", "finance"):
        assert not entries_for(users[name], {}).exists(), name


def test_filters_narrow_the_entries(users: dict[str, Any], filed: dict[str, AuditEntry]) -> None:
    auditor, city = users["auditor"], filed["city"]
    assert _ids(auditor, event=str(AuditEvent.CITY_UPDATED)) >= {city.id}
    assert filed["cloud"].id not in _ids(auditor, event=str(AuditEvent.CITY_UPDATED))
    assert _ids(auditor, subject_type="org.city", subject_id=city.subject_id) == {city.id}
    assert _ids(auditor, actor=str(users["hrbp.cloud"].pk)) == {city.id}
    assert _ids(auditor, request_id="req-reading") == {filed["cloud"].id, filed["devices"].id}
    today = city.created_at.date().isoformat()
    assert city.id in _ids(auditor, since=today, until=today)
    assert city.id not in _ids(auditor, until="2000-01-01")
    assert city.id not in _ids(
        auditor, since=(city.created_at.date() + dt.timedelta(1)).isoformat()
    )
    # Malformed filters are ignored rather than failing or matching nothing.
    everything = _ids(auditor)
    assert _ids(auditor, event="abc", actor="x", since="not-a-date", subject_id="  ") == everything
    # Newest first.
    assert list(entries_for(auditor, {}).values_list("id", flat=True)[:1]) == [max(everything)]


def test_api_lists_and_gets_within_scope(
    client_as: Any, filed: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    hrbp = client_as("hrbp.cloud")
    page = hrbp.get("/api/audit/entries", {"limit": 500}).json()
    assert page["count"] == entries_for(users["hrbp.cloud"], {}).count()
    assert {i["id"] for i in page["items"]} == _ids(users["hrbp.cloud"])
    page = hrbp.get("/api/audit/entries", {"subject_id": filed["cloud"].subject_id}).json()
    item = next(i for i in page["items"] if i["id"] == filed["cloud"].id)
    assert item["event"] == "员工信息已修改"  # in the reader's language
    assert item["data"]["changes"] == {"phone": ["1", "2"]}
    got = hrbp.get(f"/api/audit/entries/{filed['cloud'].id}")
    assert got.status_code == 200
    assert got.json()["entry_hash"] == filed["cloud"].entry_hash
    assert got.json()["client_ip"] == "198.51.100.7"
    # Outside the reader's scope the entry does not exist for them.
    assert hrbp.get(f"/api/audit/entries/{filed['devices'].id}").status_code == 404
    assert hrbp.get(f"/api/audit/entries/{filed['city'].id}").status_code == 404
    assert hrbp.get("/api/audit/entries/999999999").status_code == 404
    employee = client_as("employee")
    assert employee.get("/api/audit/entries").status_code == 403
    assert employee.get(f"/api/audit/entries/{filed['cloud'].id}").status_code == 404
    assert client_as(None).get("/api/audit/entries").status_code == 401


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # so Excel reads Chinese correctly
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_carries_the_hashes_and_escapes_formulas(
    client_as: Any, filed: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    # "-SUM:A1" is a request id the middleware accepts, and a formula to a spreadsheet.
    client = client_as("auditor", **{"X-Request-ID": "-SUM:A1"})
    response = client.get("/api/audit/export", {"subject_type": "org.employee"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"')
    rows = _csv(response)
    assert rows[0][0] == "ID" and rows[0][-1] == "Entry hash"  # the auditor reads English
    by_id = {int(r[0]): r for r in rows[1:]}
    assert set(by_id) == _ids(users["auditor"], subject_type="org.employee")
    row = by_id[filed["cloud"].id]
    e = filed["cloud"]
    assert row[2:4] == [str(AuditEvent.EMPLOYEE_UPDATED.value), "Employee changed"]
    assert row[9:11] == ["req-reading", "198.51.100.7"]
    assert row[11] == e.payload
    assert row[12:] == [e.payload_hash, e.prev_hash, e.entry_hash]
    assert [int(r[0]) for r in rows[1:]] == sorted(by_id)  # chain order, to check offline
    # The export itself, recorded in the same request, carries the escaped request id.
    export = AuditEntry.objects.filter(event_type=AuditEvent.AUDIT_EXPORTED).latest("id")
    assert export.request_id == "-SUM:A1"
    response = client.get("/api/audit/export", {"event": str(AuditEvent.AUDIT_EXPORTED)})
    rows = _csv(response)
    assert {r[0]: r for r in rows[1:]}[str(export.id)][9] == "'-SUM:A1"


def test_export_is_audited_with_its_filters(
    client_as: Any, filed: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    before = AuditEntry.objects.order_by("-id").first()
    assert before is not None
    response = client_as("auditor").get("/audit/export.xlsx", {"event": "171", "subject_id": ""})
    assert response.status_code == 200
    entry = AuditEntry.objects.get(id=before.id + 1)
    assert entry.event_type == AuditEvent.AUDIT_EXPORTED
    assert entry.actor_id == users["auditor"].pk
    assert entry.data["extra"] == {"format": "xlsx", "filters": {"event": "171"}}
    assert entry.client_ip == "127.0.0.1"
    assert trail.verify().ok


def test_xlsx_export_in_the_readers_language(
    client_as: Any, filed: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    admin = client_as("admin")  # reads Chinese
    response = admin.get("/api/audit/export", {"format": "xlsx", "request_id": "req-reading"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet.title == "审计日志"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("ID", "时间", "事件代码", "事件") and rows[0][-1] == "记录哈希"
    assert sorted(r[0] for r in rows[1:]) == [filed["cloud"].id, filed["devices"].id]
    assert all(r[-1] in (filed["cloud"].entry_hash, filed["devices"].entry_hash) for r in rows[1:])


def test_export_refused_without_the_permission(
    client_as: Any, filed: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    head = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    for name in ("hrbp.cloud", "employee"):
        assert client_as(name).get("/api/audit/export").status_code == 403
        assert client_as(name).get("/audit/export.csv").status_code == 403
    # A refused export leaves no trace of data leaving, because none did.
    assert AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() == head


def test_unknown_export_format_is_not_found(client_as: Any, filed: dict[str, AuditEntry]) -> None:
    head = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    assert client_as("auditor").get("/audit/export.pdf").status_code == 404
    assert AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() == head


def test_export_through_an_api_token_is_attributed_to_the_token(
    users: dict[str, Any], filed: dict[str, AuditEntry]
) -> None:
    from baton.access import actions

    admin = users["admin"]
    token, raw = actions.create_token(admin, "evidence", ["audit:read"], acting_user=admin)
    client = Client(headers={"host": "127.0.0.1", "authorization": f"Bearer {raw}"})
    response = client.get("/api/audit/export", {"format": "xlsx"}, headers={"X-Request-ID": "ev-1"})
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(event_type=AuditEvent.AUDIT_EXPORTED).latest("id")
    assert (entry.actor_id, entry.token_id, entry.request_id) == (admin.pk, token.pk, "ev-1")
    assert trail.verify().ok
    # A token without the audit scope reads nothing, even its owner's.
    _other, narrow = actions.create_token(admin, "crm", ["org:read"], acting_user=admin)
    narrow_client = Client(headers={"host": "127.0.0.1", "authorization": f"Bearer {narrow}"})
    assert narrow_client.get("/api/audit/export").status_code == 403
    assert narrow_client.get(f"/api/audit/entries/{filed['cloud'].id}").status_code == 404


def test_trail_page_is_scoped_and_swaps_its_table(
    client_as: Any, filed: dict[str, AuditEntry], users: dict[str, Any]
) -> None:
    hrbp = client_as("hrbp.cloud")
    page = hrbp.get("/audit/", {"subject_type": "org.employee"})
    assert page.status_code == 200
    shown = {e.id for e in page.context["page"].object_list}
    assert filed["cloud"].id in shown and filed["devices"].id not in shown
    assert page.context["can_export"] is False
    assert "/audit/export.csv" not in page.content.decode()
    table = hrbp.get("/audit/", headers={"HX-Request": "true", "HX-Target": "audit-table"})
    assert table.status_code == 200 and b"<html" not in table.content
    assert client_as("auditor").get("/audit/").context["can_export"] is True
    assert client_as("employee").get("/audit/").status_code == 403
