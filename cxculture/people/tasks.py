"""Celery adapters for directory work: take ids, call a service."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def directory_sync_apply_task(sync_id: int) -> None:
    # Safe to run twice: the service applies only a sync that is still pending.
    services.directory_sync_apply(sync_id=sync_id)


@shared_task
def directory_syncs_expire_task() -> None:
    services.directory_syncs_expire()
