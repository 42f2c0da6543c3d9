"""Celery adapters for recognition: take ids, call a service or the notification helpers."""

from celery import shared_task

from . import ledger, notifications
from .models import IdempotencyKey


@shared_task(acks_late=True)
def recognition_notify_task(recognition_id: int) -> None:
    # Safe to run twice: the notification claims the recognition with a conditional update.
    notifications.recognition_email_receivers(recognition_id=recognition_id)


@shared_task(acks_late=True)
def recognition_announce_task(recognition_id: int) -> None:
    notifications.recognition_post_to_webhook(recognition_id=recognition_id)


@shared_task(acks_late=True)
def recognition_given_task(recognition_id: int) -> None:
    """What follows a give. Gives no longer publish it (the beat's sweep below notifies them);
    kept for messages published before that, which a worker may still receive."""
    notifications.recognition_given_notify(recognition_id=recognition_id)


@shared_task(acks_late=True)
def recognitions_notify_pending_task() -> int:
    # Sweeps overlap safely: every step claims its recognition with a conditional update.
    from django.conf import settings

    return notifications.recognitions_notify_pending(batch=settings.CXC_RECOGNITION_NOTIFY_BATCH)


@shared_task(acks_late=True)
def redemption_update_notify_task(redemption_id: int) -> None:
    notifications.redemption_email_update(redemption_id=redemption_id)


@shared_task(acks_late=True)
def exception_reviewed_notify_task(exception_id: int) -> None:
    notifications.exception_email_review(exception_id=exception_id)


@shared_task(acks_late=True)
def points_monthly_reset_task() -> None:
    # Idempotent: accounts already reset for this month are skipped.
    ledger.allowances_reset()
    ledger.budgets_top_up()


@shared_task
def idempotency_keys_purge_task() -> None:
    from django.conf import settings

    from cxculture.lib.idempotency import purge

    purge(IdempotencyKey, older_than_hours=settings.CXC_IDEMPOTENCY_KEY_TTL_HOURS)


@shared_task(acks_late=True)
def recognition_rollups_rebuild_task() -> None:
    # Idempotent: recounts every day from the raw rows (and follows teams moved in the tree).
    from . import rollups

    rollups.rollups_rebuild_all()
