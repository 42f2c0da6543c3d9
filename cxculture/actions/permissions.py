"""Who may see, create and change actions.

- See and follow: everyone in the action's scope — members of the team's subtree, managers of
  the team, of a team above it or of a team inside it, HR admins and executives; organisation
  actions (no team): everyone. The owner always sees their own action.
- Create and change: HR admins; managers for teams in their subtrees; executives for
  organisation actions; and the owner of an action may change it.
"""

from django.db.models import Q

from cxculture.people.models import Team
from cxculture.people.permissions import Viewer

from .models import Action


def path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def visible_q(viewer: Viewer) -> Q:
    """The filter on actions for what `viewer` may see."""
    if not viewer.is_authenticated:
        return Q(pk__in=[])
    if viewer.sees_whole_organisation:
        return Q()
    # Teams at or above the viewer's team and the teams they manage: their scope includes them.
    above: set[int] = set()
    team = viewer.employee.team if viewer.employee else None
    if team is not None:
        above.update(path_ids(team.path))
    for path in viewer.managed_paths:
        above.update(path_ids(path))
    query = Q(team__isnull=True) | Q(team_id__in=sorted(above)) | viewer.subtree_q("team__")
    if viewer.employee is not None:
        query |= Q(owner_id=viewer.employee.pk)
    return query


def may_create_for(viewer: Viewer, team: Team | None) -> bool:
    if not viewer.is_authenticated:
        return False
    if viewer.is_hr_admin:
        return True
    if viewer.employee is None:
        return False
    if team is None:
        return viewer.is_executive
    return any(team.path.startswith(path) for path in viewer.managed_paths)


def may_change(viewer: Viewer, action: Action) -> bool:
    if not viewer.is_authenticated:
        return False
    if viewer.is_hr_admin:
        return True
    if viewer.employee is not None and action.owner_id == viewer.employee.pk:
        return True
    return may_create_for(viewer, action.team)


def may_create_any(viewer: Viewer) -> bool:
    return viewer.is_hr_admin or viewer.is_manager or viewer.is_executive
