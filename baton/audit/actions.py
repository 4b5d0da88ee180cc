"""Actions on the audit trail itself: exporting it (which is audited) and scrubbing it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.audit.models import AuditEntry, AuditHead
from baton.audit.selectors import entries_for


@transaction.atomic
def export_trail(params: Mapping[str, str], fmt: str, *, acting_user: Any) -> QuerySet[AuditEntry]:
    """Record that the user exported the trail with these filters; return what they may export."""
    authz.require(acting_user, Perm.AUDIT_EXPORT)
    qs = entries_for(acting_user, params)
    head, _created = AuditHead.objects.get_or_create(pk=1)
    trail.record(
        AuditEvent.AUDIT_EXPORTED,
        actor=acting_user,
        subject=head,
        extra={"format": fmt, "filters": {k: v for k, v in params.items() if v}},
    )
    return qs


def scrub_entries(entry_ids: list[int], *, acting_user: Any, reason: str) -> int:
    authz.require(acting_user, Perm.AUDIT_EXPORT)
    authz.require(acting_user, Perm.USERS_MANAGE)
    return trail.scrub(entry_ids, actor=acting_user, reason=reason)
