"""Attempt counters and the dead-letter table for Celery tasks (see base.py)."""

from django.db import models


class TaskAttempt(models.Model):
    """How many times one task message (by task id) has started. Counted before the task runs,
    so a redelivery after a worker died counts too; deleted when the task succeeds."""

    task_id = models.CharField(max_length=255, unique=True)
    task_name = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.task_name} [{self.task_id}] x{self.attempts}"


class DeadLetter(models.Model):
    """A task that failed (or was redelivered) CXC_TASK_MAX_ATTEMPTS times and was given up."""

    task_id = models.CharField(max_length=255, db_index=True)
    task_name = models.CharField(max_length=255, db_index=True)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    exception = models.TextField(blank=True)
    attempts = models.PositiveIntegerField()
    first_failure_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    retried_at = models.DateTimeField(null=True, blank=True)
    retried_task_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-last_failure_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.task_id}]"
