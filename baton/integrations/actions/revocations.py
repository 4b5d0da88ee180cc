"""Access revocation (权限回收): planning when a case is approved, and running when it is due.

**Planning** happens inside the action that changed the case (the audit trail's listener,
`on_audit`): approving a case (or revealing / restoring one) creates, for every active connected
system that revokes access for the case's legal entity, a `Revocation` and its handover task in
the IT queue whose evidence is the system's call log. It is due at the system's hour on the last
working day, in the employee's work-city time zone — at once for a dismissal for cause. Moving
the last working day reschedules; withdrawing or cancelling the case cancels. No HTTP here, and
a fixed number of queries however many systems there are.

**Running** happens in the workers (`run`, on the workers' clock and kicked after commit for
immediate ones), outside any transaction: claim what is due (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; a row left `running` by a dead worker is taken over after a time-out), resolve the
login, find the account, refuse to touch a login that another active employment still uses,
deactivate, verify by reading back, then record the outcome — accepting the task for the system,
or retrying with backoff, and after the system's attempts handing the task to IT as a manual
one with an in-app alert. Accounts are deleted after the system's grace period (also in `run`).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
import time
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.workdays import add_working_days
from baton.handover.actions.cases import task_created
from baton.handover.models import (
    OPEN_CASE_STATES,
    CaseState,
    EvidenceKind,
    ExitCase,
    ExitType,
    HandoverTask,
)
from baton.integrations import connectors, queue, selectors
from baton.integrations.actions.systems import (
    accept_revocation_task,
    notify_it,
    set_task_manual,
    task_title,
)
from baton.integrations.calls import CallLog
from baton.integrations.connectors.base import Account, ConnectorError, Leaver
from baton.integrations.logins import MATCHES, matched_value
from baton.integrations.models import AccountLink, ConnectedSystem, Revocation
from baton.integrations.models import RevocationState as R
from baton.notify.delivery import worker_name
from baton.org.models import City, Employee, EmployeeStatus

logger = logging.getLogger(__name__)
# Case states in which accounts are to be revoked (a cleared case may still be before its
# last day; a closed one is done and planned no more).
PLANNED_CASE_STATES = (CaseState.APPROVED, CaseState.HANDOVER, CaseState.CLEARED)
CLAIM_BATCH = 20
TASK_SORT = 1000  # after the checklist's own items
REOPEN_FIELDS: tuple[str, ...] = ("state", "immediate", "due_at", "next_attempt_at", "attempts")
REOPEN_FIELDS += ("error", "claimed_by", "updated_at")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def backoff_seconds() -> int:
    return _setting("BATON_REVOCATION_BACKOFF_SECONDS", 60)


def running_timeout() -> int:
    """After this long a `running` revocation is taken to belong to a dead worker."""
    return _setting("BATON_REVOCATION_RUNNING_TIMEOUT", 600)


def _backoff(now: dt.datetime, attempts: int) -> dt.datetime:
    base = backoff_seconds() * (2 ** max(0, attempts - 1))
    jitter = random.uniform(0.75, 1.25)  # noqa: S311 — spreading retries, not security
    return now + dt.timedelta(seconds=min(base * jitter, 3600))


def _change(event: E, subject: Any, case: ExitCase, **kwargs: Any) -> trail.Change:
    """An audited change filed under the case's business unit and department."""
    return trail.Change(
        event,
        subject,
        business_unit_id=case.business_unit_id,
        department_id=case.department_id,
        **kwargs,
    )


# ================================================================ planning


def on_audit(items: list[trail.Change]) -> None:
    """The audit trail's listener: plan, move or cancel revocations as cases change (inside
    the action's transaction; the case row is locked by the action)."""
    for item in items:
        if item.subject._meta.label_lower != "handover.exitcase":
            continue
        case: Any = item.subject
        if item.event in (E.CASE_APPROVED, E.CASE_REVEALED, E.CASE_REOPENED):
            plan(case)
        elif item.event == E.CASE_UPDATED and "last_working_day" in (item.changes or {}):
            reschedule(case)
        elif item.event in (E.CASE_WITHDRAWN, E.CASE_CANCELLED):
            cancel(case, reason=str(E(item.event).label))


