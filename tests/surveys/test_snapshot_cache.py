"""A closed run's snapshot (its anonymity plans and tallies) is built once and then read from the
cache; an open run is always read live, and the cache never serves a run whose answers changed."""

import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxculture.people.permissions import viewer_for
from surveys import services
from surveys.models import Invitation
from surveys.results import ResultsQuery, run_participation, run_results, run_snapshot
from surveys.results import snapshot as selectors
from surveys.results.scoring import sum_tallies
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    selectors._LOCAL.clear()
    yield
    cache.clear()
    selectors._LOCAL.clear()


def _run(org, opens, people=12):
    team = TeamFactory(name="Care", parent=org["root"])
    for _ in range(people):
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    return run


def _answer_all(run, opens, start=0):
    for index, invitation in enumerate(Invitation.objects.filter(run=run).order_by("id")):
        if index >= start:
            answer(invitation, opens, eng_proud=1 + index % 5, enps=index % 11)


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_a_closed_runs_plan_is_built_once_and_then_read_from_the_cache(org, opens, hr_admin):
    run = _run(org, opens)
    _answer_all(run, opens)
    run = services.survey_run_close(run=run, today=opens)
    viewer = viewer_for(hr_admin.user)

    first = run_results(viewer, run, ResultsQuery())
    built = _queries(lambda: run_snapshot(run))
    second = run_results(viewer, run, ResultsQuery())

    assert second == first
    assert first["respondents"] == 12
    assert built == 1  # the questions with the stamp: no answer re-read, no plan rebuilt
    assert cache.get(selectors.snapshot_cache_key(run.pk))["stamp"] is not None


def test_an_open_run_is_never_cached_so_participation_stays_live(org, opens, hr_admin):
    run = _run(org, opens)
    _answer_all(run, opens, start=6)
    viewer = viewer_for(hr_admin.user)

    before = run_participation(viewer, run)
    answer(Invitation.objects.filter(run=run, responded_on=None).first(), opens, eng_proud=3)
    after = run_participation(viewer, run)

    assert cache.get(selectors.snapshot_cache_key(run.pk)) is None
    assert before["rows"][0]["responded"] == 6
    assert after["rows"][0]["responded"] == 7


def test_the_cached_snapshot_is_not_used_once_the_runs_answers_differ(org, opens):
    run = _run(org, opens)
    _answer_all(run, opens)
    run = services.survey_run_close(run=run, today=opens)
    cached = run_snapshot(run)
    assert sum(cached.cells.values()) == 12

    # A response that reached the run after its results were cached (the rules refuse it: a
    # closed run takes no answers; here it is written as a restore or re-seed would).
    response = run.responses.first()
    response.id = uuid.uuid4()
    response._state.adding = True
    response.save()

    fresh = run_snapshot(run)
    assert sum(fresh.cells.values()) == 13


def test_closing_a_run_drops_anything_cached_for_it(org, opens, django_capture_on_commit_callbacks):
    run = _run(org, opens)
    _answer_all(run, opens)
    cache.set(selectors.snapshot_cache_key(run.pk), {"stamp": "stale"})

    with django_capture_on_commit_callbacks(execute=True):
        services.survey_run_close(run=run, today=opens)

    assert cache.get(selectors.snapshot_cache_key(run.pk)) is None


def test_the_cached_plan_shows_the_same_groups_as_a_fresh_build(org, opens):
    run = _run(org, opens, people=20)
    _answer_all(run, opens)
    run = services.survey_run_close(run=run, today=opens)
    run_snapshot(run)  # build and cache
    selectors._LOCAL.clear()  # read it back through the cache (pickled), not this process

    cached = run_snapshot(run)
    cache.clear()
    fresh = run_snapshot(run)

    assert cached.plan.shown_groups() == fresh.plan.shown_groups()
    assert cached.cell_tallies().keys() == fresh.cell_tallies().keys()


def test_subtree_tallies_added_bottom_up_equal_the_sum_of_each_subtrees_cells(org, opens):
    department = TeamFactory(name="Service", parent=org["root"])
    teams = [TeamFactory(name=f"Desk {n}", parent=department) for n in range(3)]
    for number, team in enumerate(teams):
        for _ in range(5 + number):
            EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="subtrees", teams=[department]), opens)
    _answer_all(run, opens)
    snapshot = run_snapshot(services.survey_run_close(run=run, today=opens))
    cells = snapshot.cell_tallies()

    for node in [selectors.ORGANISATION, department.pk, *(team.pk for team in teams)]:
        group = selectors.Group(selectors.SUBTREE, node)
        summed = sum_tallies(cells.get(c, {}) for c in snapshot.plan.cells_in(group))
        assert snapshot.group_tallies(group) == summed
