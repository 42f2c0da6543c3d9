"""The HR pages: upload with live progress, metrics, sources. Others are turned away."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cxculture.outcomes.models import Metric, OutcomeImport, OutcomeSource
from tests.factories.outcomes import csv_bytes, record

DAY = "2025-06-02"


def _signed_in(person) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(person.user)
    return client


def _csrf(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def _upload(client: Client, content: bytes, **data):
    token = _csrf(client, "/outcomes/")
    file = SimpleUploadedFile("june.csv", content, content_type="text/csv")
    return client.post(
        "/outcomes/", {"file": file, "source": "csv", "csrfmiddlewaretoken": token, **data}
    )


def test_hr_uploads_a_file_and_lands_on_its_progress_page(
    metrics, org, hr_admin, django_capture_on_commit_callbacks
):
    client = _signed_in(hr_admin)
    content = csv_bytes(
        [record("csat", 4, DAY, team="SUP-A"), record("csat", 7, DAY, team="SUP-A")]
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, content)

    job = OutcomeImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/outcomes/imports/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "june.csv" in page
    assert "1 of 2 rows imported, 0 already there, 1 rejected." in page
    assert "7 is outside the range 1 to 5 of csat." in page
    assert f'href="/outcomes/imports/{job.pk}/rejected-rows.csv"' in page
    assert 'hx-trigger="every 2s"' not in page  # finished: no more polling


def test_a_running_import_polls_a_partial_every_two_seconds(metrics, org, hr_admin, import_file):
    job = import_file(csv_bytes([record("csat", 4, DAY, team="SUP-A")] * 3), run=False)
    client = _signed_in(hr_admin)

    page = client.get(f"/outcomes/imports/{job.pk}/").content.decode()
    partial = client.get(f"/outcomes/imports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="/outcomes/imports/{job.pk}/"' in page
    assert partial.startswith('<div id="import-status"')
    assert "<html" not in partial
    assert '<progress id="import-progress" max="100" value="0">' in partial
    assert "0 of about 3 rows" in partial


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        # Our column names with one missing: checked as it is, not sent to the mapping step.
        (b"metric,value\n", 400, "Wrong header: missing column(s) occurred_at"),
        (
            "metric,value,occurred_at,team_external_id\ncsat,4,2025-06-02,Équipe\n".encode(
                "cp1252"
            ),
            400,
            "The file is not UTF-8 encoded",
        ),
        (b"", 400, "The file is empty."),
    ],
)
def test_a_bad_upload_shows_the_reason_on_the_form(metrics, hr_admin, content, status, message):
    response = _upload(_signed_in(hr_admin), content)

    assert response.status_code == status
    assert message in response.content.decode()
    assert OutcomeImport.objects.count() == 0


def test_an_oversized_upload_is_refused_with_413(metrics, hr_admin, settings):
    settings.CXC_OUTCOME_IMPORT_MAX_BYTES = 50
    content = csv_bytes([record("csat", 4, DAY, team="SUP-A")] * 3)

    response = _upload(_signed_in(hr_admin), content)

    assert response.status_code == 413
    assert "The file is over the limit of 50 bytes." in response.content.decode()
    assert OutcomeImport.objects.count() == 0


def test_the_upload_form_needs_its_csrf_token(metrics, hr_admin):
    client = _signed_in(hr_admin)
    file = SimpleUploadedFile("x.csv", b"metric\n", content_type="text/csv")

    response = client.post("/outcomes/", {"file": file, "source": "csv"})

    assert response.status_code == 403
    assert OutcomeImport.objects.count() == 0


def test_hr_adds_a_metric_on_the_page(metrics, hr_admin):
    client = _signed_in(hr_admin)
    token = _csrf(client, "/outcomes/metrics/")

    response = client.post(
        "/outcomes/metrics/",
        {
            "code": "ces",
            "name": "Customer effort",
            "kind": "scale",
            "min_value": "1",
            "max_value": "7",
            "csrfmiddlewaretoken": token,
        },
    )
    refused = client.post(
        "/outcomes/metrics/",
        {
            "code": "wait",
            "name": "Wait",
            "kind": "number",
            "min_value": "9",
            "max_value": "1",
            "csrfmiddlewaretoken": token,
        },
    )

    assert response.status_code == 302
    assert Metric.objects.get(code="ces").max_value == 7
    assert refused.status_code == 400
    assert "The largest value must be above the smallest." in refused.content.decode()
    assert "Customer effort" in client.get("/outcomes/metrics/").content.decode()


def test_hr_adds_a_source_and_sees_its_token_once(hr_admin):
    client = _signed_in(hr_admin)
    token = _csrf(client, "/outcomes/sources/")

    created = client.post(
        "/outcomes/sources/", {"name": "Zendesk", "slug": "zendesk", "csrfmiddlewaretoken": token}
    )
    later = client.get("/outcomes/sources/").content.decode()

    shown = re.search(r"<code>(cxo_[^<]+)</code>", created.content.decode()).group(1)
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    assert OutcomeSource.objects.get().token_hash != shown
    assert shown not in later
    assert "Zendesk" in later


def test_hr_rotates_and_switches_off_a_source(source, hr_admin):
    client = _signed_in(hr_admin)
    token = _csrf(client, "/outcomes/sources/")

    rotated = client.post(
        f"/outcomes/sources/{source.pk}/rotate-token/", {"csrfmiddlewaretoken": token}
    )
    toggled = client.post(f"/outcomes/sources/{source.pk}/toggle/", {"csrfmiddlewaretoken": token})

    assert rotated.status_code == 200
    assert source.token not in rotated.content.decode()
    assert re.search(r"<code>cxo_[^<]+</code>", rotated.content.decode())
    assert toggled.status_code == 302
    source.refresh_from_db()
    assert source.is_active is False


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
@pytest.mark.parametrize(
    "url", ["/outcomes/", "/outcomes/metrics/", "/outcomes/sources/", "/outcomes/imports/{job}/"]
)
def test_only_hr_admins_open_the_outcome_pages(metrics, org, cast, import_file, role, url):
    job = import_file(csv_bytes([record("csat", 4, DAY, team="SUP-A")]), run=False)
    client = _signed_in(cast[role])

    assert client.get(url.format(job=job.pk)).status_code == 403


def test_hr_admins_see_outcomes_in_the_menu_and_others_do_not(cast):
    hr_page = _signed_in(cast["hr_admin"]).get("/").content.decode()
    employee_page = _signed_in(cast["employee"]).get("/").content.decode()

    assert '<a href="/outcomes/"' in hr_page
    assert '<a href="/outcomes/"' not in employee_page
