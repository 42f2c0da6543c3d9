"""A pulse run end to end through Redis and a real worker: invitations emailed by the worker,
an answer from the emailed link, the run closed, results reported."""

import email
import re

import pytest

from surveys.models import Invitation, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, load_question_library, question

LINK = re.compile(r"http://127.0.0.1:8000(/surveys/r/[^/\s]+/)")


@pytest.mark.django_db(transaction=True)
def test_invitations_answers_and_results_through_a_real_worker(celery_worker, api, org, hr_admin):
    load_question_library()
    team = TeamFactory(name="Night shift", parent=org["root"])
    people = [EmployeeFactory(team=team) for _ in range(3)]
    program = ProgramFactory(audience="teams", teams=[team], anonymity_threshold=3)

    created = api.as_(hr_admin).post("/api/v1/survey-runs/", {"program": program.pk}, format="json")
    assert created.status_code == 201, created.json()
    run_id = created.json()["id"]
    opened = api.post(f"/api/v1/survey-runs/{run_id}/open/")
    assert opened.status_code == 200 and opened.json()["status"] == "open"

    # The fan-out and its chunk run on the worker and write to the file email backend.
    mine = [p.user.email for p in people]
    celery_worker.wait_until(
        lambda: sum(any(f"To: {email}" in m for m in celery_worker.emails()) for email in mine) == 3
    )
    assert Invitation.objects.filter(run_id=run_id, sent_on__isnull=False).count() == 3

    # Not all the same answer: a unanimous figure of a team where everyone answered is hidden.
    values = iter([10, 9, 6])
    for message in celery_worker.emails():
        if not any(f"To: {email}" in message for email in mine):
            continue
        text = email.message_from_string(message.strip()).get_payload()[0]
        link = LINK.search(text.get_payload(decode=True).decode())
        token = link.group(1).split("/")[-2]
        answered = api.as_(None).post(
            "/api/v1/responses/",
            {"token": token, "answers": [{"question": question("enps").pk, "value": next(values)}]},
            format="json",
        )
        assert answered.status_code == 201, answered.json()

    closed = api.as_(hr_admin).post(f"/api/v1/survey-runs/{run_id}/close/")
    assert closed.json()["status"] == SurveyRun.Status.CLOSED
    results = api.get(f"/api/v1/survey-runs/{run_id}/results/", {"team": team.pk}).json()
    # Two promoters and one detractor of three: 33, a whole number on 3 answers.
    assert (results["reportable"], results["respondents"], results["enps"]["score"]) == (
        True,
        3,
        33,
    )
    assert results["participation"] == {"invited": 3, "responded": 3, "rate": 100.0}
