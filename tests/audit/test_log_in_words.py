"""The audit log reads as sentences with people's and things' names, one per action kind, and
HR filters it by action and by person."""

import datetime as dt
import html

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from cxculture.audit.models import AuditEvent
from cxculture.audit.selectors import audit_lines
from cxculture.audit.sentences import SENTENCES
from cxculture.audit.services import audit_export, audit_record
from cxculture.outcomes.ingest import jobs
from cxculture.people import services as people_services
from recognition import services as recognition_services
from tests.factories.outcomes import csv_bytes, record
from tests.factories.recognition import RewardFactory, fund_wallet, give
from tests.factories.surveys import ProgramFactory, load_question_library, open_run
from tests.people.test_directory_sync import everyone, to_csv

pytestmark = pytest.mark.django_db


def _log(hr_admin, **filters) -> str:
    client = Client()
    client.force_login(hr_admin.user)
    response = client.get("/audit/", filters)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_every_action_kind_has_a_sentence_of_its_own():
    assert set(SENTENCES) == set(AuditEvent.Action.values)


def test_a_threshold_change_names_the_programme_and_both_numbers(api, hr_admin):
    load_question_library()
    program = ProgramFactory(name="Fortnightly pulse", anonymity_threshold=5, comment_threshold=10)

    api.as_(hr_admin).patch(f"/api/v1/surveys/{program.pk}/", {"anonymity_threshold": 7})
    api.as_(hr_admin).patch(f"/api/v1/surveys/{program.pk}/", {"comment_threshold": 12})

    page = _log(hr_admin, action="survey_threshold_changed")
    assert "Hana HR (HR) changed the anonymity threshold of Fortnightly pulse from 5 to 7" in page
    assert "Hana HR (HR) changed the comment threshold of Fortnightly pulse from 10 to 12" in page


def test_redemptions_read_with_the_person_the_reward_and_the_points(employee, manager, hr_admin):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    reward = RewardFactory(name="Coffee voucher", cost_points=50)
    first = recognition_services.redemption_request(employee=employee, reward=reward)
    second = recognition_services.redemption_request(employee=employee, reward=reward)
    recognition_services.redemption_approve(redemption=first, by=hr_admin.user)
    recognition_services.redemption_reject(redemption=second, by=hr_admin.user, note="Sold out")

    page = _log(hr_admin)

    assert page.count("Erin Employee asked for Coffee voucher (50 points)") == 2
    assert "Hana HR (HR) approved Erin Employee's redemption of Coffee voucher (50 points)" in page
    assert (
        "Hana HR (HR) rejected Erin Employee's redemption of Coffee voucher (50 points); "
        "the points went back" in page
    )


def test_a_reversal_names_giver_receiver_points_and_reason(employee, teammate, hr_admin):
    recognition = give(employee, teammate, points=10)
    recognition_services.recognition_reverse(
        recognition=recognition, by=hr_admin.user, reason="Sent by mistake"
    )

    page = _log(hr_admin, action="points_reversed")

    assert (
        f"Hana HR (HR) reversed Erin Employee's recognition of Tom Teammate from "
        f"{recognition.created_at:%-d %b %Y} (10 points each): “Sent by mistake”" in page
    )


def test_a_role_change_names_the_person_and_the_roles(api, employee, hr_admin):
    api.as_(hr_admin).patch(f"/api/v1/employees/{employee.pk}/", {"roles": ["executive"]})

    page = _log(hr_admin, action="roles_changed")

    assert "Hana HR (HR) set Erin Employee's roles to employee and executive" in page


def test_a_change_of_managers_names_the_team_and_its_managers(api, org, cast):
    hr = cast["hr_admin"]
    api.as_(hr).patch(f"/api/v1/teams/{org['sales'].pk}/", {"managers": [cast["sales_person"].pk]})
    api.as_(hr).patch(f"/api/v1/teams/{org['sales'].pk}/", {"managers": []})

    page = _log(hr, action="team_managers_changed")

    assert "Hana HR (HR) made Sam Sales the manager of Sales" in page
    assert "Hana HR (HR) left Sales without a manager" in page


def test_a_directory_sync_reads_with_what_it_changed(cast, hr_admin):
    sync = people_services.directory_sync_start(
        kind="employees", content=to_csv(everyone(cast)), requested_by=hr_admin.user
    )

    page = _log(hr_admin, action="directory_sync_applied")

    assert f"Hana HR (HR) applied a directory sync of people: {sync.message}" in page


