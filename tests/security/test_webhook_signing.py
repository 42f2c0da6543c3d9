"""Signed webhooks on POST /api/v1/outcomes/: HMAC-SHA256 over
"<timestamp>.<event id>.<raw body>", 300 s tolerance, constant-time compare; de-duplicated by
X-CXC-Event-Id, and an event id reused for another body is refused."""

import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from cxculture.lib import signing
from cxculture.outcomes import services
from cxculture.outcomes.models import OutcomeRecord, OutcomeWebhookEvent
from tests.factories.outcomes import OutcomeSourceFactory, builtin_metrics, record

URL = "/api/v1/outcomes/"


@pytest.fixture
def signed_source(db, org, hr_admin):
    builtin_metrics()
    source = OutcomeSourceFactory(name="Zendesk", slug="zendesk", created_by=hr_admin.user)
    source, source.secret = services.outcome_source_rotate_signing_secret(source=source)
    return source


def _body(*external_ids: str) -> bytes:
    records = [
        record("csat", 4, "2025-06-02T10:00:00Z", team="SUP-A", external_id=external_id)
        for external_id in external_ids
    ]
    return json.dumps({"records": records}).encode()


def _post(source, body: bytes, headers: dict[str, str] | None = None):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {source.token}")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    return client.post(URL, body, content_type="application/json", **extra)


def test_a_correctly_signed_batch_is_accepted(signed_source):
    body = _body("a-1", "a-2")

    response = _post(signed_source, body, signing.signed_headers(signed_source.secret, body))

    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert OutcomeRecord.objects.count() == 2


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, s, b: {}, id="no signature headers"),
        pytest.param(
            lambda h, s, b: {**h, signing.SIGNATURE_HEADER: "sha256=" + "0" * 64},
            id="wrong signature",
        ),
        pytest.param(
            lambda h, s, b: signing.signed_headers("another-secret", b), id="another secret"
        ),
        pytest.param(
            lambda h, s, b: signing.signed_headers(s, b, timestamp=int(time.time()) - 301),
            id="stale timestamp",
        ),
        pytest.param(
            lambda h, s, b: signing.signed_headers(s, b, timestamp=int(time.time()) + 301),
            id="timestamp in the future",
        ),
        pytest.param(
            lambda h, s, b: {**h, signing.TIMESTAMP_HEADER: str(int(h["X-CXC-Timestamp"]) + 1)},
            id="timestamp changed after signing",
        ),
        pytest.param(lambda h, s, b: {**h, signing.TIMESTAMP_HEADER: "soon"}, id="bad timestamp"),
        pytest.param(
            lambda h, s, b: {**h, signing.TIMESTAMP_HEADER: "9" * 5000}, id="5000-digit timestamp"
        ),
        pytest.param(
            lambda h, s, b: {**h, signing.TIMESTAMP_HEADER: "0" * 4990 + h["X-CXC-Timestamp"]},
            id="current timestamp padded with 4990 zeros",
        ),
        pytest.param(
            lambda h, s, b: {**h, signing.EVENT_ID_HEADER: "ev-added-after-signing"},
            id="event id added after signing",
        ),
        pytest.param(
            lambda h, s, b: {
                **signing.signed_headers(s, b, event_id="ev-1"),
                signing.EVENT_ID_HEADER: "ev-2",
            },
            id="event id changed after signing",
        ),
    ],
)
def test_a_badly_signed_or_stale_batch_is_refused_with_401(signed_source, tamper):
    body = _body("b-1")
    # One frozen second: a timestamp 301 s off stays 301 s off when the server reads it (a
    # second ticking between signing and checking made it 300, inside the tolerance).
    with time_machine.travel(time.time(), tick=False):
        headers = tamper(
            signing.signed_headers(signed_source.secret, body), signed_source.secret, body
        )
        response = _post(signed_source, body, headers)

    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert OutcomeRecord.objects.count() == 0


def test_the_signature_covers_timestamp_event_id_and_raw_body_as_documented(signed_source):
    body = _body("sig-1")
    stamp = str(int(time.time()))
    message = f"{stamp}.ev-doc.".encode() + body
    digest = hmac.new(signed_source.secret.encode(), message, hashlib.sha256).hexdigest()
    headers = {
        "X-CXC-Timestamp": stamp,
        "X-CXC-Event-Id": "ev-doc",
        "X-CXC-Signature": f"sha256={digest}",
    }

    assert (
        signing.signed_headers(signed_source.secret, body, timestamp=int(stamp), event_id="ev-doc")
        == headers
    )
    assert _post(signed_source, body, headers).status_code == 200


def test_without_an_event_id_the_signature_covers_an_empty_one(signed_source):
    body = _body("sig-2")
    stamp = str(int(time.time()))
    digest = hmac.new(
        signed_source.secret.encode(), f"{stamp}..".encode() + body, hashlib.sha256
    ).hexdigest()

    response = _post(
        signed_source, body, {"X-CXC-Timestamp": stamp, "X-CXC-Signature": f"sha256={digest}"}
    )

    assert response.status_code == 200


