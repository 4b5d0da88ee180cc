"""Exit interviews: question bank versions, required answers, the employee's one-time link,
anonymity in exit-reason analytics and who sees what."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from baton.access.models import User
from baton.audit.events import AuditEvent as E
from baton.audit.models import AuditEntry
from baton.compliance import actions_interviews as actions
from baton.compliance import interviews as logic
from baton.compliance.interview_bank import MIN_ANONYMOUS_GROUP, default_questions
from baton.compliance.models import (
    ExitInterview,
    InterviewMode,
    InterviewState,
    QuestionBank,
    QuestionBankVersion,
)
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions as ho_actions
from baton.handover.models import OPEN_CASE_STATES, ExitCase
from baton.org.models import Employee

pytestmark = pytest.mark.django_db

GOOD = {"primary_reason": "compensation", "satisfaction": 3, "manager_support": 4}
JUDGEMENT = {"regrettable": True, "rehire_eligible": True}
TODAY = dt.date.today()


def _events(interview: ExitInterview, event: E) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(
        subject_type="compliance.exitinterview", subject_id=str(interview.pk), event_type=event
    )


@pytest.fixture
def interview(approved_case: ExitCase, users: dict[str, User]) -> ExitInterview:
    return actions.start_interview(approved_case, acting_user=users["hrbp.cloud"])


def _cases(users: dict[str, User], n: int, exclude: set[int] | None = None) -> list[ExitCase]:
    """`n` submitted resignations of cloud-software people (opened by group HR)."""
    admin = users["admin"]
    bu = Employee.objects.get(user=users["employee"]).business_unit_id
    taken = set(
        ExitCase.objects.filter(state__in=OPEN_CASE_STATES).values_list("employee_id", flat=True)
    )
    own = {u.employee_id for u in users.values() if u.employee_id}
    people = (
        Employee.objects.filter(business_unit_id=bu, status="active")
        .exclude(pk__in=taken | own | (exclude or set()))
        .order_by("employee_number")[:n]
    )
    assert len(people) == n
    return [
        ho_actions.open_case(
            p,
            acting_user=admin,
            exit_type="resignation",
            last_working_day=TODAY + dt.timedelta(days=40),
            submit=True,
        )
        for p in people
    ]


def _done(case: ExitCase, user: User, reason: str, *, anonymous: bool = False) -> ExitInterview:
    iv = actions.start_interview(case, acting_user=user)
    return actions.complete_interview(
        iv,
        acting_user=user,
        answers={**GOOD, "primary_reason": reason},
        anonymous=anonymous,
        **JUDGEMENT,
    )


# ---------------------------------------------------------------- question banks


def test_default_bank_installs_once(demo_data: None) -> None:
    first = actions.ensure_default_bank()
    again = actions.ensure_default_bank()
    assert first.pk == again.pk
    assert QuestionBank.objects.filter(builtin_key="default").count() == 1
    assert list(first.versions.values_list("number", flat=True)) == [1]
    assert first.versions.get().questions == logic.clean_questions(default_questions())


def test_reading_the_banks_installs_nothing(users: dict[str, User]) -> None:
    # The built-in bank is installed by migrate (post_migrate), never as a side effect of a
    # GET: a read writes no row and no audit entry.
    ExitInterview.objects.all().delete()
    QuestionBankVersion.objects.all().delete()
    QuestionBank.objects.all().delete()
    client = Client()
    client.force_login(users["admin"])
    assert client.get("/api/compliance/interview-banks").json() == []
    assert client.get(reverse("compliance:interview_banks")).status_code == 200
    assert not QuestionBank.objects.exists()


def test_published_version_is_frozen_and_a_case_keeps_its_version(
    interview: ExitInterview, users: dict[str, User]
) -> None:
    admin = users["admin"]
    bank = interview.bank_version.bank
    v1 = interview.bank_version
    frozen = list(v1.questions)
    draft = [*bank.draft, {"key": "commute", "text": "通勤时间如何？", "kind": "scale"}]
    actions.save_bank_draft(bank, acting_user=admin, questions=draft)
    v1.refresh_from_db()
    assert v1.questions == frozen  # a draft edit touches no version
    v2 = actions.publish_bank(bank, acting_user=admin, note="加通勤")
    assert v2.number == 2 and v2.questions[-1]["key"] == "commute"
    assert _published(bank).count() == 1
    interview.refresh_from_db()
    assert interview.bank_version_id == v1.pk  # the running interview keeps v1
    with pytest.raises(Conflict, match="Nothing changed"):
        actions.publish_bank(bank, acting_user=admin)
    # A new interview takes the new version.
    (case,) = _cases(users, 1)
    assert actions.start_interview(case, acting_user=admin).bank_version_id == v2.pk


def _published(bank: QuestionBank) -> QuerySet[Any]:
    return AuditEntry.objects.filter(
        event_type=E.INTERVIEW_BANK_PUBLISHED, subject_id=str(bank.pk), actor__isnull=False
    )


def test_group_banks_need_group_hr_and_unit_banks_win(
    users: dict[str, User], approved_case: ExitCase
) -> None:
    bank = actions.ensure_default_bank()
    with pytest.raises(PermissionDenied):
        actions.save_bank_draft(bank, acting_user=users["hrbp.cloud"], questions=bank.draft)
    with pytest.raises(PermissionDenied):
        actions.create_bank(
            acting_user=users["hrbp.devices"],
            name="云",
            business_unit_id=approved_case.business_unit_id,
        )
    unit = actions.create_bank(
        acting_user=users["hrbp.cloud"],
        name="云软件离职面谈",
        business_unit_id=approved_case.business_unit_id,
        copy_from=bank,
    )
    with pytest.raises(InvalidInput, match="at least one question"):
        actions.publish_bank(
            actions.save_bank_draft(unit, acting_user=users["hrbp.cloud"], questions=[]),
            acting_user=users["hrbp.cloud"],
        )
    actions.save_bank_draft(unit, acting_user=users["hrbp.cloud"], questions=bank.draft[:3])
    version = actions.publish_bank(unit, acting_user=users["hrbp.cloud"])
    iv = actions.start_interview(approved_case, acting_user=users["hrbp.cloud"])
    assert iv.bank_version_id == version.pk


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([{"key": "A b", "text": "x", "kind": "text"}], "needs a key"),
        (
            [{"key": "a", "text": "x", "kind": "text"}, {"key": "a", "text": "y", "kind": "text"}],
            "used twice",
        ),
        (
            [{"key": "a", "text": "x", "kind": "single", "options": ["only"]}],
            "at least two options",
        ),
        ([{"key": "a", "text": "x", "kind": "scale", "options": ["1", "2"]}], "takes no options"),
        ([{"key": "a", "text": "x", "kind": "secondary_reason"}], "main-reason question too"),
        ([{"key": "a", "text": "", "kind": "text"}], "needs a text"),
        ([{"key": "a", "text": "x", "kind": "essay"}], "unknown kind"),
    ],
)
def test_bad_questions_are_refused_by_name(
    users: dict[str, User], questions: list[Any], message: str
) -> None:
    bank = actions.create_bank(acting_user=users["admin"], name="草稿")
    with pytest.raises(InvalidInput) as exc:
        actions.save_bank_draft(bank, acting_user=users["admin"], questions=questions)
    assert message in json.dumps(exc.value.field_errors, ensure_ascii=False)


# ---------------------------------------------------------------- answers


def test_required_answers_are_named(interview: ExitInterview, users: dict[str, User]) -> None:
    hr = users["hrbp.cloud"]
    with pytest.raises(InvalidInput) as exc:
        actions.complete_interview(
            interview, acting_user=hr, answers={"satisfaction": 3}, **JUDGEMENT
        )
    assert "What is the main reason you are leaving?" in exc.value.message
    assert set(exc.value.field_errors) == {"answers.primary_reason", "answers.manager_support"}
    with pytest.raises(InvalidInput) as exc:
        actions.complete_interview(
            interview, acting_user=hr, answers={**GOOD, "satisfaction": 9}, **JUDGEMENT
        )
    assert "from 1 to 5" in exc.value.field_errors["answers.satisfaction"][0]
    with pytest.raises(InvalidInput) as exc:
        actions.complete_interview(
            interview,
            acting_user=hr,
            answers={**GOOD, "secondary_reason": "compensation"},
            **JUDGEMENT,
        )
    assert "differ" in exc.value.field_errors["answers.secondary_reason"][0]
    with pytest.raises(InvalidInput) as exc:
        actions.complete_interview(
            interview, acting_user=hr, answers=GOOD, regrettable=False, rehire_eligible=False
        )
    assert "rehire_note" in exc.value.field_errors
    interview.refresh_from_db()
    assert interview.state == InterviewState.OPEN and interview.answers == {}  # nothing written
    done = actions.complete_interview(
        interview,
        acting_user=hr,
        answers={**GOOD, "secondary_reason": "workload", "liked_most": ["work", "colleagues"]},
        **JUDGEMENT,
    )
    assert done.state == InterviewState.COMPLETED
    assert (done.primary_reason, done.secondary_reason) == ("compensation", "workload")
    assert done.answers["liked_most"] == ["colleagues", "work"]  # in the options' order
    assert done.voluntary is True and done.conducted_by == hr  # a resignation
    assert _events(done, E.INTERVIEW_COMPLETED).count() == 1
    assert "colleagues" not in _events(done, E.INTERVIEW_COMPLETED).get().payload  # no answers
    # A correction keeps the answers and is audited again.
    with pytest.raises(Conflict):
        actions.complete_interview(done, acting_user=hr, answers=GOOD)
    fixed = actions.complete_interview(done, acting_user=hr, voluntary=False, regrettable=False)
    assert fixed.voluntary_edited and fixed.answers == done.answers
    assert _events(done, E.INTERVIEW_COMPLETED).count() == 2


def test_start_is_for_hr_and_once(approved_case: ExitCase, users: dict[str, User]) -> None:
    for who in ("head.rd", "employee", "auditor", "hrbp.devices"):
        with pytest.raises(PermissionDenied):
            actions.start_interview(approved_case, acting_user=users[who])
    iv = actions.start_interview(
        approved_case, acting_user=users["admin"], mode=InterviewMode.EMPLOYEE
    )
    assert _events(iv, E.INTERVIEW_STARTED).count() == 1
    with pytest.raises(Conflict, match="already has"):
        actions.start_interview(approved_case, acting_user=users["admin"])


# ---------------------------------------------------------------- the link


def test_link_is_one_time_expiring_and_needs_no_login(
    interview: ExitInterview, users: dict[str, User], client_as: Any
) -> None:
    _iv, raw = actions.send_link(interview, acting_user=users["hrbp.cloud"], email="me@example.com")
    assert _events(interview, E.INTERVIEW_LINK_SENT).count() == 1
    assert raw not in _events(interview, E.INTERVIEW_LINK_SENT).get().payload
    url = reverse("compliance_public:interview_link", args=[raw])
    anon = client_as(None)
    page = anon.get(url)
    assert page.status_code == 200
    assert (
        "What is the main reason you are leaving?" in page.content.decode()
        or "离职" in page.content.decode()
    )
    bad = anon.post(url, {"q_satisfaction": "3"})
    assert bad.status_code == 400
    assert "manager" in bad.content.decode().lower() or "经理" in bad.content.decode()
    ok = anon.post(
        url,
        {
            "q_primary_reason": "career_growth",
            "q_satisfaction": "4",
            "q_manager_support": "5",
            "anonymous": "on",
        },
    )
    assert ok.status_code == 200
    interview.refresh_from_db()
    assert interview.state == InterviewState.ANSWERED
    assert interview.primary_reason == "career_growth" and interview.anonymous_for_analytics
    entry = _events(interview, E.INTERVIEW_COMPLETED).get()
    assert entry.actor_id is None and '"via":"link"' in entry.payload
    assert anon.get(url).status_code == 410  # one time
    assert anon.post(url, {"q_primary_reason": "health"}).status_code == 410
    assert anon.get(reverse("compliance_public:interview_link", args=["nope"])).status_code == 404
    # HR then records its judgement; anonymity the employee asked for stays.
    with pytest.raises(InvalidInput):
        actions.complete_interview(
            interview, acting_user=users["hrbp.cloud"], anonymous=False, **JUDGEMENT
        )
    actions.complete_interview(interview, acting_user=users["hrbp.cloud"], **JUDGEMENT)


def test_expired_and_replaced_links(
    interview: ExitInterview, users: dict[str, User], client_as: Any
) -> None:
    hr = users["hrbp.cloud"]
    _iv, old = actions.send_link(interview, acting_user=hr)
    _iv, new = actions.send_link(interview, acting_user=hr, valid_days=1)
    anon = client_as(None)
    assert anon.get(reverse("compliance_public:interview_link", args=[old])).status_code == 404
    ExitInterview.objects.filter(pk=interview.pk).update(
        link_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    gone = anon.get(reverse("compliance_public:interview_link", args=[new]))
    assert gone.status_code == 410
    with pytest.raises(InvalidInput):
        actions.send_link(interview, acting_user=hr, valid_days=61)
    with pytest.raises(PermissionDenied):
        actions.send_link(interview, acting_user=users["head.rd"])


def test_leaver_answers_own_interview_signed_in(
    interview: ExitInterview, users: dict[str, User], client_as: Any
) -> None:
    leaver = client_as("employee")
    url = reverse("compliance:interview", args=[interview.pk])
    assert leaver.get(url).status_code == 200
    r = leaver.post(
        url, {"q_primary_reason": "study", "q_satisfaction": "5", "q_manager_support": "4"}
    )
    assert r.status_code == 302
    interview.refresh_from_db()
    assert interview.state == InterviewState.ANSWERED and interview.primary_reason == "study"
    # Answered: the leaver no longer reads it (only whether it is done).
    page = leaver.get(url)
    assert page.status_code == 200 and "study" not in page.content.decode()
    with pytest.raises(Conflict):
        actions.answer_own(interview, GOOD, acting_user=users["employee"])
    with pytest.raises(PermissionDenied):
        actions.answer_own(interview, GOOD, acting_user=users["receiver"])


# ---------------------------------------------------------------- visibility


def test_who_reads_what(interview: ExitInterview, users: dict[str, User], client_as: Any) -> None:
    url = f"/api/compliance/interviews/{interview.pk}"
    leaver_view = client_as("employee").get(url).json()
    assert leaver_view["view"] == "own" and leaver_view["regrettable"] is None
    actions.complete_interview(
        interview, acting_user=users["hrbp.cloud"], answers=GOOD, hr_note="想回来可以", **JUDGEMENT
    )
    expected = {
        "admin": 200,
        "hrbp.cloud": 200,
        "auditor": 200,
        "head.rd": 403,  # the manager: only whether it is done
        "it": 403,
        "finance": 403,
        "employee": 403,  # no longer open
        "hrbp.devices": 404,
        "receiver": 404,
    }
    for role, status in expected.items():
        r = client_as(role).get(url)
        assert r.status_code == status, (role, r.content)
        if status == 200:
            assert r.json()["hr_note"] == "想回来可以"
    status_list = client_as("head.rd").get(f"/api/compliance/cases/{interview.case_id}/interviews")
    assert status_list.status_code == 200
    assert status_list.json()[0]["state"] == "completed"
    assert "answers" not in status_list.json()[0]
    page = client_as("head.rd").get(reverse("compliance:interview", args=[interview.pk]))
    assert page.status_code == 200 and "想回来可以" not in page.content.decode()
    assert (
        client_as("head.rd")
        .post(reverse("compliance:interview", args=[interview.pk]), {})
        .status_code
        == 403
    )
    hr_page = client_as("hrbp.cloud").get(reverse("compliance:interview", args=[interview.pk]))
    assert "想回来可以" in hr_page.content.decode()
    other = client_as("hrbp.devices").get(reverse("compliance:interview", args=[interview.pk]))
    assert other.status_code == 404


def test_case_page_starts_and_links(approved_case: ExitCase, client_as: Any) -> None:
    hr = client_as("hrbp.cloud")
    url = reverse("compliance:case_interviews", args=[approved_case.pk])
    assert hr.get(url).status_code == 200
    assert hr.post(url, {"op": "start", "mode": "employee"}).status_code == 302
    r = hr.post(url, {"op": "link", "valid_days": "7", "email": ""}, follow=True)
    assert "/exit-interview/" in r.content.decode()
    assert client_as("head.rd").post(url, {"op": "start", "mode": "hr"}).status_code == 403
    assert client_as("hrbp.devices").get(url).status_code == 404


# ---------------------------------------------------------------- analytics


def test_reason_counts_honour_anonymity(users: dict[str, User], client_as: Any) -> None:
    hr = users["hrbp.cloud"]
    cases = _cases(users, 9)
    for case in cases[:5]:  # five on compensation, one of them anonymous: shown
        _done(case, hr, "compensation", anonymous=case is cases[0])
    for case in cases[5:7]:  # two on management, one anonymous: suppressed
        _done(case, hr, "management", anonymous=case is cases[5])
    for case in cases[7:]:  # two named on career growth: shown (nobody asked for anonymity)
        _done(case, hr, "career_growth")
    counts = logic.reason_counts(hr, since=TODAY, until=TODAY)
    assert {g.code: g.count for g in counts.groups} == {"compensation": 5, "career_growth": 2}
    assert counts.suppressed == 2 and counts.total == 9
    assert counts.groups[0].voluntary == 5 and counts.groups[0].regrettable == 5
    assert MIN_ANONYMOUS_GROUP == 5
    r = client_as("auditor").get(
        "/api/compliance/interview-analytics/reasons", {"since": TODAY, "until": TODAY}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["suppressed"] == 2 and body["total"] == 9
    text = json.dumps(body)
    for case in cases:
        assert f'"employee_id": {case.employee_id}' not in text
    assert "employee" not in text
    # Another unit's HR counts nothing here; managers and leavers may not ask.
    assert logic.reason_counts(users["hrbp.devices"], since=TODAY, until=TODAY).total == 0
    for role in ("head.rd", "employee", "it"):
        assert (
            client_as(role)
            .get("/api/compliance/interview-analytics/reasons", {"since": TODAY, "until": TODAY})
            .status_code
            == 403
        )
    with pytest.raises(InvalidInput):
        logic.reason_counts(hr, since=TODAY, until=TODAY - dt.timedelta(days=1))


def test_reason_counts_query_count(users: dict[str, User], django_assert_num_queries: Any) -> None:
    hr = users["hrbp.cloud"]
    for case in _cases(users, 6):
        _done(case, hr, "workload")
    for username in ("hrbp.cloud", "auditor", "admin"):
        fresh = User.objects.get(username=username)
        # One query for the user's roles, one aggregate — however many interviews there are.
        with django_assert_num_queries(2):
            counts = logic.reason_counts(fresh, since=TODAY, until=TODAY)
        assert counts.total == 6


def test_api_bank_round_trip(users: dict[str, User], client_as: Any) -> None:
    admin = client_as("admin")
    banks = admin.get("/api/compliance/interview-banks").json()
    assert banks[0]["builtin"] and banks[0]["versions"][0]["number"] == 1
    created = admin.post(
        "/api/compliance/interview-banks",
        {
            "name": "新面谈",
            "questions": [{"key": "why", "text": "为什么？", "kind": "text", "required": True}],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    bank_id = created.json()["id"]
    published = admin.post(
        f"/api/compliance/interview-banks/{bank_id}/publish", {}, content_type="application/json"
    )
    assert published.status_code == 201 and published.json()["number"] == 1
    assert QuestionBankVersion.objects.filter(bank_id=bank_id).count() == 1
    reasons = client_as("employee").get("/api/compliance/interview-reasons").json()
    assert {"code": "compensation", "label": "薪酬福利"} in reasons or any(
        r["code"] == "compensation" for r in reasons
    )
    assert client_as("head.rd").get("/api/compliance/interview-banks").status_code == 403
