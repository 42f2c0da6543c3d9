"""Daily rollups: always equal to a direct aggregate of the raw records; what dashboards read."""

import datetime as dt
import importlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from cxculture.outcomes import selectors
from cxculture.outcomes.ingest import batches, jobs, rollups
from cxculture.outcomes.models import (
    DailyRollup,
    MonthlyRollup,
    OutcomeImport,
    OutcomeRecord,
    OutcomeSource,
)
from cxculture.people.permissions import viewer_for
from tests.factories.outcomes import OutcomeSourceFactory, csv_bytes, record


def _direct_aggregate() -> dict[tuple, tuple]:
    """The rollups recomputed from the raw rows with one GROUP BY (what they must equal)."""
    from django.conf import settings

    nps = Q(metric__code="nps")
    rows = (
        OutcomeRecord.objects.annotate(
            local_day=TruncDate("occurred_at", tzinfo=ZoneInfo(settings.TIME_ZONE))
        )
        .values("team_id", "metric_id", "local_day")
        .annotate(
            n=Count("id"),
            total=Sum("value"),
            squares=Sum(F("value") * F("value")),
            pro=Count("id", filter=nps & Q(value__gte=9)),
            passive=Count("id", filter=nps & Q(value__gte=7, value__lt=9)),
            det=Count("id", filter=nps & Q(value__lt=7)),
        )
        .order_by()
    )
    return {
        (r["team_id"], r["metric_id"], r["local_day"]): (
            r["n"],
            round(r["total"], 6),
            round(r["squares"], 6),
            r["pro"],
            r["passive"],
            r["det"],
        )
        for r in rows
    }


def _rollups() -> dict[tuple, tuple]:
    return {
        (r.team_id, r.metric_id, r.day): (
            r.count,
            round(r.sum, 6),
            round(r.sum_sq, 6),
            r.promoters,
            r.passives,
            r.detractors,
        )
        for r in DailyRollup.objects.all()
    }


def _random_records(count: int, *, seed: int, agents: list[str], prefix: str) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        metric, value = rng.choice(
            [
                ("csat", rng.randint(1, 5)),
                ("nps", rng.randint(0, 10)),
                ("fcr", rng.choice(["yes", "no"])),
                ("qa", round(rng.uniform(40, 100), 1)),
                ("handle_time", rng.randint(30, 2000)),
            ]
        )
        when = dt.datetime(2025, 3, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=rng.randint(0, 90 * 24 * 60)
        )
        team = rng.choice(["SUP-A", "SUP-B", "SAL", ""])
        rows.append(
            record(
                metric,
                value,
                when.isoformat(),
                team=team,
                agent=rng.choice(agents) if not team or rng.random() < 0.3 else "",
                external_id=f"{prefix}-{n}",
            )
        )
    return rows


@pytest.fixture
def mixed(metrics, org, employee, outsider, sales_person, import_file, settings):
    """Records from a CSV import and from JSON batches, with duplicates across the two."""
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 50
    agents = [employee.external_id, outsider.user.email, sales_person.external_id]
    rows = _random_records(400, seed=1, agents=agents, prefix="r")
    import_file(csv_bytes(rows), source="zendesk")
    source = OutcomeSourceFactory(slug="zendesk")
    batches.outcome_records_ingest(
        source=source, records=rows[300:] + _random_records(200, seed=2, agents=agents, prefix="w")
    )
    return rows


def test_rollups_equal_a_direct_aggregate_of_the_raw_records(mixed):
    assert OutcomeRecord.objects.count() == 600
    assert _rollups() == _direct_aggregate()
    assert sum(r.count for r in DailyRollup.objects.all()) == 600


def test_a_rebuild_gives_the_same_rollups_and_is_safe_to_repeat(mixed):
    kept = _rollups()
    DailyRollup.objects.update(count=0, sum=0)  # drifted

    written = rollups.rollups_rebuild()
    rollups.rollups_rebuild()

    assert written == len(kept)
    assert _rollups() == kept


def test_rebuilding_from_a_day_leaves_the_days_before_alone(mixed):
    kept = _rollups()
    since = dt.date(2025, 5, 1)
    DailyRollup.objects.filter(day__lt=since).update(count=999)
    DailyRollup.objects.filter(day__gte=since).delete()

    rollups.rollups_rebuild(since=since)

    after = _rollups()
    assert {key: value for key, value in after.items() if key[2] >= since} == {
        key: value for key, value in kept.items() if key[2] >= since
    }
    assert {value[0] for key, value in after.items() if key[2] < since} == {999}


