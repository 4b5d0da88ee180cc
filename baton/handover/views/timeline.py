"""The case page's timeline: the case's history from the audit trail (the case, its tasks,
documents and external confirmations), with changed fields in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy

from baton.audit.models import AuditEntry
from baton.handover.models import (
    CaseState,
    Document,
    ExitCase,
    ExternalConfirmation,
    HandoverTask,
    TaskState,
)

TIMELINE_LIMIT = 200


@dataclass
class TimelineRow:
    when: dt.datetime
    event: str
    actor: str
    subject: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    note: str = ""


FIELD_LABELS = {
    "state": gettext_lazy("state"),
    "note": gettext_lazy("handover note"),
    "sub_items": gettext_lazy("sub-items"),
    "last_working_day": gettext_lazy("last working day"),
    "exit_type": gettext_lazy("exit type"),
    "confidential": gettext_lazy("confidential"),
    "successor": gettext_lazy("successor"),
    "owner_id": gettext_lazy("owner"),
    "owner_queue": gettext_lazy("owner queue"),
    "owner_user_id": gettext_lazy("owner"),
    "receiver_id": gettext_lazy("receiver"),
    "approver_id": gettext_lazy("approver"),
    "approver_queue": gettext_lazy("approver queue"),
    "approver_user_id": gettext_lazy("approver"),
}
CASE_STATE_LABELS = dict(CaseState.choices)
TASK_STATE_LABELS = dict(TaskState.choices)


def _value(v: Any, labels: dict[str, Any] | None = None) -> str:
    if v is None or v == "":
        return "∅"
    if labels and isinstance(v, str) and v in labels:
        return str(labels[v])
    if isinstance(v, list):
        return ", ".join(
            f"{'☑' if s.get('done') else '☐'} {s.get('label', '')}"
            if isinstance(s, dict)
            else str(s)
            for s in v
        )
    return str(v)


def timeline(
    case: ExitCase,
    tasks: Sequence[HandoverTask],
    documents: Sequence[Document],
) -> list[TimelineRow]:
    """The case's history from the audit trail: the case, its tasks, documents and
    confirmations."""
    task_titles = {str(t.pk): t.title for t in tasks}
    doc_titles = {str(d.pk): f"{d.name} v{d.version}" for d in documents}
    conf_titles = {
        str(pk): name
        for pk, name in ExternalConfirmation.objects.filter(task__case=case).values_list(
            "pk", "recipient_name"
        )
    }
    q = Q(subject_type="handover.exitcase", subject_id=str(case.pk))
    for label, ids in (
        ("handover.handovertask", task_titles),
        ("handover.document", doc_titles),
        ("handover.externalconfirmation", conf_titles),
    ):
        if ids:
            q |= Q(subject_type=label, subject_id__in=list(ids))
    subjects = {
        "handover.handovertask": task_titles,
        "handover.document": doc_titles,
        "handover.externalconfirmation": conf_titles,
    }
    out = []
    for entry in AuditEntry.objects.filter(q).order_by("-id")[:TIMELINE_LIMIT]:
        data = entry.data
        if data.get("scrubbed"):
            out.append(
                TimelineRow(entry.created_at, entry.get_event_type_display(), "—", "", note="")
            )
            continue
        labels = (
            CASE_STATE_LABELS if entry.subject_type == "handover.exitcase" else TASK_STATE_LABELS
        )
        changes = [
            (
                str(FIELD_LABELS.get(k, k)),
                _value(v[0], labels if k == "state" else None),
                _value(v[1], labels if k == "state" else None),
            )
            for k, v in (data.get("changes") or {}).items()
            if isinstance(v, list | tuple) and len(v) == 2
        ]
        extra = data.get("extra") or {}
        note = str(extra.get("reason") or extra.get("comment") or extra.get("note") or "")
        out.append(
            TimelineRow(
                when=entry.created_at,
                event=entry.get_event_type_display(),
                actor=str(data.get("actor") or "—"),
                subject=subjects.get(entry.subject_type, {}).get(entry.subject_id, ""),
                changes=changes,
                note=note,
            )
        )
    return out
