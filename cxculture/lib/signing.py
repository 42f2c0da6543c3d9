"""Signed webhooks: HMAC-SHA256 over "<timestamp>.<raw body>" (the Stripe/Slack scheme).

A sender with a signing secret sends `X-CXC-Timestamp: <unix seconds>` and
`X-CXC-Signature: sha256=<hex digest>`. The timestamp is signed with the body, so a captured
request cannot be replayed after the tolerance; the compare is constant-time.
"""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-CXC-Timestamp"
SIGNATURE_HEADER = "X-CXC-Signature"
EVENT_ID_HEADER = "X-CXC-Event-Id"
SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """Why a signed request is refused (the message is safe to show the sender)."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-CXC-Signature` value for `body` sent at `timestamp`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers a sender adds (used by tests and by senders written in Python)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body)}


def verify(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless `signature` signs `body` at a `timestamp` within tolerance."""
    if not timestamp or not signature:
        raise SignatureError(f"Send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers.")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureError(f"{TIMESTAMP_HEADER} must be a Unix time in seconds.")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise SignatureError("The timestamp is too old or in the future.")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise SignatureError("The signature does not match.")
