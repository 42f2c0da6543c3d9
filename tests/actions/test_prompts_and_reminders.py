"""After a run closes, managers with reportable results are asked once; overdue owners are
reminded once per overdue period. Running the beat tasks twice sends nothing twice."""

import datetime as dt

import pytest
from django.core import mail

from cxculture.actions import services, tasks
from cxculture.actions.models import ActionPrompt
from cxculture.people.permissions import viewer_for
from tests.factories.actions import (
    closed_run,
    make_action,
    pulse_program,
    recognition_answers,
    set_status,
)

from .conftest import MARCH

AFTER_CLOSE = dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def march_run(clock, org, crowd, lead_b, sales_lead):
    return closed_run(
        pulse_program(),
        MARCH,
        {
            org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2]),
            org["support_b"]: recognition_answers([4, 4, 4, 2, 2], [4, 4, 4, 4, 2]),
        },
    )


def test_each_manager_with_reportable_results_is_asked_once(clock, march_run, cast, lead_b):
    # Sales answered nothing, so its lead has no results to act on and is not asked.
    clock.move_to(AFTER_CLOSE)

    tasks.action_prompts_send_task.delay()
    tasks.action_prompts_send_task.delay()

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [cast["manager"].email, lead_b.email]
    )
    assert "commit an action" in mail.outbox[0].subject
    assert f"/actions/new/?run={march_run.pk}&team=" in mail.outbox[0].body
    assert ActionPrompt.objects.count() == 2


def test_a_manager_whose_teams_already_acted_on_the_run_is_not_asked(
    clock, march_run, cast, org, lead_b
):
    clock.move_to(AFTER_CLOSE)
    # An action for a team inside the manager's subtree counts as their team acting.
    make_action(
        by=cast["manager"],
        team=org["support_a"],
        source_kind="survey_driver",
        source_run=march_run,
        source_driver="recognition",
    )

    sent = services.action_prompts_send()

    assert sent == 1
    assert [message.to[0] for message in mail.outbox] == [lead_b.email]


def test_the_prompt_shows_until_an_action_from_the_run_exists_for_the_team(
    client, clock, march_run, cast, org
):
    clock.move_to(AFTER_CLOSE)
    services.action_prompts_send()
    client.force_login(cast["manager"].user)
    link = f"/actions/new/?run={march_run.pk}&amp;team={org['support'].pk}"

    before = client.get("/actions/").content.decode()
    make_action(
        by=cast["manager"],
        team=org["support_a"],
        source_kind="survey_driver",
        source_run=march_run,
        source_driver="recognition",
    )
    after = client.get("/actions/").content.decode()

    assert link in before
    assert link not in after


def test_the_prompt_expires_after_fourteen_days(client, clock, march_run, cast):
    clock.move_to(AFTER_CLOSE)
    services.action_prompts_send()
    viewer = viewer_for(cast["manager"].user)
    from cxculture.actions import selectors

    assert selectors.prompts_for(viewer, dt.date(2026, 3, 23)).count() == 1
    assert selectors.prompts_for(viewer, dt.date(2026, 3, 24)).count() == 0


def test_runs_closed_more_than_fourteen_days_ago_ask_nobody(clock, march_run):
    assert services.action_prompts_send(today=dt.date(2026, 3, 30)) == 0
    assert mail.outbox == []


# --- Overdue reminders -----------------------------------------------------------------------


def test_an_overdue_owner_is_reminded_once_per_overdue_period(clock, cast, org):
    action = make_action(
        by=cast["manager"],
        team=org["support_a"],
        owner=cast["teammate"],
        due_on=dt.date(2026, 3, 10),
    )
    make_action(by=cast["manager"], team=org["support_a"], due_on=dt.date(2026, 3, 30))

    first = services.actions_remind_overdue(today=dt.date(2026, 3, 11))
    again = services.actions_remind_overdue(today=dt.date(2026, 3, 11))
    next_day = services.actions_remind_overdue(today=dt.date(2026, 3, 12))
    services.action_update(
        by=viewer_for(cast["manager"].user), action=action, due_on=dt.date(2026, 3, 20)
    )
    still_due = services.actions_remind_overdue(today=dt.date(2026, 3, 15))
    overdue_again = services.actions_remind_overdue(today=dt.date(2026, 3, 21))

    assert (first, again, next_day, still_due, overdue_again) == (1, 0, 0, 0, 1)
    assert [message.to[0] for message in mail.outbox] == [cast["teammate"].email] * 2
    assert "Overdue action" in mail.outbox[0].subject


def test_done_and_dropped_actions_are_not_reminded(clock, cast, org):
    done = make_action(by=cast["manager"], team=org["support_a"], due_on=dt.date(2026, 3, 5))
    dropped = make_action(by=cast["manager"], team=org["support_a"], due_on=dt.date(2026, 3, 5))
    set_status(done, by=cast["manager"], status="done")
    set_status(dropped, by=cast["manager"], status="dropped", reason="Merged into another")

    tasks.actions_remind_overdue_task.delay()

    assert mail.outbox == []


def test_a_manager_whose_own_team_is_hidden_is_asked_about_a_reportable_team_below(
    clock, org, cast, crowd, lead_b
):
    # One person in Sales answered: the gate hides Sales, then Support and Support B so that
    # Sales' answer cannot be worked out by subtraction; Support A stays reportable.
    run = closed_run(
        pulse_program(),
        MARCH,
        {
            org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2]),
            org["support_b"]: recognition_answers([4, 4, 4, 2, 2], [4, 4, 4, 4, 2]),
            org["sales"]: recognition_answers([5], [5]),
        },
    )
    clock.move_to(AFTER_CLOSE)

    services.action_prompts_send()

    prompt = ActionPrompt.objects.get()
    assert (prompt.run, prompt.manager, prompt.team) == (run, cast["manager"], org["support_a"])
    assert [message.to[0] for message in mail.outbox] == [cast["manager"].email]
