"""Business data in: a leaver's customers, open orders, projects, purchase orders, equipment,
loans and unsettled expense claims become handover items on the exit case (客户交接清单,
项目交接清单, 财务交接清单).

- **Approval queues pulls.** When a case is approved, one `DataPull` per active system that
  pulls data for the case's legal entity is inserted in the approval's own transaction (the
  audit trail's listener; a couple of cheap inserts, nothing network-bound) and a background
  task is enqueued when it commits.
- **A pull** (`run_pull`, safe to run twice: it claims its row; a running one older than the
  timeout is taken over) reads every kind the manifest defines, page by page, upserting as it
  goes and counting progress for the case page. Retryable failures retry with backoff, then
  the pull fails (DATA_PULL_FAILED).
- **Pushes** (`push_records`): a system sends the same records through the API, validated all
  or nothing.
- **Upsert** (`upsert_records`, shared by both): unique per case, system, kind and id; a new
  record creates its handover task (in bulk, a handful of queries per 500 records), a known one
  is updated where it changed, nothing is ever duplicated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import ActionError, Conflict, InvalidInput
from baton.core.schedule import Job, every
from baton.core.workdays import add_working_days
from baton.handover.actions.cases import task_created
from baton.handover.models import EvidenceKind, ExitCase, HandoverTask
from baton.handover.rules import is_leaver
from baton.integrations import queue, selectors
from baton.integrations.calls import CallFailed, CallLog
from baton.integrations.connectors import for_system
from baton.integrations.connectors.base import ConnectorError, Leaver, PulledRecord
from baton.integrations.models import (
    AccountLink,
    BusinessItem,
    BusinessKind,
    ConnectedSystem,
    DataPull,
    PullState,
)
from baton.integrations.records import clean_records
from baton.integrations.rules import WORKING_STATES
from baton.org.models import Department, Employee

logger = logging.getLogger(__name__)
CHUNK = 500
PULL_ATTEMPTS = 4
ITEM_FIELDS = (
    "name",
    "details",
    "amount",
    "currency",
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_language",
)


# ---------------------------------------------------------------- what each kind becomes


@dataclass(frozen=True)
class Plan:
    """How a kind of record becomes a handover task."""

    category: str
    title: Any  # lazy text with %(name)s
    criteria: Any
    evidence: str
    due_offset: int  # working days from the last working day
    owner_queue: str = ""  # empty: the leaver owns it
    approver_queue: str = ""  # empty: the leaver's manager accepts it
    has_receiver: bool = True  # the successor (or manager) takes it over


PLANS: dict[str, Plan] = {
    BusinessKind.CUSTOMER: Plan(
        "customers",
        gettext_lazy("Hand over customer %(name)s"),
        gettext_lazy("The customer has confirmed their new contact person."),
        EvidenceKind.EXTERNAL,
        -1,
    ),
    BusinessKind.ORDER: Plan(
        "customers",
        gettext_lazy("Hand over open order %(name)s"),
        gettext_lazy("The receiver knows the order's status, next steps and open payments."),
        EvidenceKind.SIGNOFF,
        -1,
    ),
    BusinessKind.PROJECT: Plan(
        "business",
        gettext_lazy("Hand over project %(name)s"),
        gettext_lazy("The receiver has the project's plan, documents, contacts and open risks."),
        EvidenceKind.SIGNOFF,
        -1,
    ),
    BusinessKind.PURCHASE_ORDER: Plan(
        "business",
        gettext_lazy("Hand over purchase order %(name)s"),
        gettext_lazy("The receiver knows the supplier, the delivery and what is still to pay."),
        EvidenceKind.SIGNOFF,
        -1,
    ),
    BusinessKind.ASSET: Plan(
        "admin",
        gettext_lazy("Return equipment %(name)s"),
        gettext_lazy("Administration has the equipment back, checked and wiped."),
        EvidenceKind.SIGNOFF,
        0,
        approver_queue="admin",
        has_receiver=False,
    ),
    BusinessKind.LOAN: Plan(
        "finance",
        gettext_lazy("Settle loan %(name)s"),
        gettext_lazy("The loan is repaid or deducted in the final settlement."),
        EvidenceKind.SIGNOFF,
        0,
        owner_queue="finance",
        approver_queue="finance",
        has_receiver=False,
    ),
    BusinessKind.EXPENSE_CLAIM: Plan(
        "finance",
        gettext_lazy("Settle expense claim %(name)s"),
        gettext_lazy("The claim is reimbursed or withdrawn."),
        EvidenceKind.SIGNOFF,
        0,
        owner_queue="finance",
        approver_queue="finance",
        has_receiver=False,
    ),
}


# ---------------------------------------------------------------- upserting items and tasks


def upsert_records(
    case: ExitCase,
    system: ConnectedSystem,
    records: Sequence[PulledRecord],
    *,
    pushed: bool,
    acting_user: Any,
) -> tuple[int, int]:
    """Add the records to the case as business items (and a handover task per new one), or
    update the ones already there. Returns (created, updated). Chunks of 500, each its own
    transaction (inside the caller's when there is one)."""
    unique: dict[tuple[str, str], PulledRecord] = {}
    for record in records:
        unique[(record.kind, record.external_id)] = record
    rows = list(unique.values())
    created = updated = 0
    for start in range(0, len(rows), CHUNK):
        c, u = _upsert_chunk(
            case, system, rows[start : start + CHUNK], pushed=pushed, acting_user=acting_user
        )
        created, updated = created + c, updated + u
    return created, updated


@transaction.atomic
def _upsert_chunk(
    case: ExitCase,
    system: ConnectedSystem,
    rows: list[PulledRecord],
    *,
    pushed: bool,
    acting_user: Any,
) -> tuple[int, int]:
    # The case's row lock serialises a pull and a push of the same case: no duplicates, and
    # no items on a case that closed meanwhile.
    case = (
        ExitCase.objects.select_for_update(of=("self",))
        .select_related("employee", "legal_entity", "successor")
        .get(pk=case.pk)
    )
    if case.state not in WORKING_STATES:
        raise Conflict(_("Business records are added while the case is approved and open."))
    existing = {
        (i.kind, i.external_id): i
        for i in BusinessItem.objects.filter(
            case=case, system=system, external_id__in={r.external_id for r in rows}
        )
    }
    now = timezone.now()
    changed: list[BusinessItem] = []
    new: list[BusinessItem] = []
    for record in rows:
        values = _values(record)
        item = existing.get((record.kind, record.external_id))
        if item is None:
            new.append(
                BusinessItem(
                    case=case,
                    system=system,
                    kind=record.kind,
                    external_id=record.external_id,
                    pushed=pushed,
                    **values,
                )
            )
        elif any(getattr(item, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(item, k, v)
            item.updated_at = now
            changed.append(item)
    if changed:
        BusinessItem.objects.bulk_update(changed, [*ITEM_FIELDS, "updated_at"])
    if new:
        BusinessItem.objects.bulk_create(new)
        create_tasks(case, new, acting_user=acting_user)
    return len(new), len(changed)


def _values(record: PulledRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "details": record.details,
        "amount": record.amount,
        "currency": record.currency,
        "contact_name": record.contact_name,
        "contact_email": record.contact_email,
        "contact_phone": record.contact_phone,
        "contact_language": record.contact_language,
    }


def _manager(leaver: Employee) -> Employee | None:
    """Who accepts the leaver's business items: their manager, else the nearest department
    head above them."""
    if leaver.manager_id and leaver.manager_id != leaver.pk:
        return leaver.manager
    dept: Department | None = leaver.department
    while dept is not None:
        if dept.head_id and dept.head_id != leaver.pk:
            return dept.head
        dept = dept.parent
    return None


def create_tasks(
    case: ExitCase, items: Sequence[BusinessItem], *, acting_user: Any
) -> list[HandoverTask]:
    """One handover task per business item (saved, without a task yet), in bulk: customers
    and orders to the 客户交接清单, projects and purchase orders to the 项目交接清单, equipment
    to administration, loans and expense claims to finance (财务交接清单). Call it inside
    the transaction that holds the case's lock."""
    if not items:
        return []
    leaver = case.employee
    manager = _manager(leaver)
    receiver = case.successor or manager
    jurisdiction = case.legal_entity.jurisdiction
    sort = (HandoverTask.objects.filter(case=case).aggregate(m=Max("sort"))["m"] or 0) + 1
    due: dict[int, dt.date] = {}
    tasks: list[HandoverTask] = []
    with translation.override(settings.LANGUAGE_CODE):
        for n, item in enumerate(items):
            plan = PLANS[item.kind]
            if plan.due_offset not in due:
                due[plan.due_offset] = add_working_days(
                    case.last_working_day, plan.due_offset, jurisdiction
                )
            task = HandoverTask(
                case=case,
                key=_task_key(item),
                title=(str(plan.title) % {"name": item.name})[:200],
                category=plan.category,
                acceptance_criteria=str(plan.criteria),
                evidence_kind=plan.evidence,
                receiver=receiver if plan.has_receiver else None,
                due_date=due[plan.due_offset],
                due_offset=plan.due_offset,
                sort=min(sort + n, 32767),
            )
            if plan.owner_queue:
                task.owner_queue = plan.owner_queue
            else:
                task.owner = leaver
            if plan.approver_queue:
                task.approver_queue = plan.approver_queue
            elif manager is not None and manager.pk != task.owner_id:
                task.approver = manager
            else:
                task.approver_queue = "hr"
            tasks.append(task)
    HandoverTask.objects.bulk_create(tasks)
    for item, task in zip(items, tasks, strict=True):
        item.task = task
    BusinessItem.objects.bulk_update(list(items), ["task"])
    trail.record_many(
        [
            task_created(case, t, business_item=[item.kind, item.external_id])
            for item, t in zip(items, tasks, strict=True)
        ],
        actor=acting_user,
    )
    return tasks


def _task_key(item: BusinessItem) -> str:
    digest = hashlib.sha256(item.external_id.encode()).hexdigest()[:10]
    return f"{item.kind.replace('_', '-')}-{item.system_id}-{digest}"


# ---------------------------------------------------------------- pulls: queued at approval


def on_audit(items: list[trail.Change]) -> None:
    """The audit trail's listener: an approved case gets its pulls queued (in the approval's
    transaction: a query for the systems, an insert, the audit entries)."""
    for item in items:
        if item.event not in (E.CASE_APPROVED, E.CASE_REVEALED):
            continue
        case: Any = item.subject
        # Nothing about a confidential pre-resignation handover leaves Baton before HR reveals
        # it: its pulls are queued then.
        if case.state in WORKING_STATES and not (case.confidential and case.revealed_at is None):
            queue_pulls(case)


def _systems_for(case: ExitCase) -> Any:
    return ConnectedSystem.objects.filter(active=True, pulls_data=True).filter(
        selectors.serving(case)
    )


def queue_pulls(case: ExitCase, *, acting_user: Any = None) -> list[DataPull]:
    """A queued pull per system that pulls business data for the case's leaver (and has not
    been asked for this case yet)."""
    systems = list(_systems_for(case).exclude(pulls__case=case).only("id"))
    if not systems:
        return []
    pulls = DataPull.objects.bulk_create([DataPull(case=case, system=s) for s in systems])
    trail.record_many(
        [
            trail.Change(
                E.DATA_PULL_REQUESTED,
                p,
                extra={"case": case.pk, "system": p.system_id, "on": "case approved"},
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
            for p in pulls
        ],
        actor=acting_user,
    )
    _enqueue_on_commit([p.pk for p in pulls])
    return pulls


def _enqueue_on_commit(ids: list[int]) -> None:
    def enqueue() -> None:
        for pk in ids:
            queue.run_pull(pk)

    transaction.on_commit(enqueue)


@transaction.atomic
def request_pull(
    case: ExitCase,
    system: ConnectedSystem,
    *,
    acting_user: Any,
    kinds: Sequence[str] | None = None,
) -> DataPull:
    """HR asks for (another) pull of the leaver's records from a system. A pull already
    waiting or running for the case and system is returned instead of a second one."""
    if not authz.visible_to(
        acting_user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)
    ).exists():
        raise PermissionDenied(_("You may not do this on this exit case."))
    if is_leaver(acting_user, case):
        raise PermissionDenied(_("Nobody manages their own exit case."))
    case = ExitCase.objects.select_for_update().get(pk=case.pk)
    if case.state not in WORKING_STATES:
        raise Conflict(_("Business records are pulled while the case is approved and open."))
    if not system.active or not system.pulls_data:
        raise InvalidInput.field("system_id", _("This system does not provide business data."))
    if not selectors.serves(system, case):
        raise InvalidInput.field(
            "system_id", _("This system is for another legal entity or business unit.")
        )
    wanted = list(dict.fromkeys(kinds or []))
    bad = [k for k in wanted if k not in BusinessKind.values]
    if bad:
        raise InvalidInput.field(
            "kinds", _("Unknown kinds: %(kinds)s") % {"kinds": ", ".join(map(str, bad))}
        )
    pending = DataPull.objects.filter(
        case=case, system=system, state__in=[PullState.QUEUED, PullState.RUNNING]
    ).first()
    pull = pending or DataPull.objects.create(
        case=case, system=system, kinds=wanted, requested_by=acting_user
    )
    trail.record_many(
        [
            trail.Change(
                E.DATA_PULL_REQUESTED,
                pull,
                extra={
                    "case": case.pk,
                    "system": system.pk,
                    "kinds": wanted,
                    **({"already_waiting": True} if pending else {}),
                },
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
        ],
        actor=acting_user,
    )
    if not pending:
        _enqueue_on_commit([pull.pk])
    return pull


# ---------------------------------------------------------------- pulls: running


def _timeout() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "BATON_PULL_TIMEOUT", 900))


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt `attempts + 1` (30 s, 2 min, 8 min, … at most an hour)."""
    base = getattr(settings, "BATON_PULL_BACKOFF_SECONDS", 30)
    return dt.timedelta(seconds=min(base * 4 ** max(0, attempts - 1), 3600))


def _due(pull: DataPull, now: dt.datetime) -> bool:
    if pull.state == PullState.QUEUED:
        return (
            pull.attempts == 0
            or pull.started_at is None
            or (pull.started_at + backoff(pull.attempts) <= now)
        )
    if pull.state == PullState.RUNNING:
        return pull.started_at is None or pull.started_at < now - _timeout()
    return False


def leaver_for(case: ExitCase, system: ConnectedSystem, connector: Any = None) -> Leaver:
    """The leaver as a connector sees them: the linked account's login, else the login the
    system's connector makes (the REST manifest's `login`), else their email."""
    employee = case.employee
    link = AccountLink.objects.filter(system=system, employee=employee).first()
    if link is not None:
        login, external_id = link.login, link.external_id
    else:
        login_for = getattr(connector, "login_for", None)
        login, external_id = (login_for(employee) if login_for else employee.email), ""
    return Leaver(
        employee=employee,
        case=case,
        login=login,
        external_id=external_id,
        receiver=case.successor,
    )


def _claim(pull_id: int, now: dt.datetime) -> DataPull | None:
    with transaction.atomic():
        pull = (
            DataPull.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case", "case__employee", "case__successor", "system")
            .filter(pk=pull_id)
            .first()
        )
        if pull is None or not _due(pull, now):
            return None
        case, system = pull.case, pull.system
        if case.state not in WORKING_STATES or not system.active:
            reason = (
                _("The exit case is no longer open; nothing was pulled.")
                if case.state not in WORKING_STATES
                else _("The system was switched off; nothing was pulled.")
            )
            _finish_failed(pull, reason)
            return None
        if pull.state == PullState.RUNNING and pull.attempts >= PULL_ATTEMPTS:
            _finish_failed(pull, pull.error or _("The pull stopped answering and was given up."))
            return None
        pull.state = PullState.RUNNING
        pull.started_at = timezone.now()
        pull.attempts += 1
        pull.fetched = 0
        pull.save(update_fields=["state", "started_at", "attempts", "fetched"])
        return pull


def _finish_failed(pull: DataPull, error: str) -> None:
    """Inside a transaction: the pull failed for good."""
    pull.state = PullState.FAILED
    pull.error = error[:4000]
    pull.finished_at = timezone.now()
    pull.save(update_fields=["state", "error", "finished_at"])
    case = pull.case
    trail.record_many(
        [
            trail.Change(
                E.DATA_PULL_FAILED,
                pull,
                extra={
                    "case": case.pk,
                    "system": pull.system_id,
                    "attempts": pull.attempts,
                    "error": pull.error[:500],
                },
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
        ],
        actor=None,
    )


def run_pull(pull_id: int, *, now: dt.datetime | None = None) -> str:
    """Run one pull if it is due: "done", "retry", "failed" or "skipped" (not due, taken by
    another worker, or already finished)."""
    now = now or timezone.now()
    pull = _claim(pull_id, now)
    if pull is None:
        return "skipped"
    case, system = pull.case, pull.system
    skipped: list[str] = []

    def sink(kind: str, records: list[PulledRecord], bad: list[str]) -> None:
        created, updated = upsert_records(case, system, records, pushed=False, acting_user=None)
        pull.fetched += len(records) + len(bad)
        pull.created += created
        pull.updated += updated
        skipped.extend(bad)
        # Progress for the case page (bookkeeping on the pull's own row).
        pull.save(update_fields=["fetched", "created", "updated"])

    log = CallLog(system, pull=pull)
    try:
        connector = for_system(system, log)
        leaver = leaver_for(case, system, connector)
        pages = getattr(connector, "pull_pages", None)
        if pages is not None:
            pages(leaver, list(pull.kinds), sink)
        else:
            records = connector.pull(leaver, list(pull.kinds))
            sink("", records, [])
    except (ConnectorError, CallFailed) as exc:
        return _failed(pull, str(exc), retryable=exc.retryable, now=now)
    except ActionError as exc:  # e.g. the case closed while the pull ran
        return _failed(pull, exc.message, retryable=False, now=now)
    except Exception as exc:
        _failed(pull, f"{type(exc).__name__}: {exc}", retryable=False, now=now)
        raise
    with transaction.atomic():
        pull.state = PullState.DONE
        pull.finished_at = timezone.now()
        pull.error = _skipped_text(skipped)
        pull.save(update_fields=["state", "finished_at", "error"])
        trail.record_many(
            [
                trail.Change(
                    E.DATA_PULLED,
                    pull,
                    extra={
                        "case": case.pk,
                        "system": system.pk,
                        "kinds": list(pull.kinds),
                        "fetched": pull.fetched,
                        "created": pull.created,
                        "updated": pull.updated,
                        "skipped": len(skipped),
                        "calls": len(log.calls),
                    },
                    business_unit_id=case.business_unit_id,
                    department_id=case.department_id,
                )
            ],
            actor=None,
        )
    return "done"


def _skipped_text(skipped: list[str]) -> str:
    if not skipped:
        return ""
    head = ngettext(
        "%(n)d record was not valid and was left out:",
        "%(n)d records were not valid and were left out:",
        len(skipped),
    ) % {"n": len(skipped)}
    return "\n".join([head, *skipped[:20]])[:4000]


def _failed(pull: DataPull, error: str, *, retryable: bool, now: dt.datetime) -> str:
    with transaction.atomic():
        if retryable and pull.attempts < PULL_ATTEMPTS:
            pull.state = PullState.QUEUED
            pull.error = error[:4000]
            pull.save(update_fields=["state", "error"])
            due = (pull.started_at or now) + backoff(pull.attempts)
            pk = pull.pk

            def enqueue() -> None:
                queue.run_pull(pk, run_after=due)

            transaction.on_commit(enqueue)
            return "retry"
        _finish_failed(pull, error)
        return "failed"


def run_pulls(now: dt.datetime | None = None) -> dict[str, int]:
    """Run every pull that is due, in this process (for the demo and tests)."""
    now = now or timezone.now()
    waiting = DataPull.objects.filter(state__in=[PullState.QUEUED, PullState.RUNNING])
    outcome: dict[str, int] = {"done": 0, "retry": 0, "failed": 0, "skipped": 0}
    for pull in waiting.order_by("id"):
        if _due(pull, now):
            result = run_pull(pull.pk, now=now)
            outcome[result] += 1
    return outcome


def sweep(now: dt.datetime | None = None) -> int:
    """The workers' clock: enqueue pulls that are due but have no task (a lost enqueue, a
    worker killed mid-pull). Returns how many."""
    now = now or timezone.now()
    grace = dt.timedelta(minutes=5)
    count = 0
    for pull in DataPull.objects.filter(state__in=[PullState.QUEUED, PullState.RUNNING]):
        forgotten = (
            pull.requested_at < now - grace
            if pull.state == PullState.QUEUED and pull.attempts == 0
            else _due(pull, now - grace)
        )
        if forgotten:
            queue.run_pull(pull.pk)
            count += 1
    return count


def _five_minutes(now: dt.datetime) -> str:
    now = now.astimezone(dt.UTC)
    return f"{now:%Y-%m-%dT%H}:{now.minute // 5 * 5:02d}"


def _start_sweep(run: Any, now: dt.datetime) -> None:
    queue.sweep_pulls()


def register() -> None:
    """Put the pull sweep on the workers' clock (every five minutes)."""
    every(Job("business-pulls", _five_minutes, _start_sweep, keep_days=1))


