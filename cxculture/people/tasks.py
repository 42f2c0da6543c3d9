"""Celery adapters for directory work: take ids, call a service."""

from datetime import datetime

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def directory_sync_apply_task(sync_id: int) -> None:
    # Safe to run twice: the service applies only a sync that is still pending.
    services.directory_sync_apply(sync_id=sync_id)


@shared_task
def directory_syncs_expire_task() -> None:
    services.directory_syncs_expire()


@shared_task(acks_late=True)
def employee_invitations_send_task(employee_ids: list[int], requested_at: str) -> None:
    # Safe to run twice: each person is claimed for this request before their e-mail goes.
    services.employee_invitations_send(
        employee_ids=employee_ids, requested_at=datetime.fromisoformat(requested_at)
    )
