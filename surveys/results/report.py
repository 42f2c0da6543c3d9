"""What a results page, its API and its CSV show of one run for one group, through the gate."""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import cache
from django.db.models import Avg

from cxculture.lib import anonymity, stats
from cxculture.lib.anonymity import ORGANISATION, SUBTREE, TEAM, Group
from cxculture.lib.errors import ConflictError
from cxculture.people.permissions import Viewer

from ..drivers import driver_label, driver_labels_for
from ..models import (
    Answer,
    Driver,
    Question,
    Response,
    SurveyRun,
    TenureBand,
)
from ..selectors import previous_closed_run
from .gate import (
    ATTRIBUTE_LABELS,
    ATTRIBUTES,
    HIDDEN_REASON,
    UNASSIGNED,
    ResultsQuery,
    default_group,
    group_filter,
    group_label,
    may_see_group,
    reason_for,
    resolve_group,
)
from .scoring import driver_columns, question_scores, scores
from .snapshot import SNAPSHOT_CACHE_SECONDS, SNAPSHOT_CACHE_VERSION, RunSnapshot, run_snapshot
from .summary import (
    TeamFigures,
    direct_members_figures,
    group_figures,
    group_participation,
    group_scores,
    run_summaries,
)


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
    group_q = group_filter(snapshot, group)
    answer_q = group_filter(snapshot, group, "response__")
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
    answer_q = group_filter(snapshot, group, "response__")
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
    columns = driver_columns(snapshot.questions)
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
    columns = driver_columns(snapshot.questions)
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
        "reason": reason_for(decision, k),
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
        "trend": [],
    }
    result["trend"], summaries = _trend(run, group)
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
        # Every team's figures as the run published them when it closed (its stored summary,
        # read with the trend), named and ordered as the snapshot names them.
        summary = summaries.get(run.pk) or run_summaries([run])[run.pk]
        summary.names = snapshot.names
        result["heatmap"] = team_heatmap(viewer, summary, group, heat_columns)
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
    filters. Read from the runs' stored summaries (`run_summaries`): two queries, one for the
    runs and one for their summaries (with every team's direct members' figures, for a team
    group)."""
    return _trend(run, group)[0]


def _trend(run: SurveyRun, group: Group) -> tuple[list[dict[str, Any]], dict[int, RunSnapshot]]:
    """`group_trend`, with the summaries it read (the results page reuses the run's own)."""
    if group.filters:
        return [], {}
    runs = list(
        SurveyRun.objects.filter(
            program_id=run.program_id,
            status=SurveyRun.Status.CLOSED,
            sequence__lte=run.sequence,
        ).order_by("-sequence")[:TREND_RUNS]
    )[::-1]
    summaries = run_summaries(runs, direct_members=group.kind == TEAM)
    points = []
    for past in runs:
        summary = summaries[past.pk]
        figures: TeamFigures
        if group.kind == TEAM and summary.has_children(group.node):
            figures = direct_members_figures(summary, group.node)
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
    return points, summaries


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


def _breakdowns(snapshot: RunSnapshot, group: Group) -> list[dict[str, Any]]:
    """Per attribute value within the group: shown only where the gate allows."""
    k = snapshot.run.anonymity_threshold
    plan = snapshot.plan
    if group_filter(snapshot, group, "response__") is None:
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
            "reason": reason_for(decision, k),
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
