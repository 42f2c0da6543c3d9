"""Monthly trends of the customer metrics, read from the daily rollups: value and n per month,
for the organisation, a subtree or the viewer's own scope."""

import datetime as dt
import random

import pytest
import time_machine
from django.db.models.functions import TruncMonth

from cxculture.outcomes import selectors
from cxculture.outcomes.ingest import batches, rollups
from cxculture.outcomes.models import DailyRollup, Metric
from cxculture.people.permissions import viewer_for
from tests.factories.outcomes import record

SPRING = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 3, 31)}


@pytest.fixture
def loaded(metrics, source, org):
    rows = [
        # Support A: CSAT 4 and 2 in January, 5 in March; NPS one promoter, one detractor.
        ("csat", 4, "2026-01-10T12:00:00Z", "SUP-A"),
        ("csat", 2, "2026-01-20T12:00:00Z", "SUP-A"),
        ("csat", 5, "2026-03-03T12:00:00Z", "SUP-A"),
        ("nps", 10, "2026-02-01T12:00:00Z", "SUP-A"),
        ("nps", 3, "2026-02-02T12:00:00Z", "SUP-A"),
        ("fcr", 1, "2026-02-05T12:00:00Z", "SUP-A"),
        ("fcr", 0, "2026-02-06T12:00:00Z", "SUP-A"),
        ("fcr", 1, "2026-02-07T12:00:00Z", "SUP-A"),
        ("fcr", 1, "2026-02-08T12:00:00Z", "SUP-A"),
        # Sales: CSAT 1 in January (only the organisation sees it with Support).
        ("csat", 1, "2026-01-15T12:00:00Z", "SAL"),
        ("churn", 1, "2026-01-15T12:00:00Z", "SAL"),
        # Outside the period.
        ("csat", 1, "2025-12-31T12:00:00Z", "SUP-A"),
    ]
    batches.outcome_records_ingest(
        source=source,
        records=[
            record(code, value, at, team=team, external_id=f"t{n}")
            for n, (code, value, at, team) in enumerate(rows)
        ],
    )


def _by_code(trends):
    return {trend["code"]: trend for trend in trends}


def test_each_customer_metric_has_a_value_and_n_per_month(loaded, hr_admin, org):
    trends = _by_code(
        selectors.outcome_monthly_trends(viewer_for(hr_admin.user), team=org["support"], **SPRING)
    )

    assert list(trends) == ["csat", "nps", "fcr", "complaint", "churn"]
    assert [(p["month"], p["value"], p["n"]) for p in trends["csat"]["points"]] == [
        (dt.date(2026, 1, 1), 3.0, 2),
        (dt.date(2026, 2, 1), None, 0),
        (dt.date(2026, 3, 1), 5.0, 1),
    ]
    assert [(p["value"], p["n"]) for p in trends["nps"]["points"]] == [
        (None, 0),
        (0.0, 2),
        (None, 0),
    ]
    assert [(p["value"], p["n"]) for p in trends["fcr"]["points"]] == [
        (None, 0),
        (75.0, 4),
        (None, 0),
    ]
    assert all(p["n"] == 0 for p in trends["churn"]["points"])
    assert trends["csat"]["unit"] == "mean, 1-5"
    assert trends["fcr"]["unit"] == "% yes"
    assert trends["nps"]["unit"] == "NPS score, -100 to 100"
    assert trends["complaint"]["higher_is_better"] is False


def test_the_organisation_adds_up_every_team(loaded, hr_admin):
    trends = _by_code(
        selectors.outcome_monthly_trends(viewer_for(hr_admin.user), team=None, **SPRING)
    )

    assert (trends["csat"]["points"][0]["value"], trends["csat"]["points"][0]["n"]) == (
        pytest.approx(7 / 3, abs=0.01),
        3,
    )
    assert (trends["churn"]["points"][0]["value"], trends["churn"]["points"][0]["n"]) == (100.0, 1)


def test_without_a_team_each_person_reads_their_own_scope(loaded, employee, manager):
    own = _by_code(selectors.outcome_monthly_trends(viewer_for(employee.user), team=None, **SPRING))
    led = _by_code(selectors.outcome_monthly_trends(viewer_for(manager.user), team=None, **SPRING))

    assert own["csat"]["points"][0]["n"] == 2  # Support A only, never Sales
    assert led["csat"]["points"][0]["n"] == 2
    assert own["churn"]["points"][0]["n"] == 0


