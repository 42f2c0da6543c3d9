"""With a broker, a give publishes no message: the recognition waits in the outbox (not yet
notified) and the beat's sweep sends its e-mails and announcement, once, whatever the overlap."""

import pytest
from celery.app.task import Task
from django.core import mail
from django.db import connection

from recognition import notifications, services
from recognition.models import Recognition
from recognition.tasks import recognitions_notify_pending_task
from tests.factories.recognition import a_value, give
from tests.recognition.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

URL = "/api/v1/recognitions/"


@pytest.fixture
def published(settings, monkeypatch) -> list[str]:
    """A broker is configured (tasks are not run eagerly); every task published is recorded
    instead of sent to it."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[str] = []

    def publish(task, *args, **kwargs):
        sent.append(task.name)

    monkeypatch.setattr(Task, "apply_async", publish)
    return sent


@pytest.fixture
def webhook(settings):
    with Receiver() as running:
        settings.CXC_SLACK_WEBHOOK_URL = running.url
        yield running


def test_a_give_publishes_nothing_and_the_sweep_notifies_each_receiver_once(
    api, employee, teammate, outsider, published, webhook, django_capture_on_commit_callbacks
):
    body = {
        "receivers": [teammate.pk, outsider.pk],
        "message": "Took the angry caller off my hands.",
        "values": [a_value().pk],
        "points_per_receiver": 5,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_(employee).post(URL, body, format="json")

    assert response.status_code == 201, response.content
    assert published == []
    assert mail.outbox == []

    assert recognitions_notify_pending_task.apply().result == 1
    assert recognitions_notify_pending_task.apply().result == 0  # the next sweep finds nothing
    notifications.recognition_given_notify(recognition_id=response.json()["id"])  # an overlap

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [teammate.email, outsider.email]
    )
    assert mail.outbox[0].subject == "Erin Employee recognised you (+5 points)"
    assert [post["text"] for post in webhook.received] == [
        "*Erin Employee* recognised *Tom Teammate, Olga Outsider* for _Customer first_: "
        "Took the angry caller off my hands. (+5 points)"
    ]


def test_a_reversed_recognition_is_never_notified(
    employee, teammate, hr_admin, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        recognition = give(employee, teammate, points=5)
    services.recognition_reverse(recognition=recognition, by=hr_admin.user, reason="Twice.")

    assert notifications.recognitions_notify_pending() == 0
    assert mail.outbox == []
    assert Recognition.objects.get(pk=recognition.pk).notified_at is None


def test_a_sweep_takes_the_oldest_first_and_leaves_the_rest_to_the_next(
    employee, teammate, outsider, manager, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for person in (teammate, outsider, manager):
            give(employee, person)

    assert notifications.recognitions_notify_pending(batch=2) == 2
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [teammate.email, outsider.email]
    )
    assert notifications.recognitions_notify_pending(batch=2) == 1
    assert mail.outbox[-1].to == [manager.email]
    assert Recognition.objects.filter(notified_at__isnull=True).count() == 0


def test_without_a_broker_the_give_notifies_at_commit(
    employee, teammate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    with django_capture_on_commit_callbacks(execute=True):
        recognition = give(employee, teammate)

    assert [message.to for message in mail.outbox] == [[teammate.email]]
    assert Recognition.objects.get(pk=recognition.pk).notified_at is not None


def test_the_sweep_reads_an_index_of_the_pending_recognitions_only():
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, Recognition._meta.db_table)
    assert indexes["recognition_to_notify_idx"]["columns"] == ["id"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'recognition_to_notify_idx'"
            )
            (definition,) = cursor.fetchone()
        assert "WHERE ((notified_at IS NULL) AND (reversed_at IS NULL))" in definition
