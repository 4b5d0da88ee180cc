"""Actions on exit documents: publishing a wording, issuing a certificate into the register,
refusing to hold one back, downloading, revoking, and the public verification.

The certificate is an unconditional statutory duty owed at termination (LCL 50 §1; its absence
makes the employer liable, LCL 89). It is issued whatever the state of the handover; the only
thing the handover may gate is the severance payment (LCL 50 §2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.compliance import actions_deadlines
from baton.compliance import certificates as docs
from baton.compliance.models import (
    Certificate,
    CertificateKind,
    CertificateSequence,
    CertificateTemplate,
    DeadlineKind,
)
from baton.core.errors import Conflict, InvalidInput
from baton.handover import crypto
from baton.handover.models import CaseState, ExitCase
from baton.handover.rules import require_case

# A resignation needs no employer approval (LCL 37): once submitted, the certificate is due on
# the last day whatever happens to the approval or the handover.
ISSUABLE_STATES = (
    CaseState.SUBMITTED,
    CaseState.APPROVED,
    CaseState.HANDOVER,
    CaseState.CLEARED,
    CaseState.CLOSED,
)
REVOKED_EVENT = E.CERTIFICATE_REVOKED


def hold_refusal() -> str:
    return _(
        "The separation certificate cannot be held back until the handover is complete. It "
        "is owed at termination whatever the state of the handover (Labour Contract Law art. "
        "50 §1), and withholding it makes the employer liable for the employee's losses (art. "
        "89). Only the severance payment may wait for the handover (art. 50 §2)."
    )


def _record(event: E, *, actor: Any, cert: Certificate, case: Any, **kwargs: Any) -> None:
    """An audit entry about a certificate, filed under its case's business unit and department
    (so scoped readers of the trail see it)."""
    trail.record_many(
        [
            trail.Change(
                event,
                cert,
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
                **kwargs,
            )
        ],
        actor=actor,
    )


# ---------------------------------------------------------------- templates


def current_template(kind: str) -> CertificateTemplate:
    """The latest published wording of a document, installing the built-in one the first time."""
    template = CertificateTemplate.objects.filter(kind=kind).order_by("-version").first()
    if template is not None:
        return template
    title, body = docs.DEFAULT_TEMPLATES[kind]
    spec = docs.SPECS[kind]
    try:
        with transaction.atomic():
            template = CertificateTemplate.objects.create(
                kind=kind,
                jurisdiction=spec.jurisdiction,
                language=spec.language,
                version=1,
                title=title,
                body=body,
                note="built-in",
            )
            trail.record(
                E.CERTIFICATE_TEMPLATE_PUBLISHED,
                actor=None,
                subject=template,
                extra={"kind": kind, "version": 1, "built_in": True},
            )
    except IntegrityError:  # installed concurrently
        return CertificateTemplate.objects.get(kind=kind, version=1)
    return template


@transaction.atomic
def publish_template(
    kind: str, *, acting_user: Any, title: str, body: str, note: str = ""
) -> CertificateTemplate:
    """Publish a new version of a document's wording (the old versions stay, for the
    certificates rendered from them). The wording is the group's: only those who manage
    templates over the whole group change it."""
    authz.check_unit_setting(
        acting_user,
        Perm.TEMPLATE_MANAGE,
        None,
        _("Only group administrators change the wording of exit documents."),
    )
    if kind not in docs.SPECS:
        raise InvalidInput.field("kind", _("Unknown document."))
    if not title.strip():
        raise InvalidInput.field("title", _("Give the document a title."))
    try:
        docs.check_body(kind, body)
    except docs.TemplateError as exc:
        raise InvalidInput.field("body", str(exc)) from None
    current_template(kind)
    versions = list(
        CertificateTemplate.objects.select_for_update()
        .filter(kind=kind)
        .values_list("version", flat=True)
    )
    spec = docs.SPECS[kind]
    template = CertificateTemplate.objects.create(
        kind=kind,
        jurisdiction=spec.jurisdiction,
        language=spec.language,
        version=max(versions, default=0) + 1,
        title=title.strip()[:200],
        body=body.strip(),
        published_by=acting_user,
        note=note[:500],
    )
    trail.record(
        E.CERTIFICATE_TEMPLATE_PUBLISHED,
        actor=acting_user,
        subject=template,
        extra={"kind": kind, "version": template.version, "note": note[:500]},
    )
    return template


# ---------------------------------------------------------------- issuing


def _lock_case(case: ExitCase) -> ExitCase:
    return (
        ExitCase.objects.select_for_update(of=("self",))
        .select_related("employee__position__family", "legal_entity__group")
        .get(pk=case.pk)
    )


def _next_number(case: ExitCase, year: int) -> tuple[int, str]:
    """Take the entity's next number for the year (gap-free: the counter row is locked until
    the issuing transaction ends)."""
    entity = case.legal_entity
    CertificateSequence.objects.get_or_create(legal_entity=entity, year=year)
    seq = CertificateSequence.objects.select_for_update().get(legal_entity=entity, year=year)
    seq.last_value += 1
    seq.save(update_fields=["last_value"])
    number = f"{entity.group.code}-{entity.code}-{year}-{seq.last_value:04d}"
    return seq.last_value, number


@transaction.atomic
def issue_certificate(
    case: ExitCase,
    *,
    acting_user: Any,
    items: Iterable[str] = (),
    wage: str = "",
    reason: str = "",
) -> Certificate:
    """Issue the case's exit document into the register and complete its statutory deadline.

    Works in every state from approval on, with the handover finished or not. Issued before the
    last working day, it is dated the last working day; issued later, the day of issue. For the
    JP 退職証明書, `items` are the items the worker asked for (and `wage` / `reason` their text);
    nothing else is stated."""
    case = _lock_case(case)
    require_case(acting_user, case, Perm.CASE_MANAGE)
    if case.state not in ISSUABLE_STATES:
        raise Conflict(_("The certificate is issued once the exit is submitted."))
    if case.confidential and case.revealed_at is None:
        raise Conflict(_("Reveal the pre-resignation handover before issuing a certificate."))
    kind = docs.kind_for(case)
    if kind is None:
        raise Conflict(
            _("No exit document is defined for the jurisdiction %(j)s.")
            % {"j": case.legal_entity.jurisdiction}
        )
    if case.certificates.filter(revoked_at__isnull=True).exists():
        raise Conflict(
            _("A certificate was already issued for this exit; revoke it to issue a corrected one.")
        )
    chosen = frozenset(items)
    if kind == CertificateKind.JP_TAISHOKU:
        unknown = chosen - set(docs.JP_ITEMS)
        if unknown:
            raise InvalidInput.field("items", _("Unknown items: %(i)s") % {"i": ", ".join(unknown)})
        if not chosen:
            raise InvalidInput.field("items", _("Choose the items the worker asked for."))
        if "wage" in chosen and not wage.strip():
            raise InvalidInput.field("wage", _("State the wage the worker asked to be certified."))
        if "reason" in chosen and not reason.strip():
            raise InvalidInput.field(
                "reason", _("State the reason for leaving (for a dismissal, with its grounds).")
            )
        facts = docs.jp_facts(case, chosen, wage, reason)
    else:
        chosen = frozenset()  # the CN certificate states the four facts, nothing chosen
        facts = docs.cn_facts(case)
    template = current_template(kind)
    dated = max(timezone.localdate(), case.last_working_day)
    sequence, number = _next_number(case, dated.year)
    facts = {
        "name": case.employee.name,
        "employer": case.legal_entity.name,
        "number": number,
        "issue_date": docs.cn_date(dated),
        **facts,
    }
    code = docs.new_code()
    rendered = docs.render_html(template, facts, code=code, items=chosen)
    pdf = docs.to_pdf(rendered)
    sha = hashlib.sha256(pdf).hexdigest()
    blob, key_id = crypto.encrypt(pdf, sha)
    cert = Certificate.objects.create(
        case=case,
        legal_entity=case.legal_entity,
        kind=kind,
        number=number,
        year=dated.year,
        sequence=sequence,
        template=template,
        facts=facts,
        dated=dated,
        issued_by=acting_user,
        code_hash=docs.code_hash(code),
        pdf=blob,
        key_id=key_id,
        pdf_sha256=sha,
    )
    _record(
        E.CERTIFICATE_ISSUED,
        actor=acting_user,
        cert=cert,
        case=case,
        extra={
            "case": case.pk,
            "number": number,
            "kind": kind,
            "template": [template.kind, template.version],
            "dated": dated.isoformat(),
            "items": sorted(chosen),
            "pdf_sha256": sha,
            "handover_state": case.state,
        },
    )
    actions_deadlines.complete_for_case(
        case,
        DeadlineKind.CERTIFICATE,
        acting_user=acting_user,
        evidence_note=_("Certificate %(number)s issued.") % {"number": number},
        certificate=cert.pk,
    )
    return cert


def hold_certificate(case: ExitCase, *, acting_user: Any, reason: str = "") -> NoReturn:
    """An attempt to hold the certificate back (e.g. until the handover is complete): always
    refused with the legal explanation, and the attempt is recorded. The record commits on its
    own (call this outside any other transaction), so the refusal leaves its trace."""
    with transaction.atomic():
        locked = _lock_case(case)
        require_case(acting_user, locked, Perm.CASE_VIEW)
        trail.record(
            E.CERTIFICATE_HOLD_REFUSED,
            actor=acting_user,
            subject=locked,
            extra={"reason": reason[:500], "handover_state": locked.state},
        )
    raise Conflict(hold_refusal())


# ---------------------------------------------------------------- reading


def may_download(user: Any, cert: Certificate) -> bool:
    """HR over the case, or the leaver (their own)."""
    me = authz.access_for(user).employee_id
    cases = ExitCase.objects.filter(pk=cert.case_id)
    if me and me == cert.case.employee_id:
        return authz.visible_to(user, Perm.CASE_VIEW, cases).exists()
    return authz.visible_to(user, Perm.CASE_MANAGE, cases).exists()


def get_certificate(user: Any, pk: int) -> Certificate:
    """A certificate the user may download (404 otherwise: its existence is not disclosed)."""
    cert = (
        Certificate.objects.select_related("case__employee", "legal_entity", "issued_by")
        .filter(pk=pk)
        .first()
    )
    if cert is None or not may_download(user, cert):
        raise Http404(_("Not found, or not visible to you."))
    return cert


@transaction.atomic
def read_certificate_pdf(cert: Certificate, *, acting_user: Any) -> bytes:
    """The issued PDF, exactly as issued (checked against its SHA-256); the read is audited."""
    if not may_download(acting_user, cert):
        raise PermissionDenied(_("Only HR and the employee download the certificate."))
    pdf = crypto.decrypt(bytes(cert.pdf), cert.pdf_sha256, cert.key_id)
    if hashlib.sha256(pdf).hexdigest() != cert.pdf_sha256:  # pragma: no cover — GCM checks too
        raise Conflict(_("The stored certificate does not match its register entry."))
    _record(
        E.CERTIFICATE_DOWNLOADED,
        actor=acting_user,
        cert=cert,
        case=cert.case,
        extra={"case": cert.case_id, "number": cert.number, "revoked": cert.is_revoked},
    )
    return pdf


@transaction.atomic
def revoke_certificate(cert: Certificate, *, acting_user: Any, reason: str) -> Certificate:
    """Withdraw a certificate that is wrong (to issue a corrected one); verification then
    shows it as revoked. Nothing is deleted."""
    cert = Certificate.objects.select_for_update().get(pk=cert.pk)
    case = ExitCase.objects.get(pk=cert.case_id)
    require_case(acting_user, case, Perm.CASE_MANAGE)
    if cert.is_revoked:
        raise Conflict(_("This certificate is already revoked."))
    if not reason.strip():
        raise InvalidInput.field("reason", _("Say why the certificate is revoked."))
    cert.revoked_at = timezone.now()
    cert.revoked_by = acting_user
    cert.revoke_reason = reason.strip()[:500]
    cert.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    _record(
        REVOKED_EVENT,
        actor=acting_user,
        cert=cert,
        case=case,
        changes={"revoked_at": (None, cert.revoked_at)},
        extra={"case": cert.case_id, "number": cert.number, "reason": cert.revoke_reason},
    )
    return cert


def verify(raw_code: str) -> Certificate | None:
    """The certificate a verification code belongs to, or None. Looked up by the code's
    SHA-256 (an indexed equality: the time taken says nothing about how close a guess was).
    Each check is counted; the first check of a certificate on a day is also recorded in the
    audit trail (anonymous traffic cannot grow the trail without bound)."""
    code = docs.normalize_code(raw_code)
    if len(code) != docs.CODE_LENGTH or any(c not in docs.CODE_ALPHABET for c in code):
        return None
    cert = (
        Certificate.objects.select_related("case__employee", "legal_entity")
        .defer("pdf")
        .filter(code_hash=docs.code_hash(code))
        .first()
    )
    if cert is None:
        return None
    today = timezone.localdate()
    with transaction.atomic():
        rows = Certificate.objects.filter(pk=cert.pk)
        first_today = rows.exclude(last_verified_on=today).update(
            verifications=F("verifications") + 1, last_verified_on=today
        )
        if first_today:
            _record(
                E.CERTIFICATE_VERIFIED,
                actor=None,
                cert=cert,
                case=cert.case,
                extra={"case": cert.case_id, "number": cert.number, "revoked": cert.is_revoked},
            )
        else:
            rows.update(verifications=F("verifications") + 1)
    return cert


def reencrypt_certificates() -> int:
    """Re-encrypt issued certificates' PDFs not under the current key (`baton keys rotate`),
    one transaction per certificate; the PDF's SHA-256 stays the same."""
    current = crypto.current_key_id()
    done = 0
    for pk in Certificate.objects.exclude(key_id=current).values_list("pk", flat=True):
        with transaction.atomic():
            cert = Certificate.objects.select_for_update().get(pk=pk)
            pdf = crypto.decrypt(bytes(cert.pdf), cert.pdf_sha256, cert.key_id)
            cert.pdf, cert.key_id = crypto.encrypt(pdf, cert.pdf_sha256)
            cert.save(update_fields=["pdf", "key_id"])
            done += 1
    return done
