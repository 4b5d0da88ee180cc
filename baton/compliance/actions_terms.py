"""Changes to termination terms and rule parameters: recording how a case ends in law (HR),
the leaver's protected status (LCL 42), the union notice (LCL 43), an agreed early release
(LCL 37), and the city wage parameters (group HR admins). Each is one audited transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.compliance import rules
from baton.compliance import terminations as T
from baton.compliance.models.rules import CityParameter, Confidence, RuleSource, TerminationTerms
from baton.core.errors import Conflict, InvalidInput
from baton.handover.models import OPEN_CASE_STATES, CaseState, ExitCase
from baton.handover.rules import is_leaver
from baton.org.models import Contract

__all__ = [
    "agree_early_release",
    "assess_case",
    "case_inputs",
    "record_terms",
    "record_union_notice",
    "save_city_parameter",
    "set_protection",
]


# ---------------------------------------------------------------- reading a case


def _contract_for(case: ExitCase) -> Contract | None:
    """The contract in force on the last day (else the latest one with the case's entity)."""
    qs = Contract.objects.filter(employee_id=case.employee_id).order_by("-start_date")
    on_day = qs.filter(start_date__lte=case.last_working_day).first()
    return on_day or qs.first()


def case_inputs(case: ExitCase) -> dict[str, Any]:
    """What the date rules need from a case: jurisdiction, hire date, probation, contract end."""
    contract = _contract_for(case)
    return {
        "jurisdiction": rules.jurisdiction_for(case),
        "hire_date": case.employee.hire_date,
        "probation_end": contract.probation_end_date if contract else None,
        "contract_end": contract.end_date if contract else None,
    }


def default_notice_date(case: ExitCase) -> dt.date:
    """Until HR records the terms, notice counts as given on the (local) day the case was
    submitted, else opened."""
    return timezone.localdate(case.submitted_at or case.opened_at)


def assess_case(
    case: ExitCase,
    terms: TerminationTerms | None = None,
    *,
    last_day: dt.date | None = None,
) -> T.Assessment:
    """The legal assessment of a case's (recorded or default) terms against its last day."""
    terms = terms if terms is not None else TerminationTerms.objects.filter(case=case).first()
    code = terms.termination_type if terms else T.for_case(case)
    notice_date = terms.notice_date if terms else default_notice_date(case)
    return T.assess(
        code,
        notice_date,
        last_day or case.last_working_day,
        pay_in_lieu=bool(terms and terms.pay_in_lieu),
        protection=terms.protection if terms else None,
        early_release_agreed=bool(terms and terms.early_release_agreed_at),
        **case_inputs(case),
    )


# ---------------------------------------------------------------- authorisation


def _lock_case(case: ExitCase, acting_user: Any) -> ExitCase:
    """Lock the case for HR: CASE_MANAGE on it, and never on one's own exit."""
    if not authz.visible_to(
        acting_user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)
    ).exists():
        raise PermissionDenied(_("Only HR records the termination terms of this case."))
    if is_leaver(acting_user, case):
        raise PermissionDenied(_("Nobody manages their own exit case."))
    return (
        ExitCase.objects.select_for_update()
        .select_related("employee", "employee__work_city", "legal_entity")
        .get(pk=case.pk)
    )


def _lock_terms(case: ExitCase) -> TerminationTerms:
    terms = TerminationTerms.objects.select_for_update().filter(case=case).first()
    if terms is None:
        raise Conflict(_("Record the termination terms first."))
    return terms


def _date(data: Mapping[str, Any], name: str, *, required: bool = False) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise InvalidInput.field(name, _("This date is required."))
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput.field(name, _("Enter a date as YYYY-MM-DD.")) from None


def _protection(value: Any) -> dict[str, bool]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput.field("protection", _("Give the protected statuses as flags."))
    unknown = sorted(set(value) - set(T.PROTECTION_FLAGS))
    if unknown:
        raise InvalidInput.field(
            "protection",
            _("Unknown protected status: %(flags)s.") % {"flags": ", ".join(unknown)},
        )
    return {k: bool(v) for k, v in value.items() if v}


