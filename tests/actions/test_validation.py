"""What an action may hold: bounded texts, an owner inside its scope, a sensible due date.

Each refusal is a 400 in the error format naming the field, on the API and on the pages; the
database refuses overlong texts too, so no other writer can store a 14 MB description.
"""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from cxculture.actions.models import Action, ActionUpdate
from cxculture.lib.errors import DomainError
from tests.factories.actions import make_action

from .conftest import MARCH

LONG = "x" * 20_000


def _fields(response) -> dict:
    return response.json()["error"]["fields"]


@pytest.fixture
def body(cast, org):
    return {
        "title": "Coach on callbacks",
        "owner": cast["employee"].pk,
        "due_on": (MARCH + dt.timedelta(days=30)).isoformat(),
        "team": org["support_a"].pk,
    }


# --- 1. Length limits --------------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "description", "source_label"])
def test_an_overlong_text_on_create_is_refused_naming_the_field(api, clock, cast, body, field):
    response = api.as_(cast["manager"]).post("/api/v1/actions/", {**body, field: LONG})

    assert response.status_code == 400
    assert field in _fields(response)
    assert not Action.objects.exists()


@pytest.mark.parametrize("field", ["title", "description", "drop_reason", "note"])
def test_an_overlong_text_on_change_is_refused_naming_the_field(api, clock, cast, org, field):
    action = make_action(by=cast["manager"], team=org["support_a"])
    patch = {field: LONG, **({"status": "dropped"} if field == "drop_reason" else {})}

    response = api.as_(cast["manager"]).patch(f"/api/v1/actions/{action.pk}/", patch)

    assert response.status_code == 400
    assert field in _fields(response)
    assert ActionUpdate.objects.filter(action=action).count() == 1


@pytest.mark.parametrize("field", ["text", "drop_reason"])
def test_an_overlong_timeline_update_is_refused_naming_the_field(api, clock, cast, org, field):
    action = make_action(by=cast["manager"], team=org["support_a"])
    post = {"text": "Started", "status": "dropped", "drop_reason": "Replaced", field: LONG}

    response = api.as_(cast["manager"]).post(f"/api/v1/actions/{action.pk}/updates/", post)

    assert response.status_code == 400
    assert field in _fields(response)
    assert Action.objects.get(pk=action.pk).status == "planned"


def test_the_service_refuses_an_overlong_description_naming_the_field(clock, cast, org):
    with pytest.raises(DomainError) as refused:
        make_action(by=cast["manager"], team=org["support_a"], description=LONG)

    assert refused.value.field == "description"


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Action, "description"),
        (Action, "drop_reason"),
        (ActionUpdate, "text"),
    ],
)
def test_the_database_refuses_overlong_texts(clock, cast, org, model, field):
    action = make_action(by=cast["manager"], team=org["support_a"])
    row = action if model is Action else ActionUpdate.objects.filter(action=action).get()
    extra = {"status": "dropped"} if field == "drop_reason" else {}

    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: LONG}, **extra)


def test_an_overlong_update_on_the_page_says_why_it_was_refused(client, clock, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])
    client.force_login(cast["manager"].user)

    response = client.post(f"/actions/{action.pk}/updates/", {"text": LONG}, follow=True)

    assert "at most 2000 characters" in response.content.decode()
    assert ActionUpdate.objects.filter(action=action).count() == 1


def test_the_create_form_caps_the_description(client, clock, cast, org, body):
    client.force_login(cast["manager"].user)

    page = client.get("/actions/new/").content.decode()
    response = client.post(
        "/actions/new/", {**body, "source_kind": "other", "description": LONG}
    ).content.decode()

    assert 'maxlength="4000"' in page
    assert "at most 4000 characters" in response
    assert not Action.objects.exists()


# --- 2. The owner is someone in the action's scope ---------------------------------------


