"""A closed run's summary: every subtree's figures and participation through the gate, which
dashboards, trends and home cards read instead of the run's cells."""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from cxculture.lib import stats
from cxculture.lib.anonymity import ORGANISATION, SUBTREE, TEAM, Group

from ..models import RunSummary, SurveyRun
from ..selectors import run_questions
from .gate import reason_for
from .scoring import scores
from .snapshot import RunSnapshot, read_snapshot


@dataclass(frozen=True)
class TeamFigures:
    """A group's published figures through the gate (a team subtree's heatmap row, or a team's
    direct members): no figure at all when it is hidden."""

    shown: bool
    reason: str | None
    respondents: int | None = None
    engagement_index: float | None = None
    enps: float | None = None
    favourable: Mapping[str, float | None] = field(default_factory=dict)
    means: Mapping[str, float | None] = field(default_factory=dict)


# The shape of `RunSummary.figures`; a summary of another shape is computed afresh (never
# shown as it is) until `manage.py surveys_summarise_runs --rebuild` writes it again.
SUMMARY_VERSION = 2


def summary_figures(run: SurveyRun) -> dict[str, Any]:
    """What `RunSummary.figures` and `RunSummary.direct_members` hold for a closed run, read
    from its responses (a fixed number of queries): the team tree as frozen at opening, every
    subtree's `group_figures` and `subtree_participation`, and every team's
    `direct_members_figures`, computed through the gate exactly as a snapshot computes them.

    Figures are rows (`_row`) whose driver values follow the summary's `drivers` list."""
    snapshot = read_snapshot(run, run_questions(run))
    nodes = [ORGANISATION, *snapshot.parents]
    teams = [node for node in snapshot.parents if isinstance(node, int)]
    subtrees = {node: group_figures(snapshot, node) for node in nodes}
    members = {node: direct_members_figures(snapshot, node) for node in teams}
    drivers = sorted(
        {driver for found in [*subtrees.values(), *members.values()] for driver in found.favourable}
    )
    return {
        "figures": {
            "version": SUMMARY_VERSION,
            "drivers": drivers,
            "tree": [
                [
                    node,
                    parent,
                    snapshot.paths.get(node),
                    snapshot.invited.get(node, 0),
                    snapshot.responded.get(node, 0),
                ]
                for node, parent in snapshot.parents.items()
            ],
            "figures": {_key(node): _row(found, drivers) for node, found in subtrees.items()},
            "participation": {
                _key(node): json.dumps(subtree_participation(snapshot, node)) for node in nodes
            },
        },
        "direct_members": {_key(node): _row(found, drivers) for node, found in members.items()},
    }


def _row(figures: TeamFigures, drivers: list[str]) -> str:
    """A group's figures as stored: JSON text inside the summary, decoded only for the groups a
    page reads (a dashboard's trend reads one team in each of 26 runs of 2,000 teams, and
    decoding every team's figures cost more than the rest of the read). A hidden group is its
    reason alone."""
    if not figures.shown:
        return json.dumps([False, figures.reason])
    return json.dumps(
        [
            True,
            figures.reason,
            figures.respondents,
            figures.engagement_index,
            figures.enps,
            [figures.favourable.get(driver) for driver in drivers],
            [figures.means.get(driver) for driver in drivers],
        ]
    )


# Every stored row is `json.dumps` of a list whose first item says whether the group is shown,
# so its text tells that without decoding the figures (`StoredFigures.shown`).
_SHOWN_ROW = json.dumps([True])[:-1] + ","


def _unrow(text: str, drivers: list[str]) -> TeamFigures:
    row = json.loads(text)
    if not row[0]:
        return TeamFigures(shown=False, reason=row[1])
    _shown, reason, respondents, engagement_index, enps, favourable, means = row
    return TeamFigures(
        shown=True,
        reason=reason,
        respondents=respondents,
        engagement_index=engagement_index,
        enps=enps,
        favourable=dict(zip(drivers, favourable, strict=True)),
        means=dict(zip(drivers, means, strict=True)),
    )


def _key(node: Any) -> str:
    """JSON object keys are strings: team ids, "organisation" and "unassigned"."""
    return str(node)


