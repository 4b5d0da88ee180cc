"""Imports end to end through the actions (upload → validate → commit), on the demo group:
idempotency, corrected files, every kind of bad input, scope, and the IBM sample through a
saved mapping."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from baton.access.models import User
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.core.errors import Conflict, InvalidInput
from baton.imports import actions, exports
from baton.imports.models import BatchStatus, ImportChange
from baton.org.models import AttendanceDay, Employee, LifecycleEvent

# The whole module also runs in the SQLite smoke pass: the engine writes differently there.
pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

IBM = Path(__file__).resolve().parents[1] / "examples" / "ibm-hr-attrition" / "ibm-hr-attrition.csv"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "ibm-hr-attrition"


def admin() -> User:
    return User.objects.get(username="admin")


def export_csv(kind: str, user: Any) -> str:
    return "".join(exports.csv_lines(kind, user))


def placed() -> Any:
    """Employees with what a row of the employees file names (unit, entity, department…)."""
    return Employee.objects.select_related(
        "business_unit", "legal_entity", "department", "position", "work_city"
    )


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path: Path, kind: str, user: Any, *, commit: bool = True, **kw: Any) -> Any:
    batch = actions.upload(path, kind=kind, file_name=path.name, acting_user=user, **kw)
    batch = actions.validate(batch, acting_user=user)
    if commit and batch.status == BatchStatus.VALID:
        batch = actions.commit(batch, acting_user=user)
    return batch


def problems(batch: Any) -> list[tuple[int | None, str, str]]:
    return list(batch.problems.values_list("row", "column", "code"))


def test_reimporting_the_export_changes_nothing(tmp_path: Path, users: Any) -> None:
    user = admin()
    path = write(tmp_path, "employees.csv", export_csv("employees", user))
    before = Employee.objects.count()
    batch = run(path, "employees", user)
    assert batch.status == BatchStatus.COMMITTED
    total = batch.counts["total"]
    assert total["read"] == before and total["unchanged"] == before
    assert "created" not in total and "updated" not in total
    assert not ImportChange.objects.filter(batch=batch).exists()
    assert Employee.objects.count() == before


def test_a_corrected_file_updates_only_what_changed(tmp_path: Path, users: Any) -> None:
    user = admin()
    text = export_csv("employees", user)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    target = rows[5]
    old_name = target[2]
    target[2] = old_name + "（更正）"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    batch = run(write(tmp_path, "fixed.csv", out.getvalue()), "employees", user)
    assert batch.status == BatchStatus.COMMITTED
    assert batch.counts["employees"]["updated"] == 1
    change = ImportChange.objects.get(batch=batch)
    assert change.key == target[0]
    assert change.changes == {"name": [old_name, old_name + "（更正）"]}
    assert Employee.objects.get(employee_number=target[0]).name == old_name + "（更正）"
    entry = AuditEntry.objects.filter(event_type=AuditEvent.IMPORT_COMMITTED).latest("id")
    assert entry.subject_id == str(batch.pk)
    assert json.loads(entry.payload)["extra"]["counts"]["employees"]["updated"] == 1


HEADER = "employee_number,name,business_unit,legal_entity,department,position,work_city,hire_date\n"


def one_employee(**overrides: str) -> str:
    emp = placed().filter(business_unit__code="C").first()
    assert emp is not None
    values = {
        "employee_number": "NEW0001",
        "name": "新同事",
        "business_unit": emp.business_unit.code,
        "legal_entity": emp.legal_entity.code,
        "department": emp.department.code,
        "position": emp.position.code,
        "work_city": emp.work_city.code,
        "hire_date": "2026-03-01",
    }
    values.update(overrides)
    return ",".join(values.values()) + "\n"


def test_new_people_are_created_and_numbered_by_the_scheme(tmp_path: Path, users: Any) -> None:
    user = admin()
    text = (
        "legacy_id,"
        + HEADER.split(",", 1)[1]
        + ",".join(["OLD-77", *one_employee().strip().split(",")[1:]])
        + "\n"
    )
    batch = run(write(tmp_path, "new.csv", text), "employees", user)
    assert batch.status == BatchStatus.COMMITTED, problems(batch)
    emp = Employee.objects.get(legacy_id="OLD-77")
    assert emp.employee_number.startswith("HXC26")  # {group}{bu}{yy}{seq:05}
    again = run(write(tmp_path, "new2.csv", text), "employees", user)
    assert again.counts["employees"]["unchanged"] == 1
    assert Employee.objects.filter(legacy_id="OLD-77").count() == 1


@pytest.mark.parametrize(
    ("override", "column", "code"),
    [
        ({"hire_date": "2026-13-45"}, "hire_date", "bad_date"),
        ({"department": "NOPE"}, "department", "unknown_department"),
        ({"name": '=HYPERLINK("http://evil","x")'}, "name", "formula"),
        ({"name": "+cmd|' /C calc'!A0"}, "name", "formula"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_a_bad_row_is_reported_and_nothing_is_written(
    tmp_path: Path, users: Any, override: dict[str, str], column: str, code: str
) -> None:
    user = admin()
    good = one_employee(employee_number="NEW0002")
    bad = one_employee(**override)
    before = Employee.objects.count()
    batch = run(write(tmp_path, "bad.csv", HEADER + good + bad), "employees", user)
    assert batch.status == BatchStatus.INVALID
    assert problems(batch) == [(3, column, code)]
    assert Employee.objects.count() == before
    with pytest.raises(Conflict):
        actions.commit(batch, acting_user=user)
    assert Employee.objects.count() == before


def test_termination_before_hire_is_rejected(tmp_path: Path, users: Any) -> None:
    header = HEADER.rstrip("\n") + ",termination_date\n"
    row = one_employee().rstrip("\n") + ",2020-01-01\n"
    batch = run(write(tmp_path, "t.csv", header + row), "employees", admin())
    assert problems(batch) == [(2, "termination_date", "hire_after_termination")]


def test_a_manager_cycle_is_rejected(tmp_path: Path, users: Any) -> None:
    a, b = Employee.objects.filter(business_unit__code="C").order_by("id")[:2]
    text = HEADER.rstrip("\n") + ",manager\n"
    for me, boss in ((a, b), (b, a)):
        text += (
            f"{me.employee_number},{me.name},C,{me.legal_entity.code},{me.department.code},"
            f"{me.position.code},{me.work_city.code},{me.hire_date},{boss.employee_number}\n"
        )
    batch = run(write(tmp_path, "cycle.csv", text), "employees", admin())
    assert batch.status == BatchStatus.INVALID
    assert "manager_cycle" in {c for _r, _c, c in problems(batch)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        ("姓名,部门\n".encode("utf-16"), "UTF-16"),
        (b"name\xe9\xff\xfe,dept\nx\xff\xfe\xe9,y\n", "GB18030"),
    ],
)
def test_an_unreadable_file_is_refused_at_upload(
    tmp_path: Path, users: Any, content: bytes, message: str
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as err:
        actions.upload(path, kind="employees", file_name="f.csv", acting_user=admin())
    assert message.lower() in " ".join(err.value.field_errors["file"]).lower()


def test_a_missing_required_column_is_named(tmp_path: Path, users: Any) -> None:
    path = write(tmp_path, "m.csv", "employee_number,name\nX1,张三\n")
    with pytest.raises(InvalidInput) as err:
        actions.upload(path, kind="employees", file_name="m.csv", acting_user=admin())
    assert "hire_date" in err.value.message and "department" in err.value.message


def test_a_two_gigabyte_file_is_refused_before_reading(tmp_path: Path, users: Any) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(2 * 1024**3)
    kept = set(actions.storage_dir().glob("*.upload"))
    with pytest.raises(InvalidInput) as err:
        actions.upload(path, kind="attendance", file_name="huge.csv", acting_user=admin())
    assert "2 GB" in err.value.field_errors["file"][0]
    assert set(actions.storage_dir().glob("*.upload")) == kept


def test_gbk_files_import(tmp_path: Path, users: Any) -> None:
    text = HEADER + one_employee(name="欧阳娜娜", employee_number="GBK001")
    batch = run(write(tmp_path, "gbk.csv", text, "gbk"), "employees", admin())
    assert batch.encoding == "gb18030"
    assert Employee.objects.get(employee_number="GBK001").name == "欧阳娜娜"


def test_a_bu_hr_cannot_import_into_another_unit(tmp_path: Path, users: Any) -> None:
    hr_cloud = User.objects.get(username="hrbp.cloud")
    emp = (
        Employee.objects.select_related("legal_entity", "department", "position", "work_city")
        .filter(business_unit__code="D")
        .first()
    )
    assert emp is not None
    row = one_employee(
        business_unit="D",
        legal_entity=emp.legal_entity.code,
        department=emp.department.code,
        position=emp.position.code,
        work_city=emp.work_city.code,
    )
    batch = run(write(tmp_path, "d.csv", HEADER + row), "employees", hr_cloud)
    assert problems(batch) == [(2, "department", "out_of_scope")]


def test_attendance_imports_idempotently(tmp_path: Path, users: Any) -> None:
    numbers = list(Employee.objects.order_by("id").values_list("employee_number", flat=True)[:20])
    lines = ["employee,date,status,clock_in,clock_out"]
    for n in numbers:
        for day in ("2026-11-02", "2026-11-03", "2026-11-04"):
            lines.append(f"{n},{day},present,09:01,18:30")
    lines.append(f"{numbers[0]},2026-11-05,请假,,")
    path = write(tmp_path, "att.csv", "\n".join(lines) + "\n")
    before = AttendanceDay.objects.count()
    batch = run(path, "attendance", admin())
    assert batch.counts["attendance"]["created"] == 61
    assert AttendanceDay.objects.count() == before + 61
    again = run(path, "attendance", admin())
    assert again.counts["attendance"]["unchanged"] == 61
    lines[1] = lines[1].replace("09:01", "09:20")
    fixed = run(write(tmp_path, "att2.csv", "\n".join(lines) + "\n"), "attendance", admin())
    assert fixed.counts["attendance"]["updated"] == 1


def test_a_key_repeated_with_other_values_is_rejected(tmp_path: Path, users: Any) -> None:
    n = Employee.objects.values_list("employee_number", flat=True).first()
    text = f"employee,date,status\n{n},2026-11-02,present\n{n},2026-11-02,absent\n"
    batch = run(write(tmp_path, "dup.csv", text), "attendance", admin())
    assert [(r, c) for r, _col, c in problems(batch)] == [(3, "duplicate_key")]


def test_validation_queries_do_not_grow_with_rows(
    tmp_path: Path, users: Any, django_assert_max_num_queries: Any
) -> None:
    user = admin()
    path = write(tmp_path, "employees.csv", export_csv("employees", user))
    batch = actions.upload(path, kind="employees", file_name="e.csv", acting_user=user)
    with django_assert_max_num_queries(40):
        actions.validate(batch, acting_user=user)


def test_ibm_sample_imports_through_a_saved_mapping(tmp_path: Path, users: Any) -> None:
    user = admin()
    org = run(EXAMPLES / "organisation", "archive", user)  # type: ignore[arg-type]
    assert org.status == BatchStatus.COMMITTED, problems(org)
    spec = json.loads((EXAMPLES / "employees.mapping.json").read_text())
    saved = actions.save_mapping(
        "IBM HR attrition",
        "employees",
        {k: v for k, v in spec.items() if k not in ("kind", "name")},
        acting_user=user,
    )
    batch = run(IBM, "employees", user, saved_mapping=saved)
    assert batch.status == BatchStatus.COMMITTED, problems(batch)[:5]
    assert batch.counts["employees"]["created"] == 1470
    people = Employee.objects.filter(business_unit__code="IBM")
    assert people.count() == 1470
    first = people.get(legacy_id="1")
    assert first.attributes["Attrition"] == "Yes" and first.attributes["MonthlyIncome"] == 5993
    assert first.protected_attributes == {"Age": 41, "Gender": "Female", "MaritalStatus": "Single"}
    assert not {"Age", "Gender", "MaritalStatus"} & set(first.attributes)
    assert first.position.code == "IBM-SAL-EXEC" and first.department.code == "SALES"
    assert people.filter(attributes__Attrition="Yes").count() == 237
    again = run(IBM, "employees", user, saved_mapping=saved)
    assert again.counts["employees"]["unchanged"] == 1470


def test_separations_become_lifecycle_events(tmp_path: Path, users: Any) -> None:
    n = Employee.objects.values_list("employee_number", flat=True).first()
    text = f"employee,date,type,reason\n{n},2019-06-30,辞职,家庭原因\n"
    batch = run(write(tmp_path, "sep.csv", text), "separations", admin())
    assert batch.status == BatchStatus.COMMITTED, problems(batch)
    ev = LifecycleEvent.objects.get(
        employee__employee_number=n, event_type="resignation", effective_date="2019-06-30"
    )
    assert ev.details == {"reason": "家庭原因", "voluntary": True}


def test_exports_escape_formula_cells_and_imports_read_them_back(
    tmp_path: Path, users: Any
) -> None:
    from baton.org import actions as org_actions

    user = admin()
    emp = Employee.objects.filter(business_unit__code="C").first()
    assert emp is not None
    org_actions.update_employee(emp, {"name": "=1+2 @x"}, acting_user=user)
    text = export_csv("employees", user)
    assert f"{emp.employee_number},,'=1+2 @x," in text
    xlsx = exports.xlsx_bytes("employees", user)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).active
    assert sheet is not None
    assert "'=1+2 @x" in [row[2] for row in sheet.iter_rows(values_only=True)]
    batch = run(write(tmp_path, "e.csv", text), "employees", user)
    assert batch.status == BatchStatus.COMMITTED
    assert batch.counts["employees"].get("updated", 0) == 0
    assert Employee.objects.get(pk=emp.pk).name == "=1+2 @x"


# ---------------------------------------------------------------- review findings


def _row_for(emp: Employee, **overrides: str) -> str:
    values = {
        "employee_number": emp.employee_number,
        "name": emp.name,
        "business_unit": emp.business_unit.code,
        "legal_entity": emp.legal_entity.code,
        "department": emp.department.code,
        "position": emp.position.code,
        "work_city": emp.work_city.code,
        "hire_date": str(emp.hire_date),
    }
    values.update(overrides)
    return ",".join(values.values()) + "\n"


def test_a_bu_hr_cannot_pull_someone_from_another_unit(tmp_path: Path, users: Any) -> None:
    """A row naming a BU D person but a BU C place must not move them into the HRBP's unit."""
    hr_cloud = User.objects.get(username="hrbp.cloud")
    victim = Employee.objects.filter(business_unit__code="D").first()
    mine = placed().filter(business_unit__code="C").first()
    assert victim and mine
    row = _row_for(mine, employee_number=victim.employee_number, name="HIJACKED")
    batch = run(write(tmp_path, "h.csv", HEADER + row), "employees", hr_cloud)
    assert problems(batch) == [(2, "employee_number", "out_of_scope")]
    victim.refresh_from_db()
    assert victim.name != "HIJACKED" and victim.business_unit.code == "D"


