"""The reminder sweep: decide, from the database as it is at `now`, which reminders are due, and
claim each one as a delivery row under its unique key.

The sweep only plans. Planning the same period twice inserts nothing new (the keys exist), so
any number of sweeps and workers may run; sending is `baton.notify.delivery`'s job, and it
checks again at send time that the reminder still holds.

Cost: one query for the candidate tasks (open tasks of open cases due up to the furthest rule
threshold), a handful for the people involved, then set-based inserts.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import Role, RoleAssignment, User
from baton.core.workdays import add_working_days, is_working_day
from baton.handover.models import CaseState, ExitCase, HandoverTask, TaskState
from baton.notify.models import (
    Audience,
    Channel,
    Delivery,
    DeliveryKind,
    Family,
    Mode,
    Preference,
    Repeat,
)
from baton.notify.rules import Rule, RuleBook
from baton.org.models import Department, LegalEntity

OPEN_TASK_STATES = (
    TaskState.TODO,
    TaskState.IN_PROGRESS,
    TaskState.SUBMITTED,
    TaskState.REJECTED,
)
ACTIVE_CASE_STATES = (CaseState.APPROVED, CaseState.HANDOVER)
QUEUE_ROLES = {
    "hr": (Role.HRBP,),
    "admin": (Role.HRBP,),
    "it": (Role.IT,),
    "finance": (Role.FINANCE,),
}


@dataclass
class PlanResult:
    tasks_considered: int = 0
    planned: int = 0  # new delivery rows (reminders and escalations)
    digests: int = 0  # new digest rows
    entities_skipped: int = 0  # before the reminder hour or not a working day there
    by_family: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tasks_considered": self.tasks_considered,
            "planned": self.planned,
            "digests": self.digests,
            "entities_skipped": self.entities_skipped,
            "by_family": self.by_family,
        }


@dataclass(frozen=True)
class _Scope:
    user_id: int
    business_unit_id: int | None
    legal_entity_id: int | None
    dept_path: str | None

    def covers(self, bu: int, entity: int, path: str) -> bool:
        if self.business_unit_id is not None:
            return self.business_unit_id == bu
        if self.legal_entity_id is not None:
            return self.legal_entity_id == entity
        if self.dept_path is not None:
            return path.startswith(self.dept_path)
        return True


class People:
    """Who is who, loaded once per sweep: employee → login, role holders with their scopes,
    users' languages, time zones and channel choices."""

    def __init__(self) -> None:
        users = User.objects.filter(is_active=True).values_list("id", "employee_id", "time_zone")
        self.user_of_employee: dict[int, int] = {}
        self.active: set[int] = set()
        self.time_zone: dict[int, str] = {}
        for uid, emp, tz in users:
            self.active.add(uid)
            self.time_zone[uid] = tz
            if emp:
                self.user_of_employee[emp] = uid
        self.dept_path = dict(Department.objects.values_list("id", "path"))
        self.roles: dict[str, list[_Scope]] = defaultdict(list)
        for uid, role, bu, entity, dept in RoleAssignment.objects.values_list(
            "user_id", "role", "business_unit_id", "legal_entity_id", "department_id"
        ):
            if uid in self.active:
                self.roles[role].append(
                    _Scope(uid, bu, entity, self.dept_path.get(dept) if dept else None)
                )
        self.disabled: dict[int, set[str]] = {
            uid: set(off) for uid, off in Preference.objects.values_list("user_id", "disabled")
        }
        self._covering: dict[tuple[str, int], tuple[int, ...]] = {}
        self._sees: dict[tuple[int, int], bool] = {}
        self._users: dict[int, User] = {}

    def may_know(self, user_id: int, case: _CaseRow) -> bool:
        """Whether the user may know of a hidden pre-resignation handover: the authorization
        rule itself (`authz.disclosed_q` through the case's visibility), asked only for hidden
        cases — a few — so the sweep's cost does not change for the others."""
        key = (user_id, case.id)
        if key not in self._sees:
            user = self._users.get(user_id)
            if user is None:
                user = self._users[user_id] = User.objects.get(pk=user_id)
            self._sees[key] = authz.visible_to(
                user, Perm.CASE_VIEW, ExitCase.objects.filter(pk=case.id)
            ).exists()
        return self._sees[key]

    def covering(self, roles: Iterable[str], case: _CaseRow) -> tuple[int, ...]:
        """Users holding one of `roles` over the case's leaver (cached per case)."""
        roles = tuple(roles)
        key = ("|".join(roles), case.id)
        found = self._covering.get(key)
        if found is None:
            path = self.dept_path.get(case.department_id, "")
            found = tuple(
                sorted(
                    {
                        s.user_id
                        for role in roles
                        for s in self.roles.get(role, ())
                        if s.covers(case.business_unit_id, case.legal_entity_id, path)
                    }
                )
            )
            self._covering[key] = found
        return found


