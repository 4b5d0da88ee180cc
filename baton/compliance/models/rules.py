"""Rule packs as data: one row per version of a legal rule in one jurisdiction, city wage
parameters, and the termination terms recorded on an exit case.

The law changes by date and place, so nothing here is hard-coded in the engines: they resolve a
rule by (jurisdiction, date) through `baton.compliance.rules`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["CityParameter", "Confidence", "Rule", "RuleSource", "TerminationTerms"]


class Confidence(models.TextChoices):
    """How sure the rules document is of a rule (labor-rules.md legend)."""

    PRIMARY = "P", _("Primary legal text")
    SECONDARY = "S", _("Reliable secondary source")
    TO_CONFIRM = "R", _("Common practice, to be confirmed")


class RuleSource(models.TextChoices):
    """Where a row's current values came from: a shipped pack (reloaded on migrate) or an HR
    admin's edit (never overwritten by a pack reload)."""

    PACK = "pack", _("Shipped rule pack")
    USER = "user", _("Edited by an administrator")


class Rule(models.Model):
    """One version of one legal rule for one jurisdiction scope, e.g. CN.SEVERANCE.N for CN
    from 2008-01-01. A child jurisdiction's row (CN-SZ) overrides its parent's (CN)."""

    rule_id = models.CharField(_("rule"), max_length=64)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=16)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective until (exclusive)"), null=True, blank=True)
    rule_type = models.CharField(_("rule type"), max_length=32)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    legal_basis = models.JSONField(_("legal basis"), default=list, blank=True)
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(max_length=8, choices=RuleSource.choices, default=RuleSource.PACK)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("legal rule")
        ordering = ["rule_id", "jurisdiction", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule_id", "jurisdiction", "effective_from"], name="rule_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gt=models.F("effective_from")),
                name="rule_effective_to_after_from",
            ),
        ]
        indexes = [models.Index(fields=["rule_id", "jurisdiction", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.rule_id} [{self.jurisdiction}] {self.effective_from}"


class CityParameter(models.Model):
    """A city's wage parameters from a date: the prior-year average monthly wage
    (上年度职工月平均工资), the monthly minimum wage and the final-pay deadline in working days.
    Keyed by the organisation's City.code (SH, SZ, …), so packs load before cities exist."""

    city_code = models.CharField(_("city code"), max_length=16)
    effective_from = models.DateField(_("effective from"))
    avg_monthly_wage = models.DecimalField(
        _("prior-year average monthly wage"), max_digits=12, decimal_places=2
    )
    min_monthly_wage = models.DecimalField(
        _("monthly minimum wage"), max_digits=12, decimal_places=2
    )
    final_pay_working_days = models.PositiveSmallIntegerField(
        _("final pay within (working days)"), null=True, blank=True
    )
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    legal_basis = models.JSONField(_("legal basis"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(max_length=8, choices=RuleSource.choices, default=RuleSource.PACK)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("city wage parameters")
        verbose_name_plural = _("city wage parameters")
        ordering = ["city_code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["city_code", "effective_from"], name="city_parameter_unique"
            ),
            models.CheckConstraint(
                condition=Q(avg_monthly_wage__gt=0) & Q(min_monthly_wage__gt=0),
                name="city_parameter_wages_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.city_code} {self.effective_from}"


class TerminationTerms(models.Model):
    """How an exit case ends in law: the termination type (LCL taxonomy), when notice was
    given, whether notice is paid in lieu, the leaver's protected status (LCL 42), the union
    notice (LCL 43) and an agreed early release. Wages are the settlement's."""

    case = models.OneToOneField(
        "handover.ExitCase", on_delete=models.PROTECT, related_name="termination_terms"
    )
    termination_type = models.CharField(_("termination type"), max_length=32)
    notice_date = models.DateField(_("notice given on"))
    pay_in_lieu = models.BooleanField(_("pay in lieu of notice"), default=False)
    # {flag: true/false} for the LCL 42 protected statuses (terminations.PROTECTION_FLAGS).
    protection = models.JSONField(_("protected status"), default=dict, blank=True)
    protection_note = models.TextField(_("protected status note"), blank=True)
    union_notified_at = models.DateField(_("union notified on"), null=True, blank=True)
    union_evidence = models.TextField(_("union notice evidence and response"), blank=True)
    early_release_agreed_at = models.DateField(_("early release agreed on"), null=True, blank=True)
    early_release_note = models.TextField(_("early release agreement"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("termination terms")
        verbose_name_plural = _("termination terms")

    def __str__(self) -> str:
        return f"{self.termination_type} {self.notice_date}"

    @property
    def active_protection(self) -> list[str]:
        return sorted(k for k, v in (self.protection or {}).items() if v)
