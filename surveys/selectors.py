"""Reads of pulse surveys, scoped to the viewer, and results behind the anonymity gate.

Results are computed with a fixed number of aggregate queries (one GROUP BY team path,
attributes and question) whatever the size of the run; figures are added up in Python from
those cells. Every figure that leaves this module has passed `cxculture.lib.anonymity`: the
group through the run's `Plan` (respondents), and each question's figure through the question's
`FigurePlan` (answerers — people may skip questions), so that no two groups shown can be
subtracted to isolate fewer than k answers of any question.

Results exist only for closed runs. A closed run refuses responses (and `survey_run_close`
waits for submissions in flight), so the numbers behind a run's results never change once they
are shown: two views at different times cannot be subtracted to isolate a late respondent. This
is how "no result that changes by fewer than k respondents between two views" is met.
"""

import hashlib
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from cxculture.lib import anonymity, stats
from cxculture.lib.anonymity import ORGANISATION, SUBTREE, TEAM, Cell, FigurePlan, Group, Plan
from cxculture.lib.api import ConflictError, DomainError
from cxculture.people.models import Team
from cxculture.people.permissions import Viewer

from .drivers import driver_label, driver_labels_for
from .models import (
    Answer,
    Driver,
    Invitation,
    Question,
    Response,
    RunQuestion,
    SurveyProgram,
    SurveyRun,
    TenureBand,
)

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


# --- Programs, questions, runs -------------------------------------------------------------------


def programs_for_viewer(viewer: Viewer) -> QuerySet[SurveyProgram]:
    if not viewer.is_authenticated:
        return SurveyProgram.objects.none()
    programs = (
        SurveyProgram.objects.prefetch_related("questions", "teams")
        .annotate(run_count=Count("runs", distinct=True))
        .order_by("name", "id")
    )
    return programs if viewer.is_hr_admin else programs.filter(is_active=True)


def questions_for_viewer(viewer: Viewer) -> QuerySet[Question]:
    if not viewer.is_authenticated:
        return Question.objects.none()
    return Question.objects.all() if viewer.is_hr_admin else Question.objects.filter(is_active=True)


def runs_for_viewer(viewer: Viewer) -> QuerySet[SurveyRun]:
    """Runs are public to everyone signed in (dates, status, questions — no answers).

    Each run says whether the viewer was invited and has responded, for their to-do list.
    """
    if not viewer.is_authenticated:
        return SurveyRun.objects.none()
    mine = Invitation.objects.filter(run=OuterRef("pk"), employee=viewer.employee)
    runs = (
        SurveyRun.objects.select_related("program")
        .annotate(
            question_count=Count("run_questions", distinct=True),
            invited=Exists(mine),
            responded=Exists(mine.filter(responded_on__isnull=False)),
        )
        .order_by("-opens_on", "-id")
    )
    if not viewer.is_hr_admin:
        runs = runs.filter(program__is_active=True)
    return runs


def run_questions(run: SurveyRun) -> list[Question]:
    return [
        rq.question
        for rq in RunQuestion.objects.filter(run=run)
        .select_related("question")
        .order_by("position", "id")
    ]


def invitation_for(viewer: Viewer, run: SurveyRun) -> Invitation | None:
    if viewer.employee is None:
        return None
    return Invitation.objects.filter(run=run, employee=viewer.employee).first()


def open_runs_waiting_for(viewer: Viewer) -> QuerySet[SurveyRun]:
    """Open runs the viewer was invited to and has not answered yet."""
    waiting = Invitation.objects.filter(
        run=OuterRef("pk"), employee=viewer.employee, responded_on__isnull=True
    )
    return runs_for_viewer(viewer).filter(Exists(waiting), status=SurveyRun.Status.OPEN)


def previous_closed_run(run: SurveyRun) -> SurveyRun | None:
    return (
        SurveyRun.objects.filter(
            program_id=run.program_id, status=SurveyRun.Status.CLOSED, sequence__lt=run.sequence
        )
        .order_by("-sequence", "-closes_on")  # imported runs are all number 0: the latest
        .first()
    )


# --- The run as the gate sees it ----------------------------------------------------------------


def _ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _node(path: str) -> Any:
    ids = _ids(path)
    return ids[-1] if ids else UNASSIGNED


