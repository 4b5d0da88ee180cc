"""Data migration pages, mounted at /imports/."""

from django.urls import path

from baton.imports import views

app_name = "imports"

urlpatterns: list = [
    path("", views.batches, name="batches"),
    path("upload/", views.upload, name="upload"),
    path("export/archive.zip", views.export_archive, name="export_archive"),
    path("export/<slug:kind>.<str:fmt>", views.export_kind, name="export"),
    path("<int:pk>/", views.batch_detail, name="batch"),
    path("<int:pk>/mapping/", views.mapping, name="mapping"),
    path("<int:pk>/progress/", views.batch_progress, name="progress"),
    path("<int:pk>/validate/", views.batch_validate, name="validate"),
    path("<int:pk>/commit/", views.batch_commit, name="commit"),
    path("<int:pk>/discard/", views.batch_discard, name="discard"),
    path("<int:pk>/report.xlsx", views.batch_report, name="report"),
]
