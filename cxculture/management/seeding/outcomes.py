"""A year of customer outcomes for the demo's front-line teams (about 200,000 records).

Each team's outcomes follow its latent culture with noise, so the linkage pages have something
a person would believe: healthier teams get better CSAT, NPS, first-contact resolution and QA
scores, fewer complaints, less churn and shorter handle times. `org.team_health` is read as the
team's health today and `org.team_trend` as its change per month, so a team that improves over
the year was worse twelve months ago. Volume follows the week (quiet weekends) and Mondays score
a little lower (the weekend's backlog). Most interactions carry a customer reference
"CUST-000001".."CUST-040000", the form the exception seeder uses, so exceptions can be matched.

Records are generated interaction by interaction (handle time, resolution and complaint always;
churn, CSAT and NPS when the customer answered), plus weekly QA reviews per agent, as rows
written in bulk (COPY on PostgreSQL), and the daily rollups rebuilt once at the end by
`ingest.rollups` (one INSERT ... SELECT ... GROUP BY). The enterprise profile asks for 5 million
records the same way (`target=org.profile.outcome_records`).
"""

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cxculture.management.seeding.bulk import Rows, analyze, indexes_after, is_postgresql
from cxculture.management.seeding.people import DemoOrg
from cxculture.outcomes import services
from cxculture.outcomes.ingest import rollups
from cxculture.outcomes.models import DailyRollup, Metric, MonthlyRollup, OutcomeRecord
from cxculture.people.models import Employee

DAYS = 365
CUSTOMERS = 40_000
SOURCE = "demo"
# Monday to Sunday: interactions per day relative to an average day.
WEEKDAY_VOLUME = (1.2, 1.15, 1.1, 1.05, 1.0, 0.45, 0.3)
# Per interaction: records always written (handle time, resolution, complaint) and the chance
# of the others (a churn decision, a CSAT or NPS answer). QA adds one review per agent a week.
ALWAYS = ("handle_time", "fcr", "complaint")
SOMETIMES = {"csat": 0.35, "nps": 0.12, "churn": 0.08}
RECORDS_PER_INTERACTION = len(ALWAYS) + sum(SOMETIMES.values())
CUSTOMER_REF_SHARE = 0.85
RECORD_FIELDS = [
    "metric_id",
    "value",
    "occurred_at",
    "team_id",
    "agent_id",
    "customer_ref",
    "interaction_ref",
    "source",
    "external_id",
    "import_job_id",
    "created_at",
]


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _yes(happened: bool) -> float:
    return 1.0 if happened else 0.0


