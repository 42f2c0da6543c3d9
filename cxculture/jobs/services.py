"""Retrying dead-lettered tasks."""

from celery import current_app
from celery.utils import uuid
from django.db import transaction
from django.utils import timezone

from .models import DeadLetter


@transaction.atomic
def dead_letter_retry(*, dead_letter: DeadLetter) -> str:
    """Re-enqueue the task with its arguments (a new task id, so a fresh attempt count) and mark
    the dead letter as retried. Returns the new task id."""
    task_id = uuid()
    DeadLetter.objects.filter(pk=dead_letter.pk).update(
        retried_at=timezone.now(), retried_task_id=task_id
    )
    name, args, kwargs = dead_letter.task_name, dead_letter.args, dead_letter.kwargs
    transaction.on_commit(lambda: _enqueue(name, args, kwargs, task_id))
    return task_id


def _enqueue(name: str, args: list, kwargs: dict, task_id: str) -> None:
    task = current_app.tasks.get(name)
    if task is None:  # not imported here: send by name
        current_app.send_task(name, args=args, kwargs=kwargs, task_id=task_id)
    else:
        task.apply_async(args=tuple(args), kwargs=kwargs, task_id=task_id)
