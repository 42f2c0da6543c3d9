"""JSON batches (POST /api/v1/outcomes/ and the signed webhook): validated and stored at once.

Each record is checked by the same `RowValidator` as a CSV row and written by the same writer,
in one transaction; bad records never block good ones, each gets its own status.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from cxculture.lib.errors import ConflictError, DomainError

from ..models import OutcomeSource, OutcomeWebhookEvent
from .validation import ALL_COLUMNS, NewRecord, RowValidator
from .writer import records_write


@dataclass
class BatchResult:
    """The answer to a JSON batch: totals, and per record its status and any errors."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)


def _as_text_row(record: object) -> tuple[dict[str, str], list[tuple[str, str]]]:
    if not isinstance(record, Mapping):
        return {}, [("", "Each record is a JSON object.")]
    row: dict[str, str] = {}
    errors: list[tuple[str, str]] = []
    for key, value in record.items():
        name = str(key)
        if name not in ALL_COLUMNS:
            errors.append((name, "Unknown field."))
        elif value is None:
            row[name] = ""
        elif isinstance(value, bool):
            row[name] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            row[name] = str(value).strip()
        else:
            errors.append((name, "Must be a string or a number."))
    return row, errors


def outcome_records_ingest(*, source: OutcomeSource, records: Sequence[object]) -> BatchResult:
    """Validate and store a batch sent by `source`, in one transaction.

    Bad records never block good ones: each gets its own status. Sending the same batch again
    changes nothing (every record is a duplicate).
    """
    limit = settings.CXC_OUTCOME_BATCH_MAX_RECORDS
    if not records:
        raise DomainError("Send at least one record.", field="records")
    if len(records) > limit:
        raise DomainError(
            f"At most {limit:,} records per request; this one has {len(records):,}.",
            field="records",
        )
    if not source.is_active:
        raise DomainError("This source is switched off.", code="source_inactive")
    validator = RowValidator()
    rows = [_as_text_row(record) for record in records]
    validator.prefetch(row for row, errors in rows if not errors)
    result = BatchResult()
    valid: list[tuple[int, NewRecord]] = []
    for index, (row, shape_errors) in enumerate(rows):
        record, errors = (None, shape_errors) if shape_errors else validator.validate(row)
        if record is None:
            result.results.append(
                {
                    "index": index,
                    "status": "rejected",
                    "external_id": row.get("external_id", ""),
                    "errors": [{"field": column, "reason": reason} for column, reason in errors],
                }
            )
            continue
        valid.append((index, record))
        result.results.append({"index": index, "status": "", "external_id": record.external_id})
    written: list[tuple[str, str]] = []
    if valid:
        with transaction.atomic():
            written = records_write(
                [(index, source.slug, record) for index, record in valid], import_job_id=None
            )
    inserted = {external_id for _, external_id in written}
    seen: set[str] = set()
    for index, record in valid:
        is_new = record.external_id in inserted and record.external_id not in seen
        seen.add(record.external_id)
        result.results[index]["status"] = "accepted" if is_new else "duplicate"
        result.results[index]["errors"] = []
    result.accepted = sum(1 for item in result.results if item["status"] == "accepted")
    result.duplicates = sum(1 for item in result.results if item["status"] == "duplicate")
    result.rejected = len(records) - result.accepted - result.duplicates
    return result


class EventIdReused(ConflictError):
    code = "event_id_reused"


def outcome_webhook_receive(
    *, source: OutcomeSource, event_id: str, body_sha256: str, records: Sequence[object]
) -> BatchResult:
    """`outcome_records_ingest` once per (source, event id): a redelivery gets the first answer,
    another body under a used event id is refused (EventIdReused, 409).

    The event row (with the SHA-256 of the raw body) is inserted first, in the same transaction
    as the records: a concurrent delivery of the same event waits on the unique index until the
    first commits, then finds its row and answers with the stored result. If the first fails,
    nothing is stored and a retry is handled afresh.
    """
    event_id = event_id.strip()
    if not event_id or len(event_id) > 200:
        raise DomainError("An event id has 1 to 200 characters.", field="X-CXC-Event-Id")
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = OutcomeWebhookEvent.objects.create(
                    source=source, event_id=event_id, body_sha256=body_sha256
                )
        except IntegrityError:
            event = None
        if event is None:
            first = OutcomeWebhookEvent.objects.get(source=source, event_id=event_id)
            # Events stored before bodies were hashed have no hash: answered as redeliveries.
            if first.body_sha256 and first.body_sha256 != body_sha256:
                raise EventIdReused(
                    f"Event {event_id!r} was already received with another body: "
                    "send new records under a new event id."
                )
            return BatchResult(**first.response)
        result = outcome_records_ingest(source=source, records=records)
        event.response = asdict(result)
        event.save(update_fields=["response"])
        return result
