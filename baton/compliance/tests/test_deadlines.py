"""The statutory deadline tracker: planned on approval from the rule packs (certificate on the
last day, unemployment filing +7, personnel file and social insurance +15, housing fund +30,
contract text kept 2 years — labor-rules.md §2.3), each an HR task that never gates the
handover; moved with the last day; met by issuing the certificate or by HR with evidence."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import given
from hypothesis import strategies as st

from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.compliance import actions_certificates as cert_actions
from baton.compliance import actions_deadlines, deadlines
from baton.compliance.models import DeadlineKind as K
from baton.compliance.models import StatutoryDeadline
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions as ho
from baton.handover.models import (
    DONE_TASK_STATES,
    CaseState,
    ExitCase,
    HandoverTask,
    TaskState,
)

pytestmark = pytest.mark.django_db

LAST_DAY = dt.date(2026, 12, 31)
# labor-rules.md §2.3 worked through for a last working day of 31 Dec 2026.
EXPECTED = {
    K.CERTIFICATE: dt.date(2026, 12, 31),
    K.UNEMPLOYMENT_FILING: dt.date(2027, 1, 7),
    K.PERSONNEL_FILE: dt.date(2027, 1, 15),
    K.SOCIAL_INSURANCE: dt.date(2027, 1, 15),
    K.HOUSING_FUND: dt.date(2027, 1, 30),
    K.CONTRACT_RETENTION: dt.date(2028, 12, 31),
}


def _rows(case: ExitCase) -> dict[str, StatutoryDeadline]:
    return {d.kind: d for d in StatutoryDeadline.objects.filter(case=case).select_related("task")}


def test_planned_on_approval_with_the_statutory_dates(approved_case: ExitCase) -> None:
    rows = _rows(approved_case)
    assert {k: r.due_date for k, r in rows.items()} == EXPECTED
    for kind, row in rows.items():
        if kind == K.CONTRACT_RETENTION:
            assert row.is_retention and row.task is None
            continue
        task = row.task
        assert task is not None and task.case_id == approved_case.pk
        assert (task.category, task.owner_queue, task.approver_queue) == ("hr", "hr", "hr")
        assert task.evidence_kind == "signoff" and task.blocks_clearance is False
        assert task.due_date == row.due_date and task.state == TaskState.TODO
        assert row.legal_basis
    assert "劳动合同法 50" in rows[K.CERTIFICATE].legal_basis
    assert "失业保险条例 16" in rows[K.UNEMPLOYMENT_FILING].legal_basis
    assert AuditEntry.objects.filter(
        event_type=E.DEADLINES_PLANNED, subject_id=str(approved_case.pk)
    ).exists()
    # Planning again changes nothing.
    assert actions_deadlines.plan(approved_case) == []


def test_planning_is_a_fixed_number_of_queries(
    approved_case: ExitCase, django_assert_num_queries: Any
) -> None:
    StatutoryDeadline.objects.filter(case=approved_case).delete()
    case = ExitCase.objects.select_related("employee", "legal_entity").get(pk=approved_case.pk)
    from django.db import transaction

    # the work city, the rules in force, one insert of tasks, one of deadlines, the audit
    # trail (head ×2, entries, head update) and the outbox's events — however many there are
    with transaction.atomic(), django_assert_num_queries(9):
        rows = actions_deadlines.plan(case, fresh=True)
    assert len(rows) == len(EXPECTED)


def test_moved_with_the_last_day_except_what_is_done(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    hr = users["hrbp.cloud"]
    actions_deadlines.complete_deadline(
        _rows(approved_case)[K.HOUSING_FUND], acting_user=hr, evidence_note="公积金中心受理号 123"
    )
    case = ho.change_last_day(approved_case, dt.date(2027, 1, 15), acting_user=hr)
    rows = _rows(case)
    shift = dt.timedelta(days=15)
    for kind, row in rows.items():
        if kind == K.HOUSING_FUND:
            assert row.due_date == EXPECTED[kind]  # done: stays as it was
        elif kind == K.CONTRACT_RETENTION:
            assert row.due_date == dt.date(2029, 1, 15)
        else:
            assert row.due_date == EXPECTED[kind] + shift, kind
            assert row.task is not None and row.task.due_date == row.due_date


def test_issuing_completes_the_certificate_deadline_and_its_task(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    hr = users["hrbp.cloud"]
    row = _rows(approved_case)[K.CERTIFICATE]
    assert deadlines.is_overdue(row, LAST_DAY + dt.timedelta(days=1))  # from the day after
    assert not deadlines.is_overdue(row, LAST_DAY)
    cert = cert_actions.issue_certificate(approved_case, acting_user=hr)
    row.refresh_from_db()
    assert row.done_at is not None and row.done_by == hr and cert.number in row.evidence_note
    assert not deadlines.is_overdue(row, LAST_DAY + dt.timedelta(days=30))
    assert row.task is not None
    row.task.refresh_from_db()
    assert row.task.state == TaskState.ACCEPTED
    assert AuditEntry.objects.filter(event_type=E.DEADLINE_MET, subject_id=str(row.pk)).exists()


def test_hr_records_a_deadline_met_with_evidence(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    rows = _rows(approved_case)
    filing = rows[K.UNEMPLOYMENT_FILING]
    with pytest.raises(PermissionDenied):
        actions_deadlines.complete_deadline(
            filing, acting_user=users["employee"], evidence_note="x"
        )
    with pytest.raises(PermissionDenied):
        actions_deadlines.complete_deadline(filing, acting_user=users["head.rd"], evidence_note="x")
    with pytest.raises(InvalidInput):
        actions_deadlines.complete_deadline(
            filing, acting_user=users["hrbp.cloud"], evidence_note=" "
        )
    with pytest.raises(Conflict):
        actions_deadlines.complete_deadline(
            rows[K.CERTIFICATE], acting_user=users["hrbp.cloud"], evidence_note="纸质已发"
        )
    with pytest.raises(Conflict):
        actions_deadlines.complete_deadline(
            rows[K.CONTRACT_RETENTION], acting_user=users["hrbp.cloud"], evidence_note="x"
        )
    actions_deadlines.complete_deadline(
        filing, acting_user=users["hrbp.cloud"], evidence_note="社保经办机构回执 2027-0001"
    )
    filing.refresh_from_db()
    assert filing.is_done and filing.evidence_note == "社保经办机构回执 2027-0001"
    assert filing.task is not None
    filing.task.refresh_from_db()
    assert filing.task.state == TaskState.ACCEPTED
    with pytest.raises(Conflict):
        actions_deadlines.complete_deadline(
            filing, acting_user=users["admin"], evidence_note="again"
        )


def test_accepting_the_task_on_the_task_page_meets_the_deadline(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    row = _rows(approved_case)[K.PERSONNEL_FILE]
    task = row.task
    assert task is not None
    ho.submit_task(task, acting_user=users["hrbp.cloud"], note="档案已转至人才中心")
    ho.accept_task(task, acting_user=users["admin"])
    row.refresh_from_db()
    assert row.is_done and row.done_by == users["admin"]
    assert row.evidence_note == "档案已转至人才中心"


def test_deadlines_never_gate_the_handover(users: dict[str, Any], approved_case: ExitCase) -> None:
    hr = users["hrbp.cloud"]
    for task in approved_case.tasks.filter(blocks_clearance=True).exclude(
        state__in=DONE_TASK_STATES
    ):
        ho.waive_task(task, acting_user=hr, reason="测试")
    approved_case.refresh_from_db()
    assert approved_case.state == CaseState.CLEARED
    open_statutory = HandoverTask.objects.filter(
        case=approved_case, key__startswith="statutory-"
    ).exclude(state__in=DONE_TASK_STATES)
    assert open_statutory.count() == 5


def test_the_certificate_page_lists_and_records_deadlines(
    users: dict[str, Any], approved_case: ExitCase, client_as: Any
) -> None:
    hr = client_as("hrbp.cloud")
    page = f"/compliance/cases/{approved_case.pk}/certificate/"
    body = hr.get(page).content.decode()
    assert 'id="deadline-unemployment_filing"' in body and "2027-01-07" in body
    row = _rows(approved_case)[K.SOCIAL_INSURANCE]
    response = hr.post(page + "deadline/", {"deadline": row.pk, "evidence_note": ""})
    assert response.status_code == 400
    response = hr.post(page + "deadline/", {"deadline": row.pk, "evidence_note": "转移单号 88"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.is_done


@given(
    last=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2040, 12, 31)),
    days=st.integers(min_value=0, max_value=60),
)
def test_due_dates_are_calendar_days_after_the_last_day(last: dt.date, days: int) -> None:
    rule = deadlines.DeadlineRule(K.PERSONNEL_FILE, days, "x")
    assert deadlines.due_date(rule, last) == last + dt.timedelta(days=days)
    assert deadlines.due_date(rule, last) >= last
    keep = deadlines.DeadlineRule(K.CONTRACT_RETENTION, 0, "x", years=2, retention=True)
    kept = deadlines.due_date(keep, last)
    assert kept.year == last.year + 2 and (kept - last).days >= 730


def test_within_n_days_from_the_day_after_ends_on_the_same_day_as_within_n_days() -> None:
    """JP: the loss report is due 10 days from the day after the last day (翌日から10日以内):
    a 31 March exit is due 10 April, like CN's "within 10 days"."""
    from baton.compliance.deadlines import DeadlineRule, due_date
    from baton.compliance.models import DeadlineKind

    kind = next(iter(DeadlineKind))
    jp = DeadlineRule(kind, 10, "雇用保険法施行規則 7", from_next_day=True)
    cn = DeadlineRule(kind, 10, "x")
    assert (
        due_date(jp, dt.date(2026, 3, 31))
        == dt.date(2026, 4, 10)
        == due_date(cn, dt.date(2026, 3, 31))
    )
