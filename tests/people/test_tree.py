"""The team tree: materialised paths and depths stay right when teams are created and moved,
by the service, the teams file and the API."""

import pytest

from cxculture.lib.errors import DomainError
from cxculture.people import services
from cxculture.people.models import DirectorySync, Team
from tests.factories.people import TeamFactory


def sync_teams(content: bytes) -> DirectorySync:
    return services.directory_sync_start(kind="teams", content=content, requested_by=None)


def tree() -> dict[str, tuple[str, str | None, int]]:
    """external id -> (path in external ids, parent external id, depth)."""
    teams = list(Team.objects.select_related("parent"))
    ext_by_id = {team.id: team.external_id for team in teams}
    return {
        team.external_id: (
            "/".join(ext_by_id[int(pk)] for pk in team.path.strip("/").split("/")),
            team.parent.external_id if team.parent else None,
            team.depth,
        )
        for team in teams
    }


def test_the_cast_tree_has_paths_of_ids_and_depths(org):
    root, support, support_a = org["root"], org["support"], org["support_a"]
    assert root.path == f"/{root.pk}/"
    assert support_a.path == f"/{root.pk}/{support.pk}/{support_a.pk}/"
    assert tree() == {
        "ROOT": ("ROOT", None, 0),
        "SUP": ("ROOT/SUP", "ROOT", 1),
        "SUP-A": ("ROOT/SUP/SUP-A", "SUP", 2),
        "SUP-B": ("ROOT/SUP/SUP-B", "SUP", 2),
        "SAL": ("ROOT/SAL", "ROOT", 1),
    }
    assert support_a.is_in_subtree_of(support)
    assert not support.is_in_subtree_of(support_a)
    assert not org["sales"].is_in_subtree_of(support)


def test_a_teams_file_builds_a_tree_whose_parents_come_after_their_children(db):
    content = (
        b"external_id,name,parent_external_id\n"
        b"LEAF,Leaf,MID\n"
        b"MID,Middle,TOP\n"
        b"OTHER,Other leaf,MID\n"
        b"TOP,Top,\n"
    )

    sync = sync_teams(content)

    assert sync.status == DirectorySync.Status.APPLIED, sync.errors
    assert (sync.rows_total, sync.created_count, sync.updated_count) == (4, 4, 0)
    assert tree() == {
        "TOP": ("TOP", None, 0),
        "MID": ("TOP/MID", "TOP", 1),
        "LEAF": ("TOP/MID/LEAF", "MID", 2),
        "OTHER": ("TOP/MID/OTHER", "MID", 2),
    }
    assert Team.objects.get(external_id="LEAF").name == "Leaf"


def test_a_teams_file_moves_a_team_and_the_paths_of_its_whole_subtree(org, cast, api):
    content = (
        b"external_id,name,parent_external_id\nSUP,Customer support,SAL\nSUP-A,Support A,SUP\n"
    )

    sync = sync_teams(content)

    assert sync.status == DirectorySync.Status.APPLIED, sync.errors
    assert (sync.created_count, sync.updated_count, sync.unchanged_count) == (0, 1, 1)
    assert tree() == {
        "ROOT": ("ROOT", None, 0),
        "SAL": ("ROOT/SAL", "ROOT", 1),
        "SUP": ("ROOT/SAL/SUP", "SAL", 2),
        "SUP-A": ("ROOT/SAL/SUP/SUP-A", "SUP", 3),
        "SUP-B": ("ROOT/SAL/SUP/SUP-B", "SUP", 3),
    }
    assert Team.objects.get(external_id="SUP").name == "Customer support"
    # The manager of Support still sees the people of the teams below it, at their new paths.
    people = api.as_(cast["manager"]).get("/api/v1/employees/", {"subtree": org["support"].pk})
    assert people.status_code == 200
    assert [item["name"] for item in people.json()["results"]] == [
        "Erin Employee",
        "Maya Manager",
        "Olga Outsider",
        "Tom Teammate",
    ]
    sales = api.as_(cast["executive"]).get("/api/v1/employees/", {"subtree": org["sales"].pk})
    assert len(sales.json()["results"]) == 5


def test_a_teams_file_without_the_parent_column_leaves_teams_where_they_are(org):
    before = tree()

    sync = sync_teams(b"external_id,name\nSUP-A,Support Alpha\nNEW,New team\n")

    assert sync.status == DirectorySync.Status.APPLIED, sync.errors
    assert (sync.created_count, sync.updated_count) == (1, 1)
    assert tree() == {**before, "NEW": ("NEW", None, 0)}
    assert Team.objects.get(external_id="SUP-A").name == "Support Alpha"


def test_an_empty_parent_makes_a_team_a_root(org):
    sync = sync_teams(b"external_id,name,parent_external_id\nSUP,Support,\n")

    assert sync.updated_count == 1
    assert tree()["SUP"] == ("SUP", None, 0)
    assert tree()["SUP-B"] == ("SUP/SUP-B", "SUP", 1)


