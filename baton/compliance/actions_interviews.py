"""Exit interview actions: question banks (drafts, publishing), starting an interview, the
employee's one-time link, the employee's answers and HR's completion. One transaction each,
audited where something that matters changes (drafts change nothing until published)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.compliance import interviews as logic
from baton.compliance.interview_bank import (
    DEFAULT_BANK_KEY,
    DEFAULT_BANK_NAME,
    ExitReason,
    default_questions,
    defaults_for,
)
from baton.compliance.models import (
    ExitInterview,
    InterviewMode,
    InterviewState,
    QuestionBank,
    QuestionBankVersion,
)
from baton.core.errors import Conflict, Gone, InvalidInput, NotFound
from baton.handover.models import CaseState, ExitCase
from baton.handover.rules import is_leaver

LINK_DAYS = 14
# An interview is held for a case that is under way or finished, not a draft or a stopped one.
INTERVIEW_CASE_STATES = (
    CaseState.SUBMITTED,
    CaseState.APPROVED,
    CaseState.HANDOVER,
    CaseState.CLEARED,
    CaseState.CLOSED,
)

# ---------------------------------------------------------------- helpers


def _audit(
    event: E,
    interview: ExitInterview,
    actor: Any,
    *,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """An interview entry, filed under the leaver's unit and department (so scoped readers of
    the trail see it). Answers themselves never go into the trail."""
    case = interview.case
    trail.record_many(
        [
            trail.Change(
                event,
                interview,
                changes=changes,
                extra={"case": case.pk, **(extra or {})},
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
        ],
        actor=actor,
    )


def _require_bank_manage(user: Any, business_unit_id: int | None) -> None:
    authz.check_unit_setting(
        user,
        Perm.CASE_MANAGE,
        business_unit_id,
        _("Only HR over the whole group edits the group's question banks."),
    )


def _lock_interview(interview: ExitInterview) -> ExitInterview:
    return (
        ExitInterview.objects.select_for_update()
        .select_related("case", "bank_version")
        .get(pk=interview.pk)
    )


def _require_manage(user: Any, interview: ExitInterview) -> None:
    if not logic.can_manage(user, interview):
        raise PermissionDenied(_("Only HR who manage this exit case run its interview."))


# ---------------------------------------------------------------- question banks


@transaction.atomic
def ensure_default_bank() -> QuestionBank:
    """The built-in group bank with its first version (installed once, audited; safe to call
    again). Installed after migrate (actions_packs.on_post_migrate), never by a read."""
    bank = QuestionBank.objects.filter(builtin_key=DEFAULT_BANK_KEY).first()
    if bank is None:
        try:
            with transaction.atomic():
                bank = QuestionBank.objects.create(
                    name=DEFAULT_BANK_NAME, builtin_key=DEFAULT_BANK_KEY, draft=default_questions()
                )
        except IntegrityError:  # installed concurrently
            return QuestionBank.objects.get(builtin_key=DEFAULT_BANK_KEY)
    if not bank.versions.exists():
        version = QuestionBankVersion.objects.create(
            bank=bank, number=1, questions=logic.clean_questions(bank.draft), note="built-in"
        )
        trail.record(
            E.INTERVIEW_BANK_PUBLISHED,
            actor=None,
            subject=bank,
            extra={"version": version.number, "questions": len(version.questions)},
        )
    return bank


@transaction.atomic
def create_bank(
    *,
    acting_user: Any,
    name: str,
    business_unit_id: int | None = None,
    questions: Any = None,
    copy_from: QuestionBank | None = None,
) -> QuestionBank:
    """A new bank (a draft until published): empty, with the given questions, or starting
    from another bank's draft."""
    _require_bank_manage(acting_user, business_unit_id)
    if not name.strip():
        raise InvalidInput.field("name", _("Give the question bank a name."))
    if questions is None:
        questions = list(copy_from.draft) if copy_from is not None else []
    return QuestionBank.objects.create(
        name=name.strip()[:200],
        business_unit_id=business_unit_id,
        draft=logic.clean_questions(questions),
        created_by=acting_user,
    )


