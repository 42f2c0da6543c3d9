"""Importing past results: a CSV of anonymous answers becomes a closed, imported run, stored as
a closing run stores its answers and shown through the same gate; a bad file is refused whole."""

import datetime as dt
import json
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from surveys.models import Answer, Invitation, Response, RunSummary, SurveyRun
from tests.factories.people import TeamFactory
from tests.factories.surveys import ProgramFactory, question

IMPORT = "/api/v1/survey-runs/import/"
QUESTIONS = ("eng-proud", "enps")


@pytest.fixture
def program():
    # The programme starts after the period imported: history before the first run is allowed.
    return ProgramFactory(name="Pulse", questions=[question(code) for code in QUESTIONS])


def _csv(rows, header="team,tenure_band,location,role_family,eng-proud,enps,comment") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _post(api, person, program, content, opens="2025-09-01", closes="2025-09-14"):
    upload = SimpleUploadedFile("past.csv", content, content_type="text/csv")
    return api.as_(person).post(
        IMPORT,
        {"program": program.pk, "opens_on": opens, "closes_on": closes, "file": upload},
        format="multipart",
    )


def _good_rows():
    """Support A: 6 answers, 3 favourable (4, 4, 5) of eng-proud; Support B: 6, 4 favourable."""
    a = [
        f"SUP-A,1to2,Leeds,Agent,{v},{e},A{n}"
        for n, (v, e) in enumerate(zip([4, 4, 5, 2, 1, 3], [10, 9, 8, 6, 3, 9], strict=True))
    ]
    b = [f"SUP-B,,,,{v},{e}," for v, e in zip([4, 5, 4, 4, 2, 3], [9, 9, 7, 7, 2, 1], strict=True)]
    return a + b


def test_an_imported_file_becomes_a_closed_run_with_the_figures_of_its_answers(
    api, hr_admin, program
):
    response = _post(api, hr_admin, program, _csv(_good_rows()))

    assert response.status_code == 201, response.content
    run = SurveyRun.objects.get(pk=response.json()["id"])
    assert response.json()["is_imported"] is True
    assert (run.status, run.is_imported, run.sequence) == ("closed", True, 0)
    assert (run.opens_on, run.closes_on) == (dt.date(2025, 9, 1), dt.date(2025, 9, 14))
    assert Invitation.objects.filter(run=run).count() == 0
    assert Response.objects.filter(run=run).count() == 12
    assert Answer.objects.filter(response__run=run).count() == 24

    results = api.as_(hr_admin).get(f"/api/v1/survey-runs/{run.pk}/results/").json()
    assert results["respondents"] == 12
    # 7 of 12 favourable: 58.3%, shown as a whole percent on 12 answers.
    assert results["engagement_index"]["score"] == 58
    assert results["participation"] is None  # invitations unknown: no participation shown


def test_answers_are_stored_coarsened_as_a_closing_run_stores_them(api, hr_admin, org, program):
    tiny = TeamFactory(name="Tiny", external_id="TINY", parent=org["support_a"])
    rows = _good_rows() + ["TINY,,,,4,9," for _ in range(2)]

    response = _post(api, hr_admin, program, _csv(rows))

    assert response.status_code == 201, response.content
    stored = Counter(
        Response.objects.values_list("team_path", "tenure_band", "location", "role_family")
    )
    assert min(stored.values()) >= 5, stored
    # Tiny's two answers are stored with Support A, its nearest team shown.
    assert not Response.objects.filter(team=tiny).exists()
    assert Response.objects.filter(team=org["support_a"]).count() == 8


