"""Secrets stored on a row (SMTP passwords, provider keys, webhook signing secrets): a JSON
object encrypted with AES-256-GCM under the document keys (`baton keys`), bound to the row's
model and id so a blob cannot be moved to another row. Rows keep `secrets_blob` and
`secrets_key_id`; pages and the API never show a secret back."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from baton.handover import crypto


def _binding(obj: Any) -> str:
    return hashlib.sha256(f"baton:{obj._meta.label_lower}:{obj.pk}".encode()).hexdigest()


def seal(obj: Any, secrets: dict[str, str]) -> None:
    """Encrypt `secrets` onto the (saved) row; the caller saves the two fields."""
    plain = json.dumps(secrets, sort_keys=True).encode()
    obj.secrets_blob, obj.secrets_key_id = crypto.encrypt(plain, _binding(obj))


def unseal(obj: Any) -> dict[str, str]:
    if not obj.secrets_blob:
        return {}
    plain = crypto.decrypt(bytes(obj.secrets_blob), _binding(obj), obj.secrets_key_id)
    data: dict[str, str] = json.loads(plain)
    return data


def reseal_all(model: Any, event: Any) -> int:
    """Re-encrypt the sealed secrets of every row of `model` not under the current key (part
    of `baton keys rotate`), one transaction and one audit entry (`event`) per row."""
    from django.db import transaction

    from baton.audit import trail

    current = crypto.current_key_id()
    done = 0
    stale = model.objects.exclude(secrets_key_id=current).exclude(secrets_blob=b"")
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            row = model.objects.select_for_update().get(pk=pk)
            seal(row, unseal(row))
            row.save(update_fields=["secrets_blob", "secrets_key_id"])
            trail.record(event, actor=None, subject=row, extra={"key": current})
            done += 1
    return done
