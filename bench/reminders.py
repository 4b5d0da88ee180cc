"""Reminder figures: the sweep over 300,000 open handover tasks (plan every reminder due, claim
each under its unique key), and the same sweep again (it must plan nothing: nothing is sent
twice). Sending is the workers' job and is not part of the sweep.

The scale dataset's leavers and their managers get logins here (in a real deployment every
employee signs in through SSO), and the group gets an SMS and an email channel, so every
default rule has recipients and channels.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
import zoneinfo
from typing import Any

SWEEP_TARGET_S = 10.0
OPEN_TASKS = 300_000


def _top_up_open_tasks(target: int) -> int:
    """Add open items to the bulk cases until `target` tasks are open (the bulk demo leaves
    about two thirds of ~300,000 open)."""
    import random

    from baton.core.workdays import add_working_days
    from baton.handover.models import ExitCase, HandoverTask, TaskState
    from baton.notify.planner import ACTIVE_CASE_STATES, OPEN_TASK_STATES

    open_now = HandoverTask.objects.filter(
        state__in=OPEN_TASK_STATES, case__state__in=ACTIVE_CASE_STATES
    ).count()
    missing = target - open_now
    if missing <= 0:
        return open_now
    rng = random.Random(11)
    cases = list(
        ExitCase.objects.filter(state__in=ACTIVE_CASE_STATES)
        .select_related("employee")
        .order_by("id")
    )
    rows: list[HandoverTask] = []
    n = 0
    while len(rows) < missing:
        case = cases[n % len(cases)]
        offset = -rng.randrange(0, 8)
        rows.append(
            HandoverTask(
                case=case,
                key=f"bench-open-{n}",
                title=f"基准在办事项 {n}",
                category="business",
                owner_id=case.employee_id,
                receiver_id=case.employee.manager_id,
                approver_id=case.employee.manager_id,
                due_date=add_working_days(case.last_working_day, offset, "CN"),
                due_offset=offset,
                evidence_kind="signoff",
                state=TaskState.TODO,
                sort=100 + n // len(cases),
            )
        )
        n += 1
    HandoverTask.objects.bulk_create(rows, batch_size=5000)
    return open_now + len(rows)


def _logins_and_channels() -> int:
    """Logins for everyone who takes part in an open case; an SMS and an email channel."""
    from baton.access.models import Role, RoleAssignment, User
    from baton.handover.models import ExitCase
    from baton.notify.models import Channel
    from baton.notify.planner import ACTIVE_CASE_STATES
    from baton.notify.secrets import write_secrets

    people = set()
    for emp, manager in ExitCase.objects.filter(state__in=ACTIVE_CASE_STATES).values_list(
        "employee_id", "employee__manager_id"
    ):
        people.add(emp)
        if manager:
            people.add(manager)
    have = set(User.objects.exclude(employee=None).values_list("employee_id", flat=True))
    new = [
        User(
            username=f"bench-{emp}",
            display_name=f"bench {emp}",
            employee_id=emp,
            email=f"bench-{emp}@huaxia.example",
            password="!",  # unusable: SSO
        )
        for emp in sorted(people - have)
    ]
    User.objects.bulk_create(new, batch_size=5000)
    made = {u.employee_id: u.pk for u in User.objects.filter(username__startswith="bench-")}
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user_id=uid, role=Role.EMPLOYEE) for uid in made.values()],
        batch_size=5000,
    )
    for family, kind, settings in (
        (
            "sms",
            "sms_aliyun",
            {
                "endpoint": "http://127.0.0.1:9/",
                "access_key_id": "bench",
                "sign_name": "基准",
                "template_code": "SMS_1",
            },
        ),
        ("email", "email", {"host": "127.0.0.1", "port": 9, "from_email": "hr@hx.example"}),
    ):
        if not Channel.objects.filter(family=family, business_unit=None).exists():
            c = Channel.objects.create(
                name=f"bench {kind}", kind=kind, family=family, settings=settings
            )
            write_secrets(c, {"access_key_secret": "bench"} if family == "sms" else {})
            c.save(update_fields=["secrets_blob", "secrets_key_id"])
    return len(new)


def sweep(p: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from baton.core.workdays import add_working_days, is_working_day
    from baton.notify import planner
    from baton.notify.models import Delivery
    from baton.notify.rules import RuleBook

    open_tasks = _top_up_open_tasks(OPEN_TASKS)
    logins = _logins_and_channels()
    p.meta["reminders"] = {"open_tasks": open_tasks, "logins_added": logins}
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    today = dt.datetime.now(tz).date()
    if not is_working_day(today):
        today = add_working_days(today, 1)
    now = dt.datetime.combine(today, dt.time(10), tzinfo=tz)
    book = RuleBook.load()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as q:
        first = planner.plan(now, book=book)
    first_s = time.perf_counter() - started
    # Peak resident size of this process (KiB on Linux); the growth is the sweep's.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    grown = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    started = time.perf_counter()
    second = planner.plan(now, book=RuleBook.load())
    second_s = time.perf_counter() - started
    rows = Delivery.objects.count()
    note = (
        f"{first.tasks_considered:,} candidate tasks of {open_tasks:,} open; planned "
        f"{first.planned:,} deliveries + {first.digests:,} digests ({first.by_family}); "
        f"{len(q)} SQL statements; process peak RSS {peak / 2**20:.0f} MiB "
        f"(+{grown / 2**20:.0f} MiB during the sweep)"
    )
    p.add(
        "reminders.sweep_300k.seconds",
        first_s,
        "s",
        target=SWEEP_TARGET_S if p.db == "postgres" else None,
        notes=note + ("; target < 10 s on PostgreSQL" if p.db == "postgres" else ""),
    )
    p.add(
        "reminders.sweep_300k.rows_per_s",
        (first.planned + first.digests) / first_s if first_s else 0.0,
        "deliveries/s",
        better="higher",
        notes="new delivery rows claimed per second of sweep",
    )
    p.add(
        "reminders.sweep_again.seconds",
        second_s,
        "s",
        notes=f"the same moment again: {second.planned + second.digests} new rows "
        f"(must be 0: nothing is sent twice); {rows:,} delivery rows in the table",
    )
    if second.planned or second.digests:
        raise SystemExit("the second sweep planned deliveries again: duplicates")
