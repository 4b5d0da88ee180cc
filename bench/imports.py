"""Import figures (issue 7): `baton import … --commit` of 100,000 new employees (target: validate
and commit in < 60 s on PostgreSQL), the same file again (every row unchanged), and 5,000,000
attendance days of those people (target < 5 minutes); peak memory of each command < 1 GB.

The files are written to disk a row at a time from the scale demo's own organisation (business
units, legal entities, departments, positions, cities) and imported by the command itself, in a
process of its own, so its wall time and peak RSS are what an operator sees. Its phases come from
the batch's timestamps: upload (copy, SHA-256, header check), validation (the dry run: every row
checked and written in a transaction then rolled back) and commit (the same run, kept).

Next to each, the physical limit: PostgreSQL's own `COPY … FROM STDIN` of the same rows, their
codes and employee numbers already resolved to ids, into a scratch copy of the table (same
columns, indexes, checks and deferred foreign keys), committed. The ratio is our rows/s over
COPY's; since validation writes every row too, an engine built this way is bound near 0.5.

    python -m bench.imports launch KIND FILE     # run `baton import`, print wall time + peak RSS
    python -m bench.imports profile KIND FILE [TOP [commit]]  # cProfile of validate or commit

The launcher is a small process on purpose: Linux seeds a child's ru_maxrss with the size of
the process that spawned it, so the benchmark (large) must not start the command directly.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EMPLOYEES_TARGET_S = 60.0
ATTENDANCE_TARGET_S = 300.0
RSS_TARGET_MIB = 1024.0
EMPLOYEE_COLUMNS = [
    "employee_number",
    "name",
    "email",
    "phone",
    "id_number",
    "business_unit",
    "legal_entity",
    "department",
    "position",
    "manager",
    "work_city",
    "hire_date",
    "status",
]
ATTENDANCE_COLUMNS = ["employee", "date", "status", "clock_in", "clock_out"]
FIRST_DAY = dt.date(2026, 1, 5)  # a Monday
BLOCK = 1024 * 1024
BATON = [sys.executable, "-m", "baton.manage"]
ROOT = Path(__file__).resolve().parent.parent


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}m"
    return f"{n / 1000:g}k"


# ---------------------------------------------------------------- the files


class Org:
    """The demo organisation as codes, and the codes' ids (for the COPY limit)."""

    def __init__(self) -> None:
        from baton.org.models import BusinessUnit, City, Department, LegalEntity, Position

        self.bus = dict(BusinessUnit.objects.values_list("code", "id"))
        bu_code = {pk: code for code, pk in self.bus.items()}
        self.cities = dict(City.objects.values_list("code", "id"))
        city_code = {pk: code for code, pk in self.cities.items()}
        self.entities: dict[str, int] = {}
        entities_of: dict[str, list[tuple[str, str]]] = {}
        for code, pk, bu, city in LegalEntity.objects.values_list(
            "code", "id", "business_unit_id", "city_id"
        ).order_by("id"):
            self.entities[code] = pk
            entities_of.setdefault(bu_code[bu], []).append((code, city_code[city]))
        self.departments: dict[tuple[int, str], int] = {}
        depts: list[tuple[str, str]] = []
        for bu, code, pk in Department.objects.values_list(
            "business_unit_id", "code", "id"
        ).order_by("id"):
            self.departments[(bu, code)] = pk
            if bu_code[bu] in entities_of:
                depts.append((bu_code[bu], code))
        self.positions = dict(Position.objects.values_list("code", "id"))
        positions = sorted(self.positions)
        rng = random.Random(7)
        # (bu, entity, department, position, city): three per department, the city being the
        # entity's.
        self.places: list[tuple[str, str, str, str, str]] = []
        for bu, dept in depts:
            for _ in range(3):
                entity, city = rng.choice(entities_of[bu])
                self.places.append((bu, entity, dept, rng.choice(positions), city))


def _id_number(i: int) -> str:
    from baton.org.idcard import check_char

    born = dt.date(1965, 1, 1) + dt.timedelta(days=i % 14_600)
    first17 = f"110105{born:%Y%m%d}{i // 14_600 % 1000:03d}"
    return first17 + check_char(first17)


