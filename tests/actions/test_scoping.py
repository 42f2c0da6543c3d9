"""Who sees, follows, creates and changes which actions (team and organisation scopes)."""

import pytest

from cxculture.actions.models import Action
from tests.factories.actions import make_action


def _listed(api, person) -> set[int]:
    response = api.as_(person).get("/api/v1/actions/")
    assert response.status_code == 200
    return {item["id"] for item in response.json()["results"]}


@pytest.fixture
def support_a_action(cast, org):
    return make_action(by=cast["manager"], team=org["support_a"], title="Fix the refund macro")


@pytest.fixture
def org_action(cast):
    return make_action(by=cast["executive"], team=None, owner=cast["executive"], title="Town hall")


def test_a_team_action_is_seen_by_its_members_their_managers_hr_and_executives(
    api, cast, support_a_action
):
    seen_by = {role for role, person in cast.items() if support_a_action.pk in _listed(api, person)}

    assert seen_by == {"employee", "teammate", "manager", "hr_admin", "executive"}


def test_a_department_action_is_seen_by_every_team_below_it(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support"], title="Shadow a back office day")

    seen_by = {role for role, person in cast.items() if action.pk in _listed(api, person)}

    assert seen_by == {"employee", "teammate", "outsider", "manager", "hr_admin", "executive"}


def test_an_organisation_action_is_seen_by_everyone(api, cast, org_action):
    seen_by = {role for role, person in cast.items() if org_action.pk in _listed(api, person)}

    assert seen_by == set(cast)


def test_an_action_outside_the_scope_is_not_found(api, cast, support_a_action):
    response = api.as_(cast["outsider"]).get(f"/api/v1/actions/{support_a_action.pk}/")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "expected"),
    [("employee", 403), ("teammate", 403), ("manager", 200), ("hr_admin", 200), ("executive", 403)],
)
def test_managers_of_the_scope_and_hr_change_a_team_action(
    api, cast, support_a_action, role, expected
):
    response = api.as_(cast[role]).patch(
        f"/api/v1/actions/{support_a_action.pk}/", {"status": "in_progress"}
    )

    assert response.status_code == expected
    support_a_action.refresh_from_db()
    assert support_a_action.status == ("in_progress" if expected == 200 else "planned")


def test_the_owner_may_change_their_action_without_being_a_manager(api, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"], owner=cast["employee"])

    response = api.as_(cast["employee"]).patch(f"/api/v1/actions/{action.pk}/", {"status": "done"})

    assert response.status_code == 200
    assert response.json()["status"] == "done"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("employee", 403), ("manager", 403), ("hr_admin", 200), ("executive", 200)],
)
def test_executives_and_hr_change_organisation_actions(api, cast, org_action, role, expected):
    response = api.as_(cast[role]).patch(
        f"/api/v1/actions/{org_action.pk}/", {"title": "Quarterly town hall"}
    )

    assert response.status_code == expected


def test_a_manager_commits_actions_only_for_teams_they_lead(api, clock, cast, org):
    body = {"title": "Coach on callbacks", "owner": cast["manager"].pk, "due_on": "2026-06-01"}

    mine = api.as_(cast["manager"]).post("/api/v1/actions/", {**body, "team": org["support_b"].pk})
    other = api.as_(cast["manager"]).post("/api/v1/actions/", {**body, "team": org["sales"].pk})
    everyone = api.as_(cast["manager"]).post("/api/v1/actions/", body)

    assert (mine.status_code, other.status_code, everyone.status_code) == (201, 403, 403)
    assert Action.objects.get().team == org["support_b"]


def test_followers_are_the_owner_and_creator_and_anyone_in_scope_may_follow(client, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"], owner=cast["teammate"])
    client.force_login(cast["employee"].user)

    followed = client.post(f"/actions/{action.pk}/follow/", {"follow": "1"})
    client.force_login(cast["outsider"].user)
    refused = client.post(f"/actions/{action.pk}/follow/", {"follow": "1"})

    assert followed.status_code == 302
    assert refused.status_code == 404
    assert set(action.followers.values_list("pk", flat=True)) == {
        cast["manager"].pk,
        cast["teammate"].pk,
        cast["employee"].pk,
    }


def test_the_list_filters_by_team_status_and_owner(api, cast, org):
    first = make_action(by=cast["manager"], team=org["support_a"], owner=cast["employee"])
    make_action(by=cast["manager"], team=org["support_b"], owner=cast["manager"])
    api.as_(cast["manager"]).patch(f"/api/v1/actions/{first.pk}/", {"status": "in_progress"})

    def ids(**params):
        response = api.as_(cast["hr_admin"]).get("/api/v1/actions/", params)
        return [item["id"] for item in response.json()["results"]]

    assert ids(team=org["support_a"].pk) == [first.pk]
    assert ids(status="in_progress") == [first.pk]
    assert ids(owner=cast["employee"].pk) == [first.pk]
    assert len(ids()) == 2
