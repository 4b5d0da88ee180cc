"""Customer handover (客户交接): HR or the leaver's manager gives each of the leaver's customers
a new owner — the receiver, or spread over a team in turn or by current load — the change is
written back to the system the customers live in (a CRM through its manifest, WeCom through
离职继承), and each customer gets a letter naming the new contact with a one-time link to
confirm it, which answers the customer's handover task.

- `reassign_customers` is the action: one transaction, the case's customers locked, owners
  chosen and checked, the customers' handover tasks given the new owner as receiver, audited;
  after commit a background task writes back and sends the letters.
- `write_back` (worker, safe to run twice): claims the pending customers, calls each system's
  connector once per system, records per customer what the system answered.
- the letters (`actions/letters.py`): per customer with an email address and no letter yet (or on an
  explicit resend), a confirmation link and a letter through the business unit's email
  channel.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import User
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import Conflict, InvalidInput
from baton.handover.models import DONE_TASK_STATES, CaseState, ExitCase, HandoverTask
from baton.integrations import customers, queue
from baton.integrations.actions.letters import send_letters
from baton.integrations.calls import CallLog
from baton.integrations.connectors import for_system
from baton.integrations.connectors.base import ConnectorError, Leaver, Reassignment
from baton.integrations.connectors.wecom import TransferStatus, WecomConnector
from baton.integrations.models import (
    BusinessItem,
    BusinessKind,
    ConnectedSystem,
    SystemKind,
    WriteBackState,
)
from baton.integrations.rules import WORK_CASE_STATES, require_handler
from baton.integrations.selectors import lock_rows
from baton.org.models import Employee

logger = logging.getLogger(__name__)

STRATEGIES = ("receiver", "round_robin", "by_load")
# A write-back left 'running' this long (its worker died) is claimed again.
STALE_RUNNING = dt.timedelta(minutes=10)
# How long after the transfer WeCom's outcome is read again (the customer has 24 hours).
TRANSFER_CHECK_AFTER = dt.timedelta(hours=25)


# ---------------------------------------------------------------- reassigning


@dataclass
class ReassignResult:
    """What a reassignment did: customers given a new owner (item id → employee id) and those
    that already had the chosen owner."""

    moved: dict[int, int] = field(default_factory=dict)
    unchanged: list[int] = field(default_factory=list)

    def per_owner(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for owner in self.moved.values():
            counts[owner] += 1
        return dict(counts)


@transaction.atomic
def reassign_customers(
    case: ExitCase,
    *,
    acting_user: Any,
    strategy: str | None,
    team: Sequence[Employee] | None = None,
    overrides: Mapping[int, int] | None = None,
) -> ReassignResult:
    """Give the leaver's customers new owners.

    strategy: "receiver" (the case's successor, else the customer task's receiver, else the
    leaver's manager), "round_robin" (in turn over `team`, in name order), "by_load" (each to
    whoever in `team` holds the fewest customers of open exits, counting this batch), or None
    (only the `overrides`). `overrides` (customer item id → employee id) win over the strategy.
    The leaver and anyone departing or departed are refused by name."""
    case = ExitCase.objects.select_for_update().get(pk=case.pk)
    case = ExitCase.objects.select_related(
        "employee", "employee__manager", "successor", "legal_entity"
    ).get(pk=case.pk)
    require_handler(acting_user, case)
    if case.state not in WORK_CASE_STATES:
        raise Conflict(_("Customers are handed over while the exit case is in handover."))
    if strategy is not None and strategy not in STRATEGIES:
        raise InvalidInput.field("strategy", _("Choose the receiver, round robin or by load."))
    overrides = {int(k): int(v) for k, v in (overrides or {}).items()}
    team_ids = list(dict.fromkeys(e.pk for e in team or ()))
    if strategy in ("round_robin", "by_load") and not team_ids:
        raise InvalidInput.field("team", _("Choose the team to spread the customers over."))
    if strategy is None and not overrides:
        raise InvalidInput.field("strategy", _("Choose how to reassign the customers."))

    items = list(
        lock_rows(BusinessItem.objects.filter(case=case, kind=BusinessKind.CUSTOMER)).order_by(
            "name", "id"
        )
    )
    if not items:
        raise Conflict(_("This exit case has no customers to hand over."))
    by_id = {i.pk: i for i in items}
    unknown = sorted(set(overrides) - set(by_id))
    if unknown:
        raise InvalidInput.field(
            "overrides",
            _("Not a customer of this exit case: %(ids)s.") % {"ids": ", ".join(map(str, unknown))},
        )
    tasks = {
        t.pk: t
        for t in lock_rows(
            HandoverTask.objects.filter(pk__in=[i.task_id for i in items if i.task_id])
        )
    }
    systems = {s.pk: s for s in ConnectedSystem.objects.filter(pk__in={i.system_id for i in items})}

    # Everyone who may be named, in one query; those the user named must be in their view.
    named = set(team_ids) | set(overrides.values())
    defaults = {case.successor_id, case.employee.manager_id} | {
        t.receiver_id for t in tasks.values()
    }
    wanted = {pk for pk in named | defaults if pk is not None}
    people = {e.pk: e for e in Employee.objects.filter(pk__in=wanted)}
    visible = set(
        authz.visible_to(
            acting_user, Perm.EMPLOYEE_VIEW, Employee.objects.filter(pk__in=named)
        ).values_list("pk", flat=True)
    )
    if named - visible:
        raise InvalidInput.field(
            "team" if set(team_ids) - visible else "overrides",
            _("Unknown employee, or outside the part of the group you may see: %(ids)s.")
            % {"ids": ", ".join(map(str, sorted(named - visible)))},
        )
    members = sorted((people[pk] for pk in team_ids), key=lambda e: (e.name, e.pk))

    plan: dict[int, Employee] = {pk: people[emp] for pk, emp in overrides.items()}
    rest = [i for i in items if i.pk not in plan] if strategy else []
    if strategy == "receiver":
        for item in rest:
            task = tasks.get(item.task_id or 0)
            pk = (
                case.successor_id
                or (task.receiver_id if task else None)
                or case.employee.manager_id
            )
            if pk is None:
                raise Conflict(
                    _("Nobody receives %(customer)s: name a successor or choose a team.")
                    % {"customer": item.name}
                )
            plan[item.pk] = people[pk]
    elif strategy == "round_robin":
        for n, item in enumerate(rest):
            plan[item.pk] = members[n % len(members)]
    elif strategy == "by_load":
        load = _current_load(team_ids, exclude_case=case.pk)
        for emp in plan.values():
            if emp.pk in load:
                load[emp.pk] += 1
        for item in rest:
            emp = min(members, key=lambda e: (load[e.pk], e.name, e.pk))
            plan[item.pk] = emp
            load[emp.pk] += 1

    _refuse_unavailable(
        case, {e.pk: e for e in (*members, *plan.values())}, set(team_ids), acting_user
    )
    alive = timezone.now() - STALE_RUNNING
    busy = [
        i.name
        for i in items
        if i.pk in plan and i.write_back == WriteBackState.RUNNING and i.updated_at > alive
    ]
    if busy:
        raise Conflict(
            _("These customers are being written back right now; try again in a minute: %(names)s")
            % {"names": ", ".join(busy[:10])}
        )
    return _apply(case, items, tasks, systems, plan, strategy, acting_user)


def _current_load(people: list[int], *, exclude_case: int) -> dict[int, int]:
    """Customers each person holds across open exits, but this one's (being decided now)."""
    load = dict.fromkeys(people, 0)
    rows = (
        BusinessItem.objects.filter(
            kind=BusinessKind.CUSTOMER,
            new_owner_id__in=people,
            case__state__in=customers.LEAVING_CASE_STATES,
        )
        .exclude(case_id=exclude_case)
        .values("new_owner_id")
        .annotate(n=Count("id"))
    )
    for row in rows:
        load[row["new_owner_id"]] = row["n"]
    return load


