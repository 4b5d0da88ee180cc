"""The settlement on real exit cases: calculation through the actions, the page and the API,
who sees what, the severance hold, the non-compete schedule, exports and query counts."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.compliance import actions_settlement as actions
from baton.compliance.models.settlement import NonCompetePayment, Settlement, SettlementState
from baton.compliance.tests.settlement_helpers import INPUTS, city_params
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions as ho
from baton.handover.models import DONE_TASK_STATES, CaseState, ExitCase
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    city_params(approved_case.employee, approved_case.last_working_day)
    return approved_case


def _events(event: E, subject: Settlement) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            event_type=event, subject_type="compliance.settlement", subject_id=str(subject.pk)
        )
    )


def _clear(case: ExitCase, users: dict[str, Any]) -> ExitCase:
    for t in case.tasks.exclude(state__in=DONE_TASK_STATES):
        ho.waive_task(t, acting_user=users["hrbp.cloud"], reason="测试")
    case.refresh_from_db()
    if case.state != CaseState.CLEARED:
        case = ho.clear_case(case, acting_user=users["hrbp.cloud"])
    return case


# ---------------------------------------------------------------- calculation


def test_no_fault_dismissal_n_plus_one_on_a_real_case(users: dict[str, Any]) -> None:
    """Ex. 1 through the whole stack: an employer no-fault termination of someone who started
    2019-03-15, last day 2025-10-20, W 18,000 → N 126,000 + pay in lieu 17,500."""
    hr = users["hrbp.cloud"]
    leaver = Employee.objects.get(user=users["employee"])
    Employee.objects.filter(pk=leaver.pk).update(hire_date=dt.date(2019, 3, 15))
    leaver.refresh_from_db()
    city_params(leaver, dt.date(2025, 10, 20))
    c = ho.open_case(
        leaver,
        acting_user=hr,
        exit_type="employer_no_fault",
        last_working_day=dt.date(2025, 10, 20),
        submit=True,
    )
    s = actions.calculate(c, {**INPUTS, "pay_in_lieu": True}, acting_user=hr)
    assert s.termination_type == "ER_NO_FAULT" and s.severance_owed
    assert s.totals["severance"] == "126000.00"
    assert s.totals["pay_in_lieu"] == "17500.00"
    # 12 years → 10 days; 293 days elapsed → 8.03 − 3 = 5 days × 15,000 / 21.75 × 2.
    assert s.totals["leave_pay"] == "6896.55"
    assert s.totals["payable"] == "150396.55"
    [entry] = _events(E.SETTLEMENT_CALCULATED, s)
    assert entry.data["extra"]["totals"]["payable"] == "150396.55" or "150396.55" in json.dumps(
        entry.data
    )
    # The city figures are "to be confirmed": the final-wage line says so.
    line = next(li for li in s.lines if li["key"] == "final_wage_due")
    assert line["confidence"] == "R" and line["value"] == "2025-10-20"
    # Unlawful (e.g. pregnant): 2N replaces N and pay in lieu is not on top.
    s = actions.calculate(c, {"unlawful": True}, acting_user=hr)
    assert s.totals["severance"] == "252000.00" and s.totals["pay_in_lieu"] == "0.00"


def test_resignation_owes_no_severance(case: ExitCase, users: dict[str, Any]) -> None:
    s = actions.calculate(case, INPUTS, acting_user=users["hrbp.cloud"])
    assert s.termination_type == "EE_NOTICE" and not s.severance_owed
    assert s.totals["severance"] == "0.00"
    assert s.state == SettlementState.DRAFT


def test_bad_input_is_refused_naming_the_field(case: ExitCase, users: dict[str, Any]) -> None:
    hr = users["hrbp.cloud"]
    with pytest.raises(InvalidInput) as exc:
        actions.calculate(case, {**INPUTS, "avg_wage_12m": "-1"}, acting_user=hr)
    assert "avg_wage_12m" in exc.value.field_errors
    with pytest.raises(InvalidInput) as exc:
        actions.calculate(case, {"avg_wage_12m": "1000"}, acting_user=hr)
    assert "avg_wage_12m_excl_ot" in exc.value.field_errors
    assert not Settlement.objects.filter(case=case).exists()


def test_only_hr_calculates_and_nobody_their_own(case: ExitCase, users: dict[str, Any]) -> None:
    for who in ("employee", "head.rd", "finance"):
        with pytest.raises(PermissionDenied):
            actions.calculate(case, INPUTS, acting_user=users[who])
    assert not Settlement.objects.filter(case=case).exists()


# ---------------------------------------------------------------- the severance hold


def test_release_refused_until_the_handover_is_cleared(
    case: ExitCase, users: dict[str, Any]
) -> None:
    hr = users["hrbp.cloud"]
    s = actions.calculate(case, INPUTS, acting_user=hr)
    with pytest.raises(Conflict, match="Approve"):
        actions.release_severance(s, acting_user=hr)
    s = actions.approve(s, acting_user=hr)
    with pytest.raises(Conflict, match="not cleared") as exc:
        actions.release_severance(s, acting_user=hr)
    assert "certificate" in exc.value.message  # says what is never held
    s.refresh_from_db()
    assert s.severance_released_at is None
    _clear(case, users)
    s = actions.release_severance(s, acting_user=hr)
    assert s.severance_released_at is not None
    assert len(_events(E.SEVERANCE_RELEASED, s)) == 1
    with pytest.raises(Conflict):
        actions.release_severance(s, acting_user=hr)


def test_release_refused_through_the_api_with_the_reason(
    case: ExitCase, users: dict[str, Any], client_as: Any
) -> None:
    hr = users["hrbp.cloud"]
    actions.approve(actions.calculate(case, INPUTS, acting_user=hr), acting_user=hr)
    r = client_as("hrbp.cloud").post(
        f"/api/compliance/cases/{case.pk}/settlement/release-severance"
    )
    assert r.status_code == 409
    # In the user's language (zh-Hans): the reason names LCL 50 §2.
    assert "第五十条第二款" in r.json()["detail"]


# ---------------------------------------------------------------- who sees what


def test_leaver_sees_own_statement_only_once_approved_and_read_only(
    case: ExitCase, users: dict[str, Any], client_as: Any
) -> None:
    hr = users["hrbp.cloud"]
    url = reverse("compliance:settlement", args=[case.pk])
    s = actions.calculate(case, INPUTS, acting_user=hr)
    me = client_as("employee")
    r = me.get(url)
    assert r.status_code == 200 and b'id="no-settlement"' in r.content
    assert me.get(f"/api/compliance/cases/{case.pk}/settlement").status_code == 404
    actions.approve(s, acting_user=hr)
    r = me.get(url)
    assert r.status_code == 200
    assert b'id="total-payable"' in r.content and b'id="settlement-inputs"' not in r.content
    assert b'id="hold-note"' in r.content
    body = me.get(f"/api/compliance/cases/{case.pk}/settlement").json()
    assert body["state"] == "approved" and body["lines"][0]["formula"]
    # Read-only: the leaver changes nothing.
    r = me.put(
        f"/api/compliance/cases/{case.pk}/settlement",
        data=json.dumps({"unlawful": True}),
        content_type="application/json",
    )
    assert r.status_code == 403
    assert (
        me.post(reverse("compliance:settlement_op", args=[case.pk, "release"])).status_code == 403
    )


def test_others_do_not_see_the_statement(
    case: ExitCase, users: dict[str, Any], client_as: Any
) -> None:
    hr = users["hrbp.cloud"]
    actions.approve(actions.calculate(case, INPUTS, acting_user=hr), acting_user=hr)
    url = reverse("compliance:settlement", args=[case.pk])
    api = f"/api/compliance/cases/{case.pk}/settlement"
    # Another BU's HRBP: the case does not exist for them.
    assert client_as("hrbp.devices").get(url).status_code == 404
    assert client_as("hrbp.devices").get(api).status_code == 404
    # The department head and IT see the case but not the pay in it.
    for who in ("head.rd", "it", "receiver"):
        assert client_as(who).get(url).status_code == 404, who
        assert client_as(who).get(api).status_code == 404, who
    # Finance and auditors read it.
    for who in ("finance", "auditor", "admin"):
        assert client_as(who).get(api).status_code == 200, who


def test_employee_does_not_see_someone_elses_statement(
    users: dict[str, Any], client_as: Any
) -> None:
    hr = users["hrbp.cloud"]
    me = Employee.objects.get(user=users["employee"])
    other = (
        Employee.objects.filter(business_unit_id=me.business_unit_id, status="active")
        .exclude(pk=me.pk)
        .exclude(user__isnull=False)
        .first()
    )
    assert other is not None
    city_params(other, dt.date(2026, 11, 30))
    c = ho.open_case(
        other,
        acting_user=hr,
        exit_type="employer_no_fault",
        last_working_day=dt.date(2026, 11, 30),
        submit=True,
    )
    actions.approve(actions.calculate(c, INPUTS, acting_user=hr), acting_user=hr)
    assert (
        client_as("employee").get(reverse("compliance:settlement", args=[c.pk])).status_code == 404
    )
    assert client_as("employee").get(f"/api/compliance/cases/{c.pk}/settlement").status_code == 404


# ---------------------------------------------------------------- page and exports


def test_hr_page_calculates_and_shows_every_line(
    case: ExitCase, users: dict[str, Any], client_as: Any
) -> None:
    hr = client_as("hrbp.cloud")
    url = reverse("compliance:settlement", args=[case.pk])
    r = hr.get(url)
    assert r.status_code == 200 and b'id="settlement-inputs"' in r.content
    r = hr.post(url, {**INPUTS, "severance_hold": "on", "owed_loans": "1000"})
    assert r.status_code == 302, r.content[:2000]
    r = hr.get(url)
    html = r.content.decode()
    for key in (
        "severance",
        "leave_days",
        "daily_wage",
        "leave_pay",
        "final_wage_due",
        "deduction",
    ):
        assert f'id="line-{key}"' in html, key
    assert "工资支付暂行规定 16" in html
    # A bad figure: 400 with the field named, nothing changed.
    r = hr.post(url, {**INPUTS, "avg_wage_12m": "abc"})
    assert r.status_code == 400


def test_exports_are_audited(case: ExitCase, users: dict[str, Any], client_as: Any) -> None:
    from openpyxl import load_workbook

    hr = users["hrbp.cloud"]
    s = actions.calculate(case, {**INPUTS, "owed_assets": "800"}, acting_user=hr)
    c = client_as("hrbp.cloud")
    r = c.get(reverse("compliance:settlement_xlsx", args=[case.pk]))
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    cells = [str(v) for row in wb.active.iter_rows(values_only=True) for v in row if v is not None]
    assert any("21.75" in v for v in cells)
    assert any("劳动合同法 50" in v or "LCL 50" in v for v in cells)
    r = c.get(reverse("compliance:settlement_pdf", args=[case.pk]))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert [e.data.get("extra", {}).get("format") for e in _events(E.SETTLEMENT_EXPORTED, s)] == [
        "xlsx",
        "pdf",
    ] or len(_events(E.SETTLEMENT_EXPORTED, s)) == 2


def test_statement_page_query_count_is_fixed(
    case: ExitCase, users: dict[str, Any], client_as: Any
) -> None:
    hr = users["hrbp.cloud"]
    s = actions.calculate(case, INPUTS, acting_user=hr)
    s.refresh_from_db()
    actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=3, eligibility="核心算法工程师"
    )
    url = reverse("compliance:settlement", args=[case.pk])
    counts = {}
    for who in ("hrbp.cloud", "finance"):
        c = client_as(who)
        c.get(url)  # warm caches (sessions, calendars)
        with CaptureQueriesContext(connection) as q:
            assert c.get(url).status_code == 200
        counts[who] = len(q.captured_queries)
    # 24 months of payments do not change the count.
    s.refresh_from_db()
    actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=24, eligibility="核心算法工程师"
    )
    c = client_as("hrbp.cloud")
    with CaptureQueriesContext(connection) as q:
        assert c.get(url).status_code == 200
    assert len(q.captured_queries) == counts["hrbp.cloud"]
    assert counts == {"hrbp.cloud": 8, "finance": 8}, counts


# ---------------------------------------------------------------- non-compete


def test_non_compete_schedule_and_payments(case: ExitCase, users: dict[str, Any]) -> None:
    hr = users["hrbp.cloud"]
    s = actions.calculate(case, {**INPUTS, "avg_wage_12m": "30000"}, acting_user=hr)
    with pytest.raises(InvalidInput):
        actions.decide_non_compete(
            s, acting_user=hr, decision="activate", months=25, eligibility="x"
        )
    with pytest.raises(InvalidInput):
        actions.decide_non_compete(
            s, acting_user=hr, decision="activate", months=24, eligibility=""
        )
    nc = actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=24, eligibility="掌握核心源代码"
    )
    assert nc.monthly_amount == D("9000.00")  # Ex. 4: 30 % of 30,000
    assert nc.start_date == case.last_working_day + dt.timedelta(days=1)
    pays = list(NonCompetePayment.objects.filter(non_compete=nc).order_by("seq"))
    assert len(pays) == 24 and pays[0].due_date == dt.date(2027, 1, 31)
    s.refresh_from_db()
    assert s.totals["non_compete_total"] == "216000.00"
    release = next(li for li in s.lines if li["key"] == "non_compete_release")
    assert release["amount"] == "81000.00"
    # Finance records a payment; a payment > 60 days late is flagged.
    today = dt.date.today()
    p = actions.record_non_compete_payment(pays[0], acting_user=users["finance"], paid_at=today)
    assert p.paid_amount == D("9000.00") and not p.is_late(dt.date(2030, 1, 1))
    assert pays[1].is_late(pays[1].due_date + dt.timedelta(days=61))
    assert not pays[1].is_late(pays[1].due_date + dt.timedelta(days=60))
    with pytest.raises(Conflict):
        actions.record_non_compete_payment(p, acting_user=hr, paid_at=today)
    # Once paid, the decision stands.
    with pytest.raises(Conflict):
        actions.decide_non_compete(s, acting_user=hr, decision="waive")
    with pytest.raises(PermissionDenied):
        actions.record_non_compete_payment(pays[1], acting_user=users["employee"], paid_at=today)


def test_waive_recorded(case: ExitCase, users: dict[str, Any]) -> None:
    hr = users["hrbp.cloud"]
    s = actions.calculate(case, INPUTS, acting_user=hr)
    nc = actions.decide_non_compete(s, acting_user=hr, decision="waive")
    assert nc.months == 0 and not nc.payments.exists()
    s.refresh_from_db()
    assert s.totals["non_compete_total"] == "0.00"
    assert len(_events(E.NON_COMPETE_DECIDED, s)) == 1


# ---------------------------------------------------------------- parameters and prefill


def test_parameters_come_from_the_rule_packs(approved_case: ExitCase) -> None:
    """The thin layer reads the city table and the packs' bases; Shenzhen pays final wages
    within 3 working days (city parameter), elsewhere at termination."""
    from baton.compliance import settlement as calc
    from baton.org.models import City

    p = calc.params_for(approved_case)
    assert p.local_avg_wage > 0 and p.local_min_wage > 0
    assert "劳动合同法 47" in p.basis("CN.SEVERANCE.N").legal_basis
    assert p.basis("CN.DEDUCTION_LIMIT").confidence == "S"
    assert p.non_compete_rate == D("0.30") and p.deduction_rate == D("0.20")
    sz = City.objects.get(code="SZ")
    Employee.objects.filter(pk=approved_case.employee_id).update(work_city=sz)
    case = ExitCase.objects.select_related("employee__work_city", "legal_entity").get(
        pk=approved_case.pk
    )
    p = calc.params_for(case)
    assert p.final_pay_working_days == 3 and p.jurisdiction == "CN-SZ"


def test_owed_amounts_prefilled_from_business_records(
    case: ExitCase, users: dict[str, Any]
) -> None:
    from baton.integrations.actions import business
    from baton.integrations.models import ConnectedSystem

    system = ConnectedSystem.objects.create(
        name="财务系统", kind="rest", base_url="http://127.0.0.1:9/api", internal=True
    )
    hr = users["hrbp.cloud"]
    business.push_records(
        case,
        system,
        [
            {"kind": "loan", "external_id": "L-1", "name": "员工借款", "amount": "3000.00"},
            {"kind": "expense_claim", "external_id": "E-1", "name": "差旅备用金", "amount": "500"},
            {"kind": "asset", "external_id": "A-1", "name": "笔记本电脑", "amount": "6000"},
            {"kind": "customer", "external_id": "C-1", "name": "某客户"},
        ],
        acting_user=hr,
    )
    s = actions.calculate(case, INPUTS, acting_user=hr)
    assert (s.owed_loans, s.owed_advances, s.owed_assets) == (D("3000"), D("500"), D("6000"))
    assert s.totals["owed_by_employee"] == "9500.00"
    assert s.totals["deducted_from_wages"] == "3500.00"  # 20 % of 17,500
    assert s.totals["still_owed"] == "6000.00"
