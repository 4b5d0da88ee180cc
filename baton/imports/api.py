"""/api/imports: data migration by API — upload a file (validated in the background), read its
status, progress and problems, commit or discard it; saved column mappings.

A batch is seen by who uploaded it and by group administrators; anyone else gets 404. Reading,
uploading and committing a batch all need the right to change what the file holds (organisation,
employees, records) — for a token, a scope that covers it (org:write); without it, 403.
Validation and commit run as background tasks: poll the batch until its status settles.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
import json
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from baton.core.api_crud import Page, paginate
from baton.core.errors import Conflict, InvalidInput
from baton.core.http import AuthedRequest
from baton.imports import actions, selectors, tasks
from baton.imports.models import (
    BatchStatus,
    ChangeOp,
    ImportBatch,
    ImportKind,
    Severity,
)

router = Router(tags=["imports"])


def _page(qs: QuerySet[Any], limit: int, offset: int) -> dict[str, Any]:
    count, items = paginate(qs, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


# ---------------------------------------------------------------- schemas


class ProgressOut(Schema):
    rows: int = Field(..., description="Rows read so far by the running phase (or the last).")
    percent: int = Field(..., description="Share of the file read, 0–100.")


class BatchOut(Schema):
    id: int
    kind: ImportKind
    status: BatchStatus
    file_name: str
    file_size: int
    file_sha256: str
    encoding: str
    mapping: dict[str, Any]
    saved_mapping_id: int | None
    counts: dict[str, dict[str, int]] = Field(
        ...,
        description='Per kind: read, created, updated, unchanged, rejected, warnings, …; "total".',
    )
    error: str
    progress: ProgressOut
    created_by_id: int
    created_at: dt.datetime
    validated_at: dt.datetime | None
    committed_by_id: int | None
    committed_at: dt.datetime | None

    @staticmethod
    def resolve_progress(obj: ImportBatch) -> dict[str, Any]:
        if obj.status in (BatchStatus.VALIDATING, BatchStatus.COMMITTING):
            found = actions.progress_of(obj)
            return {"rows": int(found.get("rows", 0)), "percent": int(found.get("percent", 0))}
        done = obj.status not in (BatchStatus.UPLOADED, BatchStatus.DISCARDED)
        return {"rows": obj.progress_rows, "percent": 100 if done else 0}


class BatchPage(Page):
    items: list[BatchOut]


class ProblemOut(Schema):
    id: int
    kind: str
    row: int | None = Field(..., description="The row as a spreadsheet shows it.")
    column: str = Field(..., description="The file's column (→ ours when they differ).")
    severity: Severity
    code: str
    message: str
    value: str


class ProblemPage(Page):
    items: list[ProblemOut]


class ChangeOut(Schema):
    id: int
    kind: str
    key: str
    op: ChangeOp
    changes: dict[str, Any] = Field(..., description="field → [old, new] of an update.")


class ChangePage(Page):
    items: list[ChangeOut]


class MappingOut(Schema):
    id: int
    name: str
    kind: ImportKind
    spec: dict[str, Any]
    created_by_id: int | None
    updated_at: dt.datetime


class MappingPage(Page):
    items: list[MappingOut]


class MappingIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: ImportKind
    spec: dict[str, Any] = Field(..., description="The mapping (docs/imports.md).")


def _batch(user: Any, batch_id: int) -> ImportBatch:
    """The batch if the user may see it (404 otherwise) and may import its kind (403
    otherwise, also when the API token's scopes do not cover it): a batch holds the
    customer's raw data, so reading it takes the same right as importing it."""
    batch = selectors.batch_for(user, batch_id)
    selectors.require_kind(user, batch.kind)
    return batch


# ---------------------------------------------------------------- batches


@router.get("/batches", response=BatchPage, operation_id="list_import_batches")
def list_import_batches(
    request: AuthedRequest, limit: int = 50, offset: int = 0, status: BatchStatus | None = None
) -> dict[str, Any]:
    """Your imports (every import, for group administrators), newest first — of the kinds
    you may import."""
    user = request.user
    selectors.require_importer(user)
    kinds = [code for code, _label in selectors.importable_kinds(user)]
    qs = selectors.batches_for(user).filter(kind__in=kinds)
    if status:
        qs = qs.filter(status=status)
    return _page(qs.order_by("-created_at", "-id"), limit, offset)


def _json_mapping(raw: str) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        spec = json.loads(raw)
    except ValueError:
        raise InvalidInput.field("mapping", _("The mapping is not valid JSON.")) from None
    if not isinstance(spec, dict):
        raise InvalidInput.field("mapping", _("The mapping is a JSON object."))
    spec.pop("kind", None)
    spec.pop("name", None)
    return spec


@router.post("/batches", response={201: BatchOut}, operation_id="upload_import_batch")
def upload_import_batch(
    request: AuthedRequest,
    kind: Form[ImportKind],
    file: File[UploadedFile | None] = None,
    mapping: Form[str] = "",
    saved_mapping: Form[int | None] = None,
) -> Any:
    """Upload a file (multipart): it is checked at once (encoding, header, columns) and
    validated in the background. `mapping` is a JSON mapping; `saved_mapping` the id of a
    saved one. Without either, columns named like ours are taken."""
    user = request.user
    if file is None:
        raise InvalidInput.field("file", _("This field is required."))
    spec = _json_mapping(mapping)
    saved = None
    if saved_mapping is not None:
        saved = selectors.mappings_for(user).filter(pk=saved_mapping).first()
        if saved is None:
            raise InvalidInput.field("saved_mapping", _("No such saved mapping."))
    with transaction.atomic():
        batch = actions.upload(
            file,
            kind=kind.value,
            file_name=file.name or "upload",
            acting_user=user,
            mapping=spec if saved is None else None,
            saved_mapping=saved,
        )
        tasks.enqueue_validation(batch.pk, user.pk)
    return Status(201, batch)


@router.get("/batches/{int:batch_id}", response=BatchOut, operation_id="get_import_batch")
def get_import_batch(request: AuthedRequest, batch_id: int) -> ImportBatch:
    """Status, counts and progress of one import."""
    return _batch(request.user, batch_id)


@router.get(
    "/batches/{int:batch_id}/problems", response=ProblemPage, operation_id="list_import_problems"
)
def list_import_problems(
    request: AuthedRequest,
    batch_id: int,
    limit: int = 100,
    offset: int = 0,
    severity: Severity | None = None,
) -> dict[str, Any]:
    """The validation report's lines: every rejected row (error) and warning, in file order."""
    batch = _batch(request.user, batch_id)
    qs = batch.problems.order_by("id")
    if severity:
        qs = qs.filter(severity=severity)
    return _page(qs, limit, offset)


@router.get(
    "/batches/{int:batch_id}/changes", response=ChangePage, operation_id="list_import_changes"
)
def list_import_changes(
    request: AuthedRequest, batch_id: int, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """What a committed import created or changed, record by record (old → new)."""
    batch = _batch(request.user, batch_id)
    return _page(batch.changes.order_by("id"), limit, offset)


@router.post(
    "/batches/{int:batch_id}/commit", response={202: BatchOut}, operation_id="commit_import_batch"
)
def commit_import_batch(request: AuthedRequest, batch_id: int) -> Any:
    """Apply a validated import (status `valid`) in the background, all rows or none. Poll the
    batch: `committed`, or `invalid` with the new report if the data changed meanwhile."""
    user = request.user
    batch = _batch(user, batch_id)
    if batch.status != BatchStatus.VALID:
        raise Conflict(
            _("Only a validated import without errors can be committed; this one is %(status)s.")
            % {"status": batch.get_status_display()}
        )
    tasks.enqueue_commit(batch.pk, user.pk)
    return Status(202, batch)


@router.post(
    "/batches/{int:batch_id}/validate",
    response={202: BatchOut},
    operation_id="validate_import_batch",
)
def validate_import_batch(request: AuthedRequest, batch_id: int) -> Any:
    """Validate the import again (e.g. after the organisation changed)."""
    user = request.user
    batch = _batch(user, batch_id)
    if batch.status not in (
        BatchStatus.UPLOADED,
        BatchStatus.VALID,
        BatchStatus.INVALID,
        BatchStatus.FAILED,
    ):
        raise Conflict(
            _("This import is %(status)s; it cannot be run now.")
            % {"status": batch.get_status_display()}
        )
    tasks.enqueue_validation(batch.pk, user.pk)
    return Status(202, batch)


@router.post(
    "/batches/{int:batch_id}/discard", response=BatchOut, operation_id="discard_import_batch"
)
def discard_import_batch(request: AuthedRequest, batch_id: int) -> ImportBatch:
    """Drop an import that was not committed (its file is deleted)."""
    user = request.user
    batch = _batch(user, batch_id)
    return actions.discard(batch, acting_user=user)


# ---------------------------------------------------------------- saved mappings


@router.get("/mappings", response=MappingPage, operation_id="list_import_mappings")
def list_import_mappings(
    request: AuthedRequest, kind: ImportKind | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Saved mappings of the kinds you may import (shared across the group)."""
    user = request.user
    selectors.require_importer(user)
    return _page(selectors.mappings_for(user, kind.value if kind else None), limit, offset)


@router.post("/mappings", response={201: MappingOut}, operation_id="save_import_mapping")
def save_import_mapping(request: AuthedRequest, payload: MappingIn) -> Any:
    """Save a mapping under a name (the same kind and name again replaces it)."""
    spec = dict(payload.spec)
    spec.pop("kind", None)
    spec.pop("name", None)
    saved = actions.save_mapping(payload.name, payload.kind.value, spec, acting_user=request.user)
    return Status(201, saved)
