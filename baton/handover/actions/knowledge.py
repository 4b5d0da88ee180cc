"""The position knowledge map (岗位知识地图): fed by accepted, reusable handover items."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import Conflict
from baton.handover import crypto
from baton.handover.models import (
    Document,
    HandoverTask,
    KnowledgeItem,
)

# ---------------------------------------------------------------- knowledge map


def add_to_knowledge_map(task: HandoverTask, *, acting_user: Any) -> None:
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
    # A counter for analytics, not a business change: no audit entry of its own. Re-read under
    # the lock so concurrent views are all counted.
    fresh = KnowledgeItem.objects.select_for_update().get(pk=item.pk)
    fresh.views += 1
    fresh.save(update_fields=["views"])
    item.views = fresh.views


def knowledge_visible_to(user: Any) -> QuerySet[KnowledgeItem]:
    """Knowledge entries the user may read (the rule lives in authz)."""
    return authz.visible_to(user, Perm.TEMPLATE_VIEW, KnowledgeItem.objects.all())


@transaction.atomic
def read_knowledge_document(item: KnowledgeItem, *, acting_user: Any) -> tuple[Document, bytes]:
    """The next holder reads a document from their position's knowledge map (audited), even
    though the case it came from is not visible to them."""
    item = knowledge_visible_to(acting_user).select_related("document__case").get(pk=item.pk)
    doc = item.document
    if doc is None:
        raise Http404(_("This entry has no document."))
    with doc.blob.open("rb") as fh:
        blob = fh.read()
    try:
        data = crypto.decrypt(blob, doc.sha256, doc.key_id)
    except InvalidTag:
        raise Conflict(
            _(
                "The stored file failed its integrity check; it was altered or "
                "damaged. Restore it from backup."
            )
        ) from None
    trail.record_many(
        [
            trail.Change(
                E.DOCUMENT_VIEWED,
                doc,
                extra={
                    "name": doc.name,
                    "version": doc.version,
                    "via": "knowledge",
                    "entry": item.pk,
                },
                business_unit_id=doc.case.business_unit_id,
                department_id=doc.case.department_id,
            )
        ],
        actor=acting_user,
    )
    return doc, data
