"""Records about one employee: contracts, agreements, history, pay, ratings, leave, attendance.

Each row names its employee by employee number (or previous system ID); the row is rejected
when nobody has it or the person is outside what the importing user may change.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from baton.access import authz
from baton.access.authz import Perm
from baton.imports.kinds.base import Column, Kind, RowError, Scope, cell
from baton.imports.values import (
    CellError,
    check_length,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    parse_json_object,
    parse_time,
)
from baton.org.models import (
    Agreement,
    AgreementType,
    AttendanceDay,
    AttendanceStatus,
    CompensationChange,
    CompensationChangeType,
    Contract,
    ContractType,
    Employee,
    LeaveRecord,
    LeaveType,
    LegalEntity,
    LifecycleEvent,
    LifecycleEventType,
    PerformanceRating,
)

EMPLOYEE = Column("employee", _l("employee number"), True)


class RecordKind(Kind):
    """A kind whose rows belong to an employee (column `employee`)."""

    perm = Perm.RECORDS_CHANGE
    validate_by_writing = False
    # Which employee rows the export walks (the path from the record to its employee).

    def prepare(self) -> None:
        self.scope = Scope.of(self.run.user, self.perm)
        if self.scope.empty:
            raise authz.PermissionDenied(_("You may not change employee records."))
        people: dict[str, int] = {}
        legacy: dict[str, int] = {}
        denied: set[str] = set()
        rows = Employee.objects.filter(merged_into__isnull=True).values_list(
            "employee_number",
            "legacy_id",
            "id",
            "business_unit_id",
            "legal_entity_id",
            "department__path",
        )
        for number, legacy_id, pk, bu, entity, path in rows.iterator(chunk_size=20000):
            if self.scope.allows(bu, entity, path):
                people[number] = pk
                if legacy_id:
                    legacy[legacy_id] = pk
            else:
                denied.add(number)
                if legacy_id:
                    denied.add(legacy_id)
        # An employee number wins over a previous-system ID that happens to look the same.
        for legacy_id, pk in legacy.items():
            if legacy_id not in people and legacy_id not in denied:
                people[legacy_id] = pk
        self.people, self.denied = people, denied
        self.date_format = self.compiled.date_format  # type: ignore[attr-defined]

    def employee(self, raw: dict[str, str]) -> int:
        number = raw.get("employee", "")
        if not number:
            raise RowError("employee", _("This value is required."), "required")
        pk = self.people.get(number)
        if pk is None:
            if number in self.denied:
                raise RowError(
                    "employee",
                    _("This employee is outside the part of the organisation you manage."),
                    "out_of_scope",
                    number,
                )
            raise RowError(
                "employee",
                _("No employee has the number %(number)s.") % {"number": number},
                "unknown_employee",
                number,
            )
        return pk

    def date(self, raw: dict[str, str], name: str, *, required: bool = False) -> Any:
        fmt = self.date_format
        return cell(raw, name, lambda t: parse_date(t, fmt), required=required)

    def key_text(self, values: dict[str, Any]) -> str:
        rest = " / ".join(str(values[k]) for k in self.key[1:])
        return f"{self.number_of(values['employee_id'])} / {rest}"

    def number_of(self, pk: int) -> str:
        if not hasattr(self, "_numbers"):
            self._numbers = {v: k for k, v in self.people.items()}
        return self._numbers.get(pk, str(pk))

    def export_query(self, user: Any) -> Any:
        # Records of a merged (duplicate) record belong to the person it was merged into,
        # whose export carries them; the duplicate's leftovers stay out of exports.
        qs = self.model._default_manager.filter(employee__merged_into__isnull=True)
        return authz.visible_to(user, Perm.RECORDS_VIEW, qs)


def _sequence(text: str) -> int:
    n = parse_int(text)
    if not 1 <= n <= 99:
        raise CellError(_("Give the contract’s number, 1 to 99."), "out_of_range")
    return n


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


class Contracts(RecordKind):
    code = "contracts"
    model = Contract
    columns = (
        EMPLOYEE,
        Column("sequence", _l("contract number (1st, 2nd…)"), True),
        Column("legal_entity", _l("legal entity"), True),
        Column("contract_type", _l("contract type"), True),
        Column("start_date", _l("start date"), True),
        Column("end_date", _l("end date")),
        Column("probation_end_date", _l("probation end date")),
        Column("signed_on", _l("signed on")),
    )
    key = ("employee_id", "sequence")
    values = (
        "legal_entity_id",
        "contract_type",
        "start_date",
        "end_date",
        "probation_end_date",
        "signed_on",
    )

    def prepare(self) -> None:
        super().prepare()
        self.entities = dict(LegalEntity.objects.values_list("code", "id"))

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "employee_id": self.employee(raw),
            "sequence": cell(raw, "sequence", _sequence, required=True),
            "contract_type": cell(
                raw, "contract_type", lambda t: parse_choice(t, ContractType), required=True
            ),
            "start_date": self.date(raw, "start_date", required=True),
        }
        code = cell(raw, "legal_entity", required=True)
        if code not in self.entities:
            raise RowError("legal_entity", _("No legal entity has this code."), "unknown", code)
        out["legal_entity_id"] = self.entities[code]
        for name in ("end_date", "probation_end_date", "signed_on"):
            if name in raw:
                out[name] = self.date(raw, name)
        end = out.get("end_date")
        if end is not None and end < out["start_date"]:
            raise RowError(
                "end_date",
                _("The end date is before the start date."),
                "end_before_start",
                raw["end_date"],
            )
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in (
            self.export_query(user)
            .order_by("employee__employee_number", "sequence")
            .values_list(
                "employee__employee_number",
                "sequence",
                "legal_entity__code",
                "contract_type",
                "start_date",
                "end_date",
                "probation_end_date",
                "signed_on",
            )
            .iterator(chunk_size=5000)
        ):
            yield [r[0], r[1], r[2], r[3], _iso(r[4]), _iso(r[5]), _iso(r[6]), _iso(r[7])]


class Agreements(RecordKind):
    code = "agreements"
    model = Agreement
    columns = (
        EMPLOYEE,
        Column("agreement_type", _l("agreement type"), True),
        Column("signed_on", _l("signed on"), True),
        Column("effective_until", _l("effective until")),
        Column("terms", _l("terms")),
    )
    key = ("employee_id", "agreement_type", "signed_on")
    values = ("effective_until", "terms")

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "employee_id": self.employee(raw),
            "agreement_type": cell(
                raw, "agreement_type", lambda t: parse_choice(t, AgreementType), required=True
            ),
            "signed_on": self.date(raw, "signed_on", required=True),
        }
        if "effective_until" in raw:
            out["effective_until"] = self.date(raw, "effective_until")
        if "terms" in raw:
            out["terms"] = cell(raw, "terms", parse_json_object) or {}
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in (
            self.export_query(user)
            .order_by("employee__employee_number", "agreement_type", "signed_on")
            .values_list(
                "employee__employee_number",
                "agreement_type",
                "signed_on",
                "effective_until",
                "terms",
            )
            .iterator(chunk_size=5000)
        ):
            yield [r[0], r[1], _iso(r[2]), _iso(r[3]), _json(r[4])]


class LifecycleEvents(RecordKind):
    code = "lifecycle_events"
    model = LifecycleEvent
    columns = (
        EMPLOYEE,
        Column("event_type", _l("event type"), True),
        Column("effective_date", _l("effective date"), True),
        Column("details", _l("details")),
        Column("note", _l("note")),
    )
    key = ("employee_id", "event_type", "effective_date")
    values = ("details", "note")

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "employee_id": self.employee(raw),
            "event_type": cell(
                raw, "event_type", lambda t: parse_choice(t, LifecycleEventType), required=True
            ),
            "effective_date": self.date(raw, "effective_date", required=True),
        }
        if "details" in raw:
            out["details"] = cell(raw, "details", parse_json_object) or {}
        if "note" in raw:
            out["note"] = cell(raw, "note", lambda t: check_length(t, 500)) or ""
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in (
            self.export_query(user)
            .order_by("employee__employee_number", "effective_date", "event_type")
            .values_list(
                "employee__employee_number", "event_type", "effective_date", "details", "note"
            )
            .iterator(chunk_size=5000)
        ):
            yield [r[0], r[1], _iso(r[2]), _json(r[3]), r[4]]


class Separations(RecordKind):
    """Past resignations and terminations with their reason (the attrition history): written
    as lifecycle events, so they export with them."""

    code = "separations"
    model = LifecycleEvent
    columns = (
        EMPLOYEE,
        Column("date", _l("last working day"), True),
        Column("type", _l("type")),
        Column("reason", _l("reason")),
        Column("voluntary", _l("voluntary")),
    )
    key = ("employee_id", "event_type", "effective_date")
    values = ("details",)

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        kind = (raw.get("type") or "resignation").strip().lower()
        if kind in ("resignation", "辞职", "主动离职", "voluntary"):
            event = LifecycleEventType.RESIGNATION
        elif kind in ("termination", "dismissal", "辞退", "被动离职", "解除", "involuntary"):
            event = LifecycleEventType.TERMINATION
        else:
            raise RowError(
                "type", _("Give resignation or termination."), "bad_choice", raw.get("type", "")
            )
        details: dict[str, Any] = {}
        reason = cell(raw, "reason", lambda t: check_length(t, 200))
        if reason:
            details["reason"] = reason
        if raw.get("voluntary"):
            details["voluntary"] = cell(raw, "voluntary", parse_bool)
        else:
            details["voluntary"] = event == LifecycleEventType.RESIGNATION
        return {
            "employee_id": self.employee(raw),
            "event_type": str(event),
            "effective_date": self.date(raw, "date", required=True),
            "details": details,
        }

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        return iter(())  # exported as lifecycle events


class Compensation(RecordKind):
    code = "compensation"
    model = CompensationChange
    columns = (
        EMPLOYEE,
        Column("effective_date", _l("effective date"), True),
        Column("change_type", _l("change type"), True),
        Column("monthly_base", _l("monthly base pay"), True),
        Column("currency", _l("currency")),
        Column("reason", _l("reason")),
    )
    key = ("employee_id", "effective_date", "change_type")
    values = ("monthly_base", "currency", "reason")

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "employee_id": self.employee(raw),
            "effective_date": self.date(raw, "effective_date", required=True),
            "change_type": cell(
                raw, "change_type", lambda t: parse_choice(t, CompensationChangeType), required=True
            ),
            "monthly_base": cell(
                raw,
                "monthly_base",
                lambda t: parse_decimal(t, minimum=Decimal(0), digits=12),
                required=True,
            ),
        }
        if "currency" in raw:
            cur = (raw["currency"] or "CNY").upper()
            if len(cur) != 3 or not cur.isalpha():
                raise RowError(
                    "currency",
                    _("Give a three-letter currency code (CNY, USD…)."),
                    "bad_currency",
                    raw["currency"],
                )
            out["currency"] = cur
        if "reason" in raw:
            out["reason"] = cell(raw, "reason", lambda t: check_length(t, 200)) or ""
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in (
            self.export_query(user)
            .order_by("employee__employee_number", "effective_date", "change_type")
            .values_list(
                "employee__employee_number",
                "effective_date",
                "change_type",
                "monthly_base",
                "currency",
                "reason",
            )
            .iterator(chunk_size=5000)
        ):
            yield [r[0], _iso(r[1]), r[2], str(r[3]), r[4], r[5]]


class Performance(RecordKind):
    code = "performance"
    model = PerformanceRating
    columns = (
        EMPLOYEE,
        Column("period", _l("period"), True),
        Column("rating", _l("rating"), True),
        Column("score", _l("score")),
    )
    key = ("employee_id", "period")
    values = ("rating", "score")

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "employee_id": self.employee(raw),
            "period": cell(raw, "period", lambda t: check_length(t, 16), required=True),
            "rating": cell(raw, "rating", lambda t: check_length(t, 16), required=True),
        }
        if "score" in raw:
            out["score"] = cell(raw, "score", lambda t: parse_decimal(t, digits=6))
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in (
            self.export_query(user)
            .order_by("employee__employee_number", "period")
            .values_list("employee__employee_number", "period", "rating", "score")
            .iterator(chunk_size=5000)
        ):
            yield [r[0], r[1], r[2], "" if r[3] is None else str(r[3])]


class Leave(RecordKind):
    code = "leave"
    model = LeaveRecord
    columns = (
        EMPLOYEE,
        Column("leave_type", _l("leave type"), True),
        Column("start_date", _l("start date"), True),
        Column("end_date", _l("end date"), True),
        Column("days", _l("days"), True),
    )
    key = ("employee_id", "leave_type", "start_date")
    values = ("end_date", "days")

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "employee_id": self.employee(raw),
            "leave_type": cell(
                raw, "leave_type", lambda t: parse_choice(t, LeaveType), required=True
            ),
            "start_date": self.date(raw, "start_date", required=True),
            "end_date": self.date(raw, "end_date", required=True),
            "days": cell(
                raw, "days", lambda t: parse_decimal(t, minimum=Decimal(0), digits=6), required=True
            ),
        }
        if out["end_date"] < out["start_date"]:
            raise RowError(
                "end_date",
                _("The end date is before the start date."),
                "end_before_start",
                raw["end_date"],
            )
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in (
            self.export_query(user)
            .order_by("employee__employee_number", "start_date", "leave_type")
            .values_list(
                "employee__employee_number", "leave_type", "start_date", "end_date", "days"
            )
            .iterator(chunk_size=5000)
        ):
            yield [r[0], r[1], _iso(r[2]), _iso(r[3]), str(r[4])]


_STATUS = {str(v): str(v) for v in AttendanceStatus.values}
for _v, _label in AttendanceStatus.choices:
    _STATUS[str(_label).lower()] = str(_v)
_STATUS.update(
    {
        "正常": "present",
        "出勤": "present",
        "缺勤": "absent",
        "旷工": "absent",
        "迟到": "late",
        "请假": "leave",
        "出差": "trip",
        "休息": "rest",
        "节假日": "holiday",
        "远程": "remote",
    }
)


class Attendance(RecordKind):
    """Daily attendance — the big one (millions of rows): kept lean, counted not listed."""

    code = "attendance"
    model = AttendanceDay
    log_changes = False
    chunk_rows = 10000
    columns = (
        EMPLOYEE,
        Column("date", _l("date"), True),
        Column("status", _l("status")),
        Column("clock_in", _l("clock-in")),
        Column("clock_out", _l("clock-out")),
    )
    key = ("employee_id", "date")
    values = ("status", "clock_in", "clock_out")

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        # Millions of rows: the common shapes (ISO date, HH:MM times, a status code) are read
        # directly; anything else goes through the full parsers, which name the problem.
        get = raw.get
        pk = self.people.get(get("employee", "")) or self.employee(raw)
        text = get("date", "")
        try:
            if self.date_format or len(text) != 10:
                raise ValueError
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = self.date(raw, "date", required=True)
        out: dict[str, Any] = {"employee_id": pk, "date": day}
        status = get("status")
        if status:
            code = _STATUS.get(status) or _STATUS.get(status.lower())
            if code is None:
                raise RowError(
                    "status",
                    _("“%(value)s” is not one of: %(allowed)s.")
                    % {"value": status, "allowed": ", ".join(AttendanceStatus.values)},
                    "bad_choice",
                    status,
                )
            out["status"] = code
        elif status is not None:
            out["status"] = AttendanceStatus.PRESENT
        ci = co = None
        for name in ("clock_in", "clock_out"):
            value = get(name)
            if value is None:
                continue
            if value == "":
                out[name] = None
                continue
            try:
                if len(value) not in (5, 8):
                    raise ValueError
                out[name] = dt.time.fromisoformat(value)
            except ValueError:
                out[name] = cell(raw, name, parse_time)
        ci, co = out.get("clock_in"), out.get("clock_out")
        if ci is not None and co is not None and co < ci:
            raise RowError(
                "clock_out", _("Clock-out is before clock-in."), "out_before_in", raw["clock_out"]
            )
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        qs = self.export_query(user).order_by("employee__employee_number", "date")
        for r in qs.values_list(
            "employee__employee_number", "date", "status", "clock_in", "clock_out"
        ).iterator(chunk_size=20000):
            yield [r[0], _iso(r[1]), r[2], _iso(r[3]), _iso(r[4])]


RECORD_KINDS: list[type[RecordKind]] = [
    Contracts,
    Agreements,
    LifecycleEvents,
    Separations,
    Compensation,
    Performance,
    Leave,
    Attendance,
]
