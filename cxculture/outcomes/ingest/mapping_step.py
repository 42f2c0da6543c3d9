"""The mapping step of an outcome import in the pages: hold the upload, show its columns, then
import it through `jobs.outcome_import_create` with the mapping HR confirmed. It only calls
the jobs' public functions, so the pipeline behind them can change without this step.
"""

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import IO

from django.contrib.auth.models import User
from django.core.files import File
from django.utils import timezone

from cxculture.lib.csvio import CSVFileError, normalise_header, read_preview
from cxculture.lib.errors import DomainError

from ..models import OutcomeImport
from ..presets import PRESETS
from . import jobs

HELD_PREFIX = "outcome-imports/held/"
# An upload nobody mapped within a day is dropped (its session may be gone).
HELD_FOR = dt.timedelta(days=1)

# Headers that helpdesk and survey exports commonly use for each field, for pre-filling the
# selects (compared after normalise_header, with spaces, dots and dashes as underscores).
COLUMN_GUESSES: dict[str, tuple[str, ...]] = {
    "metric": ("metric", "metric_code"),
    "value": ("value", "score", "rating", "csat", "csat_score", "nps", "nps_score"),
    "occurred_at": ("occurred_at", "created_at", "rated_at", "date", "timestamp", "time"),
    "team_external_id": ("team_external_id", "team_id", "team", "group_id", "group"),
    "agent": ("agent", "agent_email", "assignee_email", "agent_id", "assignee"),
    "customer_ref": ("customer_ref", "customer_id", "requester_id", "user_id", "customer"),
    "interaction_ref": ("interaction_ref", "ticket_id", "ticket", "conversation_id", "case_id"),
    "external_id": ("external_id", "id", "rating_id", "response_id", "survey_response_id"),
    "source": ("source",),
}


def _key(name: str) -> str:
    return "_".join(normalise_header(name).replace("-", " ").replace(".", " ").split())


def outcome_header_is_foreign(*, file: IO[bytes]) -> bool:
    """True when the file is not in our column names (it has no `value` column), so it needs
    the mapping step. A file whose header cannot be read is not foreign: the import says why."""
    file.seek(0)
    try:
        header, _ = read_preview(getattr(file, "file", file))
    except CSVFileError:
        return False
    finally:
        file.seek(0)
    return "value" not in {normalise_header(name) for name in header}


def outcome_upload_hold(*, file: IO[bytes], size: int | None) -> tuple[str, list[str]]:
    """Store an upload until HR has mapped its columns; return (path, the file's headers).

    Only the size and the header are checked here; the whole file is checked again when it
    is imported, as any upload is.
    """
    jobs.outcome_import_check_size(size)
    file.seek(0)
    try:
        # The stream under a Django File: reading it as text must not close the upload.
        header, _ = read_preview(getattr(file, "file", file))
    except CSVFileError as exc:
        raise DomainError(exc.error.reason, code=exc.code, field="file") from None
    file.seek(0)
    outcome_held_uploads_expire()
    storage = jobs.import_storage()
    path = storage.save(
        f"{HELD_PREFIX}{uuid.uuid4().hex}.csv", file if isinstance(file, File) else File(file)
    )
    return path, header


def outcome_held_uploads_expire(*, now: dt.datetime | None = None) -> int:
    """Delete held uploads older than HELD_FOR; return how many went. Run at each new hold,
    so abandoned mapping steps do not pile up without a scheduled task of their own."""
    storage = jobs.import_storage()
    if not storage.exists(HELD_PREFIX.rstrip("/")):
        return 0
    cutoff = (now or timezone.now()) - HELD_FOR
    removed = 0
    for name in storage.listdir(HELD_PREFIX.rstrip("/"))[1]:
        path = HELD_PREFIX + name
        if storage.get_modified_time(path) < cutoff:
            storage.delete(path)
            removed += 1
    return removed


def outcome_upload_preview(*, path: str) -> tuple[list[str], list[str]]:
    """(headers, first row) of a held upload; FileNotFoundError once it has expired."""
    with jobs.import_storage().open(path, "rb") as handle:
        return read_preview(getattr(handle, "file", handle))


def outcome_upload_discard(*, path: str) -> None:
    if path.startswith(HELD_PREFIX):
        jobs.import_storage().delete(path)


def outcome_mapping_initial(
    *, header: Sequence[str], saved: OutcomeImport | None, preset: str
) -> tuple[dict[str, str], str]:
    """(field -> header, metric for every row) to pre-fill the mapping step: the mapping the
    last import from this source used, then the preset's columns, then common names. Only
    headers of this file are offered, each for one field."""
    present = {normalise_header(name): name for name in header if name.strip()}
    chosen: dict[str, str] = {}
    used: set[str] = set()

    def take(target: str, column: str) -> None:
        name = present.get(normalise_header(column))
        if target not in chosen and name is not None and normalise_header(name) not in used:
            chosen[target] = name
            used.add(normalise_header(name))

    metric = ""
    if saved is not None:
        for target, column in saved.mapping.items():
            take(target, column)
        metric = saved.metric
    chosen_preset = PRESETS.get(preset)
    if chosen_preset is not None:
        for target, column in chosen_preset.columns.items():
            take(target, column)
        metric = metric or chosen_preset.metric
    by_key = {_key(name): name for name in reversed(list(present.values()))}
    for target, names in COLUMN_GUESSES.items():
        for name in names:
            if name in by_key:
                take(target, by_key[name])
    if "metric" in chosen:
        metric = ""
    return chosen, metric


def outcome_import_from_held(
    *,
    path: str,
    file_name: str,
    source: str,
    preset: str,
    metric: str,
    mapping: Mapping[str, str],
    requested_by: User,
) -> OutcomeImport:
    """Import a held upload with the mapping HR confirmed; the held copy goes once imported."""
    storage = jobs.import_storage()
    with storage.open(path, "rb") as handle:
        job, _ = jobs.outcome_import_create(
            file=handle,
            file_name=file_name,
            size=storage.size(path),
            source=source,
            requested_by=requested_by,
            mapping=mapping,
            preset=preset,
            metric=metric,
        )
    outcome_upload_discard(path=path)
    return job
