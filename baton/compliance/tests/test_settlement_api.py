"""The settlement through the API and the pages: each operation per role (HR acts, finance
records payments, auditors and the leaver read), bad input named and translated, refusals
with their status, exports audited for everyone who may read and for nobody else."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.compliance import actions_settlement as actions
from baton.compliance.models.rules import CityParameter, Confidence
from baton.compliance.models.settlement import NonCompete, Settlement, SettlementState
from baton.handover.models import ExitCase

pytestmark = pytest.mark.django_db
D = Decimal
CJK = re.compile(r"[\u4e00-\u9fff]")
INPUTS = {
    "avg_wage_12m": "30000",
    "avg_wage_12m_excl_ot": "15000",
    "previous_month_wage": "17500",
    "cumulative_work_years": 12,
    "leave_taken_days": "3",
}


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    """The demo employee's resignation (last day 2026-12-31) with the document's city
    figures (average 12,000, minimum 2,690)."""
    CityParameter.objects.update_or_create(
        city_code=approved_case.employee.work_city.code,
        effective_from=approved_case.last_working_day.replace(day=1),
        defaults={
            "avg_monthly_wage": D("12000"),
            "min_monthly_wage": D("2690"),
            "final_pay_working_days": None,
            "confidence": Confidence.TO_CONFIRM,
            "notes": "test figures",
        },
    )
    return approved_case


def _url(case: ExitCase, tail: str = "") -> str:
    return f"/api/compliance/cases/{case.pk}/settlement{tail}"


def _put(client: Any, case: ExitCase, body: dict[str, Any]) -> Any:
    return client.put(_url(case), data=json.dumps(body), content_type="application/json")


def _post(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def _exports(s: Settlement) -> list[tuple[int | None, str]]:
    return [
        (e.actor_id, e.data["extra"]["format"])
        for e in AuditEntry.objects.filter(
            event_type=E.SETTLEMENT_EXPORTED, subject_id=str(s.pk)
        ).order_by("id")
    ]


# ---------------------------------------------------------------- calculate


def test_nothing_to_read_before_a_calculation(case: ExitCase, client_as: Any) -> None:
    response = client_as("hrbp.cloud").get(_url(case))
    assert response.status_code == 404
    assert CJK.search(response.json()["detail"])


def test_hr_calculates_through_the_api(case: ExitCase, client_as: Any) -> None:
    response = _put(client_as("hrbp.cloud"), case, INPUTS)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "draft" and body["termination_type"] == "EE_NOTICE"
    assert body["severance_owed"] is False
    # 365 days → 10 days − 3 taken = 7 days × 15,000 / 21.75 × 2 = 9,655.17.
    assert body["totals"]["leave_pay"] == "9655.17"
    assert body["severance_release_refused"]  # a draft cannot be released
    assert {line["key"] for line in body["lines"]} >= {"severance", "leave_pay", "final_wage_due"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"avg_wage_12m": "abc"}, "avg_wage_12m"),
        ({"avg_wage_12m": "-5"}, "avg_wage_12m"),
        ({"owed_loans": "12.345"}, "owed_loans"),
        ({"cumulative_work_years": 99}, "cumulative_work_years"),
        ({"leave_taken_days": "0.25"}, "leave_taken_days"),
        ({"cumulative_work_years": "ten"}, "cumulative_work_years"),
    ],
)
def test_bad_figures_are_400_naming_the_field(
    case: ExitCase, client_as: Any, change: dict[str, Any], field: str
) -> None:
    before = AuditEntry.objects.count()
    response = _put(client_as("hrbp.cloud"), case, {**INPUTS, **change})
    assert response.status_code == 400, response.content
    assert any(field in key for key in response.json()["errors"]), response.json()
    assert not Settlement.objects.filter(case=case).exists()
    assert AuditEntry.objects.count() == before


def test_a_missing_figure_is_named_in_the_caller_s_language(case: ExitCase, client_as: Any) -> None:
    response = _put(client_as("hrbp.cloud"), case, {"avg_wage_12m": "18000"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "avg_wage_12m_excl_ot" in errors
    assert CJK.search(errors["avg_wage_12m_excl_ot"][0])
    # The auditor's language is English: the same refusal in English (auditors may not
    # calculate, so the English check uses an action's message through an English user's
    # page instead — here the API's own 403 message).
    denied = _put(client_as("auditor"), case, INPUTS)
    assert denied.status_code == 403 and not CJK.search(denied.json()["detail"])


@pytest.mark.parametrize(
    ("who", "status"),
    [("finance", 403), ("auditor", 403), ("it", 403), ("head.rd", 403), ("employee", 403)],
)
def test_only_hr_calculates_through_the_api(
    case: ExitCase, client_as: Any, who: str, status: int
) -> None:
    assert _put(client_as(who), case, INPUTS).status_code == status
    assert not Settlement.objects.filter(case=case).exists()


def test_another_unit_s_hr_does_not_find_the_case(case: ExitCase, client_as: Any) -> None:
    other = client_as("hrbp.devices")
    assert _put(other, case, INPUTS).status_code == 404
    assert _post(other, _url(case, "/approve")).status_code == 404


# ---------------------------------------------------------------- approve and release


def test_approve_through_the_api(case: ExitCase, client_as: Any, users: dict[str, Any]) -> None:
    hr = client_as("hrbp.cloud")
    _put(hr, case, INPUTS)
    assert _post(client_as("finance"), _url(case, "/approve")).status_code == 403
    ok = _post(hr, _url(case, "/approve"))
    assert ok.status_code == 200 and ok.json()["state"] == "approved"
    again = _post(hr, _url(case, "/approve"))
    assert again.status_code == 409 and CJK.search(again.json()["detail"])
    # The leaver reads the approved statement, without the inputs being editable.
    mine = client_as("employee").get(_url(case))
    assert mine.status_code == 200 and mine.json()["state"] == "approved"


def test_release_needs_an_approved_statement(case: ExitCase, client_as: Any) -> None:
    hr = client_as("hrbp.cloud")
    _put(hr, case, {**INPUTS, "severance_hold": False})
    draft = _post(hr, _url(case, "/release-severance"))
    assert draft.status_code == 409
    _post(hr, _url(case, "/approve"))
    released = _post(hr, _url(case, "/release-severance"))
    assert released.status_code == 200, released.content
    assert released.json()["severance_released_at"]
    assert _post(hr, _url(case, "/release-severance")).status_code == 409


# ---------------------------------------------------------------- non-compete


def test_non_compete_through_the_api(case: ExitCase, client_as: Any) -> None:
    hr = client_as("hrbp.cloud")
    _put(hr, case, INPUTS)
    too_long = _post(
        hr,
        _url(case, "/non-compete"),
        {"decision": "activate", "months": 25, "eligibility": "研发"},
    )
    assert too_long.status_code == 400 and "months" in too_long.json()["errors"]
    unknown = _post(hr, _url(case, "/non-compete"), {"decision": "perhaps"})
    assert unknown.status_code == 400
    by_finance = _post(
        client_as("finance"),
        _url(case, "/non-compete"),
        {"decision": "activate", "months": 3, "eligibility": "研发"},
    )
    assert by_finance.status_code == 403
    ok = _post(
        hr,
        _url(case, "/non-compete"),
        {"decision": "activate", "months": 3, "eligibility": "掌握核心代码"},
    )
    assert ok.status_code == 200, ok.content
    nc = ok.json()["non_compete"]
    # 30 % of 30,000 = 9,000 a month from 2027-01-01, paid at each month's end.
    assert nc["monthly_amount"] in ("9000.00", 9000.0, "9000")
    assert [p["due_date"] for p in nc["payments"]] == ["2027-01-31", "2027-02-28", "2027-03-31"]
    assert ok.json()["totals"]["non_compete_total"] == "27000.00"


def test_non_compete_payments_through_the_api(case: ExitCase, client_as: Any) -> None:
    hr = client_as("hrbp.cloud")
    _put(hr, case, INPUTS)
    _post(
        hr,
        _url(case, "/non-compete"),
        {"decision": "activate", "months": 2, "eligibility": "掌握核心代码"},
    )
    finance = client_as("finance")
    missing = _post(finance, _url(case, "/non-compete/payments/9"), {"paid_at": "2026-01-01"})
    assert missing.status_code == 404
    future = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    later = _post(finance, _url(case, "/non-compete/payments/1"), {"paid_at": future})
    assert later.status_code == 400 and "paid_at" in later.json()["errors"]
    bad_date = _post(finance, _url(case, "/non-compete/payments/1"), {"paid_at": "2026-02-30"})
    assert bad_date.status_code == 400
    today = dt.date.today().isoformat()
    assert (
        _post(client_as("auditor"), _url(case, "/non-compete/payments/1"), {"paid_at": today})
    ).status_code == 403
    ok = _post(finance, _url(case, "/non-compete/payments/1"), {"paid_at": today})
    assert ok.status_code == 200, ok.content
    assert ok.json()["paid_at"] == today and ok.json()["late"] is False
    twice = _post(finance, _url(case, "/non-compete/payments/1"), {"paid_at": today})
    assert twice.status_code == 409


# ---------------------------------------------------------------- exports


def test_exports_per_role(case: ExitCase, client_as: Any, users: dict[str, Any]) -> None:
    s = actions.calculate(case, INPUTS, acting_user=users["hrbp.cloud"])
    xlsx = reverse("compliance:settlement_xlsx", args=[case.pk])
    pdf = reverse("compliance:settlement_pdf", args=[case.pk])
    # Readers of the figures export them; each export is audited with who and what.
    for who in ("finance", "auditor"):
        response = client_as(who).get(xlsx)
        assert response.status_code == 200, who
        assert response["Cache-Control"] == "private, no-store"
    # Nobody else — and not the leaver before approval.
    for who in ("it", "head.rd", "hrbp.devices", "employee", "receiver"):
        assert client_as(who).get(xlsx).status_code == 404, who
    assert _exports(s) == [(users["finance"].pk, "xlsx"), (users["auditor"].pk, "xlsx")]
    actions.approve(s, acting_user=users["hrbp.cloud"])
    mine = client_as("employee").get(pdf)
    assert mine.status_code == 200 and mine.content.startswith(b"%PDF")
    assert _exports(s)[-1] == (users["employee"].pk, "pdf")


def test_no_export_before_a_calculation(case: ExitCase, client_as: Any) -> None:
    before = AuditEntry.objects.filter(event_type=E.SETTLEMENT_EXPORTED).count()
    response = client_as("hrbp.cloud").get(reverse("compliance:settlement_xlsx", args=[case.pk]))
    assert response.status_code == 404
    assert AuditEntry.objects.filter(event_type=E.SETTLEMENT_EXPORTED).count() == before


# ---------------------------------------------------------------- page operations


def test_page_operations_per_role(case: ExitCase, client_as: Any, users: dict[str, Any]) -> None:
    s = actions.calculate(case, INPUTS, acting_user=users["hrbp.cloud"])
    approve = reverse("compliance:settlement_op", args=[case.pk, "approve"])
    assert client_as("finance").post(approve).status_code == 403
    assert client_as("it").post(approve).status_code == 404
    hr = client_as("hrbp.cloud")
    assert hr.post(reverse("compliance:settlement_op", args=[case.pk, "nonsense"])).status_code == (
        404
    )
    assert hr.post(approve).status_code == 302
    s.refresh_from_db()
    assert s.state == SettlementState.APPROVED
    # A refusal is shown on the page with its status (already approved: 409).
    again = hr.post(approve)
    assert again.status_code == 409
    # Release while held: 409 with the LCL 50 reason on the page.
    release = hr.post(reverse("compliance:settlement_op", args=[case.pk, "release"]))
    assert release.status_code == 409
    assert "第五十条" in release.content.decode() or "50" in release.content.decode()


def test_page_non_compete_form_errors(
    case: ExitCase, client_as: Any, users: dict[str, Any]
) -> None:
    actions.calculate(case, INPUTS, acting_user=users["hrbp.cloud"])
    url = reverse("compliance:settlement_op", args=[case.pk, "non_compete"])
    response = client_as("hrbp.cloud").post(
        url, {"decision": "activate", "months": "12", "eligibility": ""}
    )
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not NonCompete.objects.filter(settlement__case=case).exists()
