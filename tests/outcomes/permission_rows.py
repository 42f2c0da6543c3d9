"""Permission matrix rows for customer outcomes: every endpoint, role and method, with its status.

The central matrix (tests/test_permissions.py) can run these rows for every role; until it
imports them, tests/outcomes/test_outcome_permissions.py runs them the same way. Objects the
rows are about are made on first use and cached on the `World`.

- The catalog: everyone signed in reads active metrics; HR admins read retired ones and write.
- Raw records: HR admins read them; nobody signed in as a person may POST (only a source's
  Bearer token may: tests/outcomes/test_outcomes_api.py).
- Imports and sources: HR admins only. The matrix sends JSON, so HR's POST of an import without
  a file is a 400: it got past the permission check (the upload itself is tested elsewhere).
"""

from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from cxculture.outcomes import services
from cxculture.outcomes.ingest import jobs
from tests.factories.outcomes import (
    MetricFactory,
    OutcomeSourceFactory,
    csv_bytes,
    record,
)
from tests.matrix import HR_ONLY_200, HR_ONLY_201, READ, Case, Target, World, once, pk_of, statuses


def _finished_import(world: World):
    content = csv_bytes([record("csat", 9, "2025-06-02", team="SUP-A")])
    job, _ = jobs.outcome_import_create(
        file=SimpleUploadedFile("june.csv", content),
        file_name="june.csv",
        size=len(content),
        requested_by=world.cast["hr_admin"].user,
    )
    return jobs.outcome_import_run(import_id=job.pk)


metric = once("metric", lambda w: MetricFactory(code="ces", kind="scale", min_value=1, max_value=7))
retired_metric = once(
    "retired",
    lambda w: services.metric_update(
        metric=MetricFactory(code="old_score", min_value=0, max_value=10), is_active=False
    ),
)
finished_import = once("import", _finished_import)
source = once("source", lambda w: OutcomeSourceFactory(slug="zendesk"))


@dataclass(frozen=True)
class NestedListCase(Case):
    """A list under an object: `{id}` is the parent's, and the answer is not that object."""

    parent: Target | None = None

    def url(self, world: World) -> str:
        assert self.parent is not None
        return self.path.replace("{id}", str(self.parent(world)))


OUTCOMES_MATRIX: list[Case] = [
    # --- The metric catalog --------------------------------------------------------------------
    Case("GET", "/api/v1/outcome-metrics/", READ),
    Case(
        "POST",
        "/api/v1/outcome-metrics/",
        HR_ONLY_201,
        body=lambda w, me: {
            "code": "effort",
            "name": "Customer effort",
            "kind": "scale",
            "min_value": 1,
            "max_value": 7,
        },
    ),
    Case("GET", "/api/v1/outcome-metrics/{id}/", READ, target=pk_of(metric), about="active"),
    Case(
        "GET",
        "/api/v1/outcome-metrics/{id}/",
        statuses(404, hr_admin=200),
        target=pk_of(retired_metric),
        about="retired",
    ),
    Case(
        "PATCH",
        "/api/v1/outcome-metrics/{id}/",
        HR_ONLY_200,
        target=pk_of(metric),
        body=lambda w, me: {"name": "Customer effort score"},
    ),
    Case(
        "PUT",
        "/api/v1/outcome-metrics/{id}/",
        HR_ONLY_200,
        target=pk_of(metric),
        body=lambda w, me: {"name": "Effort", "unit": "points", "higher_is_better": False},
    ),
    # --- Records -------------------------------------------------------------------------------
    Case("GET", "/api/v1/outcomes/", statuses(403, hr_admin=200)),
    Case(
        "POST",
        "/api/v1/outcomes/",
        statuses(403),
        body=lambda w, me: {"records": [record("csat", 4, "2025-06-02", team="SUP-A")]},
        about="people never send records; sources do",
    ),
    # --- Imports -------------------------------------------------------------------------------
    Case("GET", "/api/v1/outcome-imports/", HR_ONLY_200),
    Case(
        "POST",
        "/api/v1/outcome-imports/",
        statuses(403, hr_admin=400),
        body=lambda w, me: {"source": "csv"},
        about="JSON without a file",
    ),
    Case("GET", "/api/v1/outcome-imports/{id}/", HR_ONLY_200, target=pk_of(finished_import)),
    NestedListCase(
        "GET", "/api/v1/outcome-imports/{id}/errors/", HR_ONLY_200, parent=pk_of(finished_import)
    ),
    NestedListCase(
        "GET",
        "/api/v1/outcome-imports/{id}/errors/download/",
        HR_ONLY_200,
        parent=pk_of(finished_import),
    ),
    # --- Sources -------------------------------------------------------------------------------
    Case("GET", "/api/v1/outcome-sources/", HR_ONLY_200),
    Case(
        "POST",
        "/api/v1/outcome-sources/",
        HR_ONLY_201,
        body=lambda w, me: {"name": "Survey tool", "slug": "surveytool"},
    ),
    Case("GET", "/api/v1/outcome-sources/{id}/", HR_ONLY_200, target=pk_of(source)),
    Case(
        "PATCH",
        "/api/v1/outcome-sources/{id}/",
        HR_ONLY_200,
        target=pk_of(source),
        body=lambda w, me: {"is_active": False},
    ),
    Case(
        "PUT",
        "/api/v1/outcome-sources/{id}/",
        HR_ONLY_200,
        target=pk_of(source),
        body=lambda w, me: {"name": "Zendesk (EU)"},
    ),
    Case("POST", "/api/v1/outcome-sources/{id}/rotate-token/", HR_ONLY_200, target=pk_of(source)),
]
