"""Integration figures: approving a case whose CRM pull brings 500 customers (target < 300 ms
p95: the pull runs after commit, so the approval must not grow with the customers), then the
pull itself (500 customers → 500 business records and 500 handover tasks) against a local CRM
speaking JSON REST, next to the time the same pages take to fetch with a plain HTTP client."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.figures import percentile

TARGET_MS = 300.0
CUSTOMERS = 500


def _fetch_ceiling(url: str, token: str, owner: str) -> float:
    """Seconds one plain client loop takes to read the same customer pages (no Baton)."""
    import httpx

    started = time.perf_counter()
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
    ) as client:
        page = 1
        while True:
            data = client.get(
                "/customers", params={"owner": owner, "page": page, "per_page": 100}
            ).json()
            if not data["has_more"]:
                break
            page += 1
    return time.perf_counter() - started


def approval_with_crm_pull(p: Any, runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from baton.access.models import User
    from baton.handover import actions
    from baton.handover.models import ExitCase
    from baton.integrations.actions import business
    from baton.integrations.models import BusinessItem, DataPull
    from baton.integrations.testing.bizserver import BizServer, connect
    from baton.org.models import Employee

    admin = User.objects.get(username="admin")
    busy = ExitCase.objects.values("employee_id")
    people = list(
        Employee.objects.filter(
            status="active", manager__isnull=False, position__family__code="sales"
        )
        .exclude(pk__in=busy)
        .exclude(email="")
        .order_by("id")[: runs + 3]
    )
    last_day = dt.date.today() + dt.timedelta(days=40)
    with BizServer(page_size=100) as crm:
        system = connect(crm, "crm", name="基准 CRM", pulls_data=True, revokes_access=False)
        for person in people:
            crm.add_user(person.email, email=person.email)
            crm.seed(person.email, customers=CUSTOMERS)
        times, queries, cases = [], [], []
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
            cases.append(case)
            if i < 3:
                continue  # warm-up
            times.append(elapsed)
            queries.append(len(cq.captured_queries))
        assert not crm.calls(prefix="/api/customers"), "the approval called the CRM"
        note = (
            f"actions.approve_case with a CRM whose pull brings {CUSTOMERS} customers "
            f"(plus the demo's IdP/OA/CRM/WeCom systems planned); {len(times)} cases after 3 "
            "warm-up; the pull is queued, it runs after commit"
        )
        target = TARGET_MS if p.db == "postgres" else None
        p.add("integrations.approve_crm500.p50", percentile(times, 50), "ms", notes=note)
        p.add(
            "integrations.approve_crm500.p95",
            percentile(times, 95),
            "ms",
            target=target,
            notes=note + ("; target < 300 ms p95" if target else ""),
        )
        p.add(
            "integrations.approve_crm500.queries",
            max(queries),
            "queries/approval",
            notes="SQL statements per approval, independent of the customer count",
        )
        # The pull of one case, in this process (a worker does the same after commit).
        case = cases[-1]
        pull = DataPull.objects.get(case=case, system=system)
        started = time.perf_counter()
        outcome = business.run_pull(pull.pk)
        pulled_s = time.perf_counter() - started
        made = BusinessItem.objects.filter(case=case, system=system).count()
        assert outcome == "done" and made == CUSTOMERS, (outcome, made)
        ceiling = _fetch_ceiling(system.base_url, crm.token, case.employee.email)
        p.add(
            "integrations.pull_crm500.seconds",
            pulled_s,
            "s",
            limit=ceiling,
            notes=f"{CUSTOMERS} customers (5 pages of 100) → {made} business records and "
            f"{made} handover tasks, audited; the limit is one plain HTTP client reading the "
            f"same pages ({ceiling * 1000:.0f} ms)",
        )
        p.add(
            "integrations.pull_crm500.rate",
            made / pulled_s,
            "records/s",
            better="higher",
            notes="business records (each with its task) written per second by one pull",
        )
        system.active = False  # later benchmarks see only the demo's systems
        system.save(update_fields=["active"])
