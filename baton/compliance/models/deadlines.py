"""Statutory deadlines of an exit (the certificate on the last day, personnel file and
social-insurance transfer, unemployment filing, housing-fund change, keeping the contract text):
one row per obligation per case, each (except the retention period) with an HR task that the
reminder rules chase. They never gate the handover, and the handover never gates them.

Every write goes through `baton.compliance.deadlines`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["DeadlineKind", "StatutoryDeadline"]


class DeadlineKind(models.TextChoices):
    CERTIFICATE = "certificate", _("Issue the separation certificate")
    PERSONNEL_FILE = "personnel_file", _("Transfer the personnel file")
    SOCIAL_INSURANCE = "social_insurance", _("Transfer the social-insurance relationship")
    UNEMPLOYMENT_FILING = (
        "unemployment_filing",
        _("File the leaver with the unemployment insurance"),
    )
    HOUSING_FUND = "housing_fund", _("Register the housing-fund change")
    CONTRACT_RETENTION = "contract_retention", _("Keep the contract text")
    EMPLOYMENT_INSURANCE_LOSS = (
        "employment_insurance_loss",
        _("Report the loss of employment-insurance status"),
    )


class StatutoryDeadline(models.Model):
    """An obligation the employer owes by law when someone leaves, with its due date (counted in
    calendar days from the last working day), its legal basis and, once done, who did it, when
    and the evidence. `is_retention` rows are "keep until" dates, not things to do."""

    case = models.ForeignKey(
        "handover.ExitCase", on_delete=models.PROTECT, related_name="statutory_deadlines"
    )
    kind = models.CharField(_("obligation"), max_length=32, choices=DeadlineKind.choices)
    due_date = models.DateField(_("due date"))
    offset_days = models.PositiveIntegerField(_("days after the last working day"))
    legal_basis = models.CharField(_("legal basis"), max_length=200)
    confidence = models.CharField(max_length=1, default="P")
    is_retention = models.BooleanField(default=False)
    task = models.OneToOneField(
        "handover.HandoverTask",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statutory_deadline",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    evidence_note = models.TextField(_("evidence"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("statutory deadline")
        ordering = ["case_id", "due_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], name="deadline_unique_kind"),
        ]
        indexes = [
            models.Index(
                fields=["due_date"],
                condition=models.Q(done_at__isnull=True, is_retention=False),
                name="deadline_open_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.due_date}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
