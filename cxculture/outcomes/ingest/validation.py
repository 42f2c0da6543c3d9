"""What a row must be to become a record, with the reason for every way it can be wrong.

`RowValidator` turns a row (column -> text) into a `NewRecord` or a list of (column, reason);
every import and every JSON batch gets its reasons from it, so a rejected row reads the same
whichever way it came in. `mapped_row` puts a row of a mapped file (a helpdesk export) in our
terms first, and `outcome_mapping_resolve` checks a mapping or preset against a file's header.
"""

import datetime as dt
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import batched
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models.functions import Lower
from django.utils import timezone

from cxculture.lib.csvio import MappingError, mapping_check, normalise_header
from cxculture.lib.errors import DomainError
from cxculture.people.models import Employee, Team

from ..models import Metric, OutcomeImport
from ..presets import PRESETS, Preset, ScoreError

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
SLUG_RULE = "Use lowercase letters, digits, - and _ (at most 50 characters)."


def clean_slug(value: str, *, field_name: str) -> str:
    slug = value.strip().lower()
    if not SLUG.match(slug):
        raise DomainError(SLUG_RULE, field=field_name)
    return slug


# --- Validating rows ---------------------------------------------------------------------------

REQUIRED_COLUMNS = ("metric", "value", "occurred_at")
OPTIONAL_COLUMNS = ("team_external_id", "agent", "customer_ref", "interaction_ref", "external_id")
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# A mapped file may also carry each row's source (a combined export of several tools); rows
# with it empty take the import's source.
MAPPING_TARGETS = (*ALL_COLUMNS, "source")
YES = {"1", "yes", "y", "true"}
NO = {"0", "no", "n", "false"}
MAX_LENGTH = {"customer_ref": 100, "interaction_ref": 100, "external_id": 200}
_LOOKUP_CHUNK = 2000


class NewRecord(NamedTuple):
    """A validated row, ready to insert (a tuple: cheap to build a million of)."""

    metric_id: int
    value: float
    occurred_at: dt.datetime
    team_id: int
    agent_id: int | None
    customer_ref: str
    interaction_ref: str
    external_id: str


def derived_external_id(row: Mapping[str, str], value: float, occurred_at: dt.datetime) -> str:
    """An id for a row that has none: the same row always gets the same id, so a re-import of a
    file without ids changes nothing either (two identical rows count as one record)."""
    key = "\x1f".join(
        [
            row.get("metric", "").lower(),
            repr(value),
            occurred_at.astimezone(dt.UTC).isoformat(),
            row.get("team_external_id", ""),
            row.get("agent", "").lower(),
            row.get("customer_ref", ""),
            row.get("interaction_ref", ""),
        ]
    )
    return "row-" + hashlib.sha256(key.encode()).hexdigest()[:40]


