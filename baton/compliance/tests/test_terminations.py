"""Termination taxonomy, earliest lawful last days and the guards (labor-rules.md §1.1, §6):
golden tests for every worked date/notice check, properties, and the recording actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry
from baton.compliance import actions_terms as actions
from baton.compliance import terminations as T
from baton.compliance.models import TerminationTerms
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions as ho
from baton.handover.models import ExitType
from baton.org.models import Employee

pytestmark = pytest.mark.django_db
D = dt.date

# ---------------------------------------------------------------- taxonomy


def test_every_type_knows_severance_and_union_notice() -> None:
    owed = {c for c, t in T.TYPES.items() if t.severance_owed}
    assert owed >= {"EE_FOR_CAUSE", "EE_IMMEDIATE", "MUTUAL_ER_PROPOSED", "ER_NO_FAULT"}
    assert owed >= {"ER_LAYOFF", "EXPIRY", "EMPLOYER_BANKRUPT", "EMPLOYER_DISSOLVED"}
    assert not owed & {"EE_NOTICE", "MUTUAL_EE_PROPOSED", "ER_CAUSE", "RETIREMENT", "DEATH"}
    assert "EXPIRY_RENEWAL_REFUSED" not in owed
    unilateral = {c for c, t in T.TYPES.items() if t.union_notice_required}
    assert unilateral == {"ER_CAUSE", "ER_NO_FAULT", "ER_LAYOFF"}
    for code in unilateral:
        assert T.UNION_NOTICE in T.required_steps(code, "CN")
    assert T.LAYOFF_REPORT in T.required_steps("ER_LAYOFF", "CN-SZ")
    assert T.DE_WRITTEN_FORM in T.required_steps("EE_NOTICE", "DE")


def test_every_exit_type_maps_to_a_compatible_type() -> None:
    for exit_type in ExitType.values:
        code = T.FROM_EXIT_TYPE[exit_type]
        assert T.compatible(code, exit_type)
        assert T.to_exit_type(code) == exit_type
    assert T.compatible("MUTUAL_EE_PROPOSED", "mutual")
    assert not T.compatible("ER_CAUSE", "resignation")
    assert T.compatible("DEATH", "resignation")  # by operation of law: any case


# ---------------------------------------------------------------- golden: CN


def test_cn_employee_notice_30_days_and_3_in_probation() -> None:
    assert T.earliest_last_day("EE_NOTICE", D(2025, 3, 1), jurisdiction="CN") == D(2025, 3, 31)
    probation = {"probation_end": D(2025, 5, 31)}
    assert T.earliest_last_day("EE_NOTICE", D(2025, 3, 1), **probation) == D(2025, 3, 4)
    # Notice given after probation ended: the full 30 days.
    assert T.earliest_last_day("EE_NOTICE", D(2025, 6, 1), **probation) == D(2025, 7, 1)
    # City jurisdictions inherit the national rule.
    assert T.earliest_last_day("EE_NOTICE", D(2025, 3, 1), jurisdiction="CN-SZ") == D(2025, 3, 31)


def test_cn_no_notice_types() -> None:
    for code in ("EE_FOR_CAUSE", "EE_IMMEDIATE", "ER_CAUSE", "MUTUAL_ER_PROPOSED", "DEATH"):
        assert T.earliest_last_day(code, D(2025, 3, 1)) == D(2025, 3, 1), code


def test_cn_no_fault_30_days_or_pay_in_lieu() -> None:
    n = T.notice_for("ER_NO_FAULT", D(2025, 9, 20))
    assert n.earliest == D(2025, 10, 20)
    assert n.pay_in_lieu_allowed
    assert "实施条例 20" in n.legal_basis
    paid = T.notice_for("ER_NO_FAULT", D(2025, 10, 20), pay_in_lieu=True)
    assert paid.earliest == D(2025, 10, 20)  # Ex. 1: "N+1", no 30-day notice given
    assert paid.earliest_with_full_notice == D(2025, 11, 19)
    # Pay in lieu does not shorten a layoff's 30 days' explanation, nor a resignation.
    assert T.earliest_last_day("ER_LAYOFF", D(2025, 3, 1), pay_in_lieu=True) == D(2025, 3, 31)
    assert T.earliest_last_day("EE_NOTICE", D(2025, 3, 1), pay_in_lieu=True) == D(2025, 3, 31)


def test_cn_expiry_ends_on_the_contract_end() -> None:
    end = D(2025, 12, 31)
    assert T.earliest_last_day("EXPIRY", D(2025, 11, 1), contract_end=end) == end


# ---------------------------------------------------------------- golden: UK, DE, JP, CA


def test_uk_7y8m_service_gives_7_weeks_and_employee_1_week() -> None:
    hire, notice = D(2017, 7, 1), D(2025, 3, 3)  # 7 years 8 months
    assert T.completed_months(hire, notice) == 92
    n = T.notice_for("ER_NO_FAULT", notice, jurisdiction="UK", hire_date=hire)
    assert n.earliest == notice + dt.timedelta(weeks=7)
    assert n.pay_in_lieu_allowed  # ERA s.86(3)
    ee = T.earliest_last_day("EE_NOTICE", notice, jurisdiction="UK", hire_date=hire)
    assert ee == notice + dt.timedelta(weeks=1)


def test_uk_bands() -> None:
    notice = D(2025, 3, 3)

    def weeks(hire: dt.date) -> int:
        last = T.earliest_last_day("ER_NO_FAULT", notice, jurisdiction="UK", hire_date=hire)
        return (last - notice).days // 7

    assert weeks(D(2025, 2, 20)) == 0  # under a month
    assert weeks(D(2024, 1, 1)) == 1  # 1 month to 2 years
    assert weeks(D(2022, 3, 3)) == 3  # 3 complete years
    assert weeks(D(2000, 1, 1)) == 12  # capped


def test_de_9_years_notice_10_march_ends_30_june() -> None:
    n = T.notice_for("ER_NO_FAULT", D(2025, 3, 10), jurisdiction="DE", hire_date=D(2016, 1, 1))
    assert n.earliest == D(2025, 6, 30)
    assert not n.pay_in_lieu_allowed
    # The employee's notice is never extended: 4 weeks to the 15th or month end.
    ee = T.earliest_last_day(
        "EE_NOTICE", D(2025, 3, 10), jurisdiction="DE", hire_date=D(2016, 1, 1)
    )
    assert ee == D(2025, 4, 15)
    assert T.earliest_last_day("EE_NOTICE", D(2025, 3, 1), jurisdiction="DE") == D(2025, 3, 31)
    # Probation: 2 weeks to any day.
    probation = T.earliest_last_day(
        "ER_NO_FAULT", D(2025, 3, 10), jurisdiction="DE", probation_end=D(2025, 6, 30)
    )
    assert probation == D(2025, 3, 24)
    # 20 years → 7 months to month end.
    assert T.earliest_last_day(
        "ER_NO_FAULT", D(2025, 1, 31), jurisdiction="DE", hire_date=D(2004, 1, 1)
    ) == D(2025, 8, 31)


def test_jp_14_days_notice_means_16_days_pay() -> None:
    notice = D(2025, 4, 1)
    assert T.jp_pay_in_lieu_days(notice, notice + dt.timedelta(days=14)) == 16
    assert T.jp_pay_in_lieu_days(notice, notice + dt.timedelta(days=30)) == 0
    assert T.jp_pay_in_lieu_days(notice, notice) == 30
    assert T.earliest_last_day("ER_NO_FAULT", notice, jurisdiction="JP") == D(2025, 5, 1)
    assert T.earliest_last_day("ER_NO_FAULT", notice, jurisdiction="JP", pay_in_lieu=True) == notice
    a = T.assess("ER_NO_FAULT", notice, D(2025, 4, 15), jurisdiction="JP", pay_in_lieu=True)
    assert a.ok and a.pay_in_lieu_days == 16
    assert T.earliest_last_day("EE_NOTICE", notice, jurisdiction="JP") == D(2025, 4, 15)


def test_ca_final_pay_timing_and_waiting_time_penalty() -> None:
    friday = dt.datetime(2025, 3, 14, 14, 0)
    quit_no_notice = T.final_pay_due(
        "EE_NOTICE", jurisdiction="US-CA", last_day=friday.date(), quit_at=friday
    )
    assert quit_no_notice.due_at == dt.datetime(2025, 3, 17, 14, 0)  # Monday 14:00
    assert "Cal. Lab. Code §202" in quit_no_notice.legal_basis
    with_notice = T.final_pay_due(
        "EE_NOTICE", jurisdiction="US-CA", last_day=D(2025, 3, 14), gave_notice_hours=96
    )
    assert with_notice.due_date == D(2025, 3, 14)
    discharge = T.final_pay_due("ER_NO_FAULT", jurisdiction="US-CA", last_day=D(2025, 3, 14))
    assert discharge.due_date == D(2025, 3, 14)
    assert T.ca_waiting_time_penalty(Decimal("250.00"), 10) == Decimal("2500.00")
    assert T.ca_waiting_time_penalty(Decimal("250.00"), 45) == Decimal("7500.00")  # max 30
    # At-will: no statutory notice either way.
    assert T.earliest_last_day("EE_NOTICE", D(2025, 3, 14), jurisdiction="US-CA") == D(2025, 3, 14)


def test_cn_final_pay_shenzhen_3_working_days() -> None:
    # Friday 2025-09-26 → Mon 29, Tue 30, then the National Day holiday → Thu 9 Oct? The
    # calendar decides; the rule says 3 working days after the last day.
    from baton.core.workdays import add_working_days

    due = T.final_pay_due(
        "EE_NOTICE", jurisdiction="CN-SZ", last_day=D(2025, 9, 26), city_code="SZ"
    )
    assert due.due_date == add_working_days(D(2025, 9, 26), 3, "CN-SZ")
    assert "深圳市员工工资支付条例 13" in due.legal_basis
    sh = T.final_pay_due("EE_NOTICE", jurisdiction="CN-SH", last_day=D(2025, 9, 26), city_code="SH")
    assert sh.due_date == D(2025, 9, 26)
    jp = T.final_pay_due(
        "EE_NOTICE", jurisdiction="JP", last_day=D(2025, 9, 26), requested_on=D(2025, 10, 1)
    )
    assert jp.due_date == D(2025, 10, 8)


# ---------------------------------------------------------------- guards


def test_lcl42_blocks_no_fault_and_layoff_naming_the_flag() -> None:
    for code in ("ER_NO_FAULT", "ER_LAYOFF"):
        a = T.assess(code, D(2025, 3, 1), D(2025, 4, 30), protection={"pregnancy": True})
        assert not a.ok
        assert "LCL 42" in a.blocked[0]
        assert "Pregnancy, maternity or nursing period" in a.blocked[0]
    # Dismissal for cause and mutual agreement are not blocked by LCL 42.
    assert T.assess("ER_CAUSE", D(2025, 3, 1), D(2025, 3, 1), protection={"pregnancy": True}).ok
    two = T.assess(
        "ER_NO_FAULT", D(2025, 3, 1), D(2025, 4, 30),
        protection={"medical_period": True, "long_service": True},
    )  # fmt: skip
    assert len(two.blocked) == 2


def test_early_release_of_a_resignation_needs_an_agreement() -> None:
    a = T.assess("EE_NOTICE", D(2025, 3, 1), D(2025, 3, 15))
    assert not a.ok
    assert "2025-03-31" in a.last_day_errors[0] and "agreement" in a.last_day_errors[0]
    assert T.assess("EE_NOTICE", D(2025, 3, 1), D(2025, 3, 15), early_release_agreed=True).ok
    # An employer cannot shorten notice by "agreement": only by pay in lieu.
    er = T.assess("ER_NO_FAULT", D(2025, 3, 1), D(2025, 3, 15), early_release_agreed=True)
    assert not er.ok and "pay in lieu" in er.last_day_errors[0]
    assert T.assess("ER_NO_FAULT", D(2025, 3, 1), D(2025, 3, 15), pay_in_lieu=True).ok
    assert not T.assess("EE_NOTICE", D(2025, 3, 1), D(2025, 2, 28), early_release_agreed=True).ok


# ---------------------------------------------------------------- properties

JURISDICTIONS = st.sampled_from(["CN", "CN-SZ", "UK", "DE", "JP", "US-CA"])
TYPES = st.sampled_from(sorted(T.TYPES))
DATES = st.dates(min_value=D(2009, 1, 1), max_value=D(2035, 12, 31))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    code=TYPES,
    notice=DATES,
    jurisdiction=JURISDICTIONS,
    service_days=st.integers(min_value=0, max_value=365 * 30),
    probation=st.booleans(),
)
def test_earliest_is_never_before_notice_nor_shorter_than_the_law(
    code: str, notice: dt.date, jurisdiction: str, service_days: int, probation: bool
) -> None:
    hire = notice - dt.timedelta(days=service_days)
    probation_end = notice + dt.timedelta(days=10) if probation else None
    full = T.notice_for(
        code, notice, jurisdiction=jurisdiction, hire_date=hire, probation_end=probation_end
    )
    assert full.earliest >= notice
    assert full.earliest == full.earliest_with_full_notice
    minimum = _statutory_minimum_days(code, jurisdiction, service_days, probation)
    assert (full.earliest - notice).days >= minimum
    paid = T.notice_for(
        code, notice, jurisdiction=jurisdiction, hire_date=hire, probation_end=probation_end,
        pay_in_lieu=True,
    )  # fmt: skip
    assert notice <= paid.earliest <= full.earliest


def _statutory_minimum_days(
    code: str, jurisdiction: str, service_days: int, probation: bool
) -> int:
    """An independent, coarse statement of the law's minimum notice in days."""
    top = jurisdiction.split("-")[0]
    employer = T.TYPES[code].initiator == "employer" and code != "ER_CAUSE"
    if top == "CN":
        if code == "EE_NOTICE":
            return 3 if probation else 30
        return 30 if code in ("ER_NO_FAULT", "ER_LAYOFF") else 0
    if top == "UK":
        return 7 if (code == "EE_NOTICE" or employer) and service_days >= 31 else 0
    if top == "DE":
        if code == "EE_NOTICE" or employer:
            return 14 if probation else 28
        return 0
    if top == "JP":
        return 14 if code == "EE_NOTICE" else (30 if T.TYPES[code].initiator == "employer" else 0)
    return 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    code=TYPES,
    notice=DATES,
    offset=st.integers(min_value=-40, max_value=400),
    jurisdiction=JURISDICTIONS,
    pay_in_lieu=st.booleans(),
)
def test_a_chosen_last_day_before_the_earliest_needs_an_agreement(
    code: str, notice: dt.date, offset: int, jurisdiction: str, pay_in_lieu: bool
) -> None:
    last_day = notice + dt.timedelta(days=offset)
    a = T.assess(code, notice, last_day, jurisdiction=jurisdiction, pay_in_lieu=pay_in_lieu)
    if last_day < a.notice.earliest:
        assert a.last_day_errors
    else:
        assert not a.last_day_errors
    agreed = T.assess(
        code, notice, last_day, jurisdiction=jurisdiction, pay_in_lieu=pay_in_lieu,
        early_release_agreed=True,
    )  # fmt: skip
    if last_day < notice or (
        last_day < a.notice.earliest and T.TYPES[code].initiator != "employee"
    ):
        assert agreed.last_day_errors


