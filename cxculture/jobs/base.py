"""The base class of every Celery task (set as the app's `task_cls` in cxculture/celery.py).

Each start of a task message is counted by task id in the database before the task runs, so
retries *and* redeliveries (acks_late + task_reject_on_worker_lost redeliver the message of a
worker that died) are counted. A failing task is retried with backoff until it has run
CXC_TASK_MAX_ATTEMPTS times; then it is recorded in the DeadLetter table and not retried again.
A message delivered beyond that count (its worker kept dying) is dead-lettered without running.
"""

import logging
from typing import Any

from celery import Task
from celery.exceptions import Ignore, Reject, Retry
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)

# Retries wait 5 s, 10 s, 20 s... capped far below the broker's visibility timeout.
RETRY_BACKOFF_SECONDS = 5
RETRY_BACKOFF_MAX_SECONDS = 300


def max_attempts() -> int:
    return max(1, int(getattr(settings, "CXC_TASK_MAX_ATTEMPTS", 5)))


class DeadLetterTask(Task):
    abstract = True
    # The first retry's delay in seconds; doubled on each retry up to RETRY_BACKOFF_MAX_SECONDS.
    dead_letter_backoff: int = RETRY_BACKOFF_SECONDS

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = self.request.id
        if not task_id:  # called directly as a function, not through Celery
            return super().__call__(*args, **kwargs)
        eager_retries = 0
        while True:
            counted = self._count_attempt(task_id)
            # Without the database (it is down), count the broker's retries instead.
            attempts = counted if counted is not None else self.request.retries + eager_retries + 1
            if attempts > max_attempts():
                self._dead_letter(task_id, args, kwargs, attempts, "Redelivered beyond the limit.")
                return None
            try:
                result = self.run(*args, **kwargs)
            except (Retry, Ignore, Reject):
                raise
            except Exception as exc:
                if attempts >= max_attempts():
                    self._dead_letter(task_id, args, kwargs, attempts, repr(exc))
                    raise
                self._note_failure(task_id)
                if self.request.is_eager:
                    eager_retries += 1
                    continue  # no broker (eager mode, which propagates Retry): retry in place
                countdown = min(
                    self.dead_letter_backoff * 2 ** (attempts - 1), RETRY_BACKOFF_MAX_SECONDS
                )
                raise self.retry(exc=exc, countdown=countdown, max_retries=max_attempts()) from exc
            self._forget(task_id)
            return result

    # The bookkeeping never hides the task's own outcome: a database error here is logged.

    def _count_attempt(self, task_id: str) -> int | None:
        from .models import TaskAttempt

        try:
            with transaction.atomic():
                row, created = TaskAttempt.objects.get_or_create(
                    task_id=task_id, defaults={"task_name": self.name, "attempts": 1}
                )
                if not created:
                    TaskAttempt.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
                    row.refresh_from_db(fields=["attempts"])
            return row.attempts
        except DatabaseError:
            logger.exception("Could not count an attempt of %s [%s]", self.name, task_id)
            return None

    def _note_failure(self, task_id: str) -> None:
        from .models import TaskAttempt

        try:
            with transaction.atomic():
                TaskAttempt.objects.filter(task_id=task_id, first_failure_at=None).update(
                    first_failure_at=timezone.now()
                )
        except DatabaseError:
            logger.exception("Could not note a failure of %s [%s]", self.name, task_id)

    def _forget(self, task_id: str) -> None:
        from .models import TaskAttempt

        try:
            with transaction.atomic():
                TaskAttempt.objects.filter(task_id=task_id).delete()
        except DatabaseError:
            logger.exception("Could not clear the attempts of %s [%s]", self.name, task_id)

    def _dead_letter(
        self, task_id: str, args: tuple, kwargs: dict, attempts: int, exception: str
    ) -> None:
        from .models import DeadLetter, TaskAttempt

        now = timezone.now()
        logger.error(
            "Task %s [%s] gave up after %d attempts: %s", self.name, task_id, attempts, exception
        )
        try:
            with transaction.atomic():
                first = (
                    TaskAttempt.objects.filter(task_id=task_id)
                    .values_list("first_failure_at", flat=True)
                    .first()
                )
                DeadLetter.objects.create(
                    task_id=task_id,
                    task_name=self.name,
                    args=list(args),
                    kwargs=dict(kwargs),
                    exception=exception[:10_000],
                    attempts=attempts,
                    first_failure_at=first or now,
                    last_failure_at=now,
                )
                TaskAttempt.objects.filter(task_id=task_id).delete()
        except DatabaseError:
            logger.exception("Could not dead-letter %s [%s]", self.name, task_id)
