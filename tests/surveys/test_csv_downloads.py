"""Survey results download as CSV that spreadsheets open right: UTF-8 with a byte-order mark,
so Excel shows a team named "Équipe Zürich" as it is written, not as mojibake."""

import codecs
import csv
import datetime as dt
import io

import pytest

from surveys import services
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run

TEAM = "Équipe Zürich, Søndre"


@pytest.fixture
def closed_run(org, opens):
    team = TeamFactory(name=TEAM, parent=org["root"])
    for _ in range(5):
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    for invitation in Invitation.objects.filter(run=run):
        answer(invitation, opens, enps=8)
    services.survey_run_close(run=run, today=opens + dt.timedelta(days=1))
    return run


@pytest.mark.parametrize(
    "url",
    [
        "/surveys/runs/{id}/results.csv",
        "/api/v1/survey-runs/{id}/results.csv",
        "/api/v1/survey-runs/{id}/results/?format=csv",
    ],
)
def test_results_csv_is_utf8_with_a_bom_and_keeps_a_non_ascii_team_name(
    client, hr_admin, closed_run, url
):
    client.force_login(hr_admin.user)

    response = client.get(url.format(id=closed_run.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="survey-run-{closed_run.pk}-results.csv"' in response["Content-Disposition"]
    assert response.content.startswith(codecs.BOM_UTF8)
    assert response.content.count(codecs.BOM_UTF8) == 1
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "group", "measure", "value", "respondents", "answers", "note"]
    assert TEAM in {row[1] for row in rows[1:] if row[0] == "team"}