@transaction.atomic
def save_bank_draft(
    bank: QuestionBank,
    *,
    acting_user: Any,
    questions: Any,
    name: str | None = None,
    is_active: bool | None = None,
) -> QuestionBank:
    """Replace the draft's questions (and optionally rename or retire the bank). Published
    versions, and the interviews using them, are not touched."""
    _require_bank_manage(acting_user, bank.business_unit_id)
    bank = QuestionBank.objects.select_for_update().get(pk=bank.pk)
    bank.draft = logic.clean_questions(questions)
    fields = ["draft", "updated_at"]
    if name is not None:
        if not name.strip():
            raise InvalidInput.field("name", _("Give the question bank a name."))
        bank.name = name.strip()[:200]
        fields.append("name")
    if is_active is not None:
        bank.is_active = is_active
        fields.append("is_active")
    bank.save(update_fields=fields)
    return bank


@transaction.atomic
def publish_bank(bank: QuestionBank, *, acting_user: Any, note: str = "") -> QuestionBankVersion:
    """Freeze the draft as the bank's next version; new interviews use it from now on."""
    _require_bank_manage(acting_user, bank.business_unit_id)
    bank = QuestionBank.objects.select_for_update().get(pk=bank.pk)
    questions = logic.clean_questions(bank.draft)
    if not questions:
        raise InvalidInput(_("A question bank needs at least one question before it is published."))
    latest = bank.versions.order_by("-number").first()
    if latest is not None and latest.questions == questions:
        raise Conflict(
            _("Nothing changed since version %(n)s; there is nothing to publish.")
            % {"n": latest.number}
        )
    number = (bank.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = QuestionBankVersion.objects.create(
        bank=bank, number=number, questions=questions, note=note[:500], published_by=acting_user
    )
    trail.record(
        E.INTERVIEW_BANK_PUBLISHED,
        actor=acting_user,
        subject=bank,
        extra={"version": number, "questions": len(questions), "note": note[:500]},
    )
    return version


def pick_version(case: ExitCase, bank: QuestionBank | None = None) -> QuestionBankVersion:
    """The version an interview for this case uses: the given bank's latest, else the latest
    published bank of the leaver's business unit, else of the group."""
    if bank is not None:
        if not bank.is_active:
            raise InvalidInput.field("bank", _("This question bank is no longer in use."))
        if bank.business_unit_id not in (None, case.business_unit_id):
            raise InvalidInput.field(
                "bank", _("This question bank belongs to another business unit.")
            )
        version = bank.versions.order_by("-number").first()
        if version is None:
            raise InvalidInput.field("bank", _("This question bank has not been published yet."))
        return version
    ensure_default_bank()
    versions = QuestionBankVersion.objects.filter(bank__is_active=True).select_related("bank")
    for unit in (case.business_unit_id, None):
        version = (
            versions.filter(bank__business_unit_id=unit).order_by("-published_at", "-id").first()
        )
        if version is not None:
            return version
    raise Conflict(_("No exit interview questions are published."))


# ---------------------------------------------------------------- interviews


@transaction.atomic
def start_interview(
    case: ExitCase,
    *,
    acting_user: Any,
    mode: str = InterviewMode.HR,
    bank: QuestionBank | None = None,
) -> ExitInterview:
    """HR starts the exit interview of a case, with the current questions (kept for good)."""
    if mode not in InterviewMode.values:
        raise InvalidInput.field("mode", _("Unknown interview mode."))
    case = ExitCase.objects.select_for_update().get(pk=case.pk)
    if not authz.visible_to(
        acting_user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)
    ).exists():
        raise PermissionDenied(_("Only HR who manage this exit case run its interview."))
    if is_leaver(acting_user, case):
        raise PermissionDenied(_("Nobody manages their own exit case."))
    if case.state not in INTERVIEW_CASE_STATES:
        raise Conflict(
            _("An exit interview is held once the exit is submitted (this case is %(state)s).")
            % {"state": case.get_state_display()}
        )
    if ExitInterview.objects.filter(case=case).exists():
        raise Conflict(_("This exit case already has an exit interview."))
    version = pick_version(case, bank)
    voluntary, suggested = defaults_for(case.exit_type)
    interview = ExitInterview.objects.create(
        case=case,
        bank_version=version,
        mode=mode,
        voluntary=voluntary,
        primary_reason=suggested,
        started_by=acting_user,
        conducted_by=acting_user if mode == InterviewMode.HR else None,
    )
    _audit(
        E.INTERVIEW_STARTED,
        interview,
        acting_user,
        changes={"mode": (None, mode), "voluntary": (None, voluntary)},
        extra={"bank": version.bank_id, "version": version.number},
    )
    return interview


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def send_link(
    interview: ExitInterview, *, acting_user: Any, email: str = "", valid_days: int = LINK_DAYS
) -> tuple[ExitInterview, str]:
    """A one-time, expiring link for the employee to answer without signing in. Returns the raw
    token (only its hash is kept); a new link replaces the previous one."""
    interview = _lock_interview(interview)
    _require_manage(acting_user, interview)
    if interview.state != InterviewState.OPEN:
        raise Conflict(_("The interview is already answered; no link is needed."))
    if not 1 <= valid_days <= 60:
        raise InvalidInput.field("valid_days", _("A link is valid for 1 to 60 days."))
    raw = secrets.token_urlsafe(32)
    old_mode = interview.mode
    interview.link_hash = _hash(raw)
    interview.link_expires_at = timezone.now() + dt.timedelta(days=valid_days)
    interview.link_sent_to = email.strip()[:254]
    interview.mode = InterviewMode.EMPLOYEE
    interview.save(
        update_fields=["link_hash", "link_expires_at", "link_sent_to", "mode", "updated_at"]
    )
    _audit(
        E.INTERVIEW_LINK_SENT,
        interview,
        acting_user,
        changes={"mode": (old_mode, interview.mode)} if old_mode != interview.mode else None,
        extra={"expires": interview.link_expires_at, "to": interview.link_sent_to},
    )
    return interview, raw


