"""The realistic organisation (`realistic_org.py`) through the API: loaded by the real import
paths, its linkage over a chosen period before the first run, its tiny and unanimous teams."""

import datetime as dt

import numpy as np
import pytest
import time_machine
from scipy import stats as scipy_stats

from tests.insights.realistic_org import BY_CODE, NOW, PERIOD, TINY, build_realistic_org


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=False):
        yield build_realistic_org()


def test_the_directory_and_history_load_through_their_mappings(world):
    teams = world.teams
    assert teams["CS-ES"].parent == teams["CS"]
    assert teams["CS-ES"].members.count() == 3
    assert list(teams["CS-ES"].managers.all()) == [world.tiny_manager]
    assert world.past_run.is_imported and world.past_run.closes_on < dt.date(2025, 10, 1)
    assert len(world.outcome_rows) > 1000


def test_the_linkage_over_a_period_before_the_first_run_has_r_with_n_ci_and_p(api, world):
    # The five teams the pulse shows (Chat is unanimous, the tiny ones are under 5), their
    # engagement index and their mean CSAT over the period, from the raw rows.
    shown = ("CS-PN", "CS-PS", "CS-EM", "CS-RT", "BO-RE")
    xs, ys = [], []
    for code in shown:
        unit = BY_CODE[code]
        xs.append(round(100 * unit.agreeing / (unit.people - unit.silent)))
        scores = [
            score
            for desk, at, score in world.outcome_rows
            if desk == code and PERIOD[0] <= at.date() <= PERIOD[1]
        ]
        ys.append(float(np.mean(scores)))
    pearson = scipy_stats.pearsonr(xs, ys)

    data = (
        api.as_(world.hr_admin)
        .get(
            "/api/v1/insights/linkage/",
            {
                "run": world.pulse_run.pk,
                "metric": "csat",
                "outcome_from": str(PERIOD[0]),
                "outcome_to": str(PERIOD[1]),
            },
        )
        .json()
    )

    link = data["linkage"]
    assert {point["team_name"] for point in data["points"]} == {
        world.teams[code].name for code in shown
    }
    assert link["n"] == 5 and link["shown"] is True
    assert link["pearson"]["r"] == pytest.approx(pearson.statistic, abs=0.001)
    low, high = pearson.confidence_interval(0.95)
    assert link["pearson"]["ci_low"] == pytest.approx(low, abs=0.001)
    assert link["pearson"]["ci_high"] == pytest.approx(high, abs=0.001)
    assert link["pearson"]["p"] == pytest.approx(pearson.pvalue, rel=1e-2)


def test_tiny_and_unanimous_teams_show_no_figure_in_the_results_api(api, world):
    def results(code):
        return (
            api.as_(world.hr_admin)
            .get(
                f"/api/v1/survey-runs/{world.pulse_run.pk}/results/",
                {"subtree": world.teams[code].pk},
            )
            .json()
        )

    for code in TINY:
        data = results(code)
        assert (data["reportable"], data["respondents"]) == (False, None), code
        assert data["reason"] == "Hidden to protect anonymity"
        assert [point["shown"] for point in data["trend"]] == [False, False]
    chat = results("CS-CH")  # six respondents, every answer favourable, nobody silent
    assert (chat["reportable"], chat["respondents"]) == (True, 6)
    assert chat["engagement_index"]["score"] is None
    assert {d["favourable"] for d in chat["drivers"]} == {None}
    assert {q["shown"] for q in chat["questions"]} == {False}
    north = results("CS-PN")  # 9 of 11 agree, against 8 of 11 in the imported past run
    assert north["engagement_index"] == {"score": 82.0, "answered": 11, "change": 9.0}
