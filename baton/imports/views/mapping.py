"""The mapping step: which column of the file is which of ours."""

from __future__ import annotations

import os
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from baton.core.errors import ActionError
from baton.core.forms import run_action
from baton.core.http import AuthedRequest
from baton.imports import actions, readers, tasks
from baton.imports.kinds import KINDS
from baton.imports.mapping import aliases
from baton.imports.models import ImportBatch, ImportKind
from baton.imports.views.common import REVALIDATE, get_batch, waiting_url

PREVIEW_ROWS = 5
# Kinds whose rows may carry extra columns as attributes.
WITH_ATTRIBUTES = ("employees",)


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
    batch = get_batch(user, pk)
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
            return redirect(waiting_url(done))
    ctx = {"batch": batch, "form": form, "header": header, "preview": preview}
    return render(request, "imports/mapping.html", ctx, status=400 if form.errors else 200)