@dataclass
class RunSnapshot:
    """The tree, cells and counts of one run, taken from the team paths frozen at opening."""

    run: SurveyRun
    questions: list[Question]
    parents: dict[Any, Any] = field(default_factory=dict)
    paths: dict[Any, str] = field(default_factory=dict)
    cells: dict[tuple[Any, tuple[str, ...]], int] = field(default_factory=dict)
    invited: dict[Any, int] = field(default_factory=dict)  # direct members per node
    responded: dict[Any, int] = field(default_factory=dict)
    _names: dict[Any, str] | None = None  # read on first use (`names`): most readers need none
    _plans: dict[str, Plan] = field(default_factory=dict)
    _cell_tallies: "dict[Cell, dict[int, Tally]] | None" = None
    _cell_choices: dict[Cell, dict[int, dict[str, int]]] | None = None
    _figure_plans: dict[int, FigurePlan] = field(default_factory=dict)
    _subtree_tallies: "dict[Any, dict[int, Tally]] | None" = None
    # A closed run's heatmap figures per team subtree, filled as pages ask for them
    # (`group_figures`): shared by every request of the process that reads this snapshot.
    _team_figures: dict[Any, "TeamFigures"] = field(default_factory=dict)
    _subtree_participation: dict[Any, dict[str, Any] | None] = field(default_factory=dict)
    # A closed run's summary (`run_summaries`): the tree and every subtree's figures and
    # participation, computed through the gate when the run was first read, without the cells
    # they came from. Anything that needs the cells refuses to run on it.
    summary_only: bool = False
    stamp: str | None = None  # set for a closed run: its results never change (run_snapshot)

    @property
    def names(self) -> dict[Any, str]:
        """Team names, read (one query) only when a label or tree order is asked for: teams may
        be renamed, so they are never part of the cached snapshot."""
        if self._names is None:
            self._names = _team_names(self)
        return self._names

    @names.setter
    def names(self, value: dict[Any, str]) -> None:
        self._names = value

    def add_path(self, path: str) -> Any:
        ids = _ids(path)
        if not ids:
            self.parents.setdefault(UNASSIGNED, None)
            return UNASSIGNED
        for index, node in enumerate(ids):
            self.parents.setdefault(node, ids[index - 1] if index else None)
            self.paths.setdefault(node, "/" + "/".join(map(str, ids[: index + 1])) + "/")
        return ids[-1]

    def _needs_cells(self) -> None:
        if self.summary_only:
            raise RuntimeError("A run summary has no cells: read the run with run_snapshot.")

    @property
    def plan(self) -> Plan:
        """What results may show (threshold k, filters on the three attributes)."""
        if "results" not in self._plans:
            self._needs_cells()
            self._plans["results"] = anonymity.build_plan(
                parents=self.parents,
                cells=self.cells,
                k=self.run.anonymity_threshold,
                attributes=ATTRIBUTES,
                withheld=self._stored_elsewhere(),
            )
        return self._plans["results"]

    @property
    def comment_plan(self) -> Plan:
        if "comments" not in self._plans:
            self._needs_cells()
            by_node: dict[tuple[Any, tuple[str, ...]], int] = defaultdict(int)
            for (node, _values), count in self.cells.items():
                by_node[(node, ())] += count
            self._plans["comments"] = anonymity.build_plan(
                parents=self.parents, cells=by_node, k=self.run.comment_threshold
            )
        return self._plans["comments"]

    @property
    def participation_plan(self) -> Plan:
        """Participation counts are shown for groups of at least k *invited* people."""
        if "participation" not in self._plans:
            self._needs_cells()
            self._plans["participation"] = anonymity.build_plan(
                parents=self.parents,
                cells={(node, ()): count for node, count in self.invited.items()},
                k=self.run.anonymity_threshold,
            )
        return self._plans["participation"]

    # --- Answers, per cell (read once per snapshot, i.e. per request) ----------------------------

    def cell_tallies(self) -> "dict[Cell, dict[int, Tally]]":
        """Tallies of the 0-10 and 1-5 answers per cell and question: one GROUP BY."""
        if self._cell_tallies is None:
            self._needs_cells()
            self._cell_tallies = {}
            for row in (
                Answer.objects.filter(response__run=self.run, value__isnull=False)
                .values(*CELL_KEYS, "question_id")
                .annotate(**TALLY)
                .order_by()
            ):
                # Several rows may fall in one cell (an empty and a null attribute): add them up.
                by_question = self._cell_tallies.setdefault(_cell_of(row), {})
                by_question.setdefault(row["question_id"], Tally()).add(Tally.from_row(row))
        return self._cell_tallies

    def cell_choices(self) -> dict[Cell, dict[int, dict[str, int]]]:
        """Single-choice answers per cell, question and option (no query without such items)."""
        if self._cell_choices is None:
            self._cell_choices = {}
            if any(q.kind == Question.Kind.SINGLE_CHOICE for q in self.questions):
                for row in (
                    Answer.objects.filter(
                        response__run=self.run, question__kind=Question.Kind.SINGLE_CHOICE
                    )
                    .exclude(choice="")
                    .values(*CELL_KEYS, "question_id", "choice")
                    .annotate(n=Count("id"))
                    .order_by()
                ):
                    by_question = self._cell_choices.setdefault(_cell_of(row), {})
                    options = by_question.setdefault(row["question_id"], {})
                    options[row["choice"]] = options.get(row["choice"], 0) + row["n"]
        return self._cell_choices

    def group_tallies(self, group: Group) -> "dict[int, Tally]":
        """Per-question tallies of one group, added up from its cells (read-only)."""
        if group.kind == SUBTREE and not group.filters:
            found = self.subtree_tallies().get(group.node)
            if found is not None:
                return dict(found)
        tallies = self.cell_tallies()
        return _sum_tallies(tallies.get(cell, {}) for cell in self.plan.cells_in(group))

    def subtree_tallies(self) -> "dict[Any, dict[int, Tally]]":
        """Tallies of every team subtree and the organisation, added bottom-up once: a heatmap
        and a trend read them per team without adding every cell below each team again."""
        if self._subtree_tallies is None:
            plan = self.plan
            totals: dict[Any, dict[int, Tally]] = {}
            for cell, by_question in self.cell_tallies().items():
                if cell not in plan.cells:
                    continue
                node: Any = cell[0]
                seen: set[Any] = set()
                while node is not None and node not in seen:
                    seen.add(node)
                    into = totals.setdefault(node, {})
                    for question_id, tally in by_question.items():
                        into.setdefault(question_id, Tally()).add(tally)
                    node = plan.parents.get(node)
            self._subtree_tallies = totals
        return self._subtree_tallies

    def group_choices(self, group: Group) -> dict[int, dict[str, int]]:
        choices = self.cell_choices()
        total: dict[int, dict[str, int]] = defaultdict(dict)
        for cell in self.plan.cells_in(group):
            for question_id, options in choices.get(cell, {}).items():
                for option, count in options.items():
                    total[question_id][option] = total[question_id].get(option, 0) + count
        return dict(total)

    def figure_plan(self, question: Question) -> FigurePlan:
        """Where this question's figure may be shown (its answerers coarsened into blocks).

        A block whose answers are unanimous — all favourable or none (one option, for a
        single-choice item) — is refused unless someone invited in it did not answer: with
        complete participation, "100% favourable" names every member's answer.
        """
        if question.pk not in self._figure_plans:
            answerers: dict[Cell, int] = {}
            bands: dict[Cell, list[int]] = {}
            if question.kind == Question.Kind.SINGLE_CHOICE:
                options = list(question.options)
                for cell, by_question in self.cell_choices().items():
                    counts = by_question.get(question.pk, {})
                    answerers[cell] = sum(counts.values())
                    bands[cell] = [counts.get(option, 0) for option in options]
            elif question.is_scored:
                for cell, tallies in self.cell_tallies().items():
                    tally = tallies.get(question.pk)
                    answered = tally.answered if tally else 0
                    favourable = favourable_count(question, tally) if tally else 0
                    answerers[cell] = answered
                    bands[cell] = [favourable, answered - favourable]
            answered_by_node: dict[Any, int] = defaultdict(int)
            for (node, _values), count in answerers.items():
                answered_by_node[node] += count
            invited = self._invited_where_stored()
            incomplete = {
                cell
                for cell in self.plan.cells
                if answered_by_node.get(cell[0], 0) < invited.get(cell[0], 0)
            }
            self._figure_plans[question.pk] = self.plan.figure_plan(
                answerers, bands=bands, incomplete=incomplete
            )
        return self._figure_plans[question.pk]

    def _stored_elsewhere(self) -> set[Any]:
        """Teams some of whose respondents are stored above them (the close stores a team the
        gate would hide with the nearest team above it that it shows): their cells are not all
        their respondents, so their subtree is not shown under their name."""
        if not self.responded:
            return set()
        stored: dict[Any, int] = defaultdict(int)
        answered: dict[Any, int] = defaultdict(int)
        for totals, counts in (
            (stored, self._by_node(self.cells)),
            (answered, self.responded),
        ):
            for node, count in counts.items():
                ancestor, seen = node, set()
                while ancestor is not None and ancestor not in seen:
                    seen.add(ancestor)
                    totals[ancestor] += count
                    ancestor = self.parents.get(ancestor)
        return {node for node, count in answered.items() if stored.get(node, 0) != count}

    @staticmethod
    def _by_node(cells: Mapping[Cell, int]) -> dict[Any, int]:
        by_node: dict[Any, int] = defaultdict(int)
        for (node, _values), count in cells.items():
            by_node[node] += count
        return by_node

    def _invited_where_stored(self) -> dict[Any, int]:
        """Invited people per team their answers would be stored at: a closed run stores a
        small team's responses with the nearest team above it that has stored responses
        (`services.response_cells_for_storage`), so its invitees count there too."""
        stored = {node for node, _values in self.cells}
        invited: dict[Any, int] = defaultdict(int)
        for node, count in self.invited.items():
            target, seen = node, set()
            while target is not None and target not in stored and target not in seen:
                seen.add(target)
                target = self.parents.get(target)
            invited[UNASSIGNED if target is None or target in seen else target] += count
        return invited

    def shown_questions(
        self, group: Group, questions: Iterable[Question] | None = None
    ) -> frozenset[int]:
        """Ids of the questions whose figures may be shown for `group` (scored and choice)."""
        asked = self.questions if questions is None else questions
        return frozenset(
            q.pk
            for q in asked
            if q.kind != Question.Kind.FREE_TEXT and self.figure_plan(q).shown(group)
        )

    def question_reason(self, question: Question, group: Group) -> str:
        return self.figure_plan(question).reason(group)

    def descendants(self, node: Any) -> list[Any]:
        """Nodes below `node` (all nodes for the organisation), in tree order."""
        if node == ORGANISATION:
            found = list(self.parents)
        else:
            prefix = self.paths.get(node)
            if prefix is None:
                return []
            found = [n for n, path in self.paths.items() if path.startswith(prefix) and n != node]
        return sorted(found, key=self.sort_key)

    def next_level(self, node: Any) -> list[Any]:
        """The nodes one level below `node`, in tree order, passing down through a team with a
        single child team (an organisation under one root lists the root's own teams)."""
        parent_of_below = None if node == ORGANISATION else node
        below = [n for n, parent in self.parents.items() if parent == parent_of_below]
        teams = [n for n in below if n != UNASSIGNED]
        if len(teams) == 1 and self.has_children(teams[0]):
            return self.next_level(teams[0]) + [n for n in below if n == UNASSIGNED]
        return sorted(below, key=self.sort_key)

    def sort_key(self, node: Any) -> tuple:
        path = self.paths.get(node)
        if path is None:
            return (1, ())
        return (0, tuple((self.names.get(part, ""), part) for part in _ids(path)))

    def depth(self, node: Any) -> int:
        return len(_ids(self.paths.get(node, ""))) if node != UNASSIGNED else 1

    def has_children(self, node: Any) -> bool:
        return any(parent == node for parent in self.parents.values())

    def name(self, node: Any) -> str:
        if node == ORGANISATION:
            return "Whole organisation"
        if node == UNASSIGNED:
            return "No team, or small teams pooled"
        return self.names.get(node, f"Team {node}")