def _refuse(assessment: T.Assessment) -> None:
    if assessment.blocked:
        raise Conflict(" ".join(assessment.blocked))
    if assessment.last_day_errors:
        raise InvalidInput(
            assessment.last_day_errors[0], {"last_working_day": assessment.last_day_errors}
        )


def _snapshot(terms: TerminationTerms | None) -> dict[str, Any]:
    if terms is None:
        return {}
    return {
        "termination_type": terms.termination_type,
        "notice_date": terms.notice_date,
        "pay_in_lieu": terms.pay_in_lieu,
        "protection": terms.active_protection,
        "early_release_agreed_at": terms.early_release_agreed_at,
        "union_notified_at": terms.union_notified_at,
    }


def _audit(event: E, case: ExitCase, terms: TerminationTerms, actor: Any, **kwargs: Any) -> None:
    """Terms are audited on the terms row (filed under the case's unit for HR and auditors),
    not on the case: protected statuses such as a pregnancy must not reach the case timeline,
    which managers, IT and finance read."""
    trail.record_many(
        [
            trail.Change(
                event,
                terms,
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
                **kwargs,
            )
        ],
        actor=actor,
    )


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}


def _move_last_day(case: ExitCase, last_day: dt.date | None, acting_user: Any) -> None:
    if last_day is not None and last_day != case.last_working_day:
        from baton.handover.actions import change_last_day

        change_last_day(case, last_day, acting_user=acting_user)
        case.last_working_day = last_day


# ---------------------------------------------------------------- actions


@transaction.atomic
def record_terms(case: ExitCase, data: Mapping[str, Any], *, acting_user: Any) -> TerminationTerms:
    """Record (or correct) how the case ends in law. Refuses a type LCL 42 blocks, a type that
    does not fit the case's exit type, and a last day before the lawful earliest unless notice
    is paid in lieu (where allowed) or an early release was agreed. `data` may carry
    `last_working_day` to move the case's last day in the same transaction."""
    case = _lock_case(case, acting_user)
    if case.state not in (*OPEN_CASE_STATES, CaseState.CLEARED):
        raise Conflict(_("The case is closed, withdrawn or cancelled."))
    code = str(data.get("termination_type") or "")
    if code not in T.TYPES:
        raise InvalidInput.field("termination_type", _("Unknown termination type."))
    if not T.compatible(code, case.exit_type):
        raise InvalidInput.field(
            "termination_type",
            _("%(type)s does not fit an exit of type “%(exit)s”.")
            % {"type": T.TYPES[code].label, "exit": case.get_exit_type_display()},
        )
    notice_date = _date(data, "notice_date", required=True)
    assert notice_date is not None
    if notice_date < case.employee.hire_date:
        raise InvalidInput.field("notice_date", _("The notice date is before the hire date."))
    last_day = _date(data, "last_working_day") or case.last_working_day
    terms = TerminationTerms.objects.select_for_update().filter(case=case).first()
    before = _snapshot(terms)
    protection = (
        _protection(data["protection"])
        if "protection" in data
        else (terms.protection if terms else {})
    )
    early = (
        _date(data, "early_release_agreed_at")
        if "early_release_agreed_at" in data
        else (terms.early_release_agreed_at if terms else None)
    )
    early_note = str(data.get("early_release_note", terms.early_release_note if terms else ""))
    if early is not None and not early_note.strip():
        raise InvalidInput.field(
            "early_release_note", _("Describe the early-release agreement (who, how, where).")
        )
    union_on = (
        _date(data, "union_notified_at")
        if "union_notified_at" in data
        else (terms.union_notified_at if terms else None)
    )
    pay_in_lieu = bool(data.get("pay_in_lieu", terms.pay_in_lieu if terms else False))
    assessment = T.assess(
        code,
        notice_date,
        last_day,
        pay_in_lieu=pay_in_lieu,
        protection=protection,
        early_release_agreed=early is not None and T.TYPES[code].initiator == "employee",
        **case_inputs(case),
    )
    _refuse(assessment)
    if pay_in_lieu and not assessment.notice.pay_in_lieu_allowed:
        raise InvalidInput.field(
            "pay_in_lieu", _("Pay in lieu of notice does not apply to this termination.")
        )
    values = {
        "termination_type": code,
        "notice_date": notice_date,
        "pay_in_lieu": pay_in_lieu,
        "protection": protection,
        "protection_note": str(data.get("protection_note", terms.protection_note if terms else "")),
        "early_release_agreed_at": early,
        "early_release_note": early_note,
        "union_notified_at": union_on,
        "union_evidence": str(data.get("union_evidence", terms.union_evidence if terms else "")),
    }
    if terms is None:
        terms = TerminationTerms.objects.create(case=case, recorded_by=acting_user, **values)
    else:
        for k, v in values.items():
            setattr(terms, k, v)
        terms.save()
    _move_last_day(case, last_day, acting_user)
    _audit(
        E.TERMINATION_RECORDED,
        case,
        terms,
        acting_user,
        changes=_diff(before, _snapshot(terms)),
        extra={
            "case": case.pk,
            "earliest_last_day": assessment.notice.earliest,
            "legal_basis": list(assessment.notice.legal_basis),
            "steps": [s.code for s in assessment.steps],
        },
    )
    return terms


