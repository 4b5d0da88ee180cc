"""Reading import batches and saved mappings, always scoped to the reader.

A batch holds a customer's raw file and its report (names, ID numbers, pay): it is seen by the
person who uploaded it and by group administrators (organisation management over the whole
group); anyone else is told it does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.imports.kinds import KINDS
from baton.imports.models import ImportBatch, ImportKind, SavedMapping

# Permissions that let someone import at least one kind of record.
IMPORT_PERMS = (Perm.ORG_MANAGE, Perm.EMPLOYEE_CHANGE, Perm.RECORDS_CHANGE)


def is_group_admin(user: Any) -> bool:
    """Manages the organisation of the whole group (sees every batch, exports the archive)."""
    scope = authz.access_for(user).scopes.get(Perm.ORG_MANAGE)
    return scope is not None and scope.everything


def may_import(user: Any) -> bool:
    return any(authz.has_perm(user, p) for p in IMPORT_PERMS)


def require_importer(user: Any) -> None:
    if not may_import(user):
        raise authz.PermissionDenied(_("Data migration is for HR and group administrators."))


def require_kind(user: Any, kind: str) -> None:
    """May import this kind (the archive: the whole organisation)."""
    cls = KINDS.get(kind)
    authz.require(user, cls.perm if cls is not None else Perm.ORG_MANAGE)


def importable_kinds(user: Any) -> list[tuple[str, str]]:
    """(code, label) of the kinds the user may import, in import order; the archive last."""
    kinds = [
        (code, str(ImportKind(code).label))
        for code, cls in KINDS.items()
        if authz.has_perm(user, cls.perm)
    ]
    if authz.has_perm(user, Perm.ORG_MANAGE):
        kinds.append((ImportKind.ARCHIVE.value, str(ImportKind.ARCHIVE.label)))
    return kinds


def batches_for(user: Any) -> QuerySet[ImportBatch]:
    """Every batch for group admins; one's own uploads for everyone else."""
    qs = ImportBatch.objects.select_related("created_by", "committed_by")
    if is_group_admin(user):
        return qs
    return qs.filter(created_by_id=user.pk)


def batch_for(user: Any, batch_id: int) -> ImportBatch:
    """The batch if the user may see it; 404 otherwise (nothing says it exists)."""
    batch = batches_for(user).filter(pk=batch_id).first()
    if batch is None:
        raise Http404(_("Not found, or not visible to you."))
    return batch


def mappings_for(user: Any, kind: str | None = None) -> QuerySet[SavedMapping]:
    """Saved mappings of the kinds the user may import (they are shared across the group)."""
    codes = [code for code, _label in importable_kinds(user)]
    qs = SavedMapping.objects.filter(kind__in=codes).select_related("created_by")
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("kind", "name")


def mapping_for(user: Any, mapping_id: int) -> SavedMapping:
    found = mappings_for(user).filter(pk=mapping_id).first()
    if found is None:
        raise Http404(_("Not found, or not visible to you."))
    return found
