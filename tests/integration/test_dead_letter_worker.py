"""A poison task on a real worker: retried through the broker, then given up and recorded in the
dead-letter table; a message delivered beyond the limit is dead-lettered without running."""

import pytest

from cxculture.jobs.models import DeadLetter, TaskAttempt
from cxculture.jobs.tasks import dead_letter_probe_task


@pytest.mark.django_db(transaction=True)
def test_a_poison_task_stops_after_five_attempts_on_a_real_worker(celery_worker):
    result = dead_letter_probe_task.delay("worker")

    celery_worker.wait_until(
        lambda: DeadLetter.objects.filter(task_id=result.id).exists(), timeout=60
    )
    letter = DeadLetter.objects.get(task_id=result.id)
    assert letter.task_name == "cxculture.jobs.tasks.dead_letter_probe_task"
    assert letter.args == ["worker"]
    assert letter.attempts == 5
    assert "fails on purpose" in letter.exception
    assert letter.first_failure_at <= letter.last_failure_at
    assert not TaskAttempt.objects.filter(task_id=result.id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_message_redelivered_beyond_the_limit_is_dead_lettered_by_the_worker(celery_worker):
    # As if five workers had died (SIGKILL) while running this message.
    TaskAttempt.objects.create(
        task_id="redelivered-probe", task_name=dead_letter_probe_task.name, attempts=5
    )

    dead_letter_probe_task.apply_async(args=["lost"], task_id="redelivered-probe")

    celery_worker.wait_until(
        lambda: DeadLetter.objects.filter(task_id="redelivered-probe").exists(), timeout=60
    )
    letter = DeadLetter.objects.get(task_id="redelivered-probe")
    assert letter.attempts == 6
    assert "Redelivered" in letter.exception