def systems_for(case: ExitCase) -> list[ConnectedSystem]:
    """The active systems that revoke access for the case's leaver."""
    return list(
        ConnectedSystem.objects.filter(active=True, revokes_access=True)
        .filter(selectors.serving(case))
        .order_by("name", "id")
    )


def _zone(employee: Employee) -> zoneinfo.ZoneInfo:
    city = employee._state.fields_cache.get("work_city")
    name = (
        city.time_zone
        if city is not None
        else City.objects.filter(pk=employee.work_city_id)
        .values_list("time_zone", flat=True)
        .first()
    )
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def due_for(
    case: ExitCase, system: ConnectedSystem, zone: zoneinfo.ZoneInfo, now: dt.datetime
) -> tuple[dt.datetime, bool]:
    """When the system's accounts are revoked: at once for a dismissal for cause, else at the
    system's hour on the last working day in the employee's work-city time zone."""
    if case.exit_type == ExitType.EMPLOYER_FOR_CAUSE:
        return now, True
    hour = dt.time(min(int(system.revoke_hour), 23))
    return dt.datetime.combine(case.last_working_day, hour, tzinfo=zone), False


def plan(case: ExitCase) -> list[Revocation]:
    """Create the case's missing revocations (with their tasks) and reopen cancelled ones.
    Idempotent; a hidden pre-resignation handover is planned once it is revealed."""
    if case.state not in PLANNED_CASE_STATES or (case.confidential and case.revealed_at is None):
        return []
    systems = systems_for(case)
    if not systems:
        return []
    existing = {
        r.system_id: r for r in Revocation.objects.select_for_update().filter(case_id=case.pk)
    }
    zone = _zone(case.employee)
    now = timezone.now()
    task_due = add_working_days(case.last_working_day, 0, case.legal_entity.jurisdiction)
    tasks: list[HandoverTask] = []
    created: list[Revocation] = []
    reopened: list[Revocation] = []
    for n, system in enumerate(systems):
        due, immediate = due_for(case, system, zone, now)
        rev = existing.get(system.pk)
        if rev is None:
            task = HandoverTask(
                case=case,
                key=f"revoke-access-{system.pk}",
                title=task_title(system),
                category="it",
                owner_queue="it",
                approver_queue="it",
                due_date=task_due,
                due_offset=0,
                acceptance_criteria=_(
                    "The leaver's account in %(system)s is deactivated and removed from its "
                    "groups, and verified: read back, it is no longer active. The evidence is "
                    "the system's call log."
                )
                % {"system": system.name},
                evidence_kind=EvidenceKind.SYSTEM,
                blocks_clearance=True,
                sort=TASK_SORT + n,
            )
            tasks.append(task)
            created.append(
                Revocation(
                    case=case,
                    system=system,
                    employee_id=case.employee_id,
                    task=task,
                    immediate=immediate,
                    due_at=due,
                    next_attempt_at=due,
                )
            )
        elif rev.state == R.CANCELLED:
            rev.case, rev.system = case, system
            rev.state, rev.immediate, rev.due_at, rev.next_attempt_at = (
                R.SCHEDULED,
                immediate,
                due,
                due,
            )
            rev.attempts, rev.error, rev.claimed_by, rev.updated_at = 0, "", "", now
            reopened.append(rev)
    if not (created or reopened):
        return []
    HandoverTask.objects.bulk_create(tasks)
    for rev in created:
        rev.task = rev.task  # re-assign: copies the task's id, which it has only now
    Revocation.objects.bulk_create(created)
    Revocation.objects.bulk_update(reopened, [*REOPEN_FIELDS])
    changes = [task_created(case, t) for t in tasks] + [
        _change(
            E.REVOCATION_SCHEDULED,
            r,
            case,
            extra={
                "case": case.pk,
                "system": r.system_id,
                "due_at": r.due_at.isoformat(),
                "immediate": r.immediate,
                "reopened": r in reopened,
            },
        )
        for r in created + reopened
    ]
    trail.record_many(changes, actor=None)
    if any(r.immediate for r in created + reopened):
        queue.run_revocations_on_commit()
    return created + reopened


