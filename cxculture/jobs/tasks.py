"""An operations probe: a task that always fails, to check the dead-letter path end to end
(`celery -A cxculture call cxculture.jobs.tasks.dead_letter_probe_task --args='["check"]'`)."""

from celery import shared_task

from .base import DeadLetterTask


class ProbeFailure(RuntimeError):
    pass


@shared_task(base=DeadLetterTask, dead_letter_backoff=0)  # retried at once: a quick check
def dead_letter_probe_task(token: str) -> None:
    raise ProbeFailure(f"Dead-letter probe {token} fails on purpose.")
