"""The pages: answering from the emailed link, HR's programs, and results with suppression."""

import csv
import datetime as dt
import io

import pytest

from surveys import services
from surveys.models import Invitation, SurveyProgram, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run, question, sealed


@pytest.fixture
def open_survey(opens, org):
    team = TeamFactory(name="Billing", parent=org["root"])
    for _ in range(6):
        EmployeeFactory(team=team)
    return open_run(ProgramFactory(name="March pulse", audience="teams", teams=[team]), opens)


def link_for(invitation):
    return f"/surveys/r/{services.invitation_token(invitation.pk)}/"


def test_the_emailed_link_shows_only_the_questions_and_takes_answers(client, open_survey):
    invitation = Invitation.objects.filter(run=open_survey).select_related("employee__user").first()
    page = client.get(link_for(invitation))
    assert page.status_code == 200
    html = page.content.decode()
    assert "March pulse" in html and "How likely are you to recommend working here" in html
    assert invitation.employee.user.first_name not in html
    assert invitation.employee.user.email not in html
    assert 'class="choice"' in html  # big tap targets
    form = {
        f"q{question('enps').pk}": "9",
        f"q{question('eng-proud').pk}": "4",
        "comment": "Good month.",
    }
    done = client.post(link_for(invitation), form)
    assert done.status_code == 302 and done.url == "/surveys/thanks/"
    assert client.get(done.url).status_code == 200
    (stored,) = sealed(open_survey)
    assert sorted(value for _, value, _, _ in stored["answers"]) == [4, 9]
    again = client.post(link_for(invitation), form)
    assert again.status_code == 409
    assert "already answered" in again.content.decode()
    assert len(sealed(open_survey)) == 1


def test_a_closed_or_forged_link_says_so(client, open_survey, opens):
    invitation = Invitation.objects.filter(run=open_survey).first()
    services.survey_run_close(run=open_survey, today=opens)
    closed = client.get(link_for(invitation))
    assert closed.status_code == 410 and "closed on 2 March 2026" in closed.content.decode()
    forged = client.get("/surveys/r/not-a-real-token/")
    assert forged.status_code == 404 and "not valid" in forged.content.decode()


def test_a_signed_in_invitee_answers_from_the_surveys_page(client, open_survey):
    invitation = Invitation.objects.filter(run=open_survey).select_related("employee__user").first()
    client.force_login(invitation.employee.user)
    index = client.get("/surveys/").content.decode()
    assert f"/surveys/runs/{open_survey.pk}/respond/" in index
    done = client.post(
        f"/surveys/runs/{open_survey.pk}/respond/", {f"q{question('enps').pk}": "10"}
    )
    assert done.status_code == 302
    assert (
        f"/surveys/runs/{open_survey.pk}/respond/" not in client.get("/surveys/").content.decode()
    )


def test_someone_not_invited_gets_not_found(client, open_survey, outsider):
    client.force_login(outsider.user)
    assert client.get(f"/surveys/runs/{open_survey.pk}/respond/").status_code == 404


def test_hr_creates_a_program_and_opens_a_run(client, hr_admin, org, opens):
    client.force_login(hr_admin.user)
    assert client.get("/surveys/programs/new/").status_code == 200
    response = client.post(
        "/surveys/programs/new/",
        {
            "name": "Support pulse",
            "cadence": "monthly",
            "starts_on": "2026-03-02",
            "audience": "subtrees",
            "teams": [org["support"].pk],
            "anonymity_threshold": "5",
            "comment_threshold": "10",
            "questions": [q.pk for q in [question("enps"), question("eng-proud")]],
        },
    )
    program = SurveyProgram.objects.get(name="Support pulse")
    assert response.status_code == 302 and response.url == f"/surveys/programs/{program.pk}/"
    client.post(f"/surveys/programs/{program.pk}/start/")
    run = SurveyRun.objects.get(program=program)
    assert run.status == SurveyRun.Status.OPEN
    detail = client.get(f"/surveys/programs/{program.pk}/").content.decode()
    assert "Close now" in detail


def test_only_hr_sees_program_pages(client, employee):
    client.force_login(employee.user)
    assert client.get("/surveys/programs/new/").status_code == 403


def test_results_page_shows_small_teams_as_suppressed(client, hr_admin, org, opens):
    big = TeamFactory(name="Big team", parent=org["support"])
    small = TeamFactory(name="Small team", parent=org["support"])
    other = TeamFactory(name="Other team", parent=org["support"])
    for team, size in ((big, 8), (small, 2), (other, 6)):
        for _ in range(size):
            EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="subtrees", teams=[org["support"]]), opens)
    for invitation in Invitation.objects.filter(run=run):
        answer(invitation, opens, enps=8, eng_proud=4)
    services.survey_run_close(run=run, today=opens)
    client.force_login(hr_admin.user)
    page = client.get(f"/surveys/runs/{run.pk}/results/").content.decode()
    assert "Big team" in page
    # The small team and the sibling hidden to protect it read the same: which of the two holds
    # fewer than k is not for the page to say.
    assert page.count("Hidden to protect anonymity") >= 2
    assert "Fewer than 5 responses" not in page and "Hidden so that" not in page
    participation = client.get(f"/surveys/runs/{run.pk}/results/?subtree={big.pk}")
    assert participation.status_code == 200


def test_participation_shows_while_a_run_is_open(client, hr_admin, open_survey):
    client.force_login(hr_admin.user)
    page = client.get(f"/surveys/runs/{open_survey.pk}/results/").content.decode()
    assert "Participation" in page and "Billing" in page


def test_the_csv_export_neutralises_spreadsheet_formulas(api, hr_admin, org, opens):
    team = TeamFactory(name='=HYPERLINK("http://evil")', parent=org["root"])
    for _ in range(5):
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    for invitation in Invitation.objects.filter(run=run):
        answer(invitation, opens, enps=5)
    services.survey_run_close(run=run, today=opens + dt.timedelta(days=1))
    response = api.as_(hr_admin).get(f"/api/v1/survey-runs/{run.pk}/results.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    names = {row[1] for row in rows[1:] if row[0] == "team"}
    assert '\'=HYPERLINK("http://evil")' in names
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row[:3])
