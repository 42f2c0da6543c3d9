"""The JSON batch endpoint (webhooks with a source token), the records list, metrics, sources."""

import pytest
from rest_framework.test import APIClient

from cxculture.outcomes import services
from cxculture.outcomes.ingest import batches
from cxculture.outcomes.models import DailyRollup, Metric, OutcomeRecord, OutcomeSource
from tests.factories.outcomes import MetricFactory, OutcomeSourceFactory, record
from tests.helpers import token_for

DAY = "2025-06-02"
URL = "/api/v1/outcomes/"


def _send(token: str | None, body, *, scheme: str = "Bearer"):
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    return client.post(URL, body, format="json")


def _batch(count: int, *, team: str = "SUP-A", prefix: str = "ev") -> list[dict]:
    return [
        record("csat", 1 + n % 5, f"{DAY}T10:00:00Z", team=team, external_id=f"{prefix}-{n}")
        for n in range(count)
    ]


# --- Authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "scheme"),
    [
        pytest.param(None, "Bearer", id="no token"),
        pytest.param("cxo_not-a-real-token", "Bearer", id="wrong token"),
        pytest.param("two parts", "Bearer", id="malformed header"),
    ],
)
def test_a_batch_without_a_valid_source_token_is_refused_with_401(
    metrics, org, source, token, scheme
):
    response = _send(token, {"records": _batch(1)}, scheme=scheme)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"  # the API's first scheme, as everywhere
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert OutcomeRecord.objects.count() == 0


def test_a_switched_off_source_is_refused_with_401(metrics, org, source):
    services.outcome_source_update(source=source, is_active=False)

    response = _send(source.token, {"records": _batch(1)})

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or inactive source token."


def test_a_rotated_token_stops_working_and_the_new_one_works(metrics, org, source):
    old = source.token
    source, new = services.outcome_source_rotate_token(source=source)

    assert _send(old, {"records": _batch(1)}).status_code == 401
    assert _send(new, {"records": _batch(1)}).status_code == 200


def test_people_cannot_post_records_even_hr_admins(metrics, org, hr_admin):
    response = _send(token_for(hr_admin), {"records": _batch(1)}, scheme="Token")

    assert response.status_code == 403
    assert "outcome source's API token" in response.json()["error"]["message"]


def test_a_source_token_cannot_read_records(metrics, org, source):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {source.token}")

    assert client.get(URL).status_code == 403


def test_the_source_records_when_it_was_last_used(metrics, org, source):
    assert source.last_used_at is None

    _send(source.token, {"records": _batch(1)})

    source.refresh_from_db()
    assert source.last_used_at is not None


def test_only_a_hash_of_the_token_is_stored(source):
    stored = OutcomeSource.objects.filter(pk=source.pk).values()[0]

    assert source.token.startswith("cxo_") and len(source.token) > 40
    assert source.token not in str(stored)
    assert stored["token_hash"] == services.token_hash(source.token)


# --- Batches -------------------------------------------------------------------------------------