class _Generator:
    def __init__(self, org: DemoOrg, metrics: dict[str, Metric], agents: dict[int, list[Employee]]):
        self.org = org
        self.rng = org.rng
        self.metric_ids = {code: metric.pk for code, metric in metrics.items()}
        self.agents = agents
        self.tz = ZoneInfo(settings.TIME_ZONE)
        # Each agent sits a little above or below their team.
        self.agent_offset = {
            agent.pk: self.rng.gauss(0, 0.06) for team in agents.values() for agent in team
        }
        # What health does not explain: each team's customers, products and queues differ.
        self.team_offset = {
            (team_id, code): self.rng.gauss(0, 0.15) for team_id in agents for code in metrics
        }
        self.interaction = 0
        self.created_at = timezone.now()

    def health(self, team_id: int, day: dt.date, agent: Employee) -> float:
        months_ago = (self.org.today - day).days / 30.44
        base = self.org.team_health.get(team_id, 0.6)
        trend = self.org.team_trend.get(team_id, 0.0)
        return _clamp(base - trend * months_ago + self.agent_offset[agent.pk], 0.02, 0.98)

    def at(self, day: dt.date) -> dt.datetime:
        minute = self.rng.randint(8 * 60, 20 * 60 - 1)
        return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.tz)

    def record(
        self,
        code: str,
        value: float,
        when: dt.datetime,
        team_id: int,
        agent: Employee,
        external_id: str,
        customer_ref: str = "",
        interaction_ref: str = "",
    ) -> tuple:
        """One OutcomeRecord as a row in RECORD_FIELDS order."""
        return (
            self.metric_ids[code],
            value,
            when,
            team_id,
            agent.pk,
            customer_ref,
            interaction_ref,
            SOURCE,
            external_id,
            None,
            self.created_at,
        )

    def interactions(self, team_id: int, day: dt.date, count: int) -> Iterator[tuple]:
        rng = self.rng
        monday_dip = 0.12 if day.weekday() == 0 else 0.0
        for _ in range(count):
            self.interaction += 1
            agent = rng.choice(self.agents[team_id])
            h = self.health(team_id, day, agent)
            when = self.at(day)
            ref = f"INT-{self.interaction:07d}"
            customer = (
                f"CUST-{rng.randint(1, CUSTOMERS):06d}" if rng.random() < CUSTOMER_REF_SHARE else ""
            )
            context = (when, team_id, agent, f"demo-{self.interaction}", customer, ref)
            level = {code: h + self.team_offset[team_id, code] for code in self.metric_ids}
            median = 480 * (1.3 - 0.45 * level["handle_time"])
            seconds = _clamp(rng.lognormvariate(math.log(median), 0.45), 30, 7200)
            yield self.of_interaction("handle_time", float(round(seconds)), context)
            yield self.of_interaction(
                "fcr", _yes(rng.random() < 0.48 + 0.42 * level["fcr"]), context
            )
            yield self.of_interaction(
                "complaint", _yes(rng.random() < 0.11 - 0.09 * level["complaint"]), context
            )
            if rng.random() < SOMETIMES["churn"]:
                yield self.of_interaction(
                    "churn", _yes(rng.random() < 0.16 - 0.12 * level["churn"]), context
                )
            if rng.random() < SOMETIMES["csat"]:
                score = rng.gauss(2.9 + 1.9 * level["csat"] - monday_dip * 2, 0.85)
                yield self.of_interaction("csat", float(round(_clamp(score, 1, 5))), context)
            if rng.random() < SOMETIMES["nps"]:
                score = rng.gauss(4.2 + 5.2 * level["nps"] - monday_dip * 4, 1.9)
                yield self.of_interaction("nps", float(round(_clamp(score, 0, 10))), context)

    def of_interaction(self, code: str, value: float, context: tuple) -> tuple:
        when, team_id, agent, base, customer, ref = context
        return self.record(code, value, when, team_id, agent, f"{base}-{code}", customer, ref)

    def qa_reviews(self, team_id: int, day: dt.date) -> Iterator[tuple]:
        for agent in self.agents[team_id]:
            h = self.health(team_id, day, agent) + self.team_offset[team_id, "qa"]
            score = round(_clamp(self.rng.gauss(60 + 32 * h, 7), 0, 100), 1)
            yield self.record(
                "qa", score, self.at(day), team_id, agent, f"demo-qa-{agent.pk}-{day:%Y%m%d}"
            )


def seed_outcomes(org: DemoOrg, *, target: int | None = None) -> None:
    """About `target` outcome records over the last year (by default the profile's number);
    skipped when any record exists."""
    if OutcomeRecord.objects.exists():
        return
    target = org.profile.outcome_records if target is None else target
    services.metric_builtins_ensure()
    metrics = {metric.code: metric for metric in Metric.objects.filter(is_builtin=True)}
    team_ids = {team.pk for team in org.teams}
    agents: dict[int, list[Employee]] = defaultdict(list)
    for employee in org.employees:
        if employee.is_front_line and employee.is_active and employee.team_id in team_ids:
            agents[employee.team_id].append(employee)
    if not agents:
        return
    days = [org.today - dt.timedelta(days=offset) for offset in range(DAYS, 0, -1)]
    weeks = DAYS / 7
    qa_records = sum(len(team) for team in agents.values()) * weeks
    interactions = max(0.0, target - qa_records) / RECORDS_PER_INTERACTION
    volume = sum(WEEKDAY_VOLUME[day.weekday()] for day in days)
    people = sum(len(team) for team in agents.values())
    per_agent_day = interactions / (people * volume)
    generator = _Generator(org, metrics, agents)

    def records() -> Iterator[tuple]:
        for day in days:
            for team_id, team_agents in sorted(agents.items()):
                expected = per_agent_day * len(team_agents) * WEEKDAY_VOLUME[day.weekday()]
                count = int(expected) + (1 if org.rng.random() < expected % 1 else 0)
                yield from generator.interactions(team_id, day, count)
                if day.weekday() == 2:  # QA reviews on Wednesdays
                    yield from generator.qa_reviews(team_id, day)

    with transaction.atomic():
        with indexes_after(OutcomeRecord, DailyRollup):
            rows = Rows(OutcomeRecord, RECORD_FIELDS)
            for row in records():
                rows.add(*row)
            rows.flush()
            _rollups_rebuild()
        analyze(OutcomeRecord, DailyRollup, MonthlyRollup)


def _rollups_rebuild() -> None:
    """The daily rollups from every record, as an import or the nightly refresh computes them
    (one INSERT ... SELECT ... GROUP BY), and the monthly ones from them, with room to sort in
    memory on PostgreSQL."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
    rollups.rollups_rebuild()
