"""A closed run's summary: every subtree's figures and participation through the gate, the same
as the full snapshot gives, stored when the run closes (in its transaction), read in one query
for many runs, and refusing anything that needs the answers' cells."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxculture.lib.anonymity import ORGANISATION, SUBTREE, Group
from surveys import services
from surveys.models import Invitation, Response, RunSummary, SurveyRun
from surveys.results import (
    group_figures,
    group_participation,
    group_scores,
    group_shown,
    run_points,
    run_snapshot,
    run_summaries,
    shown_subtrees,
    subtree_participation,
)
from surveys.results import summary as summary_module
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run

pytestmark = pytest.mark.django_db


def _closed_run(org, opens, sizes=(7, 6, 3), answering=None):
    """Teams of `sizes` under Support; everyone answers unless `answering` says how many."""
    teams = [TeamFactory(name=f"Desk {n}", parent=org["support"]) for n in range(len(sizes))]
    for team, size in zip(teams, sizes, strict=True):
        for _ in range(size):
            EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="subtrees", teams=[org["support"]]), opens)
    for index, invitation in enumerate(Invitation.objects.filter(run=run).order_by("id")):
        if answering is None or index < answering:
            answer(invitation, opens, eng_proud=1 + index % 5, enps=index % 11)
    return services.survey_run_close(run=run, today=opens), teams


def test_every_subtree_has_the_figures_and_participation_the_snapshot_gives(org, opens):
    run, _ = _closed_run(org, opens)
    snapshot = run_snapshot(run)

    summary = run_summaries([run])[run.pk]

    nodes = [ORGANISATION, *snapshot.parents]
    assert len(nodes) >= 5
    for node in nodes:
        group = Group(SUBTREE, node)
        decision = snapshot.plan.decide(group)
        figures = group_figures(summary, node)
        assert figures.shown == decision.shown
        if decision.shown:
            scored = group_scores(snapshot, group)
            assert figures.respondents == decision.respondents
            assert figures.engagement_index == scored["engagement_index"]
            assert figures.enps == scored["enps"]
        else:
            assert figures.respondents is None and figures.engagement_index is None
        assert subtree_participation(summary, node) == group_participation(snapshot, group)
    # The small desk (3 people) is hidden and so is one other, so neither can be subtracted.
    assert sum(not group_figures(summary, node).shown for node in nodes) >= 2


def test_whether_a_group_is_shown_is_read_without_decoding_its_figures(org, opens, monkeypatch):
    run, _ = _closed_run(org, opens)
    snapshot = run_snapshot(run)
    summary = run_summaries([run])[run.pk]
    nodes = [ORGANISATION, *snapshot.parents]
    decoded = []
    monkeypatch.setattr(summary_module, "_unrow", lambda *args: decoded.append(args))

    shown = {node: group_shown(summary, node) for node in nodes}

    assert decoded == []
    assert shown == {node: snapshot.plan.decide(Group(SUBTREE, node)).shown for node in nodes}
    assert set(shown.values()) == {True, False}


def test_a_summary_refuses_what_needs_the_cells(org, opens):
    run, _ = _closed_run(org, opens)
    summary = run_summaries([run])[run.pk]

    with pytest.raises(RuntimeError):
        _ = summary.plan
    with pytest.raises(RuntimeError):
        summary.cell_tallies()


def test_many_runs_are_read_from_the_summary_table_in_one_query(org, opens):
    first, _ = _closed_run(org, opens)
    second, _ = _closed_run(org, opens)

    with CaptureQueriesContext(connection) as queries:
        again = run_summaries([first, second])

    assert len(queries) == 1  # both runs' stored summaries
    assert set(again) == {first.pk, second.pk}


def test_the_close_stores_the_runs_published_figures_in_its_transaction(org, opens):
    run, _ = _closed_run(org, opens, answering=14)

    stored = RunSummary.objects.get(run=run)
    assert json.loads(stored.figures["figures"][ORGANISATION])[:3] == [True, None, 14]
    assert json.loads(stored.figures["participation"][ORGANISATION]) == {
        "invited": 16,
        "responded": 14,
        "rate": 88,
    }


def test_a_close_that_fails_leaves_neither_responses_nor_a_summary(org, opens, monkeypatch):
    team = TeamFactory(name="Desk", parent=org["support"])
    for _ in range(6):
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="subtrees", teams=[org["support"]]), opens)
    for invitation in Invitation.objects.filter(run=run):
        answer(invitation, opens, eng_proud=4, enps=9)

    def broken(run):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "summary_figures", broken)
    with pytest.raises(RuntimeError):
        services.survey_run_close(run=run, today=opens)

    run.refresh_from_db()
    assert run.status == SurveyRun.Status.OPEN
    assert not Response.objects.filter(run=run).exists()
    assert not RunSummary.objects.filter(run=run).exists()


def test_published_figures_do_not_move_until_the_summary_is_rebuilt(org, opens):
    run, _ = _closed_run(org, opens, answering=14)

    # A response that reached the run some other way than the close (a restored backup).
    missing = Invitation.objects.filter(run=run, responded_on=None).first()
    Response.objects.create(run=run, team_path=missing.team_path)
    assert group_figures(run_summaries([run])[run.pk], ORGANISATION).respondents == 14

    call_command("surveys_summarise_runs", "--rebuild", stdout=io.StringIO())

    assert group_figures(run_summaries([run])[run.pk], ORGANISATION).respondents == 15


def test_runs_closed_before_summaries_existed_are_summarised_by_the_command(org, opens):
    run, _ = _closed_run(org, opens, answering=14)
    expected = RunSummary.objects.get(run=run).figures
    RunSummary.objects.filter(run=run).delete()

    # Until the command runs, the figures are computed from the responses, the same way.
    summary = run_summaries([run])[run.pk]
    assert group_figures(summary, ORGANISATION).respondents == 14
    assert not RunSummary.objects.filter(run=run).exists()  # a read never writes

    out = io.StringIO()
    call_command("surveys_summarise_runs", stdout=out)

    assert RunSummary.objects.get(run=run).figures == expected
    assert "1 closed run" in out.getvalue()
    call_command("surveys_summarise_runs", stdout=out)  # nothing missing: nothing written
    assert "0 closed run" in out.getvalue()


def _whole(summary, node):
    """What a trend showed of `node` from the whole summary before `run_points` read its rows."""
    if node != ORGANISATION and node not in summary.paths:
        return (False, False, None, None, None)
    figures = group_figures(summary, node)
    return (
        True,
        figures.shown,
        figures.respondents,
        figures.engagement_index,
        subtree_participation(summary, node),
    )


def _point(point):
    figures = point.figures
    shown = (figures.shown, figures.respondents, figures.engagement_index)
    return (point.present, *shown, point.participation)


def test_a_trend_reads_one_groups_rows_of_each_run_and_gets_what_the_whole_summary_gives(
    org, opens
):
    first, first_teams = _closed_run(org, opens)
    second, second_teams = _closed_run(org, opens, sizes=(8, 5), answering=9)
    runs = [first, second]
    whole = run_summaries(runs)
    teams = [team.pk for team in [*first_teams, *second_teams]]
    nodes = [ORGANISATION, org["support"].pk, org["sales"].pk, *teams]
    seen = set()

    for node in nodes:
        with CaptureQueriesContext(connection) as queries:
            points = run_points(runs, node)

        assert len(queries) == 1
        for run in runs:
            assert _point(points[run.pk]) == _whole(whole[run.pk], node)
            seen.add(_point(points[run.pk])[:2])
    # Shown groups, hidden ones (the small desks), and teams the other run never asked.
    assert seen == {(True, True), (True, False), (False, False)}


def test_a_trend_reads_a_summary_of_another_version_or_none_whole(org, opens):
    stale, _ = _closed_run(org, opens)
    unsummarised, _ = _closed_run(org, opens, answering=9)
    expected = {
        run.pk: _whole(run_summaries([run])[run.pk], ORGANISATION) for run in (stale, unsummarised)
    }
    stored = RunSummary.objects.get(run=stale)
    stored.figures = {**stored.figures, "version": 1}
    stored.save()
    RunSummary.objects.filter(run=unsummarised).delete()

    points = run_points([stale, unsummarised], ORGANISATION)

    assert {pk: _point(point) for pk, point in points.items()} == expected
    assert points[unsummarised.pk].figures.respondents == 9


def test_the_groups_each_run_shows_are_read_as_keys_and_agree_with_the_whole_summary(org, opens):
    first, _ = _closed_run(org, opens)
    second, _ = _closed_run(org, opens, sizes=(8, 5), answering=9)
    stale, _ = _closed_run(org, opens, sizes=(6, 6))
    stored = RunSummary.objects.get(run=stale)
    stored.figures = {**stored.figures, "version": 1}
    stored.save()
    runs = [first, second, stale]

    with CaptureQueriesContext(connection) as queries:
        shown_subtrees([first, second])
    shown = shown_subtrees(runs)  # the stale summary is computed afresh, as run_summaries does

    assert len(queries) == 1
    for run in runs:
        summary = run_summaries([run])[run.pk]
        nodes = [ORGANISATION, *summary.parents]
        assert shown[run.pk] == {node for node in nodes if group_shown(summary, node)}
        assert ORGANISATION in shown[run.pk]
        assert any(not group_shown(summary, node) for node in nodes)  # a hidden desk
        assert all(isinstance(node, int) for node in shown[run.pk] - {ORGANISATION})
