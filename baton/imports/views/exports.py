"""The exports: one kind as CSV or XLSX, or the whole archive."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from baton.core.errors import ActionError
from baton.core.http import AuthedRequest
from baton.imports import actions, exports, selectors


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
