"""Status changes append to the timeline in the same write; dropping needs a reason."""

import datetime as dt

from cxculture.actions.models import Action, ActionUpdate
from tests.factories.actions import make_action


def _timeline(api, person, action) -> list[dict]:
    response = api.as_(person).get(f"/api/v1/actions/{action.pk}/updates/")
    assert response.status_code == 200
    return response.json()["results"]


def test_committing_an_action_starts_its_timeline(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])

    entries = _timeline(api, cast["employee"], action)

    assert [(e["status_from"], e["status_to"], e["author"]) for e in entries] == [
        ("", "planned", cast["manager"].pk)
    ]


def test_a_status_change_appends_one_entry_with_from_and_to(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])

    api.as_(cast["manager"]).patch(
        f"/api/v1/actions/{action.pk}/", {"status": "in_progress", "note": "Huddles booked."}
    )
    api.as_(cast["manager"]).patch(f"/api/v1/actions/{action.pk}/", {"status": "done"})

    entries = _timeline(api, cast["teammate"], action)
    assert [(e["status_from"], e["status_to"], e["text"]) for e in entries] == [
        ("in_progress", "done", ""),
        ("planned", "in_progress", "Huddles booked."),
        ("", "planned", "Committed to this action."),
    ]
    action.refresh_from_db()
    assert action.completed_at is not None


def test_posting_an_update_with_a_status_makes_one_entry(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])

    response = api.as_(cast["manager"]).post(
        f"/api/v1/actions/{action.pk}/updates/", {"text": "Started", "status": "in_progress"}
    )

    assert response.status_code == 201
    assert (response.json()["status_from"], response.json()["status_to"]) == (
        "planned",
        "in_progress",
    )
    assert ActionUpdate.objects.filter(action=action).count() == 2
    assert Action.objects.get(pk=action.pk).status == "in_progress"


def test_an_empty_update_is_refused(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])

    response = api.as_(cast["manager"]).post(f"/api/v1/actions/{action.pk}/updates/", {"text": ""})

    assert response.status_code == 400
    assert ActionUpdate.objects.filter(action=action).count() == 1


def test_dropping_without_a_reason_is_refused_and_changes_nothing(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])

    response = api.as_(cast["manager"]).patch(
        f"/api/v1/actions/{action.pk}/", {"status": "dropped"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"drop_reason": ["Say why the action is dropped."]}
    action.refresh_from_db()
    assert action.status == "planned"
    assert ActionUpdate.objects.filter(action=action).count() == 1


def test_dropping_with_a_reason_records_it_on_the_action_and_the_timeline(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])

    response = api.as_(cast["manager"]).patch(
        f"/api/v1/actions/{action.pk}/",
        {"status": "dropped", "drop_reason": "The tool is being replaced."},
    )

    assert response.status_code == 200
    assert response.json()["drop_reason"] == "The tool is being replaced."
    latest = ActionUpdate.objects.filter(action=action).first()
    assert latest is not None
    assert (latest.status_to, latest.text) == ("dropped", "Dropped: The tool is being replaced.")


def test_moving_the_due_date_is_told_on_the_timeline(api, clock, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"], due_on=dt.date(2026, 5, 1))

    api.as_(cast["manager"]).patch(f"/api/v1/actions/{action.pk}/", {"due_on": "2026-06-15"})

    latest = ActionUpdate.objects.filter(action=action).first()
    assert latest is not None
    assert latest.text == "Due date moved from 1 May 2026 to 15 Jun 2026."


def test_a_survey_source_must_be_a_closed_run_and_a_driver(api, clock, cast, org):
    body = {
        "title": "Recognise more",
        "owner": cast["manager"].pk,
        "due_on": "2026-06-01",
        "team": org["support_a"].pk,
        "source_kind": "survey_driver",
    }

    response = api.as_(cast["manager"]).post("/api/v1/actions/", body)

    assert response.status_code == 400
    assert "source_run" in response.json()["error"]["fields"]
