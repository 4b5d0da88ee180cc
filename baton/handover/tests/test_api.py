"""The handover REST API: the flow end to end with sessions and tokens, bad input, the public
confirmation link and the OpenAPI schema. Who may call what is in test_authz_matrix."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from baton.access import actions as access_actions
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.handover import packs
from baton.handover.models import ExitCase, ExternalConfirmation, HandoverTask
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
LAST_DAY = dt.date.today() + dt.timedelta(days=60)
API = "/api/handover"


@pytest.fixture
def installed(users: dict[str, Any]) -> None:
    packs.install(acting_user=users["admin"])


@pytest.fixture
def leaver(users: dict[str, Any]) -> Employee:
    return Employee.objects.get(pk=users["employee"].employee_id)


@pytest.fixture
def token_as(users: dict[str, Any], client_as: Any) -> Any:
    """A client that authenticates with a fresh API token of `username` with `scopes`."""

    def make(username: str, *scopes: str) -> Client:
        user = users[username]
        _token, raw = access_actions.create_token(user, "api-test", list(scopes), acting_user=user)
        return client_as(None, authorization=f"Bearer {raw}")

    return make


def _json(client: Client, method: str, url: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return client.generic(method, url, **kwargs)


def _resign(client: Client, leaver: Employee, **extra: Any) -> dict[str, Any]:
    response = _json(
        client,
        "POST",
        f"{API}/cases",
        {
            "employee_id": leaver.pk,
            "exit_type": "resignation",
            "last_working_day": LAST_DAY.isoformat(),
            "reason": "职业发展",
            "submit": True,
            **extra,
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def _pdf(name: str = "交接说明.pdf", data: bytes = b"%PDF-1.4 handover") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def _tasks(client: Client, case_id: int, **filters: str) -> dict[str, dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in {"case": str(case_id), **filters}.items())
    response = client.get(f"{API}/tasks?{query}&limit=500")
    assert response.status_code == 200, response.content
    return {t["key"]: t for t in response.json()["items"]}


@pytest.mark.smoke
def test_whole_flow_through_the_api(
    users: dict[str, Any], installed: None, leaver: Employee, client_as: Any, token_as: Any
) -> None:
    employee = client_as("employee")  # the leaver, signed in
    receiver = client_as("receiver")
    head = token_as("head.rd", "handover:read", "handover:write")  # the manager, by token
    hr = token_as("hrbp.cloud", "handover:read", "handover:write")
    peer = users["receiver"].employee_id

    # The employee resigns, naming the peer as successor.
    case = _resign(employee, leaver, successor_id=peer)
    assert case["state"] == "submitted" and case["successor"]["id"] == peer
    assert case["tasks"]["total"] == 0
    case_id = case["id"]

    # The manager approves (by token): the tasks exist at once.
    response = _json(head, "POST", f"{API}/cases/{case_id}/approve")
    assert response.status_code == 200, response.content
    approved = response.json()
    assert approved["state"] == "approved" and approved["tasks"]["total"] >= 8
    assert approved["tasks"]["open"] == approved["tasks"]["total"]

    mine = _tasks(employee, case_id, mine="owner")
    assert {"work-files", "handover-note"} <= set(mine)
    assert "accounts" not in mine  # IT's queue, not the leaver's
    assert set(_tasks(client_as("it"), case_id, mine="owner")) >= {"accounts", "credentials"}
    assert "handover-note" in _tasks(receiver, case_id, mine="approver")
    work = mine["work-files"]

    # Evidence first: submitting without the file is refused and names what is missing.
    response = _json(employee, "POST", f"{API}/tasks/{work['id']}/submit")
    assert response.status_code == 400
    assert response.json()["errors"]["evidence"]
    detail = employee.get(f"{API}/tasks/{work['id']}").json()
    assert detail["missing_evidence"] and detail["leaver"]["id"] == leaver.pk

    # Upload (multipart) twice under one name: two versions, both with their SHA-256.
    url = f"{API}/tasks/{work['id']}/documents"
    first = employee.post(url, {"file": _pdf(), "reusable": "true", "note": "v1"})
    assert first.status_code == 201, first.content
    second = employee.post(url, {"file": _pdf(data=b"%PDF-1.4 handover v2")})
    assert second.status_code == 201, second.content
    doc = second.json()
    assert first.json()["version"] == 1 and doc["version"] == 2
    assert doc["previous_id"] == first.json()["id"]
    assert doc["sha256"] == hashlib.sha256(b"%PDF-1.4 handover v2").hexdigest()
    listed = employee.get(f"{API}/tasks/{work['id']}/documents").json()
    assert listed["count"] == 2 and [d["version"] for d in listed["items"]] == [2, 1]
    assert employee.get(f"{API}/cases/{case_id}/documents").json()["count"] == 2

    response = _json(employee, "POST", f"{API}/tasks/{work['id']}/submit", {"note": "见附件"})
    assert response.status_code == 200 and response.json()["state"] == "submitted"
    # The leaver cannot accept their own work; the manager (the approver) can.
    assert _json(employee, "POST", f"{API}/tasks/{work['id']}/accept").status_code == 403
    response = _json(head, "POST", f"{API}/tasks/{work['id']}/accept", {"comment": "齐全"})
    assert response.status_code == 200 and response.json()["state"] == "accepted"

    # The receiver downloads the decrypted file; the read is audited.
    before = AuditEntry.objects.filter(event_type=AuditEvent.DOCUMENT_VIEWED).count()
    response = receiver.get(doc["download_url"])
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 handover v2"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert AuditEntry.objects.filter(event_type=AuditEvent.DOCUMENT_VIEWED).count() == before + 1

    # The handover note: tick the sub-items, submit; the receiver rejects it with a comment.
    note = mine["handover-note"]
    body = {"note": "在办事项见清单", "done_sub_items": [0, 1, 2]}
    response = _json(employee, "PATCH", f"{API}/tasks/{note['id']}/work", body)
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "in_progress"
    assert all(s["done"] for s in response.json()["sub_items"])
    assert _json(employee, "POST", f"{API}/tasks/{note['id']}/submit").status_code == 200
    response = _json(receiver, "POST", f"{API}/tasks/{note['id']}/reject", {"comment": " "})
    assert response.status_code == 400
    assert "comment" in response.json()["errors"]
    response = _json(receiver, "POST", f"{API}/tasks/{note['id']}/reject", {"comment": "缺电话"})
    assert response.status_code == 200
    assert response.json()["state"] == "in_progress"
    assert response.json()["last_comment"] == "缺电话"

    # HR adds an item, then waives everything still open: the case clears itself.
    response = _json(hr, "POST", f"{API}/cases/{case_id}/tasks", {"title": "归还门禁卡"})
    assert response.status_code == 201 and response.json()["added_by_hr"]
    for task in _tasks(hr, case_id).values():
        if task["state"] not in ("accepted", "waived"):
            response = _json(hr, "POST", f"{API}/tasks/{task['id']}/waive", {"reason": "测试"})
            assert response.status_code == 200, response.content
    case = hr.get(f"{API}/cases/{case_id}").json()
    assert case["state"] == "cleared" and case["tasks"]["blocking_open"] == 0
    response = _json(hr, "POST", f"{API}/cases/{case_id}/close")
    assert response.status_code == 200 and response.json()["state"] == "closed"
    leaver.refresh_from_db()
    assert leaver.status == "departed"

    # The accepted reusable file is in the position's knowledge map, for its next holder.
    items = employee.get(f"{API}/knowledge?q=工作文件").json()["items"]
    assert {i["position_id"] for i in items} == {leaver.position_id}
    # Its handover note, and the latest version of its file.
    assert sorted((i["document_name"] or "", i["body"]) for i in items) == [
        ("", "见附件"),
        ("交接说明.pdf", ""),
    ]
    seen = employee.get(f"{API}/knowledge/{items[0]['id']}").json()
    assert seen["views"] == 1
    # Someone in another position does not see it.
    assert receiver.get(f"{API}/knowledge/{items[0]['id']}").status_code == 404


def test_token_scopes_bound_handover_access(
    users: dict[str, Any], installed: None, leaver: Employee, token_as: Any, client_as: Any
) -> None:
    case = _resign(client_as("employee"), leaver)
    read_only = token_as("hrbp.cloud", "handover:read")
    own = token_as("employee", "handover:read")
    assert read_only.get(f"{API}/cases/{case['id']}").status_code == 200
    # Refused calls change nothing (the calls themselves are audited as API calls).
    business = AuditEntry.objects.exclude(event_type=AuditEvent.API_CALLED)
    before = business.count()
    response = _json(read_only, "POST", f"{API}/cases/{case['id']}/approve")
    assert response.status_code == 403
    # A leaver's own rights come from who they are, so the scope is what stops a read token.
    assert _json(own, "POST", f"{API}/cases/{case['id']}/withdraw").status_code == 403
    assert business.count() == before
    org_only = token_as("hrbp.cloud", "org:read")
    assert org_only.get(f"{API}/cases").status_code == 403
    assert org_only.get(f"{API}/tasks").status_code == 403


def test_bad_input_answers_the_error_shape(
    users: dict[str, Any], installed: None, leaver: Employee, client_as: Any
) -> None:
    employee, hr = client_as("employee"), client_as("hrbp.cloud")
    response = _json(
        employee,
        "POST",
        f"{API}/cases",
        {"employee_id": leaver.pk, "exit_type": "quit", "last_working_day": "2099-01-01"},
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"} and "exit_type" in body["errors"]
    response = _json(
        employee,
        "POST",
        f"{API}/cases",
        {"employee_id": leaver.pk, "exit_type": "resignation", "last_working_day": "2020-01-02"},
    )
    assert response.status_code == 400 and "last_working_day" in response.json()["errors"]

    case = _resign(employee, leaver)
    assert _json(hr, "POST", f"{API}/cases/{case['id']}/approve").status_code == 200
    response = _json(hr, "POST", f"{API}/cases/{case['id']}/approve")
    assert response.status_code == 409 and response.json()["detail"]
    # One open case per person.
    response = _json(
        employee,
        "POST",
        f"{API}/cases",
        {"employee_id": leaver.pk, "exit_type": "resignation", "last_working_day": "2099-01-01"},
    )
    assert response.status_code == 409

    work = _tasks(employee, case["id"])["work-files"]
    exe = SimpleUploadedFile("setup.exe", b"MZ\x90\x00", content_type="application/x-msdownload")
    before = AuditEntry.objects.count()
    response = employee.post(f"{API}/tasks/{work['id']}/documents", {"file": exe})
    assert response.status_code == 400 and "file" in response.json()["errors"]
    response = employee.post(f"{API}/tasks/{work['id']}/documents", {"note": "no file"})
    assert response.status_code == 400 and "file" in response.json()["errors"]
    assert AuditEntry.objects.count() == before
    assert not HandoverTask.objects.get(pk=work["id"]).documents.exists()

    response = _json(hr, "POST", f"{API}/cases/{case['id']}/cancel", {})
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = _json(hr, "POST", f"{API}/tasks/{work['id']}/reassign", {"owner_id": 10**9})
    assert response.status_code == 400
    response = _json(hr, "POST", f"{API}/cases/{case['id']}/tasks", {"title": "x", "owner_id": 0})
    assert response.status_code == 400 and "owner_id" in response.json()["errors"]
    assert employee.get(f"{API}/tasks?mine=boss").status_code == 400
    assert employee.get(f"{API}/cases/999999").status_code == 404


def test_case_list_filters_and_pages(
    users: dict[str, Any], installed: None, leaver: Employee, client_as: Any
) -> None:
    case = _resign(client_as("employee"), leaver)
    hr = client_as("hrbp.cloud")
    page = hr.get(f"{API}/cases?limit=1").json()
    assert set(page) == {"count", "limit", "offset", "items"} and page["count"] >= 1
    ids = {c["id"] for c in hr.get(f"{API}/cases?state=submitted&limit=500").json()["items"]}
    assert case["id"] in ids
    for query in (
        f"q={leaver.name[:2]}",
        f"department={leaver.department.parent_id or leaver.department_id}",
        f"business_unit={leaver.business_unit_id}",
        f"employee={leaver.pk}",
    ):
        ids = {c["id"] for c in hr.get(f"{API}/cases?{query}&limit=500").json()["items"]}
        assert case["id"] in ids, query
    assert hr.get(f"{API}/cases?state=closed&employee={leaver.pk}").json()["count"] == 0
    assert hr.get(f"{API}/cases?state=nonsense").status_code == 400
    # Another BU's HR does not see it at all.
    other = client_as("hrbp.devices")
    assert other.get(f"{API}/cases?employee={leaver.pk}").json()["count"] == 0
    assert other.get(f"{API}/cases/{case['id']}").status_code == 404


def test_confidential_case_is_hidden_from_the_leaver(
    users: dict[str, Any], installed: None, leaver: Employee, client_as: Any
) -> None:
    hr, employee = client_as("hrbp.cloud"), client_as("employee")
    response = _json(
        hr,
        "POST",
        f"{API}/cases",
        {
            "employee_id": leaver.pk,
            "exit_type": "mutual",
            "last_working_day": LAST_DAY.isoformat(),
            "confidential": True,
        },
    )
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    assert employee.get(f"{API}/cases/{case_id}").status_code == 404
    assert employee.get(f"{API}/cases").json()["count"] == 0
    assert _json(employee, "POST", f"{API}/cases/{case_id}/withdraw").status_code == 404
    assert _json(hr, "POST", f"{API}/cases/{case_id}/reveal").status_code == 200
    assert employee.get(f"{API}/cases/{case_id}").status_code == 200


def test_external_confirmation_by_public_link(
    users: dict[str, Any], installed: None, leaver: Employee, client_as: Any
) -> None:
    employee, hr = client_as("employee"), client_as("hrbp.cloud")
    case = _resign(employee, leaver)
    assert _json(hr, "POST", f"{API}/cases/{case['id']}/approve").status_code == 200
    response = _json(
        hr,
        "POST",
        f"{API}/cases/{case['id']}/tasks",
        {"title": "客户确认新对接人", "evidence_kind": "external"},
    )
    task_id = response.json()["id"]
    url = f"{API}/tasks/{task_id}/confirmations"
    response = _json(employee, "POST", url, {"recipient_name": "某客户"})
    assert response.status_code == 400 and "statement" in response.json()["errors"]
    response = _json(employee, "POST", url, {"recipient_name": "某客户", "statement": "确认王五"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["url"].startswith("/confirm/#") and created["status"] == "pending"
    token = created["url"].split("#")[1]  # in the fragment: never sent, never logged
    assert not ExternalConfirmation.objects.filter(token_hash=token).exists()  # only the hash
    listed = employee.get(url).json()
    assert listed["count"] == 1 and "url" not in listed["items"][0]

    # The outside party: no account, no CSRF token.
    public = Client(enforce_csrf_checks=True, headers={"host": "127.0.0.1"})
    response = public.get(f"{API}/confirmations/{token}")
    assert response.status_code == 200
    assert response.json()["statement"] == "确认王五" and response.json()["company"]
    response = public.post(
        f"{API}/confirmations/{token}",
        data=json.dumps({"confirmed": True, "note": "同意"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["confirmed"] is True
    conf = ExternalConfirmation.objects.get(pk=created["id"])
    assert conf.response_ip == "127.0.0.1"
    assert AuditEntry.objects.filter(event_type=AuditEvent.CONFIRMATION_ANSWERED).exists()

    # Used: gone (410) with the explanation; unknown: 404.
    again = public.post(
        f"{API}/confirmations/{token}",
        data=json.dumps({"confirmed": False}),
        content_type="application/json",
    )
    assert again.status_code == 410 and again.json()["detail"]
    assert public.get(f"{API}/confirmations/{token}").status_code == 410
    missing = public.get(f"{API}/confirmations/not-a-token")
    assert missing.status_code == 404 and missing.json()["detail"]
    assert employee.get(url).json()["items"][0]["status"] == "confirmed"
    # With the confirmation in, the owner can submit.
    assert _json(employee, "POST", f"{API}/tasks/{task_id}/submit").status_code == 200


def test_templates_versions_and_proposed_changes(
    users: dict[str, Any], installed: None, client_as: Any
) -> None:
    hr, employee = client_as("hrbp.cloud"), client_as("employee")
    # BU HR manages checklists bound inside its BU, not group-wide ones.
    group_wide = _json(hr, "POST", f"{API}/templates", {"name": "全集团", "exit_type": "layoff"})
    assert group_wide.status_code == 403
    bu = users["hrbp.cloud"].role_assignments.get().business_unit_id
    response = _json(
        hr,
        "POST",
        f"{API}/templates",
        {"name": "测试清单", "exit_type": "layoff", "business_unit_id": bu},
    )
    assert response.status_code == 201, response.content
    template = response.json()
    assert template["latest_version"] is None and template["versions"] == []
    tid = template["id"]
    assert (
        _json(hr, "POST", f"{API}/templates", {"name": "x", "exit_type": "bad"}).status_code == 400
    )
    # Publishing an empty checklist is refused.
    assert _json(hr, "POST", f"{API}/templates/{tid}/publish").status_code == 400

    item = {"title": "交接客户", "evidence_kind": "checklist", "sub_items": ["名单"]}
    response = _json(hr, "PUT", f"{API}/templates/{tid}/items/customers", item)
    assert response.status_code == 200, response.content
    response = _json(hr, "PUT", f"{API}/templates/{tid}/items/customers", {"due_offset": 500})
    assert response.status_code == 400 and "due_offset" in response.json()["errors"]
    response = _json(hr, "PUT", f"{API}/templates/{tid}/items/bad key!", {"title": "x"})
    assert response.status_code in (400, 404)
    response = _json(hr, "POST", f"{API}/templates/{tid}/publish", {"note": "首版"})
    assert response.status_code == 201 and response.json()["number"] == 1
    response = _json(hr, "PATCH", f"{API}/templates/{tid}", {"name": "裁员清单"})
    assert response.status_code == 200 and response.json()["name"] == "裁员清单"

    # The employee proposes a change; HR approves it and the template is republished.
    response = _json(
        employee,
        "POST",
        f"{API}/templates/{tid}/changes",
        {"key": "customers", "due_offset": -8, "reason": "客户多"},
    )
    assert response.status_code == 201, response.content
    change = response.json()
    assert change["item"] == {"key": "customers", "due_offset": -8}
    assert [c["id"] for c in employee.get(f"{API}/template-changes").json()["items"]] == [
        change["id"]
    ]
    assert (
        _json(
            employee, "POST", f"{API}/template-changes/{change['id']}/decide", {"approve": True}
        ).status_code
        == 403
    )
    pending = hr.get(f"{API}/template-changes?state=pending&template={tid}").json()
    assert [c["id"] for c in pending["items"]] == [change["id"]]
    response = _json(hr, "POST", f"{API}/template-changes/{change['id']}/decide", {"approve": True})
    assert response.status_code == 200 and response.json()["state"] == "approved"
    again = _json(hr, "POST", f"{API}/template-changes/{change['id']}/decide", {"approve": False})
    assert again.status_code == 409

    detail = employee.get(f"{API}/templates/{tid}").json()
    assert detail["latest_version"] == 2 and [v["number"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][0]["items"][0]["due_offset"] == -8
    assert detail["effective_items"][0]["key"] == "customers"
    assert detail["own_items"][0]["removed"] is False
    # Templates are not for IT.
    assert client_as("it").get(f"{API}/templates").status_code == 403


def test_change_last_day_moves_open_tasks(
    users: dict[str, Any], installed: None, leaver: Employee, client_as: Any
) -> None:
    hr = client_as("hrbp.cloud")
    case = _resign(client_as("employee"), leaver)
    _json(hr, "POST", f"{API}/cases/{case['id']}/approve")
    before = _tasks(hr, case["id"])["accounts"]["due_date"]
    new_day = (LAST_DAY + dt.timedelta(days=14)).isoformat()
    response = _json(
        hr, "POST", f"{API}/cases/{case['id']}/last-day", {"last_working_day": new_day}
    )
    assert response.status_code == 200 and response.json()["last_working_day"] == new_day
    assert _tasks(hr, case["id"])["accounts"]["due_date"] != before
    overdue = hr.get(f"{API}/tasks?case={case['id']}&overdue=true").json()
    assert overdue["count"] == 0


def test_withdraw_and_restore(
    users: dict[str, Any], installed: None, leaver: Employee, client_as: Any
) -> None:
    employee, hr = client_as("employee"), client_as("hrbp.cloud")
    case = _resign(employee, leaver)
    response = _json(employee, "POST", f"{API}/cases/{case['id']}/withdraw", {"reason": "留任"})
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"
    assert _json(employee, "POST", f"{API}/cases/{case['id']}/restore").status_code == 403
    response = _json(hr, "POST", f"{API}/cases/{case['id']}/restore")
    assert response.status_code == 200 and response.json()["state"] == "submitted"
    assert ExitCase.objects.get(pk=case["id"]).state_before_stop == ""


def test_openapi_lists_the_handover_endpoints(client_as: Any) -> None:
    response = client_as(None).get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/handover/templates",
        "/api/handover/cases",
        "/api/handover/cases/{case_id}/approve",
        "/api/handover/tasks/{task_id}/documents",
        "/api/handover/documents/{document_id}/download",
        "/api/handover/confirmations/{token}",
        "/api/handover/knowledge",
    ):
        assert path in paths, path
    public = paths["/api/handover/confirmations/{token}"]
    assert "security" not in public["get"] and "security" not in public["post"]
    assert paths["/api/handover/cases"]["get"]["security"]
    upload = paths["/api/handover/tasks/{task_id}/documents"]["post"]["requestBody"]
    assert "multipart/form-data" in upload["content"]
    ids = [op["operationId"] for p in paths.values() for op in p.values()]
    assert len(ids) == len(set(ids))
