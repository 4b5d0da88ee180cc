"""The organisation: cities, business units, legal entities, departments (a tree per business
unit), position families and positions, and who heads each department. Group admins only."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from baton.access import authz
from baton.access.authz import Perm
from baton.imports import bulk
from baton.imports.kinds.base import Column, Kind, RowError, Scope, cell
from baton.imports.models import ChangeOp
from baton.imports.values import check_length, parse_bool
from baton.org.actions import validate_number_pattern
from baton.org.models import (
    BusinessUnit,
    City,
    Department,
    Employee,
    Group,
    LegalEntity,
    Position,
    PositionFamily,
)


def _text(limit: int) -> Any:
    return lambda t: check_length(t, limit)


def _flag(value: bool) -> str:
    return "true" if value else "false"


class OrgKind(Kind):
    perm = Perm.ORG_MANAGE

    def prepare(self) -> None:
        if not Scope.of(self.run.user, self.perm).everything:
            raise authz.PermissionDenied(_("Only group administrators import the organisation."))
        self.group_id = Group.objects.values_list("id", flat=True).first()
        if self.group_id is None:
            raise authz.PermissionDenied(_("Set up the group first (baton demo, or an import)."))

    def ref(
        self,
        raw: dict[str, str],
        name: str,
        table: dict[str, Any],
        what: str,
        *,
        required: bool = False,
    ) -> Any:
        code = cell(raw, name, required=required)
        if code is None:
            return None
        if code not in table:
            raise RowError(
                name,
                _("No %(what)s has the code %(code)s.") % {"what": what, "code": code},
                "unknown",
                code,
            )
        return table[code]


class Groups(OrgKind):
    """The group itself (one per installation): an archive creates it in an empty database."""

    code = "group"
    model = Group
    columns = (
        Column("code", _l("code"), True),
        Column("name", _l("name"), True),
        Column("employee_number_pattern", _l("employee number pattern")),
    )
    key = ("code",)
    values = ("name", "employee_number_pattern")

    def prepare(self) -> None:
        if not Scope.of(self.run.user, self.perm).everything:
            raise authz.PermissionDenied(_("Only group administrators import the organisation."))
        self.existing = list(Group.objects.values_list("code", flat=True))

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        code = cell(raw, "code", _text(16), required=True)
        if self.existing and code not in self.existing:
            raise RowError(
                "code",
                _("This installation serves the group %(code)s; one group per installation.")
                % {"code": self.existing[0]},
                "second_group",
                code,
            )
        out = {"code": code, "name": cell(raw, "name", _text(200), required=True)}
        if raw.get("employee_number_pattern"):
            try:
                validate_number_pattern(raw["employee_number_pattern"])
            except Exception as e:
                msg = getattr(e, "field_errors", {}).get("employee_number_pattern", [str(e)])[0]
                raise RowError(
                    "employee_number_pattern", msg, "bad_pattern", raw["employee_number_pattern"]
                ) from None
            out["employee_number_pattern"] = raw["employee_number_pattern"]
        self.existing = [code]
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        yield from (
            list(r) for r in Group.objects.values_list("code", "name", "employee_number_pattern")
        )


class Cities(OrgKind):
    code = "cities"
    model = City
    columns = (
        Column("code", _l("code"), True),
        Column("name", _l("name"), True),
        Column("name_en", _l("English name")),
        Column("province", _l("province")),
        Column("jurisdiction", _l("jurisdiction")),
        Column("time_zone", _l("time zone")),
    )
    key = ("code",)
    values = ("name", "name_en", "province", "jurisdiction", "time_zone")

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out = {
            "code": cell(raw, "code", _text(16), required=True),
            "name": cell(raw, "name", _text(100), required=True),
        }
        for name, limit in (
            ("name_en", 100),
            ("province", 100),
            ("jurisdiction", 16),
            ("time_zone", 64),
        ):
            if name in raw:
                out[name] = cell(raw, name, _text(limit)) or ""
        if out.get("time_zone"):
            if out["time_zone"] not in zoneinfo.available_timezones():
                raise RowError(
                    "time_zone",
                    _("Not a time zone name (e.g. Asia/Shanghai)."),
                    "bad_time_zone",
                    out["time_zone"],
                )
        else:
            out.pop("time_zone", None)
        if not out.get("jurisdiction"):
            out.pop("jurisdiction", None)
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        yield from (
            list(r)
            for r in City.objects.order_by("code").values_list(*(c.name for c in self.columns))
        )


class BusinessUnits(OrgKind):
    code = "business_units"
    model = BusinessUnit
    columns = (
        Column("code", _l("code"), True),
        Column("name", _l("name"), True),
        Column("city", _l("head-office city")),
        Column("is_active", _l("active")),
    )
    key = ("group_id", "code")
    values = ("name", "city_id", "is_active")

    def prepare(self) -> None:
        super().prepare()
        self.cities = dict(City.objects.values_list("code", "id"))

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group_id": self.group_id,
            "code": cell(raw, "code", _text(16), required=True),
            "name": cell(raw, "name", _text(200), required=True),
        }
        if "city" in raw:
            out["city_id"] = self.ref(raw, "city", self.cities, _("city"))
        if "is_active" in raw:
            out["is_active"] = cell(raw, "is_active", parse_bool) is not False
        return out

    def key_text(self, values: dict[str, Any]) -> str:
        return str(values["code"])

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for code, name, city, active in BusinessUnit.objects.order_by("code").values_list(
            "code", "name", "city__code", "is_active"
        ):
            yield [code, name, city or "", _flag(active)]


class LegalEntities(OrgKind):
    code = "legal_entities"
    model = LegalEntity
    columns = (
        Column("code", _l("code"), True),
        Column("name", _l("name"), True),
        Column("business_unit", _l("business unit")),
        Column("registration_number", _l("unified social credit code")),
        Column("jurisdiction", _l("jurisdiction")),
        Column("city", _l("registered city")),
        Column("is_active", _l("active")),
    )
    key = ("group_id", "code")
    values = (
        "name",
        "business_unit_id",
        "registration_number",
        "jurisdiction",
        "city_id",
        "is_active",
    )

    def prepare(self) -> None:
        super().prepare()
        self.cities = dict(City.objects.values_list("code", "id"))
        self.bus = dict(BusinessUnit.objects.values_list("code", "id"))

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group_id": self.group_id,
            "code": cell(raw, "code", _text(16), required=True),
            "name": cell(raw, "name", _text(200), required=True),
        }
        if "business_unit" in raw:
            out["business_unit_id"] = self.ref(raw, "business_unit", self.bus, _("business unit"))
        if "registration_number" in raw:
            out["registration_number"] = cell(raw, "registration_number", _text(32)) or ""
        if raw.get("jurisdiction"):
            out["jurisdiction"] = cell(raw, "jurisdiction", _text(16))
        if "city" in raw:
            out["city_id"] = self.ref(raw, "city", self.cities, _("city"))
        if "is_active" in raw:
            out["is_active"] = cell(raw, "is_active", parse_bool) is not False
        return out

    def key_text(self, values: dict[str, Any]) -> str:
        return str(values["code"])

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in LegalEntity.objects.order_by("code").values_list(
            "code",
            "name",
            "business_unit__code",
            "registration_number",
            "jurisdiction",
            "city__code",
            "is_active",
        ):
            yield [r[0], r[1], r[2] or "", r[3], r[4], r[5] or "", _flag(r[6])]


class Departments(OrgKind):
    code = "departments"
    model = Department
    columns = (
        Column("business_unit", _l("business unit"), True),
        Column("code", _l("code"), True),
        Column("name", _l("name"), True),
        Column("parent", _l("parent department")),
        Column("is_active", _l("active")),
    )
    key = ("business_unit_id", "code")
    values = ("name", "is_active")

    def prepare(self) -> None:
        super().prepare()
        self.bus = dict(BusinessUnit.objects.values_list("code", "id"))
        self.parents: list[tuple[int, int, str, str]] = []

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "business_unit_id": self.ref(
                raw, "business_unit", self.bus, _("business unit"), required=True
            ),
            "code": cell(raw, "code", _text(32), required=True),
            "name": cell(raw, "name", _text(200), required=True),
        }
        if "is_active" in raw:
            out["is_active"] = cell(raw, "is_active", parse_bool) is not False
        if "parent" in raw:
            parent = raw["parent"]
            if parent == out["code"]:
                raise RowError(
                    "parent",
                    _("A department cannot be its own parent."),
                    "department_cycle",
                    parent,
                )
            self.parents.append((row_no, out["business_unit_id"], out["code"], parent))
        return out

    def key_text(self, values: dict[str, Any]) -> str:
        return str(values["code"])

    def before_insert(self, creates: list[dict[str, Any]]) -> None:
        self.created_codes: set[str] = getattr(self, "created_codes", set())
        self.created_codes.update(v["code"] for v in creates)

    def finish(self) -> None:
        """Parents once every department of the file exists; then the tree paths."""
        rows = list(
            Department.objects.values_list("id", "business_unit_id", "code", "parent_id", "path")
        )
        by_code = {(bu, code): pk for pk, bu, code, _p, _path in rows}
        parent_of: dict[int, int | None] = {pk: parent for pk, _bu, _c, parent, _path in rows}
        old_parent = dict(parent_of)
        for row_no, bu, code, parent_code in self.parents:
            me = by_code.get((bu, code))
            if me is None:
                continue
            target = None
            if parent_code:
                target = by_code.get((bu, parent_code))
                if target is None:
                    self.run.error(
                        row_no,
                        "parent",
                        "unknown_department",
                        _("The business unit has no department with this code."),
                        parent_code,
                    )
                    continue
            parent_of[me] = target
        # A cycle would make the tree endless: reject the rows that close one.
        rows_of = {
            by_code[(bu, code)]: (row_no, p)
            for row_no, bu, code, p in self.parents
            if (bu, code) in by_code
        }
        cyclic = False
        for pk in rows_of:
            seen, node = {pk}, parent_of.get(pk)
            while node is not None:
                if node in seen:
                    row_no, p = rows_of[pk]
                    self.run.error(
                        row_no,
                        "parent",
                        "department_cycle",
                        _("This parent makes the department tree a cycle."),
                        p,
                    )
                    cyclic = True
                    break
                seen.add(node)
                node = parent_of.get(node)
        if cyclic:
            return
        changed = [
            (pk, parent_of[pk], self.run.batch_id)
            for pk in rows_of
            if pk and parent_of.get(pk) != old_parent.get(pk)
        ]
        bulk.update_rows(Department, ("parent_id", "import_batch_id"), changed)
        code_of = {pk: code for pk, _bu, code, _p, _path in rows}
        created: set[str] = getattr(self, "created_codes", set())
        self.run.count("parent_changes", len(changed))
        if not self.run.dry_run:
            self.run.changes.extend(
                {
                    "kind": self.code,
                    "key": code_of[pk],
                    "op": ChangeOp.UPDATE,
                    "changes": {
                        "parent": [code_of.get(old_parent.get(pk) or 0), code_of.get(target or 0)]
                    },
                }
                for pk, target, _b in changed
                if code_of[pk] not in created
            )
        # Paths from the roots down.
        paths: dict[int, str] = {}

        def path(pk: int) -> str:
            if pk not in paths:
                parent = parent_of.get(pk)
                paths[pk] = f"{path(parent) if parent else '/'}{pk}/"
            return paths[pk]

        stale = [(pk, path(pk)) for pk, _bu, _c, _p, old in rows if path(pk) != old]
        bulk.update_rows(Department, ("path",), stale)

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in Department.objects.order_by("business_unit__code", "code").values_list(
            "business_unit__code", "code", "name", "parent__code", "is_active"
        ):
            yield [r[0], r[1], r[2], r[3] or "", _flag(r[4])]


class PositionFamilies(OrgKind):
    code = "position_families"
    model = PositionFamily
    columns = (Column("code", _l("code"), True), Column("name", _l("name"), True))
    key = ("code",)
    values = ("name",)

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        return {
            "code": cell(raw, "code", _text(32), required=True),
            "name": cell(raw, "name", _text(100), required=True),
        }

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        yield from (
            list(r) for r in PositionFamily.objects.order_by("code").values_list("code", "name")
        )


class Positions(OrgKind):
    code = "positions"
    model = Position
    columns = (
        Column("code", _l("code"), True),
        Column("title", _l("title"), True),
        Column("family", _l("position family"), True),
        Column("business_unit", _l("business unit")),
        Column("department", _l("department")),
        Column("is_active", _l("active")),
    )
    key = ("code",)
    values = ("title", "family_id", "department_id", "is_active")

    def prepare(self) -> None:
        super().prepare()
        self.families = dict(PositionFamily.objects.values_list("code", "id"))
        self.bus = dict(BusinessUnit.objects.values_list("code", "id"))
        self.departments = {
            (bu, code): pk
            for bu, code, pk in Department.objects.values_list("business_unit_id", "code", "id")
        }

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": cell(raw, "code", _text(32), required=True),
            "title": cell(raw, "title", _text(200), required=True),
            "family_id": self.ref(
                raw, "family", self.families, _("position family"), required=True
            ),
        }
        if "department" in raw:
            dept = raw.get("department", "")
            if dept:
                bu = self.ref(raw, "business_unit", self.bus, _("business unit"), required=True)
                if (bu, dept) not in self.departments:
                    raise RowError(
                        "department",
                        _("The business unit has no department with this code."),
                        "unknown_department",
                        dept,
                    )
                out["department_id"] = self.departments[(bu, dept)]
            else:
                out["department_id"] = None
        if "is_active" in raw:
            out["is_active"] = cell(raw, "is_active", parse_bool) is not False
        return out

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in Position.objects.order_by("code").values_list(
            "code",
            "title",
            "family__code",
            "department__business_unit__code",
            "department__code",
            "is_active",
        ):
            yield [r[0], r[1], r[2], r[3] or "", r[4] or "", _flag(r[5])]


class DepartmentHeads(OrgKind):
    """Who heads each department: imported after the employees it names."""

    code = "department_heads"
    model = Department
    update_only = True
    log_changes = True
    columns = (
        Column("business_unit", _l("business unit"), True),
        Column("department", _l("department"), True),
        Column("head", _l("head"), False),
    )
    key = ("business_unit_id", "code")
    values = ("head_id",)

    def prepare(self) -> None:
        super().prepare()
        self.bus = dict(BusinessUnit.objects.values_list("code", "id"))
        self.people = dict(Employee.objects.values_list("employee_number", "id"))

    def build(self, raw: dict[str, str], row_no: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "business_unit_id": self.ref(
                raw, "business_unit", self.bus, _("business unit"), required=True
            ),
            "code": cell(raw, "department", required=True),
        }
        head = raw.get("head", "")
        if head and head not in self.people:
            raise RowError(
                "head",
                _("No employee has the number %(number)s.") % {"number": head},
                "unknown_employee",
                head,
            )
        out["head_id"] = self.people.get(head) if head else None
        return out

    def key_text(self, values: dict[str, Any]) -> str:
        return str(values["code"])

    def export_rows(self, user: Any) -> Iterator[list[Any]]:
        for r in (
            Department.objects.filter(head__isnull=False)
            .order_by("business_unit__code", "code")
            .values_list("business_unit__code", "code", "head__employee_number")
        ):
            yield list(r)


ORG_KINDS: list[type[OrgKind]] = [
    Groups,
    Cities,
    BusinessUnits,
    LegalEntities,
    Departments,
    PositionFamilies,
    Positions,
    DepartmentHeads,
]