def test_someone_with_an_open_case_is_not_moved_by_an_import(
    tmp_path: Path, users: Any, approved_case: Any
) -> None:
    emp = placed().get(pk=approved_case.employee_id)
    other = (
        Employee.objects.filter(business_unit=emp.business_unit)
        .exclude(department=emp.department)
        .select_related("department")
        .first()
    )
    assert other is not None
    batch = run(
        write(tmp_path, "o.csv", HEADER + _row_for(emp, department=other.department.code)),
        "employees",
        admin(),
    )
    assert problems(batch) == [(2, "department", "open_case")]
    # Renaming is still fine.
    ok = run(
        write(tmp_path, "o2.csv", HEADER + _row_for(emp, name=emp.name + "·")), "employees", admin()
    )
    assert ok.status == BatchStatus.COMMITTED


def test_new_people_are_written_with_their_sealed_id_numbers(tmp_path: Path, users: Any) -> None:
    # New rows get their ids before the insert, so the number is sealed to the right row and
    # written with it (no second write of the rows).
    from baton.org import idcard

    emp = placed().filter(business_unit__code="C")[0]
    numbers = [f + idcard.check_char(f) for f in ("11010519491231002", "44030519850607123")]
    header = HEADER.rstrip("\n") + ",id_number\n"
    text = header + "".join(
        _row_for(emp, employee_number=f"NEW-{i}", name=f"新人{i}").rstrip("\n") + f",{n}\n"
        for i, n in enumerate(numbers)
    )
    batch = run(write(tmp_path, "new.csv", text), "employees", admin())
    assert batch.status == BatchStatus.COMMITTED, problems(batch)
    for i, n in enumerate(numbers):
        person = Employee.objects.get(employee_number=f"NEW-{i}")
        assert idcard.reveal(person) == n


