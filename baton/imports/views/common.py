"""What the import pages share: the batch a user may see, and the waiting page's state."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from baton.imports import selectors
from baton.imports.models import BatchStatus, ImportBatch

RUNNING = (BatchStatus.VALIDATING, BatchStatus.COMMITTING)
REVALIDATE = (BatchStatus.UPLOADED, BatchStatus.VALID, BatchStatus.INVALID, BatchStatus.FAILED)
FINAL = (BatchStatus.COMMITTED, BatchStatus.DISCARDED)


def get_batch(user: Any, pk: int) -> ImportBatch:
    """The batch if the user may see it (404 otherwise) and may import its kind (403
    otherwise): seeing a batch means seeing the customer's raw data, so it takes the same
    right as importing it."""
    batch = selectors.batch_for(user, pk)
    selectors.require_kind(user, batch.kind)
    return batch


def batch_state(batch: ImportBatch) -> str:
    """What the batch looks like before a queued run: the page polls until it changes (a
    validation that ends in the same status still moves `validated_at`)."""
    stamp = batch.validated_at.timestamp() if batch.validated_at else 0
    return f"{batch.status}-{stamp:.6f}"


def waiting_url(batch: ImportBatch) -> str:
    return reverse("imports:batch", args=[batch.pk]) + f"?waiting={batch_state(batch)}"
