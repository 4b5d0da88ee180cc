"""The settlement actions on real cases, branch by branch: which termination owes what, which
case states may be settled, input validation field by field, approval and recalculation,
the severance hold and its release, the non-compete decision and payments, exports — who may
do each (per role), what each refusal says, that every change is audited and that a refusal
writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from baton.access.models import Role, RoleAssignment, User
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.compliance import actions_settlement as actions
from baton.compliance import actions_terms
from baton.compliance.models.settlement import (
    NonCompete,
    NonCompetePayment,
    Settlement,
    SettlementState,
)
from baton.compliance.tests.settlement_helpers import INPUTS, city_params
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions as ho
from baton.handover.models import DONE_TASK_STATES, CaseState, ExitCase
from baton.org.models import Employee, LegalEntity

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def hr(users: dict[str, Any]) -> Any:
    return users["hrbp.cloud"]


@pytest.fixture
def case(approved_case: ExitCase) -> ExitCase:
    """The demo employee's resignation, last day 2026-12-31, approved."""
    city_params(approved_case.employee, approved_case.last_working_day)
    return approved_case


def _colleague(users: dict[str, Any], hire: dt.date) -> Employee:
    """Someone in the cloud unit without a login, hired on `hire`."""
    me = Employee.objects.get(user=users["employee"])
    other = (
        Employee.objects.filter(business_unit_id=me.business_unit_id, status="active")
        .exclude(pk=me.pk)
        .exclude(user__isnull=False)
        .order_by("pk")
        .first()
    )
    assert other is not None
    Employee.objects.filter(pk=other.pk).update(hire_date=hire)
    other.refresh_from_db()
    return other


def _employer_case(
    users: dict[str, Any],
    exit_type: str,
    last_day: dt.date,
    *,
    hire: dt.date = dt.date(2019, 3, 15),
    submit: bool = True,
) -> ExitCase:
    leaver = _colleague(users, hire)
    city_params(leaver, last_day)
    return ho.open_case(
        leaver,
        acting_user=users["hrbp.cloud"],
        exit_type=exit_type,
        last_working_day=last_day,
        submit=submit,
    )


def _events(event: E, subject: Settlement) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            event_type=event, subject_type="compliance.settlement", subject_id=str(subject.pk)
        ).order_by("id")
    )


def _clear(case: ExitCase, users: dict[str, Any]) -> ExitCase:
    for t in case.tasks.exclude(state__in=DONE_TASK_STATES):
        ho.waive_task(t, acting_user=users["hrbp.cloud"], reason="测试")
    case.refresh_from_db()
    if case.state != CaseState.CLEARED:
        case = ho.clear_case(case, acting_user=users["hrbp.cloud"])
    return case


# ---------------------------------------------------------------- severance by termination type


@pytest.mark.parametrize(
    ("exit_type", "code", "severance"),
    [
        # 2019-03-15 → 2025-10-20: 7 units × 18,000 = 126,000 when N is owed.
        ("employer_no_fault", "ER_NO_FAULT", "126000.00"),
        ("layoff", "ER_LAYOFF", "126000.00"),
        ("contract_expiry", "EXPIRY", "126000.00"),
        ("mutual", "MUTUAL_ER_PROPOSED", "126000.00"),
        ("employee_for_cause", "EE_FOR_CAUSE", "126000.00"),
        ("employer_for_cause", "ER_CAUSE", "0.00"),
        ("retirement", "RETIREMENT", "0.00"),
    ],
)
def test_severance_follows_the_termination_type(
    users: dict[str, Any], hr: Any, exit_type: str, code: str, severance: str
) -> None:
    c = _employer_case(users, exit_type, dt.date(2025, 10, 20))
    s = actions.calculate(c, INPUTS, acting_user=hr)
    assert s.termination_type == code
    assert s.severance_owed is (severance != "0.00")
    assert s.totals["severance"] == severance


def test_recorded_terms_decide_over_the_exit_type(users: dict[str, Any], hr: Any) -> None:
    """A mutual agreement the employee proposed owes no N (LCL 46(2) reads the other way)."""
    c = _employer_case(users, "mutual", dt.date(2025, 10, 20))
    before = actions.calculate(c, INPUTS, acting_user=hr)
    assert before.totals["severance"] == "126000.00"
    actions_terms.record_terms(
        c,
        {"termination_type": "MUTUAL_EE_PROPOSED", "notice_date": dt.date(2025, 9, 1)},
        acting_user=users["admin"],
    )
    after = actions.calculate(c, {}, acting_user=hr)
    assert after.termination_type == "MUTUAL_EE_PROPOSED"
    assert not after.severance_owed and after.totals["severance"] == "0.00"


