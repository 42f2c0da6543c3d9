"""EX-CX linkage: the right teams, the right outcome days, the right statistics."""

import datetime as dt
import re

import pytest
from scipy import stats as scipy_stats

from surveys import services as survey_services
from surveys.models import Invitation, Question
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run
from tests.insights.conftest import CLOSES, OPENS, make_teams, outcomes, survey

LINKAGE = "/api/v1/insights/linkage/"


@pytest.fixture
def region(org):
    return org["root"]


def _get(api, person, **params):
    response = api.as_(person).get(LINKAGE, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_csat_goes_with_engagement_across_six_teams(api, hr_admin, region):
    teams = make_teams(region, [5] * 6)
    run = survey(teams, [0, 1, 2, 3, 4, 5])  # engagement 0, 20, ..., 100
    csat = [2.0, 3.0, 2.0, 4.0, 4.0, 5.0]
    outcomes(
        [
            ("csat", team, value, "2026-03-05T12:00:00Z")
            for team, value in zip(teams, csat, strict=True)
        ]
    )

    data = _get(api, hr_admin, run=run.pk, metric="csat")

    assert [(p["team_name"], p["x"], p["y"]) for p in data["points"]] == [
        (f"Desk {n}", 20.0 * (n - 1), csat[n - 1]) for n in range(1, 7)
    ]
    expected = scipy_stats.pearsonr([0, 20, 40, 60, 80, 100], csat)
    low, high = expected.confidence_interval(0.95)
    link = data["linkage"]
    assert link["n"] == 6 and link["shown"] is True
    assert link["pearson"]["r"] == round(expected.statistic, 3)
    assert (link["pearson"]["ci_low"], link["pearson"]["ci_high"]) == (
        round(low, 3),
        round(high, 3),
    )
    assert link["spearman"]["r"] == round(scipy_stats.spearmanr([0, 1, 2, 3, 4, 5], csat)[0], 3)
    assert "goes with a higher" in data["summary"] and "cause" not in data["summary"].replace(
        "does not show that one causes the other", ""
    )
    assert all(p["respondents"] == 5 for p in data["points"])


def test_a_team_under_the_anonymity_threshold_never_appears_as_a_point(api, hr_admin, region):
    teams = make_teams(region, [5, 5, 5, 5, 5, 5, 3])
    small = teams[-1]
    run = survey(teams, [1, 2, 3, 4, 5, 2, 3])
    outcomes(
        [("csat", team, 3.0 + (i % 3), "2026-03-05T12:00:00Z") for i, team in enumerate(teams)]
    )

    data = _get(api, hr_admin, run=run.pk, metric="csat")

    ids = {point["team"] for point in data["points"]}
    assert small.pk not in ids
    assert ids <= {team.pk for team in teams[:-1]}
    assert data["linkage"]["n"] == len(ids) >= 5
    assert all(point["respondents"] >= 5 for point in data["points"])
    assert small.name not in str(data)


def test_fewer_than_five_teams_hide_the_correlation_and_say_why(api, hr_admin, region):
    teams = make_teams(region, [5] * 4)
    run = survey(teams, [1, 2, 3, 4])
    outcomes([("csat", team, 3.0 + i % 2, "2026-03-05T12:00:00Z") for i, team in enumerate(teams)])

    data = _get(api, hr_admin, run=run.pk, metric="csat")

    assert data["points"] == []
    assert data["linkage"]["shown"] is False
    assert data["linkage"]["pearson"]["r"] is None
    assert data["linkage"]["reason"].startswith("Only 4 teams")


# Outcome days around a run that opens on 2 March 2026 and closes on 8 March 2026.
DAYS = [
    ("2026-02-06", 1.0),  # reverse only: the 90 days before opening end on 1 March
    ("2026-03-08", 5.0),  # same period only: the 30 days up to the close start on 7 February
    ("2026-03-09", 4.0),  # 30, 60 and 90 days later
    ("2026-04-08", 2.0),  # 60 and 90 days later (day 31 after the close)
    ("2026-06-06", 3.0),  # 90 days later: the last day
    ("2026-06-07", 1.0),  # nowhere: day 91
    ("2025-12-01", 1.0),  # nowhere: day 91 before opening
]
EXPECTED = {"same": 5.0, "30": 4.0, "60": 3.0, "90": 3.0, "reverse": 1.0}


@pytest.mark.parametrize("window", list(EXPECTED))
def test_each_window_picks_the_right_outcome_days(api, hr_admin, region, window):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    outcomes([("csat", team, value, f"{day}T12:00:00Z") for team in teams for day, value in DAYS])

    data = _get(api, hr_admin, run=run.pk, metric="csat", window=window)

    assert [point["y"] for point in data["points"]] == [EXPECTED[window]] * 5
    # Every team has the same outcome: nothing can be computed, and the page says so.
    assert data["linkage"]["reason"] == (
        "No correlation can be computed: every team has the same value."
    )
    assert data["linkage"]["pearson"]["r"] is None
    if window == "same":
        assert (data["window"]["start"], data["window"]["end"]) == ("2026-02-07", str(CLOSES))
    if window == "reverse":
        assert (data["window"]["start"], data["window"]["end"]) == ("2025-12-02", "2026-03-01")


def test_nps_and_yes_no_metrics_compare_the_score_and_the_rate(api, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    at = "2026-03-05T12:00:00Z"
    rows = []
    for i, team in enumerate(teams):
        rows += [("nps", team, 10.0, at)] * (i + 1) + [("nps", team, 3.0, at)]
        rows += [("churn", team, 1.0, at)] + [("churn", team, 0.0, at)] * 3
    outcomes(rows)

    nps = _get(api, hr_admin, run=run.pk, metric="nps")
    churn = _get(api, hr_admin, run=run.pk, metric="churn")

    # Team i: (i+1) promoters and one detractor out of i+2.
    assert [p["y"] for p in nps["points"]] == [round(100 * i / (i + 2), 3) for i in range(5)]
    assert [p["y"] for p in churn["points"]] == [25.0] * 5


def test_bad_parameters_get_clear_errors(api, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])

    for params, field in (
        ({"run": "x"}, "run"),
        ({"run": 999999}, "run"),
        ({"run": run.pk, "window": "45"}, "window"),
        ({"run": run.pk, "metric": "nope"}, "metric"),
        ({"run": run.pk, "driver": "nope"}, "driver"),
    ):
        response = api.as_(hr_admin).get(LINKAGE, params)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]


