"""Reading the audit trail, always scoped to the reader."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from baton.access import authz
from baton.access.authz import Perm
from baton.audit.models import AuditEntry


def entries_for(user: Any, params: Mapping[str, str]) -> QuerySet[AuditEntry]:
    """Entries the user may read, filtered by ?event= &subject_type= &subject_id= &actor=
    &since= &until= (ISO dates) &request_id=."""
    qs = authz.visible_to(user, Perm.AUDIT_VIEW, AuditEntry.objects.all())
    if (event := params.get("event", "")).isdigit():
        qs = qs.filter(event_type=int(event))
    if subject_type := params.get("subject_type", "").strip():
        qs = qs.filter(subject_type=subject_type)
    if subject_id := params.get("subject_id", "").strip():
        qs = qs.filter(subject_id=subject_id)
    if (actor := params.get("actor", "")).isdigit():
        qs = qs.filter(actor_id=int(actor))
    if request_id := params.get("request_id", "").strip():
        qs = qs.filter(request_id=request_id)
    for key, lookup in (("since", "created_at__date__gte"), ("until", "created_at__date__lte")):
        raw = params.get(key, "").strip()
        if raw:
            with contextlib.suppress(ValueError):
                qs = qs.filter(**{lookup: dt.date.fromisoformat(raw)})
    return qs.order_by("-id")
