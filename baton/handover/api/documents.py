"""/api/handover: the document library, external confirmations and the knowledge map."""


# No `from __future__ import annotations` here: django-ninja reads the payload, File and Form
# annotations of these endpoints at run time.

import datetime as dt
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.errors import Conflict, InvalidInput
from baton.core.http import AuthedRequest
from baton.core.middleware import client_ip
from baton.handover import actions
from baton.handover.api.common import (
    ErrorOut,
    fetch_case,
    fetch_task,
    page,
    reader,
    writer,
)
from baton.handover.models import (
    Document,
    ExternalConfirmation,
    KnowledgeItem,
)

router = Router(tags=["handover"])

# ---------------------------------------------------------------- documents


class DocumentOut(Schema):
    id: int
    case_id: int
    task_id: int | None
    name: str
    content_type: str
    size: int
    sha256: str
    version: int
    previous_id: int | None
    reusable: bool
    note: str
    uploaded_by_id: int
    uploaded_at: dt.datetime
    download_url: str = Field(...)

    @staticmethod
    def resolve_download_url(obj: Document) -> str:
        return reverse("api:download_document", kwargs={"document_id": obj.pk})


class DocumentPage(Page):
    items: list[DocumentOut]


def _required_file(file: UploadedFile | None) -> UploadedFile:
    # Checked here rather than by the schema, so the error names the field `file`.
    if file is None:
        raise InvalidInput.field("file", _("This field is required."))
    return file


def _documents(user: Any, **filters: Any) -> QuerySet[Document]:
    return authz.visible_to(user, Perm.CASE_VIEW, Document.objects.filter(**filters)).order_by(
        "name", "-version", "id"
    )