def reschedule(case: ExitCase) -> int:
    """The last working day moved: revocations still waiting move with it."""
    rows = list(
        Revocation.objects.select_for_update(of=("self",))
        .select_related("system")
        .filter(case_id=case.pk, state__in=[R.SCHEDULED, R.RETRY], immediate=False)
    )
    if not rows:
        return 0
    zone, now = _zone(case.employee), timezone.now()
    moved, changes = [], []
    for rev in rows:
        due, _immediate = due_for(case, rev.system, zone, now)
        if due == rev.due_at:
            continue
        old = rev.due_at
        rev.case = case
        rev.state, rev.due_at, rev.next_attempt_at, rev.updated_at = R.SCHEDULED, due, due, now
        moved.append(rev)
        changes.append(
            _change(
                E.REVOCATION_RESCHEDULED,
                rev,
                case,
                changes={"due_at": (old.isoformat(), due.isoformat())},
                extra={"case": case.pk, "system": rev.system_id},
            )
        )
    Revocation.objects.bulk_update(moved, ["state", "due_at", "next_attempt_at", "updated_at"])
    trail.record_many(changes, actor=None)
    return len(moved)


def cancel(case: ExitCase, *, reason: str) -> int:
    """The case was withdrawn or cancelled: nothing more is revoked (a revocation already
    running finishes its calls but records nothing; restoring the case plans it again)."""
    rows = list(
        Revocation.objects.select_for_update().filter(
            case_id=case.pk, state__in=[R.SCHEDULED, R.RETRY, R.RUNNING, R.FAILED]
        )
    )
    now = timezone.now()
    for rev in rows:
        rev.case = case
        rev.state, rev.claimed_by, rev.updated_at = R.CANCELLED, "", now
    Revocation.objects.bulk_update(rows, ["state", "claimed_by", "updated_at"])
    # Accounts already deactivated are not deleted after the grace period any more; IT decides
    # whether to switch them back on.
    undone = list(
        Revocation.objects.select_for_update()
        .select_related("system")
        .filter(case_id=case.pk, state__in=[R.REVOKED, R.MANUAL], deleted_at__isnull=True)
    )
    for rev in undone:
        rev.case = case
        rev.delete_at, rev.updated_at = None, now
    Revocation.objects.bulk_update(undone, ["delete_at", "updated_at"])
    trail.record_many(
        [
            _change(
                E.REVOCATION_CANCELLED,
                rev,
                case,
                extra={"case": case.pk, "system": rev.system_id, "reason": str(reason)},
            )
            for rev in rows
        ]
        + [
            _change(
                E.REVOCATION_CANCELLED,
                rev,
                case,
                extra={
                    "case": case.pk,
                    "system": rev.system_id,
                    "reason": str(reason),
                    "already_revoked": True,
                },
            )
            for rev in undone
        ],
        actor=None,
    )
    if undone:
        names = ", ".join(rev.system.name for rev in undone)
        notify_it(
            case,
            _("Exit undone: access was already revoked"),
            _(
                "%(name)s's exit was withdrawn or cancelled after their access to %(systems)s "
                "was revoked. Switch it back on if they stay."
            )
            % {"name": case.employee.name, "systems": names},
        )
    return len(rows)


# ================================================================ the leaver's login


def resolve_login(rev: Revocation) -> tuple[str, str]:
    """(login, the system's id) of the leaver's account: the recorded link, else the
    attribute the system matches by."""
    link = AccountLink.objects.filter(system_id=rev.system_id, employee_id=rev.employee_id).first()
    if link is not None:
        return link.login, link.external_id
    match = str((rev.system.config or {}).get("match") or "email")
    return matched_value(rev.employee, match).strip(), ""


