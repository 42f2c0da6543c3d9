"""Permission matrix rows for actions: every endpoint, role and method, with its status.

- See: everyone in the scope (members of the team's subtree, managers above or inside it,
  HR, executives); organisation actions: everyone. Outside the scope an action is not found.
- Create and change: HR admins; managers for teams they lead; executives for organisation
  actions; the owner of an action.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cxculture.actions.models import Action
from tests.factories.actions import make_action
from tests.matrix import READ, Case, Target, World, once, pk_of, statuses

TEAM_READ = statuses(200, outsider=404)
TEAM_CHANGE = statuses(403, outsider=404, manager=200, hr_admin=200)
TEAM_POST = statuses(403, outsider=404, manager=201, hr_admin=201)
ORG_CHANGE = statuses(403, hr_admin=200, executive=200)
ORG_POST = statuses(403, hr_admin=201, executive=201)


team_action: Callable[[World], Action] = once(
    "team",
    lambda w: make_action(by=w.cast["manager"], team=w.org["support_a"], title="Fix the macro"),
)
org_action: Callable[[World], Action] = once(
    "org",
    lambda w: make_action(
        by=w.cast["executive"], team=None, owner=w.cast["executive"], title="Town hall"
    ),
)


@dataclass(frozen=True)
class NestedCase(Case):
    """A list under an action: `{id}` is the action's, and the answer is not that action."""

    parent: Target | None = None

    def url(self, world: World) -> str:
        assert self.parent is not None
        return self.path.replace("{id}", str(self.parent(world)))


def _new(team_key: str | None) -> Callable[[World, Any], dict[str, Any]]:
    def body(world: World, me: Any) -> dict[str, Any]:
        return {
            "title": "Coach on callbacks",
            "owner": world.cast["manager"].pk,
            "due_on": str(timezone.localdate() + dt.timedelta(days=60)),
            "team": world.org[team_key].pk if team_key else None,
        }

    return body


DETAIL = "/api/v1/actions/{id}/"
UPDATES = "/api/v1/actions/{id}/updates/"

ACTIONS_MATRIX: list[Case] = [
    Case("GET", "/api/v1/actions/", READ),
    Case(
        "POST",
        "/api/v1/actions/",
        statuses(403, manager=201, hr_admin=201),
        body=_new("support_a"),
        about="for a team",
    ),
    Case(
        "POST",
        "/api/v1/actions/",
        ORG_POST,
        body=_new(None),
        about="for the organisation",
    ),
    Case("GET", DETAIL, TEAM_READ, target=pk_of(team_action), about="a team action"),
    Case("GET", DETAIL, READ, target=pk_of(org_action), about="an organisation action"),
    Case(
        "PATCH",
        DETAIL,
        TEAM_CHANGE,
        target=pk_of(team_action),
        body=lambda w, me: {"status": "in_progress"},
        about="a team action",
    ),
    Case(
        "PATCH",
        DETAIL,
        ORG_CHANGE,
        target=pk_of(org_action),
        body=lambda w, me: {"status": "in_progress"},
        about="an organisation action",
    ),
    NestedCase("GET", UPDATES, TEAM_READ, parent=pk_of(team_action), about="a team action"),
    NestedCase("GET", UPDATES, READ, parent=pk_of(org_action), about="an organisation action"),
    NestedCase(
        "POST",
        UPDATES,
        TEAM_POST,
        parent=pk_of(team_action),
        body=lambda w, me: {"text": "Draft shared"},
        about="a team action",
    ),
    NestedCase(
        "POST",
        UPDATES,
        ORG_POST,
        parent=pk_of(org_action),
        body=lambda w, me: {"text": "Agenda out"},
        about="an organisation action",
    ),
    Case("GET", "/api/v1/actions/follow-through/", READ),
]
