"""CSV import jobs: an upload checked and stored, then imported by a worker batch by batch.

`outcome_import_create` checks the whole file (size, encoding, header, mapping) before
anything is stored and queues the job; a repeat with the same Idempotency-Key returns the
first job. `outcome_import_run` reads the file in batches; each batch commits together with
the job's progress and its rejected rows, on condition that `last_row` is still where this
worker began it, so a crash loses at most the batch in flight (never half of one), a
restarted worker resumes after the last committed row and a redelivered task stops at its
first batch. On PostgreSQL a batch is validated in SQL over its staged rows (`staging`), with
the rows SQL does not take plainly handed to `RowValidator`; elsewhere every row goes through
`RowValidator`. Both end in the same writer. The import's records are added to the rollups
once, in the transaction that finishes it (`rollups.import_rollups_add`): the dashboards show
a file whole or not at all. A thread reads the next batch while one is written
(`_read_ahead`), and batches go in without the writer's conflict check until one meets a key
already stored (`staged_records_count_write`).
"""

import codecs
import csv
import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cxculture.audit.services import audit_record
from cxculture.lib.csvio import (
    CSVFileError,
    check_size,
    normalise_header,
    read_csv,
    read_header,
)
from cxculture.lib.errors import DomainError
from cxculture.lib.idempotency import IdempotencyKeyReused

from ..models import OutcomeImport, OutcomeImportError
from ..presets import PRESETS
from .rollups import import_rollups_add
from .staging import plain_rows_resolve, raw_rows_stage
from .validation import (
    ALL_COLUMNS,
    MAPPING_TARGETS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    NewRecord,
    RowValidator,
    clean_slug,
    mapped_row,
    outcome_mapping_resolve,
)
from .writer import on_postgresql, records_stage, staged_records_count_write, staging_prepare


class FileTooLarge(DomainError):
    status = 413
    code = "file_too_large"


def import_storage() -> Storage:
    """Where uploads wait for a worker: settings.CXC_OUTCOME_IMPORT_DIR, or the default storage."""
    directory = settings.CXC_OUTCOME_IMPORT_DIR
    if directory:
        return FileSystemStorage(location=directory)
    return storages["default"]


def outcome_import_check_size(size: int | None) -> None:
    """Raise FileTooLarge (HTTP 413) for an upload over CXC_OUTCOME_IMPORT_MAX_BYTES."""
    try:
        check_size(size, settings.CXC_OUTCOME_IMPORT_MAX_BYTES)
    except CSVFileError as exc:
        raise FileTooLarge(exc.error.reason, field="file") from None


class _KeepOpen(io.RawIOBase):
    """A read-only view of a binary file that reading as text does not close."""

    def __init__(self, raw: IO[bytes]):
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _binary(handle: Any) -> IO[bytes]:
    """The buffered binary stream under a Django File (or the object itself)."""
    return io.BufferedReader(_KeepOpen(getattr(handle, "file", handle)), buffer_size=1 << 16)


@dataclass(frozen=True)
class _FileFacts:
    sha256: str
    lines: int
    header: list[str]


def _mapped_header(handle: IO[bytes]) -> list[str]:
    """The header of a file read through a mapping, checked to have at least one row."""
    try:
        header = read_header(_binary(handle))
        handle.seek(0)
        rows = read_csv(_binary(handle), required=(), optional=(), mapping={})
        try:
            next(rows)
        finally:
            rows.close()  # type: ignore[attr-defined]
    except CSVFileError as exc:
        raise DomainError(exc.error.reason, code=exc.code, field="file") from None
    handle.seek(0)
    return header