def other_employment(
    system: ConnectedSystem,
    employee_id: int,
    last_day: dt.date,
    logins: set[str],
    external_id: str = "",
) -> Employee | None:
    """Another employment that still uses this login in this system: an employee record that
    is not the leaver's, not departed, and not leaving on or before this last day, whose
    account link has the login (or the account's id), or — without a link of its own in the
    system — whose matched attribute equals the login."""
    logins = {v.strip() for v in logins if v and v.strip()}
    if not logins and not external_id:
        return None
    link_q = Q(pk__in=[])
    for value in logins:
        link_q |= Q(login__iexact=value)
    if external_id:
        link_q |= Q(external_id=external_id)
    links = AccountLink.objects.filter(system=system)
    q = Q(pk__in=links.filter(link_q).values("employee_id"))
    field = MATCHES.get(str((system.config or {}).get("match") or "email"), "email")
    attr_q = Q(pk__in=[])
    for value in logins:
        attr_q |= Q(**{f"{field}__iexact": value})
    q |= attr_q & ~Q(pk__in=links.values("employee_id"))
    candidates = list(
        Employee.objects.exclude(pk=employee_id)
        .exclude(status=EmployeeStatus.DEPARTED)
        .filter(q)
        .order_by("pk")[:20]
    )
    departing = [c.pk for c in candidates if c.status == EmployeeStatus.DEPARTING]
    leaving: dict[int, dt.date] = {}
    if departing:
        leaving = dict(
            ExitCase.objects.filter(
                employee_id__in=departing, state__in=OPEN_CASE_STATES
            ).values_list("employee_id", "last_working_day")
        )
    for other in candidates:
        their_last = leaving.get(other.pk)
        if other.status == EmployeeStatus.DEPARTING and their_last and their_last <= last_day:
            continue  # leaving too, no later than this one: not an employment that goes on
        return other
    return None


def _who(employee: Employee) -> dict[str, Any]:
    return {"id": employee.pk, "employee_number": employee.employee_number, "name": employee.name}


# ================================================================ running


def claim(now: dt.datetime, worker: str, limit: int = CLAIM_BATCH) -> list[tuple[int, str]]:
    """Take due revocations for this worker: (id, claim token) each."""
    stale = timezone.now() - dt.timedelta(seconds=running_timeout())
    with transaction.atomic():
        rows = list(
            Revocation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                Q(state__in=[R.SCHEDULED, R.RETRY], next_attempt_at__lte=now)
                | Q(state=R.RUNNING, claimed_at__lt=stale)
            )
            # A paused system (or one that no longer revokes) is left alone until switched on.
            .filter(system__active=True, system__revokes_access=True)
            .order_by("next_attempt_at", "id")[:limit]
        )
        stamp = timezone.now()
        for rev in rows:
            rev.state, rev.claimed_at, rev.updated_at = R.RUNNING, stamp, stamp
            rev.claimed_by = f"{worker[:48]}#{secrets.token_hex(4)}"
            rev.attempts += 1
        Revocation.objects.bulk_update(
            rows, ["state", "claimed_at", "claimed_by", "attempts", "updated_at"]
        )
    return [(rev.pk, rev.claimed_by) for rev in rows]


def _load(rev_id: int) -> Revocation:
    return Revocation.objects.select_related(
        "system",
        "case",
        "case__legal_entity",
        "case__successor",
        "employee",
        "employee__user",
        "employee__manager",
    ).get(pk=rev_id)


def execute(rev_id: int, token: str, now: dt.datetime) -> str:
    """Run one claimed revocation (outside any transaction); returns the state it ended in."""
    # The claim's clock starts now, not when the batch was claimed: rows later in a batch must
    # not look abandoned to other workers while earlier ones run. (A bookkeeping stamp.)
    started = Revocation.objects.filter(pk=rev_id, state=R.RUNNING, claimed_by=token).update(
        claimed_at=timezone.now()
    )
    if not started:
        return "lost"
    rev = _load(rev_id)
    log = CallLog(rev.system, revocation=rev)
    try:
        login, external_id = resolve_login(rev)
        if not login and not external_id:
            match = str((rev.system.config or {}).get("match") or "email")
            raise ConnectorError(
                _("%(name)s has no %(attribute)s to find the account by; link it by hand.")
                % {"name": rev.employee.name, "attribute": match},
                retryable=False,
            )
        # Whoever takes over the leaver's work also takes over what they owned in the system
        # (a manifest's transfer steps).
        receiver = rev.case.successor or rev.employee.manager
        leaver = Leaver(
            employee=rev.employee,
            case=rev.case,
            login=login,
            external_id=external_id,
            receiver=receiver,
        )
        connector = connectors.for_system(rev.system, log)
        account = connector.find(leaver)
        if account is None:
            return _finish_absent(rev, token, login)
        other = other_employment(
            rev.system,
            rev.employee_id,
            rev.case.last_working_day,
            {login, account.login},
            account.external_id,
        )
        if other is not None:
            return _finish_kept(rev, token, account, other)
        if not Revocation.objects.filter(pk=rev.pk, state=R.RUNNING, claimed_by=token).exists():
            return "lost"  # cancelled or taken over meanwhile: touch nothing
        outcome = connector.revoke(leaver, account)
        if not connector.verify(leaver, account):
            raise ConnectorError(_("The account is still active after deactivation."))
        outcome["verified"] = True
        return _finish_revoked(rev, token, now, account, outcome)
    except ConnectorError as exc:
        return _finish_error(rev, token, now, str(exc), retryable=exc.retryable)
    except Exception as exc:  # a bug or an answer nobody foresaw: retried, then IT's
        logger.exception("revocation %s failed", rev_id)
        return _finish_error(rev, token, now, f"{type(exc).__name__}: {exc}", retryable=True)


