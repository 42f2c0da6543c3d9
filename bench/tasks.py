"""The floor of the invitation fan-out: tasks that do nothing but say they ran.

Registered only under bench.settings (CELERY_IMPORTS), so the product's workers never know them.
They go through the same Celery app and task class as the product's tasks (attempt counting
included), so the difference with the invitation fan-out is the work of sending invitations.
"""

import os

import redis
from celery import shared_task

COUNTER = "bench:noop-done"


_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client  # one connection per worker process
    if _client is None:
        _client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    return _client


@shared_task(acks_late=True)
def bench_noop_task(ids: list[int]) -> None:
    _redis().incrby(COUNTER, len(ids))


@shared_task(acks_late=True)
def bench_noop_fan_out_task(total: int, chunk: int) -> None:
    """Enqueue `total` ids in chunk tasks, as `survey_mailing_fan_out` does with invitations."""
    for start in range(0, total, chunk):
        bench_noop_task.delay(list(range(start, min(total, start + chunk))))
