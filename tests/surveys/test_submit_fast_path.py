"""Submitting through the emailed link reads everything in one statement: the invitation, the
invitee's coarse attributes, the run and its questions; on PostgreSQL one more statement holds
the run open FOR SHARE, claims the invitation and stores the sealed box. These
tests pin that count and check that what the one read hands over (dates, JSON options, the team
snapshot) is what the ORM would have read."""

import datetime as dt
import threading

import pytest
from django.core import signing
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from surveys import services
from surveys.models import Invitation, Question, Response, SealedResponse, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, open_run, question, sealed


@pytest.fixture
def asked():
    """eNPS, a single-choice and a free-text question: one of each way an answer is checked."""
    choice = services.question_create(
        text="Which shift do you work most?",
        driver="wellbeing",
        kind=Question.Kind.SINGLE_CHOICE,
        options=["Early", "Late", "Night"],
    )
    text = services.question_create(
        text="What would you change?", driver="growth", kind=Question.Kind.FREE_TEXT
    )
    return {"enps": question("enps"), "choice": choice, "text": text}


@pytest.fixture
def invitation(opens, asked):
    team = TeamFactory(name="Returns")
    EmployeeFactory(
        team=team, location="York", role_family="Billing", hire_date=dt.date(2022, 1, 10)
    )
    program = ProgramFactory(audience="teams", teams=[team], questions=list(asked.values()))
    open_run(program, opens)
    return Invitation.objects.get()


def _body(invitation, asked, *, shift="Late"):
    return {
        "token": services.invitation_token(invitation.pk),
        "answers": [
            {"question": asked["enps"].pk, "value": 9},
            {"question": asked["choice"].pk, "choice": shift},
            {"question": asked["text"].pk, "text": "  A quieter break room.  "},
        ],
        "comment": "",
    }


def test_a_submission_reads_once_then_claims_and_writes(api, invitation, asked):
    client = api.as_(None)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/responses/", _body(invitation, asked), format="json")
    assert response.status_code == 201, response.content
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    if connection.vendor == "postgresql":
        # The read, then one statement that holds the run open FOR SHARE, claims the
        # invitation and inserts the sealed box (the answers are inside it): no BEGIN/COMMIT.
        assert statements == ["SELECT", "WITH"]
        claim = captured.captured_queries[1]["sql"]
        assert "FOR SHARE" in claim
        assert "UPDATE" in claim
        assert "INSERT" in claim
    else:
        # Outside a test's transaction the two savepoints are BEGIN and COMMIT. One INSERT:
        # the sealed box (the answers are inside it).
        assert statements == ["SAVEPOINT", "SELECT", "UPDATE", "INSERT", "RELEASE"]


def test_the_sealed_response_is_what_the_invitation_and_the_answers_say(api, invitation, asked):
    response = api.as_(None).post("/api/v1/responses/", _body(invitation, asked), format="json")
    assert response.status_code == 201
    (stored,) = sealed(invitation.run)
    assert stored["team_path"] == invitation.team_path
    # Hired 10 January 2022, answering on 2 March 2026: the 2-5 years band (a date read as text
    # on SQLite would have broken this).
    assert stored["values"] == ["2to5", "York", "Billing"]
    answers = {q: (value, choice, text) for q, value, choice, text in stored["answers"]}
    assert answers == {
        asked["enps"].pk: (9, "", ""),
        asked["choice"].pk: (None, "Late", ""),
        asked["text"].pk: (None, "", "A quieter break room."),
    }
    invitation.refresh_from_db()
    assert invitation.responded_on == dt.date(2026, 3, 2)


def test_a_choice_outside_the_options_is_refused_and_nothing_is_kept(api, invitation, asked):
    client = api.as_(None)
    refused = client.post(
        "/api/v1/responses/", _body(invitation, asked, shift="Weekend"), format="json"
    )
    assert refused.status_code == 400
    assert "Choose one of the options" in refused.json()["error"]["message"]
    assert SealedResponse.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.responded_on is None
    assert (
        client.post("/api/v1/responses/", _body(invitation, asked), format="json").status_code
        == 201
    )