@router.get(
    "/cases/{int:case_id}/documents", response=DocumentPage, operation_id="list_case_documents"
)
def list_case_documents(
    request: AuthedRequest, case_id: int, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Every document of the case (its own and its tasks'), newest version first."""
    user = reader(request)
    case = fetch_case(user, case_id)
    return page(_documents(user, case_id=case.pk), limit, offset)


@router.get(
    "/tasks/{int:task_id}/documents", response=DocumentPage, operation_id="list_task_documents"
)
def list_task_documents(
    request: AuthedRequest, task_id: int, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    user = reader(request)
    task = fetch_task(user, task_id)
    return page(_documents(user, task_id=task.pk), limit, offset)


@router.post(
    "/cases/{int:case_id}/documents",
    response={201: DocumentOut},
    operation_id="upload_case_document",
)
def upload_case_document(
    request: AuthedRequest,
    case_id: int,
    file: File[UploadedFile | None] = None,
    reusable: Form[bool] = False,
    note: Form[str] = "",
) -> Any:
    """Upload a file to the case itself (HR). Stored encrypted; the same name again is a new
    version."""
    user = writer(request)
    case = fetch_case(user, case_id)
    upload = _required_file(file)
    return Status(
        201, actions.upload_document(case, upload, acting_user=user, reusable=reusable, note=note)
    )


@router.post(
    "/tasks/{int:task_id}/documents",
    response={201: DocumentOut},
    operation_id="upload_task_document",
)
def upload_task_document(
    request: AuthedRequest,
    task_id: int,
    file: File[UploadedFile | None] = None,
    reusable: Form[bool] = False,
    note: Form[str] = "",
) -> Any:
    """The task's owner uploads evidence. `reusable` files feed the position's knowledge map
    when the item is accepted."""
    user = writer(request)
    task = fetch_task(user, task_id)
    upload = _required_file(file)
    return Status(
        201,
        actions.upload_document(
            task.case, upload, acting_user=user, task=task, reusable=reusable, note=note
        ),
    )


@router.get(
    "/documents/{int:document_id}/download",
    response={200: None},
    operation_id="download_document",
)
def download_document(request: AuthedRequest, document_id: int) -> HttpResponse:
    """The decrypted file, checked against its SHA-256. Every download is audited."""
    user = reader(request)
    doc = authz.get_for(user, Perm.CASE_VIEW, Document, pk=document_id)
    data = actions.read_document(doc, acting_user=user)
    response = HttpResponse(data, content_type=doc.content_type)
    response["Content-Disposition"] = content_disposition_header(True, doc.name) or "attachment"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-SHA256"] = doc.sha256
    return response


# ---------------------------------------------------------------- external confirmations


class ConfirmationOut(Schema):
    id: int
    task_id: int
    recipient_name: str
    recipient_email: str
    statement: str
    expires_at: dt.datetime
    created_by_id: int
    created_at: dt.datetime
    responded_at: dt.datetime | None
    confirmed: bool | None
    response_note: str
    status: Literal["pending", "confirmed", "declined", "expired"] = Field(...)

    @staticmethod
    def resolve_status(obj: ExternalConfirmation) -> str:
        if obj.responded_at is not None:
            return "confirmed" if obj.confirmed else "declined"
        return "expired" if obj.expires_at <= timezone.now() else "pending"


class ConfirmationCreated(ConfirmationOut):
    url: str = Field(..., description="The one-time link to send; shown only now.")


class ConfirmationPage(Page):
    items: list[ConfirmationOut]


class ConfirmationIn(Schema):
    recipient_name: str = Field(default="", max_length=200)
    recipient_email: str = Field(
        default="", max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    statement: str = Field(default="", max_length=4000)
    valid_days: int = actions.CONFIRMATION_DAYS


class PublicConfirmationOut(Schema):
    company: str
    recipient_name: str
    statement: str
    expires_at: dt.datetime


class AnswerIn(Schema):
    confirmed: bool
    note: str = Field(default="", max_length=2000)


class AnswerOut(Schema):
    confirmed: bool
    responded_at: dt.datetime


@router.get(
    "/tasks/{int:task_id}/confirmations",
    response=ConfirmationPage,
    operation_id="list_confirmations",
)
def list_confirmations(
    request: AuthedRequest, task_id: int, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    user = reader(request)
    task = fetch_task(user, task_id)
    qs = authz.visible_to(
        user, Perm.CASE_VIEW, ExternalConfirmation.objects.filter(task_id=task.pk)
    ).order_by("-created_at", "-id")
    return page(qs, limit, offset)


@router.post(
    "/tasks/{int:task_id}/confirmations",
    response={201: ConfirmationCreated},
    operation_id="create_confirmation",
)
def create_confirmation(request: AuthedRequest, task_id: int, payload: ConfirmationIn) -> Any:
    """A one-time, expiring link for someone outside the company to confirm a handover fact.
    The link is returned only in this response; only its hash is stored."""
    user = writer(request)
    task = fetch_task(user, task_id)
    conf, raw = actions.create_confirmation(
        task,
        acting_user=user,
        recipient_name=payload.recipient_name,
        statement=payload.statement,
        recipient_email=payload.recipient_email,
        valid_days=payload.valid_days,
    )
    conf.url = actions.confirmation_link(raw)  # type: ignore[attr-defined]
    return Status(201, conf)


def _link_error(exc: InvalidInput | Conflict) -> Status:
    # Public semantics: an unknown link is 404; a used or expired one is gone (410).
    return Status(404 if isinstance(exc, InvalidInput) else 410, exc.as_dict())


@router.get(
    "/confirmations/{token}",
    auth=None,
    response={200: PublicConfirmationOut, 404: ErrorOut, 410: ErrorOut},
    operation_id="get_public_confirmation",
)
def get_public_confirmation(request: HttpRequest, token: str) -> Any:
    """Public (no account): what the link's recipient is asked to confirm."""
    try:
        conf = actions.find_confirmation(token)
    except (InvalidInput, Conflict) as exc:
        return _link_error(exc)
    return {
        "company": conf.task.case.legal_entity.name,
        "recipient_name": conf.recipient_name,
        "statement": conf.statement,
        "expires_at": conf.expires_at,
    }


@router.post(
    "/confirmations/{token}",
    auth=None,
    response={200: AnswerOut, 404: ErrorOut, 410: ErrorOut},
    operation_id="answer_public_confirmation",
)
def answer_public_confirmation(request: HttpRequest, token: str, payload: AnswerIn) -> Any:
    """Public (no account): confirm or decline, once. Recorded with time and IP, audited."""
    try:
        conf = actions.answer_confirmation(
            token,
            confirmed=payload.confirmed,
            note=payload.note,
            client_ip=client_ip(request) or "",
        )
    except (InvalidInput, Conflict) as exc:
        return _link_error(exc)
    return conf


# ---------------------------------------------------------------- knowledge map


class KnowledgeOut(Schema):
    id: int
    position_id: int
    title: str
    body: str
    category: str
    document_id: int | None
    document_name: str | None = Field(...)
    source_task_id: int | None
    contributed_by_id: int | None
    views: int
    created_at: dt.datetime

    @staticmethod
    def resolve_document_name(obj: KnowledgeItem) -> str | None:
        return obj.document.name if obj.document_id and obj.document else None


class KnowledgePage(Page):
    items: list[KnowledgeOut]


def _knowledge(user: Any) -> QuerySet[KnowledgeItem]:
    authz.require(user, Perm.TEMPLATE_VIEW)
    return actions.knowledge_visible_to(user).select_related("document")


@router.get("/knowledge", response=KnowledgePage, operation_id="list_knowledge")
def list_knowledge(
    request: AuthedRequest,
    position: int | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    user = reader(request)
    qs = _knowledge(user)
    if position is not None:
        qs = qs.filter(position_id=position)
    if q := q.strip():
        qs = qs.filter(Q(title__icontains=q) | Q(body__icontains=q))
    return page(qs.order_by("position_id", "category", "title", "id"), limit, offset)


@router.get("/knowledge/{int:item_id}", response=KnowledgeOut, operation_id="get_knowledge")
def get_knowledge(request: AuthedRequest, item_id: int) -> Any:
    """One entry; reading it counts a view."""
    user = reader(request)
    item = authz.get_for(user, Perm.TEMPLATE_VIEW, _knowledge(user), pk=item_id)
    actions.count_knowledge_view(item)
    return item
