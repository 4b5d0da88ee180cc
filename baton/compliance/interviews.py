"""Exit interviews: what a question and an answer must look like, who may see what, and the
reads exit-reason analytics build on.

Visibility has three levels:
- *status* (state, mode, dates): everyone who sees the exit case (managers, IT, finance…);
- *answers* (answers, reasons, HR's judgement): HR who manage the case and auditors in scope,
  never the subject themselves through this level;
- *own* (the questions and their own answers, never HR's judgement): the leaver, while the
  interview is open.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.compliance.interview_bank import (
    MAX_QUESTIONS,
    MAX_TEXT_ANSWER,
    MIN_ANONYMOUS_GROUP,
    SCALE_MAX,
    SCALE_MIN,
    ExitReason,
    QuestionKind,
)
from baton.compliance.models import ExitInterview, InterviewState, QuestionBank
from baton.core.errors import InvalidInput
from baton.handover.rules import is_leaver

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# ---------------------------------------------------------------- questions


def clean_questions(raw: Any) -> list[dict[str, Any]]:
    """A bank's questions, checked and normalised; refuses with the question named."""
    if not isinstance(raw, list):
        raise InvalidInput.field("questions", _("Questions are a list."))
    if len(raw) > MAX_QUESTIONS:
        raise InvalidInput.field(
            "questions", _("A bank holds at most %(n)s questions.") % {"n": MAX_QUESTIONS}
        )
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    pickers: set[str] = set()
    for i, q in enumerate(raw, start=1):
        where = f"questions.{i}"
        if not isinstance(q, Mapping):
            raise InvalidInput.field(where, _("Question %(n)s is not an object.") % {"n": i})
        unknown = set(q) - {"key", "text", "kind", "options", "required", "help"}
        if unknown:
            raise InvalidInput.field(
                where,
                _("Question %(n)s has unknown fields: %(f)s")
                % {"n": i, "f": ", ".join(sorted(unknown))},
            )
        key = str(q.get("key") or "").strip()
        if not KEY_RE.match(key):
            raise InvalidInput.field(
                where,
                _(
                    "Question %(n)s needs a key of lower-case letters, digits and _ "
                    "(starting with a letter, at most 40)."
                )
                % {"n": i},
            )
        if key in seen:
            raise InvalidInput.field(where, _("The key “%(key)s” is used twice.") % {"key": key})
        seen.add(key)
        text = str(q.get("text") or "").strip()
        if not text or len(text) > 500:
            raise InvalidInput.field(
                where,
                _("Question “%(key)s” needs a text of at most 500 characters.") % {"key": key},
            )
        kind = q.get("kind")
        if kind not in QuestionKind.values:
            raise InvalidInput.field(
                where, _("Question “%(key)s” has an unknown kind.") % {"key": key}
            )
        if kind in QuestionKind.reason_pickers():
            if kind in pickers:
                raise InvalidInput.field(
                    where,
                    _("Only one question may ask for the %(what)s.")
                    % {"what": QuestionKind(kind).label},
                )
            pickers.add(kind)
        options = _clean_options(key, kind, q.get("options") or [], where)
        out.append(
            {
                "key": key,
                "text": text,
                "kind": kind,
                "options": options,
                "required": bool(q.get("required", False)),
                **({"help": str(q["help"]).strip()[:500]} if q.get("help") else {}),
            }
        )
    if QuestionKind.SECONDARY_REASON in pickers and QuestionKind.PRIMARY_REASON not in pickers:
        raise InvalidInput.field(
            "questions", _("A second-reason question needs a main-reason question too.")
        )
    return out


def _clean_options(key: str, kind: str, options: Any, where: str) -> list[dict[str, str]]:
    if kind not in QuestionKind.with_options():
        if options:
            raise InvalidInput.field(
                where, _("Question “%(key)s” takes no options of its own.") % {"key": key}
            )
        return []
    if not isinstance(options, list) or len(options) < 2:
        raise InvalidInput.field(
            where, _("Question “%(key)s” needs at least two options.") % {"key": key}
        )
    out: list[dict[str, str]] = []
    values: set[str] = set()
    for opt in options:
        if isinstance(opt, str):
            opt = {"value": opt, "label": opt}
        value = str(opt.get("value") or "").strip() if isinstance(opt, Mapping) else ""
        label = str(opt.get("label") or "").strip() if isinstance(opt, Mapping) else ""
        if not value or not label or value in values or len(value) > 60 or len(label) > 200:
            raise InvalidInput.field(
                where,
                _("Each option of “%(key)s” needs a distinct value and a label.") % {"key": key},
            )
        values.add(value)
        out.append({"value": value, "label": label})
    return out


