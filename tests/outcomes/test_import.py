"""CSV imports: every bad input gets its clear error, good rows always get in, nothing twice."""

import codecs
import csv
import datetime as dt
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from cxculture.lib.errors import DomainError
from cxculture.outcomes import services
from cxculture.outcomes.ingest import jobs, rollups, validation
from cxculture.outcomes.models import (
    DailyRollup,
    OutcomeImport,
    OutcomeImportError,
    OutcomeRecord,
)
from tests.factories.outcomes import HEADER, csv_bytes, record
from tests.outcomes.conftest import stored_files

DAY = "2025-06-02"


def _upload(content: bytes, name: str = "outcomes.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _post(api, person, content: bytes, **extra):
    return api.as_(person).post(
        "/api/v1/outcome-imports/", {"file": _upload(content)}, format="multipart", **extra
    )


def _rollups() -> list[tuple]:
    return sorted(
        DailyRollup.objects.values_list(
            "team_id",
            "metric_id",
            "day",
            "count",
            "sum",
            "sum_sq",
            "promoters",
            "passives",
            "detractors",
        )
    )


# --- A good file -------------------------------------------------------------------------------


def test_a_good_file_imports_every_row_with_team_agent_and_refs(
    metrics, org, employee, outsider, import_file
):
    content = csv_bytes(
        [
            record("csat", 5, f"{DAY}T09:00:00Z", team="SUP-A", external_id="t-1"),
            record("nps", 9, f"{DAY}T10:00:00Z", agent=employee.external_id, external_id="t-2"),
            record("fcr", "yes", f"{DAY} 11:00", agent=outsider.user.email.upper()),
            record(
                "handle_time",
                "312.5",
                f"{DAY}T12:00:00+02:00",
                team="SUP-B",
                agent=employee.external_id,
                customer_ref="CUST-000042",
                interaction_ref="INT-9",
                external_id="t-4",
            ),
        ]
    )

    job = import_file(content)

    assert (job.status, job.rows_read, job.rows_accepted, job.rows_rejected) == ("done", 4, 4, 0)
    assert job.duplicates == 0
    assert job.message == "4 of 4 rows imported, 0 already there, 0 rejected."
    rows = {
        r.external_id: r for r in OutcomeRecord.objects.select_related("metric", "team", "agent")
    }
    assert rows["t-1"].team == org["support_a"] and rows["t-1"].agent is None
    assert rows["t-2"].team == org["support_a"]  # the agent's team
    assert rows["t-2"].agent == employee
    derived = next(r for key, r in rows.items() if key.startswith("row-"))
    assert (derived.metric.code, derived.value, derived.agent) == ("fcr", 1.0, outsider)
    assert derived.team == org["support_b"]
    handle = rows["t-4"]
    assert handle.team == org["support_b"]  # a team given wins over the agent's team
    assert (handle.value, handle.customer_ref, handle.interaction_ref) == (
        312.5,
        "CUST-000042",
        "INT-9",
    )
    assert handle.occurred_at.isoformat() == "2025-06-02T10:00:00+00:00"
    assert {r.source for r in rows.values()} == {"csv"}
    assert {r.import_job_id for r in rows.values()} == {job.pk}
    assert stored_files() == []  # the upload is removed once imported


def test_a_file_with_only_some_columns_and_a_bom_imports(metrics, org, import_file):
    content = "\ufeff" + "Metric,Value,Occurred_At,Team_External_Id\ncsat,4,2025-06-02,SUP-A\n"

    job = import_file(content.encode())

    assert (job.status, job.rows_accepted) == ("done", 1)
    assert OutcomeRecord.objects.get().occurred_at.isoformat() == "2025-06-02T00:00:00+00:00"


# --- Bad files are refused whole, with the reason, and nothing is stored -----------------------


@pytest.mark.parametrize(
    ("content", "code", "reason"),
    [
        pytest.param(
            csv_bytes([record("csat", 4, DAY, team="Équipe")], encoding="latin-1"),
            "not_utf8",
            "The file is not UTF-8 encoded: line 2 holds a byte that is not valid UTF-8.",
            id="latin-1",
        ),
        pytest.param(b"", "empty_file", "The file is empty.", id="empty"),
        pytest.param(b"\n\n  \n", "empty_file", "The file is empty.", id="blank lines"),
        pytest.param(
            csv_bytes([]), "empty_file", "The file has a header but no rows.", id="header only"
        ),
        pytest.param(
            b"metric,score,occurred_at,team_external_id\ncsat,4,2025-06-02,SUP-A\n",
            "wrong_header",
            "Wrong header: missing column(s) value; unknown column(s) score.",
            id="misspelt column",
        ),
        pytest.param(
            b"metric,value,occurred_at\ncsat,4,2025-06-02\n",
            "wrong_header",
            "Wrong header: give a team_external_id column, an agent column, or both.",
            id="no team or agent column",
        ),
        pytest.param(
            b"metric,value,occurred_at,agent,agent\ncsat,4,2025-06-02,a,a\n",
            "wrong_header",
            "Wrong header: a column appears twice.",
            id="duplicate column",
        ),
    ],
)
def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_stored(
    api, metrics, hr_admin, content, code, reason
):
    response = _post(api, hr_admin, content)

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(reason)
    assert error["fields"] == {"file": [error["message"]]}
    assert OutcomeImport.objects.count() == 0
    assert stored_files() == []


def test_a_file_one_byte_over_the_limit_is_refused_with_413(api, metrics, hr_admin, settings):
    content = csv_bytes([record("csat", 4, DAY, team="SUP-A")])
    settings.CXC_OUTCOME_IMPORT_MAX_BYTES = len(content) - 1

    response = _post(api, hr_admin, content)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert response.json()["error"]["fields"] == {
        "file": [f"The file is over the limit of {len(content) - 1:,} bytes."]
    }
    assert OutcomeImport.objects.count() == 0


def test_a_file_exactly_at_the_limit_is_accepted(
    api, metrics, org, hr_admin, settings, django_capture_on_commit_callbacks
):
    content = csv_bytes([record("csat", 4, DAY, team="SUP-A")])
    settings.CXC_OUTCOME_IMPORT_MAX_BYTES = len(content)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, hr_admin, content)

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    assert OutcomeImport.objects.get(pk=response.json()["id"]).rows_accepted == 1


