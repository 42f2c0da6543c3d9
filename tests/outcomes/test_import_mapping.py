"""Outcome imports with a column mapping and the helpdesk presets: exports load as they are."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cxculture.outcomes.models import OutcomeImport, OutcomeImportError, OutcomeRecord
from tests.factories.people import EmployeeFactory, TeamFactory

SAMPLES = Path(__file__).parent / "samples"
URL = "/api/v1/outcome-imports/"


@pytest.fixture
def helpdesk_groups(org):
    """Teams whose external ids are the helpdesk's group ids."""
    return {
        ext: TeamFactory(name=f"Group {ext}", external_id=ext, parent=org["support"])
        for ext in ("20001", "20002", "30001", "30002")
    }


def post(api, person, content: bytes, capture, **fields):
    data = {"file": SimpleUploadedFile("export.csv", content, content_type="text/csv")}
    data.update({k: json.dumps(v) if isinstance(v, dict) else v for k, v in fields.items()})
    with capture(execute=True):
        answer = api.as_(person).post(URL, data, format="multipart")
    return answer


def stored(job_id: int) -> list[tuple]:
    return sorted(
        OutcomeRecord.objects.filter(import_job_id=job_id).values_list(
            "external_id", "metric__code", "value", "team__external_id", "source"
        )
    )


def rejected(job_id: int) -> list[tuple]:
    return list(
        OutcomeImportError.objects.filter(job_id=job_id).values_list("row", "column", "reason")
    )


def test_a_zendesk_satisfaction_export_loads_with_its_preset(
    api, hr_admin, metrics, helpdesk_groups, django_capture_on_commit_callbacks
):
    content = (SAMPLES / "zendesk_satisfaction_ratings.csv").read_bytes()

    answer = post(api, hr_admin, content, django_capture_on_commit_callbacks, preset="zendesk-csat")

    assert answer.status_code in (201, 202), answer.json()
    job = OutcomeImport.objects.get(pk=answer.json()["id"])
    assert (job.status, job.source, job.metric) == ("done", "zendesk", "csat")
    assert stored(job.pk) == [
        ("35436", "csat", 5.0, "20001", "zendesk"),
        ("35437", "csat", 1.0, "20001", "zendesk"),
        ("35438", "csat", 5.0, "20002", "zendesk"),
        ("35440", "csat", 1.0, "20001", "zendesk"),
    ]
    assert [(row, column) for row, column, _ in rejected(job.pk)] == [(5, "score"), (7, "group_id")]
    assert "not answered" in rejected(job.pk)[0][2]
    assert OutcomeRecord.objects.get(external_id="35436").interaction_ref == "1001"


def test_a_freshdesk_satisfaction_export_loads_with_its_preset(
    api, hr_admin, metrics, helpdesk_groups, django_capture_on_commit_callbacks
):
    content = (SAMPLES / "freshdesk_satisfaction_ratings.csv").read_bytes()

    answer = post(
        api, hr_admin, content, django_capture_on_commit_callbacks, preset="freshdesk-csat"
    )

    job = OutcomeImport.objects.get(pk=answer.json()["id"])
    assert [(ext, value, source) for ext, _, value, _, source in stored(job.pk)] == [
        ("50001", 5.0, "freshdesk"),
        ("50002", 4.0, "freshdesk"),
        ("50003", 3.0, "freshdesk"),
        ("50004", 2.0, "freshdesk"),
        ("50005", 1.0, "freshdesk"),
    ]
    assert rejected(job.pk) == [
        (7, "ratings.default_question", "'7' is not a Freshdesk rating (103 to -103).")
    ]


