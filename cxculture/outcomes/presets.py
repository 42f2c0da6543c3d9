"""Named column mappings for the CSAT exports of common helpdesk tools.

A preset says which of the export's columns fill our fields, which metric every row is, the
source the records are stored under, and how the tool's score becomes our value. HR can still
override single columns (the preset's mapping is merged with the one sent), e.g. to take the
agent from an "assignee email" column, or `agent` -> "assignee_id" when the people's external
ids are the tool's user ids. Teams come from the tool's group id by default, so name teams'
external ids after the helpdesk groups, or map `team_external_id` to another column.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


class ScoreError(ValueError):
    """The tool's score cannot be turned into a value; the message is the row's reason."""


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    doc_url: str
    columns: dict[str, str]
    metric: str
    source: str
    convert: Callable[[str], str]
    # The scores the tool writes and the values they become, for the README and the page.
    scores: dict[str, str] = field(default_factory=dict)


# Zendesk legacy CSAT, Satisfaction Ratings (GET /api/v2/satisfaction_ratings, and the CSV its
# rows export to): id, url, score, created_at, updated_at, assignee_id, group_id, requester_id,
# ticket_id, comment, reason.
# https://developer.zendesk.com/api-reference/ticketing/ticket-management/satisfaction_ratings/
# Checked against that page (December 2026): the properties above, and the score filter's
# values offered, unoffered, received, good, bad, each of the last three also with
# "_with_comment"/"_without_comment". "offered" and "unoffered" are surveys nobody answered.
# Good counts as a 5 and bad as a 1 on the 1-5 csat scale, so the share of 4-5 ratings (how
# CSAT is usually reported) equals Zendesk's good / (good + bad).
_ZENDESK_SCORES = {"good": "5", "bad": "1"}


def _zendesk_score(raw: str) -> str:
    word = raw.strip().lower()
    for suffix in ("_with_comment", "_without_comment"):
        word = word.removesuffix(suffix)
    if word in _ZENDESK_SCORES:
        return _ZENDESK_SCORES[word]
    if word in ("offered", "unoffered", "received"):
        raise ScoreError(f"{raw!r}: the survey was not answered, so there is no rating.")
    raise ScoreError(f"{raw!r} is not a Zendesk score (good or bad).")


# Freshdesk Satisfaction Ratings (GET /api/v2/surveys/satisfaction_ratings): id, survey_id,
# user_id, agent_id, feedback, group_id, ticket_id, ratings (an object: question -> rating;
# flattened to "ratings.default_question" for the survey's main question), created_at,
# updated_at.  https://developers.freshdesk.com/api/#satisfaction-ratings
# The field names are checked against Freshworks' SDK reference of the same object
# (https://developers.freshworks.com/freshdesk-sdk/docs/SatisfactionRating.html). The rating
# values are NOT confirmed by a document we could check: the preset assumes ratings run from
# 103 (extremely happy) to -103 (extremely unhappy), a 2-, 3-, 5- or 7-point survey using a
# subset of 103, 102, 101, 100, -101, -102, -103; a value outside that list is a rejected row
# naming it, never a guess. They become 1-5 csat so every survey size lands on the same scale:
# happy 5/4, neutral 3, unhappy 2/1. An export on another scale: import it without the preset,
# mapping its score column to `value` (after converting it to 1-5), or as a metric of its own.
_FRESHDESK_SCORES = {
    "103": "5",
    "102": "4",
    "101": "4",
    "100": "3",
    "-101": "2",
    "-102": "2",
    "-103": "1",
}


def _freshdesk_score(raw: str) -> str:
    value = raw.strip()
    if value in _FRESHDESK_SCORES:
        return _FRESHDESK_SCORES[value]
    raise ScoreError(f"{raw!r} is not a Freshdesk rating (103 to -103).")


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="zendesk-csat",
            title="Zendesk satisfaction ratings",
            doc_url=(
                "https://developer.zendesk.com/api-reference/ticketing/ticket-management/"
                "satisfaction_ratings/"
            ),
            columns={
                "external_id": "id",
                "value": "score",
                "occurred_at": "created_at",
                "team_external_id": "group_id",
                "interaction_ref": "ticket_id",
                "customer_ref": "requester_id",
            },
            metric="csat",
            source="zendesk",
            convert=_zendesk_score,
            scores={"good": "5", "bad": "1", "offered / unoffered": "rejected (no rating)"},
        ),
        Preset(
            name="freshdesk-csat",
            title="Freshdesk satisfaction ratings",
            doc_url="https://developers.freshdesk.com/api/#satisfaction-ratings",
            columns={
                "external_id": "id",
                "value": "ratings.default_question",
                "occurred_at": "created_at",
                "team_external_id": "group_id",
                "interaction_ref": "ticket_id",
                "customer_ref": "user_id",
            },
            metric="csat",
            source="freshdesk",
            convert=_freshdesk_score,
            scores=dict(_FRESHDESK_SCORES),
        ),
    )
}
