"""Every change to connected systems and to their revocations.

- A revocation's handover task: accepted when the revocation is done (by the system, whose
  call log is the evidence, or by IT who did it by hand), turned into IT's manual task when the
  connector gives up (with an in-app alert to IT), and back when IT retries.
- Connected systems (the identity provider, OA, CRM, …): create, change, set secrets (never
  shown back), test the connection. Group administrators manage group-wide systems; an HRBP
  those of their business units. Only administrators may point one at an internal address.
- IT's actions on a leaver's revocations: retry now, mark revoked by hand with a note, and link
  the leaver's account in a system (the login and id the revocation uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import Role, RoleAssignment
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as core
from baton.core import outbound
from baton.core.errors import Conflict, InvalidInput
from baton.core.sealed import seal, unseal
from baton.handover.actions.cases import clear_if_done
from baton.handover.actions.tasks import task_change
from baton.handover.models import DONE_TASK_STATES, EvidenceKind, ExitCase, HandoverTask, TaskState
from baton.handover.rules import is_leaver
from baton.integrations import connectors, manifest, queue
from baton.integrations.actions.system_tokens import sync_scope
from baton.integrations.calls import CallLog
from baton.integrations.models import (
    AccountLink,
    ConnectedSystem,
    Revocation,
    RevocationState,
    SystemKind,
)
from baton.integrations.rules import check_system_scope
from baton.notify.models import DeliveryKind, Notification
from baton.org.models import Department, Employee, LegalEntity

R = RevocationState
SYSTEM_FIELDS = (
    "name",
    "legal_entity",
    "base_url",
    "internal",
    "active",
    "revokes_access",
    "pulls_data",
    "transfers_customers",
    "config",
    "revoke_hour",
    "delete_after_days",
    "max_attempts",
)
MATCH_CHOICES = ("email", "employee_number", "phone", "username")
MAX_SECRETS = 20


# ================================================================ connected systems


def _id(value: Any) -> int | None:
    value = getattr(value, "pk", value)
    return int(value) if value not in (None, "") else None


def _check_config(kind: str, config: Any, secret_names: set[str] | None = None) -> dict[str, Any]:
    if kind == SystemKind.REST:
        # The manifest, checked whole: every problem named by its place.
        return manifest.clean_config(config, secret_names=secret_names)
    if not isinstance(config, dict):
        raise InvalidInput.field("config", _("The configuration is a JSON object."))
    if kind == SystemKind.SCIM:
        match = config.get("match", "email")
        if match not in MATCH_CHOICES:
            raise InvalidInput.field(
                "config",
                _("match must be one of: %(choices)s.") % {"choices": ", ".join(MATCH_CHOICES)},
            )
        sessions = config.get("sessions_path", "")
        if sessions and (not isinstance(sessions, str) or not sessions.startswith("/")):
            raise InvalidInput.field(
                "config",
                _('sessions_path is a path below the base URL, e.g. "/Users/{id}/sessions".'),
            )
        attribute = config.get("filter_attribute", "userName")
        if not isinstance(attribute, str) or not attribute.replace(".", "").isalnum():
            raise InvalidInput.field(
                "config",
                _('filter_attribute is a SCIM attribute, e.g. "userName" or "emails.value".'),
            )
    return config


def _check_system(
    data: Mapping[str, Any],
    user: Any,
    *,
    kind: str,
    business_unit_id: int | None,
    system: ConnectedSystem | None = None,
    secret_names: set[str] | None = None,
) -> None:
    internal = bool(data.get("internal", system.internal if system else False))
    base_url = data.get("base_url", system.base_url if system else None)
    moved = system is None or (base_url != system.base_url or internal != system.internal)
    # Allowing an internal address, moving an internal system elsewhere or changing what it
    # calls (a manifest's steps may name their own URLs) is an administrator's decision;
    # renaming one is not.
    steps_changed = system is not None and "config" in data and data["config"] != system.config
    if internal and (moved or steps_changed) and not authz.has_perm(user, Perm.USERS_MANAGE):
        raise InvalidInput.field(
            "internal", _("Only administrators may allow or change internal addresses.")
        )
    if base_url is not None and moved:
        try:
            outbound.check_url(str(base_url), internal=internal)
        except outbound.Refused as exc:
            raise InvalidInput.field("base_url", str(exc)) from None
    entity_id = _id(data.get("legal_entity"))
    if entity_id is not None:
        entity = LegalEntity.objects.filter(pk=entity_id).values_list("business_unit_id", flat=True)
        if not entity.exists():
            raise InvalidInput.field("legal_entity", _("Unknown legal entity."))
        if business_unit_id is not None and entity.first() not in (None, business_unit_id):
            raise InvalidInput.field(
                "legal_entity", _("The legal entity belongs to another business unit.")
            )
    hour = data.get("revoke_hour")
    if hour is not None and not 0 <= int(hour) <= 23:
        raise InvalidInput.field("revoke_hour", _("An hour of the day, 0 to 23."))
    if "config" in data:
        _check_config(kind, data["config"], secret_names)
    _check_capabilities(kind, data, system)


CAPABILITIES = ("revokes_access", "pulls_data", "transfers_customers")


def _check_capabilities(kind: str, data: Mapping[str, Any], system: ConnectedSystem | None) -> None:
    """What a system is set to do must be something its kind (or manifest) can do: a WeCom
    system revokes nothing, a SCIM one neither pulls nor transfers, a REST one needs the flows."""
    wanted = {
        name: bool(data.get(name, getattr(system, name) if system else name == "revokes_access"))
        for name in CAPABILITIES
    }
    config = data.get("config", system.config if system else {})
    if kind == SystemKind.REST:
        try:
            flows = manifest.load(config or {})
        except manifest.ManifestError:
            return  # named by the configuration check
        able = {
            "revokes_access": flows.has("find") and flows.has("revoke"),
            "pulls_data": bool(flows.pulls),
            "transfers_customers": flows.has("reassign_customer"),
        }
    else:
        able = {
            "revokes_access": kind == SystemKind.SCIM,
            "pulls_data": kind == SystemKind.WECOM,
            "transfers_customers": kind == SystemKind.WECOM,
        }
    labels = {
        "revokes_access": _(
            "This system cannot revoke access (a REST manifest needs find and revoke steps)."
        ),
        "pulls_data": _(
            "This system cannot pull business data (a REST manifest needs a pull section)."
        ),
        "transfers_customers": _(
            "This system cannot transfer customers (a REST manifest needs reassign_customer steps)."
        ),
    }
    for name in CAPABILITIES:
        if wanted[name] and not able[name]:
            raise InvalidInput.field(name, labels[name])


def _clean_secrets(secrets: Mapping[str, Any]) -> dict[str, str]:
    if len(secrets) > MAX_SECRETS or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in secrets.items()
    ):
        raise InvalidInput.field("secrets", _("Secrets are names with text values."))
    return {k: v for k, v in secrets.items() if v}


@transaction.atomic
def create_system(
    data: Mapping[str, Any], secrets: Mapping[str, Any] | None = None, *, acting_user: Any
) -> ConnectedSystem:
    """A new connected system. Its secrets (e.g. `token`) are sealed on the row and never
    shown back; the audit trail names them, without values."""
    data = dict(data)
    bu_id = _id(data.pop("business_unit_id", None) or data.pop("business_unit", None))
    kind = str(data.get("kind", ""))
    if kind not in SystemKind.values:
        raise InvalidInput.field("kind", _("Unknown kind of system."))
    check_system_scope(acting_user, bu_id)
    cleaned = _clean_secrets(secrets or {})
    _check_system(data, acting_user, kind=kind, business_unit_id=bu_id, secret_names=set(cleaned))
    if "legal_entity" in data:
        data["legal_entity_id"] = _id(data.pop("legal_entity"))
    system = core.create(
        ConnectedSystem,
        {**data, "business_unit_id": bu_id, "created_by": acting_user},
        acting_user=acting_user,
        event=E.SYSTEM_CREATED,
        extra={"secrets": sorted(cleaned)},
    )
    if cleaned:
        seal(system, cleaned)
        system.save(update_fields=["secrets_blob", "secrets_key_id"])
    return system


def secrets_moved_notice() -> str:
    return _(
        "The address now points to another host, so the stored secrets were removed (they "
        "are never sent to a host they were not given for). Enter them again."
    )


@transaction.atomic
def update_system(
    system: ConnectedSystem,
    data: Mapping[str, Any],
    secrets: Mapping[str, Any] | None = None,
    *,
    acting_user: Any,
) -> ConnectedSystem:
    """Change a system's settings (its kind and business unit stay: make a new one).

    Secrets belong to the host they were given for: when `base_url` moves to another scheme,
    host or port and no new secrets come with the change, the stored ones are removed (and
    audited), so whoever may edit the address cannot have the old bearer token or corp secret
    sent to a host of their choosing. `updated.notices` says so."""
    check_system_scope(acting_user, system.business_unit_id)
    stored = unseal(system)
    cleaned = _clean_secrets(secrets) if secrets is not None else None
    _check_system(
        data,
        acting_user,
        kind=system.kind,
        business_unit_id=system.business_unit_id,
        system=system,
        secret_names=set(cleaned if cleaned is not None else stored),
    )
    old_origin = outbound.origin(system.base_url)
    new_origin = outbound.origin(str(data.get("base_url", system.base_url)))
    values = dict(data)
    if "legal_entity" in values:
        values["legal_entity_id"] = _id(values.pop("legal_entity"))
    updated = core.update(
        system,
        values,
        acting_user=acting_user,
        event=E.SYSTEM_UPDATED,
        allowed={*SYSTEM_FIELDS, "legal_entity_id"},
    )
    notices: list[str] = []
    if cleaned is not None:
        updated = set_system_secrets(updated, cleaned, acting_user=acting_user)
    elif new_origin != old_origin and stored:
        locked = ConnectedSystem.objects.select_for_update().get(pk=updated.pk)
        locked.secrets_blob, locked.secrets_key_id = b"", ""
        locked.save(update_fields=["secrets_blob", "secrets_key_id", "updated_at"])
        trail.record(
            E.SYSTEM_SECRETS_CHANGED,
            actor=acting_user,
            subject=locked,
            extra={
                "names": [],
                "removed": sorted(stored),
                "reason": "base_url moved to another host",
                "from": "{}://{}:{}".format(*old_origin),
                "to": "{}://{}:{}".format(*new_origin),
            },
        )
        updated = locked
        notices.append(secrets_moved_notice())
    sync_scope(updated, acting_user=acting_user)
    updated.notices = notices  # type: ignore[attr-defined]
    return updated


@transaction.atomic
def set_system_secrets(
    system: ConnectedSystem, secrets: Mapping[str, Any], *, acting_user: Any
) -> ConnectedSystem:
    """Replace the system's secrets (all of them). Audited by name only."""
    check_system_scope(acting_user, system.business_unit_id)
    cleaned = _clean_secrets(secrets)
    locked = ConnectedSystem.objects.select_for_update().get(pk=system.pk)
    seal(locked, cleaned)
    locked.save(update_fields=["secrets_blob", "secrets_key_id", "updated_at"])
    trail.record(
        E.SYSTEM_SECRETS_CHANGED,
        actor=acting_user,
        subject=locked,
        extra={"names": sorted(cleaned)},
    )
    return locked