def test_a_manager_sees_only_the_teams_they_lead(api, region, org):
    north = TeamFactory(name="North", parent=region)
    south = TeamFactory(name="South", parent=region)
    led = make_teams(north, [5] * 5, prefix="North desk")
    other = make_teams(south, [5] * 2, prefix="South desk")
    boss = EmployeeFactory(team=north, manages=[north])
    run = survey([*led, *other], [1, 2, 3, 4, 5, 1, 5])
    outcomes(
        [("csat", t, 2.0 + i % 3, "2026-03-05T12:00:00Z") for i, t in enumerate([*led, *other])]
    )

    data = _get(api, boss, run=run.pk, metric="csat")

    assert {p["team"] for p in data["points"]} == {team.pk for team in led}
    assert data["linkage"]["n"] == 5


def test_the_page_draws_a_chart_from_a_data_island_and_lists_every_point(client, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    outcomes([("csat", t, 1.0 + i, "2026-03-05T12:00:00Z") for i, t in enumerate(teams)])
    client.force_login(hr_admin.user)

    page = client.get("/insights/linkage/", {"run": run.pk, "metric": "csat"}).content.decode()

    assert '<script id="linkage-points" type="application/json">' in page
    assert '<canvas data-scatter="linkage-points"' in page
    assert '<script src="/static/insights/linkage.js" defer></script>' in page
    for team in teams:
        assert f'<th scope="row">{team.name}</th>' in page
    assert "goes with a higher" in page
    assert "<script>" not in page


def test_the_page_without_any_closed_run_says_so(client, executive):
    client.force_login(executive.user)

    response = client.get("/insights/linkage/")

    assert response.status_code == 200
    assert "No survey run has closed yet" in response.content.decode()


def test_the_window_is_marked_unfinished_while_it_runs(api, hr_admin, region, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC))
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])

    assert _get(api, hr_admin, run=run.pk, window="30")["window"]["complete"] is False
    assert _get(api, hr_admin, run=run.pk, window="same")["window"]["complete"] is True