def _inspect_upload(handle: IO[bytes], *, mapped: bool = False) -> _FileFacts:
    """Check the whole file is UTF-8 and its header is right, before anything is stored.

    One streaming pass (about a second for 200 MB) so a Latin-1 file is refused up front, not
    half-imported; it also hashes the file (for Idempotency-Key) and counts lines (for progress).
    """
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    digest = hashlib.sha256()
    lines = 0
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            position = max(0, min(exc.start, len(chunk)))
            line = lines + chunk.count(b"\n", 0, position) + 1
            raise DomainError(
                f"The file is not UTF-8 encoded: line {line:,} holds a byte that is not valid "
                "UTF-8. Save it as 'CSV UTF-8' and upload it again.",
                code="not_utf8",
                field="file",
            ) from None
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise DomainError(
            "The file is not UTF-8 encoded: it ends in the middle of a character.",
            code="not_utf8",
            field="file",
        ) from None
    handle.seek(0)
    if mapped:
        return _FileFacts(sha256=digest.hexdigest(), lines=lines, header=_mapped_header(handle))
    rows = read_csv(_binary(handle), required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    try:
        next(rows)
    except CSVFileError as exc:
        raise DomainError(exc.error.reason, code=exc.code, field="file") from None
    finally:
        rows.close()  # type: ignore[attr-defined]  # a generator: release the file now
    handle.seek(0)
    text = io.TextIOWrapper(_binary(handle), encoding="utf-8-sig", newline="")
    header = [column.strip().lower() for column in next(csv.reader(text), [])]
    if "team_external_id" not in header and "agent" not in header:
        raise DomainError(
            "Wrong header: give a team_external_id column, an agent column, or both. "
            f"Expected: {', '.join(ALL_COLUMNS)}.",
            code="wrong_header",
            field="file",
        )
    handle.seek(0)
    return _FileFacts(sha256=digest.hexdigest(), lines=lines, header=header)


def outcome_import_create(
    *,
    file: IO[bytes],
    file_name: str,
    size: int,
    source: str = "",
    requested_by: User | None,
    idempotency_key: str = "",
    mapping: Mapping[str, str] | None = None,
    preset: str = "",
    metric: str = "",
) -> tuple[OutcomeImport, bool]:
    """Check an upload, store it and queue its import; return the job and whether it is new.

    The whole file is checked first (size, encoding, header): a file that fails is refused
    with the reason and nothing is stored. A repeat with the same Idempotency-Key returns the
    first job; the key reused for another file or source is refused (422). Not one transaction
    as a whole: the file is written to storage before the job row, and removed if that fails.
    """
    outcome_import_check_size(size)
    mapped = mapping is not None or bool(preset)
    if preset and preset in PRESETS and not source:
        source = PRESETS[preset].source
    source = clean_slug(source or "csv", field_name="source")
    idempotency_key = idempotency_key.strip()
    if len(idempotency_key) > 100:
        raise DomainError("An Idempotency-Key has at most 100 characters.", field="idempotency_key")
    facts = _inspect_upload(file, mapped=mapped)
    columns: dict[str, str] = {}
    if mapped:
        columns, chosen, metric = outcome_mapping_resolve(
            header=facts.header, mapping=mapping, preset=preset, metric=metric
        )
        preset = chosen.name if chosen else ""
        # Rejected rows and their download use the header as our reader sees it.
        facts = _FileFacts(
            sha256=facts.sha256,
            lines=facts.lines,
            header=[normalise_header(name) for name in facts.header],
        )
    else:
        preset = metric = ""

    def repeat() -> tuple[OutcomeImport, bool] | None:
        if not idempotency_key:
            return None
        first = OutcomeImport.objects.filter(
            requested_by=requested_by, idempotency_key=idempotency_key
        ).first()
        if first is None:
            return None
        if first.file_sha256 != facts.sha256 or first.source != source:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for another upload.", field="idempotency_key"
            )
        return first, False

    earlier = repeat()
    if earlier is not None:
        return earlier
    storage = import_storage()
    path = storage.save(
        f"outcome-imports/{timezone.now():%Y/%m/%d}/{uuid.uuid4().hex}.csv",
        file if isinstance(file, File) else File(file),
    )
    try:
        with transaction.atomic():
            job = OutcomeImport.objects.create(
                source=source,
                file_name=file_name[:255],
                file_path=path,
                file_size=size,
                file_sha256=facts.sha256,
                header=facts.header,
                mapping=columns,
                preset=preset,
                metric=metric,
                rows_estimated=max(0, facts.lines - 1),
                requested_by=requested_by,
                idempotency_key=idempotency_key,
            )
            audit_record(actor=requested_by, action="outcome_import_created", target=job)
            _enqueue_import(job.pk)
    except IntegrityError:
        storage.delete(path)
        earlier = repeat()  # the same key won a race with this request
        if earlier is None:
            raise
        return earlier
    except BaseException:
        storage.delete(path)
        raise
    job.refresh_from_db()  # without a broker the import has already run (on commit)
    return job, True


def _enqueue_import(import_id: int) -> None:
    from ..tasks import outcome_import_run_task

    transaction.on_commit(lambda: outcome_import_run_task.delay(import_id))


class LostClaim(Exception):
    """Another worker committed this batch first (a redelivered task): stop quietly."""


def _import_finish(import_id: int, status: str, message: str) -> OutcomeImport:
    """End a running import (done or failed); its records count in the rollups from now on."""
    now = timezone.now()
    with transaction.atomic():
        finished = OutcomeImport.objects.filter(
            pk=import_id, status=OutcomeImport.Status.RUNNING
        ).update(status=status, message=message, finished_at=now, updated_at=now)
        if finished:
            import_rollups_add(import_job_id=import_id)
    job = OutcomeImport.objects.get(pk=import_id)
    if job.is_finished and job.file_path:
        # The rejected rows are kept in the database; the upload itself is not needed any more.
        import_storage().delete(job.file_path)
    return job


