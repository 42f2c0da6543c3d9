"""Both insights endpoints cost the same few queries at two data sizes (no per-team or
per-exception queries)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxculture.outcomes.ingest import batches
from cxculture.people.permissions import viewer_for
from recognition import services as recognition_services
from tests.factories.outcomes import OutcomeSourceFactory, record
from tests.factories.people import EmployeeFactory, PolicyFactory, TeamFactory
from tests.insights.conftest import make_teams, outcomes, survey

# The viewer (3), runs (2), metrics, snapshot (3 to 5: fewer once the surveys cache holds the
# closed run), tallies, rollups.
LINKAGE_BUDGET = 13
EXCEPTIONS_BUDGET = 10  # the viewer (3) and seven reads


def _count(api, person, url, params):
    client = api.as_(person)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("teams", [5, 12])
def test_linkage_costs_the_same_queries_for_5_and_12_teams(
    api, hr_admin, org, teams, django_assert_max_num_queries
):
    made = make_teams(org["root"], [5] * teams)
    run = survey(made, [(i % 5) + 1 for i in range(teams)])
    outcomes(
        [
            (code, team, value, f"2026-03-0{day}T12:00:00Z")
            for i, team in enumerate(made)
            for day in (3, 4, 5)
            for code, value in (("csat", 1 + (i + day) % 5), ("churn", (i + day) % 2))
        ]
    )
    params = {"run": run.pk, "metric": "csat"}
    client = api.as_(hr_admin)

    with django_assert_max_num_queries(LINKAGE_BUDGET):
        response = client.get("/api/v1/insights/linkage/", params)

    assert len(response.json()["points"]) == teams


def test_linkage_queries_do_not_grow_with_teams(api, hr_admin, org):
    small = make_teams(org["root"], [5] * 5, prefix="Small")
    big = make_teams(org["root"], [5] * 10, prefix="Big")
    first = survey(small, [1, 2, 3, 4, 5])
    second = survey(big, [1, 2, 3, 4, 5] * 2)
    outcomes([("csat", t, 3.0, "2026-03-05T12:00:00Z") for t in [*small, *big]])
    # Warm both runs: a closed run's snapshot is cached after its first read.
    _count(api, hr_admin, "/api/v1/insights/linkage/", {"run": first.pk})
    _count(api, hr_admin, "/api/v1/insights/linkage/", {"run": second.pk})

    assert _count(api, hr_admin, "/api/v1/insights/linkage/", {"run": first.pk}) == _count(
        api, hr_admin, "/api/v1/insights/linkage/", {"run": second.pk}
    )


def _exceptions(org, hr_admin, count: int) -> None:
    policies = [PolicyFactory(code=f"policy-{n}") for n in range(3)]
    teams = [TeamFactory(parent=org["support"]) for _ in range(3)]
    people = [EmployeeFactory(team=team) for team in teams]
    rows = []
    for n in range(count):
        exception = recognition_services.exception_log(
            employee=people[n % 3],
            policy=policies[n % 3],
            what_was_done="A refund.",
            why="Lost parcel.",
            customer_ref=f"C{n}",
            cost=Decimal("5"),
            occurred_on=dt.date(2026, 3, 1),
        )
        recognition_services.exception_review(
            exception=exception, viewer=viewer_for(hr_admin.user), decision="approved"
        )
        rows.append(
            record(
                "csat",
                4,
                "2026-03-02T12:00:00Z",
                team=teams[n % 3].external_id,
                customer_ref=f"C{n}",
                external_id=f"y{n}",
            )
        )
        rows.append(
            record(
                "csat",
                3,
                "2026-03-02T12:00:00Z",
                team=teams[n % 3].external_id,
                customer_ref=f"Z{n}",
                external_id=f"z{n}",
            )
        )
    batches.outcome_records_ingest(source=OutcomeSourceFactory(), records=rows)


@pytest.mark.parametrize("count", [3, 30])
def test_exceptions_cost_the_same_queries_for_3_and_30_exceptions(
    api, hr_admin, org, count, django_assert_max_num_queries
):
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC), tick=False):
        _exceptions(org, hr_admin, count)
        params = {"since": "2026-01-01"}
        small = _count(api, hr_admin, "/api/v1/insights/exceptions/", params)

        client = api.as_(hr_admin)
        with django_assert_max_num_queries(EXCEPTIONS_BUDGET):
            response = client.get("/api/v1/insights/exceptions/", params)

    assert sum(row["approved"] for row in response.json()["by_policy"]) == count
    assert sum(row["yes_group"]["csat_n"] for row in response.json()["by_policy"]) == count
    assert small <= EXCEPTIONS_BUDGET
