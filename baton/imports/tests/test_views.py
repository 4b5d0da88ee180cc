"""The data migration pages on the demo group: upload → mapping step → validation in a task →
the batch page → commit; a file with an unknown department; the report workbook; exports;
who may see what; the batch page's query count."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.imports import actions, exports
from baton.imports.kinds import KINDS
from baton.imports.models import BatchStatus, ImportBatch, ImportChange
from baton.org.models import Employee

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings: Any, tmp_path: Path) -> None:
    # Enqueued validations and commits run when the request's transaction commits.
    settings.TASKS = IMMEDIATE
    settings.DATA_DIR = tmp_path


def employee_rows(user: Any) -> list[list[str]]:
    text = "".join(exports.csv_lines("employees", user))
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def renamed_file(user: Any, rows_kept: int = 4) -> tuple[bytes, str, str]:
    """The export's header and first rows, the first person renamed: (CSV, number, new name)."""
    rows = employee_rows(user)[: rows_kept + 1]
    number, name = rows[1][0], rows[1][2] + "（更正）"
    rows[1][2] = name
    return as_csv(rows), number, name


def unknown_department_file(user: Any, bad_rows: int = 1) -> bytes:
    rows = employee_rows(user)
    header, template = rows[0], rows[1]
    dept = header.index("department")
    out = [header, *rows[1:4]]
    for i in range(bad_rows):
        row = list(template)
        row[0], row[1], row[3], row[4], row[5] = "", f"OLD-{i:04d}", "", "", ""
        row[dept] = "NO-SUCH-DEPT"
        out.append(row)
    return as_csv(out)


def upload(
    client: Any, data: bytes, kind: str = "employees", name: str = "people.csv", **extra: Any
) -> Any:
    return client.post(
        reverse("imports:upload"),
        {"kind": kind, "file": SimpleUploadedFile(name, data, "text/csv"), **extra},
    )


