"""The position knowledge map (岗位知识地图): fed by accepted, reusable handover items."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.handover.models import (
    Document,
    HandoverTask,
    KnowledgeItem,
)

# ---------------------------------------------------------------- knowledge map


def _add_to_knowledge_map(task: HandoverTask, *, acting_user: Any) -> None:
    """An accepted reusable item becomes part of the position's knowledge map: its note and
    the documents marked reusable (or all its documents, for an item meant for reuse)."""
    position_id = task.case.employee.position_id
    docs = list(task.documents.order_by("name", "-version"))
    latest: dict[str, Document] = {}
    for d in docs:
        latest.setdefault(d.name, d)
    entries = [
        KnowledgeItem(
            position_id=position_id,
            title=f"{task.title} · {d.name}",
            body=d.note,
            category=task.category,
            document=d,
            source_task=task,
            contributed_by_id=task.case.employee_id,
        )
        for d in latest.values()
    ]
    if task.note.strip():
        entries.append(
            KnowledgeItem(
                position_id=position_id,
                title=task.title,
                body=task.note,
                category=task.category,
                source_task=task,
                contributed_by_id=task.case.employee_id,
            )
        )
    KnowledgeItem.objects.bulk_create(entries)
    if entries:
        trail.record_many(
            [
                trail.Change(
                    E.KNOWLEDGE_ADDED,
                    e,
                    extra={"task": task.pk},
                    business_unit_id=task.case.business_unit_id,
                )
                for e in entries
            ],
            actor=acting_user,
        )


@transaction.atomic
def count_knowledge_view(item: KnowledgeItem) -> None:
    # A counter for analytics, not a business change: no audit entry of its own.
    KnowledgeItem.objects.select_for_update().filter(pk=item.pk).first()
    item.views += 1
    item.save(update_fields=["views"])
