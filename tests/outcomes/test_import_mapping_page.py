"""The import page's mapping step: upload, see the columns with a sample row, map, import."""

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from cxculture.outcomes.ingest import mapping_step
from cxculture.outcomes.models import OutcomeImport, OutcomeRecord
from tests.factories.people import TeamFactory
from tests.outcomes.conftest import stored_files

SAMPLES = Path(__file__).parent / "samples"
PAGE = "/outcomes/"
# A survey tool's export: none of our column names, and no metric column.
SURVEY_EXPORT = (
    b"Response ID,Submitted,Team code,How satisfied (1-5),Ticket\n"
    b"R-1,2026-11-02T09:00:00Z,20001,5,T-1\n"
    b"R-2,2026-11-02T10:00:00Z,20001,2,T-2\n"
    b"R-3,2026-11-03T11:00:00Z,20002,4,T-3\n"
)
SURVEY_MAPPING = {
    "external_id": "Response ID",
    "occurred_at": "Submitted",
    "team_external_id": "Team code",
    "value": "How satisfied (1-5)",
    "interaction_ref": "Ticket",
    "fixed_metric": "csat",
}


@pytest.fixture
def helpdesk_groups(org):
    return {
        ext: TeamFactory(name=f"Group {ext}", external_id=ext, parent=org["support"])
        for ext in ("20001", "20002")
    }


@pytest.fixture
def hr_client(client, hr_admin):
    client.force_login(hr_admin.user)
    return client


def upload(client, content: bytes, name: str = "export.csv", **fields):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(PAGE, {"file": file, "source": "csv", **fields})


def form_data(form) -> dict:
    """What the browser sends when HR confirms the pre-filled selects as they are."""
    return {name: form[name].initial or "" for name in form.fields}


def test_a_zendesk_export_gets_a_pre_filled_mapping_step_then_imports(
    hr_client, metrics, helpdesk_groups, django_capture_on_commit_callbacks
):
    content = (SAMPLES / "zendesk_satisfaction_ratings.csv").read_bytes()

    answer = upload(hr_client, content, name="zendesk.csv", preset="zendesk-csat")

    assert answer.status_code == 302 and answer.url.startswith("/outcomes/imports/map/")
    assert not OutcomeImport.objects.exists()
    page = hr_client.get(answer.url)
    html = page.content.decode()
    # The file's columns with its first row.
    columns = dict(page.context["columns"])
    assert columns["score"] == "good"
    assert columns["group_id"] == "20001"
    assert columns["comment"] == "Fast and friendly, thanks!"
    assert "<code>good</code> → 5" in html
    form = page.context["form"]
    assert form_data(form) == {
        "metric": "",
        "value": "score",
        "occurred_at": "created_at",
        "team_external_id": "group_id",
        "agent": "",
        "customer_ref": "requester_id",
        "interaction_ref": "ticket_id",
        "external_id": "id",
        "source": "",
        "fixed_metric": "csat",
    }

    with django_capture_on_commit_callbacks(execute=True):
        done = hr_client.post(answer.url, form_data(form))

    job = OutcomeImport.objects.get()
    assert done.url == f"/outcomes/imports/{job.pk}/"
    assert (job.source, job.preset, job.rows_accepted, job.rows_rejected) == (
        "zendesk",
        "zendesk-csat",
        4,
        2,
    )
    detail = hr_client.get(done.url).content.decode()
    assert "4 of 6 rows imported, 0 already there, 2 rejected." in detail
    assert stored_files("outcome-imports/held") == []


def test_a_survey_export_is_guessed_mapped_saved_and_offered_again_for_its_source(
    hr_client, metrics, helpdesk_groups, django_capture_on_commit_callbacks
):
    answer = upload(hr_client, SURVEY_EXPORT, source="survey-tool")

    form = hr_client.get(answer.url).context["form"]
    # Guessed from common names: only the id and the ticket are recognisable.
    assert form["external_id"].initial == "Response ID"
    assert form["interaction_ref"].initial == "Ticket"
    assert form["value"].initial is None
    with django_capture_on_commit_callbacks(execute=True):
        done = hr_client.post(answer.url, SURVEY_MAPPING)

    job = OutcomeImport.objects.get()
    assert done.url == f"/outcomes/imports/{job.pk}/"
    assert (job.source, job.metric, job.rows_accepted, job.rows_rejected) == (
        "survey-tool",
        "csat",
        3,
        0,
    )
    assert sorted(
        OutcomeRecord.objects.values_list("external_id", "value", "team__external_id")
    ) == [("R-1", 5.0, "20001"), ("R-2", 2.0, "20001"), ("R-3", 4.0, "20002")]

    # The next file from the same source (however it is capitalised) comes with the mapping.
    again = upload(hr_client, SURVEY_EXPORT, source="Survey-Tool")
    page = hr_client.get(again.url)
    assert {
        name: value for name, value in form_data(page.context["form"]).items() if value
    } == SURVEY_MAPPING
    assert "Pre-filled from the mapping the last import from" in page.content.decode()