def test_a_5000_digit_timestamp_is_refused_by_verify_without_converting_it():
    with pytest.raises(signing.SignatureError, match="Unix time"):
        signing.verify(secret="s", timestamp="9" * 5000, signature="sha256=00", body=b"{}")


def test_a_body_changed_after_signing_is_refused(signed_source):
    headers = signing.signed_headers(signed_source.secret, _body("c-1"))

    response = _post(signed_source, _body("c-1", "c-2"), headers)

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The signature does not match."


def test_a_signature_just_inside_the_tolerance_is_accepted(signed_source):
    body = _body("d-1")
    headers = signing.signed_headers(signed_source.secret, body, timestamp=int(time.time()) - 290)

    assert _post(signed_source, body, headers).status_code == 200


def test_a_source_without_a_secret_needs_no_signature(db, org, hr_admin):
    builtin_metrics()
    source = OutcomeSourceFactory(created_by=hr_admin.user)

    assert _post(source, _body("e-1")).status_code == 200


def test_verify_compares_in_constant_time(monkeypatch):
    calls = []
    real = signing.hmac.compare_digest
    monkeypatch.setattr(signing.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    body = b"{}"
    headers = signing.signed_headers("s", body)

    signing.verify(
        secret="s",
        timestamp=headers[signing.TIMESTAMP_HEADER],
        signature=headers[signing.SIGNATURE_HEADER],
        body=body,
    )

    assert calls == [1]


def test_the_same_event_sent_again_gets_the_first_answer_and_stores_nothing_more(signed_source):
    body = _body("f-1", "f-2")
    answers = []
    for _ in range(3):
        headers = signing.signed_headers(signed_source.secret, body, event_id="ev-1")
        answers.append(_post(signed_source, body, headers))

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json()["accepted"] == 2
    assert answers[1].json() == answers[0].json() == answers[2].json()
    assert OutcomeRecord.objects.count() == 2
    assert OutcomeWebhookEvent.objects.filter(event_id="ev-1").count() == 1


def test_another_event_id_with_the_same_records_is_a_duplicate_not_an_error(signed_source):
    body = _body("g-1")
    for event in ("ev-a", "ev-b"):
        headers = signing.signed_headers(signed_source.secret, body, event_id=event)
        last = _post(signed_source, body, headers)

    assert last.json()["duplicates"] == 1
    assert OutcomeRecord.objects.count() == 1


@pytest.mark.parametrize("signed", [True, False], ids=["signed source", "unsigned source"])
def test_an_event_id_reused_with_another_body_is_refused_with_409(signed_source, hr_admin, signed):
    source = signed_source if signed else OutcomeSourceFactory(created_by=hr_admin.user)
    first_body, other_body = _body("r-1"), _body("r-2", "r-3")

    def deliver(body: bytes):
        headers = {signing.EVENT_ID_HEADER: "ev-reused"}
        if signed:
            headers = signing.signed_headers(source.secret, body, event_id="ev-reused")
        return _post(source, body, headers)

    first = deliver(first_body)
    reused = deliver(other_body)
    again = deliver(first_body)

    assert first.status_code == 200
    assert first.json()["accepted"] == 1
    assert reused.status_code == 409
    error = reused.json()["error"]
    assert error["code"] == "event_id_reused"
    assert "ev-reused" in error["message"]
    assert again.status_code == 200
    assert again.json() == first.json()
    assert sorted(OutcomeRecord.objects.values_list("external_id", flat=True)) == ["r-1"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_the_same_event_sent_10_times_at_once_yields_one_set_of_records(signed_source):
    body = _body("h-1", "h-2", "h-3")
    barrier = threading.Barrier(10)

    def deliver(_: int):
        try:
            headers = signing.signed_headers(signed_source.secret, body, event_id="ev-race")
            barrier.wait(timeout=30)
            response = _post(signed_source, body, headers)
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(deliver, range(10)))

    assert {status for status, _ in answers} == {200}
    assert all(answer == answers[0][1] for _, answer in answers)
    assert answers[0][1]["accepted"] == 3
    assert OutcomeRecord.objects.count() == 3
    assert OutcomeWebhookEvent.objects.count() == 1


def test_hr_sets_a_signing_secret_and_unsigned_requests_stop_working(api, db, org, hr_admin):
    builtin_metrics()
    source = OutcomeSourceFactory(created_by=hr_admin.user)
    assert _post(source, _body("i-1")).status_code == 200

    response = api.as_(hr_admin).post(f"/api/v1/outcome-sources/{source.pk}/rotate-signing-secret/")

    assert response.status_code == 200
    secret = response.json()["signing_secret"]
    assert len(secret) == 64
    assert _post(source, _body("i-2")).status_code == 401
    body = _body("i-3")
    assert _post(source, body, signing.signed_headers(secret, body)).status_code == 200
