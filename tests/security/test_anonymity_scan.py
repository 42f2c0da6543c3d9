"""After 1,000 survey submissions and the run's close, nothing the product stored or emitted
holds both a person and an answer: no database row, log line, cache (Redis) entry, task message
or email. (Joins across rows, system columns included, are `test_anonymity_joins.py`.)

A person is any of the invitees' emails, external ids and link tokens; an answer is any of the
responses' ids or the unique word each submission's comment carries. The scan reads every row
of every table, every log record at DEBUG, every cache entry, the arguments of every task sent
and every email, and reports each place where one marker of each kind appear together.
"""

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import time_machine
from celery.app.task import Task
from django.apps import apps
from django.core import mail
from django.core.cache import cache

from surveys import services
from surveys.models import Invitation, Response
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, load_question_library, open_run, question

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SUBMISSIONS = 1000
TOKEN = re.compile(r"[\w.@+:-]+")


def _leaks(texts: Iterable[tuple[str, str]], people: set[str], answers: set[str]) -> list[str]:
    """The places (of `(place, text)`) whose text holds a person marker and an answer marker."""
    found = []
    for place, text in texts:
        tokens = set(TOKEN.findall(text))
        if tokens & people and tokens & answers:
            found.append(f"{place}: {text[:200]}")
    return found


def _database_rows() -> Iterator[tuple[str, str]]:
    for model in apps.get_models():
        for row in model._default_manager.values().iterator():
            yield model._meta.label, repr(row)


def _cache_entries() -> Iterator[tuple[str, str]]:
    backend = cache._cache  # type: ignore[attr-defined]
    if isinstance(backend, dict):  # locmem: pickled values
        for key, value in backend.items():
            yield f"cache {key}", f"{key} {value.decode('latin-1', 'replace')}"
        return
    client = backend.get_client(None)  # Redis (CXC_CACHE_URL=redis://...)
    for key in client.scan_iter():
        value = client.get(key) if client.type(key) == b"string" else b""
        yield f"redis {key!r}", f"{key.decode('latin-1')} {(value or b'').decode('latin-1')}"


@pytest.fixture
def sent_tasks(monkeypatch) -> list[str]:
    """The arguments of every task sent (eager here; the same message a broker would carry)."""
    sent: list[str] = []
    original = Task.apply_async

    def record(self, args=None, kwargs=None, **options):
        sent.append(f"{self.name} {args!r} {kwargs!r}")
        return original(self, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", record)
    return sent


def test_after_1000_submissions_nothing_holds_both_a_person_and_an_answer(
    api, caplog, sent_tasks, django_capture_on_commit_callbacks
):
    load_question_library()
    opens = dt.date(2026, 3, 2)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=True):
        team = TeamFactory(name="Contact centre")
        invitees = EmployeeFactory.create_batch(SUBMISSIONS, team=team)
        run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
        invitations = list(Invitation.objects.filter(run=run).order_by("pk"))
        assert len(invitations) == SUBMISSIONS
        tokens = {inv.pk: services.invitation_token(inv.pk) for inv in invitations}
        enps, tools = question("enps").pk, question("ena-tools").pk
        caplog.set_level("DEBUG")
        with django_capture_on_commit_callbacks(execute=True):
            for n, invitation in enumerate(invitations):
                body: dict[str, Any] = {
                    "token": tokens[invitation.pk],
                    "answers": [
                        {"question": enps, "value": n % 11},
                        {"question": tools, "value": 1 + n % 5},
                    ],
                    "comment": f"More staff at lunchtime, answer{n}word",
                }
                response = api.as_(None).post("/api/v1/responses/", body, format="json")
                assert response.status_code == 201, response.content

        # While the run is open the answers are sealed: the scan below would find nothing to
        # match. Closing it stores them; everything is scanned after that.
        services.survey_run_close(run=run, today=opens + dt.timedelta(days=6))

    assert Response.objects.filter(run=run).count() == SUBMISSIONS
    people = {p.user.email for p in invitees} | {p.external_id for p in invitees}
    people |= set(tokens.values())
    answers = {f"answer{n}word" for n in range(SUBMISSIONS)}
    answers |= {str(pk) for pk in Response.objects.values_list("pk", flat=True)}

    places = [
        *_database_rows(),
        *((f"log {r.name}", f"{r.getMessage()} {r.args!r}") for r in caplog.records),
        *_cache_entries(),
        *((f"task {n}", message) for n, message in enumerate(sent_tasks)),
        *((f"email to {m.to}", f"{m.to} {m.subject} {m.body}") for m in mail.outbox),
    ]

    assert _leaks(places, people, answers) == []
    # The scan does see the markers where they are allowed: people in the directory and
    # invitation emails, answers (comments) in the responses.
    assert _leaks([("planted", f"{invitees[0].user.email} wrote answer7word")], people, answers)
    assert any("answer7word" in text for _, text in _database_rows())
