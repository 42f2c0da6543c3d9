"""Acceptance: past survey results imported from a CSV link to the outcomes of their period, with
the r and n an analyst gets from the same figures with scipy."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from scipy import stats as scipy_stats

from tests.factories.surveys import ProgramFactory
from tests.insights.conftest import make_teams, outcomes

LINKAGE = "/api/v1/insights/linkage/"
FAVOURABLE = [1, 2, 3, 4, 5, 2]  # of 6 answers per team: engagement 100 * this / 6
CSAT = [2.0, 4.0, 3.0, 4.0, 5.0, 2.0]  # CSAT is given in whole points
PERIOD = ("2025-10-01", "2025-12-31")


@pytest.fixture(autouse=True)
def april():
    with time_machine.travel(dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC), tick=False):
        yield


def _file(teams) -> bytes:
    out = io.StringIO()
    out.write("team,eng-proud,eng-motivated,eng-stay\n")
    for team, favourable in zip(teams, FAVOURABLE, strict=True):
        for n in range(6):
            value = 4 if n < favourable else 2
            out.write(f"{team.external_id},{value},{value},{value}\n")
    return out.getvalue().encode()


def test_an_imported_run_six_months_back_links_to_the_outcomes_of_its_period(api, hr_admin, org):
    teams = make_teams(org["root"], [0] * 6)  # the people are not needed: answers are imported
    program = ProgramFactory(name="Pulse", starts_on=dt.date(2026, 3, 2))
    upload = SimpleUploadedFile("october.csv", _file(teams), content_type="text/csv")
    made = api.as_(hr_admin).post(
        "/api/v1/survey-runs/import/",
        {
            "program": program.pk,
            "opens_on": "2025-10-01",
            "closes_on": "2025-10-14",
            "file": upload,
        },
        format="multipart",
    )
    assert made.status_code == 201, made.content
    outcomes(
        [
            ("csat", team, value, f"2025-{month}-15T12:00:00Z")
            for team, value in zip(teams, CSAT, strict=True)
            for month in ("10", "11", "12")
        ]
        + [("csat", team, 1.0, "2026-02-15T12:00:00Z") for team in teams]  # outside the period
    )

    data = (
        api.as_(hr_admin)
        .get(
            LINKAGE,
            {
                "run": made.json()["id"],
                "metric": "csat",
                "outcome_from": PERIOD[0],
                "outcome_to": PERIOD[1],
            },
        )
        .json()
    )

    # The linkage correlates each team's figure as it is shown: a whole percent on 6 answers.
    xs = [int(100 * favourable / 6 + 0.5) for favourable in FAVOURABLE]
    assert [p["x"] for p in data["points"]] == xs
    expected = scipy_stats.pearsonr(xs, CSAT)
    link = data["linkage"]
    assert link["n"] == 6 and link["shown"] is True
    assert link["pearson"]["r"] == round(expected.statistic, 3)
    assert [p["y"] for p in data["points"]] == CSAT