@dataclass(frozen=True)
class _CaseRow:
    id: int
    employee_id: int
    manager_id: int | None
    business_unit_id: int
    legal_entity_id: int
    department_id: int
    # A confidential pre-resignation handover not yet revealed: nothing about it reaches
    # anyone who may not approve the exit (nor the leaver) until HR reveals it.
    hidden: bool


class Channels:
    """The enabled channel for (family, business unit): the unit's own, else the group's."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, int | None], Channel] = {
            (c.family, c.business_unit_id): c for c in Channel.objects.filter(enabled=True)
        }

    def get(self, family: str, business_unit_id: int | None) -> Channel | None:
        return self.by_key.get((family, business_unit_id)) or self.by_key.get((family, None))


def recipients(
    audience: str, task: tuple[Any, ...], case: _CaseRow, people: People
) -> tuple[int, ...]:
    """The users a rule's audience means for one task."""
    (_id, _key, _tpl, _due, state, owner, owner_user, owner_queue) = task[:8]
    (approver, approver_user, approver_queue, receiver) = task[8:12]
    found: list[int] = []
    if audience == Audience.OWNER:
        # Once submitted, the person who must act is the approver.
        if state == TaskState.SUBMITTED:
            owner, owner_user, owner_queue = approver, approver_user, approver_queue
        if owner_user:
            found.append(owner_user)
        elif owner and owner in people.user_of_employee:
            found.append(people.user_of_employee[owner])
        elif owner_queue:
            found.extend(people.covering(QUEUE_ROLES.get(owner_queue, ()), case))
    elif audience == Audience.MANAGER:
        uid = people.user_of_employee.get(case.manager_id or 0)
        if uid:
            found.append(uid)
        else:
            found.extend(people.covering((Role.DEPT_HEAD,), case))
    elif audience == Audience.HRBP:
        found.extend(
            people.covering((Role.HRBP,), case) or people.covering((Role.GROUP_ADMIN,), case)
        )
    elif audience == Audience.RECEIVER:
        uid = people.user_of_employee.get(receiver or 0)
        if uid:
            found.append(uid)
    elif audience == Audience.LEAVER:
        uid = people.user_of_employee.get(case.employee_id)
        if uid:
            found.append(uid)
    return tuple(
        u for u in found if u in people.active and (not case.hidden or people.may_know(u, case))
    )


def _quiet_until(channel: Channel, now: dt.datetime, time_zone: str) -> dt.datetime | None:
    """The end of the channel's quiet hours if `now` falls inside them for the recipient."""
    try:
        tz = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(tz)
    start, end = channel.quiet_start, channel.quiet_end
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=tz)


def _entity_days(now: dt.datetime) -> dict[tuple[str, dt.date], list[int]]:
    """Legal entities grouped by (jurisdiction, local date), for those where it is a working
    day and the reminder hour has come."""
    groups: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
    for pk, jurisdiction, tz_name in LegalEntity.objects.values_list(
        "id", "jurisdiction", "city__time_zone"
    ):
        try:
            tz = zoneinfo.ZoneInfo(tz_name or settings.TIME_ZONE)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        local = now.astimezone(tz)
        if local.hour < settings.BATON_REMINDER_HOUR:
            groups[("", local.date())].append(pk)  # skipped
            continue
        if not is_working_day(local.date(), jurisdiction):
            groups[("", local.date())].append(pk)
            continue
        groups[(jurisdiction, local.date())].append(pk)
    return groups


