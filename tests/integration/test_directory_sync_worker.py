"""A large directory file goes through Redis to a real worker, which writes to the database."""

import pytest
from django.test import override_settings

from cxculture.people.models import DirectorySync, Employee


@pytest.mark.django_db(transaction=True)
def test_a_large_employee_file_is_applied_by_a_real_worker(celery_worker, api, org, hr_admin):
    rows = ["external_id,email,first_name,last_name,team_external_id,title"]
    rows += [f"W{n:04d},worker{n}@example.com,Person,Number{n},SUP-A,Agent" for n in range(300)]
    # Keep the people the cast created, so nobody is deactivated by this snapshot.
    rows += [
        f"{e.external_id},{e.user.email},{e.user.first_name},{e.user.last_name},"
        f"{e.team.external_id},{e.title}"
        for e in Employee.objects.select_related("user", "team")
    ]
    content = ("\n".join(rows) + "\n").encode()

    with override_settings(CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES=1024):
        response = api.as_(hr_admin).post(
            "/api/v1/directory-syncs/",
            {"kind": "employees", "file": _upload(content)},
            format="multipart",
        )

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    sync_id = response.json()["id"]
    celery_worker.wait_until(
        lambda: DirectorySync.objects.get(pk=sync_id).status != DirectorySync.Status.PENDING
    )
    sync = DirectorySync.objects.get(pk=sync_id)
    assert sync.status == DirectorySync.Status.APPLIED, sync.errors
    assert sync.created_count == 300
    assert (
        Employee.objects.filter(external_id__startswith="W", team__external_id="SUP-A").count()
        == 300
    )


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("people.csv", content, content_type="text/csv")