def test_an_outcome_import_names_its_file_and_source(
    org, hr_admin, django_capture_on_commit_callbacks
):
    content = csv_bytes([record("csat", 5, "2025-06-02T10:00:00Z", team="SUP-A")])
    with django_capture_on_commit_callbacks(execute=False):
        job, _ = jobs.outcome_import_create(
            file=ContentFile(content, name="csat-june.csv"),
            file_name="csat-june.csv",
            size=len(content),
            requested_by=hr_admin.user,
        )

    page = _log(hr_admin, action="outcome_import_created")

    assert (
        f"Hana HR (HR) imported customer outcomes from csat-june.csv (source {job.source})" in page
    )


def test_an_export_names_the_run_the_rows_and_the_scope(org, hr_admin):
    load_question_library()
    run = open_run(ProgramFactory(name="Fortnightly pulse"), dt.date(2026, 3, 2))
    audit_export(
        actor=hr_admin,
        action="survey_results_exported",
        target=run,
        scope={"subtree": org["support"].pk, "location": "London"},
        rows=12,
        via="page",
    )

    page = _log(hr_admin, action="survey_results_exported")

    assert (
        "Hana HR (HR) exported 12 rows of the results of Fortnightly pulse #1 (02 Mar 2026) as "
        "CSV from the results page, for Support and the teams under it and location London" in page
    )


def test_an_action_without_a_sentence_or_target_still_reads(employee, hr_admin):
    event = audit_record(
        actor=hr_admin, action="budget_frozen", target=employee, details={"monthly_points": 250}
    )
    gone = audit_record(actor=None, action="roles_changed", target=None, details={"roles": []})

    [line, gone_line] = audit_lines([event, gone])

    assert line.sentence == "Hana HR (HR): Budget frozen — Erin Employee (monthly points: 250)"
    assert gone_line.sentence == "The system: Roles changed (roles: none)"


def test_hr_filters_the_log_by_person(api, cast):
    hr = cast["hr_admin"]
    api.as_(hr).patch(f"/api/v1/employees/{cast['employee'].pk}/", {"roles": ["executive"]})
    api.as_(hr).patch(f"/api/v1/employees/{cast['teammate'].pk}/", {"roles": ["executive"]})

    page = _log(hr, person="Erin Employee")

    assert "set Erin Employee's roles to employee and executive" in page
    assert "Tom Teammate" not in page


def test_the_person_filter_keeps_their_redemptions_and_what_they_did(employee, manager, hr_admin):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    reward = RewardFactory(name="Coffee voucher", cost_points=50)
    redemption = recognition_services.redemption_request(employee=employee, reward=reward)
    recognition_services.redemption_approve(redemption=redemption, by=hr_admin.user)

    page = _log(hr_admin, person="erin", action="redemption_approved")

    assert "approved Erin Employee's redemption of Coffee voucher" in page
    assert "Erin Employee asked for" not in page  # another action kind
    assert "Nothing matches this filter." in _log(hr_admin, person="nobody-by-this-name")


def test_an_unknown_action_filter_shows_everything(employee, hr_admin):
    audit_record(actor=hr_admin, action="roles_changed", target=employee, details={"roles": []})

    assert "set Erin Employee's roles to none" in _log(hr_admin, action="no-such-action")


@pytest.mark.parametrize("rounds", [1, 6])
def test_a_page_of_every_kind_of_event_costs_the_same_queries(
    api, cast, rounds, django_assert_max_num_queries
):
    employee, teammate, manager, hr = (
        cast["employee"],
        cast["teammate"],
        cast["manager"],
        cast["hr_admin"],
    )
    fund_wallet(employee, 100 * rounds, manager=manager, hr=hr)
    reward = RewardFactory(name="Coffee voucher", cost_points=50)
    for _ in range(rounds):
        redemption = recognition_services.redemption_request(employee=employee, reward=reward)
        recognition_services.redemption_approve(redemption=redemption, by=hr.user)
        recognition = give(employee, teammate, points=1)
        recognition_services.recognition_reverse(recognition=recognition, by=hr.user, reason="x")
        api.as_(hr).patch(f"/api/v1/employees/{teammate.pk}/", {"roles": ["executive"]})
    client = Client()
    client.force_login(hr.user)

    with django_assert_max_num_queries(14):
        page = html.unescape(client.get("/audit/").content.decode())

    assert page.count("approved Erin Employee's redemption of Coffee voucher") == rounds
    assert page.count("reversed Erin Employee's recognition of Tom Teammate") == rounds
