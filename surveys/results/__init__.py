"""A survey run's results: the read model of pulse surveys, behind the anonymity gate.

- `gate`: the adapter to `cxculture.lib.anonymity` (attributes, groups a viewer may ask for,
  the one neutral reason for anything hidden);
- `scoring`: tallies of answers and the figures computed from them;
- `snapshot`: a run's tree and cells, with its anonymity plans and tallies;
- `summary`: a closed run's published figures per subtree, read by dashboards and trends;
- `report`: a results page, its API and CSV; `home`: the home page's results card.

Every figure that leaves this package has passed `cxculture.lib.anonymity`: the group through
the run's `Plan` (respondents), and each question's figure through the question's `FigurePlan`
(answerers — people may skip questions), so that no two groups shown can be subtracted to
isolate fewer than k answers of any question.

Results exist only for closed runs. A closed run refuses responses (and `survey_run_close`
waits for submissions in flight), so the numbers behind a run's results never change once they
are shown: two views at different times cannot be subtracted to isolate a late respondent. This
is how "no result that changes by fewer than k respondents between two views" is met.
"""

from .gate import (
    ATTRIBUTE_LABELS,
    ATTRIBUTES,
    HIDDEN_REASON,
    UNASSIGNED,
    ResultsQuery,
    default_group,
    group_label,
    may_see_group,
    resolve_group,
)
from .home import headline_for, latest_closed_run_for_viewer
from .report import group_trend, results_csv_rows, run_participation, run_results, team_heatmap
from .scoring import Tally, favourable_count, question_scores, scores
from .snapshot import RunSnapshot, run_snapshot, run_snapshot_cache_clear, run_snapshot_forget
from .summary import (
    RunPoint,
    TeamFigures,
    direct_members_figures,
    group_figures,
    group_participation,
    group_scores,
    group_shown,
    run_points,
    run_summaries,
    shown_subtrees,
    subtree_participation,
)

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_LABELS",
    "HIDDEN_REASON",
    "UNASSIGNED",
    "ResultsQuery",
    "RunPoint",
    "RunSnapshot",
    "Tally",
    "TeamFigures",
    "default_group",
    "direct_members_figures",
    "favourable_count",
    "group_figures",
    "group_label",
    "group_participation",
    "group_scores",
    "group_shown",
    "group_trend",
    "headline_for",
    "latest_closed_run_for_viewer",
    "may_see_group",
    "question_scores",
    "resolve_group",
    "results_csv_rows",
    "run_participation",
    "run_points",
    "run_results",
    "run_snapshot",
    "run_snapshot_cache_clear",
    "run_snapshot_forget",
    "run_summaries",
    "scores",
    "shown_subtrees",
    "subtree_participation",
    "team_heatmap",
]
