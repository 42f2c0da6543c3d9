"""`Idempotency-Key` for creates that move money-like things (STYLE.md, "Writes, locks and tasks").

A client sends `Idempotency-Key: <any string up to 255 characters>` with a POST. The first
request with a key runs and its answer (status and body) is stored with a fingerprint of the
request; a retry with the same key and the same request returns the stored answer without
running again; the same key with a different request is refused with 422.

Exactly once, under concurrency too: the key row is inserted *first*, in the same database
transaction as the work, and the answer is written to it before commit. Two concurrent requests
with one key race on the unique (user, key) index: the second waits for the first to commit,
gets an IntegrityError, rolls back everything it did and replays the stored answer. A request
that fails (a 4xx raised by a service, a crash) rolls its key back with its work, so a fixed
retry may reuse the key.

`lib` owns no tables: each app that needs keys subclasses `AbstractIdempotencyKey` (recognition
does, as `recognition.models.IdempotencyKey`) and passes its model to `idempotent()`.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .errors import DomainError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(DomainError):
    """The key was used before for a different request."""

    status = 422
    code = "idempotency_key_reused"


class AbstractIdempotencyKey(models.Model):
    """One key a user sent, the request it came with and the answer it got."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status})"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False


def fingerprint(*parts: Any) -> str:
    """A stable hash of a request: method, path and body (keys sorted)."""
    canonical = json.dumps(parts, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise DomainError(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            code="invalid_idempotency_key",
        )
    return key


def _replay(model: type[AbstractIdempotencyKey], user_id: int, key: str, print_: str):
    stored = model._default_manager.filter(user_id=user_id, key=key).first()
    if stored is None:
        return None
    if stored.fingerprint != print_:
        raise IdempotencyKeyReused(
            f"This {HEADER} was already used for a different request; use a new key."
        )
    return Answer(status=stored.response_status or 200, body=stored.response_body, replayed=True)


def idempotent(
    *,
    model: type[AbstractIdempotencyKey],
    user_id: int,
    key: str | None,
    request_fingerprint: str,
    handler: Callable[[], Answer],
) -> Answer:
    """Run `handler` once per (user, key); without a key, simply run it.

    `handler` performs the work (services are atomic; here they nest in this transaction) and
    returns the answer to store. Domain errors raised by it propagate and store nothing.
    """
    if key is None:
        return handler()
    key = check_key(key)
    stored = _replay(model, user_id, key, request_fingerprint)
    if stored is not None:
        return stored
    try:
        with transaction.atomic():
            record = model._default_manager.create(
                user_id=user_id, key=key, fingerprint=request_fingerprint
            )
            answer = handler()
            if not 200 <= answer.status < 300:
                # Only successes are remembered; roll back whatever a non-raising failure did.
                transaction.set_rollback(True)
                return answer
            record.response_status = answer.status
            record.response_body = json.loads(json.dumps(answer.body, cls=DjangoJSONEncoder))
            record.save(update_fields=["response_status", "response_body"])
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        stored = _replay(model, user_id, key, request_fingerprint)
        if stored is None:
            raise
        return stored
    return Answer(status=answer.status, body=record.response_body)


def purge(model: type[AbstractIdempotencyKey], *, older_than_hours: int) -> int:
    cutoff = timezone.now() - dt.timedelta(hours=older_than_hours)
    deleted, _ = model._default_manager.filter(created_at__lt=cutoff).delete()
    return deleted
