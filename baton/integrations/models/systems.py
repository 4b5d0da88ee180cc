"""Connected systems (the identity provider, OA, CRM, ERP, code hosting, finance) and the
revocation of a leaver's accounts in them, with every call kept as evidence."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SystemKind(models.TextChoices):
    SCIM = "scim", _("SCIM 2.0 (identity provider)")
    REST = "rest", _("REST connector (manifest)")
    WECOM = "wecom", _("WeCom external contacts")


class ConnectedSystem(models.Model):
    """A system that exits touch. Per legal entity (or the whole group): accounts in it are
    revoked when people leave (`revokes_access`), the leaver's business records are pulled from
    it (`pulls_data`), customers are transferred in it (`transfers_customers`).

    `config` is the kind's own settings: for SCIM how a leaver's account is found and what is
    removed; for REST the manifest of HTTP steps (docs/integrations.md); for WeCom the corp id.
    Secrets (bearer tokens, API keys, corp secrets) are sealed on the row (`baton.core.sealed`)
    and referenced from the config by name, never embedded."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=SystemKind.choices)
    business_unit = models.ForeignKey(
        "org.BusinessUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business unit"),
        help_text=_("Who manages it: empty for group administrators only."),
    )
    legal_entity = models.ForeignKey(
        "org.LegalEntity",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("legal entity"),
        help_text=_("Whose employees have accounts in it: empty for every entity."),
    )
    base_url = models.URLField(_("base URL"), max_length=500)
    internal = models.BooleanField(
        _("internal network"),
        default=False,
        help_text=_("Allow private, loopback and link-local addresses (administrators only)."),
    )
    active = models.BooleanField(_("active"), default=True)
    revokes_access = models.BooleanField(_("revokes access"), default=True)
    pulls_data = models.BooleanField(_("pulls business data"), default=False)
    transfers_customers = models.BooleanField(_("transfers customers"), default=False)
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    revoke_hour = models.PositiveSmallIntegerField(
        _("revocation hour"),
        default=18,
        help_text=_(
            "Local hour on the last working day at which accounts are deactivated "
            "(a dismissal for cause: at once)."
        ),
    )
    delete_after_days = models.PositiveSmallIntegerField(
        _("delete after (days)"),
        null=True,
        blank=True,
        help_text=_("Grace period before the deactivated account is deleted; empty: never."),
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts before IT takes over"), default=5)
    secrets_blob = models.BinaryField(default=b"", editable=False)
    secrets_key_id = models.CharField(max_length=32, blank=True, editable=False)
    # Owns the system's API tokens (`system_tokens`): made with its first token.
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="service_of",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("connected system")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccountLink(models.Model):
    """An employee's account in a connected system: the login it is found by and the system's
    own id. Recorded when a revocation finds the account, or set by IT / an import. Two
    employments (two employee records) may share one login: it is deactivated only when no
    active employment still uses it."""

    system = models.ForeignKey(ConnectedSystem, on_delete=models.CASCADE, related_name="accounts")
    employee = models.ForeignKey("org.Employee", on_delete=models.CASCADE, related_name="+")
    login = models.CharField(_("login"), max_length=200)
    external_id = models.CharField(_("id in the system"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        constraints = [
            models.UniqueConstraint(fields=["system", "employee"], name="account_once"),
        ]
        indexes = [models.Index(fields=["system", "login"])]

    def __str__(self) -> str:
        return f"{self.system_id}:{self.login}"


class RevocationState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    RUNNING = "running", _("Running")
    RETRY = "retry", _("Will retry")
    REVOKED = "revoked", _("Revoked")
    ABSENT = "absent", _("No account found")
    KEPT = "kept", _("Kept: used by another active employment")
    FAILED = "failed", _("Failed: IT revokes by hand")
    MANUAL = "manual", _("Revoked by hand")
    CANCELLED = "cancelled", _("Cancelled")
    DELETED = "deleted", _("Deleted after the grace period")


OPEN_REVOCATION = ("scheduled", "running", "retry")
DONE_REVOCATION = ("revoked", "absent", "kept", "manual", "deleted")


class Revocation(models.Model):
    """The revocation of one leaver's access to one connected system (权限回收): due at the
    configured hour of the last working day (at once for a dismissal for cause), retried with
    backoff, then handed to IT as a manual task. Its handover task's evidence is the call log."""

    case = models.ForeignKey(
        "handover.ExitCase", on_delete=models.PROTECT, related_name="revocations"
    )
    system = models.ForeignKey(
        ConnectedSystem, on_delete=models.PROTECT, related_name="revocations"
    )
    employee = models.ForeignKey("org.Employee", on_delete=models.PROTECT, related_name="+")
    task = models.OneToOneField(
        "handover.HandoverTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="revocation",
    )
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=RevocationState.choices,
        default=RevocationState.SCHEDULED,
    )
    immediate = models.BooleanField(_("at once"), default=False)
    due_at = models.DateTimeField(_("due"))
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    login = models.CharField(_("login"), max_length=200, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    # What was done: groups removed, sessions revoked, verification result, a shared login's
    # other employment, …
    outcome = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    delete_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("access revocation")
        ordering = ["case_id", "system_id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "system"], name="revocation_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["scheduled", "retry", "running"]),
                name="revocation_ready",
            ),
            models.Index(
                fields=["delete_at"],
                condition=Q(state="revoked", deleted_at__isnull=True, delete_at__isnull=False),
                name="revocation_delete_due",
            ),
            models.Index(fields=["state", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.system_id} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REVOCATION

    @property
    def business_unit_id(self) -> int:
        """The case's business unit: where the audit trail and the outbox file this row (the
        engine loads the case with the row, so this costs no query there)."""
        return self.case.business_unit_id

    @property
    def department_id(self) -> int:
        return self.case.department_id


class ConnectorCall(models.Model):
    """One HTTP call to a connected system, kept as evidence: what was asked (secrets
    redacted), what was answered, when, how long it took and whether it met its success
    condition."""

    system = models.ForeignKey(
        ConnectedSystem, on_delete=models.CASCADE, related_name="calls", db_index=False
    )
    revocation = models.ForeignKey(
        Revocation, on_delete=models.CASCADE, null=True, blank=True, related_name="calls"
    )
    pull = models.ForeignKey(
        "integrations.DataPull",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calls",
    )
    item = models.ForeignKey(
        "integrations.BusinessItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
    )
    step = models.CharField(_("step"), max_length=40)
    method = models.CharField(max_length=8)
    url = models.CharField(_("URL"), max_length=1000)
    request_body = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    ok = models.BooleanField(_("succeeded"), default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("connector call")
        ordering = ["id"]
        indexes = [models.Index(fields=["system", "-id"], name="connector_call_log")]

    def __str__(self) -> str:
        return f"{self.step} {self.method} {self.status}"