def _locked(rev: Revocation, token: str) -> tuple[ExitCase, Revocation] | None:
    """The case and the revocation, locked in that order (as case actions lock them), if the
    revocation is still this claim's."""
    case = ExitCase.objects.select_for_update().get(pk=rev.case_id)
    locked = Revocation.objects.select_for_update().get(pk=rev.pk)
    if locked.state != R.RUNNING or locked.claimed_by != token:
        return None
    case.employee = rev.employee
    locked.case, locked.system, locked.employee = case, rev.system, rev.employee
    return case, locked


def _save(rev: Revocation, *fields: str) -> None:
    rev.updated_at = timezone.now()
    rev.save(update_fields=[*fields, "claimed_by", "updated_at"])


@transaction.atomic
def _finish_absent(rev: Revocation, token: str, login: str) -> str:
    found = _locked(rev, token)
    if found is None:
        return "lost"
    case, rev = found
    rev.state, rev.login, rev.claimed_by, rev.error = R.ABSENT, login[:200], "", ""
    rev.outcome = {"searched": login}
    _save(rev, "state", "login", "outcome", "error")
    trail.record(
        E.ACCOUNT_NOT_FOUND,
        actor=None,
        subject=rev,
        extra={"case": case.pk, "system": rev.system_id, "login": login},
    )
    accept_revocation_task(
        case,
        rev,
        _("No account found in %(system)s for %(login)s: nothing to revoke (see the call log).")
        % {"system": rev.system.name, "login": login},
    )
    return R.ABSENT


@transaction.atomic
def _finish_kept(rev: Revocation, token: str, account: Account, other: Employee) -> str:
    found = _locked(rev, token)
    if found is None:
        return "lost"
    case, rev = found
    rev.state, rev.claimed_by, rev.error = R.KEPT, "", ""
    rev.login, rev.external_id = account.login[:200], account.external_id[:200]
    rev.outcome = {"kept_for": _who(other), "account": {"id": account.external_id}}
    _save(rev, "state", "login", "external_id", "outcome", "error")
    trail.record(
        E.ACCESS_KEPT,
        actor=None,
        subject=rev,
        extra={"case": case.pk, "system": rev.system_id, "kept_for": _who(other)},
    )
    accept_revocation_task(
        case,
        rev,
        _(
            "Kept: the login %(login)s in %(system)s also belongs to %(name)s (%(number)s), "
            "who is still employed; it was not deactivated."
        )
        % {
            "login": account.login,
            "system": rev.system.name,
            "name": other.name,
            "number": other.employee_number,
        },
    )
    return R.KEPT


def _link(rev: Revocation, login: str, external_id: str) -> None:
    link = AccountLink.objects.filter(system_id=rev.system_id, employee_id=rev.employee_id).first()
    if link is not None and (link.login, link.external_id) == (login, external_id):
        return
    old = (link.login, link.external_id) if link is not None else (None, None)
    link, _created = AccountLink.objects.update_or_create(
        system_id=rev.system_id,
        employee_id=rev.employee_id,
        defaults={"login": login[:200], "external_id": external_id[:200]},
    )
    trail.record(
        E.ACCOUNT_LINKED,
        actor=None,
        subject=link,
        changes={"login": (old[0], login), "external_id": (old[1], external_id)},
        extra={"revocation": rev.pk},
    )