def _refuse_unavailable(
    case: ExitCase, chosen: dict[int, Employee], team: set[int], user: Any
) -> None:
    """Refuse, by name, the leaver and anyone departing, departed or with an exit under way
    (that the user may know of)."""
    leaving = set(
        customers.leaving(user).filter(employee_id__in=chosen).values_list("employee_id", flat=True)
    )
    if case.employee_id in chosen:
        raise InvalidInput.field(
            "team" if case.employee_id in team else "overrides",
            _("%(name)s is the leaver and cannot take over their own customers.")
            % {"name": case.employee.name},
        )
    gone = sorted(
        (e for e in chosen.values() if e.status in customers.UNAVAILABLE or e.pk in leaving),
        key=lambda e: (e.name, e.pk),
    )
    if gone:
        raise InvalidInput.field(
            "team" if any(e.pk in team for e in gone) else "overrides",
            _("These people are leaving or have left and cannot take customers over: %(names)s.")
            % {"names": ", ".join(f"{e.name} ({e.employee_number})" for e in gone)},
        )


def _apply(
    case: ExitCase,
    items: list[BusinessItem],
    tasks: dict[int, HandoverTask],
    systems: dict[int, ConnectedSystem],
    plan: dict[int, Employee],
    strategy: str | None,
    acting_user: Any,
) -> ReassignResult:
    now = timezone.now()
    result = ReassignResult()
    transfers = {pk: customers.transfers_customers(s) for pk, s in systems.items()}
    changed: list[BusinessItem] = []
    task_changes: list[tuple[HandoverTask, int | None, int]] = []
    for item in items:
        owner = plan.get(item.pk)
        if owner is None:
            continue
        retry = item.write_back == WriteBackState.FAILED
        if item.new_owner_id == owner.pk and not retry:
            result.unchanged.append(item.pk)
            continue
        if item.new_owner_id != owner.pk:
            # The letter named the previous owner: the customer is told again.
            item.letter_sent_at = None
        item.new_owner = owner
        item.reassigned_at = now
        item.write_back = WriteBackState.PENDING if transfers[item.system_id] else ""
        item.write_back_error = ""
        item.written_back_at = None
        item.updated_at = now
        changed.append(item)
        result.moved[item.pk] = owner.pk
        task = tasks.get(item.task_id or 0)
        if task is not None and task.state not in DONE_TASK_STATES and task.receiver_id != owner.pk:
            task_changes.append((task, task.receiver_id, item.pk))
            task.receiver_id = owner.pk
            task.updated_at = now
            task.case = case  # the outbox reads the case from here (no query)
    if changed:
        BusinessItem.objects.bulk_update(
            changed,
            [
                "new_owner",
                "reassigned_at",
                "write_back",
                "write_back_error",
                "written_back_at",
                "letter_sent_at",
                "updated_at",
            ],
        )
    if task_changes:
        HandoverTask.objects.bulk_update(
            [t for t, _old, _item in task_changes], ["receiver", "updated_at"]
        )
    audit = [
        trail.Change(
            E.TASK_REASSIGNED,
            t,
            changes={"receiver_id": (old, t.receiver_id)},
            extra={"case": case.pk, "customer": item_id},
            business_unit_id=case.business_unit_id,
            department_id=case.department_id,
        )
        for t, old, item_id in task_changes
    ]
    owners: dict[int, list[int]] = defaultdict(list)
    for item_id, owner_id in result.moved.items():
        owners[owner_id].append(item_id)
    audit.append(
        trail.Change(
            E.CUSTOMERS_REASSIGNED,
            case,
            extra={
                "strategy": strategy or "overrides",
                "count": len(result.moved),
                "unchanged": len(result.unchanged),
                "owners": {str(k): v for k, v in sorted(owners.items())},
            },
        )
    )
    trail.record_many(audit, actor=acting_user)
    if changed:
        case_id, user_id = case.pk, getattr(acting_user, "pk", None)
        transaction.on_commit(lambda: queue.hand_over_customers(case_id, user_id))
    return result