def write_employees(path: Path, org: Org, prefix: str, n: int) -> list[str]:
    """`n` new people spread over the demo's departments; the first of each department in the
    file manages the others there. Returns their employee numbers, in file order."""
    from baton.org.demo import GIVEN, SURNAMES

    rng = random.Random(11)
    numbers: list[str] = []
    heads: dict[str, str] = {}
    with open(path, "w", newline="", encoding="utf-8", buffering=BLOCK) as fh:
        out = csv.writer(fh)
        out.writerow(EMPLOYEE_COLUMNS)
        for i in range(1, n + 1):
            bu, entity, dept, position, city = org.places[i % len(org.places)]
            number = f"{prefix}{i:07d}"
            manager = heads.setdefault(dept, number)
            hired = FIRST_DAY - dt.timedelta(days=rng.randrange(30, 3650))
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", rng.choice(GIVEN)))
            numbers.append(number)
            out.writerow(
                [
                    number,
                    name,
                    f"{number.lower()}@import.example",
                    f"17{i:09d}",
                    _id_number(i),
                    bu,
                    entity,
                    dept,
                    position,
                    "" if manager == number else manager,
                    city,
                    hired.isoformat(),
                    "active",
                ]
            )
    return numbers


def _attendance_tails() -> list[str]:
    """A pool of (status, clock-in, clock-out) cells with a working month's mix."""
    rng = random.Random(13)
    tails = []
    for _ in range(997):
        r = rng.random()
        if r < 0.85:
            tails.append(
                f"present,08:{rng.randrange(30, 60):02d},{rng.randrange(17, 20)}:"
                f"{rng.randrange(60):02d}"
            )
        elif r < 0.90:
            tails.append(f"late,09:{rng.randrange(5, 60):02d},18:{rng.randrange(60):02d}")
        elif r < 0.94:
            tails.append("leave,,")
        elif r < 0.97:
            tails.append(f"remote,09:{rng.randrange(60):02d},18:{rng.randrange(60):02d}")
        elif r < 0.99:
            tails.append("trip,,")
        else:
            tails.append("absent,,")
    return tails


def working_days(n: int) -> list[str]:
    days, day = [], FIRST_DAY
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day.isoformat())
        day += dt.timedelta(days=1)
    return days


def write_attendance(path: Path, numbers: list[str], rows: int) -> tuple[int, int]:
    """`rows` attendance days, person by person (as an export lists them): as many working
    days each as it takes. Returns (people, days each)."""
    per = max(1, math.ceil(rows / len(numbers)))
    people = math.ceil(rows / per)
    days = working_days(per)
    tails = _attendance_tails()
    left = rows
    with open(path, "w", newline="", encoding="utf-8", buffering=BLOCK) as fh:
        fh.write(",".join(ATTENDANCE_COLUMNS) + "\n")
        for i, number in enumerate(numbers[:people]):
            take = min(per, left)
            fh.write(
                "".join(
                    f"{number},{days[d]},{tails[(i * 31 + d) % len(tails)]}\n" for d in range(take)
                )
            )
            left -= take
    return people, per


# ---------------------------------------------------------------- COPY, the limit


