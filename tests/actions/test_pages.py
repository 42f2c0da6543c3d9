"""The pages: list, the create form prefilled from a results page, detail with its timeline,
the home card and the "you said, we did" pages."""

import datetime as dt
import re

from cxculture.actions.models import Action, ActionUpdate
from tests.factories.actions import closed_run, make_action, pulse_program, recognition_answers

from .conftest import MARCH


def test_a_manager_commits_an_action_from_a_weak_driver(client, clock, cast, org, crowd):
    run = closed_run(
        pulse_program(),
        MARCH,
        {org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2])},
    )
    client.force_login(cast["manager"].user)
    url = f"/actions/new/?run={run.pk}&driver=recognition&team={org['support_a'].pk}"

    form = client.get(url).content.decode()
    response = client.post(
        "/actions/new/",
        {
            "title": "Weekly shout-outs",
            "team": org["support_a"].pk,
            "source_kind": "survey_driver",
            "source_run": run.pk,
            "source_driver": "recognition",
            "owner": cast["manager"].pk,
            "due_on": "2026-05-01",
        },
    )

    assert re.search(r'<option value="recognition" selected>Recognition — 25% favourable', form)
    action = Action.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/actions/{action.pk}/"
    assert (action.source_run, action.source_driver, action.team) == (
        run,
        "recognition",
        org["support_a"],
    )


def test_employees_cannot_open_the_create_form(client, cast):
    client.force_login(cast["employee"].user)

    assert client.get("/actions/new/").status_code == 403


def test_an_update_posted_on_the_detail_page_joins_the_timeline(client, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"], title="Fix the macro")
    client.force_login(cast["manager"].user)

    client.post(f"/actions/{action.pk}/updates/", {"text": "Draft shared", "status": "in_progress"})
    page = client.get(f"/actions/{action.pk}/").content.decode()

    assert ActionUpdate.objects.filter(action=action).count() == 2
    assert "Draft shared" in page
    assert "Planned → In progress" in page


def test_dropping_on_the_page_without_a_reason_says_why_it_was_refused(client, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])
    client.force_login(cast["manager"].user)

    response = client.post(f"/actions/{action.pk}/updates/", {"status": "dropped"}, follow=True)

    assert "Say why the action is dropped." in response.content.decode()
    assert Action.objects.get(pk=action.pk).status == "planned"


def test_a_teammate_sees_the_action_but_no_update_form(client, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"], title="Fix the macro")
    client.force_login(cast["teammate"].user)

    page = client.get(f"/actions/{action.pk}/").content.decode()

    assert "Fix the macro" in page
    assert "Post an update" not in page


def test_the_home_card_lists_the_teams_open_actions(client, cast, org):
    make_action(by=cast["manager"], team=org["support_a"], title="Fix the macro")
    make_action(by=cast["manager"], team=org["support_b"], title="Not for Support A")
    client.force_login(cast["employee"].user)

    home = client.get("/").content.decode()

    assert 'id="home-actions"' in home and "Fix the macro" in home
    assert "Not for Support A" not in home


def test_the_organisation_page_lists_organisation_actions_with_follow_through(client, cast):
    make_action(by=cast["executive"], team=None, title="Quarterly town hall")
    client.force_login(cast["sales_person"].user)

    page = client.get("/actions/organisation/").content.decode()

    assert "Quarterly town hall" in page
    assert "Actions done on time" in page


def test_a_team_page_outside_the_viewers_scope_is_not_found(client, cast, org):
    client.force_login(cast["sales_person"].user)

    assert client.get(f"/actions/team/{org['support_a'].pk}/").status_code == 404


def test_the_list_shows_an_overdue_action_as_overdue(client, clock, cast, org):
    make_action(by=cast["manager"], team=org["support_a"], due_on=MARCH - dt.timedelta(days=1))
    client.force_login(cast["employee"].user)

    page = client.get("/actions/").content.decode()

    assert "Planned · overdue" in page