CELL_KEYS = ("response__team_path", *(f"response__{name}" for name in ATTRIBUTES))


def _cell_of(row: Mapping[str, Any]) -> Cell:
    """The gate's cell of an Answer row grouped by CELL_KEYS (as `run_snapshot` keys cells)."""
    return (
        _node(row["response__team_path"]),
        tuple(row[f"response__{name}"] or "" for name in ATTRIBUTES),
    )


# The parts of a closed run's snapshot that never change, with everything derived from them
# (the plans, per-question figure plans, answer tallies): kept in the cache so that a results
# page or dashboard does not rebuild the anonymity plan and re-read every answer per request.
# Bump the version when the gate or the cached shapes change.
SNAPSHOT_CACHE_VERSION = 5
SNAPSHOT_CACHE_SECONDS = 7 * 24 * 3600
_FACTS = (
    "_subtree_tallies",
    "parents",
    "paths",
    "cells",
    "invited",
    "responded",
    "_plans",
    "_cell_tallies",
    "_cell_choices",
    "_figure_plans",
    "_team_figures",
    "_subtree_participation",
)


def snapshot_cache_key(run_id: int) -> str:
    return f"surveys:run-snapshot:v{SNAPSHOT_CACHE_VERSION}:{run_id}"


def _stamp_columns(run: SurveyRun) -> dict[str, Subquery]:
    """The number of responses and the lowest and highest response ids (from the (run, id)
    index): sub-selects that ride along with the run's questions query."""
    mine = Response.objects.filter(run=run.pk)
    return {
        "stamp_n": Subquery(mine.order_by().values("run").annotate(n=Count("id")).values("n")),
        "stamp_low": Subquery(mine.order_by("id").values("id")[:1]),
        "stamp_high": Subquery(mine.order_by("-id").values("id")[:1]),
    }


def _closed_stamp(run: SurveyRun, row: Mapping[str, Any] | None = None) -> str:
    """What identifies a closed run's final state.

    Besides the closing time and thresholds, the number of responses and the lowest and
    highest response ids (random UUIDs) make the stamp differ whenever the responses differ:
    after a re-seed, a restored backup, or a response that reached the run some other way than
    `response_submit`. `row` holds the `_stamp_columns` when they were read already.
    """
    if row is None:
        row = dict(SurveyRun.objects.filter(pk=run.pk).values(**_stamp_columns(run)).get())
    closed = run.closed_at.isoformat() if run.closed_at else ""
    return (
        f"{closed}|{run.anonymity_threshold}|{run.comment_threshold}|"
        f"{row['stamp_n']}|{row['stamp_low']}|{row['stamp_high']}"
    )


def _questions_and_stamp(run: SurveyRun) -> tuple[list[Question], str]:
    """A closed run's questions and its stamp in one query."""
    rows = list(
        RunQuestion.objects.filter(run=run)
        .select_related("question")
        .annotate(**_stamp_columns(run))
        .order_by("position", "id")
    )
    if not rows:
        return [], _closed_stamp(run)
    first = rows[0]
    stamp = _closed_stamp(
        run, {name: getattr(first, name) for name in ("stamp_n", "stamp_low", "stamp_high")}
    )
    return [row.question for row in rows], stamp


def run_snapshot_forget(run_id: int) -> None:
    """Drop a run's cached snapshot (on close, and defensively after any response)."""
    key = snapshot_cache_key(run_id)
    _LOCAL.pop(key, None)
    cache.delete(key)


# The last cached snapshots, unpickled, per process: a dashboard reads the same closed runs on
# every request, and unpickling a large run's plans costs more than using them. Bounded by
# cells (memory grows with them: about 2.5 kB a cell with its plans and tallies, so 40,000
# cells is about 100 MB — every run of the demo, three runs of 20,000 people). Entries are
# never mutated once built (every plan and tally is computed before caching).
_LOCAL: "OrderedDict[str, tuple[str, dict[str, Any]]]" = OrderedDict()
_LOCAL_CELLS = 40_000


def run_snapshot_cache_clear() -> None:
    """Forget this process's unpickled snapshots (tests start each case from nothing)."""
    _LOCAL.clear()


def _cached_facts(run: SurveyRun, stamp: str) -> dict[str, Any] | None:
    key = snapshot_cache_key(run.pk)
    local = _LOCAL.get(key)
    if local is not None and local[0] == stamp:
        _LOCAL.move_to_end(key)
        return local[1]
    cached = cache.get(key)
    if not cached or cached.get("stamp") != stamp:
        return None
    _remember(key, stamp, cached)
    return cached


def _remember(key: str, stamp: str, facts: dict[str, Any]) -> None:
    if len(facts["cells"]) > _LOCAL_CELLS:
        return
    _LOCAL[key] = (stamp, facts)
    _LOCAL.move_to_end(key)
    while sum(len(entry["cells"]) for _, entry in _LOCAL.values()) > _LOCAL_CELLS:
        _LOCAL.popitem(last=False)


def _snapshot_from_cache(
    run: SurveyRun, questions: list[Question], stamp: str
) -> RunSnapshot | None:
    facts = _cached_facts(run, stamp)
    if facts is None or [q.pk for q in questions] != facts["questions"]:
        return None
    snapshot = RunSnapshot(run=run, questions=questions, stamp=stamp)
    for name in _FACTS:
        setattr(snapshot, name, facts[name])
    return snapshot


def _snapshot_to_cache(snapshot: RunSnapshot, stamp: str) -> None:
    """Build every plan and tally the results pages use, then keep them."""
    _ = snapshot.plan, snapshot.comment_plan, snapshot.participation_plan
    snapshot.cell_tallies()
    snapshot.cell_choices()
    snapshot.subtree_tallies()
    for question in snapshot.questions:
        if question.kind != Question.Kind.FREE_TEXT:
            snapshot.figure_plan(question)
    facts = {name: getattr(snapshot, name) for name in _FACTS}
    facts |= {"stamp": stamp, "questions": [q.pk for q in snapshot.questions]}
    key = snapshot_cache_key(snapshot.run.pk)
    cache.set(key, facts, SNAPSHOT_CACHE_SECONDS)
    _remember(key, stamp, facts)


# A closed run's summary: about 200 kB for 2,000 teams where its snapshot is 6 MB, so a
# dashboard's trend over a year of runs reads summaries, not snapshots.
SUMMARY_CACHE_VERSION = 2
_SUMMARY_FACTS = ("parents", "paths", "invited", "responded")


def summary_cache_key(run_id: int) -> str:
    return f"surveys:run-summary:v{SUMMARY_CACHE_VERSION}:{run_id}"


