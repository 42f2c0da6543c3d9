"""Query budgets: every list endpoint and page issues the same number of queries whatever the size.

Each row is measured twice: on the cast (with one value, policy and directory sync), then after
`grow_organisation` has added 40+ teams, 120 people with managers, values, policies and syncs.
The small size must stay within the row's ceiling and the large size must issue exactly as many
queries as the small one, so an N+1 fails here. Requests authenticate as a real client would (an
API token, a session cookie), so the viewer is built afresh for each request.

To cover a new list endpoint or page, append a `Budget` row.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cxculture.people import services
from cxculture.people.models import DirectorySync
from surveys import services as survey_services
from surveys.models import Invitation, SurveyRun
from tests.factories.people import CompanyValueFactory, EmployeeFactory, PolicyFactory, TeamFactory
from tests.factories.recognition import a_value, give
from tests.factories.surveys import ProgramFactory, answer, load_question_library, open_run
from tests.helpers import grow_organisation, token_for


def _results(response) -> int:
    return len(response.json()["results"])


def _table_rows(response) -> int:
    return response.content.decode().count("<tr>")


def _stat(label: str) -> Callable:
    """The number shown in a home-page card, e.g. "12 people"."""

    def read(response) -> int:
        match = re.search(rf"(\d+) {label}", response.content.decode())
        assert match, f"{label!r} is not on the page"
        return int(match.group(1))

    return read


def _organisation_people(response) -> int:
    match = re.search(
        r'<div class="stat">(\d+)</div>\s*<div class="muted">active people',
        response.content.decode(),
    )
    assert match, "the organisation card is not on the page"
    return int(match.group(1))


def _list_items(response) -> int:
    return response.content.decode().count("<li>")


@dataclass(frozen=True)
class Budget:
    path: str
    role: str
    most: int  # ceiling for the small size; the large size must match the small one exactly
    grows: Callable  # a number read from the response that the larger data must increase
    api: bool = True


BUDGETS = [
    # --- API lists: the token and its user (1), the viewer (1), the count and the page (2) -------
    Budget("/api/v1/teams/", "employee", 5, _results),
    Budget("/api/v1/teams/", "hr_admin", 5, _results),
    Budget("/api/v1/employees/", "employee", 4, _results),
    Budget("/api/v1/employees/", "manager", 4, _results),
    Budget("/api/v1/employees/", "hr_admin", 4, _results),
    Budget("/api/v1/employees/?search=a", "hr_admin", 4, _results),
    Budget("/api/v1/values/", "employee", 4, _results),
    Budget("/api/v1/values/", "hr_admin", 4, _results),
    Budget("/api/v1/policies/", "employee", 4, _results),
    Budget("/api/v1/policies/", "hr_admin", 4, _results),
    Budget("/api/v1/directory-syncs/", "hr_admin", 4, _results),
    # --- Pages: the session and its user (2), the viewer (1), then the page's own reads -------
    # The home page also reads recognition, points, the open survey, the latest results and
    # the team's actions (tests/insights/test_home.py checks what it shows).
    # Employees and managers also read their teams' customer outcome trends (2).
    Budget("/", "employee", 13, _stat("people"), api=False),
    Budget("/", "manager", 15, _list_items, api=False),
    Budget("/", "hr_admin", 13, _organisation_people, api=False),
    Budget("/", "executive", 13, _organisation_people, api=False),
    Budget("/people/", "employee", 5, _table_rows, api=False),
    Budget("/people/", "manager", 5, _table_rows, api=False),
    # HR also sees how many people have no password yet (one COUNT).
    Budget("/people/", "hr_admin", 6, _table_rows, api=False),
    # the sync page also lists the saved column mappings for its select
    Budget("/people/sync/", "hr_admin", 5, _table_rows, api=False),
]


@pytest.fixture
def small(org, cast):
    """The cast with one of everything a list shows, so the small size serializes each kind."""
    CompanyValueFactory(name="Own the outcome")
    PolicyFactory(code="refund-window", owner_team=org["support"])
    services.directory_sync_start(
        kind=DirectorySync.Kind.TEAMS,
        content=b"external_id,name,parent_external_id\nRET,Retention,SAL\n",
        file_name="teams.csv",
        requested_by=cast["hr_admin"].user,
    )
    return cast


def _client_for(budget: Budget, person) -> Client | APIClient:
    if budget.api:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(person)}")
        return client
    client = Client()
    client.force_login(person.user)
    return client


@pytest.mark.parametrize("budget", [pytest.param(b, id=f"{b.path} as {b.role}") for b in BUDGETS])
def test_the_query_count_does_not_grow_with_the_organisation(
    budget, small, org, django_assert_max_num_queries, django_assert_num_queries
):
    person = small[budget.role]
    client = _client_for(budget, person)

    with django_assert_max_num_queries(budget.most) as on_the_cast:
        response = client.get(budget.path)
    assert response.status_code == 200
    small_number = budget.grows(response)

    grow_organisation(org, requested_by=small["hr_admin"].user)
    with django_assert_num_queries(len(on_the_cast.captured_queries)):
        response = client.get(budget.path)

    assert response.status_code == 200
    assert budget.grows(response) > small_number


# --- The paths `make bench` measures -----------------------------------------------------------
#
# Each size is built from scratch through factories and services in its own savepoint (rolled
# back afterwards), with the same shape — one survey program with two closed runs and one open
# run, recognitions, a department of teams — but several times the teams, people, answers and
# recognitions. A query per team, person or row (N+1) makes the counts differ.

OPENS = dt.date(2026, 3, 2)
SMALL = (3, 6)  # teams, people per team
LARGE = (9, 8)


def _world(root, teams: int, per_team: int) -> dict:
    """A department of `teams` teams answering two closed runs, with recognitions among them."""
    department = TeamFactory(name=f"Operations {teams}", parent=root)
    people = []
    for number in range(teams):
        team = TeamFactory(name=f"Ops {teams}-{number}", parent=department)
        people += [
            EmployeeFactory(
                team=team,
                location=["Leeds", "York"][index % 2],
                hire_date=dt.date(2019 + index % 4, 1, 1),
            )
            for index in range(per_team)
        ]
    program = ProgramFactory(audience="subtrees", teams=[department])
    closed = []
    for number in range(2):
        day = OPENS + dt.timedelta(days=91 * number)
        run = open_run(program, day)
        for index, invitation in enumerate(Invitation.objects.filter(run=run).order_by("id")):
            answer(
                invitation,
                day,
                comment="Good week." if index % 3 == 0 else "",
                enps=index % 11,
                eng_proud=1 + index % 5,
                emp_decide=1 + (index + number) % 5,
            )
        closed.append(survey_services.survey_run_close(run=run, today=day))
    for index, person in enumerate(people):
        give(person, people[(index + 1) % len(people)], points=1)
    waiting = open_run(program, OPENS + dt.timedelta(days=182))
    return {"people": people, "run": closed[-1], "open": waiting}


def _count(call: Callable) -> int:
    call()  # warm: the viewer, the snapshot cache, allowances reset on a month's first give
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code in (200, 201), response.content[:500]
    return len(captured)


def _measure(world: dict, hr_admin, api) -> dict[str, int]:
    run: SurveyRun = world["run"]
    people = world["people"]
    browser = Client()
    browser.force_login(hr_admin.user)
    counts = {
        "results page (heatmap)": _count(lambda: browser.get(f"/surveys/runs/{run.pk}/results/")),
        "results API (heatmap)": _count(
            lambda: api.as_(hr_admin).get(f"/api/v1/survey-runs/{run.pk}/results/")
        ),
        "culture dashboard page": _count(lambda: browser.get("/insights/culture/")),
        "culture dashboard API": _count(lambda: api.as_(hr_admin).get("/api/v1/insights/culture/")),
        "recognition feed page": _count(lambda: browser.get("/recognition/")),
    }
    receivers = iter(people[2:])
    giver = api.as_(people[0])
    counts["give POST"] = _count(
        lambda: giver.post(
            "/api/v1/recognitions/",
            {
                "receivers": [next(receivers).pk],
                "message": "Thanks for staying late with that customer.",
                "values": [a_value().pk],
                "points_per_receiver": 1,
            },
            format="json",
        )
    )
    tokens = iter(
        survey_services.invitation_token(pk)
        for pk in Invitation.objects.filter(run=world["open"]).values_list("pk", flat=True)
    )
    questions = world["open"].run_questions.select_related("question")
    answers = [
        {"question": rq.question_id, "value": 4 if rq.question.kind == "agreement" else 8}
        for rq in questions
        if rq.question.kind in ("agreement", "scale_0_10")
    ]
    anonymous = api.as_(None)
    counts["response submit POST"] = _count(
        lambda: anonymous.post(
            "/api/v1/responses/", {"token": next(tokens), "answers": answers}, format="json"
        )
    )
    return counts


def _at_size(org, hr_admin, api, size: tuple[int, int]) -> dict[str, int]:
    with transaction.atomic():
        world = _world(org["root"], *size)
        counts = _measure(world, hr_admin, api)
        transaction.set_rollback(True)
    return counts


def test_every_benchmarked_path_issues_the_same_queries_at_two_sizes(org, hr_admin, api):
    load_question_library()
    with time_machine.travel(dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC), tick=True):
        small = _at_size(org, hr_admin, api, SMALL)
        large = _at_size(org, hr_admin, api, LARGE)

    assert small == large
    if connection.vendor == "postgresql":
        # give: the body's own value lookup (a_value), the giver, receivers and values (one
        # statement), and one call of the give function (migrations 0004 and 0006), which
        # locks, checks the cap and the allowance, writes every row and counts the give in the
        # daily rollups; the 201 is serialized from what was written.
        assert small["give POST"] == 3
        # submit: one read (invitation, invitee, run, questions), then one statement that holds
        # the run FOR SHARE, claims the invitation and inserts the sealed box.
        assert small["response submit POST"] <= 2
        return
    # give: the body's own value lookup (a_value), the giver, receivers and values (one
    # statement), the accounts locked FOR UPDATE, the month's gifts per receiver (the cap), the
    # transaction, its entries, one balance UPDATE, the recognition, its receivers, its values,
    # the last-recognised upsert, the service's savepoint pair, and the daily rollups' three
    # upserts. The posting takes no savepoint of its own, and the 201 is serialized from the
    # rows just written instead of read back (with its reactions).
    assert small["give POST"] == 16
    # submit: one read (invitation, invitee, run, questions), the claiming UPDATE, the sealed
    # box, and the service's savepoint pair; the token is checked by its signature, not read.
    assert small["response submit POST"] <= 6