def test_a_file_with_bad_rows_is_refused_whole_naming_each_row_and_column(api, hr_admin, program):
    rows = _good_rows()
    rows[1] = "SUP-A,,,,7,9,"  # agreement is 1 to 5
    rows[4] = "NOPE,,,,4,9,"  # no such team
    rows[6] = "SUP-B,ancient,,,4,11,"  # unknown tenure band, eNPS over 10

    response = _post(api, hr_admin, program, _csv(rows))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "rows_rejected"
    assert [(r["row"], r["column"]) for r in error["rows"]] == [
        (3, "eng-proud"),
        (6, "team"),
        (8, "tenure_band"),
        (8, "enps"),
    ]
    assert error["fields"]["team"] == ["row 6: There is no team 'NOPE'."]
    assert SurveyRun.objects.count() == 0 and Response.objects.count() == 0


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("team,eng-proud,mystery", "mystery"),  # not a column nor a question of the programme
        ("location,eng-proud", "team"),
    ],
)
def test_a_wrong_header_is_refused(api, hr_admin, program, header, column):
    response = _post(api, hr_admin, program, _csv(["SUP-A,4"] * 5, header=header))

    assert response.status_code == 400
    assert column in response.json()["error"]["rows"][0]["column"]
    assert SurveyRun.objects.count() == 0


def test_the_period_must_be_past_and_free(api, hr_admin, program):
    future = _post(api, hr_admin, program, _csv(_good_rows()), closes="2026-03-02")
    reversed_ = _post(api, hr_admin, program, _csv(_good_rows()), opens="2025-09-20")
    assert future.status_code == reversed_.status_code == 400
    assert set(future.json()["error"]["fields"]) == {"closes_on"}

    assert _post(api, hr_admin, program, _csv(_good_rows())).status_code == 201
    again = _post(api, hr_admin, program, _csv(_good_rows()), opens="2025-09-10")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "period_taken"
    assert SurveyRun.objects.count() == 1


def test_only_hr_may_import(api, employee, executive, program):
    for person in (employee, executive):
        assert _post(api, person, program, _csv(_good_rows())).status_code == 403
    assert SurveyRun.objects.count() == 0


def test_hr_imports_from_the_page(client, hr_admin, program):
    client.force_login(hr_admin.user)
    assert client.get("/surveys/runs/import/").status_code == 200

    response = client.post(
        "/surveys/runs/import/",
        {
            "program": program.pk,
            "opens_on": "2025-09-01",
            "closes_on": "2025-09-14",
            "file": SimpleUploadedFile("past.csv", _csv(_good_rows()), content_type="text/csv"),
        },
    )

    run = SurveyRun.objects.get(is_imported=True)
    assert response.status_code == 302
    assert response["Location"] == f"/surveys/runs/{run.pk}/results/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Pulse imported" in page.content.decode()  # the success message names the run


def test_the_page_lists_each_bad_row(client, hr_admin, program):
    client.force_login(hr_admin.user)
    response = client.post(
        "/surveys/runs/import/",
        {
            "program": program.pk,
            "opens_on": "2025-09-01",
            "closes_on": "2025-09-14",
            "file": SimpleUploadedFile("past.csv", _csv(["NOPE,,,,4,9,"]), content_type="text/csv"),
        },
    )

    assert response.status_code == 200
    assert "Row 2, team: There is no team &#x27;NOPE&#x27;." in response.content.decode()
    assert SurveyRun.objects.count() == 0


def test_an_employee_may_not_open_the_import_page(client, employee):
    client.force_login(employee.user)
    assert client.get("/surveys/runs/import/").status_code == 403


def test_an_imported_run_is_no_result_anyone_failed_to_act_on(api, hr_admin, manager, program):
    from cxculture.actions import selectors as action_selectors

    assert _post(api, hr_admin, program, _csv(_good_rows())).status_code == 201

    figures = action_selectors.follow_through(today=dt.date(2026, 3, 2))

    # Its results were out long before the product: nobody could have acted on them here.
    assert (figures["results"], figures["results_with_action"]) == (0, 0)


def test_an_imported_run_stores_its_published_figures_with_no_participation(api, hr_admin, program):
    response = _post(api, hr_admin, program, _csv(_good_rows()))

    run = SurveyRun.objects.get(pk=response.json()["id"])
    stored = RunSummary.objects.get(run=run).figures
    assert json.loads(stored["figures"]["organisation"])[:3] == [True, None, 12]
    # Nobody was invited: participation is unknown.
    assert json.loads(stored["participation"]["organisation"]) is None