# ---------------------------------------------------------------- writing back


@dataclass
class WriteBackReport:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"done": len(self.done), "failed": len(self.failed)}


def _claim(case_id: int, *, departed: bool) -> list[BusinessItem]:
    """Pending customers of the case (and any a dead worker left running), marked running
    under a row lock: a second worker skips them. WeCom's 离职继承 takes over the contacts of
    members who have left, so WeCom customers wait until the last working day has passed."""
    now = timezone.now()
    stale = now - STALE_RUNNING
    with transaction.atomic():
        qs = BusinessItem.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            Q(write_back=WriteBackState.PENDING)
            | Q(write_back=WriteBackState.RUNNING, updated_at__lt=stale),
            case_id=case_id,
            kind=BusinessKind.CUSTOMER,
            new_owner__isnull=False,
        )
        if not departed:
            qs = qs.exclude(system__kind=SystemKind.WECOM)
        items = list(qs.order_by("system_id", "id"))
        for item in items:
            item.write_back = WriteBackState.RUNNING
            item.updated_at = now
        BusinessItem.objects.bulk_update(items, ["write_back", "updated_at"])
    return items


WRITE_BACK_CASE_STATES = (*WORK_CASE_STATES, CaseState.CLEARED, CaseState.CLOSED)


def write_back(case_id: int, *, now: dt.datetime | None = None) -> WriteBackReport:
    """Write the new owners of a case's pending customers back to their systems: one
    connector call set per system, every call logged, per customer done or failed. Safe to run
    twice (customers are claimed first). WeCom customers wait for the leaver's departure (the
    workers' clock comes back for them)."""
    report = WriteBackReport()
    now = now or timezone.now()
    state = ExitCase.objects.filter(pk=case_id).values(
        "state", "confidential", "revealed_at", "last_working_day"
    )[0]
    if state["state"] not in WRITE_BACK_CASE_STATES or (
        state["confidential"] and state["revealed_at"] is None
    ):
        return report  # withdrawn, cancelled or not revealed: nothing leaves Baton
    departed = state["last_working_day"] < timezone.localdate(now)
    items = _claim(case_id, departed=departed)
    if not items:
        return report
    case = ExitCase.objects.select_related("employee", "employee__user").get(pk=case_id)
    owners = {
        e.pk: e
        for e in Employee.objects.select_related("user").filter(
            pk__in={i.new_owner_id for i in items}
        )
    }
    by_system: dict[int, list[BusinessItem]] = defaultdict(list)
    for item in items:
        item.new_owner = owners[item.new_owner_id]  # type: ignore[index]
        by_system[item.system_id].append(item)
    systems = ConnectedSystem.objects.in_bulk(list(by_system))
    checks = False
    for system_id, group in by_system.items():
        system = systems[system_id]
        results = _write_system(case, system, group)
        _record(case, system, group, results, report)
        checks = checks or (
            system.kind == SystemKind.WECOM and any(v is None for v in results.values())
        )
    if checks:
        _schedule_transfer_check(case_id)
    return report


