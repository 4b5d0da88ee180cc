"""/api/imports: upload → background validation → commit round trip, problems, saved
mappings, errors and visibility."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from baton.imports.models import BatchStatus, ImportBatch, ImportChange, SavedMapping
from baton.imports.tests.test_views import (
    IMMEDIATE,
    as_csv,
    employee_rows,
    renamed_file,
    unknown_department_file,
)
from baton.org.models import Employee

pytestmark = pytest.mark.django_db

BASE = "/api/imports"


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings: Any, tmp_path: Path) -> None:
    settings.TASKS = IMMEDIATE
    settings.DATA_DIR = tmp_path


def post_file(client: Any, data: bytes, **fields: Any) -> Any:
    body = {"kind": "employees", "file": SimpleUploadedFile("people.csv", data), **fields}
    return client.post(f"{BASE}/batches", body)


def test_upload_validate_commit_round_trip(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_as("admin")
    data, number, new_name = renamed_file(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, data)
    assert response.status_code == 201, response.content
    batch_id = response.json()["id"]
    assert response.json()["status"] == "uploaded"
    got = client.get(f"{BASE}/batches/{batch_id}").json()
    assert got["status"] == "valid"
    assert got["counts"]["employees"]["updated"] == 1
    assert got["progress"] == {"rows": 4, "percent": 100}
    assert client.get(f"{BASE}/batches/{batch_id}/problems").json()["count"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}/batches/{batch_id}/commit")
    assert response.status_code == 202, response.content
    got = client.get(f"{BASE}/batches/{batch_id}").json()
    assert got["status"] == "committed" and got["committed_by_id"] == users["admin"].pk
    assert Employee.objects.get(employee_number=number).name == new_name
    changes = client.get(f"{BASE}/batches/{batch_id}/changes").json()
    assert changes["count"] == 1 and changes["items"][0]["changes"]["name"][1] == new_name
    assert ImportChange.objects.filter(batch_id=batch_id).count() == 1
    # Committed: neither committed again nor discarded.
    assert client.post(f"{BASE}/batches/{batch_id}/commit").status_code == 409
    response = client.post(f"{BASE}/batches/{batch_id}/discard")
    assert response.status_code == 409 and response.json()["detail"]
    listed = client.get(f"{BASE}/batches?status=committed").json()
    assert batch_id in [b["id"] for b in listed["items"]]


def test_problems_and_refused_commit(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_as("hrbp.cloud")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, unknown_department_file(users["admin"], 3))
    batch_id = response.json()["id"]
    got = client.get(f"{BASE}/batches/{batch_id}").json()
    assert got["status"] == "invalid"
    page = client.get(f"{BASE}/batches/{batch_id}/problems?limit=2&offset=1").json()
    assert page["count"] >= 3 and len(page["items"]) == 2
    errors = client.get(f"{BASE}/batches/{batch_id}/problems?severity=error").json()["items"]
    assert {p["value"] for p in errors if p["code"] == "unknown_department"} == {"NO-SUCH-DEPT"}
    response = client.post(f"{BASE}/batches/{batch_id}/commit")
    assert response.status_code == 409
    # Discarded, then gone from the worker's reach.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{BASE}/batches/{batch_id}/discard").json()["status"] == "discarded"
    assert not Path(ImportBatch.objects.get(pk=batch_id).stored_path).exists()


def test_mapping_json_and_saved_mappings(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_as("admin")
    rows = employee_rows(users["admin"])[:3]
    rows[0][rows[0].index("name")] = "姓名"
    data = as_csv(rows)
    # Without a mapping the file's 姓名 is not our "name": refused at once, naming it.
    response = post_file(client, data)
    assert response.status_code == 400 and "name" in json.dumps(response.json())
    assert post_file(client, data, mapping="{not json").status_code == 400
    spec = {"columns": {"name": "姓名"}}
    response = client.post(
        f"{BASE}/mappings",
        {"name": "旧系统", "kind": "employees", "spec": spec},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    saved_id = response.json()["id"]
    listed = client.get(f"{BASE}/mappings?kind=employees").json()
    assert [m["name"] for m in listed["items"]] == ["旧系统"]
    assert client.get(f"{BASE}/mappings?kind=contracts").json()["count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, data, saved_mapping=str(saved_id))
    assert response.status_code == 201, response.content
    assert response.json()["saved_mapping_id"] == saved_id
    assert client.get(f"{BASE}/batches/{response.json()['id']}").json()["status"] == "valid"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, data, mapping=json.dumps(spec))
    assert response.status_code == 201
    assert client.get(f"{BASE}/batches/{response.json()['id']}").json()["status"] == "valid"
    # A mapping naming a column the kind does not have.
    response = client.post(
        f"{BASE}/mappings",
        {"name": "坏", "kind": "employees", "spec": {"columns": {"nope": "x"}}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not SavedMapping.objects.filter(name="坏").exists()
    assert post_file(client, data, saved_mapping="999999").status_code == 400


def test_visibility(users: Any, client_as: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin = client_as("admin")
    data, _n, _name = renamed_file(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = post_file(admin, data).json()["id"]
    head = client_as("head.rd")
    assert head.get(f"{BASE}/batches").status_code == 403
    assert post_file(head, data).status_code == 403
    for suffix in ("", "/problems", "/changes"):
        assert head.get(f"{BASE}/batches/{batch_id}{suffix}").status_code == 404
    for action in ("commit", "validate", "discard"):
        assert head.post(f"{BASE}/batches/{batch_id}/{action}").status_code == 404
    hrbp = client_as("hrbp.cloud")
    assert hrbp.get(f"{BASE}/batches/{batch_id}").status_code == 404
    assert hrbp.get(f"{BASE}/batches").json()["count"] == 0
    assert ImportBatch.objects.get(pk=batch_id).status == BatchStatus.VALID


def test_a_token_needs_a_scope_that_covers_the_import(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Reading a batch takes the right to import its kind: a token whose scopes do not cover
    it (here notify:read) is refused every batch endpoint, even for its owner's own batch."""
    from baton.access import actions as access_actions

    hrbp = users["hrbp.cloud"]

    def token_client(*scopes: str) -> Any:
        _token, raw = access_actions.create_token(hrbp, "imports", list(scopes), acting_user=hrbp)
        return client_as(None, authorization=f"Bearer {raw}")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client_as("hrbp.cloud"), unknown_department_file(users["admin"]))
    batch_id = response.json()["id"]
    assert ImportBatch.objects.get(pk=batch_id).status == BatchStatus.INVALID

    narrow = token_client("notify:read")
    assert narrow.get(f"{BASE}/batches").status_code == 403
    for suffix in ("", "/problems", "/changes"):
        assert narrow.get(f"{BASE}/batches/{batch_id}{suffix}").status_code == 403, suffix
    for action in ("commit", "validate", "discard"):
        assert narrow.post(f"{BASE}/batches/{batch_id}/{action}").status_code == 403, action
    assert ImportBatch.objects.get(pk=batch_id).status == BatchStatus.INVALID
    # A read-only organisation scope does not let it import either.
    assert token_client("org:read").get(f"{BASE}/batches/{batch_id}").status_code == 403

    wide = token_client("org:write")
    assert wide.get(f"{BASE}/batches/{batch_id}").json()["status"] == "invalid"
    assert wide.get(f"{BASE}/batches/{batch_id}/problems").json()["count"] >= 1
    assert wide.get(f"{BASE}/batches/{batch_id}/changes").json()["count"] == 0
    assert [b["id"] for b in wide.get(f"{BASE}/batches").json()["items"]] == [batch_id]
    assert wide.post(f"{BASE}/batches/{batch_id}/commit").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        response = wide.post(f"{BASE}/batches/{batch_id}/validate")
    assert response.status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        response = wide.post(f"{BASE}/batches/{batch_id}/discard")
    assert response.status_code == 200 and response.json()["status"] == "discarded"