def _months() -> dict[tuple, tuple]:
    return {
        (r.team_id, r.metric_id, r.month): (
            r.count,
            round(r.sum, 6),
            round(r.sum_sq, 6),
            r.promoters,
            r.passives,
            r.detractors,
        )
        for r in MonthlyRollup.objects.all()
    }


def _months_of_the_days() -> dict[tuple, tuple]:
    """The monthly rollups as they must be: the sums of the daily ones, month by month."""
    months: dict[tuple, list] = {}
    for r in DailyRollup.objects.all():
        into = months.setdefault((r.team_id, r.metric_id, r.day.replace(day=1)), [0] * 6)
        for index, value in enumerate(
            (r.count, r.sum, r.sum_sq, r.promoters, r.passives, r.detractors)
        ):
            into[index] += value
    return {
        key: (n, round(total, 6), round(squares, 6), pro, passive, det)
        for key, (n, total, squares, pro, passive, det) in months.items()
    }


def test_months_are_the_sums_of_their_days_after_imports_and_batches(mixed):
    months = _months()

    assert months == _months_of_the_days()
    assert len({month for _team, _metric, month in months}) == 3  # March to May 2025
    assert sum(value[0] for value in months.values()) == 600


def test_a_second_import_adds_to_the_days_and_months_the_first_one_wrote(
    mixed, import_file, employee
):
    more = _random_records(300, seed=3, agents=[employee.external_id], prefix="second")
    before = _months()

    job = import_file(csv_bytes(more), source="zendesk")

    assert job.status == OutcomeImport.Status.DONE
    assert OutcomeRecord.objects.count() == 900
    assert _rollups() == _direct_aggregate()
    after = _months()
    assert after == _months_of_the_days()
    assert sum(value[0] for value in after.values()) == 900
    assert set(before) <= set(after)  # the same March-May cells, grown
    assert sum(after[key][0] - before[key][0] for key in before) == 300


def test_importing_the_same_records_again_changes_no_month(mixed, import_file):
    kept = _months()

    import_file(csv_bytes(mixed), source="zendesk")  # every row a duplicate
    batches.outcome_records_ingest(source=OutcomeSource.objects.get(slug="zendesk"), records=mixed)

    assert _months() == kept == _months_of_the_days()


def test_a_rebuild_sums_the_months_again_from_the_days(mixed):
    kept = _months()
    MonthlyRollup.objects.update(count=0, sum=0)  # drifted
    MonthlyRollup.objects.filter(month=dt.date(2025, 4, 1)).delete()

    rollups.rollups_rebuild()
    rollups.rollups_rebuild()

    assert _months() == kept == _months_of_the_days()


def test_rebuilding_from_a_day_rebuilds_its_whole_month_and_leaves_earlier_ones(mixed):
    kept = _months()
    since = dt.date(2025, 5, 10)
    MonthlyRollup.objects.update(count=999)

    rollups.rollups_rebuild(since=since)

    after = _months()
    assert {key: value for key, value in after.items() if key[2] >= dt.date(2025, 5, 1)} == {
        key: value for key, value in kept.items() if key[2] >= dt.date(2025, 5, 1)
    }
    assert {value[0] for key, value in after.items() if key[2] < dt.date(2025, 5, 1)} == {999}
    assert after == {**_months_of_the_days(), **{k: v for k, v in after.items() if v[0] == 999}}


def test_the_migration_fills_the_months_from_the_days_already_stored(mixed):
    kept = _months()
    MonthlyRollup.objects.all().delete()
    migration = importlib.import_module(
        "cxculture.outcomes.migrations.0007_monthly_rollups_from_daily"
    )

    migration.months_from_days(django_apps, SimpleNamespace(connection=connection))

    assert _months() == kept


def test_a_day_is_the_local_day_of_settings_time_zone(metrics, org, source, settings):
    settings.TIME_ZONE = "America/New_York"
    late_evening = record("csat", 4, "2025-06-03T02:30:00Z", team="SUP-A")  # 22:30 on 2 June

    batches.outcome_records_ingest(source=source, records=[late_evening])

    assert DailyRollup.objects.get().day == dt.date(2025, 6, 2)
    rollups.rollups_rebuild()
    assert DailyRollup.objects.get().day == dt.date(2025, 6, 2)


def test_a_month_is_the_month_of_the_local_day(metrics, org, source, settings):
    settings.TIME_ZONE = "America/New_York"
    new_years_eve = record("csat", 4, "2026-01-01T02:30:00Z", team="SUP-A")  # 21:30 on 31 Dec

    batches.outcome_records_ingest(source=source, records=[new_years_eve])

    assert MonthlyRollup.objects.get().month == dt.date(2025, 12, 1)
    rollups.rollups_rebuild()
    assert MonthlyRollup.objects.get().month == dt.date(2025, 12, 1)


