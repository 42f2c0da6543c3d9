"""HR edits a program through pages: questions, cadence, audience, thresholds; pause, archive."""

import pytest

from cxculture.audit.models import AuditEvent
from surveys import services
from surveys.models import SurveyProgram, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, open_run, question


@pytest.fixture
def program(org):
    team = TeamFactory(name="Billing", parent=org["root"])
    for _ in range(6):
        EmployeeFactory(team=team)
    return ProgramFactory(
        name="Billing pulse",
        audience="teams",
        teams=[team],
        questions=[question("enps"), question("eng-proud")],
    )


def form_of(program, **changes):
    data = {
        "name": program.name,
        "description": program.description,
        "cadence": program.cadence,
        "starts_on": program.starts_on.isoformat(),
        "run_length_days": str(program.run_length_days),
        "audience": program.audience,
        "teams": [team.pk for team in program.teams.all()],
        "anonymity_threshold": str(program.anonymity_threshold),
        "comment_threshold": str(program.comment_threshold),
        "questions": [q.pk for q in program.questions.all()],
    }
    data.update(changes)
    return data


def test_hr_changes_questions_cadence_and_audience_on_the_edit_page(client, hr_admin, program):
    client.force_login(hr_admin.user)
    page = client.get(f"/surveys/programs/{program.pk}/edit/")
    assert page.status_code == 200 and 'value="Billing pulse"' in page.content.decode()
    saved = client.post(
        f"/surveys/programs/{program.pk}/edit/",
        form_of(
            program,
            cadence="weekly",
            run_length_days="5",
            audience="organisation",
            questions=[question("enps").pk, question("wel-workload").pk],
        ),
    )
    assert saved.status_code == 302 and saved.url == f"/surveys/programs/{program.pk}/"
    program.refresh_from_db()
    assert (program.cadence, program.run_length_days, program.audience) == (
        "weekly",
        5,
        "organisation",
    )
    assert sorted(program.questions.values_list("code", flat=True)) == ["enps", "wel-workload"]
    assert not program.teams.exists()


def test_a_threshold_change_is_audited_with_who_made_it_and_open_runs_keep_theirs(
    client, hr_admin, program, opens
):
    run = open_run(program, opens)
    client.force_login(hr_admin.user)
    client.post(
        f"/surveys/programs/{program.pk}/edit/",
        form_of(program, anonymity_threshold="7", comment_threshold="12"),
    )
    program.refresh_from_db()
    assert program.anonymity_threshold == 7
    event = AuditEvent.objects.get(action="survey_threshold_changed")
    assert event.actor == hr_admin.user
    assert event.details == {"from": [5, 10], "to": [7, 12]}
    run.refresh_from_db()
    assert run.anonymity_threshold == 5 and run.comment_threshold == 10


def test_a_bad_edit_is_refused_with_the_reason(client, hr_admin, program):
    client.force_login(hr_admin.user)
    page = client.post(
        f"/surveys/programs/{program.pk}/edit/", form_of(program, audience="teams", teams=[])
    )
    assert page.status_code == 200 and "Choose at least one team." in page.content.decode()


def test_a_paused_program_opens_no_run_until_resumed(client, hr_admin, program, opens):
    services.survey_run_schedule(program=program, today=opens)
    client.force_login(hr_admin.user)
    client.post(f"/surveys/programs/{program.pk}/active/", {"is_active": "0"})
    program.refresh_from_db()
    assert not program.is_active
    refused = client.post(f"/surveys/programs/{program.pk}/start/", follow=True)
    assert "paused" in refused.content.decode()
    assert not SurveyRun.objects.filter(program=program, status="open").exists()
    assert services.survey_runs_open_due(today=opens) == []
    client.post(f"/surveys/programs/{program.pk}/active/", {"is_active": "1"})
    client.post(f"/surveys/programs/{program.pk}/start/")
    assert SurveyRun.objects.filter(program=program, status="open").count() == 1


def test_an_archived_program_leaves_the_lists_and_keeps_its_runs(client, hr_admin, program, opens):
    run = open_run(program, opens)
    services.survey_run_close(run=run, today=opens)
    client.force_login(hr_admin.user)
    client.post(f"/surveys/programs/{program.pk}/archive/", {"archived": "1"})
    program.refresh_from_db()
    assert program.archived_at is not None and not program.is_active
    link = f'href="/surveys/programs/{program.pk}/"'
    assert link not in client.get("/surveys/").content.decode()
    assert link in client.get("/surveys/?archived=1").content.decode()
    assert client.get(f"/surveys/runs/{run.pk}/results/").status_code == 200
    assert SurveyProgram.objects.get(pk=program.pk).runs.count() == 1
    client.post(f"/surveys/programs/{program.pk}/archive/", {"archived": "0"})
    assert link in client.get("/surveys/").content.decode()


def test_only_hr_edits_programs(client, employee, program):
    client.force_login(employee.user)
    assert client.get(f"/surveys/programs/{program.pk}/edit/").status_code == 403
    assert client.post(f"/surveys/programs/{program.pk}/archive/").status_code == 403
    assert client.post(f"/surveys/programs/{program.pk}/active/").status_code == 403


def test_the_edit_page_gives_the_start_date_in_the_form_a_date_picker_reads(
    client, hr_admin, program
):
    client.force_login(hr_admin.user)
    page = client.get(f"/surveys/programs/{program.pk}/edit/").content.decode()
    assert 'type="date" name="starts_on" value="2026-03-02"' in page


def test_the_api_lists_archived_programs_only_when_asked(api, hr_admin, program):
    services.survey_program_set_archived(program=program, archived=True)
    api.as_(hr_admin)
    current = api.get("/api/v1/surveys/").json()
    names = [item["name"] for item in current.get("results", current)]
    assert "Billing pulse" not in names
    archived = api.get("/api/v1/surveys/?archived=true").json()
    [listed] = archived.get("results", archived)
    assert listed["name"] == "Billing pulse" and listed["archived_at"] is not None
    assert api.get(f"/api/v1/surveys/{program.pk}/").status_code == 200
    bad = api.get("/api/v1/surveys/?archived=maybe")
    assert bad.status_code == 400 and "archived" in bad.json()["error"]["fields"]
    resumed = api.patch(f"/api/v1/surveys/{program.pk}/", {"is_active": True}, format="json")
    assert resumed.status_code == 409