def test_pay_in_lieu_is_dropped_where_the_law_does_not_offer_it(case: ExitCase, hr: Any) -> None:
    """A resignation has no 代通知金 (only LCL 40 dismissals do), whatever HR ticked."""
    s = actions.calculate(case, {**INPUTS, "pay_in_lieu": True}, acting_user=hr)
    assert s.pay_in_lieu is False
    assert s.totals["pay_in_lieu"] == "0.00"


def test_unlawful_2n_on_a_dismissal_for_cause(users: dict[str, Any], hr: Any) -> None:
    """ER_CAUSE owes nothing, unless found unlawful: then 2N = 2 × 7 × 18,000 = 252,000."""
    c = _employer_case(users, "employer_for_cause", dt.date(2025, 10, 20))
    s = actions.calculate(c, {**INPUTS, "unlawful": True}, acting_user=hr)
    assert s.totals["severance"] == "252000.00"
    line = next(li for li in s.lines if li["key"] == "severance")
    assert line["rule"] == "CN.SEVERANCE.2N"


# ---------------------------------------------------------------- which cases may be settled


def test_a_draft_case_is_not_settled(users: dict[str, Any], hr: Any) -> None:
    c = _employer_case(users, "employer_no_fault", dt.date(2026, 11, 30), submit=False)
    assert c.state == CaseState.DRAFT
    with pytest.raises(Conflict, match="not going ahead"):
        actions.calculate(c, INPUTS, acting_user=hr)
    assert not Settlement.objects.filter(case=c).exists()


def test_a_cancelled_case_is_not_settled(case: ExitCase, hr: Any) -> None:
    ho.cancel_case(case, acting_user=hr, reason="员工撤回")
    case.refresh_from_db()
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict):
        actions.calculate(case, INPUTS, acting_user=hr)
    assert not Settlement.objects.filter(case=case).exists()
    assert AuditEntry.objects.count() == before


def test_an_exit_under_another_country_s_law_is_refused(case: ExitCase, hr: Any) -> None:
    LegalEntity.objects.filter(pk=case.legal_entity_id).update(jurisdiction="DE")
    fresh = ExitCase.objects.get(pk=case.pk)
    with pytest.raises(Conflict, match="mainland China"):
        actions.calculate(fresh, INPUTS, acting_user=hr)
    assert not Settlement.objects.filter(case=case).exists()


# ---------------------------------------------------------------- input validation


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("avg_wage_12m", "abc", "Enter an amount"),
        ("avg_wage_12m", "-0.01", "zero or more"),
        ("avg_wage_12m", "18000.001", "two decimals"),
        ("avg_wage_12m", "1000000000000", "zero or more"),
        ("avg_wage_12m", "NaN", "zero or more"),
        ("owed_loans", "1e3.5", "Enter an amount"),
        ("cumulative_work_years", "x", "whole number"),
        ("cumulative_work_years", 61, "0 to 60"),
        ("leave_entitlement_days", -1, "0 to 60"),
        ("leave_taken_days", "0.25", "halves allowed"),
        ("leave_taken_days", "367", "halves allowed"),
        ("leave_taken_days", "many", "number of days"),
        ("bonus", "1", "Unknown field"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    case: ExitCase, hr: Any, field: str, value: Any, problem: str
) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.calculate(case, {**INPUTS, field: value}, acting_user=hr)
    assert problem in exc.value.field_errors[field][0]
    assert not Settlement.objects.filter(case=case).exists()
    assert AuditEntry.objects.count() == before


