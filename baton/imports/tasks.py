"""Background work of imports (run by `baton worker`): validating and committing a batch, which
for a large file takes minutes. Each task takes ids and is safe to run twice: the batch is
claimed in the right state, and a batch already past it is left alone."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.tasks import task
from django.utils import translation

from baton.access.models import User
from baton.core.errors import Conflict
from baton.imports import actions
from baton.imports.models import ImportBatch


def _load(batch_id: int, user_id: int) -> tuple[Any, Any] | None:
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if batch is None or user is None:
        return None
    return batch, user


def _run(batch_id: int, user_id: int, step: str) -> str:
    loaded = _load(batch_id, user_id)
    if loaded is None:
        return "gone"
    batch, user = loaded
    call = actions.validate if step == "validate" else actions.commit
    try:
        # The report is written in the language of the person who asked for it.
        with translation.override(getattr(user, "language", None) or None):
            batch = call(batch, acting_user=user)
    except Conflict:
        # Another run claimed it, or it is already past this step (a repeated enqueue).
        return "skipped"
    except PermissionDenied:
        # The user lost the right to import this kind since asking.
        return "denied"
    return str(batch.status)


@task()
def run_validate(batch_id: int, user_id: int) -> str:
    """Validate a batch (the dry run with its report) as the user who asked for it."""
    return _run(batch_id, user_id, "validate")


@task()
def run_commit(batch_id: int, user_id: int) -> str:
    """Commit a validated batch as the user who asked for it."""
    return _run(batch_id, user_id, "commit")


def enqueue_validation(batch_id: int, user_id: int) -> None:
    """Validate once the caller's transaction has committed (the worker must see the batch)."""
    transaction.on_commit(lambda: run_validate.enqueue(batch_id, user_id))


def enqueue_commit(batch_id: int, user_id: int) -> None:
    transaction.on_commit(lambda: run_commit.enqueue(batch_id, user_id))