@transaction.atomic
def _finish_revoked(
    rev: Revocation, token: str, now: dt.datetime, account: Account, outcome: dict[str, Any]
) -> str:
    found = _locked(rev, token)
    if found is None:
        logger.warning("revocation %s was revoked after it was cancelled or taken over", rev.pk)
        return "lost"
    case, rev = found
    days = rev.system.delete_after_days
    rev.state, rev.claimed_by, rev.error, rev.outcome = R.REVOKED, "", "", outcome
    rev.login, rev.external_id = account.login[:200], account.external_id[:200]
    rev.revoked_at = timezone.now()
    rev.delete_at = now + dt.timedelta(days=days) if days else None
    _save(rev, "state", "error", "outcome", "login", "external_id", "revoked_at", "delete_at")
    _link(rev, account.login, account.external_id)
    trail.record(
        E.ACCESS_REVOKED,
        actor=None,
        subject=rev,
        extra={"case": case.pk, "system": rev.system_id, **outcome},
    )
    groups = outcome.get("groups_removed")
    summary = [
        _("Deactivated %(login)s in %(system)s")
        % {"login": account.login, "system": rev.system.name}
    ]
    if groups is not None:
        summary.append(_("removed from %(n)s group(s)") % {"n": len(groups)})
    if outcome.get("sessions"):
        summary.append(_("sessions: %(s)s") % {"s": outcome["sessions"]})
    summary.append(_("verified inactive by reading it back"))
    accept_revocation_task(case, rev, "; ".join(summary) + ".")
    return R.REVOKED


@transaction.atomic
def _finish_error(
    rev: Revocation, token: str, now: dt.datetime, error: str, *, retryable: bool
) -> str:
    found = _locked(rev, token)
    if found is None:
        return "lost"
    case, rev = found
    rev.error, rev.claimed_by = error[:4000], ""
    if retryable and rev.attempts < rev.system.max_attempts:
        rev.state, rev.next_attempt_at = R.RETRY, _backoff(now, rev.attempts)
        _save(rev, "state", "error", "next_attempt_at")
        return R.RETRY
    rev.state = R.FAILED
    _save(rev, "state", "error")
    trail.record(
        E.ACCESS_REVOCATION_FAILED,
        actor=None,
        subject=rev,
        extra={
            "case": case.pk,
            "system": rev.system_id,
            "attempts": rev.attempts,
            "retryable": retryable,
            "error": error[:500],
        },
    )
    set_task_manual(
        case,
        rev,
        _("Automatic revocation failed after %(n)s attempt(s): %(error)s")
        % {"n": rev.attempts, "error": error[:1000]},
        manual=True,
    )
    notify_it(
        case,
        _("Access revocation failed: %(system)s · %(name)s")
        % {"system": rev.system.name, "name": rev.employee.name},
        _("Revoke the account by hand and mark it done. Error: %(error)s") % {"error": error[:500]},
        task_id=rev.task_id,
    )
    return R.FAILED


# ================================================================ hard delete after the grace


def claim_deletions(
    now: dt.datetime, worker: str, limit: int = CLAIM_BATCH
) -> list[tuple[int, str]]:
    stale = timezone.now() - dt.timedelta(seconds=running_timeout())
    with transaction.atomic():
        rows = list(
            Revocation.objects.select_for_update(skip_locked=True)
            .filter(state=R.REVOKED, deleted_at__isnull=True, delete_at__lte=now)
            .exclude(case__state__in=[CaseState.WITHDRAWN, CaseState.CANCELLED])
            .filter(Q(claimed_by="") | Q(claimed_at__lt=stale))
            .order_by("delete_at", "id")[:limit]
        )
        stamp = timezone.now()
        for rev in rows:
            rev.claimed_at, rev.updated_at = stamp, stamp
            rev.claimed_by = f"{worker[:48]}#{secrets.token_hex(4)}"
        Revocation.objects.bulk_update(rows, ["claimed_at", "claimed_by", "updated_at"])
    return [(rev.pk, rev.claimed_by) for rev in rows]


def _locked_deletion(rev: Revocation, token: str) -> tuple[ExitCase, Revocation] | None:
    case = ExitCase.objects.select_for_update().get(pk=rev.case_id)
    locked = Revocation.objects.select_for_update().get(pk=rev.pk)
    if locked.state != R.REVOKED or locked.claimed_by != token or locked.deleted_at is not None:
        return None
    locked.case, locked.system, locked.employee = case, rev.system, rev.employee
    return case, locked


