"""The culture dashboard keeps its figures for CXC_DASHBOARD_CACHE_SECONDS per scope,
department and period; what waits for the viewer is read fresh, and scopes never share."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxculture.insights.culture import STALE_LIFETIMES, _figures_cache_key
from cxculture.insights.tasks import culture_figures_refresh_task
from cxculture.people.permissions import viewer_for
from tests.factories.actions import make_action
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import give

CULTURE = "/api/v1/insights/culture/"
NOW = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def cached_for_five_minutes(settings):
    settings.CXC_DASHBOARD_CACHE_SECONDS = 300
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _get(api, person, **params):
    with CaptureQueriesContext(connection) as queries:
        response = api.as_(person).get(CULTURE, params)
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_figures_are_kept_for_their_lifetime_then_shown_while_a_worker_recomputes_them(
    api, clock, hr_admin, employee, teammate
):
    give(employee, teammate)
    first, cold_queries = _get(api, hr_admin)
    give(teammate, employee)

    clock.shift(dt.timedelta(seconds=299))
    kept, warm_queries = _get(api, hr_admin)
    clock.shift(dt.timedelta(seconds=2))
    # Stale: shown as they were, with their time, and a refresh is queued (run at once here:
    # tests have no broker).
    stale, _ = _get(api, hr_admin)
    fresh, _ = _get(api, hr_admin)

    assert first["recognition"]["total"] == 1
    assert kept["recognition"]["total"] == 1
    assert kept["computed_at"] == first["computed_at"]
    assert warm_queries < cold_queries
    assert stale["recognition"]["total"] == 1
    assert stale["computed_at"] == first["computed_at"]
    assert fresh["recognition"]["total"] == 2
    assert fresh["computed_at"] > first["computed_at"]


def test_a_refresh_is_queued_once_per_lifetime_however_many_look(
    api, clock, hr_admin, executive, monkeypatch
):
    queued = []
    monkeypatch.setattr(culture_figures_refresh_task, "delay", lambda *args: queued.append(args))
    _get(api, hr_admin)
    clock.shift(dt.timedelta(seconds=301))

    _get(api, hr_admin)
    _get(api, executive)  # the same scope (the organisation): the same figures
    _get(api, hr_admin, months=6)  # another period: computed now, nothing stale

    assert queued == [(hr_admin.user_id, None, 12)]


def test_figures_past_their_keeping_time_are_recomputed_by_the_request(
    api, clock, hr_admin, employee, teammate
):
    give(employee, teammate)
    first, _ = _get(api, hr_admin)
    give(teammate, employee)
    clock.shift(dt.timedelta(seconds=300 * STALE_LIFETIMES + 1))

    again, _ = _get(api, hr_admin)

    assert again["recognition"]["total"] == 2
    assert again["computed_at"] > first["computed_at"]


def test_what_waits_for_the_viewer_is_never_cached(api, clock, cast, org):
    manager = cast["manager"]
    _get(api, manager)
    make_action(by=manager, team=org["support_a"], title="Fix the macro")

    data, _ = _get(api, manager)

    assert data["my_work"]["actions"]["count"] == 1
    assert data["my_work"]["actions"]["items"][0]["title"] == "Fix the macro"


def test_managers_of_different_subtrees_never_share_figures(
    api, clock, cast, org, employee, teammate, outsider, sales_person
):
    sales_lead = EmployeeFactory(team=org["sales"], manages=[org["sales"]])
    give(employee, teammate)
    give(teammate, employee)
    give(outsider, sales_person)

    support, _ = _get(api, cast["manager"])
    sales, _ = _get(api, sales_lead)

    assert support["department"]["id"] == org["support"].pk
    assert sales["department"]["id"] == org["sales"].pk
    assert support["recognition"]["total"] == 2
    assert sales["recognition"]["total"] == 1


def test_each_period_and_department_has_its_own_figures(api, clock, hr_admin, org, employee):
    give(employee, employee_in(org["sales"]))
    clock.shift(dt.timedelta(days=120))
    give(employee, employee_in(org["support_b"]))

    year, _ = _get(api, hr_admin, months=12)
    quarter, _ = _get(api, hr_admin, months=3)
    support, _ = _get(api, hr_admin, months=12, department=org["support"].pk)

    assert year["recognition"]["total"] == 2
    assert quarter["recognition"]["total"] == 1
    assert support["recognition"]["total"] == 1


def employee_in(team):
    return EmployeeFactory(team=team)


def test_the_same_department_seen_from_different_subtrees_is_kept_apart(cast, org):
    # The heatmap and linkage depend on the viewer's subtrees, not only on the department.
    lead_of_a = EmployeeFactory(team=org["support_a"], manages=[org["support_a"]])
    today = NOW.date()

    support_view = _figures_cache_key(viewer_for(cast["manager"].user), org["support_a"], 12, today)
    team_view = _figures_cache_key(viewer_for(lead_of_a.user), org["support_a"], 12, today)
    hr_view = _figures_cache_key(viewer_for(cast["hr_admin"].user), org["support_a"], 12, today)
    exec_view = _figures_cache_key(viewer_for(cast["executive"].user), org["support_a"], 12, today)

    assert len({support_view, team_view, hr_view}) == 3
    assert hr_view == exec_view