def outcome_import_run(*, import_id: int) -> OutcomeImport | None:
    """Import a queued (or interrupted) job's file, batch by batch. Safe to run twice.

    Each batch commits together with the job's progress and its rejected rows, on condition
    that `last_row` is still where this worker began the batch: a second worker on the same
    job (a redelivered message) stops instead of counting a batch twice, and a worker that
    starts again after a crash skips every row up to `last_row`.
    """
    now = timezone.now()
    claimed = OutcomeImport.objects.filter(
        pk=import_id, status__in=[OutcomeImport.Status.QUEUED, OutcomeImport.Status.RUNNING]
    ).update(
        status=OutcomeImport.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", Value(now)),
        updated_at=now,
    )
    job = OutcomeImport.objects.filter(pk=import_id).first()
    if not claimed or job is None:
        return job
    if job.attempts > settings.CXC_OUTCOME_IMPORT_MAX_ATTEMPTS:
        return _import_finish(
            job.pk,
            OutcomeImport.Status.FAILED,
            f"Stopped after {job.attempts - 1} attempts that did not finish, at row "
            f"{job.last_row:,}. The rows before it were imported; the log holds the cause.",
        )
    try:
        handle = import_storage().open(job.file_path, "rb")
    except FileNotFoundError:
        return _import_finish(
            job.pk,
            OutcomeImport.Status.FAILED,
            "The uploaded file is no longer stored; upload it again (rows already imported "
            "count as duplicates).",
        )
    try:
        with handle:
            _import_rows(job, handle)
    except CSVFileError as exc:
        return _import_finish(
            job.pk,
            OutcomeImport.Status.FAILED,
            f"{exc.error.reason} The rows before it were imported.",
        )
    except LostClaim:
        return OutcomeImport.objects.get(pk=import_id)
    job.refresh_from_db()
    return _import_finish(
        job.pk,
        OutcomeImport.Status.DONE,
        f"{job.rows_accepted:,} of {job.rows_read:,} rows imported, "
        f"{job.duplicates:,} already there, {job.rows_rejected:,} rejected.",
    )


