"""Template tags that tie a survey result to the actions it should lead to.

"May this viewer commit an action for this group, and which drivers are weak?" is an actions
question (`actions.permissions.may_create_for`), so the tag lives in actions, which may read
surveys. The surveys results page loads it by name (`{% load commit_actions %}`); no surveys
code imports actions, and the page does not reach up into insights for it.
"""

from typing import Any

from django import template

from cxculture.actions.permissions import may_create_for
from cxculture.people.models import Team
from cxculture.people.permissions import Viewer
from surveys.models import Driver

register = template.Library()

WEAK_BELOW = 60.0  # % favourable under which a driver is worth an action


def weak_drivers(drivers: list[dict[str, Any]]) -> set[str]:
    """Drivers under 60% favourable, and the lowest one (the engagement index is the outcome,
    not a driver to act on, so it is the lowest only when nothing else has a figure)."""
    scored = [d for d in drivers if d.get("favourable") is not None]
    weak = {d["driver"] for d in scored if d["favourable"] < WEAK_BELOW}
    candidates = [d for d in scored if d["driver"] != Driver.ENGAGEMENT] or scored
    if candidates:
        weak.add(min(candidates, key=lambda d: d["favourable"])["driver"])
    return weak


@register.simple_tag
def commit_action(viewer: Viewer | None, results: dict[str, Any]) -> dict[str, Any]:
    """What the results page needs to offer "Commit an action" on each driver row: whether the
    viewer may commit one for the group shown (a team or the organisation, with no attribute
    filter), the team to prefill, and which drivers are weak. One query for a team group."""
    offer: dict[str, Any] = {"may": False, "team": "", "weak": weak_drivers(results["drivers"])}
    group = results.get("group") or {}
    if viewer is None or not results.get("reportable") or group.get("filters"):
        return offer
    team_id = group.get("team")
    team = Team.objects.filter(pk=team_id).first() if team_id is not None else None
    if team_id is not None and team is None:
        return offer
    offer["may"] = may_create_for(viewer, team)
    offer["team"] = team.pk if team is not None else ""
    return offer