def find_link(raw: str) -> ExitInterview:
    """The interview behind a link, or an error that explains itself (404 / 410)."""
    interview = (
        ExitInterview.objects.select_related("case", "case__legal_entity", "bank_version")
        .filter(link_hash=_hash(raw))
        .first()
        if raw
        else None
    )
    if interview is None:
        raise NotFound(_("This link is not valid. Check that you copied all of it."))
    if interview.link_used_at is not None:
        raise Gone(
            _("This link was already used on %(when)s; it works only once.")
            % {"when": timezone.localtime(interview.link_used_at).strftime("%Y-%m-%d %H:%M")}
        )
    if interview.state != InterviewState.OPEN or interview.case.state not in INTERVIEW_CASE_STATES:
        raise Gone(_("This interview is no longer open; nothing more is needed from you."))
    if interview.link_expires_at is None or interview.link_expires_at <= timezone.now():
        when = interview.link_expires_at or timezone.now()
        raise Gone(
            _("This link expired on %(when)s. Ask HR for a new one.")
            % {"when": timezone.localtime(when).strftime("%Y-%m-%d")}
        )
    return interview


def _record_answers(
    interview: ExitInterview, answers: Any, anonymous: bool, *, actor: Any, via: str
) -> ExitInterview:
    questions = interview.bank_version.questions
    cleaned = logic.clean_answers(questions, answers, require_all=True)
    primary, secondary = logic.reasons_in(questions, cleaned)
    now = timezone.now()
    interview.answers = cleaned
    interview.primary_reason = primary or interview.primary_reason
    interview.secondary_reason = secondary if interview.primary_reason else ""
    if interview.secondary_reason == interview.primary_reason:
        interview.secondary_reason = ""
    interview.anonymous_for_analytics = anonymous
    interview.state = InterviewState.ANSWERED
    interview.answered_at = now
    fields = ["answers", "primary_reason", "secondary_reason", "anonymous_for_analytics"]
    fields += ["state", "answered_at", "updated_at"]
    if via == "link":
        interview.link_used_at = now
        fields.append("link_used_at")
    interview.save(update_fields=fields)
    _audit(
        E.INTERVIEW_COMPLETED,
        interview,
        actor,
        changes={"state": (InterviewState.OPEN, InterviewState.ANSWERED)},
        extra={"by": "employee", "via": via, "answered": len(cleaned), "anonymous": anonymous},
    )
    return interview


@transaction.atomic
def answer_by_link(raw: str, answers: Any, *, anonymous: bool = False) -> ExitInterview:
    """The employee answers through the link (no account): once, all required questions."""
    interview = _lock_interview(find_link(raw))
    find_link(raw)  # re-checked under the lock: a second submission finds the link used
    return _record_answers(interview, answers, anonymous, actor=None, via="link")


@transaction.atomic
def answer_own(
    interview: ExitInterview, answers: Any, *, acting_user: Any, anonymous: bool = False
) -> ExitInterview:
    """The leaver answers their own open interview while signed in."""
    interview = _lock_interview(interview)
    if not is_leaver(acting_user, interview.case):
        raise PermissionDenied(_("Only the employee answers their own exit interview."))
    if interview.state != InterviewState.OPEN:
        raise Conflict(_("This interview is already answered."))
    if not logic.is_own_open(acting_user, interview):
        raise PermissionDenied(_("Only the employee answers their own exit interview."))
    return _record_answers(interview, answers, anonymous, actor=acting_user, via="page")


