"""Celery under faults: a poison task stops after CXC_TASK_MAX_ATTEMPTS tries and lands in the
dead-letter table, which HR admins and superusers see in the admin and retry from there; nothing
is scheduled further out than the broker's visibility timeout."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from cxculture.celery import app as celery_app
from cxculture.jobs import base
from cxculture.jobs.models import DeadLetter, TaskAttempt
from cxculture.jobs.tasks import ProbeFailure, dead_letter_probe_task

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
CALLS: list[tuple] = []


@celery_app.task(name="tests.security.flaky_task")
def flaky_task(failures: int, label: str = "") -> str:
    CALLS.append((failures, label))
    if len(CALLS) <= failures:
        raise ValueError(f"failure {len(CALLS)}")
    return "done"


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()
    yield
    CALLS.clear()


def test_a_task_that_always_fails_is_dead_lettered_after_five_attempts():
    with pytest.raises(ValueError, match="failure 5"):
        flaky_task.apply(args=[99], kwargs={"label": "poison"}, task_id="poison-1")

    assert len(CALLS) == 5
    letter = DeadLetter.objects.get()
    assert (letter.task_id, letter.task_name) == ("poison-1", "tests.security.flaky_task")
    assert (letter.args, letter.kwargs) == ([99], {"label": "poison"})
    assert letter.attempts == 5
    assert "failure 5" in letter.exception
    assert letter.first_failure_at <= letter.last_failure_at
    assert letter.retried_at is None
    assert TaskAttempt.objects.count() == 0


def test_a_task_that_recovers_on_a_retry_leaves_no_dead_letter_and_no_counter():
    result = flaky_task.apply(args=[2], task_id="flaky-1")

    assert result.get() == "done"
    assert len(CALLS) == 3
    assert DeadLetter.objects.count() == 0
    assert TaskAttempt.objects.count() == 0


def test_the_attempt_limit_is_a_setting(settings):
    settings.CXC_TASK_MAX_ATTEMPTS = 2

    with pytest.raises(ValueError, match="failure 2"):
        flaky_task.apply(args=[99], task_id="poison-2")

    assert len(CALLS) == 2
    assert DeadLetter.objects.get().attempts == 2


def test_a_message_redelivered_beyond_the_limit_is_dead_lettered_without_running():
    # Five deliveries whose worker died (SIGKILL): counted before running, never finished.
    TaskAttempt.objects.create(task_id="lost-1", task_name=flaky_task.name, attempts=5)

    flaky_task.apply(args=[0], task_id="lost-1")

    assert CALLS == []
    letter = DeadLetter.objects.get()
    assert (letter.task_id, letter.attempts) == ("lost-1", 6)
    assert "Redelivered" in letter.exception
    assert TaskAttempt.objects.count() == 0


def test_a_redelivery_within_the_limit_runs_the_task_again():
    TaskAttempt.objects.create(task_id="lost-2", task_name=flaky_task.name, attempts=3)

    assert flaky_task.apply(args=[0], task_id="lost-2").get() == "done"

    assert len(CALLS) == 1
    assert DeadLetter.objects.count() == 0


def test_without_the_attempt_counter_a_failing_task_still_stops_after_five_attempts(monkeypatch):
    def database_down(*args, **kwargs):
        raise DatabaseError("the counter table is unavailable")

    monkeypatch.setattr(TaskAttempt.objects, "get_or_create", database_down)

    with pytest.raises(ValueError, match="failure 5"):
        flaky_task.apply(args=[99], task_id="poison-3")

    assert len(CALLS) == 5
    assert DeadLetter.objects.get().attempts == 5


def test_every_task_of_the_product_uses_the_dead_letter_base_with_late_acks():
    celery_app.loader.import_default_modules()
    ours = [
        task
        for name, task in celery_app.tasks.items()
        if name.startswith(("cxculture.", "recognition.", "surveys."))
    ]

    assert len(ours) >= 15
    for task in ours:
        assert isinstance(task, base.DeadLetterTask), task.name
        assert task.acks_late and task.reject_on_worker_lost, task.name


def test_the_probe_task_ends_in_the_dead_letter_table():
    with pytest.raises(ProbeFailure):
        dead_letter_probe_task.apply(args=["eager"], task_id="probe-eager")

    assert DeadLetter.objects.get(task_id="probe-eager").attempts == 5


def _staff(user: User) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def _dead_letter(**overrides) -> DeadLetter:
    letter = DeadLetter.objects.create(
        task_id="old-id",
        task_name=flaky_task.name,
        args=[0],
        kwargs={"label": "again"},
        exception="ValueError('boom')",
        attempts=5,
        first_failure_at="2026-01-01T00:00:00Z",
        last_failure_at="2026-01-01T00:05:00Z",
        **overrides,
    )
    return letter


def test_an_hr_admin_retries_a_dead_letter_from_the_admin(
    hr_admin, eager, django_capture_on_commit_callbacks
):
    letter = _dead_letter()
    client = _staff(hr_admin.user)
    changelist = reverse("admin:jobs_deadletter_changelist")

    assert client.get(changelist).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            changelist, {"action": "retry", "_selected_action": [letter.pk]}, follow=True
        )

    assert response.status_code == 200
    assert CALLS == [(0, "again")]
    letter.refresh_from_db()
    assert letter.retried_at is not None
    assert letter.retried_task_id not in ("", "old-id")


def test_a_superuser_sees_dead_letters_but_nobody_edits_or_deletes_them(admin_client):
    letter = _dead_letter()

    assert admin_client.get(reverse("admin:jobs_deadletter_changelist")).status_code == 200
    change = reverse("admin:jobs_deadletter_change", args=[letter.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"attempts": 0}).status_code == 403
    delete = admin_client.post(reverse("admin:jobs_deadletter_delete", args=[letter.pk]))
    assert delete.status_code == 403
    assert DeadLetter.objects.filter(pk=letter.pk).exists()


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_staff_without_the_hr_admin_role_cannot_see_dead_letters(role, cast):
    letter = _dead_letter()
    client = _staff(cast[role].user)

    assert client.get(reverse("admin:jobs_deadletter_changelist")).status_code == 403
    response = client.post(
        reverse("admin:jobs_deadletter_changelist"),
        {"action": "retry", "_selected_action": [letter.pk]},
    )
    assert response.status_code == 403
    letter.refresh_from_db()
    assert letter.retried_at is None
    assert CALLS == []


def test_nothing_is_scheduled_beyond_the_broker_visibility_timeout():
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        schedule = entry["schedule"]
        assert isinstance(schedule, timedelta | crontab), name
        options = entry.get("options", {})
        assert "eta" not in options, name
        assert options.get("countdown", 0) <= VISIBILITY_TIMEOUT, name

    assert base.RETRY_BACKOFF_MAX_SECONDS < VISIBILITY_TIMEOUT
    celery_app.loader.import_default_modules()
    for task in celery_app.tasks.values():
        if getattr(task, "retry_backoff", False):
            assert task.retry_backoff_max <= VISIBILITY_TIMEOUT, task.name
        assert task.default_retry_delay <= VISIBILITY_TIMEOUT, task.name


def test_no_code_passes_an_eta_or_a_countdown_beyond_the_visibility_timeout():
    offenders = []
    for directory in ("cxculture", "recognition", "surveys"):
        for path in (ROOT / directory).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.keyword) or node.arg not in ("eta", "countdown"):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.value.lineno}"
                if node.arg == "eta":
                    offenders.append(f"{where} eta=")
                elif isinstance(node.value, ast.Constant):
                    if node.value.value > VISIBILITY_TIMEOUT:
                        offenders.append(f"{where} countdown={node.value.value}")
                elif where.split(":")[0] != "cxculture/jobs/base.py":
                    # A computed countdown must be capped; only the base class has one (capped
                    # by RETRY_BACKOFF_MAX_SECONDS, checked above).
                    offenders.append(f"{where} countdown=<computed>")

    assert offenders == []