def test_leave_taken_is_in_half_days(case: ExitCase, hr: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        actions.calculate(case, {**INPUTS, "leave_taken_days": "0.3"}, acting_user=hr)
    assert "leave_taken_days" in exc.value.field_errors


def test_edge_values_are_accepted(case: ExitCase, hr: Any) -> None:
    s = actions.calculate(
        case,
        {
            **INPUTS,
            "leave_taken_days": "0.5",
            "cumulative_work_years": 60,
            "leave_entitlement_days": "",
            "owed_loans": "",
            "avg_wage_12m": "0",
        },
        acting_user=hr,
    )
    assert s.leave_taken_days == D("0.5")
    assert s.leave_entitlement_days is None
    assert s.owed_loans == 0
    # W 0 is floored to the minimum wage; a resignation owes no N anyway.
    assert s.totals["severance"] == "0.00"


def test_a_failed_recalculation_keeps_the_approved_figures(case: ExitCase, hr: Any) -> None:
    s = actions.approve(actions.calculate(case, INPUTS, acting_user=hr), acting_user=hr)
    with pytest.raises(InvalidInput):
        actions.calculate(case, {"previous_month_wage": "x"}, acting_user=hr)
    s.refresh_from_db()
    assert s.state == SettlementState.APPROVED
    assert s.previous_month_wage == D("17500")


# ---------------------------------------------------------------- approval and recalculation


def test_approval_is_audited_and_a_recalculation_returns_to_draft(case: ExitCase, hr: Any) -> None:
    s = actions.calculate(case, INPUTS, acting_user=hr)
    first_totals = dict(s.totals)
    s = actions.approve(s, acting_user=hr)
    assert s.state == SettlementState.APPROVED and s.approved_by_id == hr.pk
    [approved] = _events(E.SETTLEMENT_APPROVED, s)
    assert approved.data["changes"]["state"] == ["draft", "approved"]
    assert approved.data["extra"]["totals"] == first_totals
    s = actions.calculate(case, {"leave_taken_days": "0"}, acting_user=hr)
    assert s.state == SettlementState.DRAFT
    assert s.approved_at is None and s.approved_by is None
    calculated = _events(E.SETTLEMENT_CALCULATED, s)
    assert len(calculated) == 2
    last = calculated[-1].data
    assert last["changes"]["state"] == ["approved", "draft"]
    assert last["extra"]["previous_totals"] == first_totals
    assert last["extra"]["inputs"] == ["leave_taken_days"]
    # 2026-12-31: 365 days → 10 days, none taken: 10 × 15,000 / 21.75 × 2 = 13,793.10.
    assert s.totals["leave_pay"] == "13793.10"


def test_approving_twice_is_a_conflict(case: ExitCase, hr: Any) -> None:
    s = actions.approve(actions.calculate(case, INPUTS, acting_user=hr), acting_user=hr)
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict, match="already approved"):
        actions.approve(s, acting_user=hr)
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("who", ["finance", "auditor", "head.rd", "it", "hrbp.devices"])
def test_only_hr_over_the_leaver_approves(
    case: ExitCase, users: dict[str, Any], hr: Any, who: str
) -> None:
    s = actions.calculate(case, INPUTS, acting_user=hr)
    with pytest.raises(PermissionDenied):
        actions.approve(s, acting_user=users[who])
    with pytest.raises(PermissionDenied):
        actions.release_severance(s, acting_user=users[who])
    s.refresh_from_db()
    assert s.state == SettlementState.DRAFT


def test_group_hr_approves_too(case: ExitCase, users: dict[str, Any], hr: Any) -> None:
    s = actions.calculate(case, INPUTS, acting_user=hr)
    assert actions.approve(s, acting_user=users["admin"]).state == SettlementState.APPROVED


def test_hr_never_settles_their_own_exit(case: ExitCase, users: dict[str, Any], hr: Any) -> None:
    """The leaver given HR rights over their own unit still may not touch their settlement."""
    s = actions.calculate(case, INPUTS, acting_user=hr)
    leaver = User.objects.get(pk=users["employee"].pk)
    RoleAssignment.objects.create(
        user=leaver, role=Role.HRBP, business_unit_id=case.employee.business_unit_id
    )
    leaver = User.objects.get(pk=leaver.pk)
    for act in (
        lambda: actions.calculate(case, INPUTS, acting_user=leaver),
        lambda: actions.approve(s, acting_user=leaver),
        lambda: actions.release_severance(s, acting_user=leaver),
        lambda: actions.decide_non_compete(s, acting_user=leaver, decision="waive"),
    ):
        with pytest.raises(PermissionDenied, match="own exit"):
            act()


# ---------------------------------------------------------------- the severance hold


