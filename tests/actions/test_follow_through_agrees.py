"""Follow-through figures agree with the actions list: on the "you said, we did" pages, the
follow-through API and the culture dashboard (page and API), every count is what the actions
list gives for the same scope, whatever the status, the team level (organisation, department,
team) and the programme the action came from."""

import datetime as dt
import re

import pytest

from tests.factories.actions import (
    closed_run,
    make_action,
    pulse_program,
    recognition_answers,
    set_status,
)

from .conftest import MARCH

TODAY = dt.date(2026, 3, 30)
WINDOW_END = dt.date(2026, 3, 22)  # the runs close on 8 March; 14 days to act


@pytest.fixture
def world(clock, org, cast, crowd, lead_b, sales_lead):
    """The organisation's pulse and a small test programme, both closed on 8 March with Support
    A (6) and Support B (5) reportable, and eight actions of every status at every level."""
    answers = {
        org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2]),
        org["support_b"]: recognition_answers([4, 4, 4, 2, 2], [4, 4, 4, 4, 2]),
    }
    pulse = closed_run(pulse_program(name="Pulse"), MARCH, answers)
    trial = closed_run(
        pulse_program(name="Trial", is_organisation_wide=False), MARCH, dict(answers)
    )
    manager, exec_, hr = cast["manager"], cast["executive"], cast["hr_admin"]
    clock.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    driver = {"source_kind": "survey_driver", "source_driver": "recognition"}
    done_on_time = make_action(
        by=manager, team=org["support_a"], source_run=pulse, due_on=dt.date(2026, 3, 20), **driver
    )
    make_action(  # from the test programme, planned, overdue by today
        by=lead_b, team=org["support_b"], source_run=trial, due_on=dt.date(2026, 3, 14), **driver
    )
    dropped = make_action(by=lead_b, team=org["support_b"], source_run=pulse, **driver)
    in_progress = make_action(by=manager, team=org["support"], title="Rota review")
    overdue_in_progress = make_action(
        by=lead_b, team=org["support_b"], due_on=dt.date(2026, 3, 15), title="Macro clean-up"
    )
    done_late = make_action(by=sales_lead, team=org["sales"], due_on=dt.date(2026, 3, 12))
    make_action(by=exec_, team=None, owner=exec_, title="Quarterly town hall")
    org_done = make_action(
        by=hr, team=None, owner=exec_, title="Publish the policy", due_on=dt.date(2026, 3, 25)
    )
    set_status(done_on_time, by=manager, status="done")
    set_status(dropped, by=lead_b, status="dropped", reason="Folded into the macro clean-up")
    set_status(in_progress, by=manager, status="in_progress")
    set_status(overdue_in_progress, by=lead_b, status="in_progress")
    set_status(org_done, by=hr, status="done")
    clock.move_to(dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC))
    set_status(done_late, by=sales_lead, status="done")
    clock.move_to(dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC))
    return {"pulse": pulse, "trial": trial}


def listed(api, person, team=None, **filters):
    """Every action the actions list API gives `person` for the scope (all pages)."""
    params = {**filters, "page_size": 200}
    if team is not None:
        params["within"] = team.pk
    body = api.as_(person).get("/api/v1/actions/", params).json()
    rows = body["results"] if isinstance(body, dict) else body
    assert not (isinstance(body, dict) and body.get("next")), "more than one page"
    return rows


def counts_from_list(rows, today=TODAY):
    """What a user counts in the list: by status, dropped apart, due = done or overdue."""
    kept = [row for row in rows if row["status"] != "dropped"]
    done = [row for row in kept if row["status"] == "done"]
    return {
        "actions": len(kept),
        "actions_planned": sum(row["status"] == "planned" for row in kept),
        "actions_in_progress": sum(row["status"] == "in_progress" for row in kept),
        "actions_done": len(done),
        "actions_dropped": len(rows) - len(kept),
        "actions_due": len(done) + sum(row["is_overdue"] for row in kept),
        "actions_done_on_time": sum(
            dt.datetime.fromisoformat(row["completed_at"]).date()
            <= dt.date.fromisoformat(row["due_on"])
            for row in done
        ),
    }


def results_from_list(rows, led, runs, org):
    """(results, results with an action): each led team's result at each run gets an action
    when a listed, not dropped action of that run for the team or a team below it was made
    within the window."""
    paths = {team.pk: team.path for team in org.values()}
    results = with_action = 0
    for run in runs:
        for team in led:
            results += 1
            with_action += any(
                row["source_run"] == run.pk
                and row["status"] != "dropped"
                and row["team"] is not None
                and paths[row["team"]].startswith(team.path)
                and dt.datetime.fromisoformat(row["created_at"]).date() <= WINDOW_END
                for row in rows
            )
    return results, with_action


def page_fields(html):
    return {
        name: int(value)
        for name, value in re.findall(r'data-field="([a-z-]+)">(\d+)</span>', html)
        + re.findall(r'data-field="(actions)">(\d+)</div>', html)
    }


FIELDS = (
    "actions",
    "actions_planned",
    "actions_in_progress",
    "actions_done",
    "actions_dropped",
    "actions_due",
    "actions_done_on_time",
)


