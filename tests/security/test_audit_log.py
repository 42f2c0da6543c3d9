"""The audit log: sensitive actions are recorded with who, what and when, in the same
transaction as the change; HR admins read it; nobody edits or deletes it."""

import datetime as dt
import importlib

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.test import Client, RequestFactory

from cxculture.audit.models import AuditEvent
from cxculture.audit.services import audit_record
from cxculture.outcomes.ingest import jobs
from cxculture.people import services as people_services
from cxculture.people.models import DirectorySync
from recognition import services as recognition_services
from surveys import services as survey_services
from surveys.models import Invitation, SurveyRun
from tests.factories.outcomes import csv_bytes, record
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import RewardFactory, fund_wallet, give
from tests.factories.surveys import ProgramFactory, answer, load_question_library, open_run
from tests.people.test_directory_sync import everyone, to_csv

pytestmark = pytest.mark.django_db


# Setting up the cast (roles, team managers) is audited too: tests look past it with `_last()`.
def _events(action: str, after: int = 0) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, pk__gt=after).order_by("id"))


def _last() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_a_role_change_is_recorded_with_the_hr_admin_and_their_address(api, cast):
    employee, hr_admin = cast["employee"], cast["hr_admin"]
    start = _last()

    response = api.as_(hr_admin).patch(
        f"/api/v1/employees/{employee.pk}/", {"roles": ["executive"]}, REMOTE_ADDR="10.1.2.3"
    )

    assert response.status_code == 200
    [event] = _events("roles_changed", start)
    assert event.actor == hr_admin.user
    assert (event.target_type, event.target_id) == ("people.employee", str(employee.pk))
    assert event.details == {"roles": ["employee", "executive"]}
    assert event.ip == "10.1.2.3"


def test_a_change_of_team_managers_is_recorded(api, org, cast):
    start = _last()
    response = api.as_(cast["hr_admin"]).patch(
        f"/api/v1/teams/{org['sales'].pk}/", {"managers": [cast["sales_person"].pk]}
    )

    assert response.status_code == 200
    [event] = _events("team_managers_changed", start)
    assert event.actor == cast["hr_admin"].user
    assert event.details == {"managers": [cast["sales_person"].pk]}


def test_a_refused_change_records_nothing(api, cast):
    start = _last()
    response = api.as_(cast["hr_admin"]).patch(
        f"/api/v1/employees/{cast['employee'].pk}/", {"roles": ["manager"]}
    )

    assert response.status_code == 400
    assert _last() == start


def test_an_anonymity_threshold_change_is_recorded_and_a_rename_is_an_edit(api, hr_admin):
    load_question_library()
    program = ProgramFactory(name="Pulse", anonymity_threshold=5, comment_threshold=10)
    client = api.as_(hr_admin)
    start = _last()

    assert client.patch(f"/api/v1/surveys/{program.pk}/", {"name": "Renamed"}).status_code == 200
    [renamed] = _events("program_changed", start)
    assert renamed.details == {"name": "Pulse", "changes": {"name": ["Pulse", "Renamed"]}}
    assert _events("survey_threshold_changed", start) == []
    response = client.patch(f"/api/v1/surveys/{program.pk}/", {"anonymity_threshold": 7})

    assert response.status_code == 200
    [event] = _events("survey_threshold_changed", start)
    assert event.actor == hr_admin.user
    assert event.details == {"from": [5, 10], "to": [7, 10]}


def test_redemptions_their_approval_and_rejection_are_recorded(employee, manager, hr_admin):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    reward = RewardFactory(cost_points=40)
    first = recognition_services.redemption_request(employee=employee, reward=reward)
    second = recognition_services.redemption_request(employee=employee, reward=reward)

    recognition_services.redemption_approve(redemption=first, by=hr_admin.user)
    recognition_services.redemption_reject(redemption=second, by=hr_admin.user, note="Sold out")

    requested = _events("redemption_requested")
    assert [(e.actor, e.target_id, e.details) for e in requested] == [
        (employee.user, str(first.pk), {"points": 40}),
        (employee.user, str(second.pk), {"points": 40}),
    ]
    assert [(e.actor, e.target_id) for e in _events("redemption_approved")] == [
        (hr_admin.user, str(first.pk))
    ]
    assert [(e.actor, e.target_id) for e in _events("redemption_rejected")] == [
        (hr_admin.user, str(second.pk))
    ]


def test_a_points_reversal_is_recorded_with_its_reason(employee, teammate, hr_admin):
    recognition = give(employee, teammate, points=10)

    recognition_services.recognition_reverse(
        recognition=recognition, by=hr_admin.user, reason="Sent by mistake"
    )

    [event] = _events("points_reversed")
    assert (event.actor, event.target_type) == (hr_admin.user, "recognition.recognition")
    assert event.details == {"reason": "Sent by mistake"}


def test_an_outcome_import_is_recorded(org, hr_admin, django_capture_on_commit_callbacks):
    content = csv_bytes([record("csat", 5, "2025-06-02T10:00:00Z", team="SUP-A")])
    with django_capture_on_commit_callbacks(execute=False):
        job, _ = jobs.outcome_import_create(
            file=ContentFile(content, name="o.csv"),
            file_name="o.csv",
            size=len(content),
            requested_by=hr_admin.user,
        )

    [event] = _events("outcome_import_created")
    assert (event.actor, event.target_id) == (hr_admin.user, str(job.pk))