def test_release_without_a_hold_does_not_wait_for_the_handover(
    users: dict[str, Any], hr: Any
) -> None:
    c = _employer_case(users, "employer_no_fault", dt.date(2025, 10, 20))
    s = actions.calculate(c, {**INPUTS, "severance_hold": False}, acting_user=hr)
    s = actions.approve(s, acting_user=hr)
    assert c.state not in actions.CLEARED_STATES
    assert actions.release_refusal(s) is None
    s = actions.release_severance(s, acting_user=hr)
    [entry] = _events(E.SEVERANCE_RELEASED, s)
    assert entry.data["extra"]["severance"] == "126000.00"
    assert s.severance_released_by_id == hr.pk


def test_release_refusals_in_order(case: ExitCase, users: dict[str, Any], hr: Any) -> None:
    s = actions.calculate(case, INPUTS, acting_user=hr)
    assert s.severance_hold is True  # held by default
    assert "Approve" in (actions.release_refusal(s) or "")
    s = actions.approve(s, acting_user=hr)
    assert "LCL 50" in (actions.release_refusal(s) or "")
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict):
        actions.release_severance(s, acting_user=hr)
    assert AuditEntry.objects.count() == before
    _clear(case, users)
    s = actions.release_severance(s, acting_user=hr)
    assert "already been released" in (actions.release_refusal(s) or "")


# ---------------------------------------------------------------- who reads it


def test_viewer_roles(case: ExitCase, users: dict[str, Any]) -> None:
    roles = {
        who: actions.viewer_role(users[who], case)
        for who in ("hrbp.cloud", "admin", "finance", "auditor", "employee", "it", "head.rd")
    }
    assert roles == {
        "hrbp.cloud": "hr",
        "admin": "hr",
        "finance": "finance",
        "auditor": "auditor",
        "employee": "leaver",
        "it": None,
        "head.rd": None,
    }


def test_readable_hides_a_draft_from_the_leaver_and_the_figures_from_others(
    case: ExitCase, users: dict[str, Any], hr: Any
) -> None:
    s = actions.calculate(case, INPUTS, acting_user=hr)
    assert actions.readable(users["employee"], case) == ("leaver", None)
    role, shown = actions.readable(users["finance"], case)
    assert role == "finance" and shown is not None and shown.pk == s.pk
    with pytest.raises(Http404):
        actions.readable(users["it"], case)
    actions.approve(s, acting_user=hr)
    role, shown = actions.readable(users["employee"], case)
    assert role == "leaver" and shown is not None


def test_an_export_is_audited_with_its_format(case: ExitCase, users: dict[str, Any]) -> None:
    s = actions.calculate(case, INPUTS, acting_user=users["hrbp.cloud"])
    actions.record_export(s, "pdf", acting_user=users["auditor"])
    [entry] = _events(E.SETTLEMENT_EXPORTED, s)
    assert entry.actor_id == users["auditor"].pk
    assert entry.data["extra"] == {"case": case.pk, "format": "pdf"}


# ---------------------------------------------------------------- the non-compete


def test_an_agreed_amount_below_the_minimum_wage_is_raised_to_it(case: ExitCase, hr: Any) -> None:
    s = actions.calculate(case, {**INPUTS, "agreed_non_compete_monthly": "1000"}, acting_user=hr)
    nc = actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=6, eligibility="核心技术人员"
    )
    # Agreed 1,000 < minimum 2,690: 2,690 × 6 = 16,140.
    assert nc.monthly_amount == D("2690.00")
    s.refresh_from_db()
    assert s.totals["non_compete_total"] == "16140.00"
    assert nc.end_date == dt.date(2027, 6, 30)


def test_an_agreed_amount_below_thirty_percent_stands_with_a_warning(
    case: ExitCase, hr: Any
) -> None:
    s = actions.calculate(case, {**INPUTS, "agreed_non_compete_monthly": "4000"}, acting_user=hr)
    nc = actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=12, eligibility="销售总监"
    )
    # 30 % of 18,000 = 5,400 > 4,000: the agreement stands, flagged.
    assert nc.monthly_amount == D("4000.00")
    s.refresh_from_db()
    line = next(li for li in s.lines if li["key"] == "non_compete_monthly")
    assert "dispute risk" in line["note"]


def test_deciding_returns_an_approved_statement_to_draft(case: ExitCase, hr: Any) -> None:
    s = actions.approve(actions.calculate(case, INPUTS, acting_user=hr), acting_user=hr)
    actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=12, eligibility="研发负责人"
    )
    s.refresh_from_db()
    assert s.state == SettlementState.DRAFT and s.approved_by is None
    [entry] = _events(E.NON_COMPETE_DECIDED, s)
    assert entry.data["changes"]["state"] == ["approved", "draft"]
    # 30 % of 18,000 = 5,400 × 12 = 64,800.
    assert entry.data["extra"]["total"] == "64800.00"