TASK_FIELDS = (
    "id",
    "key",
    "template_id",
    "due_date",
    "state",
    "owner_id",
    "owner_user_id",
    "owner_queue",
    "approver_id",
    "approver_user_id",
    "approver_queue",
    "receiver_id",
    "case_id",
    "case__employee_id",
    "case__employee__manager_id",
    "case__business_unit_id",
    "case__legal_entity_id",
    "case__department_id",
    "case__confidential",
    "case__revealed_at",
)


def plan(now: dt.datetime, *, book: RuleBook | None = None) -> PlanResult:
    """Plan every reminder due at `now`. Safe to run any number of times."""
    book = book or RuleBook.load()
    result = PlanResult()
    rules = book.all()
    if not rules:
        return result
    people = People()
    channels = Channels()
    rows: list[tuple[Any, ...]] = []
    digest_rows: list[tuple[Any, ...]] = []
    for (jurisdiction, today), entity_ids in _entity_days(now).items():
        if not jurisdiction:
            result.entities_skipped += len(entity_ids)
            continue
        thresholds = {r.offset: add_working_days(today, -r.offset, jurisdiction) for r in rules}
        horizon = max(thresholds.values())
        candidates = (
            HandoverTask.objects.filter(
                case__legal_entity_id__in=entity_ids,
                case__state__in=ACTIVE_CASE_STATES,
                state__in=OPEN_TASK_STATES,
                due_date__lte=horizon,
            )
            .order_by()
            .values_list(*TASK_FIELDS)
        )
        cases: dict[int, _CaseRow] = {}
        for task in candidates.iterator(chunk_size=20000):
            result.tasks_considered += 1
            case_id = task[12]
            case = cases.get(case_id)
            if case is None:
                case = cases[case_id] = _CaseRow(
                    case_id,
                    task[13],
                    task[14],
                    task[15],
                    task[16],
                    task[17],
                    bool(task[18]) and task[19] is None,
                )
            _plan_task(
                task, case, today, now, thresholds, book, people, channels, rows, digest_rows
            )
    result.planned, result.by_family = _insert(rows)
    result.digests, digest_families = _insert(digest_rows)
    for fam, n in digest_families.items():
        result.by_family[fam] = result.by_family.get(fam, 0) + n
    return result


def _plan_task(
    task: tuple[Any, ...],
    case: _CaseRow,
    today: dt.date,
    now: dt.datetime,
    thresholds: dict[int, dt.date],
    book: RuleBook,
    people: People,
    channels: Channels,
    rows: list[tuple[Any, ...]],
    digest_rows: list[tuple[Any, ...]],
) -> None:
    task_id, key, template_id, due = task[0], task[1], task[2], task[3]
    rule: Rule
    for rule in book.for_task(template_id, key):
        if due > thresholds[rule.offset]:
            continue
        if rule.offset <= 0 and due < today:
            continue  # before-due reminders stop once the item is overdue
        period = f"d{due.isoformat()}" if rule.repeat == Repeat.ONCE else today.isoformat()
        kind = DeliveryKind.ESCALATION if rule.escalation else DeliveryKind.REMINDER
        for uid in recipients(rule.audience, task, case, people):
            off = people.disabled.get(uid, set())
            for family in rule.channels:
                channel = None
                if family != Family.INAPP:
                    channel = channels.get(family, case.business_unit_id)
                    if channel is None or (family in off and not channel.mandatory):
                        continue
                not_before = now
                if channel is not None and family in (Family.SMS, Family.IM):
                    not_before = _quiet_until(channel, now, people.time_zone[uid]) or now
                if rule.mode == Mode.DIGEST:
                    digest_rows.append(
                        (
                            f"digest:u{uid}:{today.isoformat()}:{family}",
                            DeliveryKind.DIGEST,
                            family,
                            None,
                            None,
                            None,
                            uid,
                            today.isoformat(),
                            None,
                            not_before,
                            channel.pk if channel else None,
                        )
                    )
                    continue
                rows.append(
                    (
                        f"r{rule.id}:t{task_id}:u{uid}:{period}:{family}",
                        kind,
                        family,
                        rule.id,
                        case.id,
                        task_id,
                        uid,
                        period,
                        due,
                        not_before,
                        channel.pk if channel else None,
                    )
                )