def test_a_batch_answers_accepted_duplicates_and_rejected_per_record(
    metrics, org, employee, source
):
    body = {
        "records": [
            record("csat", 5, f"{DAY}T10:00:00Z", team="SUP-A", external_id="e-1"),
            record("nps", 11, f"{DAY}T10:00:00Z", team="SUP-A", external_id="e-2"),
            record("fcr", True, f"{DAY}T10:00:00Z", agent=employee.external_id, external_id="e-3"),
            record("csat", 4, "yesterday", team="NOPE", external_id="e-4"),
            record("csat", 5, f"{DAY}T10:00:00Z", team="SUP-A", external_id="e-1"),
            "not an object",
            {**record("qa", 80, DAY, team="SUP-A"), "colour": "red"},
            record("qa", {"nested": 1}, DAY, team="SUP-A"),
            record("handle_time", 300, DAY, team="SUP-A", customer_ref="a\x00b"),
        ]
    }

    response = _send(source.token, body)

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (2, 1, 6)
    assert [(item["index"], item["status"]) for item in answer["results"]] == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "accepted"),
        (3, "rejected"),
        (4, "duplicate"),
        (5, "rejected"),
        (6, "rejected"),
        (7, "rejected"),
        (8, "rejected"),
    ]
    errors = {item["index"]: item["errors"] for item in answer["results"]}
    assert errors[1] == [{"field": "value", "reason": "11 is outside the range 0 to 10 of nps."}]
    assert errors[3] == [
        {
            "field": "occurred_at",
            "reason": "'yesterday' is not a date and time in ISO 8601 form "
            "(for example 2026-03-01T14:30:00Z or 2026-03-01 14:30).",
        },
        {"field": "team_external_id", "reason": "Unknown team 'NOPE'."},
    ]
    assert errors[5] == [{"field": "", "reason": "Each record is a JSON object."}]
    assert errors[6] == [{"field": "colour", "reason": "Unknown field."}]
    assert errors[7] == [{"field": "value", "reason": "Must be a string or a number."}]
    assert errors[8] == [{"field": "customer_ref", "reason": "Contains a NUL character."}]
    stored = OutcomeRecord.objects.order_by("external_id")
    assert [(r.external_id, r.value, r.source) for r in stored] == [
        ("e-1", 5.0, "zendesk"),
        ("e-3", 1.0, "zendesk"),
    ]


def test_sending_the_same_batch_again_changes_nothing(metrics, org, source):
    body = {"records": _batch(40)}
    first = _send(source.token, body).json()
    rollups = list(DailyRollup.objects.values_list("count", "sum", "sum_sq"))

    again = _send(source.token, body).json()

    assert (first["accepted"], first["duplicates"]) == (40, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 40)
    assert {item["status"] for item in again["results"]} == {"duplicate"}
    assert OutcomeRecord.objects.count() == 40
    assert list(DailyRollup.objects.values_list("count", "sum", "sum_sq")) == rollups


def test_two_sources_may_use_the_same_external_ids(metrics, org, source):
    other = OutcomeSourceFactory(slug="surveytool")

    _send(source.token, {"records": _batch(3)})
    answer = _send(other.token, {"records": _batch(3)}).json()

    assert answer["accepted"] == 3
    assert OutcomeRecord.objects.count() == 6


def test_a_thousand_records_are_accepted_and_one_more_is_refused(metrics, org, source):
    accepted = _send(source.token, {"records": _batch(1000)})
    refused = _send(source.token, {"records": _batch(1001, prefix="more")})

    assert accepted.status_code == 200
    assert accepted.json()["accepted"] == 1000
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "records": ["At most 1,000 records per request; this one has 1,001."]
    }
    assert OutcomeRecord.objects.count() == 1000


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"records": []}, id="no records"),
        pytest.param({"rows": _batch(1)}, id="wrong key"),
        pytest.param([record("csat", 4, DAY, team="SUP-A")], id="a bare list"),
        pytest.param({"records": "csat,4"}, id="not a list"),
    ],
)
def test_a_body_that_is_not_a_batch_is_a_400(metrics, org, source, body):
    response = _send(source.token, body)

    assert response.status_code == 400
    assert "records" in response.json()["error"]["fields"]


# --- Reading records (HR admins) ------------------------------------------------------------------


@pytest.fixture
def stored(metrics, org, employee, source):
    records = [
        record("csat", 5, "2025-06-01T10:00:00Z", team="SUP-A", external_id="a"),
        record("csat", 3, "2025-06-02T10:00:00Z", agent=employee.external_id, external_id="b"),
        record("nps", 9, "2025-06-03T10:00:00Z", team="SUP-B", external_id="c"),
        record("csat", 1, "2025-06-04T10:00:00Z", team="SAL", external_id="d"),
    ]
    batches.outcome_records_ingest(source=source, records=records)


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["external_id"] for item in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["d", "c", "b", "a"]),
        ("?metric=csat", ["d", "b", "a"]),
        ("?team={support_a}", ["b", "a"]),
        ("?subtree={support}", ["c", "b", "a"]),
        ("?occurred_after=2025-06-02&occurred_before=2025-06-04", ["c", "b"]),
        ("?metric=csat&occurred_after=2025-06-02T00:00:00Z", ["d", "b"]),
        ("?source=other", []),
    ],
)
def test_hr_admins_list_records_newest_first_with_filters(
    api, stored, org, hr_admin, query, expected
):
    url = URL + query.format(support_a=org["support_a"].pk, support=org["support"].pk)

    assert _ids(api.as_(hr_admin).get(url)) == expected