def test_clearing_an_id_number_removes_the_sealed_number(tmp_path: Path, users: Any) -> None:
    user = admin()
    emp = placed().filter(business_unit__code="C").first()
    assert emp is not None
    header = HEADER.rstrip("\n") + ",id_number\n"
    run(
        write(tmp_path, "i.csv", header + _row_for(emp).rstrip("\n") + ",11010519491231002X\n"),
        "employees",
        user,
    )
    emp.refresh_from_db()
    assert emp.id_number_blob and emp.id_number_hint == "110***********002X"
    assert "11010519491231002X" in export_csv("employees", user)
    run(write(tmp_path, "j.csv", header + _row_for(emp).rstrip("\n") + ",\n"), "employees", user)
    emp.refresh_from_db()
    assert not emp.id_number_blob and emp.id_number_hash == "" and emp.id_number_key_id == ""
    assert "11010519491231002X" not in export_csv("employees", user)


def test_scheme_numbers_skip_numbers_the_file_or_database_already_use(
    tmp_path: Path, users: Any
) -> None:
    user = admin()
    base = one_employee().strip().split(",")[1:]
    # The next number of the scheme for BU C hired in 2026 is taken by an explicit row.
    header = "employee_number,legacy_id," + HEADER.split(",", 1)[1]
    taken = ["HXC2600001", "", *base]
    legacy = ["", "L-1", *base]
    text = header + ",".join(taken) + "\n" + ",".join(legacy) + "\n"
    batch = run(write(tmp_path, "n.csv", text), "employees", user)
    assert batch.status == BatchStatus.COMMITTED, problems(batch)
    assert Employee.objects.get(legacy_id="L-1").employee_number != "HXC2600001"


