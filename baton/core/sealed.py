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
