"""What people do in the product, in a real browser: sign in, recognise, answer a survey."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from cxculture.people.models import Team
from recognition import selectors as recognition_selectors
from recognition import services as recognition_services
from recognition.models import Recognition, Redemption
from surveys.models import SealedResponse, SurveyRun
from tests.e2e.conftest import BOTH_WIDTHS, PHONE
from tests.factories.actions import closed_run, pulse_program, recognition_answers
from tests.factories.people import CompanyValueFactory, EmployeeFactory
from tests.factories.recognition import RewardFactory, give
from tests.factories.surveys import ProgramFactory, load_question_library, open_run, question
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ROLE_BADGE = {
    "employee": "Employee",
    "manager": "Manager",
    "hr_admin": "HR admin",
    "executive": "Executive",
}
PAGES = ["/", "/surveys/", "/recognition/", "/people/"]


@pytest.mark.parametrize("role", sorted(ROLE_BADGE))
def test_each_role_signs_in_and_no_page_scrolls_sideways_on_a_phone(open_session, cast, role):
    session = open_session(PHONE)

    session.sign_in(cast[role].user.email, PASSWORD)

    assert session.page.locator(".role-badge").inner_text() == ROLE_BADGE[role]
    for path in PAGES:
        response = session.go(path)
        assert response.status == 200, path
        assert session.horizontal_overflow() == 0, f"{path} scrolls sideways at 390 px"
        session.screenshot(f"{role}-{path.strip('/') or 'home'}-390")
    assert session.console_errors == []


def test_a_wrong_password_keeps_the_person_on_the_sign_in_page(open_session, cast):
    session = open_session()

    session.go("/accounts/login/")
    session.page.fill("#id_username", cast["employee"].user.email)
    session.page.fill("#id_password", "not the password")
    session.page.click("button[type=submit]")

    assert "/accounts/login/" in session.page.url
    assert session.page.locator("[role=alert]").is_visible()


def test_recognition_given_in_the_browser_shows_in_the_feed(open_session, cast):
    CompanyValueFactory(name="Customer first")
    session = open_session()
    session.sign_in(cast["employee"].user.email, PASSWORD)
    session.go("/recognition/")

    # The give form finds colleagues by search (htmx as you type) and offers them as checkboxes.
    session.page.fill("#id_who", "Tom")
    session.page.get_by_label("Tom Teammate").check()
    session.page.fill("#id_message", "Stayed late to sort out a refund for a customer.")
    session.page.get_by_label("Customer first").check()
    session.page.click("text=Send recognition")

    session.page.wait_for_selector("text=Recognition sent")
    assert Recognition.objects.filter(giver=cast["employee"]).count() == 1
    session.go("/recognition/")
    feed = session.page.locator("#feed")
    assert "Stayed late to sort out a refund" in feed.inner_text()
    assert "Tom Teammate" in feed.inner_text()
    session.screenshot("employee-recognition-feed")


def test_hr_opens_a_run_and_an_employee_answers_from_the_emailed_link(open_session, cast):
    load_question_library()
    hr = open_session()
    hr.sign_in(cast["hr_admin"].user.email, PASSWORD)
    hr.go("/surveys/programs/new/")
    hr.page.fill("#id_name", "Weekly pulse")
    hr.page.select_option("#id_cadence", "weekly")
    hr.page.fill("#id_starts_on", "2026-01-05")
    hr.page.click("text=Create program")
    hr.page.wait_for_selector("text=Open a run now")
    hr.page.click("text=Open a run now")
    hr.page.wait_for_load_state()
    run = SurveyRun.objects.get(program__name="Weekly pulse")
    assert run.status == SurveyRun.Status.OPEN

    invitation = next(m for m in mail.outbox if cast["employee"].user.email in m.to)
    link = re.search(r"https?://[^/\s]+(/surveys/r/[^/\s]+/)", invitation.body).group(1)
    respondent = open_session(PHONE)  # not signed in: the link is enough
    respondent.go(link)
    respondent.page.locator(".choices-agreement label").first.click()
    respondent.screenshot("employee-survey-answer-390")
    assert respondent.horizontal_overflow() == 0
    respondent.page.click("text=Send my answers")

    respondent.page.wait_for_url(re.compile(r".*/surveys/thanks/$"))
    assert SealedResponse.objects.filter(run=run).count() == 1  # sealed until the close
    again = respondent.go(link)
    assert again.status == 409
    assert "already answered" in respondent.page.inner_text("main")
    hr.go(f"/surveys/programs/{run.program_id}/")
    assert "Weekly pulse" in hr.page.inner_text("main")


@BOTH_WIDTHS
def test_an_employee_answers_the_open_survey_from_home_recognises_a_colleague_and_sees_their_points(
    open_session, cast, viewport
):
    employee, teammate = cast["employee"], cast["teammate"]
    load_question_library()
    CompanyValueFactory(name="Customer first")
    run = open_run(
        ProgramFactory(name="Spring pulse", questions=[question("eng-proud")]),
        timezone.localdate(),
    )
    give(teammate, employee, points=30, message="Thanks for covering my shift.")
    session = open_session(viewport)

    session.sign_in(employee.user.email, PASSWORD)

    assert session.page.locator("#home-points [data-field=wallet]").inner_text() == "30"
    assert "Spring pulse #1" in session.page.locator("#home-survey").inner_text()
    assert "Thanks for covering my shift." in session.page.locator("#home-recognition").inner_text()
    session.shows("employee-journey-home")

    # Answer the open survey from the home page.
    with session.page.expect_navigation():
        session.page.get_by_role("link", name="Answer the survey").click()
    assert "I am proud to work here." in session.page.inner_text("main")
    session.page.locator(".choices-agreement label", has_text="Agree").first.click()
    session.shows("employee-journey-survey")
    with session.page.expect_navigation():
        session.page.get_by_role("button", name="Send my answers").click()
    assert SealedResponse.objects.filter(run=run).count() == 1  # sealed until the close
    session.use_menu("Home")
    assert "No survey is waiting for you." in session.page.locator("#home-survey").inner_text()

    # Recognise a colleague, with points from the monthly allowance.
    with session.page.expect_navigation():
        session.page.get_by_role("link", name="Recognise someone").click()
    session.page.fill("#id_who", "Tom")
    session.page.get_by_label("Tom Teammate").check()
    session.page.fill("#id_message", "Calmed an angry customer and fixed the refund on the call.")
    session.page.get_by_label("Customer first").check()
    session.page.fill("#id_points_per_receiver", "10")
    session.page.get_by_role("button", name="Send recognition").click()
    session.page.wait_for_selector("text=Recognition sent")
    feed = session.page.locator("#feed").inner_text()
    assert "Calmed an angry customer" in feed and "Tom Teammate" in feed
    session.shows("employee-journey-recognition")

    # My points: 10 of the 100 given, the 30 received to spend, both in the history.
    session.go("/recognition/points/")
    cards = session.page.locator("main .card .stat").all_inner_texts()
    assert cards[:2] == ["90", "30"]
    history = session.page.locator("main table tbody").inner_text()
    assert "+30" in history and "-10" in history
    assert recognition_selectors.balances_for(employee).allowance == 90
    session.shows("employee-journey-points")
    session.finish()


@BOTH_WIDTHS
def test_hr_syncs_the_directory_approves_a_redemption_reads_results_and_checks_the_audit_log(
    open_session, cast, org, viewport
):
    employee, hr = cast["employee"], cast["hr_admin"]
    load_question_library()
    for _ in range(4):
        EmployeeFactory(team=org["support_a"])
    run = closed_run(
        pulse_program(name="March pulse"),
        dt.date(2026, 3, 2),
        {org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2])},
    )
    give(cast["teammate"], employee, points=30)
    recognition_services.redemption_request(
        employee=employee, reward=RewardFactory(name="Team breakfast", cost_points=25)
    )
    session = open_session(viewport)

    session.sign_in(hr.user.email, PASSWORD)

    # The directory sync page: a teams file adds a team under the company.
    with session.page.expect_navigation():
        session.page.get_by_role("link", name="Sync the directory").click()
    session.shows("hr-journey-sync")
    session.page.select_option("#id_kind", "teams")
    session.page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "teams.csv",
                "mimeType": "text/csv",
                "buffer": b"external_id,name,parent_external_id\nBILL,Billing,ROOT\n",
            }
        ],
    )
    with session.page.expect_navigation():
        session.page.get_by_role("button", name="Check and apply").click()
    status = session.page.locator("#sync-status").inner_text()
    assert "1\nrows read" in status and "1 / 0 / 0" in status
    assert Team.objects.get(external_id="BILL").parent == org["root"]
    session.shows("hr-journey-sync-applied")

    # The redemptions queue: Erin's breakfast, approved.
    session.use_menu("Redemptions")
    row = session.page.locator("main tbody tr", has_text="Team breakfast")
    assert "Erin Employee" in row.inner_text() and "25" in row.inner_text()
    session.shows("hr-journey-redemptions")
    with session.page.expect_navigation():
        row.get_by_role("button", name="Approve").click()
    assert Redemption.objects.get().status == Redemption.Status.APPROVED

    # The results of the closed run, for the whole organisation.
    session.use_menu("Surveys")
    with session.page.expect_navigation():
        session.page.locator(f'a[href="/surveys/runs/{run.pk}/results/"]').first.click()
    assert "Whole organisation" in session.page.locator(".lead").inner_text()
    assert session.page.locator(".stats .stat").nth(2).inner_text() == "6"
    recognition = session.page.locator('#drivers-table tr[data-driver="recognition"]')
    assert "25%" in recognition.inner_text()
    session.shows("hr-journey-results")

    # The audit log holds the approval and the sync.
    session.use_menu("Audit log")
    log = session.page.locator("main table tbody").inner_text()
    assert f"{hr.display_name} (HR) approved" in log and "'s redemption of" in log
    assert f"{hr.display_name} (HR) applied a directory sync" in log
    session.shows("hr-journey-audit")
    session.finish()
