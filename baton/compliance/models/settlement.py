"""The settlement statement (离职结算) of an exit case, and the non-compete decided at exit with
its monthly payments.

A settlement keeps what HR entered (the inputs), the figures computed from them with their
working (`lines`, `totals`) and the parameters they were computed with, so an approved
statement reads the same whatever the rule packs later say. Every write goes through
`baton.compliance.actions_settlement`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = [
    "NonCompete",
    "NonCompeteDecision",
    "NonCompetePayment",
    "Settlement",
    "SettlementState",
]

_NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class SettlementState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


class Settlement(models.Model):
    """One leaver's final settlement: severance (N or 2N), payment in lieu of notice, unused
    annual leave, the final-wage deadline, the non-compete and what the leaver owes. Only the
    severance payment may wait for the handover to be cleared (LCL 50 §2)."""

    case = models.OneToOneField(
        "handover.ExitCase", on_delete=models.PROTECT, related_name="settlement"
    )
    # ---- inputs (HR)
    avg_wage_12m = models.DecimalField(
        _("12-month average wage"),
        help_text=_("Gross 应得 wage incl. bonuses and allowances, average of the last 12 months."),
        validators=_NON_NEGATIVE,
        max_digits=14,
        decimal_places=2,
    )
    avg_wage_12m_excl_ot = models.DecimalField(
        _("12-month average wage excluding overtime"),
        validators=_NON_NEGATIVE,
        max_digits=14,
        decimal_places=2,
    )
    previous_month_wage = models.DecimalField(
        _("previous month's wage"), validators=_NON_NEGATIVE, max_digits=14, decimal_places=2
    )
    final_month_wage = models.DecimalField(
        _("final month's wage"),
        help_text=_("The wage deductions come from; empty: the previous month's wage."),
        null=True,
        blank=True,
        validators=_NON_NEGATIVE,
        max_digits=14,
        decimal_places=2,
    )
    cumulative_work_years = models.PositiveSmallIntegerField(
        _("cumulative working years"),
        default=0,
        help_text=_("All employers, for the annual-leave entitlement."),
        validators=[MaxValueValidator(60)],
    )
    leave_entitlement_days = models.PositiveSmallIntegerField(
        _("annual leave entitlement (days)"),
        null=True,
        blank=True,
        help_text=_("Only if the contract grants more than the statute; empty: statutory."),
        validators=[MaxValueValidator(60)],
    )
    leave_taken_days = models.DecimalField(
        _("annual leave taken this year (days)"),
        max_digits=5,
        decimal_places=1,
        default=Decimal("0"),
        validators=_NON_NEGATIVE,
    )
    pay_in_lieu = models.BooleanField(_("payment in lieu of notice"), default=False)
    unlawful = models.BooleanField(
        _("unlawful termination (2N)"),
        default=False,
        help_text=_("Double compensation replaces N (LCL 87; Impl. Reg. 25)."),
    )
    agreed_non_compete_monthly = models.DecimalField(
        _("agreed monthly non-compete compensation"),
        null=True,
        blank=True,
        validators=_NON_NEGATIVE,
        max_digits=14,
        decimal_places=2,
    )
    owed_loans = models.DecimalField(
        _("loans outstanding"),
        default=Decimal("0"),
        validators=_NON_NEGATIVE,
        max_digits=14,
        decimal_places=2,
    )
    owed_advances = models.DecimalField(
        _("unsettled advances"),
        default=Decimal("0"),
        validators=_NON_NEGATIVE,
        max_digits=14,
        decimal_places=2,
    )
    owed_assets = models.DecimalField(
        _("unreturned equipment"),
        default=Decimal("0"),
        validators=_NON_NEGATIVE,
        max_digits=14,
        decimal_places=2,
    )
    severance_hold = models.BooleanField(
        _("hold the severance until the handover is cleared"),
        default=True,
        help_text=_("Only the severance may be held (LCL 50 §2); nothing else ever waits."),
    )
    note = models.TextField(_("note"), blank=True)
    # ---- results
    termination_type = models.CharField(_("termination type"), max_length=32, blank=True)
    severance_owed = models.BooleanField(default=True)
    params = models.JSONField(default=dict, blank=True)  # what the figures were computed with
    lines = models.JSONField(default=list, blank=True)
    totals = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=SettlementState.choices, default=SettlementState.DRAFT
    )
    calculated_at = models.DateTimeField(null=True, blank=True)
    calculated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    severance_released_at = models.DateTimeField(null=True, blank=True)
    severance_released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("settlement")

    def __str__(self) -> str:
        return f"settlement:{self.case_id}"

    @property
    def business_unit_id(self) -> int:  # filed under the case's unit in the audit trail
        return self.case.business_unit_id

    @property
    def department_id(self) -> int:
        return self.case.department_id


class NonCompeteDecision(models.TextChoices):
    ACTIVATE = "activate", _("Activate")
    WAIVE = "waive", _("Waive")


class NonCompete(models.Model):
    """The non-compete decided at exit (竞业限制): activated (months, monthly compensation, a
    payment schedule) or waived. Deciding at exit avoids the 3 extra months a later release
    costs (SPC Interp. (I) 39); the evidence of eligibility (role, secrets accessed) is kept
    because a restriction on someone who knew no secrets is not effective (Interp. (II) 13)."""

    settlement = models.OneToOneField(
        Settlement, on_delete=models.PROTECT, related_name="non_compete"
    )
    decision = models.CharField(_("decision"), max_length=8, choices=NonCompeteDecision.choices)
    months = models.PositiveSmallIntegerField(
        _("months"), default=0, validators=[MaxValueValidator(24)]
    )
    monthly_amount = models.DecimalField(
        _("monthly compensation"), default=Decimal("0"), max_digits=14, decimal_places=2
    )
    start_date = models.DateField(_("starts"), null=True, blank=True)
    end_date = models.DateField(_("ends"), null=True, blank=True)
    eligibility = models.TextField(
        _("why this person is restricted"),
        blank=True,
        help_text=_("Role and the trade secrets actually known."),
    )
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("non-compete")
        constraints = [
            models.CheckConstraint(condition=Q(months__lte=24), name="non_compete_at_most_24m"),
        ]

    def __str__(self) -> str:
        return f"non-compete:{self.settlement_id} {self.decision}"


class NonCompetePayment(models.Model):
    """One monthly non-compete payment: when it is due, how much, and when it was paid."""

    non_compete = models.ForeignKey(NonCompete, on_delete=models.PROTECT, related_name="payments")
    seq = models.PositiveSmallIntegerField(_("month"))
    due_date = models.DateField(_("due"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_at = models.DateField(_("paid on"), null=True, blank=True)
    # When HR and finance were alerted that it is more than 60 days late (once).
    late_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    paid_amount = models.DecimalField(
        _("amount paid"), null=True, blank=True, max_digits=14, decimal_places=2
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("non-compete payment")
        ordering = ["non_compete_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["non_compete", "seq"], name="non_compete_payment_once")
        ]
        indexes = [models.Index(fields=["paid_at", "due_date"])]

    def __str__(self) -> str:
        return f"{self.non_compete_id}#{self.seq} {self.due_date}"

    def is_late(self, today: dt.date) -> bool:
        from baton.compliance.settlement import payment_is_late

        return payment_is_late(self.due_date, self.paid_at, today)