def _write_system(
    case: ExitCase, system: ConnectedSystem, items: list[BusinessItem]
) -> dict[int, str | None]:
    try:
        connector = for_system(system, CallLog(system))
        people = [case.employee, *{i.new_owner_id: i.new_owner for i in items}.values()]
        logins = customers.logins_for(system, [p for p in people if p is not None], connector)
        login = logins.get(case.employee_id, "")
        if not login:
            return dict.fromkeys(
                (i.pk for i in items),
                _("%(name)s has no account in %(system)s to hand customers over from.")
                % {"name": case.employee.name, "system": system.name},
            )
        leaver = Leaver(employee=case.employee, case=case, login=login)
        moves = [
            Reassignment(
                item=i,
                new_owner=i.new_owner,  # type: ignore[arg-type]
                new_owner_login=logins.get(i.new_owner_id or 0, ""),
            )
            for i in items
        ]
        return connector.reassign_customers(leaver, moves)
    except ConnectorError as exc:
        return dict.fromkeys((i.pk for i in items), str(exc))
    except Exception as exc:  # a connector bug must not leave customers 'running'
        logger.exception("write-back to system %s failed", system.pk)
        return dict.fromkeys((i.pk for i in items), f"{type(exc).__name__}: {exc}")


@transaction.atomic
def _record(
    case: ExitCase,
    system: ConnectedSystem,
    items: list[BusinessItem],
    results: Mapping[int, str | None],
    report: WriteBackReport,
) -> None:
    now = timezone.now()
    locked = list(
        lock_rows(BusinessItem.objects.filter(pk__in=[i.pk for i in items], write_back="running"))
    )
    done, failed = [], {}
    for item in locked:
        error = results.get(item.pk, _("The connector gave no answer for this customer."))
        if error is None:
            item.write_back, item.write_back_error, item.written_back_at = "done", "", now
            done.append(item.pk)
        else:
            item.write_back, item.write_back_error = "failed", str(error)[:2000]
            failed[item.pk] = str(error)
        item.updated_at = now
    BusinessItem.objects.bulk_update(
        locked, ["write_back", "write_back_error", "written_back_at", "updated_at"]
    )
    audit = []
    if done:
        audit.append(
            trail.Change(
                E.CUSTOMERS_WRITTEN_BACK,
                case,
                extra={"system": system.pk, "count": len(done), "items": done},
            )
        )
    if failed:
        audit.append(
            trail.Change(
                E.CUSTOMER_WRITE_BACK_FAILED,
                case,
                extra={
                    "system": system.pk,
                    "count": len(failed),
                    "errors": {str(k): v[:300] for k, v in failed.items()},
                },
            )
        )
    trail.record_many(audit, actor=None)
    report.done += done
    report.failed.update(failed)