# Signed inside the test: a token signed at collection carries its second, and parallel
# workers must collect the same test ids.
@pytest.mark.parametrize(
    "signed",
    [
        None,  # not a token at all
        999_999,  # signed, but no such invitation
        "1",  # signed, but not an id
        True,
    ],
    ids=["unsigned", "no-such-invitation", "a-string", "a-boolean"],
)
def test_a_link_that_names_no_invitation_is_not_found(api, invitation, asked, signed):
    token = "not-a-token" if signed is None else signing.dumps(signed, salt=services.TOKEN_SALT)
    body = _body(invitation, asked) | {"token": token}
    response = api.as_(None).post("/api/v1/responses/", body, format="json")
    assert response.status_code == 404
    assert SealedResponse.objects.count() == 0


def test_a_run_with_no_questions_left_takes_a_comment_only(api, invitation, asked):
    invitation.run.run_questions.all().delete()
    body = _body(invitation, asked) | {"answers": [], "comment": "Thanks for asking."}
    response = api.as_(None).post("/api/v1/responses/", body, format="json")
    assert response.status_code == 201
    assert [box["comment"] for box in sealed(invitation.run)] == ["Thanks for asking."]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement claim is PostgreSQL's"
)
def test_a_run_closed_between_the_read_and_the_write_takes_nothing(
    api, invitation, asked, monkeypatch
):
    read_while_open = services._invited(invitation.pk)
    SurveyRun.objects.filter(pk=invitation.run_id).update(status=SurveyRun.Status.CLOSED)
    reads = iter([read_while_open])
    real_read = services._invited
    monkeypatch.setattr(services, "_invited", lambda pk: next(reads, None) or real_read(pk))

    response = api.as_(None).post("/api/v1/responses/", _body(invitation, asked), format="json")

    # The statement found the run closed: 410 as if it had been closed at the read, and
    # neither the claim nor the sealed box was written.
    assert response.status_code == 410, response.content
    assert "no longer takes answers" in response.json()["error"]["message"]
    assert SealedResponse.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.responded_on is None


def test_a_second_submission_is_refused_and_stores_nothing_more(api, invitation, asked):
    client = api.as_(None)
    assert (
        client.post("/api/v1/responses/", _body(invitation, asked), format="json").status_code
        == 201
    )

    again = client.post("/api/v1/responses/", _body(invitation, asked), format="json")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_responded"
    assert len(sealed(invitation.run)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement claim is PostgreSQL's"
)
def test_a_close_waits_for_a_submission_in_flight_and_stores_its_answers(invitation, asked, opens):
    in_flight, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            # A caller's transaction keeps the submission's FOR SHARE lock on the run held.
            with transaction.atomic():
                services.response_submit(
                    invitation_id=invitation.pk,
                    answers=[services.AnswerInput(question=asked["enps"].pk, value=9)],
                    today=opens,
                )
                in_flight.set()
                release.wait(timeout=30)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            failures.append(exc)
        finally:
            connection.close()

    def close() -> None:
        try:
            run = SurveyRun.objects.get(pk=invitation.run_id)
            services.survey_run_close(run=run, today=opens + dt.timedelta(days=1))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    submitting = threading.Thread(target=submit)
    submitting.start()
    assert in_flight.wait(timeout=30)
    closing = threading.Thread(target=close)
    closing.start()
    closing.join(timeout=1)
    waited = closing.is_alive()  # the close's FOR UPDATE waits for the submission
    release.set()
    submitting.join(timeout=30)
    closing.join(timeout=30)

    assert failures == []
    assert waited
    # The answer in flight was sealed before the close and stored by it; no box is left.
    assert Response.objects.filter(run_id=invitation.run_id).count() == 1
    assert SealedResponse.objects.count() == 0
    assert SurveyRun.objects.get(pk=invitation.run_id).status == SurveyRun.Status.CLOSED