def choose_columns(client: Any, batch: ImportBatch, capture: Any, **extra: str) -> Any:
    """Submit the mapping step as the page proposes it (the export's columns match ours)."""
    page = client.get(reverse("imports:mapping", args=[batch.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if name != "attributes"}
    data.update(extra)
    with capture(execute=True):
        return client.post(reverse("imports:mapping", args=[batch.pk]), data)


def uploaded(client: Any, data: bytes, capture: Any, **extra: str) -> ImportBatch:
    response = upload(client, data)
    assert response.status_code == 302, response.content[:500]
    batch = ImportBatch.objects.latest("id")
    assert response["Location"] == reverse("imports:mapping", args=[batch.pk])
    response = choose_columns(client, batch, capture, **extra)
    assert response.status_code == 302, response.content[:2000]
    batch.refresh_from_db()
    return batch


def test_upload_map_validate_commit(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = users["admin"]
    client = client_as("admin")
    data, number, new_name = renamed_file(admin)
    response = upload(client, data)
    batch = ImportBatch.objects.latest("id")
    assert batch.status == BatchStatus.UPLOADED and batch.created_by == admin
    page = client.get(response["Location"])
    # The file's header and first rows, and our columns pre-selected by name.
    assert number in page.content.decode()
    assert page.context["form"]["col_department"].value() == "department"
    assert page.context["form"]["col_name"].value() == "name"
    response = choose_columns(client, batch, django_capture_on_commit_callbacks, save_as="Demo HR")
    assert response["Location"].startswith(reverse("imports:batch", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALID, batch.error
    assert batch.saved_mapping is not None and batch.saved_mapping.name == "Demo HR"
    assert batch.mapping["columns"]["name"] == "name"
    assert AuditEntry.objects.filter(
        event_type=AuditEvent.IMPORT_MAPPING_SAVED, subject_id=str(batch.pk)
    ).exists()

    page = client.get(response["Location"])
    assert page.status_code == 200
    [(_label, counts)] = page.context["count_rows"]
    assert counts[:4] == [4, 0, 1, 3]  # read, created, updated, unchanged
    assert not page.context["poll"]
    assert b'action="' + reverse("imports:commit", args=[batch.pk]).encode() in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:commit", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED and batch.committed_by == admin
    assert Employee.objects.get(employee_number=number).name == new_name
    change = ImportChange.objects.get(batch=batch)
    assert change.key == number and change.changes["name"][1] == new_name

    page = client.get(reverse("imports:batch", args=[batch.pk]))
    assert new_name in page.content.decode()
    assert page.context["audit_url"].endswith(f"subject_id={batch.pk}")
    assert not page.context["can_commit"] and not page.context["can_discard"]
    # Committing twice is refused (and a repeated task does nothing).
    client.post(reverse("imports:commit", args=[batch.pk]))
    from baton.imports.tasks import run_commit

    assert run_commit.call(batch.pk, admin.pk) == "skipped"
    assert ImportChange.objects.filter(batch=batch).count() == 1


def test_a_saved_mapping_skips_the_mapping_step(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = users["admin"]
    saved = actions.save_mapping(
        "As exported", "employees", {"columns": {"name": "name"}}, acting_user=admin
    )
    client = client_as("admin")
    data, _number, _name = renamed_file(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, data, saved_mapping=str(saved.pk))
    batch = ImportBatch.objects.latest("id")
    assert (
        response["Location"]
        == reverse("imports:batch", args=[batch.pk]) + "?waiting=uploaded-0.000000"
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALID and batch.saved_mapping == saved
    # The kind's select narrows the saved mappings (an HTMX partial).
    part = client.get(
        reverse("imports:batches") + "?kind=contracts",
        headers={"HX-Request": "true", "HX-Target": "saved-mapping"},
    )
    assert b"As exported" not in part.content and b'id="saved-mapping"' in part.content
    part = client.get(
        reverse("imports:batches") + "?kind=employees",
        headers={"HX-Request": "true", "HX-Target": "saved-mapping"},
    )
    assert b"As exported" in part.content


def test_unknown_department_is_reported_and_commit_refused(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_as("admin")
    batch = uploaded(
        client, unknown_department_file(users["admin"]), django_capture_on_commit_callbacks
    )
    assert batch.status == BatchStatus.INVALID
    page = client.get(reverse("imports:batch", args=[batch.pk]))
    problems = page.context["problems"]
    assert [(p.row, p.severity, p.value) for p in problems] == [(5, "error", "NO-SUCH-DEPT")]
    assert "NO-SUCH-DEPT" in page.content.decode()
    assert not page.context["can_commit"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:commit", args=[batch.pk]), follow=True)
    [refusal] = [str(m) for m in response.context["messages"]]
    assert batch.get_status_display() in refusal or "Has errors" in refusal
    batch.refresh_from_db()
    assert batch.status == BatchStatus.INVALID
    assert not Employee.objects.filter(legacy_id="OLD-0000").exists()

    # The validation report: summary and every problem, formula-safe.
    response = client.get(reverse("imports:report", args=[batch.pk]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    summary_sheet, problem_sheet = book.worksheets  # named in the reader's language
    summary = [r for r in summary_sheet.iter_rows(values_only=True) if r and r[0]]
    assert ("SHA-256", batch.file_sha256) in [tuple(r[:2]) for r in summary]
    assert [r[1:] for r in summary if r[1:] == (4, 0, 0, 3, 1, 0, 0)]  # read … rejected
    rows = list(problem_sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and len(rows[0]) == 7
    assert rows[1][1] == 5 and rows[1][4] == "unknown_department" and rows[1][6] == "NO-SUCH-DEPT"

    # Discarding removes the kept file.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:discard", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DISCARDED
    assert not Path(batch.stored_path).exists()


def test_mapping_step_maps_a_renamed_column(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rows = employee_rows(users["admin"])[:4]
    rows[0][rows[0].index("department")] = "所在部门"
    client = client_as("admin")
    upload(client, as_csv(rows))
    batch = ImportBatch.objects.latest("id")
    page = client.get(reverse("imports:mapping", args=[batch.pk]))
    assert page.context["form"]["col_department"].value() == ""
    # Not chosen: the step names the missing column and nothing is queued.
    response = choose_columns(client, batch, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "department" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.UPLOADED and batch.mapping == {}
    # Both a column and a constant: refused on the constant.
    response = choose_columns(
        client,
        batch,
        django_capture_on_commit_callbacks,
        col_department="所在部门",
        const_department="X",
    )
    assert response.status_code == 400
    response = choose_columns(
        client, batch, django_capture_on_commit_callbacks, col_department="所在部门"
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.mapping["columns"]["department"] == "所在部门"
    assert batch.status == BatchStatus.VALID, batch.error
    # A constant instead of the column works too.
    dept = Employee.objects.get(employee_number=rows[1][0]).department
    response = choose_columns(
        client,
        batch,
        django_capture_on_commit_callbacks,
        col_department="",
        const_department=dept.code,
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.mapping["constants"] == {"department": dept.code}
    assert "department" not in batch.mapping["columns"]
    assert batch.status in (BatchStatus.VALID, BatchStatus.INVALID)


def test_formula_in_the_report_is_escaped(
    users: Any, client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rows = employee_rows(users["admin"])[:3]
    rows[2][rows[0].index("department")] = '=HYPERLINK("http://x")'
    client = client_as("admin")
    batch = uploaded(client, as_csv(rows), django_capture_on_commit_callbacks)
    assert batch.status == BatchStatus.INVALID
    book = load_workbook(io.BytesIO(client.get(reverse("imports:report", args=[batch.pk])).content))
    values = [r[6] for r in book.worksheets[1].iter_rows(min_row=2, values_only=True)]
    assert values and all(not str(v).startswith("=") for v in values)


def test_exports_download(users: Any, client_as: Any) -> None:
    client = client_as("admin")
    before = AuditEntry.objects.filter(event_type=AuditEvent.DATA_EXPORTED).count()
    response = client.get(reverse("imports:export", args=["employees", "csv"]))
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffemployee_number,")
    assert text.count("\r\n") == Employee.objects.filter(merged_into__isnull=True).count() + 1
    response = client.get(reverse("imports:export", args=["departments", "xlsx"]))
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert next(book.active.iter_rows(values_only=True))[0] == KINDS["departments"].columns[0].name
    response = client.get(reverse("imports:export_archive"))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {"manifest.json", "employees.csv", "departments.csv"} <= set(archive.namelist())
    assert AuditEntry.objects.filter(event_type=AuditEvent.DATA_EXPORTED).count() == before + 3
    assert client.get("/imports/export/nothing.csv").status_code == 404
    assert client.get("/imports/export/employees.pdf").status_code == 404


def test_who_sees_what(users: Any, client_as: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin_client = client_as("admin")
    data, _n, _name = renamed_file(users["admin"])
    upload(admin_client, data)
    batch = ImportBatch.objects.latest("id")
    head = client_as("head.rd")
    assert head.get(reverse("imports:export_archive")).status_code == 403
    assert head.get(reverse("imports:batches")).status_code == 403
    for name in ("batch", "mapping", "report", "progress"):
        assert head.get(reverse(f"imports:{name}", args=[batch.pk])).status_code == 404, name
    for name in ("commit", "validate", "discard"):
        assert head.post(reverse(f"imports:{name}", args=[batch.pk])).status_code == 404, name
    assert b'href="/imports/"' not in head.get(reverse("home"), follow=True).content
    # An HRBP imports too, but sees only their own batches; not the group's archive.
    hrbp = client_as("hrbp.cloud")
    page = hrbp.get(reverse("imports:batches"))
    assert page.status_code == 200 and b'href="/imports/"' in page.content
    assert batch not in page.context["page"].object_list
    assert hrbp.get(reverse("imports:batch", args=[batch.pk])).status_code == 404
    assert hrbp.get(reverse("imports:export_archive")).status_code == 403
    upload(hrbp, data)
    own = ImportBatch.objects.latest("id")
    assert own.created_by == users["hrbp.cloud"]
    assert list(hrbp.get(reverse("imports:batches")).context["page"].object_list) == [own]
    # The group admin sees every batch.
    listed = admin_client.get(reverse("imports:batches")).context["page"].object_list
    assert {batch, own} <= set(listed)


def test_progress_partial(users: Any, client_as: Any) -> None:
    client = client_as("admin")
    data, _n, _name = renamed_file(users["admin"])
    upload(client, data)
    batch = ImportBatch.objects.latest("id")
    url = reverse("imports:progress", args=[batch.pk])
    queued = "?waiting=uploaded-0.000000"
    hx = {"HX-Request": "true"}
    # The batch page polls while the batch is as it was when the run was queued.
    page = client.get(reverse("imports:batch", args=[batch.pk]) + queued)
    assert page.context["poll"] and b"every 1s" in page.content
    assert not client.get(reverse("imports:batch", args=[batch.pk])).context["poll"]
    response = client.get(url + queued, headers=hx)
    assert response.status_code == 200 and b"every 1s" in response.content
    assert b"n=1" in response.content
    # Queued for two minutes with no worker: it says so and stops polling.
    response = client.get(url + queued + "&n=120", headers=hx)
    assert b"every 1s" not in response.content and b"baton worker" in response.content
    # A run in progress shows rows and percent (read from the progress file).
    actions._write_progress(batch.pk, 1234, batch.file_size // 2, batch.file_size)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.VALIDATING)
    response = client.get(url + queued + "&n=500", headers=hx)
    assert b" 1234 " in response.content and b'value="50"' in response.content
    assert b"every 1s" in response.content
    # Over (even in the status it had when queued: validated_at moved): the page reloads.
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.UPLOADED, validated_at=timezone.now()
    )
    response = client.get(url + queued, headers=hx)
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_batch_page_queries_are_bounded(
    users: Any,
    client_as: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    client = client_as("admin")
    batch = uploaded(
        client, unknown_department_file(users["admin"], 250), django_capture_on_commit_callbacks
    )
    assert batch.status == BatchStatus.INVALID and batch.problems.count() == 250
    url = reverse("imports:batch", args=[batch.pk])
    client.get(url)
    with django_assert_max_num_queries(8):
        page = client.get(url)
    assert len(page.context["problems"]) == 200 and page.context["problem_count"] == 250


def test_an_archive_skips_the_mapping_step(
    users: Any, client_as: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    archive = tmp_path / "export.zip"
    exports.write_archive(users["admin"], archive)
    client = client_as("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, archive.read_bytes(), kind="archive", name="export.zip")
    batch = ImportBatch.objects.latest("id")
    assert response["Location"].startswith(reverse("imports:batch", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALID, batch.error
    page = client.get(response["Location"])
    rows = page.context["count_rows"]
    # One row per kind in the archive, then the total.
    assert {"employees", "departments"} <= set(batch.counts)
    assert len(rows) == len(batch.counts)
    total = rows[-1][1]
    assert total[0] == sum(numbers[0] for _label, numbers in rows[:-1])
    assert total[0] > 0 and total[0] == total[3]  # every row read is unchanged
    assert client.get(reverse("imports:mapping", args=[batch.pk])).status_code == 302


def test_a_batch_needs_the_right_to_import_its_kind(users: Any, client_as: Any) -> None:
    """An HRBP's own batch, after they lost the right to change employees: every page of it
    is refused (it holds the raw file's data)."""
    from baton.access.models import RoleAssignment

    hrbp = client_as("hrbp.cloud")
    data, _n, _name = renamed_file(users["admin"])
    upload(hrbp, data)
    batch = ImportBatch.objects.latest("id")
    assert hrbp.get(reverse("imports:batch", args=[batch.pk])).status_code == 200
    RoleAssignment.objects.filter(user=users["hrbp.cloud"]).delete()
    for name in ("batch", "mapping", "report", "progress"):
        assert hrbp.get(reverse(f"imports:{name}", args=[batch.pk])).status_code == 403, name
    for name in ("commit", "validate", "discard"):
        assert hrbp.post(reverse(f"imports:{name}", args=[batch.pk])).status_code == 403, name
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.UPLOADED
