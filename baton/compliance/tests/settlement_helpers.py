"""What the settlement tests share: the HR inputs of labor-rules.md's worked example and the
document's illustrative city figures (AVG_LOCAL 12,000, minimum 2,690) for the leaver's city."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from baton.compliance.models.rules import CityParameter, Confidence
from baton.org.models import Employee

INPUTS = {
    "avg_wage_12m": "18000",
    "avg_wage_12m_excl_ot": "15000",
    "previous_month_wage": "17500",
    "cumulative_work_years": 12,
    "leave_taken_days": "3",
}


def city_params(employee: Employee, on: dt.date) -> None:
    CityParameter.objects.update_or_create(
        city_code=employee.work_city.code,
        effective_from=on.replace(day=1),
        defaults={
            "avg_monthly_wage": Decimal("12000"),
            "min_monthly_wage": Decimal("2690"),
            "final_pay_working_days": None,
            "confidence": Confidence.TO_CONFIRM,
            "notes": "test figures",
        },
    )