def _import_rows(job: OutcomeImport, handle: IO[bytes]) -> None:
    validator = RowValidator()
    batch_size = max(1, settings.CXC_OUTCOME_IMPORT_BATCH_SIZE)
    room = settings.CXC_OUTCOME_IMPORT_MAX_STORED_ERRORS - (
        OutcomeImportError.objects.filter(job=job).count()
    )
    last_row = job.last_row
    if job.mapping:
        rows = read_csv(
            _binary(handle),
            required=("value", "occurred_at"),
            optional=[t for t in MAPPING_TARGETS if t not in ("value", "occurred_at")],
            mapping=job.mapping,
        )
    else:
        rows = read_csv(_binary(handle), required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    writing = _Writing(expect_new=True)
    with closing(_read_ahead(_batches(rows, after=last_row, size=batch_size))) as batches:
        for batch in batches:
            room -= _import_batch(job, batch, last_row, validator, room, writing)
            last_row = batch[-1][0]


@dataclass
class _Writing:
    """What an import has learnt about its rows: until a batch meets a key already taken,
    the next batch is written as all new (`staged_records_count_write`'s `expect_new`)."""

    expect_new: bool


_Batch = list[tuple[int, dict[str, str]]]


def _batches(
    rows: Iterator[tuple[int, dict[str, str]]], *, after: int, size: int
) -> Iterator[_Batch]:
    """The rows numbered after `after`, `size` at a time."""
    batch: _Batch = []
    for row_number, row in rows:
        if row_number <= after:
            continue
        batch.append((row_number, row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_ahead(batches: Iterator[_Batch]) -> Generator[_Batch]:
    """`batches`, read one batch ahead by a thread of their own.

    Parsing CSV is the worker's own CPU work and writing a batch is mostly the database's:
    the thread reads the next batch while this one is written (psycopg lets go of the GIL
    while it waits). At most two batches are held at a time (the one written and the one
    read), so memory stays flat. An error while reading (a file that turns out not to be CSV)
    is raised here after the batches before it, as reading in line would. Closing the
    generator waits for the batch being read, then lets the thread go.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcome-import-reader") as pool:
        reading = pool.submit(next, batches, None)
        while (batch := reading.result()) is not None:
            reading = pool.submit(next, batches, None)
            yield batch


# (row number, source, the row in our terms, the row as read) of a row that may become a record.
_Candidate = tuple[int, str, dict[str, str], dict[str, str]]


@transaction.atomic
def _import_batch(
    job: OutcomeImport,
    batch: list[tuple[int, dict[str, str]]],
    from_row: int,
    validator: RowValidator,
    room: int,
    writing: _Writing | None = None,
) -> int:
    """Write one batch with its progress and rejected rows; return the errors stored."""
    if on_postgresql():
        # The batch commits together with the job's progress, so a commit lost in a database
        # crash only makes the resumed import redo this batch; the job's final commit flushes
        # the log for every batch before it. No need to wait for the flush at each batch.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    preset = PRESETS.get(job.preset) if job.preset else None
    rejected: list[tuple[int, dict[str, str], list[tuple[str, str]]]] = []
    candidates: list[_Candidate] = []
    for row_number, row in batch:
        if "__error__" in row:
            rejected.append((row_number, {}, [("", row["__error__"])]))
            continue
        mapped, source, problems = mapped_row(row, job=job, preset=preset)
        if problems:
            rejected.append((row_number, row, problems))
        else:
            candidates.append((row_number, source, mapped, row))
    staging_prepare()
    staged = 0
    to_check = candidates
    if on_postgresql():
        # PostgreSQL text cannot hold NUL: such rows go to RowValidator, which names them.
        plain = [c for c in candidates if "\x00" not in "".join(c[2].values())]
        emails = raw_rows_stage((number, source, mapped) for number, source, mapped, _ in plain)
        left = set(plain_rows_resolve(latest=validator.latest, emails=emails))
        staged = len(plain) - len(left)
        to_check = [c for c in candidates if c[0] in left or "\x00" in "".join(c[2].values())]
    validator.prefetch(mapped for _, _, mapped, _ in to_check)
    accepted: list[tuple[int, str, NewRecord]] = []
    for row_number, source, mapped, row in to_check:
        record, problems = validator.validate(mapped)
        if record is None:
            rejected.append((row_number, row, problems))
        else:
            accepted.append((row_number, source, record))
    staged += records_stage(accepted)
    inserted = 0
    if staged:
        inserted, taken = staged_records_count_write(
            import_job_id=job.pk, expect_new=writing is not None and writing.expect_new
        )
        if writing is not None and taken:
            writing.expect_new = False
    stored = _rejected_rows_store(job, rejected, room)
    moved = OutcomeImport.objects.filter(
        pk=job.pk, status=OutcomeImport.Status.RUNNING, last_row=from_row
    ).update(
        last_row=batch[-1][0],
        rows_read=F("rows_read") + len(batch),
        rows_accepted=F("rows_accepted") + inserted,
        duplicates=F("duplicates") + staged - inserted,
        rows_rejected=F("rows_rejected") + len(rejected),
        updated_at=timezone.now(),
    )
    if moved != 1:
        raise LostClaim
    return stored


def _rejected_rows_store(
    job: OutcomeImport,
    rejected: list[tuple[int, dict[str, str], list[tuple[str, str]]]],
    room: int,
) -> int:
    """Store the first `room` errors of these rows, in row order; return how many."""
    header_of = job.mapping or {}
    errors: list[OutcomeImportError] = []
    for row_number, row, problems in sorted(rejected, key=lambda item: item[0]):
        # PostgreSQL text cannot hold NUL: keep the row readable with a replacement character.
        # Columns and values are named as in the file.
        values = {
            normalise_header(header_of.get(key, key)): value.replace("\x00", "\ufffd")
            for key, value in row.items()
        }
        errors += [
            OutcomeImportError(
                job_id=job.pk,
                row=row_number,
                column=header_of.get(column, column)[:100],
                reason=reason[:500],
                values=values,
            )
            for column, reason in problems
        ]
    stored = errors[: max(0, room)]
    OutcomeImportError.objects.bulk_create(stored, batch_size=1000)
    return len(stored)


def outcome_imports_resume_stalled(*, now: dt.datetime | None = None) -> list[int]:
    """Hand imports that made no progress for a while to a worker again; return their ids.

    A worker that died (SIGKILL, out of memory) leaves its job `running` at its last committed
    batch; a lost message leaves it `queued`. Running the task again resumes it, and a job that
    is in fact still being worked on only sees its duplicate task stop at the first batch.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.CXC_OUTCOME_IMPORT_STALL_MINUTES)
    with transaction.atomic():
        ids = list(
            OutcomeImport.objects.filter(
                status__in=[OutcomeImport.Status.QUEUED, OutcomeImport.Status.RUNNING],
                updated_at__lt=cutoff,
            )
            .order_by("id")
            .values_list("id", flat=True)[:100]
        )
        OutcomeImport.objects.filter(pk__in=ids).update(updated_at=now)
        for import_id in ids:
            _enqueue_import(import_id)
    return ids
