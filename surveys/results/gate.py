"""The gate adapter: how a run's groups meet `cxculture.lib.anonymity`.

The attributes a result may be filtered on, the one neutral reason for anything hidden, which
groups a viewer may ask for, and the response filter of a group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from cxculture.lib import anonymity
from cxculture.lib.anonymity import ORGANISATION, SUBTREE, TEAM, Cell, Group
from cxculture.lib.errors import DomainError
from cxculture.people.models import Team
from cxculture.people.permissions import Viewer

from ..models import TenureBand

if TYPE_CHECKING:
    from .snapshot import RunSnapshot


ATTRIBUTES = ("tenure_band", "location", "role_family")
ATTRIBUTE_LABELS = {"tenure_band": "Tenure", "location": "Location", "role_family": "Role family"}
UNASSIGNED = "unassigned"  # the tree node of people who had no team when the run opened

# One neutral reason for every hidden group or figure: telling "fewer than k" from "hidden to
# protect another group" (or from "everyone gave the same answer") would itself say something
# about how many people are in the group and what they answered.
HIDDEN_REASON = "Hidden to protect anonymity"
REASON_TEXT = {
    anonymity.FEWER_THAN_K: HIDDEN_REASON,
    anonymity.PROTECTS_OTHERS: HIDDEN_REASON,
}


def path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _node(path: str) -> Any:
    ids = path_ids(path)
    return ids[-1] if ids else UNASSIGNED


CELL_KEYS = ("response__team_path", *(f"response__{name}" for name in ATTRIBUTES))


def cell_of(row: Mapping[str, Any]) -> Cell:
    """The gate's cell of an Answer row grouped by CELL_KEYS (as `run_snapshot` keys cells)."""
    return (
        _node(row["response__team_path"]),
        tuple(row[f"response__{name}"] or "" for name in ATTRIBUTES),
    )


# The parts of a closed run's snapshot that never change, with everything derived from them
# (the plans, per-question figure plans, answer tallies): kept in the cache so that a results


# --- Who may see which group ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsQuery:
    """What a viewer asks for: a team (its direct members), a subtree, and attribute filters."""

    team: int | None = None
    subtree: int | None = None
    filters: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ResultsQuery:
        def number(name: str) -> int | None:
            raw = params.get(name)
            if raw in (None, ""):
                return None
            try:
                return int(raw)
            except (TypeError, ValueError):
                raise DomainError("Give a team id.", field=name) from None

        filters = tuple(
            (name, str(params[name]).strip())
            for name in ATTRIBUTES
            if params.get(name) not in (None, "")
        )
        for name, value in filters:
            if "\x00" in value or len(value) > 100:
                raise DomainError("This filter value is not valid.", field=name)
        query = cls(team=number("team"), subtree=number("subtree"), filters=filters)
        if query.team is not None and query.subtree is not None:
            raise DomainError("Ask for a team or a subtree, not both.", field="team")
        return query


def _managed_ids(viewer: Viewer) -> set[int]:
    return {path_ids(path)[-1] for path in viewer.managed_paths if path_ids(path)}


def may_see_group(viewer: Viewer, snapshot: RunSnapshot, group: Group) -> bool:
    """HR and executives: any group; managers: groups in their subtrees; employees: their team."""
    if viewer.sees_whole_organisation:
        return True
    if group.node == ORGANISATION:
        return False
    path = snapshot.paths.get(group.node, "")
    if path and any(f"/{team_id}/" in path for team_id in _managed_ids(viewer)):
        return True
    own_team = viewer.team_id is not None and group.node == viewer.team_id and not group.filters
    return own_team and (group.kind == TEAM or not snapshot.has_children(group.node))


def default_group(viewer: Viewer, snapshot: RunSnapshot) -> Group:
    if viewer.sees_whole_organisation:
        return Group(SUBTREE, ORGANISATION)
    managed = [m for m in _managed_ids(viewer) if m in snapshot.paths]
    if managed:
        return Group(SUBTREE, min(managed, key=lambda m: len(snapshot.paths[m])))
    if viewer.team_id is not None:
        return Group(TEAM, viewer.team_id)
    raise PermissionDenied("You have no team to see results for.")


def resolve_group(viewer: Viewer, snapshot: RunSnapshot, query: ResultsQuery) -> Group:
    unknown = [name for name, _ in query.filters if name not in ATTRIBUTES]
    if unknown:
        raise DomainError(f"Unknown filter {unknown[0]!r}.", field=unknown[0])
    node = query.team if query.team is not None else query.subtree
    if node is None:
        base = default_group(viewer, snapshot)
        group = Group(base.kind, base.node, query.filters)
    else:
        if node not in snapshot.parents and not Team.objects.filter(pk=node).exists():
            raise DomainError("There is no such team.", field="team" if query.team else "subtree")
        group = Group(TEAM if query.team is not None else SUBTREE, node, query.filters)
    if not may_see_group(viewer, snapshot, group):
        raise PermissionDenied("These results are outside the teams you can see.")
    return group


def group_label(snapshot: RunSnapshot, group: Group) -> str:
    label = snapshot.name(group.node)
    if group.kind == TEAM and snapshot.has_children(group.node):
        label += " (direct members only)"
    for name, value in group.filters:
        shown = (
            TenureBand(value).label
            if name == "tenure_band" and value in TenureBand.values
            else value
        )
        label += f" · {ATTRIBUTE_LABELS[name]}: {shown}"
    return label


def group_filter(snapshot: RunSnapshot, group: Group, prefix: str = "") -> Q | None:
    """The filter selecting the group's responses; None when the group has none in this run."""
    query = Q()
    if group.node == UNASSIGNED:
        query &= Q(**{f"{prefix}team_path": ""})
    elif group.node != ORGANISATION:
        path = snapshot.paths.get(group.node)
        if path is None:
            return None
        lookup = "team_path__startswith" if group.kind == SUBTREE else "team_path"
        query &= Q(**{f"{prefix}{lookup}": path})
    for name, value in group.filters:
        query &= Q(**{f"{prefix}{name}": value})
    return query


def reason_for(decision: anonymity.Decision, k: int) -> str | None:
    if decision.shown:
        return None
    return REASON_TEXT[decision.reason].format(k=k)


def figure_reason(shown: bool) -> str | None:
    """Why a question's or pooled figure is hidden in a shown group (None when it is shown)."""
    if shown:
        return None
    return HIDDEN_REASON