# ---------------------------------------------------------------- answers


def question_text(q: Mapping[str, Any]) -> str:
    """A question as the reader sees it (built-in texts translated, HR's shown as written)."""
    return _(q["text"]) if q.get("text") else ""


def clean_answers(
    questions: list[dict[str, Any]], raw: Any, *, require_all: bool
) -> dict[str, Any]:
    """Answers checked against the frozen questions. With `require_all`, every required
    question must be answered; errors are listed per question (`answers.<key>`), named."""
    if not isinstance(raw, Mapping):
        raise InvalidInput.field("answers", _("Answers are an object of question keys."))
    by_key = {q["key"]: q for q in questions}
    unknown = set(raw) - set(by_key)
    if unknown:
        raise InvalidInput.field(
            "answers",
            _("Unknown questions: %(keys)s") % {"keys": ", ".join(sorted(map(str, unknown)))},
        )
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    missing: list[str] = []
    for q in questions:
        key, value = q["key"], raw.get(q["key"])
        if value in (None, "", []):
            if require_all and q.get("required"):
                missing.append(question_text(q))
                errors[f"answers.{key}"] = [_("Please answer “%(q)s”.") % {"q": question_text(q)}]
            continue
        try:
            out[key] = _clean_one(q, value)
        except ValueError as exc:
            errors[f"answers.{key}"] = [str(exc)]
    primary = next(
        (
            out[q["key"]]
            for q in questions
            if q["kind"] == QuestionKind.PRIMARY_REASON and q["key"] in out
        ),
        None,
    )
    for q in questions:
        if q["kind"] == QuestionKind.SECONDARY_REASON and q["key"] in out:
            if out[q["key"]] == primary:
                errors[f"answers.{q['key']}"] = [
                    _("The second reason must differ from the main reason.")
                ]
            elif primary is None:
                errors[f"answers.{q['key']}"] = [_("Give the main reason first.")]
    if errors:
        if missing:
            message = _("Please answer the required questions: %(list)s") % {
                "list": "; ".join(f"“{m}”" for m in missing)
            }
        else:
            message = _("Please correct the highlighted answers.")
        raise InvalidInput(message, errors)
    return out


def _clean_one(q: Mapping[str, Any], value: Any) -> Any:
    kind, text = q["kind"], question_text(q)
    allowed = [o["value"] for o in q.get("options") or []]
    if kind == QuestionKind.SINGLE:
        if str(value) not in allowed:
            raise ValueError(_("Choose one of the offered answers to “%(q)s”.") % {"q": text})
        return str(value)
    if kind == QuestionKind.MULTIPLE:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(str(v) in allowed for v in values):
            raise ValueError(_("Choose only offered answers to “%(q)s”.") % {"q": text})
        return sorted(set(map(str, values)), key=allowed.index)
    if kind == QuestionKind.SCALE:
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = 0
        if (
            isinstance(value, bool)
            or not SCALE_MIN <= n <= SCALE_MAX
            or str(n) != str(value).strip()
        ):
            raise ValueError(
                _("Answer “%(q)s” with a whole number from %(lo)s to %(hi)s.")
                % {"q": text, "lo": SCALE_MIN, "hi": SCALE_MAX}
            )
        return n
    if kind == QuestionKind.TEXT:
        s = str(value).strip()
        if len(s) > MAX_TEXT_ANSWER:
            raise ValueError(
                _("The answer to “%(q)s” is longer than %(n)s characters.")
                % {"q": text, "n": MAX_TEXT_ANSWER}
            )
        return s
    if str(value) not in ExitReason.values:  # the reason pickers
        raise ValueError(_("Choose a reason from the list for “%(q)s”.") % {"q": text})
    return str(value)