def test_a_body_announcing_more_than_the_limit_is_refused_without_reading_it(
    api, metrics, hr_admin, settings
):
    settings.CXC_OUTCOME_IMPORT_MAX_BYTES = 10
    content = csv_bytes([record("csat", 4, DAY, team="SUP-A")] * 5000)

    response = _post(api, hr_admin, content)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


def test_the_service_refuses_an_oversized_file_before_reading_it(metrics, hr_admin, settings):
    settings.CXC_OUTCOME_IMPORT_MAX_BYTES = 100

    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the file was read")

    with pytest.raises(jobs.FileTooLarge) as caught:
        jobs.outcome_import_create(
            file=Unreadable(), file_name="big.csv", size=101, requested_by=hr_admin.user
        )

    assert caught.value.status == 413


# --- Bad rows: each rejected with row, column and reason; good rows still imported ------------


def test_every_bad_row_is_listed_with_row_column_and_reason_and_good_rows_get_in(
    metrics, org, employee, import_file
):
    rows = [
        record("csat", 5, f"{DAY}T09:00:00Z", team="SUP-A", external_id="good-1"),  # row 2
        record("ces", 3, f"{DAY}T09:00:00Z", team="SUP-A"),  # 3 unknown metric
        record("csat", 6, f"{DAY}T09:00:00Z", team="SUP-A"),  # 4 out of range
        record("nps", "ten", f"{DAY}T09:00:00Z", team="SUP-A"),  # 5 not a number
        record("csat", 4.5, f"{DAY}T09:00:00Z", team="SUP-A"),  # 6 not a whole number
        record("csat", 4, "02/06/2025", team="SUP-A"),  # 7 bad date
        record("csat", 4, "2099-01-01T00:00:00Z", team="SUP-A"),  # 8 in the future
        record("csat", 4, f"{DAY}T09:00:00Z", team="NOPE"),  # 9 unknown team
        record("csat", 4, f"{DAY}T09:00:00Z", agent="ghost@example.com"),  # 10 unknown agent
        record("fcr", "maybe", f"{DAY}T09:00:00Z", team="SUP-A"),  # 11 not yes/no
        record("csat", "", f"{DAY}T09:00:00Z", team="SUP-A"),  # 12 no value
        record("qa", "nan", "", team="SUP-A"),  # 13 two problems
        ["csat", "4"],  # 14 too few values
        record("csat", 3, f"{DAY}T09:00:00Z", team="SUP-A", customer_ref="=HYPERLINK(1)" * 9),
        record("qa", "87.5", f"{DAY}T09:00:00Z", agent=employee.user.email, external_id="good-2"),
        record("csat", 4, f"{DAY}T09:00:00Z", team="SUP-A", customer_ref="a\x00b"),  # 17 NUL
    ]

    job = import_file(csv_bytes(rows))

    assert (job.status, job.rows_read, job.rows_accepted, job.rows_rejected) == (
        "done",
        16,
        2,
        14,
    )
    assert set(OutcomeRecord.objects.values_list("external_id", flat=True)) == {"good-1", "good-2"}
    errors = list(OutcomeImportError.objects.filter(job=job).values_list("row", "column", "reason"))
    assert errors == [
        (
            3,
            "metric",
            "Unknown metric 'ces'. Known metrics: churn, complaint, csat, fcr, "
            "handle_time, nps, qa.",
        ),
        (4, "value", "6 is outside the range 1 to 5 of csat."),
        (5, "value", "'ten' is not a number."),
        (6, "value", "csat takes whole numbers from 1 to 5; got 4.5."),
        (
            7,
            "occurred_at",
            "'02/06/2025' is not a date and time in ISO 8601 form "
            "(for example 2026-03-01T14:30:00Z or 2026-03-01 14:30).",
        ),
        (8, "occurred_at", "2099-01-01T00:00:00Z is in the future."),
        (9, "team_external_id", "Unknown team 'NOPE'."),
        (
            10,
            "agent",
            "Unknown agent 'ghost@example.com': give an employee's external id or email.",
        ),
        (11, "value", "'maybe' is not yes/no (or 1/0) for fcr."),
        (12, "value", "Required."),
        (13, "value", "'nan' is not a number."),
        (13, "occurred_at", "Required."),
        (14, "", "Expected 8 values, found 2."),
        (15, "customer_ref", "At most 100 characters."),
        (17, "customer_ref", "Contains a NUL character."),
    ]
    assert OutcomeImportError.objects.get(job=job, row=9).values["team_external_id"] == "NOPE"