def test_a_driver_score_can_stand_in_for_the_engagement_index(api, hr_admin, region):
    teams = make_teams(region, [6] * 5)  # the sixth does not answer
    asked = list(Question.objects.filter(code__in=["eng-proud", "rec-noticed"]))
    run = open_run(ProgramFactory(audience="teams", teams=teams, questions=asked), OPENS)
    for number, team in enumerate(teams):
        invitations = Invitation.objects.filter(run=run, team_path=team.path).order_by("id")
        for index, invitation in enumerate(invitations[:5]):
            # Recognition: `number` of 5 agree; engagement: everyone agrees.
            answer(invitation, OPENS, eng_proud=5, rec_noticed=4 if index < number else 1)
    run = survey_services.survey_run_close(run=run, today=CLOSES)
    outcomes([("csat", t, 1.0 + i, "2026-03-05T12:00:00Z") for i, t in enumerate(teams)])

    by_recognition = _get(api, hr_admin, run=run.pk, metric="csat", driver="recognition")
    by_engagement = _get(api, hr_admin, run=run.pk, metric="csat")

    assert [p["x"] for p in by_recognition["points"]] == [0.0, 20.0, 40.0, 60.0, 80.0]
    assert by_recognition["linkage"]["pearson"]["r"] == 1.0
    assert "higher recognition score" in by_recognition["summary"]
    assert {"code": "recognition", "label": "Recognition"} in by_recognition["drivers"]
    assert by_engagement["linkage"]["reason"] == (
        "No correlation can be computed: every team has the same value."
    )


def test_the_page_offers_short_window_names_and_describes_the_chosen_one(client, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    client.force_login(hr_admin.user)

    page = client.get("/insights/linkage/", {"run": run.pk, "window": "30"}).content.decode()

    window = re.search(r'<select name="window".*?</select>', page, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", window) == [
        "Run + 90 days",
        "Same period",
        "30 days later",
        "60 days later",
        "90 days later",
        "Reverse",
    ]
    assert 'class="filters filters-wide"' in page
    assert "Outcomes in the 30 days after the run" in page


# --- The outcome period the viewer chooses -----------------------------------------------------


def test_outcome_history_from_before_the_first_run_links_in_a_chosen_period(api, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    # Six months before the run opened: no preset window reaches it.
    outcomes([("csat", t, 1.0 + i, "2025-09-15T12:00:00Z") for i, t in enumerate(teams)])
    for window in ("same", "30", "60", "90", "reverse"):
        assert _get(api, hr_admin, run=run.pk, metric="csat", window=window)["linkage"]["n"] == 0

    data = _get(
        api, hr_admin, run=run.pk, metric="csat", outcome_from="2025-09-01", outcome_to="2025-09-30"
    )

    assert data["linkage"]["n"] == 5
    assert [p["y"] for p in data["points"]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert data["window"]["code"] == "custom"
    assert (data["window"]["start"], data["window"]["end"]) == ("2025-09-01", "2025-09-30")
    assert "2025-09-01" in data["window"]["label"] and "2025-09-30" in data["window"]["label"]


def test_one_chosen_date_keeps_the_other_end_of_the_default_period(api, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])

    data = _get(api, hr_admin, run=run.pk, outcome_from="2025-12-01")

    assert (data["window"]["start"], data["window"]["end"]) == ("2025-12-01", "2026-06-06")


def test_by_default_the_outcomes_are_the_runs_period_and_the_following_quarter(
    api, hr_admin, region
):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    rows = []
    for i, team in enumerate(teams):
        rows += [
            ("csat", team, 1.0, "2026-03-01T12:00:00Z"),  # the day before opening: out
            ("csat", team, 1.0 + i, "2026-03-02T12:00:00Z"),  # opening day: in
            ("csat", team, 1.0 + i, "2026-06-06T12:00:00Z"),  # 90 days after closing: in
            ("csat", team, 5.0, "2026-06-07T12:00:00Z"),  # day 91: out
        ]
    outcomes(rows)

    data = _get(api, hr_admin, run=run.pk, metric="csat")

    assert data["window"]["code"] == "run"
    assert (data["window"]["start"], data["window"]["end"]) == (str(OPENS), "2026-06-06")
    assert [(p["y"], p["outcome_n"]) for p in data["points"]] == [(1.0 + i, 2) for i in range(5)]
    assert {"code": "run", "label": data["window"]["label"]} in data["windows"]
    assert {w["code"] for w in data["windows"]} >= {"same", "30", "60", "90", "reverse"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"outcome_from": "2026-13-01"}, "outcome_from"),
        ({"outcome_to": "yesterday"}, "outcome_to"),
        ({"outcome_from": "2026-05-01", "outcome_to": "2026-04-30"}, "outcome_from"),
        ({"window": "30", "outcome_from": "2026-01-01"}, "window"),
    ],
)
def test_bad_or_reversed_outcome_dates_get_a_400_naming_the_field(
    api, hr_admin, region, params, field
):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])

    response = api.as_(hr_admin).get(LINKAGE, {"run": run.pk, **params})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_the_page_offers_presets_and_a_chosen_period(client, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    outcomes([("csat", t, 1.0 + i, "2025-09-15T12:00:00Z") for i, t in enumerate(teams)])
    client.force_login(hr_admin.user)

    page = client.get(
        "/insights/linkage/",
        {"run": run.pk, "metric": "csat", "outcome_from": "2025-09-01", "outcome_to": "2025-09-30"},
    ).content.decode()

    assert 'name="outcome_from" id="id_outcome_from" value="2025-09-01"' in page
    assert 'name="outcome_to" id="id_outcome_to" value="2025-09-30"' in page
    assert "outcomes from 2025-09-01 to 2025-09-30" in page
    assert "Across 5 teams" in page
    bad = client.get("/insights/linkage/", {"run": run.pk, "outcome_from": "2026-99-01"})
    assert bad.status_code == 400
    assert "Give outcome_from as a date (YYYY-MM-DD)." in bad.content.decode()


def test_the_pages_buttons_choose_between_the_preset_and_the_dates(client, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])
    client.force_login(hr_admin.user)
    form = {"run": run.pk, "window": "30", "outcome_from": "2025-09-01", "outcome_to": "2025-09-30"}

    preset = client.get("/insights/linkage/", {**form, "period": "preset"})
    dates = client.get("/insights/linkage/", {**form, "period": "dates"})

    assert preset.status_code == dates.status_code == 200
    assert preset.context["data"]["window"]["code"] == "30"
    assert dates.context["data"]["window"]["start"] == dt.date(2025, 9, 1)