# ---------------------------------------------------------------- pushes


def authorize_push(
    user: Any, case: ExitCase, system: ConnectedSystem, *, token: Any = None
) -> None:
    """Who may push a system's records onto a case — the one place this is decided: someone
    (or a token) holding `business.push` (a system's own token, HR) or `case.manage` (HR, a
    handover:write token) over the leaver, never onto their own exit; a system's token only
    for its own system."""
    qs = ExitCase.objects.filter(pk=case.pk)
    if not (
        authz.visible_to(user, Perm.BUSINESS_PUSH, qs).exists()
        or authz.visible_to(user, Perm.CASE_MANAGE, qs).exists()
    ):
        raise PermissionDenied(_("You may not push business records onto this exit case."))
    if is_leaver(user, case):
        raise PermissionDenied(_("Nobody manages their own exit case."))
    token_system = getattr(token, "system_id", None)
    if token_system is not None and token_system != system.pk:
        raise PermissionDenied(_("This token belongs to another connected system."))


@transaction.atomic
def push_records(
    case: ExitCase, system: ConnectedSystem, raw: Any, *, acting_user: Any, token: Any = None
) -> dict[str, int]:
    """A system pushes the leaver's records (the same as a pull reads). All or nothing: any
    record not valid → nothing is written, and every problem is named by record and field.
    Pushing the same records again changes nothing."""
    authorize_push(acting_user, case, system, token=token)
    if not system.active:
        raise InvalidInput.field("system_id", _("This system is switched off."))
    if not selectors.serves(system, case):
        raise InvalidInput.field(
            "system_id", _("This system is for another legal entity or business unit.")
        )
    records, errors = clean_records(raw)
    if "records" in errors:  # none sent, or too many
        raise InvalidInput(_("Please correct the highlighted field."), errors)
    if errors:
        bad = len({k.split("]")[0] for k in errors})
        raise InvalidInput(
            ngettext(
                "%(n)d record is not valid; nothing was saved.",
                "%(n)d records are not valid; nothing was saved.",
                bad,
            )
            % {"n": bad},
            errors,
        )
    created, updated = upsert_records(case, system, records, pushed=True, acting_user=acting_user)
    trail.record(
        E.BUSINESS_DATA_PUSHED,
        actor=acting_user,
        subject=case,
        extra={
            "system": system.pk,
            "records": len(records),
            "created": created,
            "updated": updated,
        },
    )
    return {"created": created, "updated": updated, "unchanged": len(records) - created - updated}