@dataclass(frozen=True)
class StoredFigures:
    """A stored summary's figures, turned into `TeamFigures` only for the groups a page reads
    (a dashboard reads a department in each of 26 runs, not 2,000 teams in each)."""

    drivers: list[str]
    figures: dict[str, str]  # JSON text per group (`_row`)
    participation: dict[str, str]
    members: dict[str, str] | None

    def subtree(self, node: Any) -> TeamFigures | None:
        row = self.figures.get(_key(node))
        return None if row is None else _unrow(row, self.drivers)

    def shown(self, node: Any) -> bool | None:
        """Whether the subtree's figures are shown (None: the group is not in the summary),
        read without decoding them: follow-through asks it of every led team in 12 runs."""
        row = self.figures.get(_key(node))
        return None if row is None else row.startswith(_SHOWN_ROW)

    def direct_members(self, node: Any) -> TeamFigures | None:
        row = None if self.members is None else self.members.get(_key(node))
        return None if row is None else _unrow(row, self.drivers)


def _summary(run: SurveyRun, stored: dict[str, Any], members: dict[str, Any] | None) -> RunSnapshot:
    summary = RunSnapshot(run=run, questions=[], stamp=str(run.pk), summary_only=True)
    for node, parent, path, invited, responded in stored["tree"]:
        summary.parents[node] = parent
        if path is not None:
            summary.paths[node] = path
        if invited:
            summary.invited[node] = invited
        if responded:
            summary.responded[node] = responded
    summary.stored = StoredFigures(
        drivers=stored["drivers"],
        figures=stored["figures"],
        participation=stored["participation"],
        members=members,
    )
    return summary


def run_summaries(
    runs: Iterable[SurveyRun], *, direct_members: bool = False
) -> dict[int, RunSnapshot]:
    """Summaries of closed runs by run id (`RunSnapshot.summary_only`): their tree and every
    subtree's `group_figures` and `subtree_participation` (with `direct_members`, every team's
    `direct_members_figures` too), for dashboards, trends and linkage, read from `RunSummary`
    in one query for all the runs. A closed run with no summary stored (closed before
    summaries were: `manage.py surveys_summarise_runs` writes them) is computed here, the same
    way, and not kept. Runs that are not closed are left out."""
    closed = [run for run in runs if run.status == SurveyRun.Status.CLOSED]
    if not closed:
        return {}
    columns = ("run_id", "figures", "direct_members") if direct_members else ("run_id", "figures")
    stored = {
        row[0]: row[1:]
        for row in RunSummary.objects.filter(run__in=[run.pk for run in closed]).values_list(
            *columns
        )
    }
    found: dict[int, RunSnapshot] = {}
    for run in closed:
        row = stored.get(run.pk)
        if row is None or row[0].get("version") != SUMMARY_VERSION:
            computed = summary_figures(run)
            row = (computed["figures"], computed["direct_members"])
        found[run.pk] = _summary(run, row[0], row[1] if direct_members else None)
    return found


@dataclass(frozen=True)
class RunPoint:
    """One group in one closed run, as a trend shows it: whether the run's tree holds the group
    at all, its figures through the gate (`group_figures`), and its participation
    (`subtree_participation`, None when the participation plan hides it)."""

    present: bool
    figures: TeamFigures
    participation: dict[str, Any] | None


_ABSENT = RunPoint(present=False, figures=TeamFigures(shown=False, reason=None), participation=None)