def _trends_from_the_days(viewer, *, team, start, end):
    """The trends as they were read before the monthly rollups: one GROUP BY of the daily
    rollups by month (what reading whole months from the monthly rollups must equal)."""
    metrics = {m.code: m for m in Metric.objects.filter(code__in=selectors.TREND_METRICS)}
    rollups = DailyRollup.objects.filter(
        selectors.outcome_teams_q(viewer, "team__"), day__gte=start, day__lte=end
    )
    if team is not None:
        rollups = rollups.filter(team__path__startswith=team.path)
    sums = {
        (row["metric_id"], row["month"]): row
        for row in rollups.annotate(month=TruncMonth("day"))
        .values("metric_id", "month")
        .annotate(**selectors._SUMS)
        .order_by()
    }
    found = {}
    for code in selectors.TREND_METRICS:
        metric = metrics[code]
        points = []
        for month in selectors._months(start, end):
            summary = selectors._summary_from(metric, sums.get((metric.pk, month), {}))
            points.append({"month": month, "value": selectors.trend_value(summary), "n": summary.n})
        found[code] = points
    return found


@pytest.fixture
def a_year(metrics, source, org):
    rng = random.Random(7)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = []
    for n in range(1500):
        code, value = rng.choice(
            [
                ("csat", rng.randint(1, 5)),
                ("nps", rng.randint(0, 10)),
                ("fcr", rng.choice(["yes", "no"])),
                ("complaint", rng.choice(["yes", "no"])),
                ("churn", rng.choice(["yes", "no"])),
            ]
        )
        at = start + dt.timedelta(minutes=rng.randint(0, 400 * 24 * 60))
        team = rng.choice(["SUP-A", "SUP-B", "SAL"])
        rows.append(record(code, value, at.isoformat(), team=team, external_id=f"y{n}"))
    batches.outcome_records_ingest(source=source, records=rows[:900])
    rollups.rollups_rebuild(since=dt.date(2025, 6, 17))  # mid-month
    batches.outcome_records_ingest(source=source, records=rows[600:])  # 300 duplicates


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),  # whole months only
        (dt.date(2025, 2, 7), dt.date(2026, 2, 6)),  # a year to a day, partial at both ends
        (dt.date(2025, 3, 1), dt.date(2025, 9, 15)),  # partial at the end
        (dt.date(2025, 3, 2), dt.date(2025, 3, 30)),  # within one month
        (dt.date(2025, 4, 30), dt.date(2025, 5, 1)),  # two partial months, no whole one
        (dt.date(2025, 6, 1), dt.date(2025, 6, 30)),  # one whole month
    ],
)
def test_trends_from_monthly_rollups_equal_the_sums_of_the_days(
    a_year, org, hr_admin, manager, start, end
):
    for viewer, team in [
        (viewer_for(hr_admin.user), None),
        (viewer_for(hr_admin.user), org["support"]),
        (viewer_for(manager.user), None),
        (viewer_for(manager.user), org["support_a"]),
    ]:
        trends = selectors.outcome_monthly_trends(viewer, team=team, start=start, end=end)
        expected = _trends_from_the_days(viewer, team=team, start=start, end=end)

        assert {trend["code"]: trend["points"] for trend in trends} == expected
        assert sum(p["n"] for trend in trends for p in trend["points"]) > 0


def test_a_period_to_today_reads_this_month_whole_and_equals_the_sums_of_its_days(
    metrics, source, org, hr_admin
):
    # Imported on 15 September: nothing is dated after today, which is what lets this
    # month's monthly cell stand for its days so far.
    today = dt.datetime(2025, 9, 15, 12, 0, tzinfo=dt.UTC)
    rng = random.Random(11)
    with time_machine.travel(today, tick=False):
        rows = [
            record(
                "csat",
                rng.randint(1, 5),
                (today - dt.timedelta(minutes=rng.randint(0, 90 * 24 * 60))).isoformat(),
                team=rng.choice(["SUP-A", "SUP-B", "SAL"]),
                external_id=f"t{n}",
            )
            for n in range(400)
        ]
        batches.outcome_records_ingest(source=source, records=rows)
        viewer = viewer_for(hr_admin.user)
        start, end = dt.date(2025, 7, 10), dt.date(2025, 9, 15)

        trends = selectors.outcome_monthly_trends(viewer, team=None, start=start, end=end)
        expected = _trends_from_the_days(viewer, team=None, start=start, end=end)

    assert {trend["code"]: trend["points"] for trend in trends} == expected
    september = next(t for t in trends if t["code"] == "csat")["points"][-1]
    assert september["month"] == dt.date(2025, 9, 1) and september["n"] > 0
