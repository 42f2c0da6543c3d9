"""Scoring: additive tallies of answers and the figures computed from them (engagement index,
eNPS with its interval, driver and question scores), each rounded to what its n supports and
shown only where the gate allows."""

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, Sum

from cxculture.lib import anonymity, stats

from ..models import (
    Driver,
    Question,
)
from .gate import figure_reason

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
            "reason": figure_reason(figure),
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
            "reason": figure_reason(visible),
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


def sum_tallies(parts: Iterable[Mapping[int, Tally]]) -> dict[int, Tally]:
    total: dict[int, Tally] = defaultdict(Tally)
    for part in parts:
        for question_id, tally in part.items():
            total[question_id].add(tally)
    return dict(total)


def driver_columns(questions: Iterable[Question]) -> list[str]:
    """The drivers the scored questions measure: built-in ones in their order, then HR's own."""
    present = {q.driver for q in questions if q.is_scored and q.driver != Driver.ENPS}
    builtin = [driver for driver in Driver.values if driver in present]
    return builtin + sorted(present - set(builtin))