def _summary_to_cache(snapshot: RunSnapshot) -> dict[str, Any]:
    """Every subtree's figures and participation of a closed run, through the gate."""
    nodes = [ORGANISATION, *snapshot.parents]
    facts = {name: getattr(snapshot, name) for name in _SUMMARY_FACTS}
    facts |= {
        "stamp": snapshot.stamp,
        "figures": {node: group_figures(snapshot, node) for node in nodes},
        "participation": {node: subtree_participation(snapshot, node) for node in nodes},
    }
    cache.set(summary_cache_key(snapshot.run.pk), facts, SNAPSHOT_CACHE_SECONDS)
    return facts


def _summary(run: SurveyRun, facts: dict[str, Any]) -> RunSnapshot:
    summary = RunSnapshot(run=run, questions=[], stamp=facts["stamp"], summary_only=True)
    for name in _SUMMARY_FACTS:
        setattr(summary, name, facts[name])
    summary._team_figures = facts["figures"]
    summary._subtree_participation = facts["participation"]
    return summary


def run_summaries(runs: Iterable[SurveyRun]) -> dict[int, RunSnapshot]:
    """Summaries of closed runs by run id (`RunSnapshot.summary_only`): their tree and every
    subtree's `group_figures` and `subtree_participation`, for dashboards. One query for the
    stamps of all the runs and one cache read; a run not summarised yet is read once with
    `run_snapshot` and its summary kept. Runs that are not closed are left out."""
    closed = [run for run in runs if run.status == SurveyRun.Status.CLOSED]
    if not closed:
        return {}
    stamps = _closed_stamps(closed)
    kept = cache.get_many([summary_cache_key(run.pk) for run in closed])
    found: dict[int, RunSnapshot] = {}
    for run in closed:
        facts = kept.get(summary_cache_key(run.pk))
        if facts is None or facts["stamp"] != stamps[run.pk]:
            snapshot = run_snapshot(run)
            facts = _summary_to_cache(snapshot)
        found[run.pk] = _summary(run, facts)
    return found


def subtree_participation(snapshot: RunSnapshot, node: Any) -> dict[str, Any] | None:
    """`group_participation` of a subtree (or the organisation), from a snapshot or a summary."""
    if node not in snapshot._subtree_participation:
        counts = group_participation(snapshot, Group(SUBTREE, node))
        if snapshot.stamp is None:
            return counts
        snapshot._subtree_participation[node] = counts
    return snapshot._subtree_participation[node]


def run_snapshot(run: SurveyRun, *, with_invitations: bool = True) -> RunSnapshot:
    """Read a run's tree and cells: three or four queries whatever the run's size (and one for
    the team names when a label or the tree order is needed).

    A closed run refuses responses (`survey_run_close` waits for submissions in flight), so
    its snapshot is final: it is built once, with its plans and tallies, and read from the
    cache afterwards (one query: the questions with the stamp that tells the cached entry is
    still this run's; team names are read when first needed, as they may be renamed).
    Open runs are always read live: their participation changes with every response.
    """
    stamp: str | None = None
    if run.status == SurveyRun.Status.CLOSED:
        questions, stamp = _questions_and_stamp(run)
        cached = _snapshot_from_cache(run, questions, stamp)
        if cached is not None:
            return cached
        with_invitations = True  # the cached snapshot serves every caller
        snapshot = RunSnapshot(run=run, questions=questions)
    else:
        snapshot = RunSnapshot(run=run, questions=run_questions(run))
    if with_invitations:
        rows = (
            Invitation.objects.filter(run=run)
            .values("team_path")
            .annotate(
                invited=Count("id"), responded=Count("id", filter=Q(responded_on__isnull=False))
            )
            .order_by()
        )
        for row in rows:
            node = snapshot.add_path(row["team_path"])
            snapshot.invited[node] = snapshot.invited.get(node, 0) + row["invited"]
            snapshot.responded[node] = snapshot.responded.get(node, 0) + row["responded"]
    cells = (
        Response.objects.filter(run=run)
        .values("team_path", *ATTRIBUTES)
        .annotate(respondents=Count("id"))
        .order_by()
    )
    for row in cells:
        node = snapshot.add_path(row["team_path"])
        key = (node, tuple(row[name] or "" for name in ATTRIBUTES))
        snapshot.cells[key] = snapshot.cells.get(key, 0) + row["respondents"]
    if stamp is not None:
        _snapshot_to_cache(snapshot, stamp)
        snapshot.stamp = stamp
    return snapshot


def _closed_stamps(closed: list[SurveyRun]) -> dict[int, str]:
    """`_closed_stamp` of several closed runs in one query."""
    mine = Response.objects.filter(run=OuterRef("pk"))
    rows = SurveyRun.objects.filter(pk__in=[run.pk for run in closed]).values(
        "pk",
        stamp_n=Subquery(mine.order_by().values("run").annotate(n=Count("id")).values("n")),
        stamp_low=Subquery(mine.order_by("id").values("id")[:1]),
        stamp_high=Subquery(mine.order_by("-id").values("id")[:1]),
    )
    by_id = {run.pk: run for run in closed}
    return {row["pk"]: _closed_stamp(by_id[row["pk"]], row) for row in rows}


# Past this many teams, reading every team's name beats sending a list of ids to match: at
# 2,044 teams, 6 ms against 33 ms on PostgreSQL.
NAMES_BY_ID_UP_TO = 500


def _team_names(snapshot: RunSnapshot) -> dict[Any, str]:
    ids = [node for node in snapshot.parents if isinstance(node, int)]
    if len(ids) <= NAMES_BY_ID_UP_TO:
        return dict(Team.objects.filter(pk__in=ids).values_list("id", "name"))
    wanted = set(ids)
    return {pk: name for pk, name in Team.objects.values_list("id", "name") if pk in wanted}


# --- Who may see which group ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsQuery:
    """What a viewer asks for: a team (its direct members), a subtree, and attribute filters."""

    team: int | None = None
    subtree: int | None = None
    filters: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ResultsQuery":
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
    return {_ids(path)[-1] for path in viewer.managed_paths if _ids(path)}


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


def _group_q(snapshot: RunSnapshot, group: Group, prefix: str = "") -> Q | None:
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


# --- Scores --------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Additive counts of one question's answers in one set of respondents."""

    answered: int = 0
    total: int = 0
    ge4: int = 0
    ge7: int = 0
    ge9: int = 0
    le6: int = 0

    def add(self, other: "Tally") -> None:
        self.answered += other.answered
        self.total += other.total
        self.ge4 += other.ge4
        self.ge7 += other.ge7
        self.ge9 += other.ge9
        self.le6 += other.le6

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Tally":
        return cls(
            answered=row["answered"],
            total=row["total"] or 0,
            ge4=row["ge4"],
            ge7=row["ge7"],
            ge9=row["ge9"],
            le6=row["le6"],
        )


TALLY = {
    "answered": Count("value"),
    "total": Sum("value"),
    "ge4": Count("id", filter=Q(value__gte=4)),
    "ge7": Count("id", filter=Q(value__gte=7)),
    "ge9": Count("id", filter=Q(value__gte=9)),
    "le6": Count("id", filter=Q(value__lte=6)),
}


def favourable_count(question: Question, tally: Tally) -> int:
    """Agreement: 4-5; eNPS: promoters 9-10; other 0-10 items: 7-10."""
    if question.kind == Question.Kind.AGREEMENT:
        return tally.ge4
    if question.driver == Driver.ENPS:
        return tally.ge9
    return tally.ge7


def _figure_reason(shown: bool) -> str | None:
    """Why a question's or pooled figure is hidden in a shown group (None when it is shown)."""
    if shown:
        return None
    return HIDDEN_REASON


