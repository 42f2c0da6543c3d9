"""Helpers shared by tests: extra data for the "large" size of query budgets, tokens, credentials.

Everything is created through factories (which go through services), so the extra teams and
people have the same paths, groups and manager relations as real ones.
"""

import random
from collections.abc import Iterable

from django.contrib.auth.models import User

from cxculture.people import services
from cxculture.people.models import DirectorySync, Employee, Team
from tests.factories.people import (
    CompanyValueFactory,
    EmployeeFactory,
    PolicyFactory,
    TeamFactory,
)

# The password every factory-made person signs in with (EmployeeFactory.password).
PASSWORD = "correct horse battery staple"


def token_for(person: Employee) -> str:
    """An API token of `person`, created the way `POST /api/v1/auth/token/` would."""
    _, key = services.api_token_create(user=person.user)
    return key


def grow_organisation(
    org: dict[str, Team],
    *,
    teams: int = 40,
    people: int = 120,
    values: int = 12,
    policies: int = 12,
    syncs: int = 6,
    requested_by: User | None = None,
    seed: int = 7,
) -> dict[str, list]:
    """Add `teams` teams and `people` people to the cast's organisation, spread so that every
    viewer's scope grows: new teams go under Support (the manager's subtree, some nested two
    levels deep) and under Sales; new people go into Support A (the employee's own team), into
    the new teams and into the cast's other teams. Every new team gets a manager, so team lists
    carry managers to serialize. Also adds values, policies (with owner teams) and applied
    directory syncs.
    """
    rng = random.Random(seed)
    parents: list[Team] = [org["support"], org["sales"], org["support_a"]]
    new_teams: list[Team] = []
    for number in range(teams):
        parent = parents[number % len(parents)] if number < 6 else rng.choice(new_teams)
        new_teams.append(TeamFactory(name=f"Grown team {number}", parent=parent))

    homes: list[Team] = [org["support_a"], org["support_b"], org["sales"], *new_teams]
    new_people = [
        EmployeeFactory(team=homes[number % len(homes)] if number % 4 else org["support_a"])
        for number in range(people)
    ]
    for team, manager in zip(new_teams, _cycle(new_people, len(new_teams)), strict=True):
        services.team_set_managers(team=team, managers=[manager])

    new_values = CompanyValueFactory.create_batch(values)
    new_policies = [
        PolicyFactory(owner_team=rng.choice([*new_teams, None])) for _ in range(policies)
    ]
    new_syncs = [
        services.directory_sync_start(
            kind=DirectorySync.Kind.TEAMS,
            content=f"external_id,name,parent_external_id\nSYNC-{n},Synced {n},SAL\n".encode(),
            file_name=f"teams-{n}.csv",
            requested_by=requested_by,
        )
        for n in range(syncs)
    ]
    return {
        "teams": new_teams,
        "people": new_people,
        "values": new_values,
        "policies": new_policies,
        "syncs": new_syncs,
    }


def _cycle(items: list, count: int) -> Iterable:
    """`count` items taken from `items` in a fixed stride, so managers come from many teams."""
    stride = max(1, len(items) // max(1, count))
    return [items[(index * stride) % len(items)] for index in range(count)]
