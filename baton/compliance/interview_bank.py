"""The exit interview's fixed vocabulary as data: the kinds of question, the structured reason
taxonomy (离职原因), how an exit type suggests voluntary / involuntary and a reason, and the
built-in question bank every group starts with.

Texts of the built-in bank are stored in their English source form (marked with
`gettext_noop`) and translated when shown, so one frozen version reads in zh-Hans and English.
Questions HR writes are shown as written (gettext returns unknown texts unchanged).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# Analytics show a group of answers only when it holds at least this many interviews, if any
# of them was given on condition of anonymity.
MIN_ANONYMOUS_GROUP = 5
MAX_QUESTIONS = 60
MAX_TEXT_ANSWER = 4000
SCALE_MIN, SCALE_MAX = 1, 5
DEFAULT_BANK_KEY = "default"


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    SCALE = "scale", _("Scale 1–5")
    TEXT = "text", _("Free text")
    PRIMARY_REASON = "primary_reason", _("Main reason for leaving (taxonomy)")
    SECONDARY_REASON = "secondary_reason", _("Second reason for leaving (taxonomy)")

    @classmethod
    def with_options(cls) -> set[str]:
        return {cls.SINGLE, cls.MULTIPLE}

    @classmethod
    def reason_pickers(cls) -> set[str]:
        return {cls.PRIMARY_REASON, cls.SECONDARY_REASON}


class ExitReason(models.TextChoices):
    """Why people leave, as codes analytics can count (primary and secondary reason)."""

    COMPENSATION = "compensation", _("Compensation and benefits")
    CAREER_GROWTH = "career_growth", _("Career growth and promotion")
    MANAGEMENT = "management", _("Manager and management")
    WORKLOAD = "workload", _("Workload and working hours")
    CULTURE = "culture", _("Work environment and culture")
    JOB_CONTENT = "job_content", _("Job content and role fit")
    RELOCATION_FAMILY = "relocation_family", _("Relocation or family")
    STUDY = "study", _("Further study")
    HEALTH = "health", _("Health")
    CONTRACT_EXPIRY = "contract_expiry", _("Contract expiry")
    DISMISSAL_PERFORMANCE = "dismissal_performance", _("Dismissal or performance")
    RESTRUCTURING = "restructuring", _("Restructuring or layoff")
    RETIREMENT = "retirement", _("Retirement")
    OTHER = "other", _("Other")


# exit type → (voluntary?, suggested primary reason or "") — the suggestion HR corrects.
# A mutual agreement is usually proposed by the employer in China (协商一致解除 with severance),
# so it starts as involuntary; a transfer is the employee's move within the group.
EXIT_TYPE_DEFAULTS: dict[str, tuple[bool, str]] = {
    "resignation": (True, ""),
    "employee_for_cause": (True, ""),
    "mutual": (False, ""),
    "employer_no_fault": (False, ExitReason.DISMISSAL_PERFORMANCE),
    "employer_for_cause": (False, ExitReason.DISMISSAL_PERFORMANCE),
    "layoff": (False, ExitReason.RESTRUCTURING),
    "contract_expiry": (False, ExitReason.CONTRACT_EXPIRY),
    "retirement": (False, ExitReason.RETIREMENT),
    "transfer": (True, ""),
}


def defaults_for(exit_type: str) -> tuple[bool, str]:
    return EXIT_TYPE_DEFAULTS.get(exit_type, (True, ""))


def _options(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"value": v, "label": label} for v, label in pairs]


def default_questions() -> list[dict[str, Any]]:
    """The built-in bank (version 1 of the group's default exit interview)."""
    return [
        {
            "key": "primary_reason",
            "text": gettext_noop("What is the main reason you are leaving?"),
            "kind": QuestionKind.PRIMARY_REASON.value,
            "options": [],
            "required": True,
        },
        {
            "key": "secondary_reason",
            "text": gettext_noop("Is there a second reason?"),
            "kind": QuestionKind.SECONDARY_REASON.value,
            "options": [],
            "required": False,
        },
        {
            "key": "reason_detail",
            "text": gettext_noop("Tell us more about why you decided to leave."),
            "kind": QuestionKind.TEXT.value,
            "options": [],
            "required": False,
        },
        {
            "key": "satisfaction",
            "text": gettext_noop(
                "Overall, how satisfied were you working here? (1 = not at all, 5 = very)"
            ),
            "kind": QuestionKind.SCALE.value,
            "options": [],
            "required": True,
        },
        {
            "key": "manager_support",
            "text": gettext_noop(
                "How well did your manager support you? (1 = not at all, 5 = very well)"
            ),
            "kind": QuestionKind.SCALE.value,
            "options": [],
            "required": True,
        },
        {
            "key": "could_have_stayed",
            "text": gettext_noop("Could anything have made you stay?"),
            "kind": QuestionKind.SINGLE.value,
            "options": _options(
                ("yes", gettext_noop("Yes")),
                ("maybe", gettext_noop("Perhaps")),
                ("no", gettext_noop("No")),
                ("na", gettext_noop("Not my choice")),
            ),
            "required": False,
        },
        {
            "key": "liked_most",
            "text": gettext_noop("What did you value most here?"),
            "kind": QuestionKind.MULTIPLE.value,
            "options": _options(
                ("colleagues", gettext_noop("Colleagues")),
                ("work", gettext_noop("The work itself")),
                ("learning", gettext_noop("Learning opportunities")),
                ("stability", gettext_noop("Stability")),
                ("pay", gettext_noop("Pay and benefits")),
                ("flexibility", gettext_noop("Flexibility")),
            ),
            "required": False,
        },
        {
            "key": "next_step",
            "text": gettext_noop("What are you doing next?"),
            "kind": QuestionKind.SINGLE.value,
            "options": _options(
                ("same_industry", gettext_noop("A job in the same industry")),
                ("other_industry", gettext_noop("A job in another industry")),
                ("own_business", gettext_noop("My own business")),
                ("study", gettext_noop("Study")),
                ("break", gettext_noop("A break")),
                ("undecided", gettext_noop("Not decided yet")),
            ),
            "required": False,
        },
        {
            "key": "recommend",
            "text": gettext_noop("Would you recommend us as an employer to a friend?"),
            "kind": QuestionKind.SCALE.value,
            "options": [],
            "required": False,
        },
        {
            "key": "suggestions",
            "text": gettext_noop("What should we improve?"),
            "kind": QuestionKind.TEXT.value,
            "options": [],
            "required": False,
        },
    ]


DEFAULT_BANK_NAME = gettext_noop("Group exit interview")