def test_the_same_teams_file_twice_changes_nothing_the_second_time(org):
    content = b"external_id,name,parent_external_id\nSUP,Support,SAL\nNEW,New,SUP\n"
    first = sync_teams(content)
    assert (first.created_count, first.updated_count) == (1, 1)
    before = list(Team.objects.order_by("pk").values())

    second = sync_teams(content)

    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 2)
    assert list(Team.objects.order_by("pk").values()) == before


def test_a_teams_file_reactivates_a_team(org):
    services.team_update(team=org["sales"], is_active=False)

    sync = sync_teams(b"external_id,name,parent_external_id\nSAL,Sales,ROOT\n")

    assert sync.updated_count == 1
    assert Team.objects.get(external_id="SAL").is_active


def test_a_cycle_between_new_teams_is_rejected_on_every_row_in_it(org):
    before = tree()
    content = b"external_id,name,parent_external_id\nA,A,B\nB,B,A\nC,C,SUP\n"

    sync = sync_teams(content)

    assert sync.status == DirectorySync.Status.REJECTED
    assert sync.errors == [
        {"row": 2, "column": "parent_external_id", "reason": "This parent would make a cycle."},
        {"row": 3, "column": "parent_external_id", "reason": "This parent would make a cycle."},
    ]
    assert tree() == before


def test_moving_a_team_under_its_own_descendant_in_the_file_is_rejected(org):
    before = tree()

    sync = sync_teams(b"external_id,name,parent_external_id\nSUP,Support,SUP-B\n")

    assert sync.status == DirectorySync.Status.REJECTED
    assert sync.errors == [
        {"row": 2, "column": "parent_external_id", "reason": "This parent would make a cycle."}
    ]
    assert tree() == before


def test_an_unknown_parent_is_rejected(org):
    before = tree()

    sync = sync_teams(b"external_id,name,parent_external_id\nNEW,New,GHOST\n")

    assert sync.errors == [
        {"row": 2, "column": "parent_external_id", "reason": "Unknown team 'GHOST'."}
    ]
    assert tree() == before


def test_team_move_updates_a_deep_subtree(org):
    chain = [org["support_a"]]
    for level in range(5):
        chain.append(TeamFactory(external_id=f"L{level}", name=f"Level {level}", parent=chain[-1]))

    services.team_move(team=org["support"], parent=None)

    assert tree()["SUP"] == ("SUP", None, 0)
    assert tree()["L4"] == ("SUP/SUP-A/L0/L1/L2/L3/L4", "L3", 6)
    services.team_move(team=org["support_a"], parent=org["sales"])
    assert tree()["L4"] == ("ROOT/SAL/SUP-A/L0/L1/L2/L3/L4", "L3", 7)
    assert tree()["SUP-B"] == ("SUP/SUP-B", "SUP", 1)


@pytest.mark.parametrize("target", ["support", "support_a"])
def test_team_move_refuses_to_place_a_team_under_itself(org, target):
    with pytest.raises(DomainError) as caught:
        services.team_move(team=org["support"], parent=org[target])
    assert caught.value.field == "parent"
    assert tree()["SUP"] == ("ROOT/SUP", "ROOT", 1)


def test_rebuilding_paths_repairs_a_wrong_path_and_changes_nothing_when_all_are_right(org):
    assert services.team_paths_rebuild() == 0
    Team.objects.filter(pk=org["support"].pk).update(path="/wrong/", depth=9)

    assert services.team_paths_rebuild() == 1

    assert tree()["SUP"] == ("ROOT/SUP", "ROOT", 1)


def test_the_api_moves_a_team_and_its_subtree(api, hr_admin, org):
    response = api.as_(hr_admin).patch(
        f"/api/v1/teams/{org['support'].pk}/", {"parent": org["sales"].pk}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["parent"], response.json()["depth"]) == (org["sales"].pk, 2)
    assert tree()["SUP-B"] == ("ROOT/SAL/SUP/SUP-B", "SUP", 3)

    response = api.as_(hr_admin).patch(
        f"/api/v1/teams/{org['support'].pk}/", {"parent": None}, format="json"
    )

    assert (response.json()["parent"], response.json()["depth"]) == (None, 0)
    assert tree()["SUP-A"] == ("SUP/SUP-A", "SUP", 1)


def test_the_api_refuses_to_move_a_team_under_its_descendant(api, hr_admin, org):
    before = tree()

    response = api.as_(hr_admin).patch(
        f"/api/v1/teams/{org['root'].pk}/", {"parent": org["support_b"].pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "A team cannot be placed under itself.",
            "fields": {"parent": ["A team cannot be placed under itself."]},
        }
    }
    assert tree() == before
