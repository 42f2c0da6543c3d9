"""HR writes custom questions and custom drivers, through pages and the API."""

import pytest

from surveys import services
from surveys.drivers import driver_label
from surveys.models import CustomDriver, Question
from tests.factories.surveys import ProgramFactory, open_run


def test_hr_adds_a_custom_driver_and_a_question_measuring_it(client, hr_admin):
    client.force_login(hr_admin.user)
    added = client.post("/surveys/drivers/new/", {"label": "Benefits"})
    assert added.status_code == 302
    page = client.post(
        "/surveys/questions/",
        {"text": "Our benefits fit my life.", "kind": "agreement", "driver": "benefits"},
    )
    assert page.status_code == 302
    question = Question.objects.get(text="Our benefits fit my life.")
    assert question.driver == "benefits" and not question.is_builtin
    library = client.get("/surveys/questions/").content.decode()
    assert "Our benefits fit my life." in library
    assert "<td>Benefits</td>" in library


def test_a_driver_name_is_taken_once_and_never_a_builtin_one(client, hr_admin):
    services.custom_driver_create(label="Benefits")
    client.force_login(hr_admin.user)
    again = client.post("/surveys/drivers/new/", {"label": "benefits"})
    assert again.status_code == 200
    assert "There is already a driver called" in again.content.decode()
    builtin = client.post("/surveys/drivers/new/", {"label": "Wellbeing"})
    assert "There is already a driver called" in builtin.content.decode()
    assert list(CustomDriver.objects.values_list("label", flat=True)) == ["Benefits"]


def test_a_single_choice_question_takes_its_options_one_a_line(client, hr_admin):
    client.force_login(hr_admin.user)
    client.post(
        "/surveys/questions/",
        {
            "text": "Where do you work most days?",
            "kind": "single_choice",
            "driver": "wellbeing",
            "options": "Office\n\nHome\nBoth ",
        },
    )
    assert Question.objects.get(text="Where do you work most days?").options == [
        "Office",
        "Home",
        "Both",
    ]
    refused = client.post(
        "/surveys/questions/",
        {"text": "Pick one", "kind": "single_choice", "driver": "wellbeing", "options": "Only"},
    )
    assert "Give between 2 and 12 options." in refused.content.decode()


def test_hr_edits_and_switches_off_a_custom_question(client, hr_admin):
    question = services.question_create(text="I can take a break.", driver="wellbeing")
    client.force_login(hr_admin.user)
    form = client.get(f"/surveys/questions/{question.pk}/edit/").content.decode()
    assert "I can take a break." in form
    client.post(
        f"/surveys/questions/{question.pk}/edit/",
        {"text": "I can take a proper break.", "kind": "agreement", "driver": "wellbeing"},
    )
    client.post(f"/surveys/questions/{question.pk}/active/", {"is_active": "0"})
    question.refresh_from_db()
    assert question.text == "I can take a proper break." and not question.is_active
    assert "Switch on" in client.get("/surveys/questions/").content.decode()


def test_a_question_already_asked_keeps_its_wording(client, hr_admin, org, opens):
    question = services.question_create(text="I can take a break.", driver="wellbeing")
    open_run(ProgramFactory(questions=[question]), opens)
    client.force_login(hr_admin.user)
    page = client.post(
        f"/surveys/questions/{question.pk}/edit/",
        {"text": "Changed", "kind": "agreement", "driver": "wellbeing"},
    )
    assert "has been asked already" in page.content.decode()
    question.refresh_from_db()
    assert question.text == "I can take a break."


@pytest.mark.parametrize("path", ["/surveys/questions/", "/surveys/questions/1/edit/"])
def test_only_hr_sees_the_question_library(client, employee, path):
    client.force_login(employee.user)
    assert client.get(path).status_code == 403
    assert client.post("/surveys/drivers/new/", {"label": "Benefits"}).status_code == 403


def test_the_api_takes_a_custom_driver_and_names_driver_for_an_unknown_one(api, hr_admin):
    services.custom_driver_create(label="Benefits")
    api.force_authenticate(hr_admin.user)
    made = api.post(
        "/api/v1/survey-questions/",
        {"text": "Our benefits fit my life.", "driver": "benefits"},
        format="json",
    )
    assert made.status_code == 201
    assert made.json()["driver"] == "benefits" and made.json()["driver_label"] == "Benefits"
    unknown = api.post(
        "/api/v1/survey-questions/",
        {"text": "Parking is easy.", "driver": "parking"},
        format="json",
    )
    assert unknown.status_code == 400
    assert "driver" in unknown.json()["error"]["fields"]


def test_labels_of_builtin_and_custom_drivers_come_from_one_place():
    services.custom_driver_create(label="Hybrid work")
    assert driver_label("customer_focus") == "Customer focus"
    assert driver_label("hybrid_work") == "Hybrid work"


def test_results_of_a_run_asking_a_custom_driver_question_show_its_answers(
    client, hr_admin, org, opens
):
    from surveys.models import Invitation
    from tests.factories.people import EmployeeFactory, TeamFactory
    from tests.factories.surveys import answer, question

    services.custom_driver_create(label="Benefits")
    custom = services.question_create(text="Our benefits fit my life.", driver="benefits")
    team = TeamFactory(name="Billing", parent=org["root"])
    for _ in range(7):
        EmployeeFactory(team=team)
    run = open_run(
        ProgramFactory(audience="teams", teams=[team], questions=[question("enps"), custom]),
        opens,
    )
    invitations = list(Invitation.objects.filter(run=run))
    for index, invitation in enumerate(invitations[:-1]):  # one stays silent
        answer(invitation, opens, enps=8, **{custom.code.replace("-", "_"): 4 + index % 2})
    services.survey_run_close(run=run, today=opens)
    client.force_login(hr_admin.user)
    page = client.get(f"/surveys/runs/{run.pk}/results/")
    assert page.status_code == 200
    assert "Our benefits fit my life." in page.content.decode()
    api = client.get(f"/api/v1/survey-runs/{run.pk}/results/")
    assert api.status_code == 200
    row = next(q for q in api.json()["questions"] if q["id"] == custom.pk)
    assert row["driver"] == "benefits" and row["favourable"] == 100
    # The custom driver is a driver like the built-in ones: a row of the drivers table, with
    # its label, its six answers, all favourable.
    benefits = next(d for d in api.json()["drivers"] if d["driver"] == "benefits")
    assert (benefits["label"], benefits["favourable"], benefits["answered"]) == ("Benefits", 100, 6)
    assert "Benefits" in page.content.decode()


def test_the_database_refuses_a_custom_driver_with_a_builtin_code():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomDriver.objects.create(code="wellbeing", label="Wellbeing again")


def test_two_people_adding_the_same_driver_at_once_get_a_conflict_not_an_error(monkeypatch):
    from cxculture.lib.errors import ConflictError
    from surveys import drivers

    services.custom_driver_create(label="Benefits")
    # The other request's check ran before this one's row was committed: it saw no such driver.
    monkeypatch.setattr(drivers, "driver_labels", lambda: {})
    monkeypatch.setattr(drivers, "is_driver", lambda code: False)
    with pytest.raises(ConflictError, match="already a driver called"):
        services.custom_driver_create(label="Benefits")
    assert CustomDriver.objects.count() == 1
