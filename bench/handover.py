"""Handover figures: approving a case whose checklist has 40 items, and the progress board at
the scale dataset (10% of the workforce in open cases, ~30 tasks each)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.figures import percentile

APPROVE_TARGET_MS = 150.0
BOARD_TARGET_MS = 300.0
ITEMS = 40


def _forty_item_position(admin: Any) -> Any:
    """A position whose composed checklist has exactly 40 items: a position-bound template
    inheriting its family's pack, topped up with its own items."""
    from baton.handover import actions
    from baton.handover.templates_logic import compose_checklist
    from baton.org.models import Employee, Position

    position = Position.objects.get(code="ENG-SWE")
    sample = Employee.objects.filter(position=position, status="active").first()
    parent = _pack_for(position)
    template = actions.create_template(
        {"name": "基准：40 项清单", "position_id": position.pk, "parent_id": parent},
        acting_user=admin,
    )
    have = len(compose_checklist(sample, "resignation")[1])
    for n in range(ITEMS - have):
        actions.save_template_item(
            template,
            f"bench-{n}",
            {"title": f"基准事项 {n}", "evidence_kind": "signoff", "due_offset": -(n % 10)},
            acting_user=admin,
        )
    actions.publish_template(template, acting_user=admin)
    assert len(compose_checklist(sample, "resignation")[1]) == ITEMS
    return position


def _pack_for(position: Any) -> int | None:
    from baton.handover.models import ChecklistTemplate

    pack = ChecklistTemplate.objects.filter(position_family=position.family_id).first()
    return pack.pk if pack else None


def approval(p: Any, runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from baton.access.models import User
    from baton.handover import actions
    from baton.handover.models import ExitCase
    from baton.org.models import Employee

    admin = User.objects.get(username="admin")
    position = _forty_item_position(admin)
    busy = ExitCase.objects.values("employee_id")
    people = list(
        Employee.objects.filter(position=position, status="active", manager__isnull=False)
        .exclude(pk__in=busy)
        .order_by("id")[: runs + 3]
    )
    times, queries, tasks = [], [], []
    last_day = dt.date.today() + dt.timedelta(days=40)
    for i, person in enumerate(people):
        case = actions.open_case(
            person,
            acting_user=admin,
            exit_type="resignation",
            last_working_day=last_day,
            submit=True,
        )
        with CaptureQueriesContext(connection) as cq:
            started = time.perf_counter()
            case = actions.approve_case(case, acting_user=admin)
            elapsed = (time.perf_counter() - started) * 1000
        if i < 3:
            continue  # warm-up
        times.append(elapsed)
        queries.append(len(cq.captured_queries))
        tasks.append(case.tasks.count())
    note = (
        f"actions.approve_case on a case whose composed checklist has {ITEMS} items "
        f"(tasks created: {min(tasks)}-{max(tasks)}); {len(times)} cases after 3 warm-up; "
        "in-process, one transaction each, audit entries included"
    )
    target = APPROVE_TARGET_MS if p.db == "postgres" else None
    p.add("handover.approve_40.p50", percentile(times, 50), "ms", notes=note)
    p.add(
        "handover.approve_40.p95",
        percentile(times, 95),
        "ms",
        target=target,
        notes=note + ("; target < 150 ms p95" if target else ""),
    )
    p.add(
        "handover.approve_40.queries",
        max(queries),
        "queries/approval",
        notes=f"SQL statements per approval (varied {min(queries)}-{max(queries)}), "
        "independent of the item count",
    )


BOARD_SCENARIOS = [
    ("all", {}),
    ("overdue", {"due": "overdue"}),
    ("page20", {"page": "20"}),
]


def board(p: Any, warmup: int, n: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from baton.access.models import User
    from baton.handover.models import OPEN_CASE_STATES, ExitCase, HandoverTask

    p.meta["open_cases"] = ExitCase.objects.filter(state__in=OPEN_CASE_STATES).count()
    p.meta["tasks"] = HandoverTask.objects.count()
    for username in ("admin", "hrbp.cloud"):
        client = Client(headers={"host": "127.0.0.1"})
        client.force_login(User.objects.get(username=username))
        for variant, query in BOARD_SCENARIOS:
            times, queries = [], []
            for i in range(warmup + n):
                with CaptureQueriesContext(connection) as cq:
                    started = time.perf_counter()
                    resp = client.get("/handover/cases/", query)
                    elapsed = (time.perf_counter() - started) * 1000
                if resp.status_code != 200:
                    raise SystemExit(f"board {variant}: HTTP {resp.status_code}")
                if i < warmup:
                    continue
                times.append(elapsed)
                queries.append(len(cq.captured_queries))
            note = (
                f"GET /handover/cases/ {query or ''} as {username}; {n} requests; "
                f"{p.meta['open_cases']} open cases, {p.meta['tasks']} tasks"
            )
            target = BOARD_TARGET_MS if p.db == "postgres" else None
            base = f"handover.board.{variant}.{username}"
            p.add(f"{base}.p50", percentile(times, 50), "ms", notes=note)
            p.add(
                f"{base}.p95",
                percentile(times, 95),
                "ms",
                target=target,
                notes=note + ("; target < 300 ms p95 on PostgreSQL" if target else ""),
            )
            p.add(f"{base}.queries", max(queries), "queries/request", notes="SQL statements")
