"""The encrypted document library, external confirmation links and the knowledge map."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.access.models import hash_token
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core.errors import Conflict, Gone, InvalidInput, NotFound
from baton.handover import crypto
from baton.handover.actions.cases import lock_case
from baton.handover.actions.tasks import (
    lock_task,
    require_owner,
    task_change,
)
from baton.handover.models import (
    CaseState,
    Document,
    EvidenceKind,
    ExitCase,
    ExternalConfirmation,
    HandoverTask,
    TaskState,
)
from baton.handover.rules import is_owner, manages_case, require_case_manager

# ---------------------------------------------------------------- documents

ALLOWED_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


_SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def content_matches(data: bytes, content_type: str) -> bool:
    """Whether the bytes are what the declared type says (the browser's word is not enough:
    an executable renamed to .pdf is refused)."""
    if content_type in _SIGNATURES:
        return data.startswith(_SIGNATURES[content_type])
    if content_type.startswith("application/vnd.openxmlformats"):
        return data.startswith(b"PK\x03\x04")
    if content_type in (
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
    ):
        return data.startswith(_OLE)
    if content_type.startswith("text/"):
        head = data[:8192]
        if b"\x00" in head:
            return False
        for encoding in ("utf-8", "gb18030"):
            try:
                # The 8 KB cut may split a multi-byte character: allow a ragged end.
                head.decode(encoding, errors="strict" if len(data) <= 8192 else "ignore")
                return True
            except UnicodeDecodeError:
                continue
    return False


def _checked_file(upload: UploadedFile) -> tuple[str, str, bytes]:
    """The upload's name, content type and bytes, once it is a non-empty file of an accepted
    type, within the size limit, whose content is what its type says."""
    name = (upload.name or "").rsplit("/", 1)[-1].strip()[:255]
    if not name:
        raise InvalidInput.field("file", _("The file has no name."))
    size = upload.size or 0
    if size == 0:
        raise InvalidInput.field("file", _("The file is empty."))
    limit = settings.BATON_MAX_UPLOAD_BYTES
    if size > limit:
        raise InvalidInput.field(
            "file",
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": round(size / 1048576, 1), "limit": limit // 1048576},
        )
    content_type = (upload.content_type or "").split(";")[0].strip()
    if content_type not in ALLOWED_TYPES:
        raise InvalidInput.field(
            "file",
            _(
                "Files of type %(type)s are not accepted. Use PDF, "
                "images, Office documents, text, CSV or ZIP."
            )
            % {"type": content_type or "?"},
        )
    data = b"".join(upload.chunks())
    if not content_matches(data, content_type):
        raise InvalidInput.field(
            "file",
            _("The file's content is not a %(type)s file; upload the real document.")
            % {"type": content_type},
        )
    return name, content_type, data


@transaction.atomic
def upload_document(
    case: ExitCase,
    upload: UploadedFile,
    *,
    acting_user: Any,
    task: HandoverTask | None = None,
    reusable: bool = False,
    note: str = "",
) -> Document:
    """Store a file encrypted (AES-256-GCM) with its SHA-256; same name again = next version."""
    if task is not None:
        task = lock_task(task, acting_user)
        require_owner(acting_user, task)
        if task.state not in (TaskState.TODO, TaskState.IN_PROGRESS, TaskState.REJECTED):
            raise Conflict(_("This item is waiting for acceptance or finished."))
        case = task.case
    else:
        case = lock_case(case)
        require_case_manager(acting_user, case)
    name, content_type, data = _checked_file(upload)
    digest = hashlib.sha256(data).hexdigest()
    previous = Document.objects.filter(case=case, task=task, name=name).order_by("-version").first()
    blob, key_id = crypto.encrypt(data, digest)
    doc = Document(
        case=case,
        task=task,
        name=name,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        version=(previous.version + 1) if previous else 1,
        previous=previous,
        key_id=key_id,
        reusable=reusable,
        note=note[:500],
        uploaded_by=acting_user,
    )
    doc.blob.save(f"{digest}.bin", ContentFile(blob), save=False)
    # If the transaction rolls back, the encrypted blob stays behind as an unreferenced file;
    # it holds nothing readable without its record, and `baton keys rotate` ignores it.
    doc.save()
    trail.record_many(
        [
            trail.Change(
                E.DOCUMENT_UPLOADED,
                doc,
                extra={
                    "case": case.pk,
                    "task": task.pk if task else None,
                    "name": name,
                    "sha256": digest,
                    "version": doc.version,
                    "size": doc.size,
                },
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
        ],
        actor=acting_user,
    )
    if task is not None and task.state == TaskState.TODO:
        task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)
    return doc


@transaction.atomic
def read_document(doc: Document, *, acting_user: Any) -> bytes:
    """Decrypt a document for someone allowed to see it; every read is audited."""
    doc = authz.get_for(acting_user, Perm.CASE_VIEW, Document, pk=doc.pk)
    with doc.blob.open("rb") as fh:
        blob = fh.read()
    try:
        data = crypto.decrypt(blob, doc.sha256, doc.key_id)
    except InvalidTag:
        raise Conflict(
            _(
                "The stored file failed its integrity check; it was altered or "
                "damaged. Restore it from backup."
            )
        ) from None
    if hashlib.sha256(data).hexdigest() != doc.sha256:
        raise Conflict(_("The stored file does not match its recorded SHA-256."))
    trail.record_many(
        [
            trail.Change(
                E.DOCUMENT_VIEWED,
                doc,
                extra={"name": doc.name, "version": doc.version},
                business_unit_id=doc.case.business_unit_id,
                department_id=doc.case.department_id,
            )
        ],
        actor=acting_user,
    )
    return data


def reencrypt_all(*, acting_user: Any = None) -> int:
    """Re-encrypt every document not under the current key (`baton keys rotate`), one
    transaction per document so a long rotation can be interrupted and resumed."""
    current = crypto.current_key_id()
    done = 0
    for doc_id in Document.objects.exclude(key_id=current).values_list("id", flat=True):
        with transaction.atomic():
            doc = Document.objects.select_for_update().get(pk=doc_id)
            with doc.blob.open("rb") as fh:
                data = crypto.decrypt(fh.read(), doc.sha256, doc.key_id)
            blob, key_id = crypto.encrypt(data, doc.sha256, current)
            old_name = doc.blob.name
            doc.blob.save(f"{doc.sha256}.bin", ContentFile(blob), save=False)
            doc.key_id = key_id
            doc.save(update_fields=["blob", "key_id"])
            if old_name and old_name != doc.blob.name:
                storage = doc.blob.storage
                transaction.on_commit(lambda n=old_name, st=storage: st.delete(n))  # type: ignore[misc]
            done += 1
    if done:
        with transaction.atomic():
            first = Document.objects.first()
            assert first is not None
            trail.record(
                E.DOCUMENTS_REENCRYPTED,
                actor=acting_user,
                subject=first,
                extra={"documents": done, "key": current},
            )
    return done


# ---------------------------------------------------------------- external confirmations

CONFIRMATION_DAYS = 14


@transaction.atomic
def create_confirmation(
    task: HandoverTask,
    *,
    acting_user: Any,
    recipient_name: str,
    statement: str,
    recipient_email: str = "",
    valid_days: int = CONFIRMATION_DAYS,
) -> tuple[ExternalConfirmation, str]:
    """A one-time link for an outside party; returns the raw token (only its hash is kept)."""
    task = lock_task(task, acting_user)
    if not (is_owner(acting_user, task) or manages_case(acting_user, task.case)):
        raise PermissionDenied(_("Only the owner of this item or HR can ask for a confirmation."))
    if task.evidence_kind != EvidenceKind.EXTERNAL:
        raise InvalidInput(_("This item does not ask for an external confirmation."))
    if task.state not in (TaskState.TODO, TaskState.IN_PROGRESS):
        raise Conflict(_("This item is waiting for acceptance or finished."))
    if not recipient_name.strip() or not statement.strip():
        raise InvalidInput(
            _("Name the recipient and what they confirm."),
            {
                **({"recipient_name": [_("Required.")]} if not recipient_name.strip() else {}),
                **({"statement": [_("Required.")]} if not statement.strip() else {}),
            },
        )
    if not 1 <= valid_days <= 60:
        raise InvalidInput.field("valid_days", _("A link is valid for 1 to 60 days."))
    raw = secrets.token_urlsafe(32)
    conf = ExternalConfirmation.objects.create(
        task=task,
        recipient_name=recipient_name.strip()[:200],
        recipient_email=recipient_email.strip(),
        statement=statement.strip(),
        token_hash=hash_token(raw),
        expires_at=timezone.now() + dt.timedelta(days=valid_days),
        created_by=acting_user,
    )
    trail.record_many(
        [
            trail.Change(
                E.CONFIRMATION_SENT,
                conf,
                extra={
                    "task": task.pk,
                    "recipient": conf.recipient_name,
                    "expires": conf.expires_at,
                },
                business_unit_id=task.case.business_unit_id,
                department_id=task.case.department_id,
            )
        ],
        actor=acting_user,
    )
    if task.state == TaskState.TODO:
        task_change(task, TaskState.IN_PROGRESS, E.TASK_STARTED, acting_user=acting_user)
    return conf, raw


def confirmation_link(raw: str) -> str:
    """The link (site-relative) an outside party opens. The one-time token rides in the URL
    fragment, which browsers never send: it stays out of web-server and proxy access logs, and
    the page posts it in a form body."""
    from django.urls import reverse

    return f"{reverse('public:confirm')}#{raw}"


def find_confirmation(raw: str) -> ExternalConfirmation:
    """The confirmation behind a link, or an error that explains itself."""
    conf = (
        ExternalConfirmation.objects.select_related("task", "task__case")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if conf is None:
        raise NotFound(_("This link is not valid. Check that you copied all of it."))
    if conf.responded_at is not None:
        raise Gone(
            _("This link was already used on %(when)s; it works only once.")
            % {"when": timezone.localtime(conf.responded_at).strftime("%Y-%m-%d %H:%M")}
        )
    if conf.task.case.state not in (CaseState.APPROVED, CaseState.HANDOVER) or conf.task.is_done:
        raise Gone(_("This request is no longer open; nothing more is needed from you."))
    if conf.expires_at <= timezone.now():
        raise Gone(
            _("This link expired on %(when)s. Ask your contact for a new one.")
            % {"when": timezone.localtime(conf.expires_at).strftime("%Y-%m-%d")}
        )
    return conf


@transaction.atomic
def answer_confirmation(
    raw: str, *, confirmed: bool, note: str = "", client_ip: str = ""
) -> ExternalConfirmation:
    """The outside party answers (no account): recorded once, with time and IP, audited."""
    conf = find_confirmation(raw)
    conf = ExternalConfirmation.objects.select_for_update().get(pk=conf.pk)
    if conf.responded_at is not None:
        raise Conflict(_("This link was already used; it works only once."))
    conf.responded_at = timezone.now()
    conf.confirmed = confirmed
    conf.response_note = note[:2000]
    conf.response_ip = client_ip[:45]
    conf.save(update_fields=["responded_at", "confirmed", "response_note", "response_ip"])
    case = conf.task.case
    trail.record_many(
        [
            trail.Change(
                E.CONFIRMATION_ANSWERED,
                conf,
                extra={"task": conf.task_id, "confirmed": confirmed, "note": note[:500]},
                business_unit_id=case.business_unit_id,
                department_id=case.department_id,
            )
        ],
        actor=None,
    )
    return conf
