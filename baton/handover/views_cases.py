"""Exit cases and tasks in the UI (stub, being written)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path


@login_required
def my_tasks(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse("")


urlpatterns = [path("tasks/", my_tasks, name="my_tasks")]
