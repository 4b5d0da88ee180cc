"""The batches (the latest, of the kinds the user may import) and the upload form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from baton.access import authz
from baton.access.authz import Perm
from baton.core.forms import run_action
from baton.core.http import AuthedRequest
from baton.imports import actions, report, selectors, tasks
from baton.imports.kinds import EXPORTED
from baton.imports.models import ImportBatch, ImportKind
from baton.imports.views.common import waiting_url

BATCHES_SHOWN = 50


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
        return redirect(waiting_url(batch))
    return redirect("imports:mapping", pk=batch.pk)