@pytest.mark.parametrize(
    ("owner", "allowed"),
    [
        ("employee", True),  # a member of the team
        ("manager", True),  # a manager of the department above it
        ("outsider", False),  # a sibling team
        ("sales_person", False),  # another department
        ("hr_admin", False),  # the root team: above, but not leading it
    ],
)
def test_the_owner_of_a_team_action_is_someone_in_its_scope(api, clock, cast, body, owner, allowed):
    response = api.as_(cast["manager"]).post("/api/v1/actions/", {**body, "owner": cast[owner].pk})

    assert response.status_code == (201 if allowed else 400)
    if not allowed:
        assert list(_fields(response)) == ["owner"]


def test_the_owner_of_an_organisation_action_may_be_anyone_active(api, clock, cast, body):
    response = api.as_(cast["executive"]).post(
        "/api/v1/actions/", {**body, "team": None, "owner": cast["sales_person"].pk}
    )

    assert response.status_code == 201


def test_an_action_cannot_be_handed_to_someone_outside_its_scope(api, clock, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"])

    refused = api.as_(cast["manager"]).patch(
        f"/api/v1/actions/{action.pk}/", {"owner": cast["outsider"].pk}
    )
    handed = api.as_(cast["manager"]).patch(
        f"/api/v1/actions/{action.pk}/", {"owner": cast["teammate"].pk}
    )

    assert refused.status_code == 400
    assert list(_fields(refused)) == ["owner"]
    assert handed.status_code == 200
    assert Action.objects.get(pk=action.pk).owner == cast["teammate"]


def test_the_form_refuses_an_owner_outside_the_scope(client, clock, cast, body):
    client.force_login(cast["manager"].user)

    page = client.post(
        "/actions/new/", {**body, "source_kind": "other", "owner": cast["outsider"].pk}
    ).content.decode()

    assert "Choose an owner in the action&#x27;s scope" in page
    assert not Action.objects.exists()


# --- 3. Due dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due_on", "allowed"),
    [
        ("1900-01-01", False),
        ((MARCH - dt.timedelta(days=1)).isoformat(), False),
        (MARCH.isoformat(), True),
        ("2029-03-02", True),  # three years ahead
        ("2029-03-03", False),
        ("9999-12-31", False),
    ],
)
def test_a_new_action_is_due_from_today_up_to_three_years_ahead(
    api, clock, cast, body, due_on, allowed
):
    response = api.as_(cast["manager"]).post("/api/v1/actions/", {**body, "due_on": due_on})

    assert response.status_code == (201 if allowed else 400)
    if not allowed:
        assert list(_fields(response)) == ["due_on"]


def test_a_due_date_may_move_back_but_not_before_the_action_was_made(api, clock, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"], due_on=MARCH + dt.timedelta(30))
    clock.move_to(dt.datetime(2026, 4, 15, 9, 0, tzinfo=dt.UTC))
    url = f"/api/v1/actions/{action.pk}/"

    earlier = api.as_(cast["manager"]).patch(url, {"due_on": "2026-03-10"})
    too_early = api.as_(cast["manager"]).patch(url, {"due_on": "2026-03-01"})
    too_late = api.as_(cast["manager"]).patch(url, {"due_on": "2030-01-01"})

    assert earlier.status_code == 200
    assert (too_early.status_code, too_late.status_code) == (400, 400)
    assert list(_fields(too_early)) == ["due_on"]
    assert list(_fields(too_late)) == ["due_on"]
    assert Action.objects.get(pk=action.pk).due_on == dt.date(2026, 3, 10)


def test_the_form_offers_only_sensible_due_dates(client, clock, cast, body):
    client.force_login(cast["manager"].user)

    page = client.get("/actions/new/").content.decode()
    refused = client.post(
        "/actions/new/", {**body, "source_kind": "other", "due_on": "1900-01-01"}
    ).content.decode()

    assert 'min="2026-03-02"' in page
    assert 'max="2029-03-02"' in page
    assert "today" in refused
    assert not Action.objects.exists()