def test_system(system: ConnectedSystem, *, acting_user: Any) -> tuple[bool, str]:
    """Call the system now with its settings and secrets (the calls go to its call log) and
    say whether it answered as expected."""
    check_system_scope(acting_user, system.business_unit_id)
    system = ConnectedSystem.objects.get(pk=system.pk)
    try:
        connector: Any = connectors.for_system(system, CallLog(system))
        tester = getattr(connector, "test", None)
        if tester is None:
            ok, message = False, _("This kind of system has no connection test.")
        else:
            ok, message = tester()
    except Exception as exc:  # a connector's failure is the test's answer, not a crash
        ok, message = False, f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        trail.record(
            E.SYSTEM_TESTED,
            actor=acting_user,
            subject=system,
            extra={"ok": ok, "message": message[:500]},
        )
    return ok, message


# ================================================================ a revocation's task


def task_title(system: ConnectedSystem, *, manual: bool = False) -> str:
    if manual:
        return _("Revoke access by hand: %(system)s") % {"system": system.name}
    return _("Revoke access: %(system)s") % {"system": system.name}


def accept_revocation_task(
    case: ExitCase,
    rev: Revocation,
    note: str,
    *,
    actor: Any = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Accept the revocation's task — by the system when its calls prove the outcome, or by
    IT who revoked by hand — and let the case move on (handover started, cleared)."""
    if rev.task_id is None:
        return
    task = HandoverTask.objects.select_for_update().get(pk=rev.task_id)
    if task.state in DONE_TASK_STATES:
        return
    task.case = case
    task.decided_at = timezone.now()
    task.last_comment = note[:2000]
    task.note = task.note or note
    # handover's accept_task checks the approver and a submitted state; the system accepts from
    # any open state, so it records the same change through handover's public parts.
    task_change(
        task,
        TaskState.ACCEPTED,
        E.TASK_ACCEPTED,
        acting_user=actor,
        fields=["decided_at", "last_comment", "note"],
        extra={"revocation": rev.pk, "comment": note[:500], **(extra or {})},
    )
    clear_if_done(case, acting_user=actor)


def set_task_manual(case: ExitCase, rev: Revocation, note: str, *, manual: bool) -> None:
    """Turn the revocation's task into IT's manual one (signed off by IT), or back."""
    if rev.task_id is None:
        return
    task = HandoverTask.objects.select_for_update().get(pk=rev.task_id)
    if task.state in DONE_TASK_STATES:
        return
    title = task_title(rev.system, manual=manual)
    kind = EvidenceKind.SIGNOFF if manual else EvidenceKind.SYSTEM
    changes = {
        k: (getattr(task, k), v)
        for k, v in (("title", title), ("evidence_kind", kind), ("note", note))
        if getattr(task, k) != v
    }
    if not changes:
        return
    task.title, task.evidence_kind, task.note = title, kind, note
    task.save(update_fields=["title", "evidence_kind", "note", "updated_at"])
    trail.record(
        E.TASK_UPDATED,
        actor=None,
        subject=task,
        changes=changes,
        extra={"case": case.pk, "revocation": rev.pk, "manual": manual},
    )


def notify_it(
    case: ExitCase,
    title: str,
    body: str,
    *,
    task_id: int | None = None,
    roles: tuple[str, ...] = ("it",),
    url: str = "",
) -> int:
    """An in-app alert to the holders of `roles` (IT by default) whose scope covers the leaver
    (group administrators when nobody does); never to the leaver."""
    path = Department.objects.filter(pk=case.department_id).values_list("path", flat=True).first()

    def covers(a: RoleAssignment) -> bool:
        if not (a.business_unit_id or a.legal_entity_id or a.department_id):
            return True
        if a.business_unit_id == case.business_unit_id or a.legal_entity_id == case.legal_entity_id:
            return True
        return bool(a.department_id and path and path.startswith(a.department.path))  # type: ignore[union-attr]

    def holders(role: str) -> set[int]:
        rows = (
            RoleAssignment.objects.filter(role=role, user__is_active=True)
            .exclude(user__employee_id=case.employee_id)
            .select_related("department")
        )
        return {a.user_id for a in rows if covers(a)}

    users = set().union(*(holders(r) for r in roles)) or holders(Role.GROUP_ADMIN)
    url = url or (
        reverse("handover:task", args=[task_id])
        if task_id
        else reverse("handover:case", args=[case.pk])
    )
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=u,
                kind=DeliveryKind.ESCALATION,
                title=title[:300],
                body=body,
                url=url,
                case_id=case.pk,
            )
            for u in sorted(users)
        ]
    )
    return len(users)


# ================================================================ IT's actions on revocations


def _require_it(user: Any, case: ExitCase, *, or_hr: bool = False) -> None:
    """IT staff whose queue covers the leaver (HR too, where `or_hr`); never on one's own exit."""
    if is_leaver(user, case):
        raise PermissionDenied(_("Nobody handles the revocation of their own access."))
    if not authz.has_perm(user, Perm.CASE_PARTICIPATE) and not (
        or_hr and authz.has_perm(user, Perm.CASE_MANAGE)
    ):
        raise PermissionDenied(_("You do not have permission to do this."))
    if authz.in_queue(user, "it", case):
        return
    if (
        or_hr
        and authz.visible_to(user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)).exists()
    ):
        return
    raise PermissionDenied(_("Only IT handles this leaver's access revocations."))


