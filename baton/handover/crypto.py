"""Encryption at rest for handover documents: AES-256-GCM, one random 96-bit nonce per blob.

Keys come from settings: BATON_FILE_KEYS = {"key-id": "<base64 of 32 bytes>", ...} and
BATON_FILE_KEY_CURRENT = "key-id" (new blobs). Old keys stay listed until `baton keys rotate`
has re-encrypted everything with the current one. The blob is nonce ‖ ciphertext ‖ tag, and the
plaintext's SHA-256 is bound in as associated data, so a blob cannot be swapped under another
document's record.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12


def _keys() -> dict[str, bytes]:
    configured: dict[str, str] = getattr(settings, "BATON_FILE_KEYS", {}) or {}
    return dict(_decode_keys(tuple(configured.items()), settings.SECRET_KEY))


@functools.lru_cache(maxsize=4)
def _decode_keys(
    configured: tuple[tuple[str, str], ...], secret_key: str
) -> tuple[tuple[str, bytes], ...]:
    """Decoded once per configuration (bulk work encrypts a value per row)."""
    keys = {}
    for key_id, encoded in configured:
        raw = base64.b64decode(encoded)
        if len(raw) != 32:
            raise ImproperlyConfigured(f"BATON_FILE_KEYS[{key_id!r}] is not 32 bytes (AES-256).")
        keys[key_id] = raw
    if not keys:
        # Development only (`baton check --deploy` refuses it): a key derived from SECRET_KEY.
        keys["dev"] = hashlib.sha256(b"baton-file-key:" + secret_key.encode()).digest()
    return tuple(keys.items())


def current_key_id() -> str:
    keys = _keys()
    current = getattr(settings, "BATON_FILE_KEY_CURRENT", "") or next(iter(keys))
    if current not in keys:
        raise ImproperlyConfigured(f"BATON_FILE_KEY_CURRENT={current!r} is not in BATON_FILE_KEYS.")
    return current


def encrypt(plaintext: bytes, sha256_hex: str, key_id: str | None = None) -> tuple[bytes, str]:
    key_id = key_id or current_key_id()
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + AESGCM(_keys()[key_id]).encrypt(nonce, plaintext, sha256_hex.encode())
    return blob, key_id


def decrypt(blob: bytes, sha256_hex: str, key_id: str) -> bytes:
    keys = _keys()
    if key_id not in keys:
        raise ImproperlyConfigured(f"The key {key_id!r} for this document is no longer configured.")
    nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    return AESGCM(keys[key_id]).decrypt(nonce, body, sha256_hex.encode())


def new_key() -> str:
    """A fresh key, base64-encoded, for BATON_FILE_KEYS."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
