"""The position knowledge map in the UI: accepted, reusable handover material by position."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from baton.core.errors import Conflict
from baton.handover import actions, selectors
from baton.handover.models import Category
from baton.handover.views.common import attachment

PAGE_SIZE = 50


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def knowledge(request: HttpRequest) -> HttpResponse:
    """The position knowledge map: accepted, reusable handover material, by position."""
    qs = selectors.knowledge_for(request.user, request.GET)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx: dict[str, Any] = {
        "page": page,
        "query": _without_page(request),
        "categories": Category.choices,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "knowledge-table":
        return render(request, "handover/knowledge.html#table", ctx)
    ctx["positions"] = selectors.knowledge_positions(request.user)
    return render(request, "handover/knowledge.html", ctx)


@login_required
def knowledge_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(selectors.knowledge_for(request.user), pk=pk)
    actions.count_knowledge_view(item)
    return render(request, "handover/knowledge_item.html", {"k": item})


@login_required
def knowledge_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The entry's document, for whoever may read the entry (the next holder of the position
    included, though the case it came from is not visible to them); the read is audited."""
    item = get_object_or_404(selectors.knowledge_for(request.user), pk=pk)
    try:
        doc, data = actions.read_knowledge_document(item, acting_user=request.user)
    except Conflict as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    return attachment(doc.name, doc.content_type, data)


urlpatterns = [
    path("knowledge/", knowledge, name="knowledge"),
    path("knowledge/<int:pk>/", knowledge_item, name="knowledge_item"),
    path("knowledge/<int:pk>/download/", knowledge_download, name="knowledge_download"),
]
