"""/api/handover: templates, cases, tasks, documents, confirmations and the knowledge map.
One router per sub-resource, mounted together."""

from ninja import Router

from baton.handover.api import cases, documents, tasks, templates

router = Router(tags=["handover"])
for part in (templates, cases, tasks, documents):
    router.add_router("", part.router)