def test_a_file_in_our_column_names_skips_the_step_unless_hr_asks_for_it(
    hr_client, metrics, helpdesk_groups
):
    ours = b"metric,value,occurred_at,team_external_id\ncsat,4,2026-11-02,20001\n"

    direct = upload(hr_client, ours)
    asked = upload(hr_client, ours, map_columns="on")

    assert direct.url == f"/outcomes/imports/{OutcomeImport.objects.get().pk}/"
    assert asked.url.startswith("/outcomes/imports/map/")
    form = hr_client.get(asked.url).context["form"]
    assert form["metric"].initial == "metric" and form["value"].initial == "value"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"value": ""}, "value", "Choose the column that holds value."),
        ({"occurred_at": ""}, "occurred_at", "Choose the column that holds occurred_at."),
        (
            {"fixed_metric": ""},
            "metric",
            "Choose the column that holds the metric, or one metric for every row.",
        ),
        (
            {"team_external_id": ""},
            "team_external_id",
            "Choose team_external_id, agent or both: each record belongs to a team.",
        ),
        ({"agent": "Team code"}, "agent", "'Team code' already fills team_external_id."),
        ({"agent": "Agent email"}, "agent", "Agent email is not a column of this file."),
    ],
)
def test_a_bad_mapping_is_a_form_error_on_the_field_and_nothing_is_imported(
    hr_client, metrics, helpdesk_groups, change, field, message
):
    answer = upload(hr_client, SURVEY_EXPORT, source="survey-tool")

    page = hr_client.post(answer.url, {**SURVEY_MAPPING, **change})

    assert page.status_code == 400
    assert page.context["form"].errors[field] == [message]
    assert message.replace("'", "&#x27;") in page.content.decode()
    assert not OutcomeImport.objects.exists()
    assert len(stored_files("outcome-imports/held")) == 1  # still waiting for a good mapping


def test_a_metric_retired_since_the_page_opened_is_refused_on_its_select(
    hr_client, metrics, helpdesk_groups
):
    answer = upload(hr_client, SURVEY_EXPORT)
    hr_client.get(answer.url)
    metrics["csat"].is_active = False
    metrics["csat"].save()

    page = hr_client.post(answer.url, SURVEY_MAPPING)

    assert page.status_code == 400
    assert "Select a valid choice" in page.context["form"].errors["fixed_metric"][0]
    assert not OutcomeImport.objects.exists()


def test_a_file_the_import_refuses_is_reported_on_the_step_and_stays_until_cancelled(
    hr_client, metrics, helpdesk_groups
):
    # The step reads only the start of the file; the import checks all of it.
    rows = b"".join(b"R-%d,2026-11-02T09:00:00Z,20001,5,T-%d\n" % (n, n) for n in range(400))
    broken = SURVEY_EXPORT + rows + "R-x,2026-11-03T12:00:00Z,20002,3,Équipe\n".encode("cp1252")
    answer = upload(hr_client, broken)

    page = hr_client.post(answer.url, SURVEY_MAPPING)

    assert page.status_code == 400
    errors = str(page.context["form"].non_field_errors())
    assert "The file is not UTF-8 encoded: line 405" in errors
    assert not OutcomeImport.objects.exists()
    assert len(stored_files("outcome-imports/held")) == 1


def test_a_small_file_that_is_not_utf8_is_refused_on_the_upload_form(hr_client, metrics):
    broken = SURVEY_EXPORT + "R-4,2026-11-03T12:00:00Z,20002,3,Équipe\n".encode("cp1252")

    page = upload(hr_client, broken)

    assert page.status_code == 400
    assert "The file is not UTF-8 encoded" in page.context["form"].errors["file"][0]
    assert stored_files("outcome-imports") == []


def test_a_session_keeps_at_most_five_uploads_waiting_for_their_mapping(hr_client, metrics):
    first = upload(hr_client, SURVEY_EXPORT)
    for _ in range(5):
        upload(hr_client, SURVEY_EXPORT)

    assert len(stored_files("outcome-imports/held")) == 5
    assert hr_client.get(first.url).url == PAGE  # the oldest one went


def test_an_upload_nobody_mapped_for_a_day_is_dropped_and_its_step_says_so(hr_client, metrics):
    answer = upload(hr_client, SURVEY_EXPORT)

    assert mapping_step.outcome_held_uploads_expire() == 0
    later = timezone.now() + mapping_step.HELD_FOR + dt.timedelta(minutes=1)
    assert mapping_step.outcome_held_uploads_expire(now=later) == 1

    assert stored_files("outcome-imports/held") == []
    gone = hr_client.get(answer.url, follow=True)
    assert gone.redirect_chain == [(PAGE, 302)]
    assert "That upload is no longer waiting for its mapping" in gone.content.decode()


def test_cancelling_the_step_drops_the_held_file(hr_client, metrics):
    answer = upload(hr_client, SURVEY_EXPORT)
    assert len(stored_files("outcome-imports/held")) == 1

    back = hr_client.post(answer.url + "cancel/")

    assert back.url == PAGE
    assert stored_files("outcome-imports/held") == []
    gone = hr_client.get(answer.url)
    assert gone.url == PAGE
    assert not OutcomeImport.objects.exists()


def test_only_hr_opens_the_step_and_only_in_the_session_that_uploaded(
    hr_client, metrics, hr_admin, manager
):
    answer = upload(hr_client, SURVEY_EXPORT)

    as_manager, other_hr_session = Client(), Client()
    as_manager.force_login(manager.user)
    other_hr_session.force_login(hr_admin.user)

    assert as_manager.get(answer.url).status_code == 403
    assert other_hr_session.get(answer.url).url == PAGE
    assert hr_client.get(answer.url).status_code == 200


@pytest.mark.parametrize("earlier_imports", [1, 6])
def test_the_step_reads_a_fixed_number_of_queries_however_many_imports_came_before(
    hr_client, metrics, helpdesk_groups, django_assert_max_num_queries, earlier_imports
):
    for _ in range(earlier_imports):
        answer = upload(hr_client, SURVEY_EXPORT, source="survey-tool")
        hr_client.post(answer.url, SURVEY_MAPPING)
    answer = upload(hr_client, SURVEY_EXPORT, source="survey-tool")

    with django_assert_max_num_queries(8):
        page = hr_client.get(answer.url)

    assert page.status_code == 200
    assert page.context["saved"] == OutcomeImport.objects.order_by("-id").first()