def test_a_preset_column_can_be_overridden_to_take_the_agent_by_id(
    api, hr_admin, metrics, org, django_capture_on_commit_callbacks
):
    agent = EmployeeFactory(external_id="611", team=org["support_a"])
    content = (SAMPLES / "zendesk_satisfaction_ratings.csv").read_bytes()

    answer = post(
        api,
        hr_admin,
        content,
        django_capture_on_commit_callbacks,
        preset="zendesk-csat",
        mapping={"team_external_id": "", "agent": "assignee_id"},
    )

    job = OutcomeImport.objects.get(pk=answer.json()["id"])
    assert job.mapping["agent"] == "assignee_id" and "team_external_id" not in job.mapping
    records = OutcomeRecord.objects.filter(import_job=job)
    assert sorted(records.values_list("external_id", flat=True)) == ["35436", "35440"]
    assert {r.agent_id for r in records} == {agent.pk}
    assert {r.team_id for r in records} == {org["support_a"].pk}


def test_a_mapped_file_takes_each_rows_source_from_its_own_column(
    api, hr_admin, metrics, org, django_capture_on_commit_callbacks
):
    content = (
        b"Channel,Survey,Rated at,Rating,Queue,Ref\n"
        b"zendesk,csat,2026-11-02 09:00,4,SUP-A,T-1\n"
        b"intercom,csat,2026-11-02 09:05,5,SUP-A,T-1\n"
        b",nps,2026-11-02 09:10,9,SUP-B,T-2\n"
        b"Bad Source!,csat,2026-11-02 09:15,3,SUP-B,T-3\n"
    )
    mapping = {
        "source": "Channel",
        "metric": "Survey",
        "occurred_at": "Rated at",
        "value": "Rating",
        "team_external_id": "Queue",
        "external_id": "Ref",
    }

    answer = post(
        api, hr_admin, content, django_capture_on_commit_callbacks, mapping=mapping, source="crm"
    )

    job = OutcomeImport.objects.get(pk=answer.json()["id"])
    assert [(ext, metric, source) for ext, metric, _, _, source in stored(job.pk)] == [
        ("T-1", "csat", "zendesk"),
        ("T-1", "csat", "intercom"),
        ("T-2", "nps", "crm"),
    ]
    assert [(row, column) for row, column, _ in rejected(job.pk)] == [(5, "Channel")]
    error = OutcomeImportError.objects.get(job=job)
    assert error.values["channel"] == "Bad Source!"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"mapping": {"value": "Rating", "occurred_at": "When", "colour": "Queue"}},
            "mapping",
            "'colour'",
        ),
        (
            {"mapping": {"occurred_at": "When", "team_external_id": "Queue"}, "metric": "csat"},
            "mapping",
            "'value' must be mapped",
        ),
        (
            {
                "mapping": {"value": "Score", "occurred_at": "When", "team_external_id": "Queue"},
                "metric": "csat",
            },
            "mapping",
            "'Score'",
        ),
        (
            {"mapping": {"value": "Rating", "occurred_at": "When", "team_external_id": "Queue"}},
            "mapping",
            "'metric' must be mapped",
        ),
        (
            {"mapping": {"value": "Rating", "occurred_at": "When"}, "metric": "csat"},
            "mapping",
            "team_external_id, agent",
        ),
        (
            {
                "mapping": {"value": "Rating", "occurred_at": "When", "team_external_id": "Queue"},
                "metric": "happiness",
            },
            "metric",
            "happiness",
        ),
        ({"preset": "hubspot"}, "preset", "hubspot"),
        ({"mapping": "not json"}, "mapping", "object"),
    ],
    ids=[
        "unknown target",
        "required target missing",
        "header not in file",
        "no metric",
        "no team or agent",
        "unknown metric",
        "unknown preset",
        "not an object",
    ],
)
def test_a_bad_mapping_is_a_400_naming_the_field_and_nothing_is_stored(
    api, hr_admin, metrics, org, fields, field, words, django_capture_on_commit_callbacks
):
    content = b"When,Rating,Queue\n2026-11-02 09:00,4,SUP-A\n"

    answer = post(api, hr_admin, content, django_capture_on_commit_callbacks, **fields)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert words in " ".join(error["fields"][field])
    assert not OutcomeImport.objects.exists()
