"""Checklist templates and the knowledge map in the UI (stub, being written)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path


@login_required
def templates(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


@login_required
def knowledge(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


urlpatterns = [
    path("checklists/", templates, name="templates"),
    path("knowledge/", knowledge, name="knowledge"),
]