def test_the_list_pages_with_a_cursor(api, stored, hr_admin):
    first = api.as_(hr_admin).get(URL + "?page_size=3").json()
    second = api.as_(hr_admin).get(first["next"]).json()

    assert [item["external_id"] for item in first["results"]] == ["d", "c", "b"]
    assert [item["external_id"] for item in second["results"]] == ["a"]
    assert "count" not in first


def test_a_listed_record_names_its_metric_team_and_agent(api, stored, employee, hr_admin):
    item = next(i for i in api.as_(hr_admin).get(URL).json()["results"] if i["external_id"] == "b")

    assert item["metric"] == "csat"
    assert item["team_name"] == "Support A"
    assert (item["agent"], item["agent_name"]) == (employee.pk, "Erin Employee")
    assert item["source"] == "zendesk"


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_hr_admins_read_raw_records(api, stored, cast, role):
    assert api.as_(cast[role]).get(URL).status_code == 403


# --- The metric catalog ---------------------------------------------------------------------------


def test_hr_admins_add_a_metric_with_a_kind_and_a_valid_range(api, metrics, hr_admin):
    response = api.as_(hr_admin).post(
        "/api/v1/outcome-metrics/",
        {
            "code": "CES",
            "name": "Customer effort",
            "kind": "scale",
            "min_value": 1,
            "max_value": 7,
            "higher_is_better": False,
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json() | {"id": 0} == {
        "id": 0,
        "code": "ces",
        "name": "Customer effort",
        "kind": "scale",
        "min_value": 1.0,
        "max_value": 7.0,
        "unit": "",
        "higher_is_better": False,
        "is_builtin": False,
        "is_active": True,
    }


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (
            {"code": "x", "kind": "number", "min_value": 5, "max_value": 5},
            "max_value",
            "The largest value must be above the smallest.",
        ),
        (
            {"code": "x", "kind": "number", "min_value": 0},
            "max_value",
            "Give the smallest and largest valid values.",
        ),
        (
            {"code": "x", "kind": "binary", "min_value": 0, "max_value": 5},
            "min_value",
            "A yes/no metric takes the values 0 and 1.",
        ),
        (
            {"code": "x", "kind": "scale", "min_value": 0.5, "max_value": 5},
            "min_value",
            "A scale runs between whole numbers.",
        ),
        (
            {"code": "x", "kind": "scale", "min_value": 0, "max_value": 1000},
            "max_value",
            "A scale has at most 101 points; use a number metric.",
        ),
        (
            {"code": "9lives", "kind": "number", "min_value": 0, "max_value": 9},
            "code",
            "A code starts with a letter and holds lowercase letters, digits, - and _ "
            "(at most 50).",
        ),
        (
            {"code": "csat", "kind": "number", "min_value": 0, "max_value": 9},
            "code",
            "A metric with the code 'csat' exists.",
        ),
    ],
)
def test_a_metric_with_a_bad_definition_is_refused_with_the_field(
    api, metrics, hr_admin, body, field, reason
):
    response = api.as_(hr_admin).post("/api/v1/outcome-metrics/", {"name": "A metric", **body})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: [reason]}


def test_a_yes_no_metric_gets_the_range_0_to_1(api, metrics, hr_admin):
    response = api.as_(hr_admin).post(
        "/api/v1/outcome-metrics/", {"code": "refund", "name": "Refund", "kind": "binary"}
    )

    assert (response.json()["min_value"], response.json()["max_value"]) == (0.0, 1.0)


