"""Results, participation and the results page issue the same number of queries at two sizes."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys import services
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run

BUDGET = 25


def build(teams: int, per_team: int, opens: dt.date, parent):
    department = TeamFactory(name=f"Dept {teams}", parent=parent)
    for number in range(teams):
        team = TeamFactory(name=f"Team {teams}-{number}", parent=department)
        for person in range(per_team):
            EmployeeFactory(
                team=team, location=["Leeds", "York"][person % 2], hire_date=dt.date(2020, 1, 1)
            )
    program = ProgramFactory(audience="subtrees", teams=[department])
    runs = []
    for number in range(2):
        day = opens + dt.timedelta(days=100 * number)
        run = open_run(program, day)
        for index, invitation in enumerate(Invitation.objects.filter(run=run).order_by("id")):
            answer(
                invitation,
                day,
                comment="Fine." if index % 3 == 0 else "",
                enps=index % 11,
                eng_proud=1 + index % 5,
                emp_decide=1 + index % 4,
            )
        runs.append(services.survey_run_close(run=run, today=day))
    return runs[-1]


def count_queries(call):
    call()  # the viewer is read once per request user and cached
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


URLS = [
    "/api/v1/survey-runs/{id}/results/",
    "/api/v1/survey-runs/{id}/results/?format=csv",
    "/api/v1/survey-runs/{id}/results.csv",
    "/api/v1/survey-runs/{id}/participation/",
    "/surveys/runs/{id}/results/",
    "/surveys/runs/{id}/results.csv",
]


def test_the_query_count_does_not_grow_with_the_data(api, client, hr_admin, org, opens):
    small = build(3, 8, opens, org["root"])
    large = build(10, 9, opens, org["root"])
    client.force_login(hr_admin.user)
    for url in URLS:
        caller = client if url.startswith("/surveys/") else api.as_(hr_admin)
        counts = [
            count_queries(lambda run=run, caller=caller, url=url: caller.get(url.format(id=run.pk)))
            for run in (small, large)
        ]
        assert counts[0] == counts[1], (url, counts)
        assert counts[1] <= BUDGET, (url, counts)