def test_row_problems_are_report_lines_not_crashes(tmp_path: Path, users: Any) -> None:
    user = admin()
    n = Employee.objects.values_list("employee_number", flat=True).first()
    text = (
        "employee,effective_date,change_type,monthly_base\n"
        f"{n},2026-01-01,annual,1e30\n"
        f"{n},2026-02-01,annual,123456789012345678\n"
    )
    batch = run(write(tmp_path, "c.csv", text), "compensation", user)
    assert [c for _r, _col, c in problems(batch)] == ["out_of_range", "out_of_range"]
    header = HEADER.rstrip("\n") + ",email,legacy_id\n"
    rows = one_employee(employee_number="E1").rstrip("\n") + f",{'a' * 250}@x.cn,L9\n"
    rows += one_employee(employee_number="E2").rstrip("\n") + ",b@x.cn,L9\n"
    batch = run(write(tmp_path, "e.csv", header + rows), "employees", user)
    assert sorted(c for _r, _col, c in problems(batch)) == ["duplicate_key", "too_long"]


def test_a_key_repeated_in_a_later_chunk_is_rejected(
    tmp_path: Path, users: Any, monkeypatch: Any
) -> None:
    from baton.imports.kinds.records import Contracts

    monkeypatch.setattr(Contracts, "chunk_rows", 1)
    contract = Employee.objects.first().contracts.first()  # type: ignore[union-attr]
    assert contract is not None
    line = (
        f"{contract.employee.employee_number},{contract.sequence},{contract.legal_entity.code},"
        f"{contract.contract_type},{contract.start_date}"
    )
    text = "employee,sequence,legal_entity,contract_type,start_date,end_date\n"
    text += f"{line},{contract.end_date or ''}\n{line},2099-12-31\n"
    batch = run(write(tmp_path, "k.csv", text), "contracts", admin())
    assert [(r, c) for r, _col, c in problems(batch)] == [(3, "duplicate_key")]


