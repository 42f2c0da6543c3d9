"""The home page: each role's greeting and cards, recognition received and given, points, the
survey waiting, the team's latest results through the anonymity gate, the team's actions, and
a bounded number of queries."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cxculture.actions import services as action_services
from cxculture.actions.models import ActionPrompt
from cxculture.people.permissions import viewer_for
from tests.factories.actions import closed_run, make_action
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import fund_wallet, give
from tests.factories.surveys import ProgramFactory, open_run, question

MARCH = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC)
QUESTIONS = ("eng-proud", "rec-noticed", "ena-tools", "enps")
# Measured (20 for an employee, 19 for a manager, the same at both sizes): the session and user
# (2), the viewer (3), the team size, the managed teams or the organisation counts, recognition
# (3), points (1), the survey waiting (1), the latest run (1), its snapshot and tallies (4 to 7,
# fewer once the surveys cache holds the closed run), the trend over the programme's runs (the
# runs and their stamps: 2), actions (2) and prompts (1).
HOME_QUERIES = 24


@pytest.fixture
def april():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _program():
    return ProgramFactory(questions=[question(code) for code in QUESTIONS])


def _support_a_answers(count: int = 6) -> list[dict[str, int]]:
    """Engagement 4 of 6 favourable, recognition 2 of 6, enablement 6 of 6, eNPS 3 promoters
    and 2 detractors of 6."""
    proud = [4, 4, 4, 4, 2, 2]
    noticed = [2, 2, 2, 2, 4, 4]
    enps = [10, 10, 9, 5, 5, 8]
    return [
        {"eng_proud": proud[i], "rec_noticed": noticed[i], "ena_tools": 5, "enps": enps[i]}
        for i in range(count)
    ]


def _crowd(org, employee, teammate):
    # Seven in Support A, six of whom answer: enablement's 6 of 6 favourable is then nobody's
    # certain answer (with all seven answering it would be hidden).
    extra = [EmployeeFactory(team=org["support_a"]) for _ in range(5)]
    return [employee, teammate, *extra]


def _home(client, person) -> str:
    client.force_login(person.user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _field(page: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">([^<]*)<', page)
    assert found, f"no {name} on the page"
    return found.group(1)


# --- Each role's page ---------------------------------------------------------------------------

HOME_STUB = {
    "employee": ("Your team, your recognition", "Employee"),
    "manager": ("Your teams: their results", "Manager"),
    "hr_admin": ("You run the listening, recognition and rewards programmes", "HR admin"),
    "executive": ("The organisation's culture, customer outcomes", "Executive"),
}


@pytest.mark.parametrize("role", sorted(HOME_STUB))
def test_the_home_page_greets_each_role_with_its_own_lead(client, cast, role):
    page = _home(client, cast[role])

    lead, badge = HOME_STUB[role]
    assert lead in page
    assert f'<small class="role-badge">{badge}</small>' in page
    others = [text for other, (text, _) in HOME_STUB.items() if other != role]
    assert not any(text in page for text in others)


def test_the_home_page_shows_the_numbers_each_role_is_responsible_for(client, cast):
    manager_page = _home(client, cast["manager"])
    hr_page = _home(client, cast["hr_admin"])

    assert re.search(r"<li>Support A <span class=\"muted\">· 2 people</span></li>", manager_page)
    assert re.search(r"<li>Support B <span class=\"muted\">· 1 people</span></li>", manager_page)
    assert re.search(r'<div class="stat">7</div>\s*<div class="muted">active people in 5', hr_page)


# --- Recognition and points -----------------------------------------------------------------------


def test_it_counts_recognition_received_and_given_in_the_last_90_days(
    client, april, cast, employee, teammate, outsider
):
    april.move_to(NOW - dt.timedelta(days=100))
    give(teammate, employee, message="An old thank you")
    april.move_to(NOW - dt.timedelta(days=10))
    give(teammate, employee, message="First recent thanks")
    give(outsider, employee, message="Second recent thanks")
    give(outsider, [employee, teammate], message="Third recent thanks")
    give(teammate, employee, message="Fourth recent thanks")
    give(employee, outsider, message="Erin says thanks")
    april.move_to(NOW)

    page = _home(client, employee)

    assert _field(page, "received") == "4"
    assert _field(page, "given") == "1"
    latest = re.search(r'<ul id="home-latest-recognition">(.*?)</ul>', page, re.S)
    assert latest
    assert re.findall(r"(\w+) recent thanks", latest.group(1)) == ["Fourth", "Third", "Second"]
    assert "An old thank you" not in page
    assert f'href="/recognition/?person={employee.pk}"' in page


def test_it_shows_the_points_balance_with_a_link_to_the_rewards(
    client, employee, manager, hr_admin
):
    fund_wallet(employee, 120, manager=manager, hr=hr_admin)

    page = _home(client, employee)

    assert _field(page, "wallet") == "120"
    assert 'href="/recognition/rewards/"' in page


# --- The survey waiting ---------------------------------------------------------------------------


def test_an_open_survey_waiting_for_the_person_links_to_the_answer_form(client, employee):
    run = open_run(_program(), timezone.localdate())

    page = _home(client, employee)

    assert f'href="/surveys/runs/{run.pk}/respond/"' in page
    assert "No survey is waiting for you." not in page


def test_without_a_survey_waiting_the_page_says_so(client, employee):
    page = _home(client, employee)

    assert "No survey is waiting for you." in page
    assert "/respond/" not in page


# --- The team's latest results --------------------------------------------------------------------


def test_the_teams_latest_results_match_the_results_page(api, client, org, employee, teammate):
    _crowd(org, employee, teammate)
    closed_run(_program(), MARCH - dt.timedelta(days=91), {org["support_a"]: _support_a_answers()})
    run = closed_run(_program(), MARCH, {org["support_a"]: _support_a_answers()})

    page = _home(client, employee)

    results = api.as_(employee).get(f"/api/v1/survey-runs/{run.pk}/results/").json()
    assert results["reportable"] is True
    assert _field(page, "engagement_index") == f"{results['engagement_index']['score']:g}%"
    assert _field(page, "engagement_index") == "67%"
    assert _field(page, "enps") == f"{results['enps']['score']:g}"
    assert _field(page, "top_driver") == "Enablement"
    assert _field(page, "bottom_driver") == "Recognition"
    assert "Latest results: Support A" in page
    assert f'href="/surveys/runs/{run.pk}/results/"' in page


def test_with_one_driver_it_names_no_strongest_or_weakest(client, org, employee, teammate):
    _crowd(org, employee, teammate)
    program = ProgramFactory(questions=[question("eng-proud"), question("rec-noticed")])
    answers = [
        {"eng_proud": row["eng_proud"], "rec_noticed": row["rec_noticed"]}
        for row in _support_a_answers()
    ]
    closed_run(program, MARCH, {org["support_a"]: answers})

    page = _home(client, employee)

    assert _field(page, "only_driver") == "Recognition"
    assert "33% favourable" in page
    assert "Strongest" not in page


def test_results_under_the_threshold_say_why_and_show_no_number(client, org, employee, teammate):
    _crowd(org, employee, teammate)
    closed_run(_program(), MARCH, {org["support_a"]: _support_a_answers(3)})

    page = _home(client, employee)

    hidden = re.search(r'<p id="home-results-hidden">(.*?)</p>', page, re.S)
    assert hidden
    assert "Hidden to protect anonymity" in hidden.group(1)
    assert 'data-field="engagement_index"' not in page
    assert 'data-field="enps"' not in page


def test_a_run_of_another_team_is_not_the_teams_latest_result(client, org, employee, outsider):
    program = ProgramFactory(
        audience="teams", teams=[org["support_b"]], questions=[question("eng-proud")]
    )
    closed_run(program, MARCH, {})

    page = _home(client, employee)

    assert "No survey of your team has closed yet." in page


# --- The team's actions ---------------------------------------------------------------------------


def test_the_teams_open_actions_show_with_their_latest_update(client, cast, org):
    action = make_action(by=cast["manager"], team=org["support_a"], title="Fix the macro")
    action_services.action_update_post(
        by=viewer_for(cast["manager"].user),
        action=action,
        text="Macro rewritten, testing this week",
        status="in_progress",
        drop_reason="",
    )
    make_action(by=cast["manager"], team=org["support_b"], title="Not for Support A")

    page = _home(client, cast["employee"])
    other = _home(client, cast["outsider"])

    card = re.search(r'<section class="card" aria-labelledby="actions-h".*?</section>', page, re.S)
    assert card
    assert "Fix the macro" in card.group(0)
    assert "Macro rewritten, testing this week" in card.group(0)
    assert "In progress" in card.group(0)
    assert "Not for Support A" not in page
    assert "Fix the macro" not in other


def test_a_manager_is_prompted_to_commit_an_action_on_the_home_page(client, cast, org, employee):
    _crowd(org, employee, cast["teammate"])
    run = closed_run(_program(), MARCH, {org["support_a"]: _support_a_answers()})
    action_services.action_prompts_send(today=MARCH + dt.timedelta(days=7))
    prompt = ActionPrompt.objects.get(manager=cast["manager"])

    with time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False):
        manager_page = _home(client, cast["manager"])
        employee_page = _home(client, employee)

    link = f'href="/actions/new/?run={run.pk}&amp;team={prompt.team_id}"'
    assert link in manager_page
    assert link not in employee_page


# --- Bounded queries ------------------------------------------------------------------------------


def _world(org, employee, teammate, manager, size: int) -> None:
    people = _crowd(org, employee, teammate)
    people += [EmployeeFactory(team=org["support_a"]) for _ in range(size)]
    closed_run(_program(), MARCH, {org["support_a"]: _support_a_answers()})
    open_run(_program(), timezone.localdate())
    for index in range(size):
        give(people[(index + 1) % len(people)], employee)
        give(employee, people[(index + 2) % len(people)])
        action = make_action(by=manager, team=org["support_a"], title=f"Action {index}")
        action_services.action_update_post(
            by=viewer_for(manager.user), action=action, text="Going", status=None, drop_reason=""
        )


def _queries(client, person) -> int:
    client.force_login(person.user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("size", [2, 15])
def test_the_home_page_costs_the_same_queries_at_two_data_sizes(
    client, org, cast, employee, teammate, manager, size
):
    _world(org, employee, teammate, manager, size)

    # A closed run's snapshot may come from the cache (fewer queries): the budget is the cold one.
    assert _queries(client, employee) <= HOME_QUERIES
    assert _queries(client, manager) <= HOME_QUERIES
    assert _queries(client, employee) <= HOME_QUERIES


def test_a_superuser_without_an_employee_record_gets_the_organisation_cards(client, org):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)

    page = client.get("/").content.decode()

    assert "You run the listening" in page
    assert 'id="home-recognition"' not in page
    assert "No survey of your team has closed yet." in page


def test_every_link_of_the_recognition_card_opens_a_page(client, employee):
    client.force_login(employee.user)
    home = client.get("/").content.decode()
    card = home.split('id="home-recognition"', 1)[1].split("</section>", 1)[0]

    links = re.findall(r'href="([^"#]+)[^"]*"', card)

    assert links
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link