def test_nps_rollups_count_promoters_passives_and_detractors(metrics, org, source):
    scores = [10, 9, 9, 8, 7, 6, 0, 3]
    batches.outcome_records_ingest(
        source=source,
        records=[
            record("nps", s, "2025-06-02T10:00:00Z", team="SUP-A") | {"external_id": str(n)}
            for n, s in enumerate(scores)
        ],
    )

    rollup = DailyRollup.objects.get()
    assert (rollup.count, rollup.promoters, rollup.passives, rollup.detractors) == (8, 3, 2, 3)
    assert (rollup.sum, rollup.sum_sq) == (52.0, 420.0)


# --- Reading aggregates (dashboards) -----------------------------------------------------------


@pytest.fixture
def outcomes(metrics, org, source):
    records = []
    for team, scores in (("SUP-A", [5, 4, 4, 3]), ("SUP-B", [2, 2]), ("SAL", [5])):
        records += [record("csat", s, "2025-06-02T10:00:00Z", team=team) for s in scores]
    records += [
        record("nps", s, f"2025-06-0{d}T10:00:00Z", team="SUP-A")
        for d, s in ((2, 10), (2, 9), (3, 7), (3, 2))
    ]
    records += [
        record("fcr", v, "2025-06-02T11:00:00Z", team="SUP-B") for v in ("yes", "yes", "no", "yes")
    ]
    records = [r | {"external_id": f"o-{n}"} for n, r in enumerate(records)]
    batches.outcome_records_ingest(source=source, records=records)
    return metrics


JUNE = {"start": dt.date(2025, 6, 1), "end": dt.date(2025, 6, 30)}


def test_a_team_summary_has_n_mean_and_standard_deviation(outcomes, org, hr_admin):
    summary = selectors.outcome_summary(
        viewer_for(hr_admin.user), metric=outcomes["csat"], team=org["support_a"], **JUNE
    )

    assert (summary.n, summary.mean) == (4, 4.0)
    assert summary.stddev == pytest.approx(0.8164966, rel=1e-6)
    assert summary.nps is None and summary.rate is None


def test_a_subtree_summary_adds_up_its_teams(outcomes, org, hr_admin):
    viewer = viewer_for(hr_admin.user)

    support = selectors.outcome_summary(
        viewer, metric=outcomes["csat"], team=org["support"], **JUNE
    )
    company = selectors.outcome_summary(viewer, metric=outcomes["csat"], team=org["root"], **JUNE)
    own_only = selectors.outcome_summary(
        viewer, metric=outcomes["csat"], team=org["support"], subtree=False, **JUNE
    )

    assert (support.n, support.mean) == (6, 20 / 6)
    assert (company.n, company.mean) == (7, 25 / 7)
    assert (own_only.n, own_only.mean) == (0, None)


def test_nps_is_promoters_minus_detractors_and_a_yes_no_metric_has_a_rate(outcomes, org, hr_admin):
    viewer = viewer_for(hr_admin.user)

    nps = selectors.outcome_summary(viewer, metric=outcomes["nps"], team=org["support_a"], **JUNE)
    fcr = selectors.outcome_summary(viewer, metric=outcomes["fcr"], team=org["support_b"], **JUNE)

    assert (nps.n, nps.promoters, nps.passives, nps.detractors, nps.nps) == (4, 2, 1, 1, 25.0)
    assert (fcr.n, fcr.rate) == (4, 0.75)


def test_summaries_by_team_fold_subtrees_in_one_go(
    outcomes, org, hr_admin, django_assert_num_queries
):
    viewer = viewer_for(hr_admin.user)

    with django_assert_num_queries(2):
        by_team = selectors.outcome_summaries_by_team(
            viewer, metric=outcomes["csat"], subtree=True, **JUNE
        )

    assert {
        org_key: by_team[org[org_key].pk].n
        for org_key in ("support_a", "support_b", "support", "sales", "root")
    } == {
        "support_a": 4,
        "support_b": 2,
        "support": 6,
        "sales": 1,
        "root": 7,
    }
    flat = selectors.outcome_summaries_by_team(
        viewer_for(hr_admin.user), metric=outcomes["csat"], **JUNE
    )
    assert set(flat) == {org["support_a"].pk, org["support_b"].pk, org["sales"].pk}