def test_new_rows_repeated_across_and_within_chunks(
    tmp_path: Path, users: Any, monkeypatch: Any
) -> None:
    # Chunks of new rows take the fast path (nothing to compare); a key repeated in a later
    # chunk, or twice in one chunk, must still be found.
    from baton.imports.kinds.records import Attendance

    monkeypatch.setattr(Attendance, "chunk_rows", 2)
    n = Employee.objects.values_list("employee_number", flat=True).first()
    rows = [
        "2030-01-07,present",  # chunk 1: both new
        "2030-01-08,present",
        "2030-01-09,present",  # chunk 2: the first chunk's key again
        "2030-01-07,absent",
        "2030-01-10,present",  # chunk 3: the same key twice, same values
        "2030-01-10,present",
    ]
    text = "employee,date,status\n" + "".join(f"{n},{r}\n" for r in rows)
    batch = run(write(tmp_path, "rep.csv", text), "attendance", admin(), commit=False)
    assert [(r, c) for r, _col, c in problems(batch)] == [(5, "duplicate_key")]
    counts = batch.counts["attendance"]
    assert (counts["created"], counts["repeated"], counts["rejected"]) == (4, 1, 1)
    rows[3] = "2030-01-11,absent"
    text = "employee,date,status\n" + "".join(f"{n},{r}\n" for r in rows)
    batch = run(write(tmp_path, "rep2.csv", text), "attendance", admin())
    assert batch.status == BatchStatus.COMMITTED, problems(batch)
    assert AttendanceDay.objects.filter(employee__employee_number=n, date__year=2030).count() == 5