def reasons_in(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> tuple[str, str]:
    """The main and second reason the answers give through the reason pickers ("" if none)."""
    primary = secondary = ""
    for q in questions:
        if q["kind"] == QuestionKind.PRIMARY_REASON:
            primary = answers.get(q["key"], "") or ""
        elif q["kind"] == QuestionKind.SECONDARY_REASON:
            secondary = answers.get(q["key"], "") or ""
    return primary, secondary


# ---------------------------------------------------------------- visibility


def answers_q(user: Any, prefix: str = "") -> Q:
    """Interviews whose answers the user may read: HR who manage the case, and auditors (who
    read the trail of the leaver's unit) — never one's own."""
    case = f"{prefix}case__"
    q = authz.case_q(user, Perm.CASE_MANAGE, case) | (
        authz.case_q(user, Perm.CASE_VIEW, case)
        & authz.scope_q(user, Perm.AUDIT_VIEW, f"{case}employee__")
    )
    me = authz.access_for(user).employee_id
    if me:
        q &= ~Q(**{f"{case}employee_id": me})
    return q


def status_q(user: Any, prefix: str = "") -> Q:
    """Interviews whose existence and state the user may see (who sees the exit case)."""
    return authz.case_q(user, Perm.CASE_VIEW, f"{prefix}case__")


def interviews_visible(
    user: Any, qs: QuerySet[ExitInterview] | None = None
) -> QuerySet[ExitInterview]:
    base = ExitInterview.objects.all() if qs is None else qs
    if authz.access_for(user).user_id is None:
        return base.none()
    return base.filter(status_q(user))


def can_read_answers(user: Any, interview: ExitInterview) -> bool:
    return ExitInterview.objects.filter(answers_q(user), pk=interview.pk).exists()


def can_manage(user: Any, interview: ExitInterview) -> bool:
    """HR who manage the leaver's case (not their own)."""
    if is_leaver(user, interview.case):
        return False
    return ExitInterview.objects.filter(
        authz.case_q(user, Perm.CASE_MANAGE, "case__"), pk=interview.pk
    ).exists()


def is_own_open(user: Any, interview: ExitInterview) -> bool:
    """The leaver themselves, while the interview is open (and their case is visible to them)."""
    return (
        is_leaver(user, interview.case)
        and interview.state == InterviewState.OPEN
        and authz.has_perm(user, Perm.CASE_PARTICIPATE)
        and ExitInterview.objects.filter(status_q(user), pk=interview.pk).exists()
    )


def can_read_banks(user: Any) -> bool:
    return authz.has_perm(user, Perm.CASE_MANAGE) or authz.has_perm(user, Perm.AUDIT_VIEW)


def banks_visible(user: Any) -> QuerySet[QuestionBank]:
    """Question banks are not personal data: HR and auditors read all of them."""
    if not can_read_banks(user):
        return QuestionBank.objects.none()
    return QuestionBank.objects.all()


# ---------------------------------------------------------------- analytics reads


@dataclass
class ReasonGroup:
    code: str
    label: str
    count: int
    voluntary: int
    regrettable: int
    rehire_eligible: int


@dataclass
class ReasonCounts:
    """Counts of answered interviews by main reason. No employee is named; a group that
    includes anyone who asked for anonymity is shown only with ≥ MIN_ANONYMOUS_GROUP
    interviews (smaller ones are added to `suppressed`)."""

    since: dt.date
    until: dt.date
    total: int = 0
    suppressed: int = 0
    unclassified: int = 0
    groups: list[ReasonGroup] = field(default_factory=list)
    min_group: int = MIN_ANONYMOUS_GROUP


def analytics_queryset(
    user: Any, *, since: dt.date, until: dt.date, business_unit: int | None = None
) -> QuerySet[ExitInterview]:
    """Answered interviews (answers final) in [since, until], in the user's answers scope."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    qs = ExitInterview.objects.filter(answers_q(user), answered_at__gte=start, answered_at__lt=end)
    if business_unit is not None:
        qs = qs.filter(case__business_unit_id=business_unit)
    return qs


def reason_counts(
    user: Any, *, since: dt.date, until: dt.date, business_unit: int | None = None
) -> ReasonCounts:
    """Exit reasons counted over the user's scope (one aggregate query)."""
    if until < since:
        raise InvalidInput.field("until", _("The end of the period is before its start."))
    out = ReasonCounts(since=since, until=until)
    if authz.access_for(user).user_id is None:
        return out
    rows = (
        analytics_queryset(user, since=since, until=until, business_unit=business_unit)
        .order_by()
        .values("primary_reason")
        .annotate(
            n=Count("id"),
            anon=Count("id", filter=Q(anonymous_for_analytics=True)),
            vol=Count("id", filter=Q(voluntary=True)),
            reg=Count("id", filter=Q(regrettable=True)),
            rehire=Count("id", filter=Q(rehire_eligible=True)),
        )
    )
    labels = dict(ExitReason.choices)
    for row in rows:
        out.total += row["n"]
        if row["anon"] and row["n"] < MIN_ANONYMOUS_GROUP:
            out.suppressed += row["n"]
            continue
        if not row["primary_reason"]:
            out.unclassified += row["n"]
            continue
        out.groups.append(
            ReasonGroup(
                code=row["primary_reason"],
                label=str(labels.get(row["primary_reason"], row["primary_reason"])),
                count=row["n"],
                voluntary=row["vol"],
                regrettable=row["reg"],
                rehire_eligible=row["rehire"],
            )
        )
    out.groups.sort(key=lambda g: (-g.count, g.code))
    return out