def test_every_follow_through_figure_is_the_actions_lists_count_for_the_same_scope(
    api, client, world, org, cast, lead_b, sales_lead
):
    hr = cast["hr_admin"]
    # Led teams with reportable results: Support (Maya) and Support B (Bea); Sales has nobody
    # answering, Support A no manager of its own.
    scopes = {
        None: ([org["support"], org["support_b"]], [world["pulse"]]),
        org["support"]: ([org["support"], org["support_b"]], [world["pulse"], world["trial"]]),
        org["support_b"]: ([org["support_b"]], [world["pulse"], world["trial"]]),
        org["support_a"]: ([], []),
        org["sales"]: ([], []),
    }
    for team, (led, runs) in scopes.items():
        rows = listed(api, hr, team)
        expected = counts_from_list(rows)
        results, with_action = results_from_list(rows, led, runs, org)

        query = {"team": team.pk} if team else {}
        data = api.as_(hr).get("/api/v1/actions/follow-through/", query).json()
        assert {name: data[name] for name in FIELDS} == expected, team
        assert (data["results"], data["results_with_action"]) == (results, with_action), team

        client.force_login(hr.user)
        url = f"/actions/team/{team.pk}/" if team else "/actions/organisation/"
        fields = page_fields(client.get(url).content.decode())
        assert fields["actions"] == expected["actions"]
        assert fields["actions-done"] == expected["actions_done"]
        assert fields["actions-in-progress"] == expected["actions_in_progress"]
        assert fields["actions-planned"] == expected["actions_planned"]
        assert fields.get("actions-dropped", 0) == expected["actions_dropped"]
        assert fields["actions-due"] == expected["actions_due"]
        assert fields["actions-done-on-time"] == expected["actions_done_on_time"]
        assert (fields["results"], fields["results-with-action"]) == (results, with_action)

    # The numbers themselves, counted by hand: 8 actions, one dropped.
    organisation = counts_from_list(listed(api, hr))
    assert organisation == {
        "actions": 7,
        "actions_planned": 2,
        "actions_in_progress": 2,
        "actions_done": 3,
        "actions_dropped": 1,
        "actions_due": 5,  # 3 done, the overdue planned and the overdue in-progress
        "actions_done_on_time": 2,
    }
    # The shares, as whole percentages (fewer than 100 counted): 2 of 5 due done on time; 3 of
    # Support's 4 results (2 teams x 2 runs) got an action, Support B's at the pulse did not.
    data = api.as_(hr).get("/api/v1/actions/follow-through/").json()
    assert data["actions_done_on_time_share"] == 40
    support = api.as_(hr).get("/api/v1/actions/follow-through/", {"team": org["support"].pk})
    assert support.json()["results_with_action_share"] == 75
    client.force_login(hr.user)
    assert ">75%<" in client.get(f"/actions/team/{org['support'].pk}/").content.decode()
    # Support B's result at the pulse had only a dropped action: no action.
    assert results_from_list(listed(api, hr), [org["support_b"]], [world["pulse"]], org) == (1, 0)


def test_the_culture_dashboard_counts_actions_as_the_list_does(api, client, world, org, cast):
    hr = cast["hr_admin"]
    for department in (None, org["support"], org["sales"]):
        expected = counts_from_list(listed(api, hr, department))
        query = {"department": department.pk} if department else {}
        data = api.as_(hr).get("/api/v1/insights/culture/", query).json()["follow_through"]
        assert {name: data[name] for name in FIELDS} == expected, department

        client.force_login(hr.user)
        html = client.get("/insights/culture/", query).content.decode()
        fields = page_fields(html)
        assert fields["ft-actions"] == expected["actions"]
        assert fields["ft-done"] == expected["actions_done"]
        assert fields["ft-in-progress"] == expected["actions_in_progress"]
        assert fields["ft-due"] == expected["actions_due"]
        assert fields["ft-done-on-time"] == expected["actions_done_on_time"]


def test_the_leaders_table_counts_a_managers_actions_of_the_department_as_the_list_does(
    api, world, org, cast, lead_b
):
    hr = cast["hr_admin"]
    data = api.as_(hr).get("/api/v1/insights/culture/", {"department": org["support"].pk}).json()
    leaders = {leader["id"]: leader for leader in data["leaders"]}
    for person in (cast["manager"], lead_b):
        rows = listed(api, hr, org["support"], owner=person.pk)
        expected = counts_from_list(rows)
        assert leaders[person.pk]["actions_owned"] == expected["actions"]
        assert leaders[person.pk]["actions_done"] == expected["actions_done"]
    # Bea owns three Support B actions, one of them dropped: two count.
    assert leaders[lead_b.pk]["actions_owned"] == 2


def test_a_tiny_teams_manager_sees_on_their_page_what_their_list_shows(
    api, client, world, org, lead_b
):
    team = org["support_b"]
    rows = listed(api, lead_b, team)
    expected = counts_from_list(rows)

    data = api.as_(lead_b).get("/api/v1/actions/follow-through/", {"team": team.pk}).json()
    client.force_login(lead_b.user)
    fields = page_fields(client.get(f"/actions/team/{team.pk}/").content.decode())

    assert {name: data[name] for name in FIELDS} == expected
    assert (fields["actions"], fields["actions-in-progress"]) == (2, 1)
    assert fields["actions-dropped"] == expected["actions_dropped"] == 1
    # The page links to the list filtered the same way, which shows the same actions.
    assert (
        f'href="/actions/?within={team.pk}"'
        in client.get(f"/actions/team/{team.pk}/").content.decode()
    )
    listed_page = client.get("/actions/", {"within": team.pk}).content.decode()
    assert len(re.findall(r'href="/actions/\d+/"', listed_page)) == len(rows) == 3


def test_the_list_refuses_an_unknown_scope_with_a_400_naming_within(api, cast):
    for raw in ("abc", "999999"):
        response = api.as_(cast["hr_admin"]).get("/api/v1/actions/", {"within": raw})
        assert response.status_code == 400
        assert "within" in response.json()["error"]["fields"]
