"""The admin keeps an import until it has ended: its records count in the rollups only then."""

import pytest
from django.contrib.auth.models import User

from cxculture.outcomes.models import OutcomeImport, OutcomeRecord
from tests.factories.outcomes import csv_bytes, record


@pytest.fixture
def superuser_client(client, db):
    user = User.objects.create_superuser("root", "root@example.com", "a long admin password")
    client.force_login(user)
    return client


def test_an_import_still_running_cannot_be_deleted_in_the_admin(
    superuser_client, metrics, org, import_file
):
    job = import_file(csv_bytes([record("csat", 4, "2025-06-02", team="SUP-A")]), run=False)
    OutcomeImport.objects.filter(pk=job.pk).update(status=OutcomeImport.Status.RUNNING)

    page = superuser_client.get(f"/admin/outcomes/outcomeimport/{job.pk}/delete/")
    posted = superuser_client.post(
        f"/admin/outcomes/outcomeimport/{job.pk}/delete/", {"post": "yes"}
    )

    assert page.status_code == posted.status_code == 403
    assert OutcomeImport.objects.filter(pk=job.pk).exists()


def test_a_finished_import_can_be_deleted_and_its_records_stay(
    superuser_client, metrics, org, import_file
):
    job = import_file(csv_bytes([record("csat", 4, "2025-06-02", team="SUP-A")]))
    assert job.status == "done"

    posted = superuser_client.post(
        f"/admin/outcomes/outcomeimport/{job.pk}/delete/", {"post": "yes"}
    )

    assert posted.status_code == 302
    assert not OutcomeImport.objects.filter(pk=job.pk).exists()
    assert list(OutcomeRecord.objects.values_list("import_job_id", flat=True)) == [None]