def scores(
    questions: Iterable[Question],
    tallies: Mapping[int, Tally],
    k: int,
    *,
    shown: Collection[int] | None = None,
) -> dict[str, Any]:
    """Engagement index, eNPS and driver scores from per-question tallies of one group.

    - A question's favourable share is favourable answers / answers given (skips don't count).
    - The engagement index is the mean of the engagement items' favourable shares.
    - A driver's favourable share pools its items' answers; its mean uses 1-5 items only.
    - eNPS = % promoters (9-10) - % detractors (0-6) over the eNPS answers, with its 95%
      interval (`stats.enps_interval`).

    Every figure is rounded to what its number of answers supports (`stats.percent_digits`,
    `stats.mean_digits`) and carries that number: a driver's pooled answers, the eNPS answers,
    and for the engagement index the fewest answers of any of its items (the index is no more
    precise than its least answered item).

    `shown` holds the ids of the questions whose figures the group may show
    (`RunSnapshot.shown_questions`: the question's own anonymity plan over its answerers).
    Without it, a question counts as shown when the group has k answers of it
    (`anonymity.figure_shown`), which does not protect against subtracting two groups: pass it.

    A pooled figure (a driver, the engagement index, eNPS) is shown only when *every* question
    it pools that was answered in the group is shown there; one hidden item hides the figure.
    We do not recompute it from the shown items only: that would not leak either (it is a sum
    of figures each publishable on its own), but the same driver would then mean different
    items in different teams, runs and heatmap cells, and a driver's change between two runs
    could come from an item dropping out rather than from people's answers. All-or-nothing is
    also the rule whose safety is plain to check: the figure is a function of question figures
    that are shown for the same group, so it reveals nothing they do not.
    """
    questions = [q for q in questions if q.is_scored]

    def visible(question: Question, tally: Tally) -> bool:
        if not anonymity.figure_shown(tally.answered, k):
            return False
        return shown is None or question.pk in shown

    engagement_shares: list[float] = []
    engagement_answered: list[int] = []
    engagement_ok = True
    enps, enps_ok = Tally(), True
    drivers: dict[str, dict[str, int]] = {}
    blocked: set[str] = set()
    for question in questions:
        tally = tallies.get(question.pk, Tally())
        ok = not tally.answered or visible(question, tally)
        if question.driver == Driver.ENPS:
            enps.add(tally)
            enps_ok = enps_ok and ok
            continue
        if question.driver == Driver.ENGAGEMENT and tally.answered:
            engagement_shares.append(favourable_count(question, tally) / tally.answered)
            engagement_answered.append(tally.answered)
            engagement_ok = engagement_ok and ok
        entry = drivers.setdefault(
            question.driver, {"answered": 0, "favourable": 0, "sum15": 0, "n15": 0}
        )
        if not ok:
            blocked.add(question.driver)
        entry["answered"] += tally.answered
        entry["favourable"] += favourable_count(question, tally)
        if question.kind == Question.Kind.AGREEMENT:
            entry["sum15"] += tally.total
            entry["n15"] += tally.answered
    engagement = engagement_n = None
    if engagement_shares and engagement_ok:
        engagement_n = min(engagement_answered)
        engagement = stats.round_percent(
            100 * sum(engagement_shares) / len(engagement_shares), engagement_n
        )
    enps_shown = enps_ok and anonymity.figure_shown(enps.answered, k)
    enps_score = (
        stats.round_percent(
            stats.enps_from_counts(enps.ge9, enps.le6, enps.answered), enps.answered
        )
        if enps_shown
        else None
    )
    enps_interval = stats.enps_interval(enps.ge9, enps.le6, enps.answered) if enps_shown else None
    driver_scores = {}
    for driver, entry in drivers.items():
        figure = driver not in blocked and anonymity.figure_shown(entry["answered"], k)
        driver_scores[driver] = {
            "favourable": stats.percent(entry["favourable"], entry["answered"]) if figure else None,
            "mean": stats.round_mean(stats.mean_from(entry["sum15"], entry["n15"]), entry["n15"])
            if figure
            else None,
            "answered": entry["answered"] if figure else None,
            "reason": _figure_reason(figure),
        }
    return {
        "engagement_index": engagement,
        "engagement_answered": engagement_n,
        "enps": enps_score,
        "enps_answered": enps.answered if enps_shown else None,
        "enps_interval": enps_interval,
        "drivers": driver_scores,
    }


