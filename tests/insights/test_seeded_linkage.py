"""On a small generated demo organisation (the demo's own seeders), the linkage page shows the
positive, noisy link between team health and CSAT that the seed data carries."""

import datetime as dt
import random

import pytest
from scipy import stats as scipy_stats

from cxculture.management.seeding.outcomes import seed_outcomes
from cxculture.management.seeding.people import DemoOrg
from cxculture.management.seeding.surveys import seed_surveys
from tests.factories.people import EmployeeFactory, TeamFactory

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def demo(org, hr_admin, executive, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))
    department = TeamFactory(name="Service", parent=org["root"])
    teams, employees = [], []
    for number in range(10):
        team = TeamFactory(name=f"Service desk {number}", parent=department)
        teams.append(team)
        employees += [
            EmployeeFactory(team=team, hire_date=TODAY - dt.timedelta(days=200 + 90 * n))
            for n in range(10)  # enough that most teams pass the anonymity gate (k = 5)
        ]
    health = [0.3 + 0.6 * n / 9 for n in range(10)]
    demo = DemoOrg(
        root=org["root"],
        departments=[department],
        teams=teams,
        employees=employees,
        managers={},
        hr_admin=hr_admin,
        executive=executive,
        values=[],
        policies=[],
        today=TODAY,
        rng=random.Random(11),
        team_health={team.pk: h for team, h in zip(teams, health, strict=True)},
        team_trend={team.pk: 0.0 for team in teams},
    )
    seed_surveys(demo)
    seed_outcomes(demo, target=20_000)  # enough CSAT answers a month for every team
    return demo


def test_the_linkage_page_shows_csat_going_with_engagement_on_seeded_data(client, hr_admin, demo):
    client.force_login(hr_admin.user)

    response = client.get("/insights/linkage/", {"metric": "csat", "window": "same"})

    data = response.context["data"]
    link = data["linkage"]
    xs = [point["x"] for point in data["points"]]
    ys = [point["y"] for point in data["points"]]
    assert link["shown"] is True and link["n"] == len(xs) >= 5
    assert link["pearson"]["r"] == round(scipy_stats.pearsonr(xs, ys).statistic, 3)
    assert link["pearson"]["r"] > 0
    assert link["pearson"]["ci_low"] is not None and link["pearson"]["ci_high"] is not None
    page = response.content.decode()
    assert f"Across {link['n']} teams, a higher engagement index" in page
    assert "goes with a higher Customer satisfaction" in page
    assert '<canvas data-scatter="linkage-points"' in page