def _stored_texts(ids: list[int], *paths: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """(run id, the text at each of `paths` inside its stored summary) for the summaries of the
    runs `ids`, extracted by the database so that only those texts are sent (None where a path
    leads nowhere).

    On PostgreSQL the summary is decompressed once, in the inner query (concatenating an empty
    object makes a plain value of it): each path taken from the stored column itself would
    decompress the whole summary again (60 ms against 10 for two dozen runs of 2,000 teams).
    Keys are quoted on SQLite, where a team's key, a number, would be read as an array index.
    """
    table = connection.ops.quote_name(RunSummary._meta.db_table)
    params: list[Any]
    if connection.vendor == "postgresql":
        texts = ", ".join("s.summary #>> %s" for _ in paths)
        sql = (
            f"SELECT s.run_id, {texts} FROM (SELECT run_id, "  # noqa: S608 - our own names
            f"figures || '{{}}'::jsonb AS summary FROM {table} WHERE run_id = ANY(%s) OFFSET 0) s"
        )
        params = [*[list(path) for path in paths], ids]
    else:
        texts = ", ".join("json_extract(figures, %s)" for _ in paths)
        placeholders = ", ".join(["%s"] * len(ids))
        sql = f"SELECT run_id, {texts} FROM {table} WHERE run_id IN ({placeholders})"  # noqa: S608
        json_paths = ["$" + "".join(f".{json.dumps(key)}" for key in path) for path in paths]
        params = [*json_paths, *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def run_points(runs: Sequence[SurveyRun], node: Any) -> dict[int, RunPoint]:
    """The group `node` (a team's subtree or the organisation) in each closed run of `runs`, by
    run id: what `run_summaries` gives of it, read in one query that takes only the group's two
    rows of each stored summary. A trend over a year of runs of 2,000 teams needs those, not
    the 370 kB of every summary. A run whose summary is missing or of another version is read
    whole (`run_summaries`), which computes it. Runs that are not closed are left out."""
    closed = [run for run in runs if run.status == SurveyRun.Status.CLOSED]
    if not closed:
        return {}
    key = _key(node)
    rows = _stored_texts(
        [run.pk for run in closed],
        ("version",),
        ("drivers",),
        ("figures", key),
        ("participation", key),
    )
    points: dict[int, RunPoint] = {}
    for run_id, version, drivers, figures, participation in rows:
        if str(version) != str(SUMMARY_VERSION):
            continue  # read whole below
        if figures is None:  # every group of the run's tree has a row
            points[run_id] = _ABSENT
            continue
        points[run_id] = RunPoint(
            present=True,
            figures=_unrow(figures, json.loads(drivers)),
            participation=json.loads(participation),
        )
    whole = run_summaries([run for run in closed if run.pk not in points])
    for run_id, summary in whole.items():
        if node != ORGANISATION and node not in summary.paths:
            points[run_id] = _ABSENT
            continue
        points[run_id] = RunPoint(
            present=True,
            figures=group_figures(summary, node),
            participation=subtree_participation(summary, node),
        )
    return points


def shown_subtrees(runs: Sequence[SurveyRun]) -> dict[int, set[Any]]:
    """The groups whose subtree figures each closed run shows (each one `group_shown` says yes
    of), by run id, read in one query that sends only their keys: whether a stored row is shown
    is in its first characters (`_SHOWN_ROW`), which the database tests. Follow-through asks it
    of every led team in a dozen runs, whose whole summaries are 4 MB of JSON at 2,000 teams. A
    run whose summary is missing or of another version is read whole (`run_summaries`). Runs
    that are not closed are left out."""
    closed = [run for run in runs if run.status == SurveyRun.Status.CLOSED]
    if not closed:
        return {}
    table = connection.ops.quote_name(RunSummary._meta.db_table)
    ids = [run.pk for run in closed]
    # Each summary's version and map are taken once in the inner query (OFFSET 0 keeps it
    # apart): an expression on the summary repeated for each of its 2,000 rows decompresses the
    # whole summary each time (9 s for 12 runs).
    if connection.vendor == "postgresql":
        sql = (
            "SELECT s.run_id, s.version, "  # noqa: S608 - our own names
            "array_agg(f.key) FILTER (WHERE f.value LIKE %s) FROM ("
            "SELECT run_id, figures ->> 'version' AS version, figures -> 'figures' AS map "
            f"FROM {table} WHERE run_id = ANY(%s) OFFSET 0) s "
            "CROSS JOIN LATERAL jsonb_each_text(s.map) f GROUP BY s.run_id, s.version"
        )
        params: list[Any] = [_SHOWN_ROW + "%", ids]
    else:
        sql = (
            "SELECT s.run_id, s.version, "  # noqa: S608
            "json_group_array(CASE WHEN f.value LIKE %s THEN f.key END) FROM ("
            "SELECT run_id, json_extract(figures, '$.version') AS version, "
            f"json_extract(figures, '$.figures') AS map FROM {table} "
            f"WHERE run_id IN ({', '.join(['%s'] * len(ids))}) LIMIT -1 OFFSET 0) s, "
            "json_each(s.map) f GROUP BY s.run_id, s.version"
        )
        params = [_SHOWN_ROW + "%", *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found: dict[int, set[Any]] = {}
    for run_id, version, keys in rows:
        if str(version) != str(SUMMARY_VERSION):
            continue  # read whole below
        if isinstance(keys, str):  # SQLite's JSON array, with a null for each row not shown
            keys = json.loads(keys)
        found[run_id] = {_node(key) for key in keys or () if key is not None}
    whole = run_summaries([run for run in closed if run.pk not in found])
    for run_id, summary in whole.items():
        nodes = [ORGANISATION, *summary.parents]
        found[run_id] = {node for node in nodes if group_shown(summary, node)}
    return found


def _node(key: str) -> Any:
    """A group's node from its key in a stored summary (`_key`): a team's id, or a name."""
    return int(key) if key.isdigit() else key


def subtree_participation(snapshot: RunSnapshot, node: Any) -> dict[str, Any] | None:
    """`group_participation` of a subtree (or the organisation), from a snapshot or a summary."""
    if node not in snapshot._subtree_participation:
        stored = snapshot.stored.participation if snapshot.stored is not None else {}
        if _key(node) in stored:
            counts = json.loads(stored[_key(node)])
        else:
            counts = group_participation(snapshot, Group(SUBTREE, node))
            if snapshot.stamp is None:
                return counts
        snapshot._subtree_participation[node] = counts
    return snapshot._subtree_participation[node]


def group_participation(snapshot: RunSnapshot, group: Group) -> dict[str, Any] | None:
    """Invited, responded and rate of a group, when the participation plan (k invited) shows it."""
    if group.filters:
        return None
    decision = snapshot.participation_plan.decide(Group(group.kind, group.node))
    if not decision.shown:
        return None
    if group.node == ORGANISATION:
        nodes = list(snapshot.parents)
    elif group.kind == TEAM:
        nodes = [group.node]
    else:
        nodes = [group.node, *snapshot.descendants(group.node)]
    invited = sum(snapshot.invited.get(node, 0) for node in nodes)
    responded = sum(snapshot.responded.get(node, 0) for node in nodes)
    return {"invited": invited, "responded": responded, "rate": stats.percent(responded, invited)}


def group_scores(snapshot: RunSnapshot, group: Group) -> dict[str, Any]:
    """`scores` of one group the run's plan shows, each figure through its question's plan.

    The one call for anything outside this module that shows a group's engagement index, eNPS
    or driver scores (check `snapshot.plan.decide(group).shown` first): one query per snapshot.
    """
    questions = [q for q in snapshot.questions if q.is_scored]
    return scores(
        questions,
        snapshot.group_tallies(group),
        snapshot.run.anonymity_threshold,
        shown=snapshot.shown_questions(group, questions),
    )


def group_figures(snapshot: RunSnapshot, node: Any) -> TeamFigures:
    """A subtree's (or the organisation's) figures through the gate, from a snapshot or a
    summary: shown or not, respondents, engagement index, eNPS and drivers' favourable share
    and mean. Kept on a closed run's snapshot: its results never change, and a heatmap of 2,000
    teams spends most of its time here otherwise."""
    known = snapshot._team_figures.get(node)
    if known is not None:
        return known
    stored = snapshot.stored.subtree(node) if snapshot.stored is not None else None
    figures = stored or _figures(snapshot, Group(SUBTREE, node))
    if snapshot.stamp is not None:  # an open run's figures change with every response
        snapshot._team_figures[node] = figures
    return figures


def group_shown(snapshot: RunSnapshot, node: Any) -> bool:
    """`group_figures(snapshot, node).shown`, without decoding a stored summary's figures."""
    if node not in snapshot._team_figures and snapshot.stored is not None:
        shown = snapshot.stored.shown(node)
        if shown is not None:
            return shown
    return group_figures(snapshot, node).shown


def direct_members_figures(snapshot: RunSnapshot, node: Any) -> TeamFigures:
    """A team's direct members' figures (as results show "a team, direct members only"), from
    a snapshot or a summary read with `direct_members=True`."""
    known = snapshot._member_figures.get(node)
    if known is not None:
        return known
    stored = snapshot.stored.direct_members(node) if snapshot.stored is not None else None
    figures = stored or _figures(snapshot, Group(TEAM, node))
    if snapshot.stamp is not None:
        snapshot._member_figures[node] = figures
    return figures


def _figures(snapshot: RunSnapshot, group: Group) -> TeamFigures:
    decision = snapshot.plan.decide(group)
    reason = reason_for(decision, snapshot.run.anonymity_threshold)
    if not decision.shown:
        return TeamFigures(shown=False, reason=reason)
    scored = group_scores(snapshot, group)
    return TeamFigures(
        shown=True,
        reason=reason,
        respondents=decision.respondents,
        engagement_index=scored["engagement_index"],
        enps=scored["enps"],
        favourable={driver: entry["favourable"] for driver, entry in scored["drivers"].items()},
        means={driver: entry["mean"] for driver, entry in scored["drivers"].items()},
    )