class RowValidator:
    """Checks rows against the catalog, teams and people, looking each key up once.

    Teams are matched on external id; agents on external id, or on email when the value holds
    an @. A row with an agent and no team gets the agent's current team. Naive times are read in
    settings.TIME_ZONE.
    """

    def __init__(self, *, now: dt.datetime | None = None):
        self.metrics = {metric.code: metric for metric in Metric.objects.all()}
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.latest = (now or timezone.now()) + dt.timedelta(days=1)
        self.teams: dict[str, int | None] = {}
        self.agents: dict[str, tuple[int, int | None] | None] = {}

    def prefetch(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Look up, in a few queries, the teams and agents these rows name that are not known."""
        team_keys: set[str] = set()
        external_ids: set[str] = set()
        emails: set[str] = set()
        for row in rows:
            team = row.get("team_external_id", "")
            if team and team not in self.teams:
                team_keys.add(team)
            agent = row.get("agent", "")
            if agent:
                key = agent.lower() if "@" in agent else agent
                if key not in self.agents:
                    (emails if "@" in agent else external_ids).add(key)
        for chunk in batched(sorted(team_keys), _LOOKUP_CHUNK):
            self.teams.update(
                Team.objects.filter(external_id__in=chunk).values_list("external_id", "id")
            )
        for chunk in batched(sorted(external_ids), _LOOKUP_CHUNK):
            for ext, pk, team_id in Employee.objects.filter(external_id__in=chunk).values_list(
                "external_id", "id", "team_id"
            ):
                self.agents[ext] = (pk, team_id)
        for chunk in batched(sorted(emails), _LOOKUP_CHUNK):
            people = (
                Employee.objects.annotate(email_lower=Lower("user__email"))
                .filter(email_lower__in=chunk)
                .order_by("id")
                .values_list("email_lower", "id", "team_id")
            )
            for email, pk, team_id in people:
                self.agents.setdefault(email, (pk, team_id))
        for key in team_keys:
            self.teams.setdefault(key, None)
        for key in external_ids | emails:
            self.agents.setdefault(key, None)

    def _value(self, metric: Metric, raw: str) -> float | str:
        if metric.kind == Metric.Kind.BINARY:
            word = raw.lower()
            if word in YES:
                return 1.0
            if word in NO:
                return 0.0
            try:
                number = float(raw)
            except ValueError:
                number = math.nan
            if number in (0.0, 1.0):
                return number
            return f"{raw!r} is not yes/no (or 1/0) for {metric.code}."
        try:
            value = float(raw)
        except ValueError:
            return f"{raw!r} is not a number."
        if not math.isfinite(value):
            return f"{raw!r} is not a number."
        low, high = metric.min_value, metric.max_value
        if metric.kind == Metric.Kind.SCALE and value != int(value):
            return f"{metric.code} takes whole numbers from {low:g} to {high:g}; got {raw}."
        if not low <= value <= high:
            return f"{raw} is outside the range {low:g} to {high:g} of {metric.code}."
        return value

    def _occurred_at(self, raw: str) -> dt.datetime | str:
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            return (
                f"{raw!r} is not a date and time in ISO 8601 form "
                "(for example 2026-03-01T14:30:00Z or 2026-03-01 14:30)."
            )
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        if value > self.latest:
            return f"{raw} is in the future."
        if value.year < 2000:
            return f"{raw} is before the year 2000."
        return value

    def validate(self, row: Mapping[str, str]) -> tuple[NewRecord | None, list[tuple[str, str]]]:
        """The record a row describes, or every (column, reason) that is wrong with it."""
        errors: list[tuple[str, str]] = []
        if "\x00" in "".join(row.values()):
            nul = "Contains a NUL character."
            return None, [(column, nul) for column, text in row.items() if "\x00" in text]
        metric: Metric | None = None
        code = row.get("metric", "").lower()
        if not code:
            errors.append(("metric", "Required."))
        else:
            metric = self.metrics.get(code)
            if metric is None:
                known = ", ".join(sorted(c for c, m in self.metrics.items() if m.is_active))
                errors.append(("metric", f"Unknown metric {code!r}. Known metrics: {known}."))
            elif not metric.is_active:
                errors.append(("metric", f"The metric {code!r} is retired."))
                metric = None
        value: float | None = None
        raw_value = row.get("value", "")
        if not raw_value:
            errors.append(("value", "Required."))
        elif metric is not None:
            parsed = self._value(metric, raw_value)
            if isinstance(parsed, str):
                errors.append(("value", parsed))
            else:
                value = parsed
        raw_time = row.get("occurred_at", "")
        occurred_at = self._occurred_at(raw_time) if raw_time else "Required."
        if isinstance(occurred_at, str):
            errors.append(("occurred_at", occurred_at))

        team_key = row.get("team_external_id", "")
        agent_key = row.get("agent", "")
        agent = None
        team_id: int | None = None
        if agent_key:
            agent = self.agents.get(agent_key.lower() if "@" in agent_key else agent_key)
            if agent is None:
                reason = f"Unknown agent {agent_key!r}: give an employee's external id or email."
                errors.append(("agent", reason))
        if team_key:
            team_id = self.teams.get(team_key)
            if team_id is None:
                errors.append(("team_external_id", f"Unknown team {team_key!r}."))
        elif agent is not None:
            team_id = agent[1]
            if team_id is None:
                errors.append(("agent", "This agent has no team: give team_external_id."))
        elif not agent_key:
            errors.append(("team_external_id", "Give team_external_id, agent or both."))
        for column, limit in MAX_LENGTH.items():
            if len(row.get(column, "")) > limit:
                errors.append((column, f"At most {limit} characters."))
        if errors:
            return None, errors
        if metric is None or team_id is None or value is None or isinstance(occurred_at, str):
            raise AssertionError("a row without errors has every part")  # pragma: no cover
        return (
            NewRecord(
                metric_id=metric.pk,
                value=value,
                occurred_at=occurred_at,
                team_id=team_id,
                agent_id=agent[0] if agent else None,
                customer_ref=row.get("customer_ref", ""),
                interaction_ref=row.get("interaction_ref", ""),
                external_id=(
                    row.get("external_id", "") or derived_external_id(row, value, occurred_at)
                ),
            ),
            [],
        )


def mapped_row(
    row: dict[str, str], *, job: OutcomeImport, preset: Preset | None
) -> tuple[dict[str, str], str, list[tuple[str, str]]]:
    """A mapped row in our terms: the import's metric filled in, the tool's score converted,
    and the row's own source (or the import's); with the (column, reason) problems found."""
    if not job.mapping:
        return row, job.source, []
    mapped = dict(row)
    problems: list[tuple[str, str]] = []
    if job.metric and not mapped.get("metric"):
        mapped["metric"] = job.metric
    if preset is not None and mapped.get("value"):
        try:
            mapped["value"] = preset.convert(mapped["value"])
        except ScoreError as exc:
            problems.append(("value", str(exc)))
    source = job.source
    raw_source = mapped.pop("source", "").strip().lower()
    if raw_source:
        if SLUG.match(raw_source):
            source = raw_source
        else:
            problems.append(("source", SLUG_RULE))
    return mapped, source, problems


def outcome_mapping_resolve(
    *,
    header: Sequence[str],
    mapping: Mapping[str, str] | None,
    preset: str = "",
    metric: str = "",
) -> tuple[dict[str, str], Preset | None, str]:
    """(mapping, preset, metric) for a file with this header, or a DomainError naming the field.

    A preset's columns that the file lacks are left out, except the ones a record needs; the
    mapping sent is laid over the preset's (an empty column name removes one of the preset's).
    The metric is the one sent, else the preset's; without one the file must map `metric`.
    """
    chosen: Preset | None = None
    columns: dict[str, str] = {}
    if preset:
        chosen = PRESETS.get(preset)
        if chosen is None:
            known = ", ".join(sorted(PRESETS))
            raise DomainError(f"Unknown preset {preset!r}. Presets: {known}.", field="preset")
        present = {normalise_header(name) for name in header}
        columns = {
            target: column
            for target, column in chosen.columns.items()
            if normalise_header(column) in present or target in ("value", "occurred_at")
        }
    columns.update(mapping or {})
    metric = (metric or (chosen.metric if chosen else "")).strip().lower()
    required = ("value", "occurred_at") + (() if metric else ("metric",))
    try:
        cleaned = mapping_check(columns, targets=MAPPING_TARGETS, required=required, header=header)
    except MappingError as exc:
        raise DomainError(exc.message, code="wrong_mapping", field="mapping") from None
    if "team_external_id" not in cleaned and "agent" not in cleaned:
        raise DomainError(
            "Map team_external_id, agent or both: each record belongs to a team.",
            code="wrong_mapping",
            field="mapping",
        )
    if metric and not Metric.objects.filter(code=metric, is_active=True).exists():
        raise DomainError(f"Unknown metric {metric!r}.", field="metric")
    return cleaned, chosen, metric