# ---------------------------------------------------------------- actions


def _employer_case(users: dict[str, Any], exit_type: str, last_day: dt.date) -> Any:
    leaver = Employee.objects.get(user=users["employee"])
    return ho.open_case(
        leaver, acting_user=users["admin"], exit_type=exit_type, last_working_day=last_day
    )


def test_record_terms_checks_the_last_day_and_audits(approved_case: Any, users: Any) -> None:
    hr = users["hrbp.cloud"] if _manages(users["hrbp.cloud"], approved_case) else users["admin"]
    data = {"termination_type": "EE_NOTICE", "notice_date": D(2026, 11, 1)}
    terms = actions.record_terms(approved_case, data, acting_user=hr)
    assert terms.termination_type == "EE_NOTICE"
    entry = AuditEntry.objects.filter(event_type=AuditEvent.TERMINATION_RECORDED).last()
    assert entry is not None
    assert T.for_case(approved_case) == "EE_NOTICE"
    # An earlier last day without an agreement is refused, and nothing is written.
    with pytest.raises(InvalidInput) as err:
        actions.record_terms(
            approved_case, {**data, "last_working_day": D(2026, 11, 20)}, acting_user=hr
        )
    assert "agreement" in err.value.field_errors["last_working_day"][0]
    approved_case.refresh_from_db()
    assert approved_case.last_working_day == D(2026, 12, 31)
    # With the agreement recorded the earlier day is accepted and the case's last day moves.
    today = timezone.localdate()
    actions.agree_early_release(
        approved_case, today, note="Signed letter, 2 Nov", acting_user=hr,
        last_working_day=max(D(2026, 11, 20), today),
    )  # fmt: skip
    approved_case.refresh_from_db()
    assert approved_case.last_working_day == max(D(2026, 11, 20), today)
    assert AuditEntry.objects.filter(event_type=AuditEvent.EARLY_RELEASE_AGREED).exists()