def test_a_manager_change_is_logged_with_the_batch(tmp_path: Path, users: Any) -> None:
    a = Employee.objects.filter(business_unit__code="C").exclude(manager=None).order_by("id")[0]
    header = HEADER.rstrip("\n") + ",manager\n"
    boss = (
        Employee.objects.filter(business_unit__code="C")
        .exclude(pk__in=[a.pk, a.manager_id])
        .exclude(manager=a)
        .first()
    )
    assert boss is not None
    emp = placed().get(pk=a.pk)
    batch = run(
        write(
            tmp_path, "mg.csv", header + _row_for(emp).rstrip("\n") + f",{boss.employee_number}\n"
        ),
        "employees",
        admin(),
    )
    assert batch.status == BatchStatus.COMMITTED, problems(batch)
    change = ImportChange.objects.get(batch=batch)
    assert change.changes["manager"][1] == boss.employee_number
    assert batch.counts["employees"]["manager_changes"] == 1


def test_dry_run_leaves_no_trace(tmp_path: Path, users: Any) -> None:
    from baton.org.models import EmployeeNumberSequence

    before = list(EmployeeNumberSequence.objects.values_list("prefix", "last_value"))
    text = (
        "legacy_id,"
        + HEADER.split(",", 1)[1]
        + ",".join(["DRY-1", *one_employee().strip().split(",")[1:]])
        + "\n"
    )
    batch = run(write(tmp_path, "dry.csv", text), "employees", admin(), commit=False)
    assert batch.status == BatchStatus.VALID and batch.counts["employees"]["created"] == 1
    assert list(EmployeeNumberSequence.objects.values_list("prefix", "last_value")) == before
    assert not Employee.objects.filter(legacy_id="DRY-1").exists()


def test_a_mapping_can_ignore_a_column_the_file_names(tmp_path: Path, users: Any) -> None:
    user = admin()
    emp = placed().filter(business_unit__code="C").exclude(email="").first()
    assert emp is not None
    header = HEADER.rstrip("\n") + ",email\n"
    row = _row_for(emp).rstrip("\n") + ",changed@x.cn\n"
    batch = run(
        write(tmp_path, "ig.csv", header + row), "employees", user, mapping={"ignore": ["email"]}
    )
    assert batch.status == BatchStatus.COMMITTED
    emp.refresh_from_db()
    assert emp.email != "changed@x.cn"
    with pytest.raises(InvalidInput):
        actions.upload(
            write(tmp_path, "ig2.csv", header + row),
            kind="employees",
            file_name="ig2.csv",
            acting_user=user,
            mapping={"ignore": ["name"]},
        )


def test_the_same_person_in_another_unit_is_a_warning(tmp_path: Path, users: Any) -> None:
    c_person = Employee.objects.filter(business_unit__code="C").exclude(phone="").first()
    d_person = placed().filter(business_unit__code="D").first()
    assert c_person and d_person
    header = HEADER.rstrip("\n") + ",phone\n"
    phone = "+86 " + c_person.phone  # the same mobile, written differently
    batch = run(
        write(tmp_path, "dup.csv", header + _row_for(d_person).rstrip("\n") + f",{phone}\n"),
        "employees",
        admin(),
    )
    assert batch.status == BatchStatus.COMMITTED
    warning = batch.problems.get(code="duplicate_person")
    assert warning.severity == "warning" and warning.row == 2 and warning.column == "phone"
    assert c_person.employee_number in warning.message


def test_json_and_dates_update_in_place(tmp_path: Path, users: Any) -> None:
    user = admin()
    emp = placed().filter(business_unit__code="C").first()
    assert emp is not None
    header = HEADER.rstrip("\n") + ",attributes,termination_date,status\n"
    row = (
        _row_for(emp).rstrip("\n") + ',"{""job_level"": 5, ""级别"": ""高""}",2030-01-31,departed\n'
    )
    batch = run(write(tmp_path, "js.csv", header + row), "employees", user)
    assert batch.counts["employees"]["updated"] == 1, problems(batch)
    emp.refresh_from_db()
    assert emp.attributes == {"job_level": 5, "级别": "高"}
    assert str(emp.termination_date) == "2030-01-31" and emp.status == "departed"
    again = run(write(tmp_path, "js2.csv", header + row), "employees", user)
    assert again.counts["employees"]["unchanged"] == 1
