"""Demo lawful exits, made through the actions: for each mainland-China termination type a
case with its terms, an approved settlement statement and an issued separation certificate;
and one case each under US-CA, UK, DE and JP law (overseas entities with one employee each),
with its terms (and the JP 退職証明書 with only the items the worker asked for)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from baton.access.models import User
from baton.compliance import actions_certificates, actions_settlement, actions_terms
from baton.compliance import terminations as T
from baton.core.workdays import add_working_days
from baton.handover import actions as handover
from baton.handover.models import ExitCase
from baton.org.models import (
    City,
    Contract,
    Department,
    Employee,
    EmployeeStatus,
    Group,
    LegalEntity,
    Position,
)

CN_TYPES = (
    "EE_NOTICE",
    "EE_FOR_CAUSE",
    "EE_IMMEDIATE",
    "MUTUAL_ER_PROPOSED",
    "MUTUAL_EE_PROPOSED",
    "ER_CAUSE",
    "ER_NO_FAULT",
    "ER_LAYOFF",
    "EXPIRY",
    "RETIREMENT",
)
# (jurisdiction, city code, name, English name, time zone, entity, termination type)
OVERSEAS = (
    ("US-CA", "SJ", "圣何塞", "San Jose", "America/Los_Angeles", "Huaxia Cloud Inc.", "EE_NOTICE"),
    ("UK", "LDN", "伦敦", "London", "Europe/London", "Huaxia Cloud UK Ltd", "ER_NO_FAULT"),
    ("DE", "MUC", "慕尼黑", "Munich", "Europe/Berlin", "Huaxia Cloud GmbH", "EE_NOTICE"),
    ("JP", "TYO", "东京", "Tokyo", "Asia/Tokyo", "華夏クラウド株式会社", "ER_NO_FAULT"),
)
DEMO_WAGES = {  # illustrative inputs for the statements (CNY per month)
    "avg_wage_12m": "18000",
    "avg_wage_12m_excl_ot": "16500",
    "previous_month_wage": "17500",
    "final_month_wage": "17500",
    "cumulative_work_years": 12,
    "leave_taken_days": "3",
}


def _hr(case: ExitCase) -> User:
    name = {"C": "hrbp.cloud", "D": "hrbp.devices"}.get(case.business_unit.code, "admin")
    return User.objects.get(username=name)


def _free_people(n: int) -> list[Employee]:
    busy = ExitCase.objects.values("employee_id")
    taken = User.objects.exclude(employee=None).values("employee_id")
    return list(
        Employee.objects.filter(status=EmployeeStatus.ACTIVE, manager__isnull=False)
        .exclude(pk__in=busy)
        .exclude(pk__in=taken)
        .exclude(headed_departments__isnull=False)
        .filter(hire_date__lte=dt.date(2020, 1, 1))
        .select_related("business_unit", "legal_entity")
        .order_by("-employee_number")[:n]
    )


def _exit(employee: Employee, code: str, last_day: dt.date, notice: dt.date) -> ExitCase:
    """Open, approve and record the terms of an exit of type `code`."""
    exit_type = T.to_exit_type(code) or "resignation"
    hr = {"C": "hrbp.cloud", "D": "hrbp.devices"}.get(employee.business_unit.code, "admin")
    opener = User.objects.get(username=hr)
    case = handover.open_case(
        employee,
        acting_user=opener,
        exit_type=exit_type,
        last_working_day=last_day,
        reason="（演示）" + str(T.TYPES[code].label),
        submit=True,
    )
    case = handover.approve_case(case, acting_user=opener)
    terms: dict[str, Any] = {"termination_type": code, "notice_date": notice.isoformat()}
    actions_terms.record_terms(case, terms, acting_user=opener)
    if T.TYPES[code].union_notice_required:
        actions_terms.record_union_notice(
            case,
            notice,
            acting_user=opener,
            evidence="书面通知工会（演示）；工会无异议。",
        )
    return case


def showcase(*, log: Callable[[str], None] = print) -> dict[str, int]:
    today = timezone.localdate()
    made = {"settlements": 0, "certificates": 0, "overseas": 0}
    for code, employee in zip(CN_TYPES, _free_people(len(CN_TYPES)), strict=False):
        immediate = code in ("EE_IMMEDIATE", "ER_CAUSE", "EE_FOR_CAUSE")
        last_day = add_working_days(today, 5 if immediate else 25, "CN")
        notice = today - dt.timedelta(days=1 if immediate else 10)
        case = _exit(employee, code, last_day, notice)
        hr = _hr(case)
        settlement = actions_settlement.calculate(case, dict(DEMO_WAGES), acting_user=hr)
        actions_settlement.approve(settlement, acting_user=hr)
        made["settlements"] += 1
        actions_certificates.issue_certificate(case, acting_user=hr)
        made["certificates"] += 1
    made["overseas"] = _overseas(today)
    log(
        f"lawful exits: {made['settlements']} settlements and {made['certificates']} "
        f"certificates (one per CN termination type), {made['overseas']} overseas cases"
    )
    return made


def _overseas(today: dt.date) -> int:
    group = Group.objects.get()
    template = _free_people(1)
    if not template:
        return 0
    model = template[0]
    dept: Department = model.department
    position: Position = model.position
    n = 0
    for jur, code, name, name_en, tz, entity_name, term in OVERSEAS:
        city, _ = City.objects.get_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "jurisdiction": jur, "time_zone": tz},
        )
        entity, _ = LegalEntity.objects.get_or_create(
            group=group,
            code=f"O{code}",
            defaults={
                "name": entity_name,
                "business_unit": model.business_unit,
                "jurisdiction": jur,
                "city": city,
            },
        )
        hired = dt.date(2017, 4, 3)
        person = Employee.objects.create(
            group=group,
            employee_number=f"HX{code}{n:04d}",
            name=f"{name_en} Demo",
            email=f"demo.{code.lower()}@huaxia.example",
            business_unit=model.business_unit,
            legal_entity=entity,
            department=dept,
            position=position,
            manager=model.manager,
            work_city=city,
            hire_date=hired,
        )
        Contract.objects.create(
            employee=person,
            legal_entity=entity,
            contract_type="open_ended",
            start_date=hired,
        )
        last_day = today + dt.timedelta(days=120)
        case = _exit(person, term, last_day, today)
        if jur == "JP":
            actions_certificates.issue_certificate(
                case,
                acting_user=_hr(case),
                items=["period", "position", "reason"],
                reason="会社都合による解雇（事業所の縮小）",
            )
        n += 1
    return n
