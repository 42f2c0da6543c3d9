"""Query budgets for the outcome lists and pages: the same count at two data sizes.

Each row is measured on a small data set (the catalog, one import with a rejected row, a few
records, one source), then again after `grow` added metrics, imports, records with agents from
many teams, and sources; the second count must equal the first, so an N+1 fails here.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from cxculture.outcomes.ingest import batches, jobs
from cxculture.outcomes.models import OutcomeImport
from tests.factories.outcomes import MetricFactory, OutcomeSourceFactory, csv_bytes, record
from tests.factories.people import EmployeeFactory
from tests.helpers import token_for


def _results(response) -> int:
    return len(response.json()["results"])


def _table_rows(response) -> int:
    return response.content.decode().count("<tr>")


@dataclass(frozen=True)
class Budget:
    path: str
    role: str
    most: int
    grows: Callable
    api: bool = True


BUDGETS = [
    # API: the token and its user (1), the viewer (3), then the list's own reads.
    Budget("/api/v1/outcome-metrics/", "employee", 6, _results),
    Budget("/api/v1/outcome-metrics/", "hr_admin", 6, _results),
    Budget("/api/v1/outcomes/", "hr_admin", 5, _results),
    Budget("/api/v1/outcomes/?metric=csat&subtree={support}", "hr_admin", 6, _results),
    Budget("/api/v1/outcome-imports/", "hr_admin", 6, _results),
    Budget("/api/v1/outcome-imports/{job}/errors/", "hr_admin", 7, _results),
    Budget("/api/v1/outcome-sources/", "hr_admin", 6, _results),
    # Pages: the session and its user (2), the viewer (3), then the page's own reads.
    Budget("/outcomes/", "hr_admin", 6, _table_rows, api=False),
    Budget("/outcomes/imports/{job}/", "hr_admin", 7, _table_rows, api=False),
    Budget("/outcomes/metrics/", "hr_admin", 6, _table_rows, api=False),
    Budget("/outcomes/sources/", "hr_admin", 6, _table_rows, api=False),
]


def _import(hr_admin, rows: list[dict]) -> OutcomeImport:
    content = csv_bytes(rows)
    job, _ = jobs.outcome_import_create(
        file=SimpleUploadedFile("f.csv", content),
        file_name="f.csv",
        size=len(content),
        requested_by=hr_admin.user,
    )
    return jobs.outcome_import_run(import_id=job.pk)


@pytest.fixture
def small(metrics, org, cast):
    source = OutcomeSourceFactory(slug="zendesk")
    batches.outcome_records_ingest(
        source=source,
        records=[
            record("csat", 4, "2025-06-02T10:00:00Z", agent=cast["employee"].external_id),
            record("csat", 2, "2025-06-02T11:00:00Z", team="SUP-B"),
        ],
    )
    job = _import(cast["hr_admin"], [record("csat", 9, "2025-06-02", team="SUP-A")])
    return {"source": source, "job": job}


def grow(org, cast, small) -> dict:
    """More of everything; `job` is an import with 30 rejected rows (the small one has one)."""
    for n in range(5):
        MetricFactory(code=f"extra_{n}")
        OutcomeSourceFactory(slug=f"tool-{n}")
    agents = [EmployeeFactory(team=org[key]) for key in ("support_a", "support_b", "sales")] * 3
    records = [
        record(
            "csat",
            1 + n % 5,
            f"2025-06-{1 + n % 20:02d}T10:00:00Z",
            agent=agents[n % len(agents)].external_id,
            external_id=f"g-{n}",
        )
        for n in range(120)
    ]
    batches.outcome_records_ingest(source=small["source"], records=records)
    for n in range(4):
        _import(
            cast["hr_admin"], [record("csat", 7, "2025-06-02", team="SUP-A", external_id=str(n))]
        )
    bad = [record("csat", 0, "2025-06-02", team="SUP-A", external_id=f"b{n}") for n in range(30)]
    return {**small, "job": _import(cast["hr_admin"], bad)}


def _client_for(budget: Budget, person) -> Client | APIClient:
    if budget.api:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(person)}")
        return client
    client = Client()
    client.force_login(person.user)
    return client


@pytest.mark.parametrize("budget", [pytest.param(b, id=f"{b.path} as {b.role}") for b in BUDGETS])
def test_the_query_count_does_not_grow_with_the_data(
    budget, small, org, cast, django_assert_max_num_queries, django_assert_num_queries
):
    client = _client_for(budget, cast[budget.role])

    def path(data: dict) -> str:
        return budget.path.format(job=data["job"].pk, support=org["support"].pk)

    with django_assert_max_num_queries(budget.most) as on_small:
        response = client.get(path(small))
    assert response.status_code == 200
    small_number = budget.grows(response)

    large = grow(org, cast, small)
    with django_assert_num_queries(len(on_small.captured_queries)):
        response = client.get(path(large))

    assert response.status_code == 200
    assert budget.grows(response) > small_number
