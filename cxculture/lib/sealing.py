"""Sealed boxes: data the database keeps but cannot read on its own.

A survey answer is accepted in the same transaction that marks the invitation answered (so a
submission is never lost, nor counted twice), and PostgreSQL stamps both rows with that
transaction's id (`xmin`): an exact join for anyone holding the database. So the answer waits
in a sealed box — AES-256-GCM under a key that lives in the settings, not in the database —
until the run closes, when all of the run's answers are opened and stored at once, in random
order, in one transaction of their own (`surveys.services.survey_run_close`).

The box carries no time (unlike Fernet tokens, which start with their creation time) and is
padded to a multiple of `PAD_TO` bytes, so neither its age nor the length of a comment tells
one box from another. The key is `CXC_RESPONSE_SEAL_KEY` when set, else derived from
`SECRET_KEY`; boxes sealed under a key in `SECRET_KEY_FALLBACKS` still open after a rotation.
"""

import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PAD_TO = 2048
NONCE_BYTES = 12
_CONTEXT = b"cxculture sealed survey responses v1"


class SealBroken(Exception):
    """A box that no configured key opens (a lost key, or a box that was tampered with)."""


def _key(secret: str) -> bytes:
    return hashlib.sha256(_CONTEXT + b"\0" + secret.encode()).digest()


def _keys() -> list[bytes]:
    explicit = getattr(settings, "CXC_RESPONSE_SEAL_KEY", "")
    if explicit:
        return [_key(explicit)]
    return [_key(secret) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def seal(payload: Any) -> bytes:
    """JSON-encode `payload`, pad it and encrypt it under the current key."""
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    length = len(raw).to_bytes(4, "big")
    body = length + raw
    body += b"\0" * (-len(body) % PAD_TO)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_keys()[0]).encrypt(nonce, body, _CONTEXT)


def unseal(box: bytes) -> Any:
    """The payload `seal` was given, or SealBroken."""
    box = bytes(box)
    nonce, ciphertext = box[:NONCE_BYTES], box[NONCE_BYTES:]
    for key in _keys():
        try:
            body = AESGCM(key).decrypt(nonce, ciphertext, _CONTEXT)
        except InvalidTag:
            continue
        length = int.from_bytes(body[:4], "big")
        return json.loads(body[4 : 4 + length])
    raise SealBroken("No configured key opens this sealed box.")
