"""Follow-through (results acted on within 14 days, actions done on time) and effect (driver
score before and after), on hand-made data; survey figures only when reportable."""

import datetime as dt

import pytest

from cxculture.actions import selectors
from tests.factories.actions import (
    closed_run,
    make_action,
    pulse_program,
    recognition_answers,
    set_status,
)

from .conftest import MARCH

JUNE = dt.date(2026, 6, 1)


@pytest.fixture
def program():
    return pulse_program()


@pytest.fixture
def march_run(clock, program, org, crowd, lead_b):
    # Support A: recognition 3 favourable of 12 answers = 25%; Support B: 7 of 10 = 70%.
    return closed_run(
        program,
        MARCH,
        {
            org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2]),
            org["support_b"]: recognition_answers([4, 4, 4, 2, 2], [4, 4, 4, 4, 2]),
        },
    )


def _driver_action(by, team, run, **kwargs):
    return make_action(
        by=by,
        team=team,
        source_kind="survey_driver",
        source_run=run,
        source_driver="recognition",
        **kwargs,
    )


def test_follow_through_counts_results_acted_on_within_fourteen_days(
    clock, march_run, cast, org, lead_b
):
    clock.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    _driver_action(cast["manager"], org["support_a"], march_run)  # in time, covers Support
    clock.move_to(dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC))
    _driver_action(lead_b, org["support_b"], march_run)  # too late for Support B

    figures = selectors.follow_through(today=dt.date(2026, 3, 30))

    # Led teams with reportable results: Support (manager) and Support B (lead_b).
    assert (figures["results"], figures["results_with_action"]) == (2, 1)
    assert figures["results_with_action_share"] == 50.0


def test_a_result_still_inside_its_window_without_an_action_is_not_counted_yet(clock, march_run):
    figures = selectors.follow_through(today=dt.date(2026, 3, 15))

    assert (figures["results"], figures["results_with_action"]) == (0, 0)
    assert figures["results_with_action_share"] is None


def test_done_on_time_counts_actions_done_by_their_due_date(clock, cast, org):
    clock.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    team = org["support_a"]
    on_time = make_action(by=cast["manager"], team=team, due_on=dt.date(2026, 3, 20))
    late = make_action(by=cast["manager"], team=team, due_on=dt.date(2026, 3, 12))
    make_action(by=cast["manager"], team=team, due_on=dt.date(2026, 3, 14))  # overdue, open
    dropped = make_action(by=cast["manager"], team=team, due_on=dt.date(2026, 3, 12))
    make_action(by=cast["manager"], team=team, due_on=dt.date(2026, 4, 30))  # not due yet
    set_status(on_time, by=cast["manager"], status="done")
    set_status(dropped, by=cast["manager"], status="dropped", reason="Not needed")
    clock.move_to(dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC))
    set_status(late, by=cast["manager"], status="done")

    figures = selectors.follow_through(today=dt.date(2026, 3, 16))

    assert (figures["actions_due"], figures["actions_done_on_time"]) == (3, 1)
    assert figures["actions_done_on_time_share"] == 33  # 1 of 3: no decimals to claim


def test_effect_shows_the_driver_score_before_and_at_the_next_run(
    api, clock, program, march_run, cast, org
):
    clock.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    action = _driver_action(cast["manager"], org["support_a"], march_run)
    clock.move_to(dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC))
    june_run = closed_run(
        program,
        JUNE,
        {org["support_a"]: recognition_answers([4, 4, 4, 5, 2, 2], [4, 4, 4, 4, 4, 2])},
    )

    data = api.as_(cast["employee"]).get("/api/v1/actions/follow-through/").json()

    assert data["effects"] == [
        {
            "action": action.pk,
            "driver": "recognition",
            "driver_label": "Recognition",
            "before_run": march_run.pk,
            "after_run": june_run.pk,
            "before": 25.0,
            "after": 75.0,
            "change": 50.0,
        }
    ]


def test_effect_is_hidden_when_the_next_run_is_not_reportable_for_the_team(
    api, clock, program, march_run, cast, org
):
    clock.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    _driver_action(cast["manager"], org["support_a"], march_run)
    clock.move_to(dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC))
    closed_run(program, JUNE, {org["support_a"]: recognition_answers([5, 5, 5], [5, 5, 5])})

    data = api.as_(cast["hr_admin"]).get("/api/v1/actions/follow-through/").json()

    [effect] = data["effects"]
    assert (effect["before"], effect["after"], effect["change"], effect["after_run"]) == (
        None,
        None,
        None,
        None,
    )


def test_the_team_page_says_what_people_said_with_the_gated_score(
    client, clock, march_run, cast, org
):
    clock.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    _driver_action(cast["manager"], org["support_a"], march_run, title="Shout-outs in huddles")
    client.force_login(cast["teammate"].user)

    page = client.get(f"/actions/team/{org['support_a'].pk}/").content.decode()

    assert "Shout-outs in huddles" in page
    assert "You said: Recognition was 25% favourable in March 2026" in page


def test_a_score_that_is_not_reportable_is_never_shown(client, clock, program, cast, org, crowd):
    # Only 3 people in Support A answered: below the threshold of 5.
    run = closed_run(program, MARCH, {org["support_a"]: recognition_answers([1, 1, 1], [1, 1, 1])})
    clock.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    _driver_action(cast["manager"], org["support_a"], run, title="Recognise more")
    client.force_login(cast["manager"].user)

    page = client.get(f"/actions/team/{org['support_a'].pk}/").content.decode()

    assert "You said: Recognition needed attention in March 2026" in page
    assert "% favourable" not in page


def test_follow_through_for_a_team_outside_the_viewers_teams_is_refused(api, cast, org):
    mine = api.as_(cast["employee"]).get(
        "/api/v1/actions/follow-through/", {"team": org["support_a"].pk}
    )
    other = api.as_(cast["employee"]).get(
        "/api/v1/actions/follow-through/", {"team": org["sales"].pk}
    )

    assert (mine.status_code, other.status_code) == (200, 403)
