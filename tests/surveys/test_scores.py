"""Every score against hand-computed values, through the results the API returns."""

import datetime as dt

import pytest

from cxculture.lib import anonymity
from surveys import services
from surveys.models import Driver, Invitation, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run, question

ENPS = [1, 10, 2, 3, 5, 2]
PROUD = [5, 4, 3, 4, 1, None]  # the sixth person skipped it
MOTIVATED = [4, 4, 4, 2, 2, 2]
STAY = [5, 5, 5, 5, 5, 1]


@pytest.fixture
def closed_run(opens, hr_admin):
    team = TeamFactory(name="Care")
    for _ in range(6):
        EmployeeFactory(team=team)
    program = ProgramFactory(audience="teams", teams=[team])
    run = open_run(program, opens)
    invitations = list(Invitation.objects.filter(run=run).order_by("id"))
    for index, invitation in enumerate(invitations):
        values = {"enps": ENPS[index], "eng_motivated": MOTIVATED[index], "eng_stay": STAY[index]}
        if PROUD[index] is not None:
            values["eng_proud"] = PROUD[index]
        answer(invitation, opens, **values)
    return services.survey_run_close(run=run, today=opens + dt.timedelta(days=6))


def results(api, person, run, **params):
    response = api.as_(person).get(f"/api/v1/survey-runs/{run.pk}/results/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_enps_matches_the_hand_computed_value_rounded_to_what_six_answers_support(
    api, hr_admin, closed_run
):
    data = results(api, hr_admin, closed_run)
    assert data["respondents"] == 6
    # 1 promoter, 5 detractors of 6: -66.67, shown whole on 6 answers, with its 95% interval
    # -66.67 +- 1.96 * sqrt((1 - 4/9) / 6) * 100, clipped at -100.
    assert data["enps"] == {"score": -67, "answered": 6, "low": -100, "high": -7, "change": None}
    enps_row = next(q for q in data["questions"] if q["driver"] == Driver.ENPS)
    # mean 23 / 6 = 3.83: one decimal below 30 answers
    assert (enps_row["answered"], enps_row["enps"], enps_row["mean"]) == (6, -67, 3.8)


def test_favourable_share_counts_only_people_who_answered(api, hr_admin, closed_run):
    data = results(api, hr_admin, closed_run)
    proud = next(q for q in data["questions"] if q["id"] == question("eng-proud").pk)
    assert (proud["answered"], proud["favourable"], proud["mean"]) == (5, 60, 3.4)


def test_engagement_index_is_the_mean_of_the_items_favourable_shares(api, hr_admin, closed_run):
    data = results(api, hr_admin, closed_run)
    # (60 + 50 + 83.33) / 3 = 64.44, whole: its least answered item has 5 answers
    assert data["engagement_index"] == {"score": 64, "answered": 5, "change": None}
    engagement = next(d for d in data["drivers"] if d["driver"] == Driver.ENGAGEMENT)
    # pooled: 11 favourable of 17 answers (64.71); mean of the 1-5 answers 61 / 17 (3.59)
    assert (engagement["favourable"], engagement["mean"], engagement["answered"]) == (65, 3.6, 17)


def test_a_figure_answered_by_fewer_than_k_is_not_shown(api, hr_admin, opens):
    team = TeamFactory(name="Desk")
    for _ in range(6):  # one does not answer: a unanimous figure is shown (see below)
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    for index, invitation in enumerate(Invitation.objects.filter(run=run).order_by("id")[:5]):
        values = {"enps": 9}
        if index < 4:
            values["eng_proud"] = 5
        answer(invitation, opens, **values)
    run = services.survey_run_close(run=run, today=opens)
    data = results(api, hr_admin, run)
    assert data["respondents"] == 5
    proud = next(q for q in data["questions"] if q["id"] == question("eng-proud").pk)
    assert (proud["shown"], proud["favourable"], proud["answered"]) == (False, None, None)
    assert data["engagement_index"]["score"] is None
    assert data["enps"]["score"] == 100.0


def test_change_is_against_the_previous_closed_run_of_the_program(api, hr_admin, opens):
    team = TeamFactory(name="Field")
    for _ in range(6):  # the sixth never answers, so eNPS 100 is not everyone's answer
        EmployeeFactory(team=team)
    program = ProgramFactory(audience="teams", teams=[team])
    scores_by_run = [[7, 8, 9, 9, 10], [9, 9, 10, 10, 10]]  # eNPS 60 then 100
    runs = []
    for number, values in enumerate(scores_by_run):
        day = opens + dt.timedelta(days=100 * number)
        run = open_run(program, day)
        for invitation, value in zip(
            Invitation.objects.filter(run=run).order_by("id")[:5], values, strict=True
        ):
            answer(invitation, day, enps=value)
        runs.append(services.survey_run_close(run=run, today=day))
    first, second = (results(api, hr_admin, run) for run in runs)
    # 60 +- 1.96 * sqrt((0.6 - 0.36) / 5) * 100, clipped at 100; all promoters: no spread
    assert first["enps"] == {"score": 60, "answered": 5, "low": 17, "high": 100, "change": None}
    assert second["enps"] == {"score": 100, "answered": 5, "low": 100, "high": 100, "change": 40}
    assert second["previous_run"]["id"] == runs[0].pk


