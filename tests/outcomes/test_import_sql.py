"""Imports validated in SQL (PostgreSQL) read every row exactly as `RowValidator` reads it.

The SQL takes only the rows it can read plainly and hands the others to `RowValidator`, so a
file imports to the same records, with the same reasons for its rejected rows, on PostgreSQL
and on SQLite. These tests run on both; the failure and concurrency cases need PostgreSQL.
"""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.base import ContentFile
from django.db import DataError, connection
from django.test.utils import CaptureQueriesContext

from cxculture.outcomes.ingest import jobs, validation
from cxculture.outcomes.models import DailyRollup, OutcomeImport, OutcomeImportError, OutcomeRecord
from tests.factories.outcomes import csv_bytes, record

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"
)


def _rows(employee) -> list[dict]:
    """Rows in every form a file may write them: some plain, some that only Python reads."""
    email = employee.user.email
    return [
        record("csat", "4", "2025-06-02T09:00:00Z", team="SUP-A", external_id="plain"),
        record("CSAT", "+5", "2025-06-02", team="SUP-A", external_id="upper-metric-date-only"),
        record("csat", "4.0", "2025-06-02 14:30", team="SUP-A", external_id="local-minutes"),
        record("qa", "87.25", "2025-06-02T14:30:00.5Z", team="SUP-B", external_id="fraction"),
        record("nps", "9", "2025-06-02T14:30:00+02:00", team="SUP-A", external_id="offset"),
        record("nps", "7", "2025-06-02T14:30:00-05:30", team="SUP-A", external_id="neg-offset"),
        record("fcr", "Yes", "2025-06-02", team="SUP-A", external_id="yes"),
        record("fcr", "FALSE", "2025-06-02", team="SUP-A", external_id="false"),
        record("fcr", "1.0", "2025-06-02", team="SUP-A", external_id="one-point-zero"),
        record("handle_time", "1e3", "2025-06-02", team="SUP-A", external_id="exponent"),
        record("handle_time", "1_000", "2025-06-02", team="SUP-A", external_id="underscore"),
        record("csat", "3", "20250602T101500", team="SUP-A", external_id="basic-iso"),
        record("csat", "3", "2025-W23-1", team="SUP-A", external_id="week-date"),
        record("csat", "3", "2025-06-02T10:15+0200", team="SUP-A", external_id="short-offset"),
        record("csat", "3", "2024-02-29T08:00:00Z", team="SUP-A", external_id="leap-day"),
        record("csat", "2", "2025-06-02", agent=employee.external_id, external_id="agent-team"),
        record("csat", "2", "2025-06-02", agent=email.upper(), external_id="agent-email"),
        record("csat", "1", "2025-06-02", agent=email, team="SUP-B", external_id="team-wins"),
        record("qa", "50", "2025-06-02", team="SUP-A", customer_ref="Zoë", interaction_ref="I-1"),
        record("qa", "50", "2025-06-02", team="SUP-A", customer_ref="Zoë", interaction_ref="I-1"),
        # Rejected, each for its own reason.
        record("csat", "3", "2025-02-29", team="SUP-A", external_id="no-such-day"),
        record("csat", "3", "2025-13-01", team="SUP-A", external_id="no-such-month"),
        record("csat", "6", "2025-06-02", team="SUP-A", external_id="over"),
        record("csat", "4.5", "2025-06-02", team="SUP-A", external_id="half"),
        record("fcr", "2", "2025-06-02", team="SUP-A", external_id="not-binary"),
        record("qa", "1e999", "2025-06-02", team="SUP-A", external_id="overflow"),
        record("csat", "3", "1999-12-31T23:00:00Z", team="SUP-A", external_id="too-early"),
        record("csat", "3", "2099-01-01", team="SUP-A", external_id="future"),
        record("csat", "3", "2025-06-02", team="NOPE", external_id="unknown-team"),
        record("csat", "3", "2025-06-02", agent="nobody@example.com", external_id="no-agent"),
        record("cs\u0430t", "3", "2025-06-02", team="SUP-A", external_id="cyrillic-a-in-metric"),
        record("csat", "3", "2025-06-02", team="SUP-A", external_id="x" * 201),
    ]


def _expected(rows: list[dict]) -> tuple[dict, list[tuple]]:
    """What RowValidator makes of the rows: records by external id, and (row, column, reason)."""
    validator = validation.RowValidator()
    text_rows = [
        {key: "" if value is None else str(value) for key, value in row.items()} for row in rows
    ]
    validator.prefetch(text_rows)
    records, errors = {}, []
    for row_number, row in enumerate(text_rows, start=2):
        new, problems = validator.validate(row)
        if new is None:
            errors += [(row_number, column, reason) for column, reason in problems]
        else:
            records.setdefault(new.external_id, new)
    return records, errors


def test_every_form_of_row_imports_as_the_python_validator_reads_it(
    metrics, org, employee, import_file
):
    rows = _rows(employee)
    expected_records, expected_errors = _expected(rows)

    job = import_file(csv_bytes(rows))

    stored = {
        r.external_id: (r.metric_id, r.value, r.occurred_at, r.team_id, r.agent_id)
        for r in OutcomeRecord.objects.all()
    }
    assert stored == {
        key: (r.metric_id, r.value, r.occurred_at, r.team_id, r.agent_id)
        for key, r in expected_records.items()
    }
    errors = list(OutcomeImportError.objects.values_list("row", "column", "reason"))
    assert errors == expected_errors
    # The figures a person checks: 19 distinct records (the last two rows are one), 12 rejected.
    assert (job.rows_read, job.rows_accepted, job.duplicates, job.rows_rejected) == (32, 19, 1, 12)
    assert stored["exponent"][1] == 1000.0 and stored["underscore"][1] == 1000.0
    assert stored["offset"][2] == dt.datetime(2025, 6, 2, 12, 30, tzinfo=dt.UTC)
    assert stored["fraction"][2] == dt.datetime(2025, 6, 2, 14, 30, 0, 500000, tzinfo=dt.UTC)
    assert stored["agent-team"][3] == org["support_a"].pk
    assert stored["team-wins"][3:] == (org["support_b"].pk, employee.pk)
    assert ("no-such-day" not in stored) and ("cyrillic-a-in-metric" not in stored)
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == 19