def _lock(rev: Revocation, user: Any) -> tuple[ExitCase, Revocation]:
    """The revocation's case and the revocation, locked in that order; 404 if not visible."""
    if not authz.visible_to(user, Perm.CASE_VIEW, Revocation.objects.filter(pk=rev.pk)).exists():
        raise Http404(_("Not found, or not visible to you."))
    case = (
        ExitCase.objects.select_for_update()
        .select_related("employee", "legal_entity")
        .get(pk=rev.case_id)
    )
    locked = (
        Revocation.objects.select_for_update(of=("self",))
        .select_related("system", "employee")
        .get(pk=rev.pk)
    )
    locked.case = case
    return case, locked


@transaction.atomic
def retry_revocation(rev: Revocation, *, acting_user: Any) -> Revocation:
    """Try again now: a failed revocation gets its attempts back, and its task returns from
    IT's manual work to the system."""
    case, rev = _lock(rev, acting_user)
    _require_it(acting_user, case, or_hr=True)
    if rev.state not in (R.FAILED, R.RETRY, R.ABSENT):
        raise Conflict(
            _("Only a failed, retrying or not-found revocation can be retried (it is %(state)s).")
            % {"state": rev.get_state_display()}
        )
    old = rev.state
    now = timezone.now()
    rev.state, rev.next_attempt_at, rev.claimed_by, rev.updated_at = R.RETRY, now, "", now
    if old in (R.FAILED, R.ABSENT):
        rev.attempts = 0
    rev.save(update_fields=["state", "next_attempt_at", "attempts", "claimed_by", "updated_at"])
    trail.record(
        E.REVOCATION_RETRIED,
        actor=acting_user,
        subject=rev,
        changes={"state": (old, R.RETRY)},
        extra={"case": case.pk, "system": rev.system_id},
    )
    if old == R.FAILED:
        set_task_manual(case, rev, _("Retried by %(user)s.") % {"user": acting_user}, manual=False)
    queue.run_revocations_on_commit()
    return rev