# --- Which engagement figure, and the p-values -------------------------------------------------


def test_engagement_is_the_favourable_share_unless_the_mean_is_asked_for(api, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])  # agreeing people answer 4, the others 2
    outcomes(
        [
            ("csat", t, [2.0, 4.0, 3.0, 5.0, 4.0][i], "2026-03-05T12:00:00Z")
            for i, t in enumerate(teams)
        ]
    )

    favourable = _get(api, hr_admin, run=run.pk, metric="csat")
    mean = _get(api, hr_admin, run=run.pk, metric="csat", engagement="mean")

    assert favourable["engagement"]["code"] == "favourable"
    assert "% of answers 4 or 5" in favourable["engagement"]["label"]
    assert [p["x"] for p in favourable["points"]] == [20.0, 40.0, 60.0, 80.0, 100.0]
    assert mean["engagement"]["code"] == "mean"
    assert "mean answer on the 1-5 scale" in mean["engagement"]["label"]
    assert [p["x"] for p in mean["points"]] == [2.4, 2.8, 3.2, 3.6, 4.0]
    # The same order of teams, so the same correlation either way here.
    assert mean["linkage"]["pearson"]["r"] == favourable["linkage"]["pearson"]["r"]
    assert {e["code"] for e in mean["engagements"]} == {"favourable", "mean"}


def test_an_unknown_engagement_figure_is_a_400(api, hr_admin, region):
    teams = make_teams(region, [5] * 5)
    run = survey(teams, [1, 2, 3, 4, 5])

    response = api.as_(hr_admin).get(LINKAGE, {"run": run.pk, "engagement": "median"})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["engagement"]


def test_the_page_states_the_definition_and_each_p_value(client, hr_admin, region):
    teams = make_teams(region, [5] * 6)
    run = survey(teams, [0, 1, 2, 3, 4, 5])
    csat = [2.0, 3.0, 2.0, 4.0, 4.0, 5.0]
    outcomes([("csat", t, v, "2026-03-05T12:00:00Z") for t, v in zip(teams, csat, strict=True)])
    client.force_login(hr_admin.user)

    page = client.get("/insights/linkage/", {"run": run.pk, "metric": "csat"}).content.decode()
    mean_page = client.get(
        "/insights/linkage/", {"run": run.pk, "metric": "csat", "engagement": "mean"}
    ).content.decode()

    xs = [0, 20, 40, 60, 80, 100]
    pearson_p = scipy_stats.pearsonr(xs, csat).pvalue
    spearman_p = scipy_stats.spearmanr(xs, csat).pvalue
    assert "Engagement is measured as the favourable share" in page
    assert f"p = {pearson_p:.3f}" in page
    assert f"p = {spearman_p:.3f}" in page
    assert "Engagement is measured as the mean answer" in mean_page
    assert "(mean, 1-5)" in mean_page