def refresh_transfers(case_id: int) -> WriteBackReport:
    """Read how WeCom transfers of the case's customers ended: refused by the customer, the
    taker-over at their limit or no record → failed with the reason; taken over → the time."""
    report = WriteBackReport()
    case = ExitCase.objects.select_related("employee", "employee__user").get(pk=case_id)
    items = list(
        BusinessItem.objects.filter(
            case_id=case_id,
            kind=BusinessKind.CUSTOMER,
            write_back=WriteBackState.DONE,
            system__kind=SystemKind.WECOM,
        ).select_related("system", "new_owner", "new_owner__user")
    )
    by_system: dict[int, list[BusinessItem]] = defaultdict(list)
    for item in items:
        by_system[item.system_id].append(item)
    for group in by_system.values():
        system = group[0].system
        connector = for_system(system, CallLog(system))
        assert isinstance(connector, WecomConnector)
        logins = customers.logins_for(
            system, [case.employee, *(i.new_owner for i in group if i.new_owner)], connector
        )
        handover = logins.get(case.employee_id, "")
        outcome: dict[int, str | None] = {}
        taken: dict[int, dt.datetime] = {}
        for takeover in sorted({logins.get(i.new_owner_id or 0, "") for i in group} - {""}):
            try:
                status = connector.transfer_status(handover, takeover)
            except ConnectorError as exc:
                logger.warning("transfer status of case %s: %s", case_id, exc)
                continue
            for item in group:
                if logins.get(item.new_owner_id or 0) != takeover:
                    continue
                found = status.get(item.external_id)
                if found is None or found.status in (TransferStatus.DONE, TransferStatus.WAITING):
                    if found is not None and found.takeover_time:
                        taken[item.pk] = dt.datetime.fromtimestamp(found.takeover_time, dt.UTC)
                    continue
                outcome[item.pk] = found.message
        _record_transfer_outcome(case, group, outcome, taken, report)
    return report


@transaction.atomic
def _record_transfer_outcome(
    case: ExitCase,
    items: list[BusinessItem],
    failed: dict[int, str | None],
    taken: dict[int, dt.datetime],
    report: WriteBackReport,
) -> None:
    if not failed and not taken:
        return
    locked = list(
        lock_rows(BusinessItem.objects.filter(pk__in=[*failed, *taken], write_back="done"))
    )
    now = timezone.now()
    for item in locked:
        if item.pk in failed:
            item.write_back, item.write_back_error = "failed", str(failed[item.pk])
        else:
            item.written_back_at = taken[item.pk]
        item.updated_at = now
    BusinessItem.objects.bulk_update(
        locked, ["write_back", "write_back_error", "written_back_at", "updated_at"]
    )
    errors = {str(i.pk): i.write_back_error for i in locked if i.pk in failed}
    if errors:
        trail.record(
            E.CUSTOMER_WRITE_BACK_FAILED,
            actor=None,
            subject=case,
            extra={"system": items[0].system_id, "count": len(errors), "errors": errors},
        )
        report.failed.update({int(k): v for k, v in errors.items()})


def _schedule_transfer_check(case_id: int) -> None:
    queue.check_customer_transfers(case_id, run_after=timezone.now() + TRANSFER_CHECK_AFTER)


def sweep_write_backs(now: dt.datetime | None = None) -> int:
    """The workers' clock: cases with customers still to write back that can be (WeCom ones
    once the leaver has left) get a write-back task. Returns how many cases."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = (
        BusinessItem.objects.filter(
            kind=BusinessKind.CUSTOMER,
            write_back=WriteBackState.PENDING,
            case__state__in=WRITE_BACK_CASE_STATES,
        )
        .filter(~Q(system__kind=SystemKind.WECOM) | Q(case__last_working_day__lt=today))
        .order_by("case_id")
        .values_list("case_id", flat=True)
        .distinct()
    )
    cases = list(due)
    for case_id in cases:
        queue.write_back_customers(case_id, now.isoformat())
    return len(cases)


# ---------------------------------------------------------------- after a reassignment


def hand_over(case_id: int, user_id: int | None) -> dict[str, Any]:
    """After a reassignment (in the workers): write the new owners back, then send the letters
    due (as the user who reassigned). Safe to run twice."""
    out: dict[str, Any] = {"write_back": write_back(case_id).as_dict()}
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return out
    try:
        out["letters"] = send_letters(case_id, acting_user=user).as_dict()
    except (Conflict, PermissionDenied) as exc:
        out["letters"] = {"error": str(exc)}
    return out