@transaction.atomic
def mark_revoked_manually(rev: Revocation, note: str, *, acting_user: Any) -> Revocation:
    """IT revoked the access by hand (the connector could not): record it with a note saying
    what was done; the task is accepted with it."""
    case, rev = _lock(rev, acting_user)
    _require_it(acting_user, case)
    note = (note or "").strip()
    if not note:
        raise InvalidInput.field("note", _("Say what was done, and where."))
    if rev.state not in (R.FAILED, R.RETRY, R.SCHEDULED, R.ABSENT):
        raise Conflict(
            _("This revocation cannot be marked as done by hand (it is %(state)s).")
            % {"state": rev.get_state_display()}
        )
    old = rev.state
    now = timezone.now()
    rev.state, rev.revoked_at, rev.claimed_by, rev.updated_at = R.MANUAL, now, "", now
    rev.outcome = {**rev.outcome, "manual_note": note[:2000], "by": acting_user.pk}
    rev.save(update_fields=["state", "revoked_at", "outcome", "claimed_by", "updated_at"])
    trail.record(
        E.ACCESS_REVOKED_MANUALLY,
        actor=acting_user,
        subject=rev,
        changes={"state": (old, R.MANUAL)},
        extra={"case": case.pk, "system": rev.system_id, "note": note[:500]},
    )
    accept_revocation_task(case, rev, note, actor=acting_user)
    return rev


