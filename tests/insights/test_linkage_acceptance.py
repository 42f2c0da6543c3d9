"""Acceptance: six months of outcome history, loaded through the outcomes batch service before
the first survey run, links to the run's team figures in a period the viewer chooses — with the
r, n, CI and p that an analyst gets from the raw records with numpy and scipy."""

import datetime as dt
import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tests.insights.conftest import make_teams, outcomes, survey

LINKAGE = "/api/v1/insights/linkage/"
FAVOURABLE = [1, 3, 2, 5, 0, 4, 2, 5, 3, 1]  # of 5 people per team: engagement 20 * this
FIRST_DAY = dt.date(2025, 9, 1)  # six months before the run opens on 2 March 2026
PERIOD = (dt.date(2025, 10, 1), dt.date(2026, 1, 31))


@pytest.fixture
def history(org):
    """Ten teams, a closed run with every team reportable, and CSAT and first-contact resolution
    every few days from September 2025 to February 2026, better where engagement is higher."""
    teams = make_teams(org["root"], [5] * len(FAVOURABLE))
    run = survey(teams, FAVOURABLE)
    rng = random.Random(7)
    rows = []
    for team, favourable in zip(teams, FAVOURABLE, strict=True):
        day = FIRST_DAY
        while day < dt.date(2026, 3, 1):
            at = f"{day}T{rng.randint(8, 17):02d}:30:00Z"
            rows.append(
                (
                    "csat",
                    team,
                    float(round(min(5, max(1, rng.gauss(2.6 + 0.35 * favourable, 1.0))))),
                    at,
                )
            )
            rows.append(("fcr", team, 1.0 if rng.random() < 0.55 + 0.06 * favourable else 0.0, at))
            day += dt.timedelta(days=rng.randint(1, 4))
    outcomes(rows)
    return teams, run, rows


def _expected(teams, rows, metric):
    """Each team's outcome over the period from the raw rows, then scipy's statistics."""
    xs, ys = [], []
    for team, favourable in zip(teams, FAVOURABLE, strict=True):
        values = [
            value
            for code, who, value, at in rows
            if code == metric
            and who == team
            and PERIOD[0] <= dt.date.fromisoformat(at[:10]) <= PERIOD[1]
        ]
        xs.append(20.0 * favourable)
        ys.append(float(np.mean(values)) * (100 if metric == "fcr" else 1))
    return xs, ys


@pytest.mark.parametrize("metric", ["csat", "fcr"])
def test_six_months_of_history_link_to_the_run_in_a_chosen_period(api, hr_admin, history, metric):
    teams, run, rows = history
    xs, ys = _expected(teams, rows, metric)
    pearson = scipy_stats.pearsonr(xs, ys)
    spearman = scipy_stats.spearmanr(xs, ys)
    n = len(teams)
    spread = 1.959963984540054 * math.sqrt((1 + spearman.statistic**2 / 2) / (n - 3))
    spearman_ci = (
        math.tanh(math.atanh(spearman.statistic) - spread),
        math.tanh(math.atanh(spearman.statistic) + spread),
    )

    response = api.as_(hr_admin).get(
        LINKAGE,
        {
            "run": run.pk,
            "metric": metric,
            "outcome_from": str(PERIOD[0]),
            "outcome_to": str(PERIOD[1]),
        },
    )

    assert response.status_code == 200, response.content
    data = response.json()
    link = data["linkage"]
    assert (data["window"]["start"], data["window"]["end"]) == tuple(map(str, PERIOD))
    assert link["n"] == n == 10 and link["shown"] is True
    assert [p["y"] for p in data["points"]] == pytest.approx(
        [round(y, 3) for _, y in sorted(zip([t.name for t in teams], ys, strict=True))]
    )
    assert link["pearson"]["r"] == round(pearson.statistic, 3)
    low, high = pearson.confidence_interval(0.95)
    assert (link["pearson"]["ci_low"], link["pearson"]["ci_high"]) == (
        round(low, 3),
        round(high, 3),
    )
    assert link["pearson"]["p"] == pytest.approx(pearson.pvalue, rel=1e-3)
    assert link["spearman"]["r"] == round(spearman.statistic, 3)
    assert (link["spearman"]["ci_low"], link["spearman"]["ci_high"]) == (
        round(spearman_ci[0], 3),
        round(spearman_ci[1], 3),
    )
    assert link["spearman"]["p"] == pytest.approx(spearman.pvalue, rel=1e-3)
    assert link["pearson"]["r"] > 0.5  # the generated link is strong enough to see
    assert data["engagement"]["code"] == "favourable"


def test_the_same_history_never_links_to_windows_after_the_run(api, hr_admin, history):
    _teams, run, _rows = history

    for window in ("run", "30", "60", "90"):
        data = api.as_(hr_admin).get(LINKAGE, {"run": run.pk, "metric": "csat", "window": window})
        assert data.json()["linkage"]["n"] == 0
