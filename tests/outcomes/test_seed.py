"""The demo's year of outcomes: front-line teams only, a real but noisy link to team health."""

import datetime as dt
import random
import re
from statistics import mean

import pytest
from django.db.models import Avg, Count

from cxculture.management.seeding.outcomes import seed_outcomes
from cxculture.management.seeding.people import DemoOrg
from cxculture.outcomes.models import DailyRollup, OutcomeRecord
from tests.factories.people import EmployeeFactory

TODAY = dt.date(2025, 12, 1)


@pytest.fixture
def demo(org, cast):
    """Three front-line teams of six agents: one thriving, one struggling, one in between."""
    teams = [org["support_a"], org["support_b"], org["sales"]]
    agents = [EmployeeFactory(team=team) for team in teams for _ in range(6)]
    return DemoOrg(
        root=org["root"],
        departments=[org["support"]],
        teams=[*teams, org["support"]],
        employees=[*cast.values(), *agents],
        managers={},
        hr_admin=cast["hr_admin"],
        executive=cast["executive"],
        values=[],
        policies=[],
        today=TODAY,
        rng=random.Random(7),
        team_health={teams[0].pk: 0.9, teams[1].pk: 0.3, teams[2].pk: 0.6},
        team_trend={teams[0].pk: 0.0, teams[1].pk: 0.0, teams[2].pk: 0.03},
    )


def _team_means(code: str) -> dict[int, float]:
    rows = (
        OutcomeRecord.objects.filter(metric__code=code).values("team_id").annotate(m=Avg("value"))
    )
    return {row["team_id"]: row["m"] for row in rows}


def test_the_seed_writes_a_year_of_outcomes_for_front_line_teams(demo, org):
    seed_outcomes(demo, target=12_000)

    total = OutcomeRecord.objects.count()
    assert 10_800 <= total <= 13_200
    first, last = (
        OutcomeRecord.objects.order_by("occurred_at").first().occurred_at.date(),
        OutcomeRecord.objects.order_by("occurred_at").last().occurred_at.date(),
    )
    assert TODAY - dt.timedelta(days=366) <= first and last < TODAY
    teams = set(OutcomeRecord.objects.values_list("team_id", flat=True))
    assert teams == {org["support_a"].pk, org["support_b"].pk, org["sales"].pk}  # not Support
    assert not OutcomeRecord.objects.filter(agent__is_front_line=False).exists()
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == total
    assert set(OutcomeRecord.objects.values_list("metric__code", flat=True)) == {
        "csat",
        "nps",
        "fcr",
        "complaint",
        "churn",
        "qa",
        "handle_time",
    }


def test_healthier_teams_have_better_outcomes(demo, org):
    seed_outcomes(demo, target=12_000)
    thriving, struggling = org["support_a"].pk, org["support_b"].pk

    for code in ("csat", "nps", "fcr", "qa"):
        means = _team_means(code)
        assert means[thriving] > means[struggling], code
    for code in ("complaint", "churn", "handle_time"):
        means = _team_means(code)
        assert means[thriving] < means[struggling], code


def test_volume_follows_the_week_and_refs_match_the_exception_seeder(demo):
    seed_outcomes(demo, target=12_000)
    by_weekday = dict(
        OutcomeRecord.objects.filter(metric__code="handle_time")
        .values_list("occurred_at__week_day")
        .annotate(n=Count("id"))
        .order_by()
    )
    weekdays = mean(by_weekday[day] for day in (2, 3, 4, 5, 6))  # Monday..Friday
    weekend = mean(by_weekday[day] for day in (1, 7))
    assert weekend < weekdays / 2

    refs = list(
        OutcomeRecord.objects.exclude(customer_ref="").values_list("customer_ref", flat=True)
    )
    assert len(refs) > 0.7 * OutcomeRecord.objects.exclude(metric__code="qa").count()
    assert all(re.fullmatch(r"CUST-0[0-4]\d{4}", ref) for ref in refs)
    assert max(refs) <= "CUST-040000"


def test_the_seed_skips_itself_when_outcomes_exist(demo):
    seed_outcomes(demo, target=3000)
    count = OutcomeRecord.objects.count()

    seed_outcomes(demo, target=3000)

    assert OutcomeRecord.objects.count() == count