ASSESSMENT_FIELDS = (
    "primary_reason",
    "secondary_reason",
    "voluntary",
    "regrettable",
    "rehire_eligible",
    "anonymous_for_analytics",
)


@transaction.atomic
def complete_interview(
    interview: ExitInterview,
    *,
    acting_user: Any,
    answers: Any = None,
    primary_reason: str | None = None,
    secondary_reason: str | None = None,
    voluntary: bool | None = None,
    regrettable: bool | None = None,
    rehire_eligible: bool | None = None,
    rehire_note: str | None = None,
    hr_note: str | None = None,
    anonymous: bool | None = None,
) -> ExitInterview:
    """HR records the interview: the answers (when HR conducted it), the structured reasons and
    HR's judgement, and completes it. On a completed interview this corrects the judgement
    (the answers stay as given)."""
    interview = _lock_interview(interview)
    _require_manage(acting_user, interview)
    before = trail.snapshot(interview, ASSESSMENT_FIELDS)
    before["state"] = interview.state
    questions = interview.bank_version.questions
    now = timezone.now()
    if answers is not None:
        if interview.state != InterviewState.OPEN:
            raise Conflict(
                _("The answers are final; only the reasons and HR's judgement can change.")
            )
        interview.answers = logic.clean_answers(questions, answers, require_all=True)
        picked_primary, picked_secondary = logic.reasons_in(questions, interview.answers)
        interview.primary_reason = picked_primary or interview.primary_reason
        interview.secondary_reason = picked_secondary or interview.secondary_reason
        interview.answered_at = now
        interview.conducted_by = acting_user
        interview.mode = InterviewMode.HR
    elif interview.state == InterviewState.OPEN:
        raise InvalidInput.field(
            "answers",
            _("The employee has not answered yet: record their answers, or wait for them."),
        )
    errors: dict[str, list[str]] = {}
    if primary_reason is not None:
        interview.primary_reason = primary_reason
    if secondary_reason is not None:
        interview.secondary_reason = secondary_reason
    for name in ("primary_reason", "secondary_reason"):
        value = getattr(interview, name)
        if value and value not in ExitReason.values:
            errors[name] = [_("Choose a reason from the list.")]
    if not interview.primary_reason:
        errors["primary_reason"] = [_("Choose the main reason for leaving.")]
    elif interview.secondary_reason == interview.primary_reason:
        errors["secondary_reason"] = [_("The second reason must differ from the main reason.")]
    if voluntary is not None and voluntary != interview.voluntary:
        interview.voluntary = voluntary
        interview.voluntary_edited = voluntary != defaults_for(interview.case.exit_type)[0]
    if regrettable is not None:
        interview.regrettable = regrettable
    if rehire_eligible is not None:
        interview.rehire_eligible = rehire_eligible
    if rehire_note is not None:
        interview.rehire_note = rehire_note.strip()[:2000]
    if hr_note is not None:
        interview.hr_note = hr_note.strip()[:4000]
    if interview.rehire_eligible is None:
        errors["rehire_eligible"] = [_("Say whether the employee may be rehired.")]
    elif interview.rehire_eligible is False and not interview.rehire_note:
        errors["rehire_note"] = [_("Say why the employee may not be rehired.")]
    if interview.regrettable is None:
        errors["regrettable"] = [_("Say whether this loss is regrettable.")]
    if anonymous is not None:
        if interview.anonymous_for_analytics and not anonymous:
            errors["anonymous_for_analytics"] = [
                _(
                    "The employee asked that their answers be used only anonymously; "
                    "HR cannot undo that."
                )
            ]
        else:
            interview.anonymous_for_analytics = anonymous
    if errors:
        raise InvalidInput(_("Please correct the highlighted fields."), errors)
    correction = interview.state == InterviewState.COMPLETED
    interview.state = InterviewState.COMPLETED
    if not correction:
        interview.completed_at = now
    interview.save()
    after = trail.snapshot(interview, ASSESSMENT_FIELDS)
    after["state"] = interview.state
    _audit(
        E.INTERVIEW_COMPLETED,
        interview,
        acting_user,
        changes=trail.diff(before, after),
        extra={
            "by": "hr",
            "correction": correction,
            **({"answered": len(interview.answers)} if answers is not None else {}),
        },
    )
    return interview
