"""Exit interviews (离职面谈): versioned question banks and the interview held for an exit case.

A bank's draft is edited by HR; publishing freezes it as a numbered version, and an interview
keeps the version it started with, so later edits never change what a leaver was asked.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from baton.compliance.interview_bank import ExitReason

__all__ = [
    "ExitInterview",
    "InterviewMode",
    "InterviewState",
    "QuestionBank",
    "QuestionBankVersion",
]


class QuestionBank(models.Model):
    """A set of exit-interview questions HR maintains: for the whole group (no business unit)
    or for one business unit. `draft` is what HR is editing; interviews use published
    versions only."""

    name = models.CharField(_("name"), max_length=200)
    business_unit = models.ForeignKey(
        "org.BusinessUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business unit"),
    )
    # Set for banks Baton installs itself ("default"), so installing twice finds the first.
    builtin_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    draft = models.JSONField(_("draft questions"), default=list, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("exit interview question bank")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class QuestionBankVersion(models.Model):
    """A published, frozen version of a bank's questions (each a dict: key, text, kind,
    options, required). Never changed after publishing."""

    bank = models.ForeignKey(QuestionBank, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    questions = models.JSONField()
    note = models.CharField(max_length=500, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("question bank version")
        ordering = ["bank_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "number"], name="one_number_per_bank"),
        ]

    def __str__(self) -> str:
        return f"{self.bank.name} v{self.number}"


class InterviewMode(models.TextChoices):
    HR = "hr", _("Conducted by HR")
    EMPLOYEE = "employee", _("Completed by the employee")


class InterviewState(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered by the employee")
    COMPLETED = "completed", _("Completed")


class ExitInterview(models.Model):
    """The exit interview of one exit case: the answers (to the bank version it started with),
    the structured reasons and HR's judgement. Answers are sensitive: HR in scope and auditors
    read them; the leaver sees their own only while it is open; managers see only whether it
    is done."""

    case = models.ForeignKey(
        "handover.ExitCase", on_delete=models.PROTECT, related_name="interviews"
    )
    bank_version = models.ForeignKey(
        QuestionBankVersion, on_delete=models.PROTECT, related_name="interviews"
    )
    mode = models.CharField(_("mode"), max_length=12, choices=InterviewMode.choices)
    state = models.CharField(
        _("state"), max_length=12, choices=InterviewState.choices, default=InterviewState.OPEN
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    primary_reason = models.CharField(
        _("main reason"), max_length=32, choices=ExitReason.choices, blank=True
    )
    secondary_reason = models.CharField(
        _("second reason"), max_length=32, choices=ExitReason.choices, blank=True
    )
    voluntary = models.BooleanField(_("voluntary exit"))
    voluntary_edited = models.BooleanField(default=False)  # HR changed what the exit type says
    regrettable = models.BooleanField(_("regrettable loss"), null=True, blank=True)
    rehire_eligible = models.BooleanField(_("eligible for rehire"), null=True, blank=True)
    rehire_note = models.TextField(_("rehire note"), blank=True)
    hr_note = models.TextField(_("HR notes"), blank=True)
    anonymous_for_analytics = models.BooleanField(_("use answers only anonymously"), default=False)
    # The one-time link for the employee (only the SHA-256 of the token is kept).
    link_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    link_sent_to = models.CharField(max_length=254, blank=True)
    link_used_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    conducted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)  # the answers became final
    completed_at = models.DateTimeField(null=True, blank=True)  # HR recorded its judgement
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("exit interview")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["case"], name="one_interview_per_case"),
            models.CheckConstraint(
                condition=~Q(primary_reason="") | Q(secondary_reason=""),
                name="interview_secondary_needs_primary",
            ),
        ]
        indexes = [models.Index(fields=["answered_at"], name="interview_answered_idx")]

    def __str__(self) -> str:
        return f"{self.case} · {self.get_state_display()}"
