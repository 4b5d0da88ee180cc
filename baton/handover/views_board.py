"""The progress board and the unfinished-items report (stub, being written)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path


@login_required
def board(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


urlpatterns = [path("cases/", board, name="board")]
