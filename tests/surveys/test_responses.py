"""Responding: once per invitation (enforced by the database), partial answers, clear refusals,
and nothing that ties a response to the person who gave it."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection, models

from cxculture.people.models import Team
from surveys import services
from surveys.models import Answer, Invitation, Response, SealedResponse, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, open_run, question, sealed
from tests.matrix import NOT_SIGNED_IN


@pytest.fixture
def run(opens):
    team = TeamFactory(name="Returns")
    for _ in range(3):
        EmployeeFactory(
            team=team, location="Leeds", role_family="Support", hire_date=dt.date(2025, 9, 1)
        )
    return open_run(ProgramFactory(audience="teams", teams=[team]), opens)


@pytest.fixture
def invitation(run):
    return Invitation.objects.filter(run=run).select_related("employee").first()


def body(token, **answers):
    items = [{"question": question(code).pk, "value": value} for code, value in answers.items()]
    return {"token": token, "answers": items, "comment": "More staff at lunchtime, please."}


def test_the_emailed_token_submits_without_signing_in(api, invitation):
    token = services.invitation_token(invitation.pk)
    response = api.as_(None).post("/api/v1/responses/", body(token, enps=8), format="json")
    assert response.status_code == 201
    assert response.json() == {"message": "Thank you. Your answers are stored without your name."}
    # Sealed until the run closes: the team snapshot, coarse attributes, comment and answers,
    # and no date.
    assert Response.objects.count() == 0
    assert sealed(invitation.run) == [
        {
            "team_path": invitation.team_path,
            "values": ["lt1", "Leeds", "Support"],
            "comment": "More staff at lunchtime, please.",
            "answers": [[question("enps").pk, 8, "", ""]],
        }
    ]
    invitation.refresh_from_db()
    assert invitation.responded_on == dt.date(2026, 3, 2)


def test_a_second_submission_is_refused_and_only_the_first_is_kept(api, invitation):
    token = services.invitation_token(invitation.pk)
    first = api.as_(None).post("/api/v1/responses/", body(token, enps=8), format="json")
    second = api.as_(None).post("/api/v1/responses/", body(token, enps=2), format="json")
    assert (first.status_code, second.status_code) == (201, 409)
    error = second.json()["error"]
    assert error["code"] == "already_responded"
    assert "already answered" in error["message"]
    assert [box["answers"] for box in sealed(invitation.run)] == [
        [[question("enps").pk, 8, "", ""]]
    ]


def test_partial_answers_are_kept_and_skipped_questions_are_not_stored(api, invitation):
    token = services.invitation_token(invitation.pk)
    payload = body(token, enps=10)
    payload["answers"] += [
        {"question": question("eng-proud").pk, "value": None},
        {"question": question("eng-stay").pk, "value": 4},
    ]
    response = api.as_(None).post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 201
    (box,) = sealed(invitation.run)
    assert {q: value for q, value, _, _ in box["answers"]} == {
        question("enps").pk: 10,
        question("eng-stay").pk: 4,
    }


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"eng-proud": 6}, "from 1 to 5"),
        ({"enps": 11}, "less than or equal to 10"),
        ({}, "at least one question"),
    ],
)
def test_invalid_answers_are_refused_and_the_invitation_stays_usable(
    api, invitation, answers, reason
):
    token = services.invitation_token(invitation.pk)
    payload = {
        "token": token,
        "answers": [{"question": question(c).pk, "value": v} for c, v in answers.items()],
    }
    response = api.as_(None).post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 400
    assert reason in str(response.json())
    assert SealedResponse.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.responded_on is None


def test_a_question_from_another_run_is_refused(api, invitation):
    unasked = services.question_create(text="Not in this run", driver="growth")
    token = services.invitation_token(invitation.pk)
    response = api.as_(None).post(
        "/api/v1/responses/",
        {"token": token, "answers": [{"question": unasked.pk, "value": 3}]},
        format="json",
    )
    assert response.status_code == 400
    assert "not part of this survey" in response.json()["error"]["message"]


def test_a_signed_in_invitee_submits_with_the_run_id(api, run, invitation):
    payload = {"run": run.pk, "answers": [{"question": question("enps").pk, "value": 7}]}
    response = api.as_(invitation.employee).post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 201
    assert SealedResponse.objects.filter(run=run).count() == 1


def test_someone_not_invited_is_refused(api, run, outsider):
    payload = {"run": run.pk, "answers": [{"question": question("enps").pk, "value": 7}]}
    response = api.as_(outsider).post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_invited"
    anonymous = api.as_(None).post("/api/v1/responses/", payload, format="json")
    assert anonymous.status_code == NOT_SIGNED_IN
    assert anonymous.json()["error"]["code"] == "not_authenticated"


def test_a_closed_run_refuses_with_a_clear_message(api, run, invitation, opens):
    services.survey_run_close(run=run, today=opens)
    token = services.invitation_token(invitation.pk)
    response = api.as_(None).post("/api/v1/responses/", body(token, enps=8), format="json")
    assert response.status_code == 410
    assert response.json()["error"]["message"] == (
        "This survey closed on 2 March 2026 and no longer takes answers."
    )


def test_a_scheduled_run_is_not_open_yet(api, opens):
    team = TeamFactory(name="Later")
    EmployeeFactory(team=team)
    program = ProgramFactory(audience="teams", teams=[team])
    run = services.survey_run_schedule(
        program=program, opens_on=opens + dt.timedelta(days=3), today=opens
    )
    with pytest.raises(services.RunNotOpen, match="opens on 5 March 2026"):
        services.check_run_accepts(run, opens)
    assert run.status == SurveyRun.Status.SCHEDULED


def test_nothing_in_the_schema_joins_a_response_to_a_person():
    for model in (Response, Answer):
        targets = {
            f.related_model for f in model._meta.get_fields() if f.is_relation and f.related_model
        }
        assert targets <= {
            SurveyRun,
            Response,
            Answer,
            question("enps").__class__,
            Team,
        }
        assert Invitation not in targets
        assert not [f for f in model._meta.fields if isinstance(f, models.DateTimeField)]
    assert not [f for f in Invitation._meta.fields if isinstance(f, models.DateTimeField)]
    assert isinstance(Response._meta.pk, models.UUIDField)


def test_submitting_logs_nothing_and_enqueues_nothing(
    api, invitation, caplog, django_capture_on_commit_callbacks
):
    token = services.invitation_token(invitation.pk)
    with django_capture_on_commit_callbacks() as callbacks, caplog.at_level("DEBUG"):
        response = api.as_(None).post("/api/v1/responses/", body(token, enps=3), format="json")
    assert response.status_code == 201
    assert callbacks == []
    assert not [r for r in caplog.records if r.name.startswith(("surveys", "celery"))]
    stored = SealedResponse.objects.get()
    assert uuid.UUID(str(stored.pk)).version == 4


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_store_exactly_one(opens):
    from tests.factories.surveys import load_question_library

    load_question_library()
    team = TeamFactory(name="Race")
    EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    invitation = Invitation.objects.get(run=run)
    outcomes = []
    barrier = threading.Barrier(8)

    def submit():
        barrier.wait()
        try:
            services.response_submit(
                invitation_id=invitation.pk,
                answers=[services.AnswerInput(question=question("enps").pk, value=5)],
                today=opens,
            )
            outcomes.append("ok")
        except services.ConflictError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
    assert SealedResponse.objects.filter(run=run).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_closing_a_run_waits_for_a_submission_in_flight(opens):
    import time

    from django.db import transaction

    from tests.factories.surveys import load_question_library

    load_question_library()
    team = TeamFactory(name="Race")
    EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    invitation = Invitation.objects.get(run=run)
    events = []
    submitting = threading.Event()

    def slow_submit():
        with transaction.atomic():
            services.response_submit(
                invitation_id=invitation.pk,
                answers=[services.AnswerInput(question=question("enps").pk, value=5)],
                today=opens,
            )
            submitting.set()
            time.sleep(0.5)
            events.append("submitted")
        connection.close()

    def close():
        submitting.wait()
        services.survey_run_close(run=run, today=opens)
        events.append("closed")
        connection.close()

    threads = [threading.Thread(target=slow_submit), threading.Thread(target=close)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert events == ["submitted", "closed"]
    assert Response.objects.filter(run=run).count() == 1
