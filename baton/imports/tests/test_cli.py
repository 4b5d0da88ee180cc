"""The command line on the demo group: `baton import` (dry run, --commit, --report, refused
files), `baton export`, and `baton setup` (the first group administrator)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from baton.access.models import Role, RoleAssignment, User
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.imports.models import BatchStatus, ImportBatch, ImportChange
from baton.imports.tests.test_views import (
    as_csv,
    employee_rows,
    renamed_file,
    unknown_department_file,
)
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def run(*args: str) -> tuple[str, str]:
    """Run a command; (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_dry_run_writes_nothing_then_commit_applies(users: Any, tmp_path: Path) -> None:
    data, number, new_name = renamed_file(users["admin"])
    source = tmp_path / "people.csv"
    source.write_bytes(data)
    old_name = Employee.objects.get(employee_number=number).name

    out, err = run("import", "employees", str(source), "--as", "admin", "--quiet")
    assert "Employees: Rows read 4, Created 0, Updated 1, Unchanged 3" in out, out
    assert "dry run" in out and "Batch #" in err
    batch = ImportBatch.objects.latest("id")
    assert batch.status == BatchStatus.VALID and batch.created_by == users["admin"]
    assert Employee.objects.get(employee_number=number).name == old_name
    assert not ImportChange.objects.filter(batch=batch).exists()

    out, _err = run("import", "employees", str(source), "--as", "admin", "--commit", "--quiet")
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["status"] == "committed" and summary["updated"] == 1
    assert Employee.objects.get(employee_number=number).name == new_name
    assert ImportChange.objects.filter(batch_id=summary["batch"]).count() == 1


def test_import_writes_the_report(users: Any, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_bytes(renamed_file(users["admin"])[0])
    target = tmp_path / "out.xlsx"
    out, _err = run(
        "import", "employees", str(source), "--as", "admin", "--report", str(target), "--quiet"
    )
    assert f"Report: {target}" in out
    book = load_workbook(target, read_only=True)
    rows = [r for r in book.worksheets[0].iter_rows(values_only=True) if len(r) > 1]
    summary = {r[0]: r[1] for r in rows}
    assert summary["Batch"] == f"#{ImportBatch.objects.latest('id').pk}"
    assert summary["Employees"] == 4  # rows read


def test_the_report_lists_the_refused_rows(users: Any, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(unknown_department_file(users["admin"], 2))
    out = tmp_path / "report.xlsx"
    with pytest.raises(CommandError):
        call_command(
            "import", "employees", str(source), "--as", "admin", "--report", str(out), "--quiet"
        )
    book = load_workbook(out, read_only=True)
    problems = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[6]) for r in problems] == [(5, "NO-SUCH-DEPT"), (6, "NO-SUCH-DEPT")]


def test_a_bad_file_is_refused_naming_the_problem(users: Any, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(unknown_department_file(users["admin"], 2))
    before = Employee.objects.count()
    with pytest.raises(CommandError) as refused:
        run("import", "employees", str(source), "--as", "admin", "--commit", "--quiet")
    message = str(refused.value)
    assert message.startswith(
        "Not valid; nothing was written: Employees row 5 department “NO-SUCH-DEPT”: "
    )
    assert message.endswith("(and 1 more)")
    assert Employee.objects.count() == before
    assert ImportBatch.objects.latest("id").status == BatchStatus.INVALID

    # A required column missing: refused on upload, naming the column.
    rows = employee_rows(users["admin"])[:3]
    name = rows[0].index("name")
    source.write_bytes(as_csv([[c for i, c in enumerate(r) if i != name] for r in rows]))
    with pytest.raises(CommandError, match="name"):
        run("import", "employees", str(source), "--as", "admin", "--quiet")

    with pytest.raises(CommandError, match="No such file"):
        run("import", "employees", str(tmp_path / "missing.csv"), "--as", "admin")
    with pytest.raises(CommandError, match="No active user “nobody”"):
        run("import", "employees", str(source), "--as", "nobody")
    with pytest.raises(CommandError, match="No saved mapping “旧系统”"):
        run("import", "employees", str(source), "--as", "admin", "--saved", "旧系统")
    # Someone who may not import employees.
    with pytest.raises(CommandError, match="permission"):
        run("import", "employees", str(source), "--as", "head.rd", "--quiet")


def test_export(users: Any, tmp_path: Path) -> None:
    before = AuditEntry.objects.filter(event_type=AuditEvent.DATA_EXPORTED).count()
    target = tmp_path / "employees.csv"
    out, _err = run("export", "employees", str(target), "--as", "admin")
    assert f"Employees written: {target}" in out
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == employee_rows(users["admin"])[0][:3]
    assert len(lines) - 1 == Employee.objects.filter(merged_into__isnull=True).count()
    entry = AuditEntry.objects.filter(event_type=AuditEvent.DATA_EXPORTED).latest("id")
    assert json.loads(entry.payload)["extra"]["rows"] == len(lines) - 1

    xlsx = tmp_path / "employees.xlsx"
    run("export", "employees", str(xlsx), "--format", "xlsx", "--as", "admin")
    sheet = load_workbook(xlsx, read_only=True).worksheets[0]
    assert sum(1 for _row in sheet.iter_rows(values_only=True)) == len(lines)

    archive = tmp_path / "all.zip"
    out, _err = run("export", "archive", str(archive), "--as", "admin")
    assert f"Archive written: {archive}" in out and "Employees: " in out
    assert "manifest.json" in zipfile.ZipFile(archive).namelist()
    assert AuditEntry.objects.filter(event_type=AuditEvent.DATA_EXPORTED).count() == before + 3

    # Not allowed to read what is asked: refused, no file left behind.
    refused = tmp_path / "refused.csv"
    with pytest.raises(CommandError, match="permission"):
        run("export", "cities", str(refused), "--as", "receiver")
    assert not refused.exists()


# ---------------------------------------------------------------- baton setup

STRONG = "Baton-setup-2026!"


def test_setup_is_refused_once_there_is_a_group_admin(
    users: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_SETUP_PASSWORD", STRONG)
    with pytest.raises(CommandError, match="has a group administrator already"):
        run("setup", "newadmin")
    assert not User.objects.filter(username="newadmin").exists()


def test_setup_creates_the_first_group_admin(users: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A new installation: nobody holds the group administrator role yet.
    RoleAssignment.objects.filter(role=Role.GROUP_ADMIN).delete()
    monkeypatch.setenv("BATON_SETUP_PASSWORD", "12345678")
    with pytest.raises(CommandError) as weak:
        run("setup", "newadmin")
    assert str(weak.value).startswith("The password is not strong enough:")
    assert "too short" in str(weak.value) and "entirely numeric" in str(weak.value)

    monkeypatch.setenv("BATON_SETUP_PASSWORD", STRONG)
    with pytest.raises(CommandError, match="A user “ADMIN” exists already"):
        run("setup", "ADMIN")

    out, _err = run("setup", "newadmin", "--email", "it@example.com")
    assert "Group administrator newadmin created." in out
    user = User.objects.get(username="newadmin")
    assert user.check_password(STRONG) and user.email == "it@example.com"
    assert list(user.role_assignments.values_list("role", "business_unit", "department")) == [
        (Role.GROUP_ADMIN, None, None)
    ]
    entries = AuditEntry.objects.order_by("-id")[:2]
    assert [(e.event_type, e.actor_id) for e in reversed(entries)] == [
        (AuditEvent.USER_CREATED, None),
        (AuditEvent.ROLE_GRANTED, None),
    ]
    assert json.loads(entries[0].payload)["actor"] == "system"
    # The new administrator acts on the command line.
    with pytest.raises(CommandError, match="has a group administrator already"):
        run("setup", "second")
