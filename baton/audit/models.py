"""The audit trail: append-only, hash-chained entries written by actions.

Each entry's `entry_hash` is SHA-256 over its canonical fields and the previous entry's hash, so
changing, deleting, inserting or reordering a row breaks the chain at that row. Personal data
(names, old/new values) lives in `payload`, which the chain covers only through `payload_hash`:
scrubbing the payload for privacy keeps the chain intact and is itself recorded.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from baton.audit.events import AuditEvent

SCRUBBED_PAYLOAD = '{"scrubbed":true}'


class AuditEntry(models.Model):
    # Assigned by the writer under the chain lock (never by a sequence) so ids are gap-free.
    id = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(_("time"), db_index=True)
    event_type = models.PositiveSmallIntegerField(
        _("event"), choices=AuditEvent.choices, db_index=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("on behalf of"),
    )
    token_id = models.BigIntegerField(null=True)
    subject_type = models.CharField(_("subject type"), max_length=64)
    subject_id = models.CharField(_("subject id"), max_length=64)
    # Scope of the subject when it was written, so scoped readers see their part of the trail.
    business_unit_id = models.BigIntegerField(null=True, db_index=True)
    department_id = models.BigIntegerField(null=True)
    request_id = models.CharField(_("request id"), max_length=64)
    client_ip = models.CharField(_("client IP"), max_length=45, blank=True)
    payload = models.TextField()
    payload_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    scrubbed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"#{self.id} {self.get_event_type_display()}"

    @property
    def data(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.payload)
        return result


class AuditHead(models.Model):
    """The end of the chain: one row, locked by every writer, so entries form one line and a
    truncated tail is detected."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
