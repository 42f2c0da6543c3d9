"""Outbound webhooks, delivered to a real HTTP server on 127.0.0.1 (no mocks of the network)."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cxculture.lib.webhooks import WebhookError, post_json
from recognition.models import Recognition
from tests.factories.recognition import give


class Receiver:
    """A local webhook receiver that answers with the queued statuses, then 200."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[dict] = []
        self.headers: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.received.append(json.loads(self.rfile.read(length)))
                receiver.headers.append(dict(self.headers))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/slack"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _no_sleep(seconds: float) -> None:
    pass


def test_a_payload_is_posted_as_json(receiver):
    delivery = post_json(receiver.url, {"text": "hello"}, sleep=_no_sleep)

    assert delivery.status == 200
    assert delivery.attempts == 1
    assert receiver.received == [{"text": "hello"}]
    assert receiver.headers[0]["Content-Type"] == "application/json"


def test_a_server_error_is_retried_with_backoff(receiver):
    receiver.statuses = [500, 503]
    waits: list[float] = []

    delivery = post_json(receiver.url, {"text": "again"}, sleep=waits.append, backoff=0.5)

    assert delivery.attempts == 3
    assert len(receiver.received) == 3
    assert 0.5 <= waits[0] < 0.5 * 1.25
    assert 1.0 <= waits[1] < 1.0 * 1.25


def test_a_client_error_is_not_retried(receiver):
    receiver.statuses = [404]

    with pytest.raises(WebhookError) as failure:
        post_json(receiver.url, {"text": "x"}, sleep=_no_sleep)

    assert failure.value.status == 404
    assert len(receiver.received) == 1


def test_it_gives_up_after_the_last_attempt(receiver):
    receiver.statuses = [502, 502, 502]

    with pytest.raises(WebhookError, match="HTTP 502"):
        post_json(receiver.url, {"text": "x"}, attempts=3, sleep=_no_sleep)

    assert len(receiver.received) == 3


def test_an_unreachable_server_is_retried_then_reported():
    with Receiver() as closed:
        url = closed.url
    attempts: list[float] = []

    with pytest.raises(WebhookError, match=r"URLError|ConnectionRefused"):
        post_json(url, {"text": "x"}, attempts=2, timeout=1, sleep=attempts.append)

    assert len(attempts) == 1


def test_only_http_urls_are_accepted():
    with pytest.raises(WebhookError):
        post_json("file:///etc/passwd", {"text": "x"})


@pytest.mark.django_db
def test_organisation_visible_recognitions_are_announced_once(
    receiver, employee, teammate, settings, django_capture_on_commit_callbacks
):
    settings.CXC_SLACK_WEBHOOK_URL = receiver.url
    receiver.statuses = [500]  # the first attempt fails, the retry delivers

    with django_capture_on_commit_callbacks(execute=True):
        public = give(employee, teammate, points=5, message="Saved the <big> account & more")
    with django_capture_on_commit_callbacks(execute=True):
        give(employee, teammate, visibility="team")

    assert len(receiver.received) == 2  # one failed attempt and its retry, both for `public`
    text = receiver.received[-1]["text"]
    assert text == (
        "*Erin Employee* recognised *Tom Teammate* for _Customer first_: "
        "Saved the &lt;big&gt; account &amp; more (+5 points)"
    )
    assert Recognition.objects.get(pk=public.pk).announced_at is not None

    from recognition.notifications import recognition_post_to_webhook

    assert recognition_post_to_webhook(recognition_id=public.pk) is False  # already announced
    assert len(receiver.received) == 2


@pytest.mark.django_db
def test_a_failed_announcement_can_be_retried_later(
    receiver, employee, teammate, settings, django_capture_on_commit_callbacks
):
    settings.CXC_SLACK_WEBHOOK_URL = receiver.url
    settings.CXC_WEBHOOK_ATTEMPTS = 1
    receiver.statuses = [500]

    with django_capture_on_commit_callbacks(execute=True):
        recognition = give(employee, teammate)

    assert Recognition.objects.get(pk=recognition.pk).announced_at is None
    from recognition.notifications import recognition_post_to_webhook

    assert recognition_post_to_webhook(recognition_id=recognition.pk) is True
    assert len(receiver.received) == 2
