"""Merging duplicate employee records: one person recorded twice (typically once per business
unit, brought in by separate migrations) becomes one record again.

The surviving record receives the duplicate's history — contracts, agreements, lifecycle
events, attendance, leave, performance ratings, compensation changes — and fills its own empty
contact details and ID card number from it. The duplicate stays (nothing is deleted, its status
is kept) and points at the survivor with `merged_into`; people lists no longer show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, Model, OuterRef
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import Conflict, InvalidInput
from baton.org import idcard
from baton.org.models import (
    Agreement,
    AttendanceDay,
    CompensationChange,
    Contract,
    Department,
    Employee,
    LeaveRecord,
    LifecycleEvent,
    PerformanceRating,
)

# History moved whole (both records' rows are kept; contracts are renumbered after the
# survivor's own, see below).
MOVED_WHOLE: dict[str, type[Model]] = {
    "agreements": Agreement,
    "lifecycle_events": LifecycleEvent,
}
# Lifecycle data with a natural key per employee: a row the survivor already has for the same
# key stays on the duplicate (counted as skipped), so the survivor's own data wins.
MOVED_BY_KEY: dict[str, tuple[type[Model], tuple[str, ...]]] = {
    "attendance_days": (AttendanceDay, ("date",)),
    "leave_records": (LeaveRecord, ("leave_type", "start_date")),
    "performance_ratings": (PerformanceRating, ("period",)),
    "compensation_changes": (CompensationChange, ("effective_date", "change_type")),
}
COPIED_FIELDS = ("email", "phone")


@dataclass
class MergeResult:
    """What a merge did: rows moved to the survivor and rows left on the duplicate because the
    survivor already had one for the same day / period / key."""

    survivor: Employee
    duplicate: Employee
    moved: dict[str, int]
    skipped: dict[str, int]


def _check_mergeable(survivor: Employee, duplicate: Employee) -> None:
    if survivor.merged_into_id is not None:
        raise Conflict(
            _("%(name)s (%(number)s) was already merged into another record.")
            % {"name": survivor.name, "number": survivor.employee_number}
        )
    if duplicate.merged_into_id is not None:
        raise Conflict(
            _("%(name)s (%(number)s) was already merged into another record.")
            % {"name": duplicate.name, "number": duplicate.employee_number}
        )
    if duplicate.exit_cases.exists():
        raise Conflict(
            _(
                "%(number)s has exit cases; merge the other way round (keep %(number)s) or "
                "finish with them first."
            )
            % {"number": duplicate.employee_number}
        )
    if hasattr(duplicate, "user") and duplicate.user is not None:
        raise Conflict(
            _(
                "%(number)s is linked to the login %(login)s; unlink it (or keep %(number)s) "
                "before merging."
            )
            % {"number": duplicate.employee_number, "login": duplicate.user.username}
        )


def _move_records(
    survivor: Employee, duplicate: Employee
) -> tuple[dict[str, int], dict[str, int], tuple[Any, Any] | None]:
    """Everything the duplicate owns moves to the survivor: contracts (renumbered after the
    survivor's), reports and headships, history; keyed history the survivor already has stays
    behind (counted as skipped). Returns moved, skipped and the survivor's manager change."""
    moved: dict[str, int] = {}
    skipped: dict[str, int] = {}
    # The duplicate's contracts follow the survivor's in number (1st, 2nd… stay unique).
    last = max(survivor.contracts.values_list("sequence", flat=True), default=0)
    moving = list(Contract.objects.filter(employee_id=duplicate.pk).order_by("sequence", "id"))
    for n, contract in enumerate(moving, start=1):
        contract.employee_id = survivor.pk
        contract.sequence = last + n
        contract.save(update_fields=["employee", "sequence"])
    moved["contracts"] = len(moving)
    # Whoever reported to the duplicate, or a department it headed, now has the survivor —
    # but the survivor itself, if it reported to its duplicate, takes the duplicate's manager
    # (never itself: a reporting cycle every other action refuses).
    manager_change: tuple[Any, Any] | None = None
    if survivor.manager_id == duplicate.pk:
        new_manager = None if duplicate.manager_id == survivor.pk else duplicate.manager_id
        manager_change = (survivor.manager_id, new_manager)
        survivor.manager_id = new_manager
    moved["reports"] = (
        Employee.objects.filter(manager_id=duplicate.pk)
        .exclude(pk=survivor.pk)
        .update(manager_id=survivor.pk)
    )
    moved["departments_headed"] = Department.objects.filter(head_id=duplicate.pk).update(
        head_id=survivor.pk
    )
    for name, model in MOVED_WHOLE.items():
        moved[name] = model._default_manager.filter(employee_id=duplicate.pk).update(
            employee_id=survivor.pk
        )
    for name, (model, key) in MOVED_BY_KEY.items():
        manager = model._default_manager
        clash = manager.filter(employee_id=survivor.pk, **{k: OuterRef(k) for k in key})
        moved[name] = (
            manager.filter(employee_id=duplicate.pk)
            .filter(~Exists(clash))
            .update(employee_id=survivor.pk)
        )
        left = manager.filter(employee_id=duplicate.pk).count()
        if left:
            skipped[name] = left
    # Records earlier merged into the duplicate now point at the survivor (no chains).
    moved["merged_records"] = Employee.objects.filter(merged_into_id=duplicate.pk).update(
        merged_into_id=survivor.pk
    )
    return moved, skipped, manager_change


def _copy_details(
    survivor: Employee, duplicate: Employee, manager_change: tuple[Any, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """What the survivor lacks and the duplicate has (contact details, the sealed ID number,
    attributes) is copied onto it, unsaved; returns old → new for the audit entry."""
    changes: dict[str, tuple[Any, Any]] = {}
    if manager_change is not None:
        changes["manager"] = manager_change
    for name in COPIED_FIELDS:
        if not getattr(survivor, name) and getattr(duplicate, name):
            changes[name] = ("", getattr(duplicate, name))
            setattr(survivor, name, getattr(duplicate, name))
    if not survivor.id_number_hash and duplicate.id_number_blob:
        # The ciphertext is bound to its row: decrypt and seal again under the survivor.
        idcard.seal(survivor, idcard.reveal(duplicate))
        changes["id_number_hint"] = ("", survivor.id_number_hint)
    for attr in ("attributes", "protected_attributes"):
        mine, theirs = getattr(survivor, attr) or {}, getattr(duplicate, attr) or {}
        added = {k: v for k, v in theirs.items() if mine.get(k) in (None, "")}
        if added:
            # Protected attributes are named, never shown, in the trail.
            shown = sorted(added) if attr == "protected_attributes" else added
            changes[attr] = (None, shown)
            setattr(survivor, attr, {**mine, **added})
    return changes


@transaction.atomic
def merge_employees(
    survivor: Employee, duplicate: Employee, *, acting_user: Any, reason: str
) -> MergeResult:
    """Fold `duplicate` into `survivor` (see the module). Needs the right to change both
    records; refused while the duplicate has exit cases or a login."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.field("reason", _("Say why these records are the same person."))
    if survivor.pk == duplicate.pk:
        raise Conflict(_("A record cannot be merged into itself."))
    for emp in (survivor, duplicate):
        authz.get_for(acting_user, Perm.EMPLOYEE_CHANGE, Employee, pk=emp.pk)
    # Lock both rows in id order (two merges of the same pair cannot deadlock).
    locked = {
        e.pk: e
        for e in Employee.objects.select_for_update()
        .filter(pk__in=[survivor.pk, duplicate.pk])
        .order_by("pk")
    }
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    _check_mergeable(survivor, duplicate)

    moved, skipped, manager_change = _move_records(survivor, duplicate)
    changes = _copy_details(survivor, duplicate, manager_change)
    survivor_fields = [
        *COPIED_FIELDS,
        *idcard.SEALED_FIELDS,
        "attributes",
        "protected_attributes",
        "manager",
    ]
    survivor.save(update_fields=[*survivor_fields, "updated_at"])
    duplicate.merged_into = survivor
    duplicate.save(update_fields=["merged_into", "updated_at"])

    trail.record(
        E.EMPLOYEES_MERGED,
        actor=acting_user,
        subject=survivor,
        changes=changes,
        extra={
            "duplicate_id": duplicate.pk,
            "duplicate_number": duplicate.employee_number,
            "duplicate_business_unit_id": duplicate.business_unit_id,
            "reason": reason,
            "moved": moved,
            "skipped": skipped,
        },
    )
    return MergeResult(survivor, duplicate, moved, skipped)
