"""What the central permission matrix cannot send for outcomes: uploads and source tokens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.factories.outcomes import builtin_metrics, csv_bytes, record
from tests.matrix import ROLES


@pytest.mark.parametrize("role", ROLES)
def test_only_hr_admins_upload_an_import(api, org, cast, role):
    builtin_metrics()
    content = csv_bytes([record("csat", 4, "2025-06-02", team="SUP-A")])
    upload = SimpleUploadedFile("june.csv", content, content_type="text/csv")
    me = None if role == "anonymous" else cast[role]

    response = api.as_(me).post("/api/v1/outcome-imports/", {"file": upload}, format="multipart")

    expected = {"anonymous": 401, "hr_admin": 202}.get(role, 403)
    assert response.status_code == expected, response.content


def test_only_a_source_token_sends_records(metrics, org, source):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {source.token}")
    body = {"records": [record("csat", 4, "2025-06-02", team="SUP-A")]}

    assert client.post("/api/v1/outcomes/", body, format="json").status_code == 200
    assert client.get("/api/v1/outcomes/").status_code == 403
    assert client.get("/api/v1/outcome-metrics/").status_code == 401  # not a person's token
