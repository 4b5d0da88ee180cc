"""/api/org: the organisation's structure — cities, business units, legal entities,
departments, position families and positions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema

from baton.access.authz import Perm
from baton.core.api_crud import register
from baton.org import actions
from baton.org.api.common import Code, Name
from baton.org.models import BusinessUnit, City, Department, LegalEntity, Position, PositionFamily

router = Router()


class CityOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    province: str
    jurisdiction: str
    time_zone: str


class CityIn(Schema):
    code: str = Code
    name: str = Name
    name_en: str = ""
    province: str = ""
    jurisdiction: str = "CN"
    time_zone: str = "Asia/Shanghai"


class CityPatch(Schema):
    name: str | None = None
    name_en: str | None = None
    province: str | None = None
    jurisdiction: str | None = None
    time_zone: str | None = None


register(
    router,
    path="cities",
    name="cities",
    model=City,
    out=CityOut,
    create_in=CityIn,
    patch_in=CityPatch,
    view_perm=Perm.ORG_VIEW,
    change_perm=Perm.ORG_MANAGE,
    base_qs=City.objects.all,
    create=actions.create_city,
    update=actions.update_city,
)


class BusinessUnitOut(Schema):
    id: int
    code: str
    name: str
    city_id: int | None
    is_active: bool


class BusinessUnitIn(Schema):
    code: str = Code
    name: str = Name
    city_id: int | None = None


class BusinessUnitPatch(Schema):
    name: str | None = None
    city_id: int | None = None
    is_active: bool | None = None


register(
    router,
    path="business-units",
    name="business_units",
    model=BusinessUnit,
    out=BusinessUnitOut,
    create_in=BusinessUnitIn,
    patch_in=BusinessUnitPatch,
    view_perm=Perm.ORG_VIEW,
    change_perm=Perm.ORG_MANAGE,
    base_qs=BusinessUnit.objects.all,
    create=actions.create_business_unit,
    update=actions.update_business_unit,
)


class LegalEntityOut(Schema):
    id: int
    code: str
    name: str
    business_unit_id: int | None
    registration_number: str
    jurisdiction: str
    city_id: int | None
    is_active: bool


class LegalEntityIn(BusinessUnitIn):
    business_unit_id: int | None = None
    registration_number: str = ""
    jurisdiction: str = "CN"


class LegalEntityPatch(Schema):
    name: str | None = None
    business_unit_id: int | None = None
    registration_number: str | None = None
    jurisdiction: str | None = None
    city_id: int | None = None
    is_active: bool | None = None


register(
    router,
    path="legal-entities",
    name="legal_entities",
    model=LegalEntity,
    out=LegalEntityOut,
    create_in=LegalEntityIn,
    patch_in=LegalEntityPatch,
    view_perm=Perm.ORG_VIEW,
    change_perm=Perm.ORG_MANAGE,
    base_qs=LegalEntity.objects.all,
    create=actions.create_legal_entity,
    update=actions.update_legal_entity,
)


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    business_unit_id: int
    parent_id: int | None
    head_id: int | None
    path: str
    is_active: bool


class DepartmentIn(Schema):
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Name
    business_unit_id: int
    parent_id: int | None = None
    head_id: int | None = None


class DepartmentPatch(Schema):
    name: str | None = None
    parent_id: int | None = None
    head_id: int | None = None
    is_active: bool | None = None


def _department_filters(qs: QuerySet[Any], request: HttpRequest) -> QuerySet[Any]:
    bu = request.GET.get("business_unit")
    return qs.filter(business_unit_id=bu) if bu and bu.isdigit() else qs


register(
    router,
    path="departments",
    name="departments",
    model=Department,
    out=DepartmentOut,
    create_in=DepartmentIn,
    patch_in=DepartmentPatch,
    view_perm=Perm.ORG_VIEW,
    change_perm=Perm.ORG_MANAGE,
    base_qs=Department.objects.all,
    create=actions.create_department,
    update=actions.update_department,
    filters=_department_filters,
)


class PositionFamilyOut(Schema):
    id: int
    code: str
    name: str


class PositionFamilyIn(Schema):
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Name


register(
    router,
    path="position-families",
    name="position_families",
    model=PositionFamily,
    out=PositionFamilyOut,
    create_in=PositionFamilyIn,
    patch_in=None,
    view_perm=Perm.ORG_VIEW,
    base_qs=PositionFamily.objects.all,
    create=actions.create_position_family,
)


class PositionOut(Schema):
    id: int
    code: str
    title: str
    family_id: int
    department_id: int | None
    is_active: bool


class PositionIn(Schema):
    code: str = Field(..., min_length=1, max_length=32)
    title: str = Name
    family_id: int
    department_id: int | None = None


class PositionPatch(Schema):
    title: str | None = None
    family_id: int | None = None
    department_id: int | None = None
    is_active: bool | None = None


register(
    router,
    path="positions",
    name="positions",
    model=Position,
    out=PositionOut,
    create_in=PositionIn,
    patch_in=PositionPatch,
    view_perm=Perm.ORG_VIEW,
    change_perm=Perm.ORG_MANAGE,
    base_qs=Position.objects.all,
    create=actions.create_position,
    update=actions.update_position,
)
