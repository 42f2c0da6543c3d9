"""Fixtures for customer outcomes: the built-in catalog, a source, and importing a file."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from cxculture.outcomes.ingest import jobs
from cxculture.outcomes.models import OutcomeImport
from tests.factories.outcomes import OutcomeSourceFactory, builtin_metrics


@pytest.fixture
def metrics(db):
    return builtin_metrics()


@pytest.fixture
def source(db, hr_admin):
    return OutcomeSourceFactory(name="Zendesk", slug="zendesk", created_by=hr_admin.user)


@pytest.fixture
def import_file(django_capture_on_commit_callbacks, hr_admin):
    """Upload `content` through the service and let the (eager) worker run; return the job."""

    def run(content: bytes, *, source: str = "csv", name: str = "outcomes.csv", run=True):
        with django_capture_on_commit_callbacks(execute=run):
            job, _ = jobs.outcome_import_create(
                file=ContentFile(content, name=name),
                file_name=name,
                size=len(content),
                source=source,
                requested_by=hr_admin.user,
            )
        return OutcomeImport.objects.get(pk=job.pk)

    return run


@pytest.fixture(autouse=True)
def _fresh_storage(settings):
    """A new InMemoryStorage for each test (changing STORAGES resets the storages)."""
    settings.STORAGES = {**settings.STORAGES}


def stored_files(prefix: str = "outcome-imports") -> list[str]:
    """Every file under `prefix` in the default storage."""
    storage = storages["default"]
    if not storage.exists(prefix):
        return []
    directories, files = storage.listdir(prefix)
    found = [f"{prefix}/{name}" for name in files]
    for directory in directories:
        found += stored_files(f"{prefix}/{directory}")
    return found
