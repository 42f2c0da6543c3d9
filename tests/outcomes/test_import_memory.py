"""A 100,000-row file imports with flat memory: the worker streams it, batch by batch.

The file is stored before measuring (InMemoryStorage holds it in this process), so the figure
is the worker's own: it must stay far under the bound and must not grow with the file.
"""

import gc
import tracemalloc

import pytest

from cxculture.outcomes.ingest import jobs
from cxculture.outcomes.models import DailyRollup, OutcomeRecord
from tests.factories.outcomes import csv_bytes, record
from tests.factories.people import EmployeeFactory

PEAK_BOUND = 60 * 1024 * 1024


def _file(rows: int, agents: list[str]) -> bytes:
    metrics = (("csat", 5), ("nps", 11), ("fcr", 2), ("handle_time", 900))
    return csv_bytes(
        record(
            metrics[n % 4][0],
            n % metrics[n % 4][1] + (1 if n % 4 == 0 else 0),
            f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
            agent=agents[n % len(agents)],
            customer_ref=f"CUST-{n % 40_000 + 1:06d}",
            interaction_ref=f"INT-{n:07d}",
            external_id=f"row-{n}",
        )
        for n in range(rows)
    )


def _import_peak(import_file, content: bytes, source: str) -> tuple[int, int]:
    job = import_file(content, source=source, run=False)
    del content
    gc.collect()
    tracemalloc.start()
    try:
        job = jobs.outcome_import_run(import_id=job.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert job.status == "done", job.message
    return job.rows_accepted, peak


@pytest.mark.slow
def test_a_100000_row_file_imports_with_flat_memory(metrics, org, import_file, settings):
    # Both files span several batches: a worker holds the batch it writes and the next one,
    # read ahead, so a file of a single batch would hold half as much as any longer file.
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 5_000
    agents = [EmployeeFactory(team=org[key]).external_id for key in ("support_a", "support_b")] * 5

    small_rows, small_peak = _import_peak(import_file, _file(20_000, agents), "small")
    large_rows, large_peak = _import_peak(import_file, _file(100_000, agents), "large")

    assert (small_rows, large_rows) == (20_000, 100_000)
    assert OutcomeRecord.objects.filter(source="large").count() == 100_000
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == 120_000
    assert large_peak < PEAK_BOUND
    # Five times the rows, about the same memory: nothing grows with the file.
    assert large_peak < small_peak * 1.5 + 1024 * 1024, (small_peak, large_peak)
