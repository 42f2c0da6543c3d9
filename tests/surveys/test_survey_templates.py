"""Creating a program from a survey template (pulse, census, onboarding, exit)."""

import pytest

from surveys.models import Question, SurveyProgram
from surveys.survey_templates import SURVEY_TEMPLATES


@pytest.mark.parametrize("key", list(SURVEY_TEMPLATES))
def test_every_template_asks_questions_of_the_builtin_library(key):
    template = SURVEY_TEMPLATES[key]
    found = Question.objects.filter(code__in=template.question_codes, is_builtin=True)
    assert found.count() == len(template.question_codes)
    assert "enps" in template.question_codes


def test_the_pulse_template_fills_in_the_new_program_form(client, hr_admin):
    client.force_login(hr_admin.user)
    page = client.get("/surveys/programs/new/?template=pulse")
    form = page.context["form"]
    assert form["name"].value() == "Pulse"
    assert form["cadence"].value() == "biweekly"
    assert form["run_length_days"].value() == 5
    chosen = Question.objects.filter(pk__in=form["questions"].value())
    assert sorted(q.code for q in chosen) == sorted(SURVEY_TEMPLATES["pulse"].question_codes)
    html = page.content.decode()
    assert 'value="Pulse"' in html
    # Its questions, and the box that makes it the organisation's results.
    assert form["is_organisation_wide"].value() is True
    assert html.count("checked") == len(SURVEY_TEMPLATES["pulse"].question_codes) + 1


def test_a_lifecycle_template_is_aimed_at_chosen_teams(client, hr_admin, org):
    client.force_login(hr_admin.user)
    page = client.get("/surveys/programs/new/?template=exit")
    assert page.context["form"]["audience"].value() == "teams"
    assert page.context["form"]["is_organisation_wide"].value() is False
    assert "A lifecycle survey" in page.content.decode()
    initial = page.context["form"].initial
    created = client.post(
        "/surveys/programs/new/",
        {
            "name": "Leavers",
            "cadence": initial["cadence"],
            "run_length_days": initial["run_length_days"],
            "starts_on": "2026-03-02",
            "audience": "teams",
            "teams": [org["support"].pk],
            "anonymity_threshold": "5",
            "comment_threshold": "10",
            "questions": [q.pk for q in initial["questions"]],
        },
    )
    assert created.status_code == 302
    program = SurveyProgram.objects.get(name="Leavers")
    assert program.run_length_days == 14 and program.cadence == "monthly"
    assert program.questions.count() == len(SURVEY_TEMPLATES["exit"].question_codes)


def test_an_unknown_template_is_not_found(client, hr_admin):
    client.force_login(hr_admin.user)
    assert client.get("/surveys/programs/new/?template=nonsense").status_code == 404
