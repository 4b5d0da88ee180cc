"""/api/compliance: exit interviews — question banks, the interview of a case, the employee's
link, HR's completion, and exit-reason counts for analytics."""


# No `from __future__ import annotations` here: django-ninja reads the payload annotations of
# these endpoints at run time.

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.compliance import actions_interviews as actions
from baton.compliance import interviews as logic
from baton.compliance.interview_bank import ExitReason, QuestionKind
from baton.compliance.models import (
    ExitInterview,
    InterviewMode,
    InterviewState,
    QuestionBank,
)
from baton.core.http import AuthedRequest
from baton.handover.api.common import reader, writer
from baton.handover.models import ExitCase

router = Router(tags=["compliance"])

# ---------------------------------------------------------------- schemas


class OptionOut(Schema):
    value: str
    label: str


class QuestionOut(Schema):
    key: str
    text: str
    kind: QuestionKind
    options: list[OptionOut]
    required: bool
    help: str = ""


def questions_out(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions as the reader sees them (built-in texts in the reader's language)."""
    return [
        {
            **q,
            "text": logic.question_text(q),
            "help": _(q["help"]) if q.get("help") else "",
            "options": [{"value": o["value"], "label": _(o["label"])} for o in q["options"]],
        }
        for q in questions
    ]


class BankVersionOut(Schema):
    id: int
    number: int
    note: str
    published_at: dt.datetime
    published_by_id: int | None
    questions: list[QuestionOut]

    @staticmethod
    def resolve_questions(obj: Any) -> list[dict[str, Any]]:
        return questions_out(obj.questions)


class BankOut(Schema):
    id: int
    name: str
    business_unit_id: int | None
    builtin: bool
    is_active: bool
    draft: list[dict[str, Any]]
    versions: list[BankVersionOut]

    @staticmethod
    def resolve_name(obj: QuestionBank) -> str:
        return _(obj.name) if obj.builtin_key else obj.name

    @staticmethod
    def resolve_builtin(obj: QuestionBank) -> bool:
        return bool(obj.builtin_key)

    @staticmethod
    def resolve_versions(obj: QuestionBank) -> list[Any]:
        return list(obj.versions.all())


class QuestionIn(Schema):
    key: str = Field(..., max_length=40)
    text: str = Field(..., max_length=500)
    kind: QuestionKind
    options: list[OptionOut] = Field(default_factory=list)
    required: bool = False
    help: str = Field(default="", max_length=500)


class BankIn(Schema):
    name: str = Field(..., max_length=200)
    business_unit_id: int | None = None
    questions: list[QuestionIn] | None = None
    copy_from_id: int | None = None


class DraftIn(Schema):
    questions: list[QuestionIn]
    name: str | None = Field(None, max_length=200)
    is_active: bool | None = None


class BankPublishIn(Schema):
    note: str = Field(default="", max_length=500)


class ReasonOut(Schema):
    code: str
    label: str


class InterviewStatusOut(Schema):
    """What anyone who sees the exit case may know: whether the interview is done."""

    id: int
    case_id: int
    state: InterviewState
    mode: InterviewMode
    bank_id: int
    bank_version: int
    started_at: dt.datetime
    answered_at: dt.datetime | None
    completed_at: dt.datetime | None

    @staticmethod
    def resolve_bank_id(obj: Any) -> int:
        return obj["bank_id"] if isinstance(obj, dict) else obj.bank_version.bank_id

    @staticmethod
    def resolve_bank_version(obj: Any) -> int:
        return obj["bank_version"] if isinstance(obj, dict) else obj.bank_version.number


class InterviewOut(InterviewStatusOut):
    """`view` is "full" for HR and auditors, "own" for the leaver answering their open
    interview (HR's judgement left out)."""

    view: str
    questions: list[QuestionOut]
    answers: dict[str, Any]
    anonymous_for_analytics: bool
    primary_reason: str | None = None
    secondary_reason: str | None = None
    voluntary: bool | None = None
    voluntary_edited: bool | None = None
    regrettable: bool | None = None
    rehire_eligible: bool | None = None
    rehire_note: str | None = None
    hr_note: str | None = None
    started_by_id: int | None = None
    conducted_by_id: int | None = None
    link_sent_to: str | None = None
    link_expires_at: dt.datetime | None = None
    link_used_at: dt.datetime | None = None


class StartIn(Schema):
    mode: InterviewMode = InterviewMode.HR
    bank_id: int | None = None


class LinkIn(Schema):
    email: str = Field(default="", max_length=254)
    valid_days: int = actions.LINK_DAYS


class LinkOut(Schema):
    url: str
    expires_at: dt.datetime
    sent_to: str


class AnswersIn(Schema):
    answers: dict[str, Any]
    anonymous_for_analytics: bool = False


class InterviewCompleteIn(Schema):
    answers: dict[str, Any] | None = None
    primary_reason: ExitReason | None = None
    secondary_reason: ExitReason | None = None
    voluntary: bool | None = None
    regrettable: bool | None = None
    rehire_eligible: bool | None = None
    rehire_note: str | None = Field(None, max_length=2000)
    hr_note: str | None = Field(None, max_length=4000)
    anonymous_for_analytics: bool | None = None


class ReasonGroupOut(Schema):
    code: str
    label: str
    count: int
    voluntary: int
    regrettable: int
    rehire_eligible: int


class ReasonCountsOut(Schema):
    since: dt.date
    until: dt.date
    total: int
    suppressed: int
    unclassified: int
    min_group: int
    groups: list[ReasonGroupOut]


# ---------------------------------------------------------------- helpers


def _interview_qs() -> Any:
    return ExitInterview.objects.select_related("case", "bank_version")


def _visible_interview(user: Any, interview_id: int) -> ExitInterview:
    found = logic.interviews_visible(user, _interview_qs()).filter(pk=interview_id).first()
    if found is None:
        raise Http404(_("Not found, or not visible to you."))
    return found


def _bank(user: Any, bank_id: int) -> QuestionBank:
    found = logic.banks_visible(user).filter(pk=bank_id).first()
    if found is None:
        raise Http404(_("Not found, or not visible to you."))
    return found


def _full(interview: ExitInterview, view: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        f: getattr(interview, f)
        for f in (
            "id",
            "case_id",
            "state",
            "mode",
            "started_at",
            "answered_at",
            "completed_at",
            "answers",
            "anonymous_for_analytics",
        )
    }
    data.update(
        bank_id=interview.bank_version.bank_id,
        bank_version=interview.bank_version.number,
        view=view,
        questions=questions_out(interview.bank_version.questions),
    )
    if view == "full":
        for f in (
            "primary_reason",
            "secondary_reason",
            "voluntary",
            "voluntary_edited",
            "regrettable",
            "rehire_eligible",
            "rehire_note",
            "hr_note",
            "started_by_id",
            "conducted_by_id",
            "link_sent_to",
            "link_expires_at",
            "link_used_at",
        ):
            data[f] = getattr(interview, f)
    return data


def interview_view(user: Any, interview: ExitInterview) -> dict[str, Any]:
    """The interview as this user may read it, or 403 (sees the case, not the answers)."""
    if logic.can_read_answers(user, interview):
        return _full(interview, "full")
    if logic.is_own_open(user, interview):
        return _full(interview, "own")
    raise PermissionDenied(_("You may see whether this interview is done, but not its answers."))


# ---------------------------------------------------------------- banks


@router.get("/interview-reasons", response=list[ReasonOut], operation_id="list_exit_reasons")
def list_exit_reasons(request: AuthedRequest) -> Any:
    """The exit-reason taxonomy (codes and labels in the reader's language)."""
    return [{"code": c, "label": str(label)} for c, label in ExitReason.choices]


@router.get("/interview-banks", response=list[BankOut], operation_id="list_interview_banks")
def list_interview_banks(request: AuthedRequest) -> Any:
    user = reader(request)
    if not logic.can_read_banks(user):
        raise PermissionDenied(_("You do not have permission to do this."))
    return list(logic.banks_visible(user).prefetch_related("versions"))


@router.post("/interview-banks", response={201: BankOut}, operation_id="create_interview_bank")
def create_interview_bank(request: AuthedRequest, payload: BankIn) -> Any:
    """A new question bank (a draft until published): for the group, or one business unit."""
    user = writer(request)
    source = _bank(user, payload.copy_from_id) if payload.copy_from_id else None
    questions = (
        [q.model_dump(mode="json") for q in payload.questions]
        if payload.questions is not None
        else None
    )
    bank = actions.create_bank(
        acting_user=user,
        name=payload.name,
        business_unit_id=payload.business_unit_id,
        questions=questions,
        copy_from=source,
    )
    return Status(201, bank)


@router.get("/interview-banks/{int:bank_id}", response=BankOut, operation_id="get_interview_bank")
def get_interview_bank(request: AuthedRequest, bank_id: int) -> Any:
    return _bank(reader(request), bank_id)


@router.put(
    "/interview-banks/{int:bank_id}/draft",
    response=BankOut,
    operation_id="save_interview_bank_draft",
)
def save_interview_bank_draft(request: AuthedRequest, bank_id: int, payload: DraftIn) -> Any:
    """Replace the draft's questions (published versions stay as they are)."""
    user = writer(request)
    bank = _bank(user, bank_id)
    return actions.save_bank_draft(
        bank,
        acting_user=user,
        questions=[q.model_dump(mode="json") for q in payload.questions],
        name=payload.name,
        is_active=payload.is_active,
    )


@router.post(
    "/interview-banks/{int:bank_id}/publish",
    response={201: BankVersionOut},
    operation_id="publish_interview_bank",
)
def publish_interview_bank(request: AuthedRequest, bank_id: int, payload: BankPublishIn) -> Any:
    """Freeze the draft as the next version; interviews started from now on use it."""
    user = writer(request)
    bank = _bank(user, bank_id)
    return Status(201, actions.publish_bank(bank, acting_user=user, note=payload.note))


# ---------------------------------------------------------------- interviews


@router.get(
    "/cases/{int:case_id}/interviews",
    response=list[InterviewStatusOut],
    operation_id="list_case_interviews",
)
def list_case_interviews(request: AuthedRequest, case_id: int) -> Any:
    """Whether the case's exit interview is started and done (no answers)."""
    user = reader(request)
    case = authz.get_for(user, Perm.CASE_VIEW, ExitCase, pk=case_id)
    return list(_interview_qs().filter(case=case))


@router.post(
    "/cases/{int:case_id}/interviews",
    response={201: InterviewOut},
    operation_id="start_case_interview",
)
def start_case_interview(request: AuthedRequest, case_id: int, payload: StartIn) -> Any:
    """HR starts the case's exit interview (conducted by HR, or to be completed by the
    employee), with the current published questions."""
    user = writer(request)
    case = authz.get_for(user, Perm.CASE_VIEW, ExitCase, pk=case_id)
    bank = None
    if payload.bank_id is not None:
        bank = QuestionBank.objects.filter(pk=payload.bank_id).first()
        if bank is None:
            raise Http404(_("Not found, or not visible to you."))
    interview = actions.start_interview(case, acting_user=user, mode=payload.mode, bank=bank)
    return Status(201, _full(_interview_qs().get(pk=interview.pk), "full"))


@router.get("/interviews/{int:interview_id}", response=InterviewOut, operation_id="get_interview")
def get_interview(request: AuthedRequest, interview_id: int) -> Any:
    """HR and auditors read everything; the leaver reads their own open interview; others who
    see the case get 403 (they may know only whether it is done)."""
    user = reader(request)
    return interview_view(user, _visible_interview(user, interview_id))


@router.post(
    "/interviews/{int:interview_id}/link",
    response={201: LinkOut},
    operation_id="send_interview_link",
)
def send_interview_link(request: AuthedRequest, interview_id: int, payload: LinkIn) -> Any:
    """A one-time, expiring link for the employee to answer without signing in. The URL is
    answered once: pass it on (a new link replaces the previous one)."""
    user = writer(request)
    interview = _visible_interview(user, interview_id)
    interview, raw = actions.send_link(
        interview, acting_user=user, email=payload.email, valid_days=payload.valid_days
    )
    url = request.build_absolute_uri(reverse("compliance_public:interview_link", args=[raw]))
    assert interview.link_expires_at is not None
    return Status(
        201,
        {"url": url, "expires_at": interview.link_expires_at, "sent_to": interview.link_sent_to},
    )


@router.post(
    "/interviews/{int:interview_id}/answers",
    response=InterviewStatusOut,
    operation_id="answer_own_interview",
)
def answer_own_interview(request: AuthedRequest, interview_id: int, payload: AnswersIn) -> Any:
    """The leaver answers their own open interview (all required questions, once)."""
    user = writer(request)
    interview = _visible_interview(user, interview_id)
    return actions.answer_own(
        interview,
        payload.answers,
        acting_user=user,
        anonymous=payload.anonymous_for_analytics,
    )


@router.post(
    "/interviews/{int:interview_id}/complete",
    response=InterviewOut,
    operation_id="complete_interview",
)
def complete_interview(
    request: AuthedRequest, interview_id: int, payload: InterviewCompleteIn
) -> Any:
    """HR records the answers (when HR conducted it), the reasons and HR's judgement and
    completes the interview; on a completed one this corrects the reasons and judgement."""
    user = writer(request)
    interview = _visible_interview(user, interview_id)
    done = actions.complete_interview(
        interview,
        acting_user=user,
        answers=payload.answers,
        primary_reason=payload.primary_reason,
        secondary_reason=payload.secondary_reason,
        voluntary=payload.voluntary,
        regrettable=payload.regrettable,
        rehire_eligible=payload.rehire_eligible,
        rehire_note=payload.rehire_note,
        hr_note=payload.hr_note,
        anonymous=payload.anonymous_for_analytics,
    )
    return _full(_interview_qs().get(pk=done.pk), "full")


@router.get(
    "/interview-analytics/reasons",
    response=ReasonCountsOut,
    operation_id="interview_reason_counts",
)
def interview_reason_counts(
    request: AuthedRequest,
    since: dt.date | None = None,
    until: dt.date | None = None,
    business_unit: int | None = None,
) -> Any:
    """Exit reasons counted over the caller's scope (interviews answered from `since` to
    `until`, by default the last 365 days). No employee is named; groups including anyone who
    asked for anonymity are shown only from five interviews up."""
    user = reader(request)
    if not logic.can_read_banks(user):  # HR and auditors
        raise PermissionDenied(_("You do not have permission to do this."))
    until = until or timezone.localdate()
    since = since or until - dt.timedelta(days=365)
    return logic.reason_counts(user, since=since, until=until, business_unit=business_unit)