def _copy_text(value: Any) -> str:
    if value is None or value == "":
        return "\\N" if value is None else ""
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _resolved_employees(src: Path, dst: Path, org: Org) -> list[str]:
    """The employees file as COPY text with every code resolved to its id (no managers: those
    rows are in the same file, an UPDATE after the insert would set them)."""
    from baton.org import idcard
    from baton.org.models import Group

    group = Group.objects.values_list("id", flat=True).get()
    now = dt.datetime.now(dt.UTC).isoformat()
    cols = [
        "group_id", "employee_number", "name", "email", "phone", "business_unit_id",
        "legal_entity_id", "department_id", "position_id", "work_city_id", "hire_date", "status",
        "legacy_id", "id_number_key_id", "id_number_hash", "id_number_hint", "attributes",
        "protected_attributes", "import_batch_id", "created_at", "updated_at",
    ]  # fmt: skip
    with open(src, newline="", encoding="utf-8") as fh, open(dst, "w", buffering=BLOCK) as out:
        rows = csv.reader(fh)
        header = next(rows)
        at = {name: i for i, name in enumerate(header)}
        for r in rows:
            bu = org.bus[r[at["business_unit"]]]
            number = idcard.validate(r[at["id_number"]])
            vals = [
                group, r[at["employee_number"]], r[at["name"]], r[at["email"]], r[at["phone"]], bu,
                org.entities[r[at["legal_entity"]]], org.departments[(bu, r[at["department"]])],
                org.positions[r[at["position"]]], org.cities[r[at["work_city"]]],
                r[at["hire_date"]], r[at["status"]], None, "", idcard.lookup_hash(number),
                idcard.mask(number), "{}", "{}", 0, now, now,
            ]  # fmt: skip
            out.write("\t".join(_copy_text(v) for v in vals) + "\n")
    return cols


def _resolved_attendance(src: Path, dst: Path) -> tuple[list[str], float]:
    """The attendance file as COPY text, employee numbers resolved to ids; returns the columns
    and the seconds this plain Python pass took (csv module, one dict lookup per row)."""
    from baton.org.models import Employee

    ids = dict(Employee.objects.values_list("employee_number", "id").iterator(chunk_size=20000))
    started = time.perf_counter()
    with open(src, newline="", encoding="utf-8") as fh, open(dst, "w", buffering=BLOCK) as out:
        rows = csv.reader(fh)
        next(rows)
        batch: list[str] = []
        for number, day, status, ci, co in rows:
            batch.append(f"{ids[number]}\t{day}\t{status}\t{ci or '\\N'}\t{co or '\\N'}\t0\n")
            if len(batch) >= 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    cols = ["employee_id", "date", "status", "clock_in", "clock_out", "import_batch_id"]
    return cols, time.perf_counter() - started


def copy_limit(table: str, cols: list[str], path: Path) -> float:
    """Seconds for COPY FROM STDIN of the file (read in 1 MiB blocks) into a scratch copy of
    `table` — its columns, defaults, checks, indexes and foreign keys (deferred, like Django's,
    so checked at COMMIT, which is timed) — in one transaction; the copy is dropped after."""
    from django.db import connection, transaction

    scratch = f"bench_copy_{table}"
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {scratch}")
        cur.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING ALL)")
        cur.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        for i, (definition,) in enumerate(cur.fetchall()):
            cur.execute(f"ALTER TABLE {scratch} ADD CONSTRAINT {scratch}_fk{i} {definition}")
    try:
        with open(path, "rb") as fh:
            started = time.perf_counter()
            sql = f"COPY {scratch} ({', '.join(cols)}) FROM STDIN"
            with transaction.atomic(), connection.cursor() as cur, cur.cursor.copy(sql) as cp:
                while block := fh.read(BLOCK):
                    cp.write(block)
            return time.perf_counter() - started
    finally:
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE {scratch}")


# ---------------------------------------------------------------- the command