def test_a_builtin_metric_keeps_its_range_but_can_be_renamed_or_retired(api, metrics, hr_admin):
    url = f"/api/v1/outcome-metrics/{metrics['csat'].pk}/"

    refused = api.as_(hr_admin).patch(url, {"max_value": 10})
    renamed = api.as_(hr_admin).patch(url, {"name": "CSAT (post-call)", "is_active": False})

    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "max_value": ["A built-in metric keeps its kind and range."]
    }
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["is_active"]) == ("CSAT (post-call)", False)


def test_a_metric_with_records_keeps_its_range_one_without_can_change(
    api, metrics, org, source, hr_admin
):
    used = MetricFactory(code="ces", kind="scale", min_value=1, max_value=7)
    unused = MetricFactory(code="ease", kind="scale", min_value=1, max_value=7)
    batches.outcome_records_ingest(source=source, records=[record("ces", 3, DAY, team="SUP-A")])

    conflict = api.as_(hr_admin).patch(f"/api/v1/outcome-metrics/{used.pk}/", {"max_value": 5})
    changed = api.as_(hr_admin).patch(f"/api/v1/outcome-metrics/{unused.pk}/", {"max_value": 5})

    assert conflict.status_code == 409
    assert changed.status_code == 200
    assert changed.json()["max_value"] == 5.0


def test_employees_read_active_metrics_and_hr_admins_all(api, metrics, employee, hr_admin):
    services.metric_update(metric=metrics["churn"], is_active=False)

    seen_by_employee = {
        m["code"] for m in api.as_(employee).get("/api/v1/outcome-metrics/").json()["results"]
    }
    seen_by_hr = {
        m["code"] for m in api.as_(hr_admin).get("/api/v1/outcome-metrics/").json()["results"]
    }

    assert "churn" not in seen_by_employee and len(seen_by_employee) == 6
    assert "churn" in seen_by_hr and len(seen_by_hr) == 7


def test_the_builtin_metrics_match_the_design(metrics):
    catalog = {
        m.code: (m.kind, m.min_value, m.max_value, m.higher_is_better)
        for m in Metric.objects.filter(is_builtin=True)
    }

    assert catalog == {
        "csat": ("scale", 1, 5, True),
        "nps": ("scale", 0, 10, True),
        "fcr": ("binary", 0, 1, True),
        "complaint": ("binary", 0, 1, False),
        "churn": ("binary", 0, 1, False),
        "qa": ("number", 0, 100, True),
        "handle_time": ("number", 0, 86400, False),
    }


def test_the_data_migration_holds_the_same_builtins_and_can_be_reversed(db):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("cxculture.outcomes.migrations.0002_builtin_metrics")
    assert migration.BUILTIN_METRICS == services.BUILTIN_METRICS

    migration.create_builtin_metrics(apps, None)
    migration.create_builtin_metrics(apps, None)  # running it twice changes nothing
    assert Metric.objects.filter(is_builtin=True).count() == 7
    migration.delete_builtin_metrics(apps, None)
    assert Metric.objects.count() == 0


# --- Sources -----------------------------------------------------------------------------------


def test_hr_admins_create_a_source_and_see_its_token_once(api, hr_admin):
    created = api.as_(hr_admin).post(
        "/api/v1/outcome-sources/", {"name": "Zendesk", "slug": "zendesk"}
    )
    listed = api.as_(hr_admin).get("/api/v1/outcome-sources/")
    shown = api.as_(hr_admin).get(f"/api/v1/outcome-sources/{created.json()['id']}/")

    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith(created.json()["token_prefix"])
    assert "token" not in listed.json()["results"][0]
    assert "token" not in shown.json()
    assert _send(token, {"records": []}).status_code == 400  # authenticated, then refused


def test_a_source_slug_is_unique(api, source, hr_admin):
    response = api.as_(hr_admin).post(
        "/api/v1/outcome-sources/", {"name": "Again", "slug": "zendesk"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"slug": ["A source named 'zendesk' exists."]}


def test_rotating_a_token_answers_the_new_one(api, source, hr_admin):
    response = api.as_(hr_admin).post(f"/api/v1/outcome-sources/{source.pk}/rotate-token/")

    assert response.status_code == 200
    assert response.json()["token"] != source.token
    assert _send(source.token, {"records": []}).status_code == 401