@transaction.atomic
def link_account(
    system: ConnectedSystem,
    employee: Employee,
    login: str,
    external_id: str = "",
    *,
    acting_user: Any,
) -> AccountLink:
    """Record the employee's account in the system (the login it is found by, and the
    system's own id when known): IT of the employee, or who manages the system."""
    login, external_id = (login or "").strip(), (external_id or "").strip()
    if not login:
        raise InvalidInput.field("login", _("Give the login."))
    if len(login) > 200 or len(external_id) > 200:
        raise InvalidInput.field("login", _("At most 200 characters."))
    in_queue = authz.visible_to(acting_user, Perm.QUEUE_IT, Employee.objects.filter(pk=employee.pk))
    if not (authz.has_perm(acting_user, Perm.CASE_PARTICIPATE) and in_queue.exists()):
        check_system_scope(acting_user, system.business_unit_id)
    if authz.access_for(acting_user).employee_id == employee.pk:
        raise PermissionDenied(_("Nobody links their own accounts."))
    link = AccountLink.objects.select_for_update().filter(system=system, employee=employee).first()
    old = (link.login, link.external_id) if link is not None else (None, None)
    if old == (login, external_id):
        return link  # type: ignore[return-value]
    if link is None:
        link = AccountLink(system=system, employee=employee)
    link.login, link.external_id = login, external_id
    link.save()
    trail.record(
        E.ACCOUNT_LINKED,
        actor=acting_user,
        subject=link,
        changes={"login": (old[0], login), "external_id": (old[1], external_id)},
        extra={"system": system.pk},
    )
    return link