@transaction.atomic
def set_protection(
    case: ExitCase,
    flags: Mapping[str, Any],
    *,
    acting_user: Any,
    note: str = "",
) -> TerminationTerms:
    """Record the leaver's LCL 42 protected statuses. The facts are recorded even when they
    make the recorded termination unlawful: the assessment then shows the block."""
    case = _lock_case(case, acting_user)
    terms = _lock_terms(case)
    new = _protection(flags)
    old = terms.active_protection
    terms.protection = new
    if note:
        terms.protection_note = note
    terms.save(update_fields=["protection", "protection_note", "updated_at"])
    blocked = assess_case(case, terms).blocked
    _audit(
        E.PROTECTION_FLAG_SET,
        case,
        terms,
        acting_user,
        changes={"protection": (old, terms.active_protection)},
        extra={"case": case.pk, "blocks_termination": bool(blocked)},
    )
    return terms


@transaction.atomic
def record_union_notice(
    case: ExitCase,
    notified_on: dt.date,
    *,
    acting_user: Any,
    evidence: str,
) -> TerminationTerms:
    """Record that the union was notified in advance (LCL 43), with the evidence of the
    notice and of the union's response."""
    case = _lock_case(case, acting_user)
    terms = _lock_terms(case)
    if notified_on > timezone.localdate():
        raise InvalidInput.field("notified_on", _("The union notice date is in the future."))
    if not evidence.strip():
        raise InvalidInput.field(
            "evidence", _("Describe the evidence of the notice and the union's response.")
        )
    old = terms.union_notified_at
    terms.union_notified_at = notified_on
    terms.union_evidence = evidence
    terms.save(update_fields=["union_notified_at", "union_evidence", "updated_at"])
    trail.record(
        E.UNION_NOTIFIED,
        actor=acting_user,
        subject=case,
        changes={"union_notified_at": (old, notified_on)},
        extra={"after_last_day": notified_on > case.last_working_day},
    )
    return terms


