"""Celery adapters for outcome ingestion: take ids, call a service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .ingest import jobs, rollups


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def outcome_import_run_task(import_id: int) -> None:
    # Safe to run twice: the service resumes after the last committed batch, and a second
    # worker on the same job stops at its first batch. A lost database connection is retried
    # with backoff; anything else leaves the job resumable by the stalled-import sweep.
    jobs.outcome_import_run(import_id=import_id)


@shared_task
def outcome_imports_resume_stalled_task() -> None:
    jobs.outcome_imports_resume_stalled()


@shared_task
def outcome_rollups_refresh_task() -> None:
    rollups.rollups_refresh_recent()