def test_an_applied_directory_sync_is_recorded(cast, hr_admin):
    sync = people_services.directory_sync_start(
        kind="employees", content=to_csv(everyone(cast)), requested_by=hr_admin.user
    )

    assert sync.status == DirectorySync.Status.APPLIED
    [event] = _events("directory_sync_applied")
    assert (event.actor, event.target_id) == (hr_admin.user, str(sync.pk))


def test_hr_admins_read_the_log_page_and_nobody_else_does(cast):
    audit_record(actor=cast["hr_admin"], action="roles_changed", target=cast["employee"])
    statuses = {}
    for name in ("employee", "manager", "executive", "hr_admin"):
        client = Client()
        client.force_login(cast[name].user)
        statuses[name] = client.get("/audit/").status_code
    anonymous = Client().get("/audit/")

    assert statuses == {"employee": 403, "manager": 403, "executive": 403, "hr_admin": 200}
    assert anonymous.status_code == 302
    client = Client()
    client.force_login(cast["hr_admin"].user)
    page = client.get("/audit/", {"action": "roles_changed"}).content.decode()
    assert f"Hana HR (HR): Roles changed — {cast['employee'].display_name}" in page


@pytest.mark.parametrize("events", [5, 50])
def test_the_log_page_needs_the_same_queries_for_5_or_50_events(
    cast, events, django_assert_max_num_queries
):
    for n in range(events):
        actor = cast["hr_admin"] if n % 2 else cast["manager"]
        audit_record(actor=actor, action="roles_changed", target=cast["employee"])
    client = Client()
    client.force_login(cast["hr_admin"].user)

    with django_assert_max_num_queries(10):
        page = client.get("/audit/")

    shown = min(AuditEvent.objects.filter(action="roles_changed").count(), 50)
    assert shown >= events
    # The events recorded here carry no roles, so they read in the generic sentence.
    assert page.content.decode().count(f"Roles changed — {cast['employee'].display_name}") == events


def test_the_admin_offers_no_way_to_add_change_or_delete_an_event(hr_admin):
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/admin/audit/auditevent/")
    request.user = hr_admin.user

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_raw_sql_cannot_edit_or_delete_an_event(cast):
    rules = importlib.import_module("cxculture.audit.migrations.0002_audit_event_append_only")
    with connection.cursor() as cursor:  # fresh, or replacing the migrated trigger
        cursor.execute(rules.REVERSE)
        cursor.execute(rules.FORWARD)
    event = audit_record(actor=cast["hr_admin"], action="roles_changed", target=cast["employee"])

    for statement in (
        "UPDATE audit_auditevent SET action = 'nothing' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).action == "roles_changed"


def _closed_run(org, cast) -> SurveyRun:
    """A closed run of the whole organisation with six answers (over the threshold of 5)."""
    load_question_library()
    opens = dt.date(2025, 6, 2)
    for _ in range(5):
        EmployeeFactory(team=org["support_a"])
    run = open_run(ProgramFactory(audience="organisation"), opens)
    for invitation in Invitation.objects.filter(run=run)[:6]:
        answer(invitation, opens, enps=8)
    survey_services.survey_run_close(run=run, today=opens + dt.timedelta(days=1))
    return run


@pytest.mark.parametrize(
    ("url", "via"),
    [
        ("/api/v1/survey-runs/{id}/results.csv?subtree={team}&location=London", "api"),
        ("/api/v1/survey-runs/{id}/results/?format=csv&subtree={team}&location=London", "api"),
        ("/surveys/runs/{id}/results.csv?subtree={team}&location=London", "page"),
    ],
)
def test_a_survey_results_export_is_recorded_with_who_which_run_and_which_scope(
    api, client, org, cast, url, via
):
    run = _closed_run(org, cast)
    hr_admin = cast["hr_admin"]
    start = _last()
    path = url.format(id=run.pk, team=org["support"].pk)

    if via == "api":
        response = api.as_(hr_admin).get(path, REMOTE_ADDR="10.9.8.7")
    else:
        client.force_login(hr_admin.user)
        response = client.get(path, REMOTE_ADDR="10.9.8.7")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    [event] = _events("survey_results_exported", after=start)
    assert event.actor == hr_admin.user
    assert (event.target_type, event.target_id) == ("surveys.surveyrun", str(run.pk))
    assert event.details["scope"] == {"subtree": org["support"].pk, "location": "London"}
    assert event.details["via"] == via
    assert event.details["rows"] == len(response.content.decode().splitlines()) - 1
    assert event.ip == "10.9.8.7"


def test_json_results_and_refused_exports_are_not_recorded_as_exports(api, org, cast):
    run = _closed_run(org, cast)
    start = _last()

    json_results = api.as_(cast["hr_admin"]).get(f"/api/v1/survey-runs/{run.pk}/results/")
    refused = api.as_(cast["hr_admin"]).get(f"/api/v1/survey-runs/{run.pk}/results.csv?team=x")

    assert (json_results.status_code, refused.status_code) == (200, 400)
    assert _events("survey_results_exported", after=start) == []
