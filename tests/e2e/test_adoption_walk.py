"""The first day of a new customer, in a real browser: the whole adoption path of README's
"Adopting cxculture: the first day".

HR signs in to an empty organisation, loads the HR system's export (its own headers, teams and
people in one file) through the directory mapping step, loads a helpdesk CSAT export through
the outcomes mapping step, writes a custom driver and question, creates a programme from the
pulse template with that question, edits it, previews its audience and launches it. Then a
person who arrived by the sync signs in through the OpenID Connect provider (a real one on
loopback, tests/oidc_provider) and answers the survey.
"""

import csv
import io
import re

import pytest

from cxculture.outcomes.models import OutcomeImport, OutcomeRecord
from cxculture.people.models import Employee, Role, Team
from surveys.models import Invitation, Question, SealedResponse, SurveyProgram, SurveyRun
from tests.e2e.conftest import DESKTOP
from tests.factories.outcomes import builtin_metrics
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import load_question_library
from tests.helpers import PASSWORD
from tests.oidc_provider.process import running_provider

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER_PASSWORD = "provider pass phrase 2026"
AGENT_EMAIL = "ana.agent@brightline.example"
HR_HEADER = [
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "team_id",
    "team_name",
    "parent_team_id",
    "is_manager",
    "frontline",
    "job_title",
]
AGENTS = [  # (first name, team id): six agents in each support team
    (name, "SUP-1" if n < 6 else "SUP-2")
    for n, name in enumerate(
        ["Ana", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hal", "Ida", "Jon", "Kim", "Lou"]
    )
]
TEAMS = {"HQ": ("Head office", ""), "SUP": ("Support", "HQ")}
TEAMS |= {"SUP-1": ("Support 1", "SUP"), "SUP-2": ("Support 2", "SUP")}
# Zendesk's satisfaction-rating fields (as tests/outcomes/samples), and the agent's e-mail.
ZENDESK_COLUMNS = [
    *("id", "url", "ticket_id", "score", "comment", "reason", "assignee_id", "group_id"),
    *("requester_id", "created_at", "updated_at", "assignee_email"),
]
OFFERED_ROWS = (5, 12)  # spreadsheet rows (the header is row 1) of surveys nobody answered


def agent_email(first_name: str) -> str:
    return f"{first_name.lower()}.agent@brightline.example"


def hr_export() -> bytes:
    """The HR system's export: its own headers; each person's row carries their team."""
    rows = [
        ["HR-1", "hana.hr@brightline.example", "Hana", "Hughes", "HQ", "", "", "N", "N", "HR"],
        ["M-1", "maya.lead@brightline.example", "Maya", "Lead", "SUP", "", "", "Y", "N", "Lead"],
    ]
    rows += [
        [f"A-{n:02d}", agent_email(name), name, "Agent", team, "", "", "N", "Y", "Agent"]
        for n, (name, team) in enumerate(AGENTS, start=1)
    ]
    for row in rows:
        row[5], row[6] = TEAMS[row[4]]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HR_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def helpdesk_export() -> bytes:
    """A Zendesk satisfaction-ratings export with the agent's e-mail added as a column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ZENDESK_COLUMNS)
    for n in range(20):
        name, _ = AGENTS[n % len(AGENTS)]
        score = "offered" if n + 2 in OFFERED_ROWS else ("bad" if n % 4 == 0 else "good")
        at = f"2026-11-{1 + n:02d}T10:00:00Z"
        ids = [70000 + n, "", 5000 + n]
        writer.writerow(
            [*ids, score, "", "", 900 + n % 12, 360001, 8000 + n, at, at, agent_email(name)]
        )
    return buffer.getvalue().encode()


@pytest.fixture(scope="module")
def provider(live_server):
    users = [{"email": AGENT_EMAIL, "password": PROVIDER_PASSWORD}]
    callback = live_server.url + "/accounts/oidc/callback/"
    with running_provider(redirect_uris=[callback], users=users) as running:
        yield running


@pytest.fixture
def new_customer(settings, provider, db):
    """What a fresh deployment holds: the catalogues it ships, single sign-on configured, and
    the HR admin who set it up, in the head-office team."""
    settings.CXC_OIDC_ISSUER = provider.issuer
    settings.CXC_OIDC_CLIENT_ID = provider.client_id
    settings.CXC_OIDC_CLIENT_SECRET = provider.client_secret
    settings.CXC_OIDC_PROVIDER_NAME = "Brightline sign-in"
    builtin_metrics()
    load_question_library()
    head_office = TeamFactory(name="Head office", external_id="HQ")
    return EmployeeFactory(
        first_name="Hana",
        last_name="Hughes",
        email="hana.hr@brightline.example",
        external_id="HR-1",
        team=head_office,
        title="HR",
        is_front_line=False,
        roles=[Role.HR_ADMIN],
    )


def test_a_new_customer_adopts_cxculture_on_its_first_day(open_session, new_customer, live_server):
    hr = open_session(DESKTOP)
    page = hr.page
    hr.sign_in(new_customer.user.email, PASSWORD)

    # --- 1. The HR export, through the directory mapping step -----------------------------
    hr.go("/people/sync/")
    page.select_option("#id_kind", "employees")
    page.set_input_files(
        "#id_file", files=[{"name": "hris.csv", "mimeType": "text/csv", "buffer": hr_export()}]
    )
    with page.expect_navigation():
        page.click("button:has-text('Check and apply')")
    assert re.search(r"/people/sync/\d+/map/$", page.url)
    # Each column with its first value, and the field it fills guessed from its name.
    assert "hana.hr@brightline.example" in page.inner_text("main")
    guessed = {header: page.get_by_label(header, exact=True).input_value() for header in HR_HEADER}
    assert guessed == {
        "employee_id": "external_id",
        "email": "email",
        "first_name": "first_name",
        "last_name": "last_name",
        "team_id": "team_external_id",
        "team_name": "team_name",
        "parent_team_id": "parent_team_external_id",
        "is_manager": "is_manager",
        "frontline": "is_front_line",
        "job_title": "title",
    }
    page.fill("#id_save_mapping_as", "Brightline HRIS")
    hr.shows("adoption-directory-mapping")
    with page.expect_navigation():
        page.click("button:has-text('Check and apply')")
    status = page.inner_text("#sync-status")
    assert "Teams: 3 created, 0 updated, 1 unchanged." in status, status
    assert "People: 13 created, 0 updated, 1 unchanged, 0 deactivated." in status, status
    assert Employee.objects.filter(is_active=True).count() == 14
    assert Team.objects.get(external_id="SUP-2").parent.external_id == "SUP"

    # --- 2. The helpdesk export, through the outcomes mapping step ------------------------
    hr.go("/outcomes/")
    page.set_input_files(
        "#id_file",
        files=[{"name": "zendesk.csv", "mimeType": "text/csv", "buffer": helpdesk_export()}],
    )
    page.select_option("#id_preset", "zendesk-csat")
    with page.expect_navigation():
        page.click("button:has-text('Check and import')")
    assert "/outcomes/imports/map/" in page.url
    columns = page.inner_text("#file-columns")
    assert "assignee_email" in columns and agent_email("Ana") in columns
    # Pre-filled from the Zendesk preset; the teams come from the agents, not Zendesk groups.
    assert page.input_value("#id_value") == "score"
    assert page.input_value("#id_team_external_id") == "group_id"
    assert page.input_value("#id_fixed_metric") == "csat"
    page.select_option("#id_team_external_id", "")
    page.select_option("#id_agent", "assignee_email")
    hr.shows("adoption-outcomes-mapping")
    with page.expect_navigation():
        page.click("button:has-text('Save the mapping and import')")
    assert re.search(r"/outcomes/imports/\d+/$", page.url)
    assert "18 of 20 rows imported, 0 already there, 2 rejected." in page.inner_text("main")
    job = OutcomeImport.objects.get()
    assert (job.source, job.rows_accepted) == ("zendesk", 18)
    teams = set(OutcomeRecord.objects.values_list("team__external_id", flat=True))
    assert teams == {"SUP-1", "SUP-2"}

    # --- 3. A custom driver and question, a programme from a template ---------------------
    hr.go("/surveys/questions/")
    page.fill("#id_label", "Benefits")
    page.click("text=Add driver")
    page.wait_for_selector("text=Benefits is a driver now.")
    page.fill("#id_text", "Our benefits fit my life.")
    page.select_option("#id_driver", label="Benefits")
    page.click("text=Add question")
    page.wait_for_selector("td:has-text('Our benefits fit my life.')")

    support = Team.objects.get(external_id="SUP")
    support_1 = Team.objects.get(external_id="SUP-1")
    hr.go("/surveys/programs/new/")
    page.click("a:has-text('Pulse')")
    page.wait_for_url(re.compile(r".*template=pulse$"))
    page.fill("#id_name", "Benefits pulse")
    page.fill("#id_starts_on", "2026-03-02")
    page.get_by_label("Our benefits fit my life.").check()
    page.select_option("#id_audience", "subtrees")
    page.select_option("#id_teams", [str(support.pk)])
    page.wait_for_selector("#audience-count:has-text('13 people will be invited')")
    page.click("text=Create program")
    page.wait_for_selector("text=Benefits pulse is set up.")

    # Edit it: quarterly (a pulse rotates its questions; a quarterly run asks every one, the
    # new question included) and a longer run; a look at one team alone, then back.
    page.click("text=Edit program")
    page.select_option("#id_cadence", "quarterly")
    page.fill("#id_run_length_days", "14")
    page.select_option("#id_audience", "teams")
    page.select_option("#id_teams", [str(support_1.pk)])
    page.wait_for_selector("#audience-count:has-text('6 people will be invited')")
    page.select_option("#id_audience", "subtrees")
    page.select_option("#id_teams", [str(support.pk)])
    page.wait_for_selector("#audience-count:has-text('13 people will be invited')")
    page.click("text=Save program")
    page.wait_for_selector("text=Benefits pulse is saved.")
    program = SurveyProgram.objects.get(name="Benefits pulse")
    assert (program.cadence, program.run_length_days) == ("quarterly", 14)
    assert "13 people will be invited" in page.inner_text("main")
    hr.shows("adoption-programme")

    # Launch.
    page.click("text=Open a run now")
    page.wait_for_selector("text=Run #1 is open")
    run = SurveyRun.objects.get(program__name="Benefits pulse")
    assert Invitation.objects.filter(run=run).count() == 13
    assert run.questions.filter(
        pk=Question.objects.get(text="Our benefits fit my life.").pk
    ).exists()
    hr.finish()

    # --- 4. A synced agent signs in through the identity provider and answers -------------
    agent = open_session(DESKTOP)
    agent.go("/accounts/login/")
    agent.page.click("text=Sign in with Brightline sign-in")
    agent.page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/login/.*"))
    agent.page.fill("#id_username", AGENT_EMAIL)
    agent.page.fill("#id_password", PROVIDER_PASSWORD)
    agent.page.click("#provider-sign-in")
    agent.page.wait_for_url(live_server.url + "/")
    assert agent.page.locator("h1").inner_text() == "Hello, Ana"
    assert "Benefits pulse #1" in agent.page.locator("#home-survey").inner_text()
    with agent.page.expect_navigation():
        agent.page.get_by_role("link", name="Answer the survey").click()
    question = agent.page.locator("fieldset.question", has_text="Our benefits fit my life.")
    assert question.locator("legend").inner_text() == "Our benefits fit my life."
    question.locator("label", has_text="Strongly agree").click()
    agent.shows("adoption-agent-survey")
    with agent.page.expect_navigation():
        agent.page.get_by_role("button", name="Send my answers").click()
    assert SealedResponse.objects.filter(run=run).count() == 1
    agent.go("/")
    assert "No survey is waiting for you." in agent.page.locator("#home-survey").inner_text()
    agent.finish()