def _manages(user: Any, case: Any) -> bool:
    from baton.access import authz
    from baton.access.authz import Perm
    from baton.handover.models import ExitCase

    return authz.visible_to(user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)).exists()


def test_only_hr_records_terms(approved_case: Any, users: Any) -> None:
    data = {"termination_type": "EE_NOTICE", "notice_date": D(2026, 11, 1)}
    for name in ("employee", "head.rd", "finance", "auditor"):
        with pytest.raises(PermissionDenied):
            actions.record_terms(approved_case, data, acting_user=users[name])
    assert not TerminationTerms.objects.filter(case=approved_case).exists()


def test_protected_employee_blocks_no_fault_dismissal(users: Any) -> None:
    case = _employer_case(users, "employer_no_fault", D(2026, 12, 31))
    admin = users["admin"]
    data = {
        "termination_type": "ER_NO_FAULT",
        "notice_date": D(2026, 11, 1),
        "protection": {"medical_period": True},
    }
    with pytest.raises(Conflict) as err:
        actions.record_terms(case, data, acting_user=admin)
    assert "LCL 42" in err.value.message and "medical treatment period" in err.value.message
    assert not TerminationTerms.objects.filter(case=case).exists()
    # Recorded without the flag; setting the flag later records the fact and shows the block.
    actions.record_terms(case, {**data, "protection": {}}, acting_user=admin)
    terms = actions.set_protection(case, {"pregnancy": True}, acting_user=admin)
    assert terms.active_protection == ["pregnancy"]
    assert actions.assess_case(case).blocked
    with pytest.raises(InvalidInput):
        actions.set_protection(case, {"left_handed": True}, acting_user=admin)
    # Union notice is a required step; recording it marks it done.
    assert T.UNION_NOTICE in actions.assess_case(case).steps
    actions.record_union_notice(
        case,
        timezone.localdate(),
        evidence="Letter to the union, reply received",
        acting_user=admin,
    )
    assert TerminationTerms.objects.get(case=case).union_notified_at == timezone.localdate()
    assert AuditEntry.objects.filter(event_type=AuditEvent.UNION_NOTIFIED).exists()