def question_scores(
    questions: Iterable[Question],
    tallies: Mapping[int, Tally],
    choices: Mapping[int, Mapping[str, int]],
    k: int,
    *,
    shown: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """One row per question (not free text); `shown` as in `scores` — pass it."""
    rows = []
    for question in questions:
        if question.kind == Question.Kind.FREE_TEXT:
            continue
        tally = tallies.get(question.pk, Tally())
        counts = choices.get(question.pk, {})
        answered = (
            sum(counts.values()) if question.kind == Question.Kind.SINGLE_CHOICE else tally.answered
        )
        enough = anonymity.figure_shown(answered, k)
        visible = enough and (shown is None or question.pk in shown)
        row: dict[str, Any] = {
            "id": question.pk,
            "text": question.text,
            "driver": question.driver,
            "kind": question.kind,
            "shown": visible,
            "reason": _figure_reason(visible),
            "answered": answered if visible else None,
            "favourable": None,
            "mean": None,
            "enps": None,
            "options": [],
        }
        if visible and question.kind == Question.Kind.SINGLE_CHOICE:
            row["options"] = [
                {"option": option, "share": stats.percent(counts.get(option, 0), answered)}
                for option in question.options
            ]
        elif visible:
            row["favourable"] = stats.percent(favourable_count(question, tally), tally.answered)
            row["mean"] = stats.round_mean(
                stats.mean_from(tally.total, tally.answered), tally.answered
            )
            if question.driver == Driver.ENPS:
                row["enps"] = stats.round_percent(
                    stats.enps_from_counts(tally.ge9, tally.le6, tally.answered), tally.answered
                )
        rows.append(row)
    return rows


# --- Results ----------------------------------------------------------------------------------


def _sum_tallies(parts: Iterable[Mapping[int, Tally]]) -> dict[int, Tally]:
    total: dict[int, Tally] = defaultdict(Tally)
    for part in parts:
        for question_id, tally in part.items():
            total[question_id].add(tally)
    return dict(total)


def _reason(decision: anonymity.Decision, k: int) -> str | None:
    if decision.shown:
        return None
    return REASON_TEXT[decision.reason].format(k=k)


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


def _driver_columns(questions: Iterable[Question]) -> list[str]:
    """The drivers the scored questions measure: built-in ones in their order, then HR's own."""
    present = {q.driver for q in questions if q.is_scored and q.driver != Driver.ENPS}
    builtin = [driver for driver in Driver.values if driver in present]
    return builtin + sorted(present - set(builtin))


def _pooled_comment_group(snapshot: RunSnapshot, group: Group) -> Group | None:
    """Where a small team's comments come from: the nearest team above it (for a team's direct
    members: its subtree first) whose comments the comment plan shows, when the group's own
    results are shown (k respondents). The organisation as a whole is never a pool."""
    if not snapshot.plan.decide(group).shown:
        return None
    node: Any = group.node
    candidates = [node] if group.kind == TEAM and snapshot.has_children(node) else []
    seen = {node}
    parent = snapshot.parents.get(node)
    while parent is not None and parent not in seen:
        seen.add(parent)
        candidates.append(parent)
        parent = snapshot.parents.get(parent)
    for candidate in candidates:
        if candidate in (ORGANISATION, UNASSIGNED):
            continue
        pool = Group(SUBTREE, candidate)
        if snapshot.comment_plan.decide(pool).shown:
            return pool
    return None


def _comments(snapshot: RunSnapshot, group: Group) -> dict[str, Any]:
    """A group's comments, when the comment plan shows it (comment threshold respondents).

    Small teams: a team with k respondents but fewer than the comment threshold gets the pooled
    comments of the nearest team above it that has enough (`_pooled_comment_group`), said to be
    from that team ("Comments from Support"). They are that team's comments exactly as its own
    page shows them, a group the comment plan shows, so nothing new can be subtracted; and, as
    everywhere, without any attribute."""
    run = snapshot.run
    if group.filters:
        return {
            "shown": False,
            "reason": "Comments are never shown with filters.",
            "items": [],
            "by_question": [],
            "pooled_from": None,
        }
    pooled_from = None
    decision = snapshot.comment_plan.decide(Group(group.kind, group.node))
    if not decision.shown:
        pool = _pooled_comment_group(snapshot, group)
        if pool is None:
            reason = f"{HIDDEN_REASON} (comments need {run.comment_threshold} responses)"
            return {
                "shown": False,
                "reason": reason,
                "items": [],
                "by_question": [],
                "pooled_from": None,
            }
        group = pool
        pooled_from = {
            "team": pool.node if isinstance(pool.node, int) else None,
            "label": group_label(snapshot, pool),
        }
    group_q = _group_q(snapshot, group)
    answer_q = _group_q(snapshot, group, "response__")
    assert group_q is not None and answer_q is not None  # noqa: S101 - shown groups exist

    def shuffled(items: Iterable[tuple[Any, str]], list_key: str) -> list[str]:
        # A stable order that says nothing about who wrote what or when: each list is sorted by
        # a hash salted with the list, so one person's texts sit at unrelated places.
        def key(item: tuple[Any, str]) -> str:
            return hashlib.sha256(f"{run.pk}:{list_key}:{item[0]}".encode()).hexdigest()

        return [text for _, text in sorted(items, key=key)]

    general = (
        Response.objects.filter(group_q, run=run).exclude(comment="").values_list("id", "comment")
    )
    texts: dict[int, list[tuple[Any, str]]] = defaultdict(list)
    for response_id, question_id, text in (
        Answer.objects.filter(answer_q, response__run=run, question__kind=Question.Kind.FREE_TEXT)
        .exclude(text="")
        .values_list("response_id", "question_id", "text")
    ):
        texts[question_id].append((response_id, text))
    by_question = [
        {"question": q.pk, "text": q.text, "items": shuffled(texts[q.pk], f"q{q.pk}")}
        for q in snapshot.questions
        if q.kind == Question.Kind.FREE_TEXT
    ]
    return {
        "shown": True,
        "reason": None,
        "items": shuffled(general, "comment"),
        "by_question": by_question,
        "pooled_from": pooled_from,
    }


def _driver_impact(snapshot: RunSnapshot, group: Group, respondents: int) -> dict[str, Any]:
    minimum = anonymity.DRIVER_IMPACT_MIN_RESPONDENTS
    if not anonymity.driver_impact_allowed(respondents):
        return {
            "shown": False,
            "reason": f"Driver impact needs {minimum} responses",
            "minimum": minimum,
            "items": [],
        }
    if snapshot.stamp is None:
        return _driver_impact_read(snapshot, group)
    # A closed run's answers are final: read each group's per-person means once.
    digest = hashlib.sha256(f"{snapshot.stamp}|{group!r}".encode()).hexdigest()[:32]
    key = f"surveys:driver-impact:v{SNAPSHOT_CACHE_VERSION}:{snapshot.run.pk}:{digest}"
    found = cache.get(key)
    if found is None:
        found = _driver_impact_read(snapshot, group)
        cache.set(key, found, SNAPSHOT_CACHE_SECONDS)
    return found


def _driver_impact_read(snapshot: RunSnapshot, group: Group) -> dict[str, Any]:
    minimum = anonymity.DRIVER_IMPACT_MIN_RESPONDENTS
    answer_q = _group_q(snapshot, group, "response__")
    rows = (
        Answer.objects.filter(
            answer_q, response__run=snapshot.run, question__kind=Question.Kind.AGREEMENT
        )
        .values("response_id", "question__driver")
        .annotate(mean=Avg("value"))
        .order_by()
    )
    per_person: dict[Any, dict[str, float]] = defaultdict(dict)
    for row in rows:
        per_person[row["response_id"]][row["question__driver"]] = float(row["mean"])
    items: list[dict[str, Any]] = []
    columns = _driver_columns(snapshot.questions)
    labels = driver_labels_for(columns)
    for driver in columns:
        if driver == Driver.ENGAGEMENT:
            continue
        pairs = [
            (means[driver], means[Driver.ENGAGEMENT])
            for means in per_person.values()
            if driver in means and Driver.ENGAGEMENT in means
        ]
        enough = len(pairs) >= minimum
        items.append(
            {
                "driver": driver,
                "label": driver_label(driver, labels),
                "correlation": (
                    stats.rounded(stats.pearson([x for x, _ in pairs], [y for _, y in pairs]), 3)
                    if enough
                    else None
                ),
                "respondents": len(pairs) if enough else None,
            }
        )
    items.sort(key=lambda item: -(item["correlation"] if item["correlation"] is not None else -2.0))
    return {"shown": True, "reason": None, "minimum": minimum, "items": items}


def run_results(viewer: Viewer, run: SurveyRun, query: ResultsQuery) -> dict[str, Any]:
    """Everything a viewer may see of a closed run for one group, already through the gate."""
    if run.status != SurveyRun.Status.CLOSED:
        raise ConflictError(
            f"Results appear when the run closes (on {run.closes_on:%-d %B %Y}); "
            "participation is available while it is open.",
            code="results_not_ready",
        )
    snapshot = run_snapshot(run)
    group = resolve_group(viewer, snapshot, query)
    plan = snapshot.plan
    k = run.anonymity_threshold
    decision = plan.decide(group)
    columns = _driver_columns(snapshot.questions)
    result: dict[str, Any] = {
        "run": {
            "id": run.pk,
            "program": run.program.name,
            "sequence": run.sequence,
            "opens_on": run.opens_on,
            "closes_on": run.closes_on,
        },
        "group": {
            "kind": group.kind,
            "team": group.node if isinstance(group.node, int) else None,
            "label": group_label(snapshot, group),
            "filters": dict(group.filters),
        },
        "threshold": k,
        "comment_threshold": run.comment_threshold,
        "reportable": decision.shown,
        "reason": _reason(decision, k),
        "respondents": decision.respondents if decision.shown else None,
        "participation": group_participation(snapshot, group),
        "engagement_index": None,
        "enps": None,
        "drivers": [],
        "questions": [],
        "heatmap": None,
        "breakdowns": [],
        "comments": _comments(snapshot, group),
        "driver_impact": None,
        "previous_run": None,
        "trend": group_trend(run, group),
    }
    if decision.shown:
        tallies = snapshot.group_tallies(group)
        choices = snapshot.group_choices(group)
        visible = snapshot.shown_questions(group)
        current = scores(snapshot.questions, tallies, k, shown=visible)
        previous = _previous_scores(run, group)
        result["previous_run"] = previous["run"] if previous else None
        old = previous["scores"] if previous else None
        interval = current["enps_interval"]
        result["engagement_index"] = {
            "score": current["engagement_index"],
            "answered": current["engagement_answered"],
            "change": _change(current, old, "engagement_index", "engagement_answered"),
        }
        result["enps"] = {
            "score": current["enps"],
            "answered": current["enps_answered"],
            "low": interval[0] if interval else None,
            "high": interval[1] if interval else None,
            "change": _change(current, old, "enps", "enps_answered"),
        }
        labels = driver_labels_for(current["drivers"])
        result["drivers"] = [
            {
                "driver": driver,
                "label": driver_label(driver, labels),
                **current["drivers"][driver],
                "change": _change(
                    current["drivers"][driver],
                    old and old["drivers"].get(driver),
                    "favourable",
                    "answered",
                ),
            }
            for driver in columns
        ]
        result["questions"] = question_scores(
            snapshot.questions, tallies, choices, k, shown=visible
        )
        result["driver_impact"] = _driver_impact(snapshot, group, decision.respondents)
    if group.kind == SUBTREE and not group.filters:
        # The engagement driver is the engagement index column already.
        heat_columns = [driver for driver in columns if driver != Driver.ENGAGEMENT]
        result["heatmap"] = team_heatmap(viewer, snapshot, group, heat_columns)
        result["breakdowns"] = _breakdowns(snapshot, group)
    return result


def _change(
    current: Mapping[str, Any], old: Mapping[str, Any] | None, figure: str, answered: str
) -> float | None:
    """A figure's change since the previous run, as coarse as the coarser of the two."""
    if not old or current.get(figure) is None or old.get(figure) is None:
        return None
    return stats.change_between(
        current[figure],
        old[figure],
        n_current=current[answered] or 0,
        n_previous=old[answered] or 0,
    )


TREND_RUNS = 8  # the last closed runs of a programme a trend shows


def group_trend(run: SurveyRun, group: Group) -> list[dict[str, Any]]:
    """The group's figures at each closed run of the run's programme up to this one (the last
    TREND_RUNS, oldest first), each through that run's own gate: a run where the group was
    hidden (or not asked) is a point with no figure and the one neutral reason. No trend with
    filters. Read from the runs' summaries (`run_summaries`): one query for the runs, one for
    their stamps, one cache read; a team's direct members (a team with teams below it) need
    that run's snapshot, as a summary holds subtrees only."""
    if group.filters:
        return []
    runs = list(
        SurveyRun.objects.filter(
            program_id=run.program_id,
            status=SurveyRun.Status.CLOSED,
            sequence__lte=run.sequence,
        ).order_by("-sequence")[:TREND_RUNS]
    )[::-1]
    summaries = run_summaries(runs)
    points = []
    for past in runs:
        summary = summaries[past.pk]
        k = past.anonymity_threshold
        if group.kind == TEAM and summary.has_children(group.node):
            snapshot = run_snapshot(past, with_invitations=False)
            decision = snapshot.plan.decide(group)
            scored = group_scores(snapshot, group) if decision.shown else {}
            figures = TeamFigures(
                shown=decision.shown,
                reason=_reason(decision, k),
                respondents=decision.respondents if decision.shown else None,
                engagement_index=scored.get("engagement_index"),
                enps=scored.get("enps"),
            )
        elif group.node in summary.parents or group.node == ORGANISATION:
            figures = group_figures(summary, group.node)
        else:
            figures = TeamFigures(shown=False, reason=HIDDEN_REASON)
        points.append(
            {
                "run": past.pk,
                "sequence": past.sequence,
                "closes_on": past.closes_on,
                "shown": figures.shown,
                "reason": figures.reason,
                "respondents": figures.respondents,
                "engagement_index": figures.engagement_index,
                "enps": figures.enps,
            }
        )
    return points


def _previous_scores(run: SurveyRun, group: Group) -> dict[str, Any] | None:
    """The same group's scores in the program's previous closed run, when reportable there."""
    previous = previous_closed_run(run)
    if previous is None:
        return None
    snapshot = run_snapshot(previous, with_invitations=False)
    if not snapshot.plan.decide(group).shown:
        return None
    return {
        "run": {"id": previous.pk, "sequence": previous.sequence, "opens_on": previous.opens_on},
        "scores": group_scores(snapshot, group),
    }


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


def team_heatmap(
    viewer: Viewer,
    snapshot: RunSnapshot,
    group: Group,
    columns: list[str],
    *,
    one_level: bool = False,
) -> dict[str, Any]:
    """Teams below the group by drivers; hidden rows say why, with no figure at all. Every
    team below it, or with `one_level` the teams one level down (`RunSnapshot.next_level`).

    The one heatmap for every page (run results, the culture dashboard).
    """
    rows = []
    if one_level:
        # A team with no teams below it is its own one row.
        nodes = snapshot.next_level(group.node) or (
            [group.node] if group.node in snapshot.paths else []
        )
    else:
        nodes = snapshot.descendants(group.node)
    for node in nodes:
        if not may_see_group(viewer, snapshot, Group(SUBTREE, node)):
            continue
        figures = group_figures(snapshot, node)
        rows.append(
            {
                "team": node if isinstance(node, int) else None,
                "name": snapshot.name(node),
                "depth": snapshot.depth(node),
                "shown": figures.shown,
                "reason": figures.reason,
                "respondents": figures.respondents,
                "engagement_index": figures.engagement_index,
                "enps": figures.enps,
                "cells": {driver: figures.favourable.get(driver) for driver in columns},
            }
        )
    labels = driver_labels_for(columns)
    return {
        "columns": [{"driver": d, "label": driver_label(d, labels)} for d in columns],
        "rows": rows,
    }


@dataclass(frozen=True)
class TeamFigures:
    """A team subtree's heatmap row through the gate: no figure at all when it is hidden."""

    shown: bool
    reason: str | None
    respondents: int | None = None
    engagement_index: float | None = None
    enps: float | None = None
    favourable: Mapping[str, float | None] = field(default_factory=dict)


def group_figures(snapshot: RunSnapshot, node: Any) -> TeamFigures:
    """A subtree's (or the organisation's) figures through the gate, from a snapshot or a
    summary: shown or not, respondents, engagement index, eNPS and drivers' favourable share.
    Computed once per closed run and process: its results never change, and a heatmap of 2,000
    teams spends most of its time here otherwise."""
    known = snapshot._team_figures.get(node)
    if known is not None:
        return known
    group = Group(SUBTREE, node)
    decision = snapshot.plan.decide(group)
    figures = TeamFigures(shown=False, reason=_reason(decision, snapshot.run.anonymity_threshold))
    if decision.shown:
        scored = group_scores(snapshot, group)
        figures = TeamFigures(
            shown=True,
            reason=figures.reason,
            respondents=decision.respondents,
            engagement_index=scored["engagement_index"],
            enps=scored["enps"],
            favourable={
                driver: values.get("favourable") for driver, values in scored["drivers"].items()
            },
        )
    if snapshot.stamp is not None:  # an open run's figures change with every response
        snapshot._team_figures[node] = figures
    return figures


def _breakdowns(snapshot: RunSnapshot, group: Group) -> list[dict[str, Any]]:
    """Per attribute value within the group: shown only where the gate allows."""
    k = snapshot.run.anonymity_threshold
    plan = snapshot.plan
    if _group_q(snapshot, group, "response__") is None:
        return []
    candidates = []
    for index, name in enumerate(ATTRIBUTES):
        values = sorted({cell[1][index] for cell in plan.cells_in(group) if cell[1][index]})
        for value in values:
            candidates.append(
                (name, value, plan.decide(Group(group.kind, group.node, ((name, value),))))
            )
    rows = []
    for name, value, decision in candidates:
        row: dict[str, Any] = {
            "attribute": name,
            "value": value,
            "label": TenureBand(value).label
            if name == "tenure_band" and value in TenureBand.values
            else value,
            "shown": decision.shown,
            "reason": _reason(decision, k),
            "respondents": decision.respondents if decision.shown else None,
            "engagement_index": None,
            "enps": None,
        }
        if decision.shown:
            figures = group_scores(snapshot, Group(group.kind, group.node, ((name, value),)))
            row["engagement_index"] = figures["engagement_index"]
            row["enps"] = figures["enps"]
        rows.append(row)
    return rows


# --- Participation (live, also while a run is open) ----------------------------------------------


def run_participation(viewer: Viewer, run: SurveyRun) -> dict[str, Any]:
    """Invited and responded counts per team the viewer may see, for groups of k+ invited.

    Counts only — never who — and hidden groups are protected by complementary suppression on
    the invited counts, so no one's participation can be worked out by subtraction either.
    """
    snapshot = run_snapshot(run)
    top = default_group(viewer, snapshot)
    rows = []
    nodes = [top.node] if top.kind == TEAM else [top.node, *snapshot.descendants(top.node)]
    for node in nodes:
        kind = top.kind if node == top.node else SUBTREE
        group = Group(kind, node)
        if node != top.node and not may_see_group(viewer, snapshot, group):
            continue
        figures = group_participation(snapshot, group)
        rows.append(
            {
                "team": node if isinstance(node, int) else None,
                "name": group_label(snapshot, group),
                "depth": 0 if node == ORGANISATION else snapshot.depth(node),
                "shown": figures is not None,
                "invited": figures["invited"] if figures else None,
                "responded": figures["responded"] if figures else None,
                "rate": figures["rate"] if figures else None,
            }
        )
    return {
        "run": run.pk,
        "status": run.status,
        "threshold": run.anonymity_threshold,
        "rows": rows,
    }


# --- CSV export of aggregates ---------------------------------------------------------------


def results_csv_rows(results: Mapping[str, Any]) -> list[list[Any]]:
    """The aggregates of `run_results` as rows (no comments: aggregates only).

    `respondents` is the group's; `answers` is the n the figure is computed from, where it is
    known (the figures are the ones the page and API show, rounded to what n supports)."""
    hidden = "not shown"
    rows: list[list[Any]] = [
        ["section", "group", "measure", "value", "respondents", "answers", "note"]
    ]
    label = results["group"]["label"]
    if not results["reportable"]:
        rows.append(["summary", label, "respondents", hidden, "", "", results["reason"]])
    else:
        n = results["respondents"]
        index, enps = results["engagement_index"], results["enps"]
        rows.append(
            [
                "summary",
                label,
                "engagement index (% favourable)",
                index["score"],
                n,
                index.get("answered") or "",
                "",
            ]
        )
        interval = (
            f"95% interval {enps['low']} to {enps['high']}" if enps.get("low") is not None else ""
        )
        rows.append(
            ["summary", label, "eNPS", enps["score"], n, enps.get("answered") or "", interval]
        )
        for driver in results["drivers"]:
            value = hidden if driver["favourable"] is None else driver["favourable"]
            note = driver.get("reason") or ""
            rows.append(
                [
                    "driver",
                    label,
                    f"{driver['label']} (% favourable)",
                    value,
                    n,
                    driver.get("answered") or "",
                    note,
                ]
            )
        for question in results["questions"]:
            value = (
                question["enps"] if question["driver"] == Driver.ENPS else question["favourable"]
            )
            shown = question["shown"]
            rows.append(
                [
                    "question",
                    label,
                    question["text"],
                    value if shown else hidden,
                    n,
                    question["answered"] if shown else "",
                    "" if shown else question["reason"],
                ]
            )
    if results["participation"]:
        part = results["participation"]
        rows.append(["participation", label, "invited", part["invited"], "", "", ""])
        rows.append(["participation", label, "responded", part["responded"], "", "", ""])
    if results["heatmap"]:
        for row in results["heatmap"]["rows"]:
            if not row["shown"]:
                rows.append(["team", row["name"], "respondents", hidden, "", "", row["reason"]])
                continue
            measures = [
                ("engagement index (% favourable)", row["engagement_index"]),
                ("eNPS", row["enps"]),
                *(
                    (f"{column['label']} (% favourable)", row["cells"][column["driver"]])
                    for column in results["heatmap"]["columns"]
                ),
            ]
            for measure, value in measures:
                rows.append(["team", row["name"], measure, value, row["respondents"], "", ""])
    for row in results["breakdowns"]:
        name = f"{ATTRIBUTE_LABELS[row['attribute']]}: {row['label']}"
        if not row["shown"]:
            rows.append(["attribute", name, "respondents", hidden, "", "", row["reason"]])
            continue
        for measure, value in (
            ("engagement index (% favourable)", row["engagement_index"]),
            ("eNPS", row["enps"]),
        ):
            rows.append(["attribute", name, measure, value, row["respondents"], "", ""])
    return rows


# --- Home page -----------------------------------------------------------------------------------


def latest_closed_run_for_viewer(viewer: Viewer) -> SurveyRun | None:
    """The newest closed run that asked the viewer's team or a team they manage (HR and
    executives: the newest of an organisation-wide programme, so a small or test programme
    never replaces the organisation's results). Invitations are read for their team only,
    never for an answer."""
    if not viewer.is_authenticated:
        return None
    runs = SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED).select_related("program")
    if viewer.sees_whole_organisation:
        runs = runs.filter(program__is_organisation_wide=True)
    else:
        paths = [*viewer.managed_paths]
        if viewer.employee is not None and viewer.employee.team is not None:
            paths.append(viewer.employee.team.path)
        if not paths:
            return None
        asked = Q(pk__in=[])
        for path in paths:
            asked |= Q(team_path__startswith=path)
        runs = runs.filter(Exists(Invitation.objects.filter(asked, run=OuterRef("pk"))))
    return runs.order_by("-closes_on", "-id").first()


