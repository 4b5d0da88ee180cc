"""Exit documents: the separation certificate (离职证明, LCL 50 / Impl. Reg. 24) and the Japanese
certificate of employment on leaving (退職証明書, LSA §22), their versioned wording and the
issuance register.

Every write goes through `baton.compliance.actions_certificates`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "Certificate",
    "CertificateKind",
    "CertificateSequence",
    "CertificateTemplate",
]


class CertificateKind(models.TextChoices):
    CN_SEPARATION = "cn_separation", _("Separation certificate (离职证明)")
    JP_TAISHOKU = "jp_taishoku", _("Certificate of employment on leaving (退職証明書)")


class CertificateTemplate(models.Model):
    """One published version of an exit document's wording for one jurisdiction. The body is
    plain text with `{placeholders}` from a fixed list of facts (no template language); a line
    starting with `[item]` appears only when that optional item is on the document (the JP
    certificate states only what the worker asked for). Versions are never edited: a new wording
    is a new version, and each issued certificate keeps the version it was rendered from."""

    kind = models.CharField(_("document"), max_length=24, choices=CertificateKind.choices)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=16)
    language = models.CharField(_("language"), max_length=16)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("certificate template")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="cert_template_version"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class CertificateSequence(models.Model):
    """The last certificate number used by one legal entity in one year (the register's
    counter; locked while a number is taken, so numbers are gap-free and never repeat)."""

    legal_entity = models.ForeignKey("org.LegalEntity", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "year"], name="cert_sequence_unique"),
        ]


class Certificate(models.Model):
    """One issued exit document in the register: its number, the facts it states (frozen as
    they were at issue), the template version it was rendered from, who issued it and when,
    the PDF itself (encrypted at rest) and how it can be verified. A wrong certificate is
    revoked, never edited or deleted; the public verification page then says so."""

    case = models.ForeignKey(
        "handover.ExitCase", on_delete=models.PROTECT, related_name="certificates"
    )
    legal_entity = models.ForeignKey("org.LegalEntity", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("document"), max_length=24, choices=CertificateKind.choices)
    number = models.CharField(_("number"), max_length=40, unique=True)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    template = models.ForeignKey(CertificateTemplate, on_delete=models.PROTECT, related_name="+")
    facts = models.JSONField(_("facts stated"))
    dated = models.DateField(_("date of the certificate"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    # SHA-256 of the verification code printed on the certificate (the code has 80 random
    # bits, so the hash cannot be reversed; a database copy does not give out working links).
    code_hash = models.CharField(max_length=64, unique=True)
    pdf = models.BinaryField(_("PDF (encrypted)"))
    key_id = models.CharField(max_length=32)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64)
    verifications = models.PositiveIntegerField(_("times verified"), default=0)
    last_verified_on = models.DateField(null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoke_reason = models.CharField(_("reason for revoking"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("certificate")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "year", "sequence"], name="cert_number_unique"
            ),
            # At most one valid certificate per case: a correction revokes the old one first.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(revoked_at__isnull=True),
                name="cert_one_valid_per_case",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