def test_no_fault_last_day_needs_notice_or_pay_in_lieu(users: Any) -> None:
    case = _employer_case(users, "employer_no_fault", D(2026, 11, 15))
    data = {"termination_type": "ER_NO_FAULT", "notice_date": D(2026, 11, 1)}
    with pytest.raises(InvalidInput) as err:
        actions.record_terms(case, data, acting_user=users["admin"])
    assert "pay in lieu" in err.value.field_errors["last_working_day"][0]
    terms = actions.record_terms(case, {**data, "pay_in_lieu": True}, acting_user=users["admin"])
    assert terms.pay_in_lieu
    with pytest.raises(InvalidInput):  # a type that does not fit the exit
        actions.record_terms(
            case, {**data, "termination_type": "EE_NOTICE"}, acting_user=users["admin"]
        )


def test_mutual_defaults_to_employer_proposed(users: Any) -> None:
    case = _employer_case(users, "mutual", D(2026, 12, 31))
    assert T.for_case(case) == "MUTUAL_ER_PROPOSED"
    actions.record_terms(
        case,
        {"termination_type": "MUTUAL_EE_PROPOSED", "notice_date": D(2026, 12, 1)},
        acting_user=users["admin"],
    )
    case.refresh_from_db()
    assert T.for_case(case) == "MUTUAL_EE_PROPOSED"
    assert not T.TYPES[T.for_case(case)].severance_owed


