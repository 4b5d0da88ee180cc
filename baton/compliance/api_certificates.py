"""/api/compliance: the separation certificate register of a case and its statutory deadlines.

Certificates: HR over the leaver and the leaver (their own) list and download them; HR issues
them (whatever the handover state; there is no way to hold one back — LCL 50, 89). Deadlines:
whoever sees the case reads them; HR records one met, with its evidence.
"""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any

from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from baton.access import authz
from baton.access.authz import Perm
from baton.compliance import actions_certificates as actions
from baton.compliance import actions_deadlines, deadlines
from baton.compliance.models import Certificate, StatutoryDeadline
from baton.core.http import AuthedRequest
from baton.handover.api.common import reader, writer
from baton.handover.models import ExitCase
from baton.handover.rules import is_leaver

router = Router(tags=["certificates"])


class CertificateOut(Schema):
    id: int
    case_id: int
    kind: str
    number: str
    dated: dt.date
    issued_at: dt.datetime
    issued_by: str
    template_version: int
    facts: dict[str, Any] = Field(..., description="What the certificate states, as issued.")
    pdf_sha256: str
    revoked_at: dt.datetime | None
    revoke_reason: str


class IssueIn(Schema):
    items: list[str] = Field(
        default_factory=list,
        description="JP 退職証明書 only: the items the worker asked for "
        "(period, job_type, position, wage, reason).",
    )
    wage: str = ""
    reason: str = ""


class DeadlineOut(Schema):
    id: int
    kind: str
    label: str
    due_date: dt.date
    legal_basis: str
    confidence: str
    is_retention: bool
    overdue: bool
    task_id: int | None
    done_at: dt.datetime | None
    done_by: str | None
    evidence_note: str


class CompleteIn(Schema):
    evidence_note: str = Field(..., description="What shows the obligation was met.")


def _cert_out(c: Certificate) -> dict[str, Any]:
    return {
        "id": c.pk,
        "case_id": c.case_id,
        "kind": c.kind,
        "number": c.number,
        "dated": c.dated,
        "issued_at": c.issued_at,
        "issued_by": str(c.issued_by),
        "template_version": c.template.version,
        "facts": c.facts,
        "pdf_sha256": c.pdf_sha256,
        "revoked_at": c.revoked_at,
        "revoke_reason": c.revoke_reason,
    }


def _deadline_out(d: StatutoryDeadline) -> dict[str, Any]:
    return {
        "id": d.pk,
        "kind": d.kind,
        "label": d.get_kind_display(),
        "due_date": d.due_date,
        "legal_basis": d.legal_basis,
        "confidence": d.confidence,
        "is_retention": d.is_retention,
        "overdue": deadlines.is_overdue(d),
        "task_id": d.task_id,
        "done_at": d.done_at,
        "done_by": str(d.done_by) if d.done_by else None,
        "evidence_note": d.evidence_note,
    }


def _case_for_certificates(user: Any, case_id: int) -> ExitCase:
    """The case, for HR over it or its leaver; anyone else gets 404."""
    case = authz.get_for(user, Perm.CASE_VIEW, ExitCase, pk=case_id)
    if is_leaver(user, case):
        return case
    if not authz.visible_to(user, Perm.CASE_MANAGE, ExitCase.objects.filter(pk=case.pk)).exists():
        raise Http404(_("Not found, or not visible to you."))
    return case


@router.get(
    "/cases/{int:case_id}/certificates",
    response=list[CertificateOut],
    operation_id="list_case_certificates",
)
def list_certificates(request: AuthedRequest, case_id: int) -> list[dict[str, Any]]:
    """The case's certificates, newest first (revoked ones included)."""
    case = _case_for_certificates(reader(request), case_id)
    rows = (
        Certificate.objects.filter(case=case)
        .select_related("issued_by", "template")
        .defer("pdf")
        .order_by("-issued_at", "-id")
    )
    return [_cert_out(c) for c in rows]


@router.post(
    "/cases/{int:case_id}/certificates",
    response={201: CertificateOut},
    operation_id="issue_certificate",
)
def issue(request: AuthedRequest, case_id: int, payload: IssueIn) -> Status:
    """Issue the case's exit document (HR). Dated the last working day when issued before it.
    Completes the certificate deadline."""
    user = writer(request)
    case = authz.get_for(user, Perm.CASE_VIEW, ExitCase, pk=case_id)
    cert = actions.issue_certificate(
        case, acting_user=user, items=payload.items, wage=payload.wage, reason=payload.reason
    )
    cert = Certificate.objects.select_related("issued_by", "template").get(pk=cert.pk)
    return Status(201, _cert_out(cert))


@router.get(
    "/certificates/{int:certificate_id}/pdf",
    operation_id="download_certificate",
    response={200: None},
)
def download(request: AuthedRequest, certificate_id: int) -> HttpResponse:
    """The PDF exactly as issued (HR and the leaver); every download is audited."""
    user = reader(request)
    cert = actions.get_certificate(user, certificate_id)
    data = actions.read_certificate_pdf(cert, acting_user=user)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{cert.number}.pdf")
    response["Cache-Control"] = "private, no-store"
    return response


@router.get(
    "/cases/{int:case_id}/deadlines",
    response=list[DeadlineOut],
    operation_id="list_case_deadlines",
)
def list_deadlines(request: AuthedRequest, case_id: int) -> list[dict[str, Any]]:
    """The case's statutory deadlines with their due dates, legal basis and state."""
    case = authz.get_for(reader(request), Perm.CASE_VIEW, ExitCase, pk=case_id)
    rows = StatutoryDeadline.objects.filter(case=case).select_related("done_by")
    return [_deadline_out(d) for d in rows.order_by("due_date", "id")]


@router.post(
    "/deadlines/{int:deadline_id}/complete",
    response=DeadlineOut,
    operation_id="complete_deadline",
)
def complete(request: AuthedRequest, deadline_id: int, payload: CompleteIn) -> dict[str, Any]:
    """Record an obligation met, with its evidence (HR). The certificate's deadline is met by
    issuing it."""
    user = writer(request)
    row = StatutoryDeadline.objects.filter(pk=deadline_id).first()
    if (
        row is None
        or not authz.visible_to(
            user, Perm.CASE_VIEW, ExitCase.objects.filter(pk=row.case_id)
        ).exists()
    ):
        raise Http404(_("Not found, or not visible to you."))
    row = actions_deadlines.complete_deadline(
        row, acting_user=user, evidence_note=payload.evidence_note
    )
    return _deadline_out(StatutoryDeadline.objects.select_related("done_by").get(pk=row.pk))
