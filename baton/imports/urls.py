"""Data migration pages, mounted at /imports/."""

from django.urls import path

from baton.imports.views import batch, batches, exports, mapping

app_name = "imports"

urlpatterns: list = [
    path("", batches.batches, name="batches"),
    path("upload/", batches.upload, name="upload"),
    path("export/archive.zip", exports.export_archive, name="export_archive"),
    path("export/<slug:kind>.<str:fmt>", exports.export_kind, name="export"),
    path("<int:pk>/", batch.batch_detail, name="batch"),
    path("<int:pk>/mapping/", mapping.mapping, name="mapping"),
    path("<int:pk>/progress/", batch.batch_progress, name="progress"),
    path("<int:pk>/validate/", batch.batch_validate, name="validate"),
    path("<int:pk>/commit/", batch.batch_commit, name="commit"),
    path("<int:pk>/discard/", batch.batch_discard, name="discard"),
    path("<int:pk>/report.xlsx", batch.batch_report, name="report"),
]
