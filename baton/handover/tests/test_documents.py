"""The document library: encrypted at rest, versioned, limits, key rotation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from baton.audit.models import AuditEntry
from baton.core.errors import Conflict, InvalidInput
from baton.handover import actions, crypto, packs
from baton.handover.models import Document, ExitCase
from baton.org.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(users: dict[str, Any]) -> Any:
    packs.install(acting_user=users["admin"])
    leaver = Employee.objects.get(pk=users["employee"].employee_id)
    case = actions.open_case(
        leaver,
        acting_user=users["employee"],
        exit_type="resignation",
        last_working_day=dt.date(2026, 12, 31),
        submit=True,
    )
    case = actions.approve_case(case, acting_user=users["head.rd"])
    return case.tasks.get(key="work-files")


def _pdf(name: str = "a.pdf", body: bytes = b"%PDF-1.4 hello") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def test_same_name_is_a_new_version(work: Any, users: dict[str, Any]) -> None:
    case: ExitCase = work.case
    first = actions.upload_document(case, _pdf(), acting_user=users["employee"], task=work)
    second = actions.upload_document(
        case, _pdf(body=b"%PDF-1.4 v2"), acting_user=users["employee"], task=work
    )
    assert (first.version, second.version) == (1, 2) and second.previous_id == first.pk
    assert actions.read_document(first, acting_user=users["employee"]) == b"%PDF-1.4 hello"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload"), "type"),
        (SimpleUploadedFile("empty.pdf", b"", content_type="application/pdf"), "empty"),
    ],
)
def test_bad_files_are_refused(work: Any, users: dict[str, Any], upload: Any, message: str) -> None:
    before = (Document.objects.count(), AuditEntry.objects.count())
    with pytest.raises(InvalidInput) as err:
        actions.upload_document(work.case, upload, acting_user=users["employee"], task=work)
    assert message in json.dumps(err.value.field_errors)
    assert (Document.objects.count(), AuditEntry.objects.count()) == before


def test_size_limit(work: Any, users: dict[str, Any], settings: Any) -> None:
    settings.BATON_MAX_UPLOAD_BYTES = 10
    with pytest.raises(InvalidInput) as err:
        actions.upload_document(
            work.case,
            _pdf(body=b"%PDF-1.4 more than ten"),
            acting_user=users["employee"],
            task=work,
        )
    assert "MB" in json.dumps(err.value.field_errors, ensure_ascii=False)


def test_tampered_blob_is_refused(work: Any, users: dict[str, Any]) -> None:
    doc = actions.upload_document(work.case, _pdf(), acting_user=users["employee"], task=work)
    path = Path(doc.blob.path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Conflict):
        actions.read_document(doc, acting_user=users["employee"])


def test_keys_rotate_reencrypts(work: Any, users: dict[str, Any], settings: Any) -> None:
    doc = actions.upload_document(work.case, _pdf(), acting_user=users["employee"], task=work)
    assert doc.key_id == "dev"
    settings.BATON_FILE_KEYS = {"k2026": crypto.new_key()}
    settings.BATON_FILE_KEY_CURRENT = "k2026"
    # The old key must stay configured until rotation is done.
    with pytest.raises(Exception, match="no longer configured"):
        actions.read_document(doc, acting_user=users["employee"])
    settings.BATON_FILE_KEYS = {"k2026": settings.BATON_FILE_KEYS["k2026"], "dev": _dev_key()}
    # Sealed secrets and certificates made under the old key are rotated too.
    from baton.compliance import actions_certificates
    from baton.core.sealed import unseal
    from baton.integrations.actions import systems as actions_systems

    settings.BATON_FILE_KEY_CURRENT = "dev"
    system = actions_systems.create_system(
        {"name": "IdP", "kind": "scim", "base_url": "https://93.184.215.14/v2"},
        {"token": "t0ken-secret"},
        acting_user=users["admin"],
    )
    cert = actions_certificates.issue_certificate(work.case, acting_user=users["hrbp.cloud"])
    settings.BATON_FILE_KEY_CURRENT = "k2026"
    call_command("keys", "rotate")
    doc.refresh_from_db()
    assert doc.key_id == "k2026"
    assert actions.read_document(doc, acting_user=users["employee"]) == b"%PDF-1.4 hello"
    system.refresh_from_db()
    assert system.secrets_key_id == "k2026" and unseal(system) == {"token": "t0ken-secret"}
    cert.refresh_from_db()
    assert cert.key_id == "k2026"
    settings.BATON_FILE_KEYS = {"k2026": settings.BATON_FILE_KEYS["k2026"]}
    pdf = actions_certificates.read_certificate_pdf(cert, acting_user=users["hrbp.cloud"])
    assert pdf.startswith(b"%PDF")


def _dev_key() -> str:
    import base64
    import hashlib

    from django.conf import settings

    return base64.b64encode(
        hashlib.sha256(b"baton-file-key:" + settings.SECRET_KEY.encode()).digest()
    ).decode()