def execute_deletion(rev_id: int, token: str, now: dt.datetime) -> str:
    """Delete a deactivated account whose grace period is over — unless its login now belongs
    to another active employment (then the deletion is called off)."""
    rev = _load(rev_id)
    log = CallLog(rev.system, revocation=rev)
    try:
        other = other_employment(
            rev.system, rev.employee_id, rev.case.last_working_day, {rev.login}, rev.external_id
        )
        if other is not None:
            with transaction.atomic():
                found = _locked_deletion(rev, token)
                if found is None:
                    return "lost"
                case, locked = found
                locked.delete_at, locked.claimed_by = None, ""
                locked.outcome = {**locked.outcome, "delete_kept_for": _who(other)}
                _save(locked, "delete_at", "outcome")
                trail.record(
                    E.ACCESS_KEPT,
                    actor=None,
                    subject=locked,
                    extra={"case": case.pk, "step": "delete", "kept_for": _who(other)},
                )
            return "kept"
        leaver = Leaver(
            employee=rev.employee, case=rev.case, login=rev.login, external_id=rev.external_id
        )
        account = Account(external_id=rev.external_id, login=rev.login)
        connectors.for_system(rev.system, log).delete(leaver, account)
    except ConnectorError as exc:
        return _finish_deletion_error(rev, token, now, str(exc), retryable=exc.retryable)
    except Exception as exc:  # a bug or an answer nobody foresaw: retried, not the batch lost
        logger.exception("deleting the account of revocation %s failed", rev_id)
        return _finish_deletion_error(
            rev, token, now, f"{type(exc).__name__}: {exc}", retryable=True
        )
    with transaction.atomic():
        found = _locked_deletion(rev, token)
        if found is None:
            return "lost"
        case, locked = found
        locked.state, locked.deleted_at, locked.claimed_by = R.DELETED, timezone.now(), ""
        _save(locked, "state", "deleted_at")
        trail.record(
            E.ACCOUNT_DELETED,
            actor=None,
            subject=locked,
            extra={"case": case.pk, "system": locked.system_id, "login": locked.login},
        )
    return R.DELETED


@transaction.atomic
def _finish_deletion_error(
    rev: Revocation, token: str, now: dt.datetime, error: str, *, retryable: bool
) -> str:
    found = _locked_deletion(rev, token)
    if found is None:
        return "lost"
    case, locked = found
    locked.claimed_by = ""
    locked.outcome = {**locked.outcome, "delete_error": error[:1000]}
    # A deletion that may pass later is tried again in an hour; one refused for good is IT's.
    locked.delete_at = now + dt.timedelta(hours=1) if retryable else None
    _save(locked, "delete_at", "outcome")
    if not retryable:
        notify_it(
            case,
            _("Deleting an account failed: %(system)s · %(name)s")
            % {"system": locked.system.name, "name": locked.employee.name},
            _("The account is deactivated; delete it by hand. Error: %(error)s")
            % {"error": error[:500]},
            task_id=locked.task_id,
        )
    return "delete_retry" if retryable else "delete_failed"


# ================================================================ entry points


def run(
    now: dt.datetime | None = None, *, worker: str = "", budget_s: float = 20.0
) -> dict[str, int]:
    """Run what is due (revocations, then deletions) until nothing is left or the time budget
    is spent (then a new task carries on). Safe to run in any number of workers at once."""
    worker = worker or worker_name()
    started = time.monotonic()
    totals: dict[str, int] = {}

    def add(key: str) -> None:
        totals[key] = totals.get(key, 0) + 1

    for claimer, executor in ((claim, execute), (claim_deletions, execute_deletion)):
        while True:
            if time.monotonic() - started > budget_s:
                queue.run_revocations_on_commit()  # work left: continue in a new task
                return totals
            at = now or timezone.now()
            batch = claimer(at, worker)
            if not batch:
                break
            for rev_id, token in batch:
                add(str(executor(rev_id, token, at)))
    return totals


def run_due(now: dt.datetime | None = None) -> dict[str, int]:
    """Everything due at `now` (default: the present), in this process — for the demo and the
    `baton revocations run --now` command (time travel: e.g. the last working day at 18:00)."""
    return run(now, budget_s=float("inf"))
