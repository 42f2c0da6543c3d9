"""Signed webhooks: HMAC-SHA256 over "<timestamp>.<event id>.<raw body>" (the Stripe/Slack
scheme, with the delivery id signed too).

A sender with a signing secret sends `X-CXC-Timestamp: <unix seconds>`, optionally
`X-CXC-Event-Id: <its delivery id>`, and `X-CXC-Signature: sha256=<hex digest>`, the digest
over the timestamp, the event id (empty when none is sent) and the raw body, joined by dots.
The timestamp is signed, so a captured request cannot be replayed after the tolerance; the
event id is signed, so nobody can take a signed body and replay it under a fresh event id or
attach another event's id to it; the compare is constant-time.
"""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-CXC-Timestamp"
SIGNATURE_HEADER = "X-CXC-Signature"
EVENT_ID_HEADER = "X-CXC-Event-Id"
SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300
# Unix seconds have 10 digits until the year 2286; a longer value is not a time (and Python
# refuses to convert an integer of more than 4,300 digits at all).
MAX_TIMESTAMP_DIGITS = 12


class SignatureError(ValueError):
    """Why a signed request is refused (the message is safe to show the sender)."""


def _header_bytes(value: str) -> bytes:
    # WSGI hands header values over decoded as ISO-8859-1: this gives back the bytes sent.
    return value.encode("latin-1", "replace")


def sign(secret: str, timestamp: int | str, body: bytes, event_id: str = "") -> str:
    """The `X-CXC-Signature` value for `body` sent at `timestamp` as event `event_id`."""
    message = b".".join([str(timestamp).encode("ascii"), _header_bytes(event_id), body])
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: bytes, *, timestamp: int | None = None, event_id: str | None = None
) -> dict[str, str]:
    """Headers a sender adds (used by tests and by senders written in Python)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {TIMESTAMP_HEADER: str(stamp)}
    if event_id is not None:
        headers[EVENT_ID_HEADER] = event_id
    headers[SIGNATURE_HEADER] = sign(secret, stamp, body, event_id or "")
    return headers


def verify(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    event_id: str | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless `signature` signs `body` and `event_id` (None: no event id
    was sent) at a `timestamp` within tolerance."""
    if not timestamp or not signature:
        raise SignatureError(f"Send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers.")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > MAX_TIMESTAMP_DIGITS:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be a Unix time in seconds.")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise SignatureError("The timestamp is too old or in the future.")
    expected = sign(secret, timestamp, body, event_id or "")
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise SignatureError("The signature does not match.")
