"""Data migration: import batches (one uploaded file of one kind of record), what they found
and what they changed, and the column mappings people save for files they import again.

A batch is validated (a dry run that applies everything inside a transaction and rolls it
back, so its counts are exact) and then committed (the same run, kept) — all or nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    GROUP = "group", _("Group")
    CITIES = "cities", _("Cities")
    BUSINESS_UNITS = "business_units", _("Business units")
    LEGAL_ENTITIES = "legal_entities", _("Legal entities")
    DEPARTMENTS = "departments", _("Departments")
    POSITION_FAMILIES = "position_families", _("Position families")
    POSITIONS = "positions", _("Positions")
    EMPLOYEES = "employees", _("Employees")
    DEPARTMENT_HEADS = "department_heads", _("Department heads")
    CONTRACTS = "contracts", _("Contracts")
    AGREEMENTS = "agreements", _("Agreements")
    LIFECYCLE_EVENTS = "lifecycle_events", _("Lifecycle events")
    SEPARATIONS = "separations", _("Past resignations and terminations")
    COMPENSATION = "compensation", _("Compensation changes")
    PERFORMANCE = "performance", _("Performance ratings")
    LEAVE = "leave", _("Leave records")
    ATTENDANCE = "attendance", _("Attendance")
    ARCHIVE = "archive", _("Full archive (ZIP)")


class BatchStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATING = "validating", _("Validating")
    VALID = "valid", _("Ready to commit")
    INVALID = "invalid", _("Has errors")
    COMMITTING = "committing", _("Committing")
    COMMITTED = "committed", _("Committed")
    FAILED = "failed", _("Failed")
    DISCARDED = "discarded", _("Discarded")


class SavedMapping(models.Model):
    """A column mapping saved under a name, to import files of the same shape again
    (`docs/imports.md` describes the format)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=24, choices=ImportKind.choices)
    spec = models.JSONField(_("mapping"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved mapping")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="saved_mapping_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One uploaded file of one kind, from validation to commit."""

    kind = models.CharField(_("kind"), max_length=24, choices=ImportKind.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.UPLOADED
    )
    file_name = models.CharField(_("file"), max_length=255)
    file_size = models.BigIntegerField(_("size"), default=0)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64)
    # Where the upload waits between validation and commit (removed when the batch ends).
    stored_path = models.CharField(max_length=500, blank=True)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    saved_mapping = models.ForeignKey(
        SavedMapping, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # rows read / valid / rejected / created / updated / unchanged / warnings, per kind for an
    # archive: {"employees": {...}, ...}; "total" sums them.
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    # Progress of the running phase: rows done and bytes read of the file's size.
    progress_rows = models.BigIntegerField(default=0)
    progress_bytes = models.BigIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.file_name}"


class Severity(models.TextChoices):
    ERROR = "error", _("Error")
    WARNING = "warning", _("Warning")


class ImportProblem(models.Model):
    """A line of the validation report: a rejected row (error) or something to look at
    (warning), with the row and column it is about."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="problems")
    kind = models.CharField(max_length=24, blank=True)
    row = models.BigIntegerField(_("row"), null=True)
    column = models.CharField(_("column"), max_length=100, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    code = models.CharField(max_length=40)
    message = models.TextField(_("problem"))
    value = models.CharField(_("value"), max_length=200, blank=True)

    class Meta:
        ordering = ["batch_id", "id"]


class ChangeOp(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")


class ImportChange(models.Model):
    """One record a committed batch created or changed (old → new values), so a batch can be
    inspected row by row. Attendance days are counted, not listed."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=24)
    key = models.CharField(_("record"), max_length=200)
    op = models.CharField(_("change"), max_length=8, choices=ChangeOp.choices)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["batch_id", "id"]