@transaction.atomic
def agree_early_release(
    case: ExitCase,
    agreed_on: dt.date,
    *,
    acting_user: Any,
    note: str,
    last_working_day: dt.date | None = None,
) -> TerminationTerms:
    """Record the written agreement that releases a resigning employee before their notice
    ends (labor-rules.md §8 item 7), optionally moving the last day to the agreed one."""
    case = _lock_case(case, acting_user)
    terms = _lock_terms(case)
    if T.TYPES[terms.termination_type].initiator != "employee":
        raise Conflict(_("An early release applies only to an employee's resignation."))
    if not note.strip():
        raise InvalidInput.field("note", _("Describe the agreement (who, how, where)."))
    if agreed_on > timezone.localdate():
        raise InvalidInput.field("agreed_on", _("The agreement date is in the future."))
    old = terms.early_release_agreed_at
    terms.early_release_agreed_at = agreed_on
    terms.early_release_note = note
    terms.save(update_fields=["early_release_agreed_at", "early_release_note", "updated_at"])
    if last_working_day is not None:
        if last_working_day < terms.notice_date:
            raise InvalidInput.field(
                "last_working_day", _("The last day is before the notice date.")
            )
        _move_last_day(case, last_working_day, acting_user)
    trail.record(
        E.EARLY_RELEASE_AGREED,
        actor=acting_user,
        subject=case,
        changes={"early_release_agreed_at": (old, agreed_on)},
        extra={"last_working_day": case.last_working_day},
    )
    return terms


def _money(data: Mapping[str, Any], name: str) -> Decimal:
    try:
        value = Decimal(str(data.get(name, "")))
    except (InvalidOperation, ValueError):
        raise InvalidInput.field(name, _("Enter an amount such as 12000.00.")) from None
    if not value.is_finite() or value <= 0 or value >= Decimal("1e10"):
        raise InvalidInput.field(name, _("Enter an amount above zero."))
    return value.quantize(Decimal("0.01"))


@transaction.atomic
def save_city_parameter(
    city_code: str, effective_from: dt.date, data: Mapping[str, Any], *, acting_user: Any
) -> CityParameter:
    """Create or correct a city's wage parameters from a date (group HR admins). A saved row
    is marked as edited, so later pack reloads keep it."""
    authz.check_unit_setting(
        acting_user,
        Perm.ORG_MANAGE,
        None,
        _("Only a group administrator changes the city wage parameters."),
    )
    code = city_code.strip().upper()
    if not code or len(code) > 16:
        raise InvalidInput.field("city_code", _("Enter a city code."))
    avg = _money(data, "avg_monthly_wage")
    minimum = _money(data, "min_monthly_wage")
    if minimum > avg:
        raise InvalidInput.field(
            "min_monthly_wage", _("The minimum wage is above the average wage.")
        )
    days = data.get("final_pay_working_days")
    if days in ("", None):
        days = None
    else:
        try:
            days = int(days)
        except (TypeError, ValueError):
            raise InvalidInput.field("final_pay_working_days", _("Enter whole days.")) from None
        if not 0 <= days <= 60:
            raise InvalidInput.field("final_pay_working_days", _("Enter 0 to 60 days."))
    confidence = str(data.get("confidence") or Confidence.TO_CONFIRM)
    if confidence not in Confidence.values:
        raise InvalidInput.field("confidence", _("Unknown confidence."))
    row = (
        CityParameter.objects.select_for_update()
        .filter(city_code=code, effective_from=effective_from)
        .first()
    )
    fields = {
        "avg_monthly_wage": avg,
        "min_monthly_wage": minimum,
        "final_pay_working_days": days,
        "confidence": confidence,
        "notes": str(data.get("notes", row.notes if row else "")),
        "legal_basis": list(data.get("legal_basis") or (row.legal_basis if row else [])),
    }
    old = {k: getattr(row, k) for k in fields} if row else {}
    if row is None:
        row = CityParameter(city_code=code, effective_from=effective_from)
    for k, v in fields.items():
        setattr(row, k, v)
    row.source = RuleSource.USER
    row.updated_by = acting_user
    row.save()
    trail.record(
        E.RULE_PARAMETER_SAVED,
        actor=acting_user,
        subject=row,
        changes=_diff(old, fields),
        extra={"city_code": code, "effective_from": effective_from},
    )
    return row