def launch(kind: str, path: str) -> dict[str, Any]:
    """`baton import KIND PATH --commit --as admin`, from this small process: wall time, peak
    RSS (wait4), and the last line of its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.time()
        proc = subprocess.Popen(  # noqa: S603 — our own fixed argv
            [*BATON, "import", kind, path, "--commit", "--as", "admin", "--quiet"],
            stdout=out,
            stderr=err,
            cwd=ROOT,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        end = time.time()
        out.seek(0)
        err.seek(0)
        return {
            "returncode": os.waitstatus_to_exitcode(status),
            "start": start,
            "end": end,
            "peak_rss_mib": usage.ru_maxrss / 1024,
            "stdout": out.read().decode(errors="replace")[-4000:],
            "stderr": err.read().decode(errors="replace")[-4000:],
        }


def _through_launcher(kind: str, path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`launch` in a process of its own (so that its peak RSS is the command's): its result."""
    done = subprocess.run(  # noqa: S603 — our own fixed argv
        [sys.executable, "-m", "bench.imports", "launch", kind, str(path)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    ).stdout
    res: dict[str, Any] = json.loads(done.strip().splitlines()[-1])
    return res


def run_import(kind: str, path: Path) -> dict[str, Any]:
    """The command, through the launcher; its phases from the batch it made."""
    from baton.imports.models import BatchStatus, ImportBatch

    before = ImportBatch.objects.order_by("-id").values_list("id", flat=True).first() or 0
    res = _through_launcher(kind, path)
    batch = ImportBatch.objects.filter(id__gt=before, kind=kind).order_by("-id").first()
    if res["returncode"] != 0 or batch is None or batch.status != BatchStatus.COMMITTED:
        _log(res["stdout"] + res["stderr"])
        raise SystemExit(f"baton import {kind} failed ({res['returncode']})")
    assert batch.validated_at is not None
    validated = batch.validated_at.timestamp()
    res["seconds"] = res["end"] - res["start"]
    res["upload_s"] = batch.created_at.timestamp() - res["start"]
    res["validate_s"] = validated - batch.created_at.timestamp()
    res["commit_s"] = res["end"] - validated
    res["counts"] = batch.counts.get("total", {})
    res["batch"] = batch.pk
    return res


# ---------------------------------------------------------------- a first migration

# What an empty installation needs before its people: the organisation, as exported.
ORG_KINDS = ["group", "cities", "business_units", "legal_entities", "departments",
             "position_families", "positions"]  # fmt: skip


def _fresh_database() -> tuple[str, Any]:
    """A new, empty database on the bench's PostgreSQL server: its URL and how to drop it."""
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    dsn = {"host": s["HOST"], "port": s["PORT"], "user": s["USER"], "dbname": "postgres"}
    if s.get("PASSWORD"):
        dsn["password"] = s["PASSWORD"]
    name = f"baton_first_{os.getpid()}"
    with psycopg.connect(**dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")

    def drop() -> None:
        with psycopg.connect(**dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgres://{auth}@{s['HOST']}:{s['PORT']}/{name}", drop


def first_migration(p: Any, emp_csv: Path, employees: int, work: Path) -> None:
    """The same employees file into an empty installation (migrate, `baton setup`, the
    organisation exported from the bench's database): a company's first day, when the
    planner's statistics still describe tables that were empty."""
    from baton.access.models import User
    from baton.imports import exports

    url, drop = _fresh_database()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BATON_DATA_DIR": str(work / "first-data"),
        "BATON_SETUP_PASSWORD": "Bench-first-migration-1",
    }
    try:
        for args in (["migrate", "--no-input", "-v", "0"], ["setup", "admin"]):
            subprocess.run([*BATON, *args], env=env, check=True, capture_output=True, cwd=ROOT)  # noqa: S603
        org = work / "organisation"
        org.mkdir()
        admin = User.objects.get(username="admin")
        for code in ORG_KINDS:
            (org / f"{code}.csv").write_text("".join(exports.csv_lines(code, admin)))
        subprocess.run(  # noqa: S603 — our own fixed argv
            [*BATON, "import", "archive", str(org), "--commit", "--as", "admin", "--quiet"],
            env=env, check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        res = _through_launcher("employees", emp_csv, env)
        last = (res["stdout"].strip().splitlines() or ["{}"])[-1]
        outcome = json.loads(last) if last.startswith("{") else {}
        if res["returncode"] != 0 or outcome.get("created") != employees:
            _log(res["stdout"] + res["stderr"])
            raise SystemExit(f"first migration: {outcome}")
        seconds = res["end"] - res["start"]
        _log(f"     {seconds:.1f} s, peak {res['peak_rss_mib']:.0f} MiB")
        p.add(
            f"imports.employees_{_size(employees)}.first.seconds",
            seconds,
            "s",
            target=EMPLOYEES_TARGET_S,
            notes=f"wall time of `baton import employees --commit` of the same {employees:,} "
            "people into an empty installation (only its organisation imported): validate and "
            f"commit; peak {res['peak_rss_mib']:.0f} MiB",
        )
    finally:
        drop()


# ---------------------------------------------------------------- the pass


def _free_prefix() -> str:
    from baton.org.models import Employee

    for letter in "BCDFGJKLMNPQRSTVWXYZ":
        if not Employee.objects.filter(employee_number__startswith=letter).exists():
            return letter
    raise SystemExit("no free employee-number prefix for the import benchmark")


def _figures(
    p: Any,
    base: str,
    what: str,
    rows: int,
    res: dict[str, Any],
    target: float | None,
    copy_s: float | None,
) -> None:
    pg = p.db == "postgres"
    rate = rows / res["seconds"]
    copy_rate = rows / copy_s if copy_s else None
    phases = (
        f"upload {res['upload_s']:.1f} s (copy, SHA-256, header), validate {res['validate_s']:.1f}"
        f" s (dry run, rolled back), commit {res['commit_s']:.1f} s"
    )
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(res["counts"].items()))
    extra = {
        "upload_s": round(res["upload_s"], 2),
        "validate_s": round(res["validate_s"], 2),
        "commit_s": round(res["commit_s"], 2),
        "counts": res["counts"],
    }
    p.add(
        f"{base}.seconds",
        res["seconds"],
        "s",
        target=target if pg else None,
        notes=f"wall time of `baton import {what} --commit` (process start included): {phases};"
        f" {counts}" + (f"; target < {target:.0f} s on PostgreSQL" if pg and target else ""),
        extra=extra,
    )
    for phase in ("validate", "commit"):
        p.add(
            f"{base}.{phase}",
            res[f"{phase}_s"],
            "s",
            notes=f"the {phase} phase alone ({rows / res[f'{phase}_s']:,.0f} rows/s)",
        )
    p.add(
        f"{base}.rate",
        rate,
        "rows/s",
        limit=round(copy_rate) if copy_rate else None,
        better="higher",
        notes="rows of the file over the command's wall time"
        + ("; limit = COPY of the same rows (…copy_rate)" if copy_rate else ""),
    )
    if copy_rate:
        p.add(
            f"{base}.copy_ratio",
            rate / copy_rate,
            "ratio",
            better="higher",
            notes="our rows/s ÷ COPY's rows/s (validation writes every row too, so ~0.5 is the "
            "most this design can reach)",
        )
    p.add(
        f"{base}.peak_rss",
        res["peak_rss_mib"],
        "MiB",
        target=RSS_TARGET_MIB if pg else None,
        notes="peak RSS of the `baton import` process (wait4 ru_maxrss from a small launcher)"
        + ("; target < 1 GB" if pg else ""),
    )


def imports(p: Any, employees: int, attendance: int) -> None:
    from django.db import connection

    pg = connection.vendor == "postgresql"
    work = Path(tempfile.mkdtemp(prefix="baton-bench-imports."))
    try:
        org = Org()
        prefix = _free_prefix()
        emp_csv = work / "employees.csv"
        started = time.perf_counter()
        numbers = write_employees(emp_csv, org, prefix, employees)
        _log(
            f"   wrote {emp_csv.name}: {employees:,} rows, {emp_csv.stat().st_size / 2**20:.1f} MiB"
            f" in {time.perf_counter() - started:.1f} s"
        )
        copy_s = None
        if pg:
            resolved = work / "employees.copy"
            cols = _resolved_employees(emp_csv, resolved, org)
            copy_s = copy_limit("org_employee", cols, resolved)
            resolved.unlink()
            p.add(
                f"imports.employees_{_size(employees)}.copy_rate",
                employees / copy_s,
                "rows/s",
                better="higher",
                notes=f"COPY FROM STDIN of the same {employees:,} people, codes resolved to ids "
                f"(no managers, no sealed ID numbers), into a scratch copy of org_employee with "
                f"its indexes, checks and foreign keys, committed: {copy_s:.1f} s",
            )
        base = f"imports.employees_{_size(employees)}"
        _log(f"   baton import employees ({employees:,} new people) --commit")
        res = run_import("employees", emp_csv)
        if res["counts"].get("created") != employees:
            raise SystemExit(f"employees import: {res['counts']}")
        _log(f"     {res['seconds']:.1f} s, peak {res['peak_rss_mib']:.0f} MiB, {res['counts']}")
        _figures(p, f"{base}.create", f"employees ({employees:,} new)", employees, res,
                 EMPLOYEES_TARGET_S, copy_s)  # fmt: skip
        _log("   baton import employees (the same file again) --commit")
        res = run_import("employees", emp_csv)
        if res["counts"].get("unchanged") != employees:
            raise SystemExit(f"employees re-import: {res['counts']}")
        _log(f"     {res['seconds']:.1f} s, peak {res['peak_rss_mib']:.0f} MiB, {res['counts']}")
        _figures(p, f"{base}.unchanged", "employees (the same file again, nothing changed)",
                 employees, res, EMPLOYEES_TARGET_S, copy_s)  # fmt: skip
        if pg:
            _log(f"   a first migration: the same {employees:,} people into an empty installation")
            first_migration(p, emp_csv, employees, work)
        emp_csv.unlink()

        if not attendance:
            return
        att_csv = work / "attendance.csv"
        started = time.perf_counter()
        people, per = write_attendance(att_csv, numbers, attendance)
        _log(
            f"   wrote {att_csv.name}: {attendance:,} rows ({people:,} people × {per} working "
            f"days), {att_csv.stat().st_size / 2**20:.0f} MiB in "
            f"{time.perf_counter() - started:.1f} s"
        )
        base = f"imports.attendance_{_size(attendance)}"
        copy_s = None
        if pg:
            resolved = work / "attendance.copy"
            cols, resolve_s = _resolved_attendance(att_csv, resolved)
            copy_s = copy_limit("org_attendanceday", cols, resolved)
            resolved.unlink()
            p.add(
                f"{base}.copy_rate",
                attendance / copy_s,
                "rows/s",
                better="higher",
                notes=f"COPY FROM STDIN of the same rows, employee numbers resolved to ids, into a "
                f"scratch copy of org_attendanceday (unique (employee, date), FK), committed: "
                f"{copy_s:.1f} s. Producing that COPY text from the CSV in plain Python (csv "
                f"module, a dict lookup, an f-string per row) took {resolve_s:.1f} s "
                f"({attendance / resolve_s:,.0f} rows/s)",
                extra={"python_resolve_rate": round(attendance / resolve_s)},
            )
        _log(f"   baton import attendance ({attendance:,} rows) --commit")
        res = run_import("attendance", att_csv)
        if res["counts"].get("created") != attendance:
            raise SystemExit(f"attendance import: {res['counts']}")
        _log(f"     {res['seconds']:.1f} s, peak {res['peak_rss_mib']:.0f} MiB, {res['counts']}")
        _figures(p, base, f"attendance ({people:,} people × {per} days)", attendance, res,
                 ATTENDANCE_TARGET_S, copy_s)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- profiling aid


def profile(kind: str, path: str, top: int = 25, phase: str = "validate") -> None:
    """cProfile of actions.validate (or, with phase "commit", of actions.commit after an
    untimed validation) over one file (upload untimed), top functions by cumulative and by own
    time, to stderr. The commit is discarded afterwards only if it failed."""
    import cProfile
    import pstats

    import django

    django.setup()
    from baton.access.models import User
    from baton.imports import actions

    admin = User.objects.get(username="admin")
    batch = actions.upload(path, kind=kind, file_name=Path(path).name, acting_user=admin)
    if phase == "commit":
        batch = actions.validate(batch, acting_user=admin)
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    run = actions.commit if phase == "commit" else actions.validate
    batch = run(batch, acting_user=admin)
    prof.disable()
    _log(f"{phase}: {time.perf_counter() - started:.1f} s, {batch.status}, {batch.counts}")
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(top)
    if phase != "commit":
        actions.discard(batch, acting_user=admin)


def main(argv: list[str]) -> None:
    if argv[:1] == ["launch"] and len(argv) == 3:
        print(json.dumps(launch(argv[1], argv[2])))
    elif argv[:1] == ["profile"] and len(argv) in (3, 4, 5):
        top = int(argv[3]) if len(argv) > 3 else 25
        profile(argv[1], argv[2], top, *argv[4:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