def test_a_local_time_that_daylight_saving_makes_twice_or_never_reads_as_python_reads_it(
    metrics, org, import_file, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    rows = [
        # 02:30 happens twice on 26 October (summer time, then winter time): the first one.
        record("csat", 4, "2025-10-26 02:30", team="SUP-A", external_id="twice"),
        # 02:30 never happens on 30 March: read with the offset before the change (+01:00).
        record("csat", 4, "2025-03-30 02:30", team="SUP-A", external_id="never"),
        record("csat", 4, "2025-06-02 23:30", team="SUP-A", external_id="summer-evening"),
    ]

    import_file(csv_bytes(rows))

    stored = dict(OutcomeRecord.objects.values_list("external_id", "occurred_at"))
    assert stored == {
        "twice": dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC),
        "never": dt.datetime(2025, 3, 30, 1, 30, tzinfo=dt.UTC),
        "summer-evening": dt.datetime(2025, 6, 2, 21, 30, tzinfo=dt.UTC),
    }
    # The rollup day is the local day: 23:30 in Paris on 2 June.
    assert set(DailyRollup.objects.values_list("day", flat=True)) == {
        dt.date(2025, 10, 26),
        dt.date(2025, 3, 30),
        dt.date(2025, 6, 2),
    }


@needs_postgresql
def test_an_import_whose_rollups_cannot_be_written_counts_none_of_its_records(
    metrics, org, import_file
):
    first = import_file(csv_bytes([record("csat", 4, "2025-06-02", team="SUP-A")]))
    # A cell one short of the integer limit: adding the import to it fails in the database, in
    # the transaction that would finish the import.
    DailyRollup.objects.update(count=2**31 - 1)
    rows = [
        record("csat", 5, "2025-06-02T10:00:00Z", team="SUP-A", external_id="a"),
        record("csat", 3, "2025-06-03T10:00:00Z", team="SUP-A", external_id="b"),
        record("csat", 9, "2025-06-02", team="SUP-A", external_id="rejected"),
    ]
    job = import_file(csv_bytes(rows), run=False)

    with pytest.raises(DataError):
        jobs.outcome_import_run(import_id=job.pk)

    # The rows went in, but the import did not finish: it stays running (a retry finishes it)
    # and no figure counts any of its records, not even in the cell that could take them.
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.rows_accepted, job.rows_rejected) == ("running", 3, 2, 1)
    assert OutcomeRecord.objects.filter(import_job_id=job.pk).count() == 2
    assert list(DailyRollup.objects.values_list("day", "count")) == [
        (dt.date(2025, 6, 2), 2**31 - 1)
    ]
    assert first.status == "done"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@needs_postgresql
def test_two_workers_importing_the_same_rows_at_once_store_each_record_once(
    metrics, org, hr_admin, settings, monkeypatch
):
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 50
    rows = [
        record("nps", n % 11, f"2025-06-0{1 + n % 3}T10:00:00Z", team="SUP-A", external_id=f"e{n}")
        for n in range(300)
    ]
    content = csv_bytes(rows)
    monkeypatch.setattr(jobs, "_enqueue_import", lambda import_id: None)
    job_ids = [
        jobs.outcome_import_create(
            file=ContentFile(content, name=name),
            file_name=name,
            size=len(content),
            requested_by=hr_admin.user,
        )[0].pk
        for name in ("one.csv", "two.csv")
    ]
    barrier = threading.Barrier(2)

    def run(import_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            jobs.outcome_import_run(import_id=import_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, job_ids))

    finished = OutcomeImport.objects.filter(pk__in=job_ids)
    assert {job.status for job in finished} == {"done"}
    assert sum(job.rows_accepted for job in finished) == 300
    assert sum(job.duplicates for job in finished) == 300
    assert OutcomeRecord.objects.count() == 300
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == 300
    assert sum(DailyRollup.objects.values_list("promoters", flat=True)) == sum(
        1 for n in range(300) if n % 11 >= 9
    )


@needs_postgresql
def test_batches_of_new_keys_skip_the_conflict_check_until_one_meets_a_taken_key(
    metrics, org, import_file, settings
):
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 10

    def rows(numbers: range) -> bytes:
        return csv_bytes(
            record("csat", "4", "2025-06-02", team="SUP-A", external_id=f"r{n}") for n in numbers
        )

    import_file(rows(range(10, 20)))
    with CaptureQueriesContext(connection) as queries:
        job = import_file(rows(range(30)))

    # Rows 0-9 are new, 10-19 already stored, 20-29 new.
    assert (job.status, job.rows_accepted, job.duplicates) == ("done", 20, 10)
    assert OutcomeRecord.objects.count() == 30
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == 30
    writes = [
        q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "outcomes_outcomerecord"')
    ]
    # The second batch is refused by the unique index, rolled back and written again with the
    # check; the third batch gets the check from the start.
    checked = ["ON CONFLICT (source, external_id)" in sql for sql in writes]
    assert checked == [False, False, True, True]