def test_a_retired_metric_is_refused_by_name(metrics, org, import_file):
    services.metric_update(metric=metrics["churn"], is_active=False)

    job = import_file(csv_bytes([record("churn", "no", DAY, team="SUP-A")]))

    assert job.rows_rejected == 1
    assert OutcomeImportError.objects.get().reason == "The metric 'churn' is retired."


def test_an_agent_without_a_team_needs_the_team_column(metrics, org, import_file):
    from tests.factories.people import EmployeeFactory

    floater = EmployeeFactory(team=None)

    job = import_file(csv_bytes([record("csat", 4, DAY, agent=floater.external_id)]))

    assert job.rows_rejected == 1
    error = OutcomeImportError.objects.get()
    assert (error.column, error.reason) == (
        "agent",
        "This agent has no team: give team_external_id.",
    )


@pytest.mark.parametrize(
    "url",
    ["/outcomes/imports/{id}/rejected-rows.csv", "/api/v1/outcome-imports/{id}/errors/download/"],
)
def test_rejected_rows_download_as_utf8_with_a_bom_keeping_non_ascii_values(
    client, metrics, org, hr_admin, import_file, url
):
    job = import_file(
        csv_bytes([record("csat", 9, DAY, team="SUP-A", customer_ref="Zoë Ångström")])
    )
    client.force_login(hr_admin.user)

    response = client.get(url.format(id=job.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith(codecs.BOM_UTF8) and body.count(codecs.BOM_UTF8) == 1
    assert "Zoë Ångström" in body.decode("utf-8-sig")


def test_rejected_rows_download_as_formula_safe_csv(client, metrics, org, hr_admin, import_file):
    content = csv_bytes(
        [
            record("csat", 9, DAY, team="SUP-A", customer_ref="=cmd|' /C calc'!A0"),
            record("csat", 4, DAY, team="SUP-A", customer_ref="fine"),
        ]
    )
    job = import_file(content)
    client.force_login(hr_admin.user)

    response = client.get(f"/outcomes/imports/{job.pk}/rejected-rows.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"import-{job.pk}-rejected-rows.csv" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(codecs.BOM_UTF8)  # so spreadsheets read it as UTF-8
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "reason", *HEADER]
    assert lines[1][:3] == ["2", "value", "9 is outside the range 1 to 5 of csat."]
    assert lines[1][3 + HEADER.index("customer_ref")] == "'=cmd|' /C calc'!A0"
    assert len(lines) == 2


# --- Idempotency ---------------------------------------------------------------------------------


def _mixed_file() -> bytes:
    rows = []
    for n in range(30):
        metric, value = [("csat", 1 + n % 5), ("nps", n % 11), ("fcr", n % 2)][n % 3]
        rows.append(record(metric, value, f"2025-06-{1 + n % 7:02d}T10:{n:02d}:00Z", team="SUP-A"))
    rows.append(record("csat", 42, DAY, team="SUP-A"))  # rejected both times
    return csv_bytes(rows)


def test_the_same_file_imported_twice_changes_nothing(metrics, org, import_file):
    first = import_file(_mixed_file())
    records_after_first = sorted(OutcomeRecord.objects.values_list("external_id", "value"))
    rollups_after_first = _rollups()

    second = import_file(_mixed_file())

    assert (first.rows_accepted, first.duplicates, first.rows_rejected) == (30, 0, 1)
    assert (second.rows_accepted, second.duplicates, second.rows_rejected) == (0, 30, 1)
    assert second.message == "0 of 31 rows imported, 30 already there, 1 rejected."
    assert sorted(OutcomeRecord.objects.values_list("external_id", "value")) == records_after_first
    assert _rollups() == rollups_after_first


def test_the_same_row_twice_in_one_file_is_one_record(metrics, org, import_file):
    row = record("csat", 4, DAY, team="SUP-A", external_id="same")

    job = import_file(csv_bytes([row, row, {**row, "external_id": ""}, {**row, "external_id": ""}]))

    assert (job.rows_accepted, job.duplicates) == (2, 2)
    assert DailyRollup.objects.get().count == 2


def test_a_repeat_with_the_same_idempotency_key_returns_the_first_import(
    api, metrics, org, hr_admin, django_capture_on_commit_callbacks
):
    content = _mixed_file()
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(api, hr_admin, content, HTTP_IDEMPOTENCY_KEY="upload-1")
        again = _post(api, hr_admin, content, HTTP_IDEMPOTENCY_KEY="upload-1")
        other = _post(api, hr_admin, content + b"\n", HTTP_IDEMPOTENCY_KEY="upload-1")

    assert first.status_code == 202
    assert again.status_code == 202
    assert again.json() == first.json()
    assert OutcomeImport.objects.count() == 1
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


# --- Crashes: resume after the last committed batch, never half a batch --------------------------


def _crash_on_batch(monkeypatch, number: int):
    real = jobs.staged_records_count_write
    calls = {"n": 0}

    def write_then_crash(*args, **kwargs):
        calls["n"] += 1
        inserted = real(*args, **kwargs)
        if calls["n"] == number:
            raise RuntimeError("the worker died")
        return inserted

    monkeypatch.setattr(jobs, "staged_records_count_write", write_then_crash)


def _crash_file() -> tuple[bytes, set[str]]:
    """95 rows: every 7th is bad. Returns the file and the external ids of its good rows."""
    rows, good = [], set()
    for n in range(95):
        if n % 7 == 3:
            rows.append(record("csat", 0, DAY, team="SUP-A", external_id=f"bad-{n}"))
        else:
            rows.append(
                record(
                    "nps",
                    n % 11,
                    f"2025-06-{1 + n % 5:02d}T08:00:00Z",
                    team="SUP-A",
                    external_id=f"r-{n}",
                )
            )
            good.add(f"r-{n}")
    return csv_bytes(rows), good


def test_a_crash_mid_file_then_a_rerun_imports_each_good_row_once(
    metrics, org, import_file, monkeypatch, settings
):
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 10
    content, good = _crash_file()
    job = import_file(content, run=False)
    _crash_on_batch(monkeypatch, 3)

    with pytest.raises(RuntimeError, match="the worker died"):
        jobs.outcome_import_run(import_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.last_row, job.rows_read) == ("running", 21, 20)  # two whole batches
    assert OutcomeRecord.objects.count() == job.rows_accepted == 17
    assert OutcomeImportError.objects.filter(job=job).count() == job.rows_rejected == 3
    # An unfinished import counts in no figure yet, and a rebuild meanwhile agrees.
    assert _rollups() == []
    rollups.rollups_rebuild()
    assert _rollups() == []

    monkeypatch.undo()
    jobs.outcome_import_run(import_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.rows_read, job.attempts) == ("done", 95, 2)
    assert set(OutcomeRecord.objects.values_list("external_id", flat=True)) == good
    assert job.rows_accepted == len(good) == 81
    assert (job.duplicates, job.rows_rejected) == (0, 14)
    errors_per_row = OutcomeImportError.objects.values("row").annotate(n=Count("id"))
    assert {item["n"] for item in errors_per_row} == {1}
    assert errors_per_row.count() == 14
    assert sum(r[3] for r in _rollups()) == 81  # every record once, the crashed batch's too
    counted = _rollups()
    rollups.rollups_rebuild()
    assert _rollups() == counted


def test_a_batch_already_committed_by_another_worker_is_not_counted_twice(
    metrics, org, import_file, settings
):
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 10
    content, _ = _crash_file()
    job = import_file(content, run=False)
    jobs.outcome_import_run(import_id=job.pk)
    job.refresh_from_db()
    rows = [(2, {"metric": "nps", "value": "3", "occurred_at": DAY, "team_external_id": "SUP-A"})]

    with pytest.raises(jobs.LostClaim):
        jobs._import_batch(job, rows, 1, validation.RowValidator(), 100)

    job.refresh_from_db()
    assert (job.rows_read, job.rows_accepted) == (95, 81)


def test_a_stalled_import_is_picked_up_again(
    metrics, org, import_file, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 10
    content, good = _crash_file()
    job = import_file(content, run=False)
    _crash_on_batch(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        jobs.outcome_import_run(import_id=job.pk)
    monkeypatch.undo()
    later = job.created_at + dt.timedelta(minutes=30)

    with django_capture_on_commit_callbacks(execute=True):
        resumed = jobs.outcome_imports_resume_stalled(now=later)

    job.refresh_from_db()
    assert resumed == [job.pk]
    assert job.status == "done"
    assert set(OutcomeRecord.objects.values_list("external_id", flat=True)) == good


def test_an_import_that_keeps_crashing_stops_after_the_attempt_limit(
    metrics, org, import_file, monkeypatch, settings
):
    settings.CXC_OUTCOME_IMPORT_MAX_ATTEMPTS = 2
    job = import_file(_mixed_file(), run=False)
    monkeypatch.setattr(jobs, "staged_records_count_write", lambda *a, **k: 1 / 0)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            jobs.outcome_import_run(import_id=job.pk)

    job = jobs.outcome_import_run(import_id=job.pk)

    assert job.status == "failed"
    assert job.message.startswith("Stopped after 2 attempts that did not finish, at row 1.")
    assert stored_files() == []


def test_an_import_whose_file_is_gone_fails_with_the_reason(metrics, org, import_file):
    job = import_file(_mixed_file(), run=False)
    jobs.import_storage().delete(job.file_path)

    job = jobs.outcome_import_run(import_id=job.pk)

    assert job.status == "failed"
    assert job.message.startswith("The uploaded file is no longer stored")


def test_a_finished_import_is_not_run_again(metrics, org, import_file):
    job = import_file(_mixed_file())

    again = jobs.outcome_import_run(import_id=job.pk)

    assert again.status == "done"
    assert again.attempts == 1


def test_a_file_broken_further_down_keeps_the_rows_before_it(metrics, org, import_file, settings):
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 2
    good = [record("csat", 4, DAY, team="SUP-A", external_id=f"g{n}") for n in range(4)]
    content = csv_bytes(good) + b'csat,4,2025-06-02,SUP-A,,,,"unclosed\n' + b"x" * 200_000

    job = import_file(content)

    assert job.status == "failed"
    assert "The rows before it were imported." in job.message
    assert OutcomeRecord.objects.count() == 4
    assert sum(r[3] for r in _rollups()) == 4  # a failed import's rows count once it ends


def test_a_file_with_crlf_line_ends_and_quoted_newlines_counts_rows_as_a_spreadsheet(
    metrics, org, import_file
):
    content = (
        b"metric,value,occurred_at,team_external_id,customer_ref\r\n"
        b'csat,4,2025-06-02,SUP-A,"two\r\nlines"\r\n'
        b"csat,9,2025-06-02,SUP-A,x\r\n"
    )

    job = import_file(content)

    assert (job.rows_accepted, job.rows_rejected) == (1, 1)
    assert OutcomeImportError.objects.get().row == 3
    assert OutcomeRecord.objects.get().customer_ref == "two\r\nlines"


def test_source_names_must_be_slugs(metrics, hr_admin):
    content = csv_bytes([record("csat", 4, DAY, team="SUP-A")])

    with pytest.raises(DomainError) as caught:
        jobs.outcome_import_create(
            file=io.BytesIO(content),
            file_name="x.csv",
            size=len(content),
            source="Not a slug!",
            requested_by=hr_admin.user,
        )

    assert caught.value.field == "source"


@pytest.mark.parametrize(
    ("metric", "raw", "expected"),
    [
        ("fcr", "Yes", 1.0),
        ("fcr", "n", 0.0),
        ("fcr", "1.0", 1.0),
        ("fcr", "0", 0.0),
        ("fcr", "2", "'2' is not yes/no (or 1/0) for fcr."),
        ("csat", "3.0", 3.0),
        ("nps", "0", 0.0),
        ("qa", "87.25", 87.25),
        ("handle_time", "1e3", 1000.0),
        ("handle_time", "-1", "-1 is outside the range 0 to 86400 of handle_time."),
        ("qa", "inf", "'inf' is not a number."),
        ("qa", "12,5", "'12,5' is not a number."),
    ],
)
def test_a_value_is_read_by_the_kind_of_its_metric(metrics, org, metric, raw, expected):
    validator = validation.RowValidator()
    row = {"metric": metric, "value": raw, "occurred_at": DAY, "team_external_id": "SUP-A"}
    validator.prefetch([row])

    new, errors = validator.validate(row)

    if isinstance(expected, float):
        assert (new.value, errors) == (expected, [])
    else:
        assert (new, errors) == (None, [("value", expected)])


def test_a_crash_mid_file_leaves_no_reading_thread_behind(
    metrics, org, import_file, monkeypatch, settings
):
    settings.CXC_OUTCOME_IMPORT_BATCH_SIZE = 10
    content, _ = _crash_file()
    job = import_file(content, run=False)
    _crash_on_batch(monkeypatch, 2)

    with pytest.raises(RuntimeError, match="the worker died"):
        jobs.outcome_import_run(import_id=job.pk)

    # The next batch was being read ahead when the write failed: its thread has stopped.
    assert not [t for t in threading.enumerate() if t.name.startswith("outcome-import-reader")]
    job.refresh_from_db()
    assert (job.last_row, job.rows_read) == (11, 10)