# ---------------------------------------------------------------- API


def test_api_terms_roundtrip_and_privacy(approved_case: Any, client_as: Any) -> None:
    url = f"/api/compliance/cases/{approved_case.pk}/terms"
    admin = client_as("admin")
    got = admin.get(url)
    assert got.status_code == 200, got.content
    body = got.json()
    assert body["recorded"] is False and body["termination_type"] == "EE_NOTICE"
    put = admin.put(
        url,
        {"termination_type": "EE_NOTICE", "notice_date": "2026-11-01",
         "protection": {"pregnancy": True}},
        content_type="application/json",
    )  # fmt: skip
    assert put.status_code == 200, put.content
    body = put.json()
    assert body["notice"]["earliest_last_day"] == "2026-12-01"
    assert body["protection"] == {"pregnancy": True}
    # The approver sees the terms but not the sensitive protected status.
    head = client_as("head.rd").get(url)
    assert head.status_code == 200 and head.json()["protection"] is None
    assert client_as("employee").get(url).json()["protection"] == {"pregnancy": True}
    bad = admin.put(
        url, {"termination_type": "EE_NOTICE", "notice_date": "2026-11-01",
              "last_working_day": "2026-11-10"}, content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400 and "last_working_day" in bad.json()["errors"]
    denied = client_as("head.rd").put(
        url, {"termination_type": "EE_NOTICE", "notice_date": "2026-11-01"},
        content_type="application/json",
    )  # fmt: skip
    assert denied.status_code in (403, 404)


def test_api_case_rules_resolved(approved_case: Any, client_as: Any) -> None:
    client = client_as("admin")
    with CaptureQueriesContext(connection) as ctx:
        got = client.get(f"/api/compliance/cases/{approved_case.pk}/rules")
    assert got.status_code == 200, got.content
    body = got.json()
    ids = {r["rule_id"] for r in body["rules"]}
    assert {"CN.SEVERANCE.N", "CN.NOTICE.EE_NOTICE", "CN.EXIT_CERT"} <= ids
    assert body["jurisdiction"].startswith("CN")
    assert len(ctx.captured_queries) < 25
