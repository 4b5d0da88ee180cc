"""Employees: the people of the group, matched by employee number (or, for a first migration,
by their ID in the previous HR system, getting a number from the group's unified scheme)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db.models import F, Max, Min, Window
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from baton.access import authz
from baton.access.authz import Perm
from baton.core.cells import looks_like_formula
from baton.handover.models import OPEN_CASE_STATES, ExitCase
from baton.imports import bulk
from baton.imports.kinds.base import Column, Kind, RowError, Scope, cell
from baton.imports.mapping import attributes_of
from baton.imports.models import ChangeOp
from baton.imports.values import (
    check_length,
    parse_choice,
    parse_date,
    parse_email,
    parse_json_object,
    parse_phone,
)
from baton.org import idcard
from baton.org.actions import allocate_numbers, number_prefix
from baton.org.duplicates import keyed
from baton.org.models import (
    BusinessUnit,
    City,
    Department,
    Employee,
    EmployeeStatus,
    Group,
    LegalEntity,
    Position,
)

NEW = "\x01new:"  # placeholder number (never a real one) of a person numbered at insert


def _codes(model: Any, *fields: str) -> dict[str, Any]:
    return {
        row[0]: row[1:] if len(row) > 2 else row[1]
        for row in model.objects.values_list("code", *fields)
    }


class Employees(Kind):
    code = "employees"
    model = Employee
    perm = Perm.EMPLOYEE_CHANGE
    columns = (
        Column("employee_number", _l("employee number")),
        Column("legacy_id", _l("previous system ID")),
        Column("name", _l("name"), True),
        Column("email", _l("email")),
        Column("phone", _l("mobile phone")),
        Column("id_number", _l("ID card number")),
        Column("business_unit", _l("business unit"), True),
        Column("legal_entity", _l("legal entity"), True),
        Column("department", _l("department"), True),
        Column("position", _l("position"), True),
        Column("manager", _l("manager")),
        Column("work_city", _l("work city"), True),
        Column("hire_date", _l("hire date"), True),
        Column("status", _l("status")),
        Column("termination_date", _l("termination date")),
        Column("attributes", _l("attributes")),
        Column("protected_attributes", _l("protected attributes")),
    )
    key = ("group_id", "employee_number")
    values = (
        "legacy_id",
        "name",
        "email",
        "phone",
        "business_unit_id",
        "legal_entity_id",
        "department_id",
        "position_id",
        "work_city_id",
        "hire_date",
        "status",
        "termination_date",
        "attributes",
        "protected_attributes",
        "id_number_hash",
        "id_number_hint",
        # Compared only when a row clears the number (sealing writes them after the insert).
        "id_number_key_id",
        "id_number_blob",
    )

    def prepare(self) -> None:
        group = Group.objects.get()
        self.group = group
        self.scope = Scope.of(self.run.user, self.perm)
        if self.scope.empty:
            raise authz.PermissionDenied(_("You may not change employees."))
        self.bus = _codes(BusinessUnit, "id")
        self.entities = {
            code: (pk, bu)
            for code, pk, bu in LegalEntity.objects.values_list("code", "id", "business_unit_id")
        }
        self.departments = {
            (bu, code): (pk, path)
            for bu, code, pk, path in Department.objects.values_list(
                "business_unit_id", "code", "id", "path"
            )
        }
        self.positions = _codes(Position, "id")
        self.cities = _codes(City, "id")
        self.legacy = dict(
            Employee.objects.filter(group=group)
            .filter(legacy_id__isnull=False)
            .values_list("legacy_id", "employee_number")
        )
        self.managers: list[tuple[int, str, str]] = []
        self.created_numbers: set[str] = set()
        self.paths = dict(self.departments.values())
        # Explicit numbers of this file and the number each previous-system ID came with.
        self.file_numbers: set[str] = set()
        self.file_legacy: dict[str, str] = {}
        self.contacts: list[tuple[int, str]] = []
        self.open_cases = set(
            ExitCase.objects.filter(state__in=OPEN_CASE_STATES).values_list(
                "employee_id", flat=True
            )
        )
        self.ids = dict(Employee.objects.filter(group=group).values_list("employee_number", "id"))
        self.bu_objs = {b.pk: b for b in BusinessUnit.objects.all()}
        self.entity_objs = {e.pk: e for e in LegalEntity.objects.all()}
        self.date_format = self.compiled.date_format  # type: ignore[attr-defined]

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        fmt = self.date_format
        number = cell(raw, "employee_number", lambda t: check_length(t, 32))
        legacy = cell(raw, "legacy_id", lambda t: check_length(t, 64))
        if legacy and legacy in self.legacy and number and self.legacy[legacy] != number:
            raise RowError(
                "legacy_id",
                _("This previous system ID belongs to employee %(number)s.")
                % {"number": self.legacy[legacy]},
                "legacy_taken",
                legacy,
            )
        if legacy:
            seen = self.file_legacy.setdefault(legacy, number or "")
            if seen != (number or ""):
                raise RowError(
                    "legacy_id",
                    _(
                        "This previous system ID appears earlier in the file with another "
                        "employee number."
                    ),
                    "duplicate_key",
                    legacy,
                )
        if number:
            self.file_numbers.add(number)
        if not number:
            if not legacy:
                raise RowError(
                    "employee_number",
                    _("Give the employee number or the previous system ID."),
                    "required",
                )
            number = self.legacy.get(legacy) or NEW + legacy
        bu_code = cell(raw, "business_unit", required=True)
        bu = self.bus.get(bu_code)
        if bu is None:
            raise RowError(
                "business_unit", _("No business unit has this code."), "unknown", bu_code
            )
        dept_code = cell(raw, "department", required=True)
        dept = self.departments.get((bu, dept_code))
        if dept is None:
            raise RowError(
                "department",
                _("The business unit %(bu)s has no department with this code.") % {"bu": bu_code},
                "unknown_department",
                dept_code,
            )
        ent_code = cell(raw, "legal_entity", required=True)
        entity = self.entities.get(ent_code)
        if entity is None:
            raise RowError("legal_entity", _("No legal entity has this code."), "unknown", ent_code)
        pos_code = cell(raw, "position", required=True)
        position = self.positions.get(pos_code)
        if position is None:
            raise RowError("position", _("No position has this code."), "unknown", pos_code)
        city_code = cell(raw, "work_city", required=True)
        city = self.cities.get(city_code)
        if city is None:
            raise RowError("work_city", _("No city has this code."), "unknown", city_code)
        if entity[1] is not None and entity[1] != bu:
            raise RowError(
                "legal_entity",
                _("This legal entity belongs to another business unit."),
                "entity_elsewhere",
                ent_code,
            )
        if not self.scope.allows(bu, entity[0], dept[1]):
            raise RowError(
                "department",
                _("This place is outside the part of the organisation you manage."),
                "out_of_scope",
                dept_code,
            )
        hire = cell(raw, "hire_date", lambda t: parse_date(t, fmt), required=True)
        out: dict[str, Any] = {
            "group_id": self.group.pk,
            "employee_number": number,
            "name": cell(raw, "name", lambda t: check_length(t, 100), required=True),
            "business_unit_id": bu,
            "legal_entity_id": entity[0],
            "department_id": dept[0],
            "position_id": position,
            "work_city_id": city,
            "hire_date": hire,
            "_path": dept[1],
            "_row": row_no,
        }
        if legacy is not None or "legacy_id" in raw:
            out["legacy_id"] = legacy or None
        if "email" in raw:
            out["email"] = cell(raw, "email", parse_email) or ""
        if "phone" in raw:
            out["phone"] = cell(raw, "phone", parse_phone) or ""
        if "status" in raw:
            out["status"] = (
                cell(raw, "status", lambda t: parse_choice(t, EmployeeStatus))
                or EmployeeStatus.ACTIVE
            )
        if "termination_date" in raw:
            end = cell(raw, "termination_date", lambda t: parse_date(t, fmt))
            if end is not None and end < hire:
                raise RowError(
                    "termination_date",
                    _("The termination date %(end)s is before the hire date %(hire)s.")
                    % {"end": end, "hire": hire},
                    "hire_after_termination",
                    raw["termination_date"],
                )
            out["termination_date"] = end
        if "attributes" in raw:
            out["attributes"] = cell(raw, "attributes", parse_json_object) or {}
        if "protected_attributes" in raw:
            out["protected_attributes"] = cell(raw, "protected_attributes", parse_json_object) or {}
        if "id_number" in raw:
            text = raw["id_number"]
            if text:
                try:
                    normal = idcard.validate(text)
                except Exception as e:  # InvalidInput naming the problem
                    msg = getattr(e, "field_errors", {}).get("id_number", [str(e)])[0]
                    raise RowError("id_number", msg, "bad_id_number", "") from None
                out["id_number_hash"] = idcard.lookup_hash(normal)
                out["id_number_hint"] = idcard.mask(normal)
                out["_id_number"] = normal
            else:
                out["id_number_hash"] = out["id_number_hint"] = out["id_number_key_id"] = ""
                out["id_number_blob"] = None
        if "manager" in raw:
            self.managers.append((row_no, number, raw["manager"]))
        return out

    def check_existing(self, values: dict[str, Any], before: dict[str, Any]) -> None:
        """Where the person is now must be in scope too (else a row could pull anyone into the
        user's unit); someone with an open exit case is changed through the case; a hire date
        may not pass the termination date the file leaves as it is."""
        path = self.paths.get(before["department_id"], "")
        if not self.scope.allows(before["business_unit_id"], before["legal_entity_id"], path):
            raise RowError(
                "employee_number",
                _("This employee is outside the part of the organisation you manage."),
                "out_of_scope",
                str(values["employee_number"]),
            )
        pk = self.ids.get(values["employee_number"])
        if pk in self.open_cases:
            moved = [
                f
                for f in (
                    "business_unit_id",
                    "legal_entity_id",
                    "department_id",
                    "status",
                    "termination_date",
                )
                if f in values and values[f] != before[f]
            ]
            if moved:
                raise RowError(
                    moved[0].removesuffix("_id"),
                    _(
                        "This employee has an open exit case: change the placement, status or "
                        "termination date through the case."
                    ),
                    "open_case",
                )
        if "termination_date" not in values:
            end = before["termination_date"]
            if end is not None and end < values["hire_date"]:
                raise RowError(
                    "hire_date",
                    _("The hire date %(hire)s is after the termination date %(end)s.")
                    % {"hire": values["hire_date"], "end": end},
                    "hire_after_termination",
                )

    def add_attributes(self, values: dict[str, Any], cells: list[str]) -> None:
        attrs, prot = attributes_of(self.compiled, cells)  # type: ignore[attr-defined]
        for name, value in (*attrs.items(), *prot.items()):
            if isinstance(value, str) and looks_like_formula(value):
                raise RowError(
                    name,
                    _("The cell starts like a spreadsheet formula; formulas are not imported."),
                    "formula",
                    value,
                )
        if attrs:
            values["attributes"] = {**values.get("attributes", {}), **attrs}
        if prot:
            values["protected_attributes"] = {**values.get("protected_attributes", {}), **prot}

    def key_text(self, values: dict[str, Any]) -> str:
        number = str(values["employee_number"])
        return number.removeprefix(NEW)

    def before_insert(self, creates: list[dict[str, Any]]) -> None:
        # New people without a number get the next ones of the unified scheme, per prefix.
        by_prefix: dict[str, list[dict[str, Any]]] = {}
        for v in creates:
            if v["employee_number"].startswith(NEW):
                prefix = number_prefix(
                    self.group,
                    self.bu_objs[v["business_unit_id"]],
                    self.entity_objs[v["legal_entity_id"]],
                    v["hire_date"].year,
                )
                by_prefix.setdefault(prefix, []).append(v)
        for prefix, rows in by_prefix.items():
            for v, number in zip(rows, self._free_numbers(prefix, len(rows)), strict=True):
                legacy = v["employee_number"].removeprefix(NEW)
                v["employee_number"] = number
                self.legacy[legacy] = number
        for v in creates:
            self.created_numbers.add(v["employee_number"])
            v.setdefault("attributes", {})
            v.setdefault("protected_attributes", {})
        if not self.run.dry_run:
            # The sealed ID number is bound to the row's id: known ids seal it before the insert.
            for v, pk in zip(creates, bulk.allocate_ids(Employee, len(creates)), strict=True):
                v["id"] = pk
                if v.get("_id_number"):
                    v["id_number_blob"], v["id_number_key_id"] = idcard.seal_blob(
                        pk, v["_id_number"]
                    )

    def _free_numbers(self, prefix: str, count: int) -> list[str]:
        """`count` numbers of the scheme no one has (a migrated file may already use numbers
        of the same scheme). The dry run numbers with placeholders and never takes the
        sequence's lock, so validating does not hold up hiring."""
        if self.run.dry_run:
            self._dry = getattr(self, "_dry", 0)
            out = []
            for _ in range(count):
                self._dry += 1
                out.append(f"{prefix[:20]}~{self._dry}")
            return out
        free: list[str] = []
        while len(free) < count:
            batch = allocate_numbers(self.group, prefix, count - len(free))
            taken = set(
                Employee.objects.filter(group=self.group, employee_number__in=batch).values_list(
                    "employee_number", flat=True
                )
            )
            free.extend(n for n in batch if n not in taken and n not in self.file_numbers)
        return free

    def after_write(
        self, written: list[tuple[int, dict[str, Any]]], created: list[dict[str, Any]]
    ) -> None:
        # Updated people (new ones were sealed as they were inserted).
        resealed = [
            v for _r, v in written if v.get("_id_number") and v.get("id_number_blob") is None
        ]
        if resealed and not self.run.dry_run:
            rows = [(v["id"], *idcard.seal_blob(v["id"], v["_id_number"])) for v in resealed]
            bulk.update_rows(Employee, ("id_number_blob", "id_number_key_id"), rows)
        self.contacts.extend(
            (row_no, v["employee_number"])
            for row_no, v in written
            if v.get("phone") or v.get("email") or v.get("id_number_hash")
        )

    def _warn_duplicates(self) -> None:
        """The same person in another business unit — same ID number, mobile or email — once
        the whole file is written: one GROUP BY per kind of evidence over the group (a query
        per chunk would scan the people table for every chunk)."""
        if not self.contacts:
            return
        people = keyed(Employee.objects.filter(group=self.group, merged_into__isnull=True))
        labels = {
            "id_number_hash": (_("ID card number"), "id_number"),
            "_phone": (_("mobile phone"), "phone"),
            "_email": (_("email"), "email"),
        }
        shared: dict[str, dict[str, list[tuple[str, int]]]] = {}
        for key in labels:
            # One pass in the order of the value (a window over it), never a join of the table
            # with itself: right after a first import the planner still believes the table is
            # as small as it was, and a self-join it plans as a nested loop runs for hours.
            rows = (
                people.exclude(**{key: ""})
                .annotate(
                    lo=Window(Min("business_unit_id"), partition_by=[F(key)]),
                    hi=Window(Max("business_unit_id"), partition_by=[F(key)]),
                )
                .filter(lo__lt=F("hi"))
                .values_list("employee_number", "business_unit_id", key)
            )
            holders: dict[str, list[tuple[str, int]]] = {}
            for number, bu, value in rows:
                holders.setdefault(value, []).append((number, bu))
            shared[key] = holders
        by_number: dict[str, list[tuple[str, list[tuple[str, int]]]]] = {}
        for key, holders in shared.items():
            for members in holders.values():
                for n, _b in members:
                    by_number.setdefault(n, []).append((key, members))
        for row_no, number in self.contacts:
            for key, members in by_number.get(number, ()):
                bu = next(b for n, b in members if n == number)
                others = sorted(n for n, b in members if b != bu)
                if others:
                    what, column = labels[key]
                    self.run.warn(
                        row_no,
                        column,
                        "duplicate_person",
                        _(
                            "Same %(what)s as %(others)s in another business unit: the same "
                            "person? Review it under Duplicates and merge."
                        )
                        % {"what": what, "others": ", ".join(others[:5])},
                    )
                    break

    def finish(self) -> None:
        """Managers, once every person of the file exists: unknown ones and cycles rejected;
        then the same person in other units."""
        self._set_managers()
        self._warn_duplicates()

    def _set_managers(self) -> None:
        if not self.managers:
            return
        people = {
            number: (pk, manager)
            for number, pk, manager in Employee.objects.filter(group=self.group).values_list(
                "employee_number", "id", "manager_id"
            )
        }
        edges: dict[int, int | None] = dict(people.values())
        old = dict(edges)
        wanted: dict[int, tuple[int, int | None, str]] = {}
        for row_no, number, manager_number in self.managers:
            number = (
                self.legacy.get(number.removeprefix(NEW), number)
                if number.startswith(NEW)
                else number
            )
            me = people.get(number)
            if me is None:  # the row itself was rejected
                continue
            target = None
            if manager_number:
                hit = people.get(manager_number) or people.get(self.legacy.get(manager_number, ""))
                if hit is None:
                    self.run.error(
                        row_no,
                        "manager",
                        "unknown_manager",
                        _("No employee has the number %(number)s.") % {"number": manager_number},
                        manager_number,
                    )
                    continue
                target = hit[0]
                if target == me[0]:
                    self.run.error(
                        row_no,
                        "manager",
                        "manager_cycle",
                        _("A person cannot manage themselves."),
                        manager_number,
                    )
                    continue
            edges[me[0]] = target
            wanted[me[0]] = (row_no, target, manager_number)
        for pk, (row_no, _t, manager_number) in wanted.items():
            seen = {pk}
            node = edges.get(pk)
            while node is not None:
                if node in seen:
                    self.run.error(
                        row_no,
                        "manager",
                        "manager_cycle",
                        _("Setting this manager makes a reporting cycle."),
                        manager_number,
                    )
                    break
                seen.add(node)
                node = edges.get(node)
        changed = [
            (pk, target, self.run.batch_id)
            for pk, (_r, target, _m) in wanted.items()
            if edges.get(pk) == target and old.get(pk) != target
        ]
        bulk.update_rows(Employee, ("manager_id", "import_batch_id"), changed)
        self.run.count("manager_changes", len(changed))
        if not self.run.dry_run:
            number_of = {pk: number for number, (pk, _m) in people.items()}
            self.run.changes.extend(
                {
                    "kind": self.code,
                    "key": number_of.get(pk, str(pk)),
                    "op": ChangeOp.UPDATE,
                    "changes": {
                        "manager": [number_of.get(old.get(pk) or 0), number_of.get(target or 0)]
                    },
                }
                for pk, target, _b in changed
                if number_of.get(pk) not in self.created_numbers
            )

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        qs = authz.visible_to(
            user, Perm.EMPLOYEE_VIEW, Employee.objects.filter(merged_into__isnull=True)
        )
        reveal = Scope.of(user, Perm.EMPLOYEE_CHANGE).everything
        rows = qs.order_by("employee_number").values_list(
            "employee_number",
            "legacy_id",
            "name",
            "email",
            "phone",
            "id",
            "business_unit__code",
            "legal_entity__code",
            "department__code",
            "position__code",
            "manager__employee_number",
            "work_city__code",
            "hire_date",
            "status",
            "termination_date",
            "attributes",
            "protected_attributes",
            "id_number_blob",
            "id_number_key_id",
        )
        for r in rows.iterator(chunk_size=5000):
            out = list(r)
            # ID numbers leave (decrypted) only for those who may change every employee.
            key_id, blob = out.pop(), out.pop()
            out[5] = idcard.reveal_blob(out[5], blob, key_id) if reveal and blob else ""
            out[15] = (
                json.dumps(out[15] or {}, ensure_ascii=False, sort_keys=True) if out[15] else ""
            )
            out[16] = (
                json.dumps(out[16] or {}, ensure_ascii=False, sort_keys=True) if out[16] else ""
            )
            yield out


__all__ = ["Employees"]