COLUMNS = (
    "key",
    "kind",
    "family",
    "rule_id",
    "case_id",
    "task_id",
    "recipient_id",
    "period",
    "due_date",
    "not_before",
)


def _insert(rows: list[tuple[Any, ...]]) -> tuple[int, dict[str, int]]:
    """Insert new deliveries, skipping keys that exist (the claim). Returns how many were new,
    by family. PostgreSQL: COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT
    DO NOTHING; SQLite: executemany of INSERT … ON CONFLICT DO NOTHING."""
    if not rows:
        return 0, {}
    # Digest rows repeat within one sweep (one per task): keep the first.
    unique: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        unique.setdefault(row[0], row)
    values = list(unique.values())
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _insert_copy(values)
        return _insert_rows(values)


_BLANK = ("claimed_by", "address", "subject", "provider_message_id", "response", "error")
_PLAN_COLUMNS = (*COLUMNS, "channel_id", "idempotency_key")


def _insert_copy(values: list[tuple[Any, ...]]) -> tuple[int, dict[str, int]]:
    table = Delivery._meta.db_table
    cols = ", ".join(_PLAN_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE notify_plan (key varchar(160), kind varchar(12), "
            "family varchar(8), rule_id bigint, case_id bigint, task_id bigint, "
            "recipient_id bigint, period varchar(24), due_date date, not_before timestamptz, "
            "channel_id bigint) ON COMMIT DROP"
        )
        copied = ", ".join((*COLUMNS, "channel_id"))
        with cursor.copy(f"COPY notify_plan ({copied}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        blanks = ", ".join(_BLANK)
        cursor.execute(
            f"WITH new AS (INSERT INTO {table} ({cols}, status, attempts, created_at, {blanks}) "  # noqa: S608 — fixed names
            f"SELECT {copied}, replace(gen_random_uuid()::text, '-', ''), 'pending', 0, now(), "
            f"{', '.join(["''"] * len(_BLANK))} "
            "FROM notify_plan ON CONFLICT (key) DO NOTHING RETURNING family) "
            "SELECT family, count(*) FROM new GROUP BY family"
        )
        families = {family: int(n) for family, n in cursor.fetchall()}
        cursor.execute("DROP TABLE notify_plan")
    return sum(families.values()), families


def _insert_rows(values: list[tuple[Any, ...]]) -> tuple[int, dict[str, int]]:
    table = Delivery._meta.db_table
    cols = (*_PLAN_COLUMNS, "status", "attempts", "created_at", *_BLANK)
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(dt.datetime.now(dt.UTC))
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)}) "  # noqa: S608 — fixed names
        f"VALUES ({', '.join(['%s'] * len(cols))}) ON CONFLICT (key) DO NOTHING"
    )
    by_family: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in values:
        # Raw parameters go to the driver as they are: dates and times in its format.
        by_family[row[2]].append(
            (
                *row[:8],
                ops.adapt_datefield_value(row[8]),
                ops.adapt_datetimefield_value(row[9]),
                row[10],
                secrets.token_hex(16),
                "pending",
                0,
                stamp,
                *([""] * len(_BLANK)),
            )
        )
    families: dict[str, int] = {}
    with connection.cursor() as cursor:
        for family, params in by_family.items():
            cursor.executemany(sql, params)
            if cursor.rowcount:
                families[family] = cursor.rowcount
    return sum(families.values()), families
