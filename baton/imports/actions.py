"""Every change an import makes: upload a file, validate it (dry run), commit it, discard it,
save a mapping. Called by the pages, the API, the `baton import` command and the workers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import Conflict, InvalidInput
from baton.imports import bulk, engine, readers
from baton.imports.kinds import KINDS, ORDER
from baton.imports.mapping import check_spec, compile_mapping
from baton.imports.models import BatchStatus, ImportBatch, ImportKind, ImportProblem, SavedMapping
from baton.imports.run import Run

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)
# A running phase whose progress file has not moved for this long lost its worker.
STALE_AFTER_SECONDS = 15 * 60


def storage_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require_kind(user: Any, kind: str) -> None:
    if kind == ImportKind.ARCHIVE:
        authz.require(user, KINDS["cities"].perm)  # the whole organisation: group admins
        return
    if kind not in KINDS:
        raise InvalidInput.field("kind", _("Unknown kind of import: %(kind)s.") % {"kind": kind})
    authz.require(user, KINDS[kind].perm)


def _resolve_mapping(
    kind: str, mapping: Mapping[str, Any] | None, saved: SavedMapping | None
) -> dict[str, Any]:
    if saved is not None:
        if saved.kind != kind:
            raise InvalidInput.field(
                "mapping",
                _("The saved mapping “%(name)s” is for %(kind)s.")
                % {"name": saved.name, "kind": saved.get_kind_display()},
            )
        return dict(saved.spec)
    spec = dict(mapping or {})
    if kind != ImportKind.ARCHIVE:
        problems = check_spec(spec, [c.name for c in KINDS[kind].columns])
        if problems:
            raise InvalidInput(" ".join(problems), {"mapping": problems})
    return spec


def upload(
    source: IO[bytes] | str | Path,
    *,
    kind: str,
    file_name: str,
    acting_user: Any,
    mapping: Mapping[str, Any] | None = None,
    saved_mapping: SavedMapping | None = None,
    check_mapping: bool = True,
) -> ImportBatch:
    """Keep the file for validation and commit, and check it can be read at all (encoding,
    header, required columns, size) — a file that cannot is refused with the reason.
    `check_mapping=False` (the pages' mapping step comes next) checks everything but the
    columns."""
    _require_kind(acting_user, kind)
    spec = _resolve_mapping(kind, mapping, saved_mapping)
    if isinstance(source, str | Path) and Path(source).is_dir():
        if kind != ImportKind.ARCHIVE:
            raise InvalidInput.field("file", _("Only an archive can be a folder of CSV files."))
        zipped = _zip_folder(Path(source))
        try:
            return upload(
                zipped,
                kind=kind,
                file_name=file_name,
                acting_user=acting_user,
                mapping=mapping,
                saved_mapping=saved_mapping,
            )
        finally:
            zipped.unlink(missing_ok=True)
    target = storage_dir() / f"{uuid.uuid4().hex}.upload"
    digest = hashlib.sha256()
    limit = int(getattr(settings, "BATON_IMPORT_MAX_BYTES", readers.MAX_FILE_BYTES))
    size = 0
    known = (
        os.stat(source).st_size if isinstance(source, str | Path) else getattr(source, "size", None)
    )
    if known is not None and known > limit:
        raise InvalidInput.field(
            "file",
            _("The file is larger than the largest accepted, %(limit)s.")
            % {"limit": f"{(limit + 1) / 1024**3:.0f} GB"},
        )
    src_ctx = (
        open(source, "rb")  # noqa: SIM115 — closed by the with below
        if isinstance(source, str | Path)
        else contextlib.nullcontext(source)
    )
    try:
        with src_ctx as src, open(target, "wb") as out:
            while block := src.read(1024 * 1024):
                size += len(block)
                if size > limit:
                    raise InvalidInput.field(
                        "file",
                        _("The file is larger than the largest accepted, %(limit)s.")
                        % {"limit": f"{(limit + 1) / 1024**3:.0f} GB"},
                    )
                digest.update(block)
                out.write(block)
        encoding = _check_readable(target, kind, spec, check_mapping=check_mapping, name=file_name)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            kind=kind,
            file_name=os.path.basename(file_name)[:255],
            file_size=size,
            file_sha256=digest.hexdigest(),
            stored_path=str(target),
            encoding=encoding,
            mapping=spec,
            saved_mapping=saved_mapping,
            created_by=acting_user,
        )
        trail.record(
            E.IMPORT_UPLOADED,
            actor=acting_user,
            subject=batch,
            extra={
                "kind": kind,
                "file": batch.file_name,
                "sha256": batch.file_sha256,
                "size": size,
            },
        )
    return batch


def _zip_folder(folder: Path) -> Path:
    """A folder of `<kind>.csv` files, zipped as an archive (the command line takes either)."""
    target = storage_dir() / f"{uuid.uuid4().hex}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.suffix in (".csv", ".xlsx") and path.is_file():
                archive.write(path, path.name)
    return target


def _check_readable(
    path: Path,
    kind: str,
    spec: dict[str, Any],
    *,
    check_mapping: bool = True,
    name: str | None = None,
) -> str:
    try:
        if kind == ImportKind.ARCHIVE:
            with _archive_tables(path, {}) as tables:
                if not tables:
                    raise InvalidInput.field(
                        "file", _("The archive holds no file Baton imports (e.g. employees.csv).")
                    )
            return "zip"
        table = readers.open_table(path, sheet=spec.get("sheet"), name=name)
    except readers.FileProblem as e:
        raise InvalidInput.field("file", e.message) from None
    cls = KINDS[kind]
    if check_mapping:
        compile_mapping(spec, table.header, [(c.name, c.label, c.required) for c in cls.columns])
    return table.encoding


@contextlib.contextmanager
def _archive_tables(path: Path, spec: Mapping[str, Any]) -> Iterator[list[Any]]:
    """The tables of a full archive (`<kind>.csv` members), in import order."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise readers.FileProblem(_("This is not a ZIP archive."), code="unsupported") from None
    limit = int(getattr(settings, "BATON_IMPORT_MAX_BYTES", readers.MAX_FILE_BYTES))
    if sum(i.file_size for i in archive.infolist()) > limit:
        archive.close()
        raise readers.FileProblem(
            _("The archive unpacks to more than %(limit)s.") % {"limit": "2 GB"}, code="too_large"
        )
    tmp = Path(tempfile.mkdtemp(dir=storage_dir()))
    try:
        names = {Path(n).name: n for n in archive.namelist()}
        tables = []
        for cls in ORDER:
            member = names.get(f"{cls.code}.csv") or names.get(f"{cls.code}.xlsx")
            if member is None:
                continue
            info = archive.getinfo(member)
            if info.file_size > readers.MAX_FILE_BYTES:
                raise readers.FileProblem(
                    _("%(name)s is too large.") % {"name": member}, code="too_large"
                )
            out = tmp / Path(member).name
            try:
                with archive.open(member) as src, open(out, "wb") as dst:
                    written = 0
                    # Declared sizes can lie: count what really comes out.
                    while block := src.read(1024 * 1024):
                        written += len(block)
                        if written > info.file_size or written > limit:
                            raise readers.FileProblem(
                                _("%(name)s is larger than the archive says.") % {"name": member},
                                code="too_large",
                            )
                        dst.write(block)
            except (zipfile.BadZipFile, zlib.error, EOFError):
                raise readers.FileProblem(
                    _("%(name)s in the archive is damaged.") % {"name": member}, code="unreadable"
                ) from None
            try:
                tables.append((cls.code, readers.open_table(out, name=member), None))
            except readers.FileProblem as e:
                if e.code != "no_rows":  # an exported kind with no rows is just a header
                    raise readers.FileProblem(f"{member}: {e.message}", code=e.code) from None
        yield tables
    finally:
        archive.close()
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _tables(batch: ImportBatch) -> Iterator[list[Any]]:
    path = Path(batch.stored_path)
    if not path.exists():
        raise Conflict(_("The uploaded file is gone; upload it again."))
    if batch.kind == ImportKind.ARCHIVE:
        with _archive_tables(path, batch.mapping) as tables:
            yield tables
        return
    yield [(batch.kind, readers.open_table(path, sheet=batch.mapping.get("sheet")), batch.mapping)]


def _claim(batch_id: int, allowed: set[str], running: str) -> ImportBatch:
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status in (BatchStatus.VALIDATING, BatchStatus.COMMITTING) and is_stale(batch):
            # Its worker died (its transaction was rolled back): the batch may run again.
            allowed = allowed | {BatchStatus.VALIDATING, BatchStatus.COMMITTING}
        if batch.status not in allowed:
            raise Conflict(
                _("This import is %(status)s; it cannot be run now.")
                % {"status": batch.get_status_display()}
            )
        batch.status = running
        batch.progress_rows = batch.progress_bytes = 0
        batch.error = ""
        batch.save(update_fields=["status", "progress_rows", "progress_bytes", "error"])
    _write_progress(batch.pk, 0, 0, batch.file_size)  # the claim is fresh from now
    return batch


def validate(
    batch: ImportBatch, *, acting_user: Any, progress: Progress | None = None
) -> ImportBatch:
    """The dry run: every row checked and applied in a transaction that is then rolled back,
    so the report's counts are exactly what the commit will do."""
    _require_kind(acting_user, batch.kind)
    batch = _claim(
        batch.pk,
        {BatchStatus.UPLOADED, BatchStatus.VALID, BatchStatus.INVALID, BatchStatus.FAILED},
        BatchStatus.VALIDATING,
    )
    run = _execute(batch, acting_user, dry_run=True, progress=progress)
    if run is None:
        return ImportBatch.objects.get(pk=batch.pk)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _store_report(batch, run)
        batch.status = BatchStatus.INVALID if run.error_count else BatchStatus.VALID
        batch.validated_at = timezone.now()
        batch.save()
        trail.record(
            E.IMPORT_VALIDATED, actor=acting_user, subject=batch, extra={"counts": batch.counts}
        )
    return batch


def commit(
    batch: ImportBatch, *, acting_user: Any, progress: Progress | None = None
) -> ImportBatch:
    """Apply the validated file: everything in one transaction, or — if any row is rejected
    now (the data changed since the validation) — nothing, with the new report."""
    _require_kind(acting_user, batch.kind)
    batch = _claim(batch.pk, {BatchStatus.VALID}, BatchStatus.COMMITTING)
    run = _execute(batch, acting_user, dry_run=False, progress=progress)
    if run is None:
        return ImportBatch.objects.get(pk=batch.pk)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _store_report(batch, run)
        if run.error_count:
            batch.status = BatchStatus.INVALID
            batch.save()
            trail.record(
                E.IMPORT_FAILED, actor=acting_user, subject=batch, extra={"counts": batch.counts}
            )
            return batch
    return batch


def _execute(
    batch: ImportBatch, user: Any, *, dry_run: bool, progress: Progress | None
) -> Run | None:
    total = [batch.file_size or 1]

    def tick(rows: int, done_bytes: int) -> None:
        # An archive's tables are larger than the ZIP: report the share read, in file bytes.
        done = done_bytes * (batch.file_size or 1) // total[0]
        _write_progress(batch.pk, rows, done, batch.file_size)
        if progress:
            progress(rows, done)

    run = Run(user=user, batch_id=batch.pk, dry_run=dry_run, progress=tick)
    try:
        with _tables(batch) as tables:
            total[0] = max(1, sum(table.size for _kind, table, _spec in tables))
            if dry_run:
                with engine.private_copy(storage_dir()):
                    engine.execute(run, tables)
            else:
                _commit_run(batch, run, tables)
    except (readers.FileProblem, InvalidInput, Conflict, authz.PermissionDenied) as e:
        _fail(batch, user, getattr(e, "message", str(e)))
        return None
    except Exception as e:
        # The detail (SQL, values) goes to the log, not to the page.
        log.exception("import batch %s stopped", batch.pk)
        _fail(
            batch,
            user,
            _(
                "The import stopped on an unexpected error (%(kind)s); nothing was written. "
                "The administrator finds the detail in the log."
            )
            % {"kind": type(e).__name__},
        )
        raise
    finally:
        _clear_progress(batch.pk)
    return run


def _commit_run(batch: ImportBatch, run: Run, tables: Any) -> None:
    """The real run, and — in the same transaction — the batch marked committed and audited."""
    with transaction.atomic():
        engine.execute_in_transaction(run, tables)
        if run.error_count:
            transaction.set_rollback(True)
            return
        digest = hashlib.sha256()
        for key, op, changes in (
            batch.changes.order_by("id")
            .values_list("key", "op", "changes")
            .iterator(chunk_size=5000)
        ):
            digest.update(json.dumps([key, op, changes], sort_keys=True, default=str).encode())
        fresh = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _store_report(fresh, run)
        fresh.status = BatchStatus.COMMITTED
        fresh.committed_by = run.user
        fresh.committed_at = timezone.now()
        fresh.save()
        trail.record(
            E.IMPORT_COMMITTED,
            actor=run.user,
            subject=fresh,
            extra={
                "kind": fresh.kind,
                "file": fresh.file_name,
                "sha256": fresh.file_sha256,
                "counts": fresh.counts,
                "changes_sha256": digest.hexdigest(),
            },
        )
        path = fresh.stored_path
        transaction.on_commit(lambda: Path(path).unlink(missing_ok=True))


def _fail(batch: ImportBatch, user: Any, message: str) -> None:
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        batch.status = BatchStatus.FAILED
        batch.error = message
        batch.save(update_fields=["status", "error"])
        trail.record(E.IMPORT_FAILED, actor=user, subject=batch, extra={"error": message})


def _store_report(batch: ImportBatch, run: Run) -> None:
    ImportProblem.objects.filter(batch=batch).delete()
    bulk.insert_rows(
        ImportProblem,
        [
            {
                "batch_id": batch.pk,
                "kind": p.kind,
                "row": p.row,
                "column": p.column[:100],
                "severity": p.severity,
                "code": p.code,
                "message": p.message,
                "value": p.value,
            }
            for p in run.problems
        ],
    )
    counts = {k: dict(v) for k, v in run.counts.items()}
    total: dict[str, int] = {}
    for c in counts.values():
        for name, n in c.items():
            total[name] = total.get(name, 0) + n
    counts["total"] = total
    batch.counts = counts
    batch.progress_rows = run.rows_done


@transaction.atomic
def discard(batch: ImportBatch, *, acting_user: Any) -> ImportBatch:
    _require_kind(acting_user, batch.kind)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    running = batch.status in (BatchStatus.VALIDATING, BatchStatus.COMMITTING)
    if batch.status == BatchStatus.COMMITTED or (running and not is_stale(batch)):
        raise Conflict(
            _("This import is %(status)s; it cannot be discarded.")
            % {"status": batch.get_status_display()}
        )
    batch.status = BatchStatus.DISCARDED
    batch.save(update_fields=["status"])
    trail.record(E.IMPORT_DISCARDED, actor=acting_user, subject=batch)
    path = batch.stored_path
    transaction.on_commit(lambda: Path(path).unlink(missing_ok=True))
    return batch


@transaction.atomic
def set_mapping(
    batch: ImportBatch,
    spec: Mapping[str, Any],
    *,
    acting_user: Any,
    saved_mapping: SavedMapping | None = None,
) -> ImportBatch:
    """The mapping step: how the file's columns become ours. Checked against the file's header
    (every required column has a source); a batch validated before must be validated again."""
    _require_kind(acting_user, batch.kind)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in (
        BatchStatus.UPLOADED,
        BatchStatus.VALID,
        BatchStatus.INVALID,
        BatchStatus.FAILED,
    ):
        raise Conflict(
            _("This import is %(status)s; its columns cannot be changed.")
            % {"status": batch.get_status_display()}
        )
    spec = _resolve_mapping(batch.kind, spec, None)
    path = Path(batch.stored_path)
    if not path.exists():
        raise Conflict(_("The uploaded file is gone; upload it again."))
    _check_readable(path, batch.kind, spec)
    before = batch.mapping
    batch.mapping = spec
    batch.saved_mapping = saved_mapping
    batch.status = BatchStatus.UPLOADED
    batch.save(update_fields=["mapping", "saved_mapping", "status"])
    trail.record(
        E.IMPORT_MAPPING_SAVED,
        actor=acting_user,
        subject=batch,
        changes={"mapping": (before, spec)},
    )
    return batch


@transaction.atomic
def save_mapping(
    name: str, kind: str, spec: Mapping[str, Any], *, acting_user: Any
) -> SavedMapping:
    """Save (or replace) a named mapping for files of one kind."""
    _require_kind(acting_user, kind)
    name = (name or "").strip()
    if not name:
        raise InvalidInput.field("name", _("Give the mapping a name."))
    spec = _resolve_mapping(kind, spec, None)
    mapping, created = SavedMapping.objects.select_for_update().get_or_create(
        kind=kind, name=name[:100], defaults={"spec": spec, "created_by": acting_user}
    )
    before = mapping.spec
    if not created:
        mapping.spec = spec
        mapping.save(update_fields=["spec", "updated_at"])
    trail.record(
        E.IMPORT_MAPPING_SAVED,
        actor=acting_user,
        subject=mapping,
        changes={"spec": (None if created else before, spec)},
    )
    return mapping


# ---------------------------------------------------------------- progress between processes


def _progress_file(batch_id: int) -> Path:
    return storage_dir() / f"progress-{batch_id}.json"


def _write_progress(batch_id: int, rows: int, done_bytes: int, size: int) -> None:
    """A running import holds its transaction open; its progress goes to a small file in the
    data directory that every web process can read (`progress_of`)."""
    path = _progress_file(batch_id)
    # A name of its own for the half-written file: two writers never rename each other's.
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps({"rows": rows, "bytes": done_bytes, "size": size}))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clear_progress(batch_id: int) -> None:
    _progress_file(batch_id).unlink(missing_ok=True)


def progress_of(batch: ImportBatch) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_progress_file(batch.pk).read_text())
    except (OSError, ValueError):
        data = {"rows": batch.progress_rows, "bytes": 0, "size": batch.file_size}
    size = data.get("size") or batch.file_size or 1
    data["percent"] = min(100, int(100 * data.get("bytes", 0) / size)) if size else 0
    return data


def is_stale(batch: ImportBatch) -> bool:
    """A validating/committing batch whose progress has not moved for STALE_AFTER_SECONDS."""
    path = _progress_file(batch.pk)
    try:
        moved = path.stat().st_mtime
    except OSError:
        moved = (
            batch.validated_at.timestamp() if batch.validated_at else batch.created_at.timestamp()
        )
    return time.time() - moved > STALE_AFTER_SECONDS
