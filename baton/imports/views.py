"""Data migration pages: the batches and the upload form, the mapping step (which column of the
file is which of ours), a batch's report with its progress, commit and changes, the report
workbook, and the exports. Thin views over `actions`, `exports`, `report` and the tasks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.forms import run_action
from baton.core.http import AuthedRequest
from baton.imports import actions, exports, readers, report, selectors, tasks
from baton.imports.kinds import KINDS
from baton.imports.mapping import aliases
from baton.imports.models import BatchStatus, ImportBatch, ImportKind

BATCHES_SHOWN = 50
PROBLEMS_SHOWN = 200
CHANGES_PER_PAGE = 100
PREVIEW_ROWS = 5
# Polls (one a second) of a batch still waiting for a worker before the page stops asking.
MAX_QUEUE_POLLS = 120
RUNNING = (BatchStatus.VALIDATING, BatchStatus.COMMITTING)
REVALIDATE = (BatchStatus.UPLOADED, BatchStatus.VALID, BatchStatus.INVALID, BatchStatus.FAILED)
FINAL = (BatchStatus.COMMITTED, BatchStatus.DISCARDED)
# Kinds whose rows may carry extra columns as attributes.
WITH_ATTRIBUTES = ("employees",)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK/GB18030) or XLSX; a full archive is the ZIP Baton exports."
        ),
    )
    saved_mapping = forms.ChoiceField(label=gettext_lazy("Saved mapping"), required=False)

    def __init__(self, *args: Any, user: Any, kind: str = "", **kw: Any):
        super().__init__(*args, **kw)
        kind_field: Any = self.fields["kind"]
        kind_field.choices = selectors.importable_kinds(user)
        self.mappings = {m.pk: m for m in selectors.mappings_for(user)}
        kind = kind or self.data.get("kind") or ""
        saved: Any = self.fields["saved_mapping"]
        saved.choices = mapping_choices(self.mappings.values(), kind)

    def clean_saved_mapping(self) -> Any:
        raw = self.cleaned_data.get("saved_mapping")
        return self.mappings.get(int(raw)) if raw else None


def mapping_choices(mappings: Any, kind: str) -> list[tuple[str, str]]:
    none = [("", _("None: choose the columns next"))]
    return none + [(str(m.pk), m.name) for m in mappings if not kind or m.kind == kind]


def _kinds_exported(user: Any) -> list[tuple[str, str]]:
    view = {
        Perm.ORG_MANAGE: Perm.ORG_VIEW,
        Perm.EMPLOYEE_CHANGE: Perm.EMPLOYEE_VIEW,
        Perm.RECORDS_CHANGE: Perm.RECORDS_VIEW,
    }
    from baton.imports.kinds import EXPORTED

    return [
        (cls.code, str(ImportKind(cls.code).label))
        for cls in EXPORTED
        if authz.has_perm(user, view.get(cls.perm, cls.perm))
    ]


@login_required
@require_GET
def batches(request: AuthedRequest) -> HttpResponse:
    user = request.user
    selectors.require_importer(user)
    kind = request.GET.get("kind", "")
    form = UploadForm(user=user, kind=kind, initial={"kind": kind})
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "saved-mapping":
        return render(request, "imports/batches.html#mapping_options", {"form": form})
    return _batches_page(request, form)


def _batches_page(request: AuthedRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    user = request.user
    kinds = [code for code, _label in selectors.importable_kinds(user)]
    shown = selectors.batches_for(user).filter(kind__in=kinds)
    page = Paginator(shown, BATCHES_SHOWN).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "form": form,
        "exported": _kinds_exported(user),
        "group_admin": selectors.is_group_admin(user),
        "count_names": report.COUNTS,
    }
    return render(request, "imports/batches.html", ctx, status=status)


@login_required
@require_POST
def upload(request: AuthedRequest) -> HttpResponse:
    user = request.user
    selectors.require_importer(user)
    form = UploadForm(request.POST, request.FILES, user=user)

    def call() -> ImportBatch:
        kind = form.cleaned_data["kind"]
        saved = form.cleaned_data["saved_mapping"]
        # Without a saved mapping the columns are chosen on the next page.
        mapped = saved is not None or kind == ImportKind.ARCHIVE
        file = form.cleaned_data["file"]
        with transaction.atomic():
            batch = actions.upload(
                file,
                kind=kind,
                file_name=file.name,
                acting_user=user,
                saved_mapping=saved,
                check_mapping=mapped,
            )
            if mapped:
                tasks.enqueue_validation(batch.pk, user.pk)
        return batch

    batch = run_action(form, call)
    if batch is None:
        return _batches_page(request, form, status=400)
    if batch.kind == ImportKind.ARCHIVE or batch.saved_mapping_id:
        messages.success(request, _("File received; it is being validated."))
        return redirect(_waiting_url(batch))
    return redirect("imports:mapping", pk=batch.pk)


def _batch(user: Any, pk: int) -> ImportBatch:
    """The batch if the user may see it (404 otherwise) and may import its kind (403
    otherwise): seeing a batch means seeing the customer's raw data, so it takes the same
    right as importing it."""
    batch = selectors.batch_for(user, pk)
    selectors.require_kind(user, batch.kind)
    return batch


def _state(batch: ImportBatch) -> str:
    """What the batch looks like before a queued run: the page polls until it changes (a
    validation that ends in the same status still moves `validated_at`)."""
    stamp = batch.validated_at.timestamp() if batch.validated_at else 0
    return f"{batch.status}-{stamp:.6f}"


def _waiting_url(batch: ImportBatch) -> str:
    return reverse("imports:batch", args=[batch.pk]) + f"?waiting={_state(batch)}"


# ---------------------------------------------------------------- the mapping step


class MappingForm(forms.Form):
    save_as = forms.CharField(
        label=gettext_lazy("Save this mapping as"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("A name, to import files of the same shape again (optional)."),
    )

    def __init__(
        self,
        *args: Any,
        batch: ImportBatch,
        header: list[str],
        initial_spec: dict[str, Any],
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.batch = batch
        self.header = header
        self.columns = list(KINDS[batch.kind].columns)
        choices = [("", _("— not in the file —")), *[(h, h) for h in header if h]]
        mapped = dict(initial_spec.get("columns") or {})
        constants = dict(initial_spec.get("constants") or {})
        lowered = {h.strip().lower(): h for h in header}
        self.rows = []
        for col in self.columns:
            theirs = mapped.get(col.name)
            if theirs is None and col.name not in constants:
                hits = [lowered[a] for a in aliases(col.name, col.label) if a in lowered]
                theirs = hits[0] if hits else ""
            source = forms.ChoiceField(
                label=str(col.label), choices=choices, required=False, initial=theirs or ""
            )
            constant = forms.CharField(
                label=_("Same value for every row"),
                required=False,
                max_length=200,
                initial=constants.get(col.name, ""),
            )
            self.fields[f"col_{col.name}"] = source
            self.fields[f"const_{col.name}"] = constant
            self.rows.append((col, self[f"col_{col.name}"], self[f"const_{col.name}"]))
        if batch.kind in WITH_ATTRIBUTES:
            self.fields["attributes"] = forms.MultipleChoiceField(
                label=_("Keep other columns as attributes"),
                choices=[(h, h) for h in header if h],
                required=False,
                initial=list(initial_spec.get("attributes") or []),
                widget=forms.CheckboxSelectMultiple,
                help_text=_("Kept with the person, e.g. for the attrition-risk model."),
            )

    def spec(self, base: dict[str, Any]) -> dict[str, Any]:
        """The mapping: the chosen columns and constants over what the batch had (sheet, date
        format, value tables of a saved mapping)."""
        data = self.cleaned_data
        columns: dict[str, str] = {}
        constants: dict[str, str] = {}
        ignore: list[str] = []
        for col in self.columns:
            theirs = data.get(f"col_{col.name}") or ""
            value = (data.get(f"const_{col.name}") or "").strip()
            if theirs:
                columns[col.name] = theirs
            elif value:
                constants[col.name] = value
            else:
                # "Not in the file" must win over a header that happens to carry the name.
                ignore.append(col.name)
        spec = {
            k: v
            for k, v in base.items()
            if k not in ("columns", "constants", "attributes", "ignore")
        }
        spec["columns"] = columns
        if constants:
            spec["constants"] = constants
        if ignore:
            spec["ignore"] = ignore
        if data.get("attributes"):
            spec["attributes"] = list(data["attributes"])
        return spec

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for col in self.columns:
            if data.get(f"col_{col.name}") and (data.get(f"const_{col.name}") or "").strip():
                self.add_error(
                    f"const_{col.name}",
                    _("Choose a column of the file or a value for every row, not both."),
                )
        return data


def _preview(batch: ImportBatch) -> tuple[list[str], list[list[str]]]:
    try:
        table = readers.open_table(batch.stored_path, sheet=batch.mapping.get("sheet"))
    except readers.FileProblem as e:
        raise ActionError(e.message) from None
    rows: list[list[str]] = []
    for _row_no, cells in table.rows():
        rows.append(cells)
        if len(rows) >= PREVIEW_ROWS:
            break
    return table.header, rows


@login_required
@require_http_methods(["GET", "POST"])
def mapping(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = _batch(user, pk)
    if batch.kind == ImportKind.ARCHIVE:
        return redirect("imports:batch", pk=batch.pk)
    if batch.status not in REVALIDATE:
        messages.error(
            request,
            _("This import is %(status)s; its columns cannot be changed.")
            % {"status": batch.get_status_display()},
        )
        return redirect("imports:batch", pk=batch.pk)
    if not os.path.exists(batch.stored_path):
        messages.error(request, _("The uploaded file is gone; upload it again."))
        return redirect("imports:batch", pk=batch.pk)
    try:
        header, preview = _preview(batch)
    except ActionError as e:
        messages.error(request, e.message)
        return redirect("imports:batch", pk=batch.pk)
    form = MappingForm(
        request.POST or None, batch=batch, header=header, initial_spec=batch.mapping or {}
    )

    def call() -> ImportBatch:
        spec = form.spec(batch.mapping or {})
        name = form.cleaned_data.get("save_as", "").strip()
        with transaction.atomic():
            saved = actions.save_mapping(name, batch.kind, spec, acting_user=user) if name else None
            done = actions.set_mapping(batch, spec, acting_user=user, saved_mapping=saved)
            tasks.enqueue_validation(done.pk, user.pk)
        return done

    if request.method == "POST":
        done = run_action(form, call)
        if done is not None:
            messages.success(request, _("Columns chosen; the file is being validated."))
            return redirect(_waiting_url(done))
    ctx = {"batch": batch, "form": form, "header": header, "preview": preview}
    return render(request, "imports/mapping.html", ctx, status=400 if form.errors else 200)


# ---------------------------------------------------------------- a batch


def _progress_ctx(batch: ImportBatch) -> dict[str, Any]:
    return {
        "batch": batch,
        "progress": actions.progress_of(batch),
        "running": batch.status in RUNNING,
    }


def _label_kinds(rows: Any) -> None:
    labels: dict[str, str] = {}
    for row in rows:
        if row.kind not in labels:
            labels[row.kind] = report.kind_label(row.kind) if row.kind else ""
        row.kind_label = labels[row.kind]


@login_required
@require_GET
def batch_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = _batch(user, pk)
    waiting = request.GET.get("waiting", "")
    ctx: dict[str, Any] = {
        **_progress_ctx(batch),
        "poll": batch.status in RUNNING or waiting == _state(batch),
        "waiting": waiting,
        "polls": 0,
        "count_labels": report.count_labels(),
        "count_rows": report.count_rows(batch),
        "can_commit": batch.status == BatchStatus.VALID,
        "can_validate": batch.status in REVALIDATE,
        "can_map": batch.status in REVALIDATE and batch.kind != ImportKind.ARCHIVE,
        "can_discard": batch.status not in (*RUNNING, *FINAL),
        "audit_url": None,
        "problems": None,
        "changes": None,
    }
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.DISCARDED) or batch.counts:
        # Errors first ("error" sorts before "warning"), then in file order.
        problems = list(batch.problems.order_by("severity", "id")[:PROBLEMS_SHOWN])
        _label_kinds(problems)
        ctx["problems"] = problems
        ctx["problem_count"] = (
            len(problems) if len(problems) < PROBLEMS_SHOWN else batch.problems.count()
        )
    if batch.status == BatchStatus.COMMITTED:
        changes = Paginator(batch.changes.order_by("id"), CHANGES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        _label_kinds(changes.object_list)
        ctx["changes"] = changes
    if authz.has_perm(user, Perm.AUDIT_VIEW):
        ctx["audit_url"] = (
            reverse("audit:entries")
            + f"?subject_type={ImportBatch._meta.label_lower}&subject_id={batch.pk}"
        )
    return render(request, "imports/batch.html", ctx)


@login_required
@require_GET
def batch_progress(request: AuthedRequest, pk: int) -> HttpResponse:
    """The progress partial the batch page polls; once the run is over, the page reloads."""
    batch = _batch(request.user, pk)
    waiting = request.GET.get("waiting", "")
    if batch.status not in RUNNING and waiting != _state(batch):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    try:
        polls = int(request.GET.get("n", "0")) + 1
    except ValueError:
        polls = 1
    # Queued for long with no worker picking it up: say so and stop asking.
    stalled = batch.status not in RUNNING and polls > MAX_QUEUE_POLLS
    ctx = {**_progress_ctx(batch), "poll": not stalled, "stalled": stalled}
    return render(
        request, "imports/batch.html#progress", {**ctx, "waiting": waiting, "polls": polls}
    )


def _refuse(request: AuthedRequest, batch: ImportBatch, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect("imports:batch", pk=batch.pk)


@login_required
@require_POST
def batch_validate(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = _batch(user, pk)
    if batch.status not in REVALIDATE:
        return _refuse(
            request,
            batch,
            _("This import is %(status)s; it cannot be run now.")
            % {"status": batch.get_status_display()},
        )
    tasks.enqueue_validation(batch.pk, user.pk)
    messages.success(request, _("The file is being validated again."))
    return redirect(_waiting_url(batch))


@login_required
@require_POST
def batch_commit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = _batch(user, pk)
    if batch.status != BatchStatus.VALID:
        return _refuse(
            request,
            batch,
            _("Only a validated import without errors can be committed; this one is %(status)s.")
            % {"status": batch.get_status_display()},
        )
    tasks.enqueue_commit(batch.pk, user.pk)
    messages.success(request, _("The import is being committed."))
    return redirect(_waiting_url(batch))


@login_required
@require_POST
def batch_discard(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = _batch(user, pk)
    try:
        actions.discard(batch, acting_user=user)
    except ActionError as e:
        return _refuse(request, batch, e.message)
    messages.success(request, _("The import was discarded; nothing was written."))
    return redirect("imports:batch", pk=batch.pk)


@login_required
@require_GET
def batch_report(request: AuthedRequest, pk: int) -> HttpResponse:
    batch = _batch(request.user, pk)
    data = report.report_xlsx(batch)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"import-{batch.pk}-report.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- exports


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


@login_required
@require_GET
def export_kind(
    request: AuthedRequest, kind: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    """One kind as CSV (streamed) or XLSX, in the shape an import reads back."""
    user = request.user
    selectors.require_importer(user)
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("Unknown format."))
    try:
        if fmt == "csv":
            lines = exports.csv_lines(kind, user)
            first = next(lines)  # checks the kind and the permission before streaming
        else:
            data = exports.xlsx_bytes(kind, user)
    except ActionError:
        raise Http404(_("Unknown kind of export.")) from None
    exports.record_export(user, kind, fmt)
    filename = f"baton-{kind}-{_stamp()}.{fmt}"
    response: HttpResponse | StreamingHttpResponse
    if fmt == "csv":

        def stream() -> Any:
            yield first.encode("utf-8")
            for line in lines:
                yield line.encode("utf-8")

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            data,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def export_archive(request: AuthedRequest) -> FileResponse:
    """Everything the group owns: a ZIP of every kind's CSV and a manifest (group admins)."""
    user = request.user
    if not selectors.is_group_admin(user):
        raise PermissionDenied(_("The full archive is for group administrators."))
    fd, path = tempfile.mkstemp(suffix=".zip", dir=actions.storage_dir())
    os.close(fd)
    try:
        exports.write_archive(user, Path(path))
        handle = open(path, "rb")  # noqa: SIM115 — FileResponse closes it
    finally:
        # The open handle keeps the data readable; the name goes at once.
        with contextlib.suppress(OSError):
            os.unlink(path)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"baton-archive-{_stamp()}.zip",
        content_type="application/zip",
    )
