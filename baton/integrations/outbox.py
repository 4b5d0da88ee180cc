"""The transactional outbox: audited changes that other systems care about become `Event`
rows in the same transaction (so an event exists if and only if its change committed), then
workers fan them out to webhook subscriptions.

The catalogue (docs/events.md) maps audit events to published types. Payloads carry ids and
the changed facts, not whole records: a subscriber that needs more asks the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from baton.audit.events import AuditEvent as E
from baton.audit.trail import Change
from baton.handover.models import ExitCase
from baton.integrations import queue
from baton.integrations.models import Event

# Audit event → published event type.
CATALOGUE: dict[int, str] = {
    E.CASE_SUBMITTED: "case.submitted",
    E.CASE_APPROVED: "case.approved",
    E.CASE_HANDOVER_STARTED: "case.handover_started",
    E.CASE_CLEARED: "case.cleared",
    E.CASE_CLOSED: "case.closed",
    E.CASE_WITHDRAWN: "case.withdrawn",
    E.CASE_CANCELLED: "case.cancelled",
    E.CASE_REOPENED: "case.restored",
    E.CASE_REVEALED: "case.revealed",
    E.CASE_UPDATED: "case.updated",
    E.CASE_ESCALATED: "case.escalated",
    E.TASK_CREATED: "task.assigned",
    E.TASK_REASSIGNED: "task.assigned",
    E.TASK_SUBMITTED: "task.submitted",
    E.TASK_ACCEPTED: "task.accepted",
    E.TASK_REJECTED: "task.rejected",
    E.TASK_WAIVED: "task.waived",
}
EMPLOYEE_STATUS_EVENTS = {"departing": "employee.departing", "departed": "employee.departed"}
# Added by other apps (e.g. access revocation) at import time.
EXTRA: dict[int, str] = {}
# Access revocation (baton/integrations/actions/revocations.py): subject `revocations/{id}`.
EXTRA.update(
    {
        E.ACCESS_REVOKED: "access.revoked",
        E.ACCESS_REVOKED_MANUALLY: "access.revoked",
        E.ACCESS_REVOCATION_FAILED: "access.revocation_failed",
        E.ACCESS_KEPT: "access.kept",
        E.ACCOUNT_DELETED: "access.account_deleted",
    }
)

SOURCE_PATH = "/baton"


SWEEP_TYPES = ("task.overdue",)  # written by sweeps, not by an audited change


def catalogue_types() -> list[str]:
    """Every event type Baton publishes (the subscription form offers these)."""
    types = set(CATALOGUE.values()) | set(EXTRA.values()) | set(EMPLOYEE_STATUS_EVENTS.values())
    return sorted(types | set(SWEEP_TYPES))


def source() -> str:
    return settings.BATON_PUBLIC_URL + SOURCE_PATH


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _case_data(case: Any) -> dict[str, Any]:
    return {
        "id": case.pk,
        "state": case.state,
        "exit_type": case.exit_type,
        "last_working_day": _iso(case.last_working_day),
        "employee_id": case.employee_id,
        "business_unit_id": case.business_unit_id,
        "legal_entity_id": case.legal_entity_id,
        "department_id": case.department_id,
    }


def _task_data(task: Any) -> dict[str, Any]:
    return {
        "id": task.pk,
        "case_id": task.case_id,
        "key": task.key,
        "title": task.title,
        "category": task.category,
        "state": task.state,
        "due_date": _iso(task.due_date),
        "owner_id": task.owner_id,
        "owner_queue": task.owner_queue,
        "receiver_id": task.receiver_id,
        "approver_id": task.approver_id,
    }


def _employee_data(emp: Any) -> dict[str, Any]:
    return {
        "id": emp.pk,
        "employee_number": emp.employee_number,
        "status": emp.status,
        "termination_date": _iso(emp.termination_date),
        "business_unit_id": emp.business_unit_id,
        "legal_entity_id": emp.legal_entity_id,
        "department_id": emp.department_id,
    }


def _revocation_data(rev: Any) -> dict[str, Any]:
    return {
        "id": rev.pk,
        "case_id": rev.case_id,
        "system_id": rev.system_id,
        "employee_id": rev.employee_id,
        "state": rev.state,
        "login": rev.login,
        "immediate": rev.immediate,
        "due_at": _iso(rev.due_at),
        "revoked_at": _iso(rev.revoked_at),
        "deleted_at": _iso(rev.deleted_at),
        "error": rev.error[:500],
    }


BUILDERS: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "integrations.revocation": ("revocations", _revocation_data),
    "handover.exitcase": ("cases", _case_data),
    "handover.handovertask": ("tasks", _task_data),
    "org.employee": ("employees", _employee_data),
}


def _type_of(item: Change) -> str | None:
    if item.event == E.EMPLOYEE_UPDATED:
        status = (item.changes or {}).get("status")
        return EMPLOYEE_STATUS_EVENTS.get(status[1]) if status else None
    return CATALOGUE.get(item.event) or EXTRA.get(item.event)


def _hidden_cases(items: list[tuple[str, Change]]) -> set[int]:
    """Confidential pre-resignation cases not yet revealed: nothing about them leaves Baton.
    (A task's case is usually already loaded on it; otherwise one query for all.)"""
    hidden: set[int] = set()
    unknown: set[int] = set()
    for _type, item in items:
        label = item.subject._meta.label_lower
        if label == "handover.exitcase":
            case: Any = item.subject
        elif hasattr(item.subject, "case_id"):  # a task, a revocation, …
            case = item.subject._state.fields_cache.get("case")
            if case is None:
                unknown.add(item.subject.case_id)
                continue
        else:
            continue
        if case.confidential and case.revealed_at is None:
            hidden.add(case.pk)
    if unknown:
        hidden |= set(
            ExitCase.objects.filter(
                pk__in=unknown, confidential=True, revealed_at__isnull=True
            ).values_list("pk", flat=True)
        )
    return hidden


def on_audit(items: list[Change]) -> None:
    """The audit trail's listener: write the events for this batch of changes."""
    wanted = [(t, item) for item in items if (t := _type_of(item))]
    if not wanted:
        return
    hidden = _hidden_cases(wanted)
    now = timezone.now()
    events = []
    for event_type, item in wanted:
        label = item.subject._meta.label_lower
        builder = BUILDERS.get(label)
        if builder is None:
            prefix, data = label.split(".")[-1] + "s", {"id": item.subject.pk}
        else:
            prefix, data = builder[0], builder[1](item.subject)
        case_id = data.get("id") if label == "handover.exitcase" else data.get("case_id")
        if case_id is not None and case_id in hidden:
            continue
        if item.changes:
            data["changes"] = {k: [_iso(v[0]), _iso(v[1])] for k, v in item.changes.items()}
        events.append(
            Event(
                type=event_type,
                subject=f"{prefix}/{item.subject.pk}",
                data=data,
                business_unit_id=getattr(item.subject, "business_unit_id", None),
                occurred_at=now,
            )
        )
    if events:
        Event.objects.bulk_create(events)
        queue.deliver_webhooks_on_commit()


def emit_once(event_type: str, subject: str, data: dict[str, Any], *, key: str, bu: Any) -> None:
    """An event from a sweep (e.g. task.overdue), written at most once per key."""
    Event.objects.bulk_create(
        [
            Event(
                type=event_type,
                subject=subject,
                data=data,
                business_unit_id=bu,
                dedupe_key=key,
                occurred_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    queue.deliver_webhooks_on_commit()


def cloudevent(event: Event) -> dict[str, Any]:
    """The event as a CloudEvents 1.0 structured-mode JSON object."""
    return {
        "specversion": "1.0",
        "id": str(event.pk),
        "source": source(),
        "type": event.type,
        "subject": event.subject,
        "time": event.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": event.data,
    }
