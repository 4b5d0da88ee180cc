"""One benchmark pass against one database (the one DATABASE_URL names):

    python -m bench.run --db sqlite|postgres --out FILE.json

1. builds the scale dataset: `baton migrate`, then `baton demo --employees N` (timed);
2. times the employee list (HTML /people/ and API /api/org/employees: first page, a search,
   a deep page) as the group admin and as a scoped HRBP, through Django's test client;
3. fills the audit trail to 1,000,000 chained entries and times `trail.verify()` against the
   speed at which the database can merely stream the same rows;
4. imports 100,000 new employees and 5,000,000 attendance days with `baton import`
   (bench/imports.py).

BENCH_ONLY=imports (a comma-separated list of PASSES) runs only those passes after the build.

scripts/run-bench.sh runs one pass per database, each in a process of its own, then
`python -m bench.report` merges them into bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import django

from bench.figures import Figure, percentile

ROOT = Path(__file__).resolve().parent.parent
# The `baton` command, run as `python -m baton.manage` from the tree under test (the same entry
# point as the console script, but importing this checkout even where the venv's editable
# install points at another one).
BATON = [sys.executable, "-m", "baton.manage"]
LIST_TARGET_MS = 150.0  # list p95 at 100k people, on PostgreSQL
VERIFY_TARGET = 200_000.0  # entries/s
USERS = ("admin", "hrbp.cloud")
# The passes after the build, in order (BENCH_ONLY selects some of them).
PASSES = ["lists", "handover", "integrations", "reminders", "webhooks", "audit", "imports"]
# (surface, variant, path, query)
SCENARIOS: list[tuple[str, str, str, dict[str, str]]] = [
    ("people", "list", "/people/", {}),
    ("people", "search", "/people/", {"q": "王"}),
    ("people", "deep", "/people/", {"page": "500"}),
    ("api", "list", "/api/org/employees", {}),
    ("api", "search", "/api/org/employees", {"q": "王"}),
    ("api", "deep", "/api/org/employees", {"offset": "25000"}),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Pass:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.db = args.db
        self.figures: list[Figure] = []
        self.meta: dict[str, Any] = {"database": self.db}

    def add(self, name: str, value: float, unit: str, **kw: Any) -> Figure:
        fig = Figure(name=name, value=round(value, 3), unit=unit, database=self.db, **kw)
        self.figures.append(fig)
        return fig

    # ------------------------------------------------------------------ dataset

    def baton(self, *argv: str) -> float:
        """Run a `baton` command, its output to our stderr; return its wall time."""
        started = time.perf_counter()
        subprocess.run([*BATON, *argv], check=True, stdout=sys.stderr, cwd=ROOT)  # noqa: S603
        return time.perf_counter() - started

    def build(self) -> None:
        n = self.args.employees
        log(f"== [{self.db}] baton migrate")
        migrate_s = self.baton("migrate", "--no-input", "-v", "0")
        log(f"== [{self.db}] baton demo --employees {n}")
        demo_s = self.baton("demo", "--employees", str(n))
        self.add(
            f"build.demo_{n // 1000}k",
            demo_s,
            "s",
            notes=f"wall time of `baton demo --employees {n}` into a fresh, migrated database "
            f"(process start included); `baton migrate` took {migrate_s:.1f} s",
        )
        from django.db import connection

        from baton.org.models import Employee

        if self.db == "postgres":
            # What autovacuum would have done by the time anyone reads the data.
            with connection.cursor() as cur:
                cur.execute("ANALYZE")
        self.meta["employees"] = Employee.objects.count()
        # The compliance showcase adds a few people (one per overseas entity) on top of n.
        if not n <= self.meta["employees"] <= n + 20:
            raise SystemExit(f"demo built {self.meta['employees']} employees, not {n}")

    # ------------------------------------------------------------------ lists

    def lists(self) -> None:
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from baton.access.models import User

        warmup, n = self.args.warmup, self.args.requests
        for username in USERS:
            client = Client(headers={"host": "127.0.0.1"})
            client.force_login(User.objects.get(username=username))
            for surface, variant, path, query in SCENARIOS:
                if variant not in self.args.variants.split(","):
                    continue
                times, sql_ms, queries, size = [], [], [], 0
                for i in range(warmup + n):
                    with CaptureQueriesContext(connection) as cq:
                        started = time.perf_counter()
                        resp = client.get(path, query)
                        elapsed = (time.perf_counter() - started) * 1000
                    if i == 0:
                        self.check(resp, surface, variant, query)
                    if i < warmup:
                        continue
                    times.append(elapsed)
                    queries.append(len(cq.captured_queries))
                    sql_ms.append(sum(float(q["time"]) * 1000 for q in cq.captured_queries))
                    size = len(resp.content)
                self.list_figures(username, surface, variant, path, query, times, sql_ms, queries)
                log(
                    f"   {username:<11} {surface:<6} {variant:<6} p50 {percentile(times, 50):7.1f}"
                    f" ms  p95 {percentile(times, 95):7.1f} ms  {max(queries)} queries"
                    f"  ({size} B)"
                )

    def check(self, resp: Any, surface: str, variant: str, query: dict[str, str]) -> None:
        """The first response of a scenario must be a real, full answer."""
        where = f"{surface}/{variant}"
        if resp.status_code != 200:
            raise SystemExit(f"{where}: HTTP {resp.status_code}")
        if surface == "api":
            body = resp.json()
            items, count = body["items"], body["count"]
            shown = len(items)
            if variant == "search" and not all(e["name"].startswith(query["q"]) for e in items):
                raise SystemExit(f"{where}: an item does not match the search")
        else:
            html = resp.content.decode()
            shown = html.count('<tr><td class="mono">')
            count = 50 if variant != "search" else shown
            if variant == "deep" and "page=499" not in html:
                raise SystemExit(f"{where}: not page {query['page']}")
        if shown == 0 or shown != min(50, count):
            raise SystemExit(f"{where}: {shown} rows shown of {count}")

    def list_figures(
        self,
        username: str,
        surface: str,
        variant: str,
        path: str,
        query: dict[str, str],
        times: list[float],
        sql_ms: list[float],
        queries: list[int],
    ) -> None:
        url = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        base = f"list.{surface}.{variant}.{username}"
        sql50 = percentile(sql_ms, 50)
        common = (
            f"GET {url} as {username}; {len(times)} requests after {self.args.warmup} warm-up; "
            f"SQL time p50 {sql50:.1f} ms"
        )
        target = LIST_TARGET_MS if self.db == "postgres" else None
        self.add(f"{base}.p50", percentile(times, 50), "ms", notes=common)
        self.add(
            f"{base}.p95",
            percentile(times, 95),
            "ms",
            target=target,
            notes=common + ("; target: list p95 < 150 ms at 100k on PostgreSQL" if target else ""),
            extra={"sql_ms_p50": round(sql50, 3), "sql_ms_p95": round(percentile(sql_ms, 95), 3)},
        )
        lo, hi = min(queries), max(queries)
        self.add(
            f"{base}.queries",
            hi,
            "queries/request",
            notes="SQL statements per request (CaptureQueriesContext)"
            + ("" if lo == hi else f"; varied {lo}-{hi}"),
        )

    # ------------------------------------------------------------------ audit

    def probe(self, name: str) -> dict[str, Any]:
        out = subprocess.run(  # noqa: S603 — our own fixed argv
            [sys.executable, "-m", "bench.audit_probe", name],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        ).stdout
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    def verify_command(self) -> tuple[float, float]:
        """`baton audit verify` as a user runs it: wall time and peak RSS."""
        res = self.probe("command")
        log("   " + res["output"])
        if res["returncode"] != 0:
            raise SystemExit(f"baton audit verify failed ({res['returncode']})")
        if res["peak_rss_mib"] <= res["own_peak_rss_mib"] * 1.05:
            # Then ru_maxrss may only be the launcher's size: say so rather than guess.
            log("   (the verify command's peak RSS is no larger than its launcher's)")
        return float(res["seconds"]), float(res["peak_rss_mib"])

    def audit(self) -> None:
        from django.db import connection

        from bench import audit_data

        total = self.args.audit_entries
        log(f"== [{self.db}] audit trail: filling to {total:,} entries")
        done = audit_data.fill(total, log=log)
        total = max(total, done["existing"])  # a small run may start above its target
        connection.close()
        self.add(
            "audit.generate",
            done["seconds"],
            "s",
            notes=f"set-up, not a product path: {done['generated']:,} chained entries after "
            f"the demo's {done['existing']}, computed in Python and written with "
            + ("COPY" if self.db == "postgres" else "executemany")
            + f"; then {'VACUUM ANALYZE' if self.db == 'postgres' else 'WAL checkpoint'}"
            f" {done['settle_seconds']:.1f} s",
        )

        log(f"== [{self.db}] audit trail: probes")
        stream = self.probe("stream")  # also warms the OS page cache for what follows
        if stream["rows"] != total:
            raise SystemExit(f"streamed {stream['rows']} rows, expected {total}")
        stream_rate = stream["rows"] / stream["seconds"]
        # The limit: the fastest plain read of the same rows into Python tuples (on PostgreSQL
        # the faster of psycopg's text and binary cursors).
        limit_rate, limit_name = stream_rate, "audit.read.stream_rate"
        if "binary_seconds" in stream and stream["rows"] / stream["binary_seconds"] > limit_rate:
            limit_rate = stream["rows"] / stream["binary_seconds"]
            limit_name = "audit.read.stream_rate_binary"
        orm = self.probe("orm")
        hashing = self.probe("hash")
        ver = self.probe("verify")
        if not ver["ok"] or ver["checked"] != total:
            raise SystemExit(f"verify failed: {ver}")
        rate = ver["checked"] / ver["seconds"]
        self.add(
            "audit.verify.rate",
            rate,
            "entries/s",
            target=VERIFY_TARGET,
            limit=round(limit_rate),
            better="higher",
            notes=f"trail.verify() over {ver['checked']:,} entries in {ver['seconds']:.2f} s; "
            f"limit = {limit_name} (the same rows read by one plain query, no ORM, no hashing)",
        )
        self.add(
            "audit.verify.peak_rss_in_process",
            ver["peak_rss_mib"],
            "MiB",
            notes=f"peak RSS (VmHWM) of a process that only set up Django "
            f"({ver['baseline_rss_mib']:.0f} MiB before) and ran trail.verify()",
        )
        cmd_s, cmd_rss = self.verify_command()
        self.add(
            "audit.verify.command",
            cmd_s,
            "s",
            notes=f"wall time of `baton audit verify` (process start included), "
            f"{total / cmd_s:,.0f} entries/s end to end",
        )
        self.add(
            "audit.verify.peak_rss",
            cmd_rss,
            "MiB",
            notes="peak RSS of the `baton audit verify` process (wait4 ru_maxrss, launched from "
            "a small process so that the figure is the command's own)",
        )
        self.add(
            "audit.read.orm_rate",
            orm["rows"] / orm["seconds"],
            "rows/s",
            limit=round(limit_rate),
            better="higher",
            notes="verify's read path alone (trail._rows: keyset batches of 20,000 through "
            "values_list), no hashing",
        )
        self.add(
            "audit.hash.cpu_rate",
            hashing["rows"] / hashing["seconds"],
            "entries/s",
            better="higher",
            notes=f"verify's per-entry hashing alone (payload SHA-256 + chain_hash) on "
            f"{hashing['rows']:,} rows already in memory: the CPU ceiling of the current code",
        )
        reader = (
            "psycopg's cursor"
            if self.db == "postgres"
            else "a bare sqlite3 connection (no type converters)"
        )
        self.add(
            "audit.read.stream_rate",
            stream_rate,
            "rows/s",
            better="higher",
            notes=f"verify's columns in id order, one plain query read with fetchmany(20000) "
            f"from {reader}, best of 2",
        )
        if "binary_seconds" in stream:
            self.add(
                "audit.read.stream_rate_binary",
                stream["rows"] / stream["binary_seconds"],
                "rows/s",
                better="higher",
                notes="the same query through a psycopg cursor with binary results "
                "(Django's default is text)",
            )
            self.add(
                "audit.read.copy_out_rate",
                stream["rows"] / stream["copy_seconds"],
                "rows/s",
                better="higher",
                notes="COPY (the same query) TO STDOUT, blocks read but not parsed into rows: "
                "what the server and the socket can deliver",
            )

    # ------------------------------------------------------------------ run

    def describe(self) -> None:
        from django.db import connection

        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("SHOW server_version")
                self.meta["server_version"] = cur.fetchone()[0]
                for setting in ("shared_buffers", "work_mem", "lc_collate"):
                    cur.execute(f"SHOW {setting}")
                    self.meta[setting] = cur.fetchone()[0]
            else:
                cur.execute("SELECT sqlite_version()")
                self.meta["server_version"] = cur.fetchone()[0]
        self.meta["vendor"] = connection.vendor

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.meta["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
        django.setup()
        from django.db import connection

        expected = {"sqlite": "sqlite", "postgres": "postgresql"}[self.db]
        if connection.vendor != expected:
            raise SystemExit(f"--db {self.db} but DATABASE_URL is {connection.vendor}")
        if not self.args.skip_build:
            self.build()
        self.describe()
        # BENCH_ONLY=imports,audit (for example) runs only those passes after the build.
        only = {x for x in os.environ.get("BENCH_ONLY", "").replace(" ", ",").split(",") if x}
        unknown = only - set(PASSES)
        if unknown:
            raise SystemExit(f"BENCH_ONLY: unknown passes {sorted(unknown)}; known: {PASSES}")
        if only:
            self.meta["only"] = sorted(only)

        def wanted(name: str) -> bool:
            return not only or name in only

        if wanted("lists"):
            log(f"== [{self.db}] employee lists ({self.args.requests} requests each)")
            self.lists()
            connection.close()
        if wanted("handover"):
            log(f"== [{self.db}] handover: approving 40-item cases, the progress board")
            from bench import handover

            handover.approval(self, runs=max(10, self.args.requests // 2))
            handover.board(self, self.args.warmup, self.args.requests)
            connection.close()
        if wanted("integrations"):
            log(f"== [{self.db}] integrations: approving with a 500-customer CRM pull")
            from bench import integrations

            integrations.approval_with_crm_pull(self, runs=max(10, self.args.requests // 2))
            connection.close()
        if wanted("reminders"):
            log(f"== [{self.db}] reminders: the sweep over 300,000 open tasks")
            from bench import reminders

            reminders.sweep(self)
            connection.close()
        if wanted("webhooks"):
            log(f"== [{self.db}] webhooks: outbox delivery with 2 workers")
            from bench import webhooks

            webhooks.outbox(self)
            connection.close()
        if wanted("audit") and self.args.audit_entries:
            self.audit()
            connection.close()
        if wanted("imports") and self.args.import_employees:
            # Last: it adds people and millions of attendance rows no other pass expects.
            from bench import imports

            att = self.args.import_attendance if self.db == "postgres" else 0
            log(
                f"== [{self.db}] imports: {self.args.import_employees:,} employees (new, then "
                f"unchanged)" + (f", {att:,} attendance days" if att else "")
            )
            imports.imports(self, self.args.import_employees, att)
            connection.close()
        self.meta["seconds"] = round(time.perf_counter() - started, 1)
        # Other work on the machine skews every figure: a load well above the pass's own ~1-2
        # (Python + the database) means the numbers are pessimistic.
        self.meta["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        self.meta["python"] = platform.python_version()
        self.meta["django"] = django.get_version()
        return {"meta": self.meta, "figures": [f.as_dict() for f in self.figures]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    p.add_argument("--out", required=True, help="where to write this pass's JSON")
    p.add_argument("--employees", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--audit-entries", type=int, default=1_000_000)
    p.add_argument(
        "--variants",
        default="list,search,deep",
        help="which list scenarios to run (deep pages need ~65,000 employees)",
    )
    p.add_argument(
        "--import-employees",
        type=int,
        default=int(os.environ.get("BENCH_IMPORT_EMPLOYEES", 100_000)),
        help="new employees imported (0: no import pass)",
    )
    p.add_argument(
        "--import-attendance",
        type=int,
        default=int(os.environ.get("BENCH_IMPORT_ATTENDANCE", 5_000_000)),
        help="attendance days imported for them (PostgreSQL only)",
    )
    p.add_argument("--skip-build", action="store_true", help="reuse an already built database")
    args = p.parse_args()
    if args.requests < 1 or args.warmup < 1:
        p.error("--requests and --warmup must be at least 1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton.settings")
    result = Pass(args).run()
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
