"""The results page's heatmap rows (built in Python for speed) and its short team picker."""

import re

import pytest

from surveys import services
from surveys.api import HeatmapRowSerializer
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run


@pytest.fixture
def results_page(client, hr_admin, org, opens):
    """Support > Care (two desks) and Support > <Ops & Co>: six of each desk's seven answer 4
    (agree); a unanimous figure with everyone answering would be hidden."""
    care = TeamFactory(name="Care", parent=org["support"])
    desks = [TeamFactory(name=f"Desk {n}", parent=care) for n in (1, 2)]
    odd = TeamFactory(name="<Ops & Co>", parent=org["support"])
    for team in (*desks, odd):
        for _ in range(7):
            EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="subtrees", teams=[org["support"]]), opens)
    for team in (*desks, odd):
        invitations = Invitation.objects.filter(run=run, team_path=team.path).order_by("id")
        for invitation in invitations[:6]:
            answer(invitation, opens, enps=8, eng_proud=4)
    services.survey_run_close(run=run, today=opens)
    client.force_login(hr_admin.user)

    def get(**params):
        response = client.get(f"/surveys/runs/{run.pk}/results/", params)
        assert response.status_code == 200
        return response.content.decode()

    return {"get": get, "run": run, "care": care, "desks": desks, "odd": odd}


def _heatmap_rows(page):
    body = page.split('<table class="heatmap">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row" class="team-name indent-(\d)">(.*?)</th>(.*?)</tr>', body)


def test_every_team_is_a_row_with_its_figures_and_names_escaped(results_page):
    rows = _heatmap_rows(results_page["get"]())

    names = [re.sub(r"<a [^>]*>|</a>", "", name) for _, name, _ in rows]
    assert names == ["Company", "Support", "&lt;Ops &amp; Co&gt;", "Care", "Desk 1", "Desk 2"]
    assert "<Ops & Co>" not in results_page["get"]()
    by_name = dict(zip(names, rows, strict=True))
    depth, link, cells = by_name["Desk 1"]
    assert depth == "4" and f'href="?subtree={results_page["desks"][0].pk}"' in link
    # 6 respondents, engagement 100 (all agree), eNPS 0 (all passives).
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', cells)[:3] == ["6", "100", "0"]
    assert by_name["Care"][2].count("<td") == by_name["Desk 1"][2].count("<td")


def test_the_team_picker_lists_the_teams_below_that_have_teams_below_them(results_page):
    def options(page):
        picker = page.split('<select id="subtree" name="subtree">', 1)[1].split("</select>", 1)[0]
        return re.findall(r"<option[^>]*>([^<]*)</option>", picker)

    # The single top-level team is the whole organisation, the first option: listed once.
    assert options(results_page["get"]())[1:] == ["Support", "Care"]
    assert options(results_page["get"](subtree=results_page["care"].parent_id))[1:] == ["Care"]


def test_the_api_heatmap_rows_carry_exactly_the_documented_fields(api, hr_admin, results_page):
    url = f"/api/v1/survey-runs/{results_page['run'].pk}/results/"
    rows = api.as_(hr_admin).get(url).json()["heatmap"]["rows"]

    assert [row["name"] for row in rows][:2] == ["Company", "Support"]
    assert all(set(row) == set(HeatmapRowSerializer().fields) for row in rows)
    desk = next(row for row in rows if row["name"] == "Desk 1")
    assert desk == {
        "team": results_page["desks"][0].pk,
        "name": "Desk 1",
        "depth": 4,
        "shown": True,
        "reason": None,
        "respondents": 6,
        "engagement_index": 100.0,
        "enps": 0.0,
        "cells": desk["cells"],
    }
    assert desk["cells"] and all(value in (None, 100.0) for value in desk["cells"].values())


def test_team_names_read_by_id_or_all_at_once_are_the_same(results_page, monkeypatch):
    from surveys.results import snapshot as selectors

    run = results_page["run"]
    TeamFactory(name="Not in the run")
    by_id = selectors._team_names(selectors.run_snapshot(run))
    monkeypatch.setattr(selectors, "NAMES_BY_ID_UP_TO", 1)
    all_at_once = selectors._team_names(selectors.run_snapshot(run))

    assert all_at_once == by_id
    assert by_id[results_page["care"].pk] == "Care"
    assert "Not in the run" not in by_id.values()