@pytest.mark.parametrize(("invited", "shown"), [(5, False), (6, True)])
def test_a_unanimous_figure_is_hidden_when_everyone_invited_answered(
    api, hr_admin, opens, invited, shown
):
    """Five of five answering 5 would name each member's answer ("100% favourable, mean
    5.00"); with a sixth person invited who did not answer, nobody's answer is certain."""
    team = TeamFactory(name="Desk")
    for _ in range(invited):
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    for index, invitation in enumerate(Invitation.objects.filter(run=run).order_by("id")[:5]):
        answer(invitation, opens, eng_proud=5, enps=(5, 9, 10, 6, 8)[index])
    run = services.survey_run_close(run=run, today=opens)
    data = results(api, hr_admin, run)
    assert data["respondents"] == 5
    proud = next(q for q in data["questions"] if q["id"] == question("eng-proud").pk)
    if shown:
        assert (proud["shown"], proud["favourable"], proud["mean"]) == (True, 100.0, 5.0)
    else:
        assert (proud["shown"], proud["favourable"], proud["mean"]) == (False, None, None)
        assert proud["reason"] == "Hidden to protect anonymity"
    # The eNPS answers are promoters and others, not one band: shown either way.
    enps = next(q for q in data["questions"] if q["driver"] == Driver.ENPS)
    assert enps["shown"] is True


def test_results_wait_for_the_run_to_close(api, hr_admin, opens):
    team = TeamFactory(name="Open")
    EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    response = api.as_(hr_admin).get(f"/api/v1/survey-runs/{run.pk}/results/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "results_not_ready"
    assert run.status == SurveyRun.Status.OPEN


def test_driver_impact_needs_twenty_respondents(api, hr_admin, closed_run):
    data = results(api, hr_admin, closed_run)
    assert data["driver_impact"]["shown"] is False
    assert anonymity.DRIVER_IMPACT_MIN_RESPONDENTS == 20


@pytest.mark.parametrize(
    "params",
    [{"team": "abc"}, {"location": "Leeds\x00"}, {"team": 1, "subtree": 1}, {"subtree": 999999}],
)
def test_bad_parameters_are_a_400_not_a_500(api, hr_admin, closed_run, params):
    response = api.as_(hr_admin).get(f"/api/v1/survey-runs/{closed_run.pk}/results/", params)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]


def test_seven_answers_show_71_percent_alike_on_the_page_in_the_api_and_in_the_csv(
    api, client, hr_admin, opens
):
    team = TeamFactory(name="Seven")
    for _ in range(8):  # the eighth never answers
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    proud = [5, 5, 4, 4, 5, 2, 1]  # 5 favourable of 7: 71.43%; mean 26 / 7 = 3.71
    enps = [10, 9, 8, 7, 3, 9, 10]
    invitations = Invitation.objects.filter(run=run).order_by("id")[:7]
    for invitation, pride, score in zip(invitations, proud, enps, strict=True):
        answer(invitation, opens, eng_proud=pride, enps=score)
    run = services.survey_run_close(run=run, today=opens)

    data = results(api, hr_admin, run)
    row = next(q for q in data["questions"] if q["id"] == question("eng-proud").pk)
    assert (row["answered"], row["favourable"], row["mean"]) == (7, 71, 3.7)
    assert data["engagement_index"] == {"score": 71, "answered": 7, "change": None}
    assert data["enps"]["answered"] == 7

    csv_text = api.as_(hr_admin).get(f"/api/v1/survey-runs/{run.pk}/results.csv").content
    lines = [line for line in csv_text.decode("utf-8-sig").splitlines() if "proud" in line]
    assert lines and all(",71,7,7," in line for line in lines), lines
    assert "71.43" not in csv_text.decode("utf-8-sig")

    client.force_login(hr_admin.user)
    page = client.get(f"/surveys/runs/{run.pk}/results/").content.decode()
    assert "71%" in page and "71.43" not in page and "71.4" not in page
    assert 'data-field="engagement-n">n = 7 answers<' in page
    low, high = data["enps"]["low"], data["enps"]["high"]
    assert f"95% interval {low:g} to {high:g}" in page


@pytest.mark.django_db
def test_a_figure_on_100_answers_or_more_has_one_decimal_and_a_mean_on_30_two():
    from surveys.results import Tally, question_scores, scores

    proud, enps = question("eng-proud"), question("enps")
    tallies = {
        proud.pk: Tally(answered=150, total=571, ge4=101),  # 67.33%, mean 3.807
        enps.pk: Tally(answered=150, ge9=61, le6=30),  # 40.67 - 20 = 20.67
    }
    figures = scores([proud, enps], tallies, 5)
    assert figures["engagement_index"] == 67.3
    assert figures["enps"] == 20.7
    # 20.67 +- 1.96 * sqrt((0.6067 - 0.2067^2) / 150) * 100 = 20.67 +- 12.03
    assert figures["enps_interval"] == (8.6, 32.7)
    assert figures["drivers"][Driver.ENGAGEMENT]["mean"] == 3.81
    (row,) = [r for r in question_scores([proud], tallies, {}, 5) if r["id"] == proud.pk]
    assert (row["favourable"], row["mean"]) == (67.3, 3.81)