def test_a_daily_series_reads_one_row_per_day(outcomes, org, hr_admin):
    series = selectors.outcome_daily_series(
        viewer_for(hr_admin.user), metric=outcomes["nps"], team=org["support"], **JUNE
    )

    assert [(day, s.n, s.nps) for day, s in series] == [
        (dt.date(2025, 6, 2), 2, 100.0),
        (dt.date(2025, 6, 3), 2, -50.0),
    ]


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("employee", {"support_a"}),
        ("outsider", {"support_b"}),
        ("manager", {"support", "support_a", "support_b"}),
        ("sales_person", {"sales"}),
        ("executive", {"root", "support", "support_a", "support_b", "sales"}),
    ],
)
def test_each_role_reads_the_aggregates_of_its_own_scope(outcomes, org, cast, role, visible):
    by_team = selectors.outcome_summaries_by_team(
        viewer_for(cast[role].user), metric=outcomes["csat"], subtree=True, **JUNE
    )

    assert {key for key, team in org.items() if team.pk in by_team} == visible
    if role == "manager":
        # The manager's Support figure holds Support A and B, not Sales.
        assert by_team[org["support"].pk].n == 6
    if role == "employee":
        whole = selectors.outcome_summary(
            viewer_for(cast[role].user), metric=outcomes["csat"], team=org["root"], **JUNE
        )
        assert whole.n == 4  # only the part of the company the employee may see


def test_an_empty_period_has_no_mean(outcomes, org, hr_admin):
    summary = selectors.outcome_summary(
        viewer_for(hr_admin.user),
        metric=outcomes["csat"],
        team=org["root"],
        start=dt.date(2024, 1, 1),
        end=dt.date(2024, 1, 31),
    )

    assert (summary.n, summary.mean, summary.stddev) == (0, None, None)


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_concurrent_batches_into_the_same_days_lose_no_count(metrics, org):
    sources = [OutcomeSourceFactory(slug=f"tool-{n}") for n in range(8)]
    barrier = threading.Barrier(len(sources))

    def send(source_id: int) -> int:
        try:
            from cxculture.outcomes.models import OutcomeSource

            source = OutcomeSource.objects.get(pk=source_id)
            batch = [
                record(
                    "csat",
                    1 + n % 5,
                    f"2025-06-0{1 + n % 3}T10:00:00Z",
                    team="SUP-A",
                    external_id=f"e{n}",
                )
                for n in range(200)
            ]
            barrier.wait(timeout=30)
            return batches.outcome_records_ingest(source=source, records=batch).accepted
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        accepted = list(pool.map(send, [s.pk for s in sources]))

    assert accepted == [200] * 8
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == 1600
    assert _rollups() == _direct_aggregate()
    assert _months() == _months_of_the_days()
    assert MonthlyRollup.objects.get().count == 1600


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_a_rebuild_while_an_import_runs_leaves_its_records_to_the_import(
    metrics, org, import_file, settings, monkeypatch
):
    """The rebuild reads the records while the import's batches are in and it waits to finish:
    the rebuild leaves them out, the finish adds them, and each counts once."""
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 10
    rows = [
        record(
            "csat", 1 + n % 5, f"2025-06-0{1 + n % 3}T10:00:00Z", team="SUP-A", external_id=f"e{n}"
        )
        for n in range(40)
    ]
    batches.outcome_records_ingest(source=OutcomeSourceFactory(slug="tool"), records=rows[:5])
    # Outside a test transaction the upload's commit would run the import at once (eager tasks).
    monkeypatch.setattr(jobs, "_enqueue_import", lambda import_id: None)
    job = import_file(csv_bytes(rows), source="csv", run=False)
    importing, rebuilt = threading.Event(), threading.Event()

    def rebuild_while_the_import_waits() -> None:
        try:
            with transaction.atomic():
                rollups.rollup_lock(exclusive=True)  # the import cannot finish meanwhile
                importing.set()
                for _ in range(200):  # until every batch is in and the finish waits
                    if OutcomeImport.objects.get(pk=job.pk).rows_read == 40 and _waiting():
                        break
                    time.sleep(0.05)
                else:
                    raise AssertionError("the import never waited for the rollup lock")
                rollups.rollups_rebuild()
                rebuilt.set()
        finally:
            connection.close()

    def _waiting() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            return cursor.fetchone()[0] > 0

    rebuild = threading.Thread(target=rebuild_while_the_import_waits)
    rebuild.start()
    assert importing.wait(10)
    jobs.outcome_import_run(import_id=job.pk)
    rebuild.join(30)

    assert rebuilt.is_set()
    assert OutcomeRecord.objects.count() == 45
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == 45
    assert _rollups() == _direct_aggregate()
    assert _months() == _months_of_the_days()