def headline_for(viewer: Viewer, run: SurveyRun) -> dict[str, Any]:
    """The group the results page opens on for the viewer, in a few figures: engagement index,
    eNPS and the strongest and weakest driver — all through the gate, or the reason why not —
    and the group's trend over the programme's closed runs (`group_trend`).

    Four queries (the snapshot without invitations, and the group's tallies), and three for the
    trend."""
    snapshot = run_snapshot(run, with_invitations=False)
    k = run.anonymity_threshold
    headline: dict[str, Any] = {
        "run": {
            "id": run.pk,
            "program": run.program.name,
            "sequence": run.sequence,
            "closes_on": run.closes_on,
        },
        "group": None,
        "reportable": False,
        "reason": None,
        "respondents": None,
        "engagement_index": None,
        "enps": None,
        "top_driver": None,
        "bottom_driver": None,
        "trend": [],
    }
    try:
        group = default_group(viewer, snapshot)
    except PermissionDenied:
        headline["reason"] = "You have no team to see results for"
        return headline
    headline["group"] = {
        "kind": group.kind,
        "team": group.node if isinstance(group.node, int) else None,
        "label": group_label(snapshot, group),
    }
    # A small team's figures move a lot from run to run: its manager sees them over the runs.
    headline["trend"] = group_trend(run, group)
    decision = snapshot.plan.decide(group)
    if not decision.shown:
        headline["reason"] = _reason(decision, k)
        return headline
    figures = group_scores(snapshot, group)
    drivers = sorted(
        (
            (entry["favourable"], driver)
            for driver, entry in figures["drivers"].items()
            if driver not in (Driver.ENGAGEMENT, Driver.ENPS)
            and entry.get("favourable") is not None
        ),
        key=lambda item: (-item[0], item[1]),
    )

    labels = driver_labels_for(driver for _, driver in drivers)

    def named(item: tuple[float, str]) -> dict[str, Any]:
        return {"driver": item[1], "label": driver_label(item[1], labels), "favourable": item[0]}

    headline.update(
        reportable=True,
        respondents=decision.respondents,
        engagement_index=figures["engagement_index"],
        enps=figures["enps"],
        top_driver=named(drivers[0]) if drivers else None,
        bottom_driver=named(drivers[-1]) if len(drivers) > 1 else None,
    )
    return headline


def import_question_codes() -> list[str]:
    """The codes an import file may use as answer columns: every active question's."""
    return list(Question.objects.filter(is_active=True).values_list("code", flat=True))