def test_a_decision_can_change_before_the_restriction_starts(case: ExitCase, hr: Any) -> None:
    s = actions.calculate(case, INPUTS, acting_user=hr)
    nc = actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=12, eligibility="研发"
    )
    assert nc.payments.count() == 12
    nc = actions.decide_non_compete(s, acting_user=hr, decision="waive")
    assert nc.months == 0 and nc.start_date is None and not nc.payments.exists()
    assert NonCompete.objects.filter(settlement=s).count() == 1


def test_a_started_restriction_cannot_be_waived_silently(users: dict[str, Any], hr: Any) -> None:
    c = _employer_case(users, "employer_no_fault", dt.date(2025, 10, 20))
    s = actions.calculate(c, INPUTS, acting_user=hr)
    nc = actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=24, eligibility="掌握客户名单"
    )
    assert nc.start_date == dt.date(2025, 10, 21) <= timezone.localdate()
    with pytest.raises(Conflict, match="three months"):
        actions.decide_non_compete(s, acting_user=hr, decision="waive")
    nc.refresh_from_db()
    assert nc.decision == "activate" and nc.payments.count() == 24


def test_an_unknown_decision_is_named(case: ExitCase, hr: Any) -> None:
    s = actions.calculate(case, INPUTS, acting_user=hr)
    with pytest.raises(InvalidInput) as exc:
        actions.decide_non_compete(s, acting_user=hr, decision="maybe")
    assert "decision" in exc.value.field_errors
    with pytest.raises(InvalidInput) as exc:
        actions.decide_non_compete(
            s, acting_user=hr, decision="activate", months=0, eligibility="x"
        )
    assert "months" in exc.value.field_errors
    assert not NonCompete.objects.filter(settlement=s).exists()


@pytest.fixture
def payments(users: dict[str, Any], hr: Any) -> list[NonCompetePayment]:
    c = _employer_case(users, "employer_no_fault", dt.date(2025, 10, 20))
    s = actions.calculate(c, {**INPUTS, "avg_wage_12m": "30000"}, acting_user=hr)
    nc = actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=3, eligibility="技术总监"
    )
    return list(nc.payments.order_by("seq"))


def test_payment_recording_refusals(
    payments: list[NonCompetePayment], users: dict[str, Any]
) -> None:
    finance = users["finance"]
    first = payments[0]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as exc:
        actions.record_non_compete_payment(first, acting_user=finance, paid_at=tomorrow)
    assert "paid_at" in exc.value.field_errors
    with pytest.raises(InvalidInput) as exc:
        actions.record_non_compete_payment(
            first, acting_user=finance, paid_at=dt.date(2025, 11, 20), amount="0"
        )
    assert "amount" in exc.value.field_errors
    with pytest.raises(InvalidInput) as exc:
        actions.record_non_compete_payment(
            first, acting_user=finance, paid_at=dt.date(2025, 11, 20), amount="1.234"
        )
    assert "amount" in exc.value.field_errors
    for who in ("it", "auditor", "hrbp.devices", "head.rd"):
        with pytest.raises(PermissionDenied):
            actions.record_non_compete_payment(
                first, acting_user=users[who], paid_at=dt.date(2025, 11, 20)
            )
    first.refresh_from_db()
    assert first.paid_at is None


def test_a_late_partial_payment_is_recorded_as_such(
    payments: list[NonCompetePayment], users: dict[str, Any]
) -> None:
    # Month 1 (from 2025-10-21) is due 2025-11-20; 30 % of 30,000 = 9,000.
    first = payments[0]
    assert first.due_date == dt.date(2025, 11, 20) and first.amount == D("9000.00")
    paid = actions.record_non_compete_payment(
        first, acting_user=users["hrbp.cloud"], paid_at=dt.date(2026, 1, 30), amount="4500.00"
    )
    assert paid.paid_amount == D("4500.00")
    entry = AuditEntry.objects.filter(event_type=E.NON_COMPETE_PAYMENT_RECORDED).latest("id")
    # 71 days after the due date: late (more than 60).
    assert entry.data["extra"]["late"] is True
    assert entry.data["extra"]["month"] == 1 and entry.data["extra"]["amount"] == "4500.00"
