"""HR runs surveys from the product's pages: a custom driver and question, a program from a
template, an edit, the audience preview and the launch, in a real browser at 1280 px."""

import re

import pytest

from surveys import services
from surveys.models import Invitation, Question, SurveyProgram, SurveyRun
from tests.e2e.conftest import DESKTOP
from tests.factories.people import EmployeeFactory
from tests.factories.surveys import load_question_library
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_hr_creates_a_custom_question_survey_edits_it_previews_its_audience_and_launches_it(
    open_session, cast, org
):
    load_question_library()
    EmployeeFactory(first_name="Bea", last_name="Backline", team=org["support_b"])
    support = list(services.audience_of(audience="subtrees", teams=[org["support"]]))
    support_a = list(services.audience_of(audience="teams", teams=[org["support_a"]]))
    assert len(support) >= 5 > len(support_a)  # the warning shows for Support A alone
    hr = open_session(DESKTOP)
    hr.sign_in(cast["hr_admin"].user.email, PASSWORD)
    page = hr.page

    # A driver of our own, and a question that measures it.
    hr.go("/surveys/")
    page.click("text=Question library")
    page.fill("#id_label", "Benefits")
    page.click("text=Add driver")
    page.wait_for_selector("text=Benefits is a driver now.")
    page.fill("#id_text", "Our benefits fit my life.")
    page.select_option("#id_driver", label="Benefits")
    page.click("text=Add question")
    page.wait_for_selector("td:has-text('Our benefits fit my life.')")
    hr.shows("hr-question-library")

    # A program from the pulse template, with the custom question and a live audience count.
    hr.go("/surveys/programs/new/")
    page.click("a:has-text('Pulse')")
    page.wait_for_url(re.compile(r".*template=pulse$"))
    page.fill("#id_name", "Benefits pulse")
    page.fill("#id_starts_on", "2026-03-02")
    page.get_by_label("Our benefits fit my life.").check()
    page.select_option("#id_audience", "subtrees")
    page.select_option("#id_teams", [str(org["support"].pk)])
    page.wait_for_selector(f"#audience-count:has-text('{len(support)} people will be invited')")
    hr.shows("hr-program-new")
    page.click("text=Create program")
    page.wait_for_selector("text=Benefits pulse is set up.")
    program = SurveyProgram.objects.get(name="Benefits pulse")
    assert program.questions.filter(text="Our benefits fit my life.").exists()

    # Edit: every question each run, and a look at a smaller audience first.
    page.click("text=Edit program")
    page.select_option("#id_cadence", "quarterly")
    page.fill("#id_run_length_days", "14")
    page.select_option("#id_audience", "teams")
    page.select_option("#id_teams", [str(org["support_a"].pk)])
    page.wait_for_selector("#audience-count:has-text('Fewer than 5 people would be invited')")
    page.select_option("#id_audience", "subtrees")
    page.select_option("#id_teams", [str(org["support"].pk)])
    page.wait_for_selector(f"#audience-count:has-text('{len(support)} people will be invited')")
    assert "Fewer than" not in page.inner_text("#audience-count")
    page.click("text=Save program")
    page.wait_for_selector("text=Benefits pulse is saved.")
    program.refresh_from_db()
    assert (program.cadence, program.run_length_days) == ("quarterly", 14)

    # The detail page says who will be asked; launching invites exactly them.
    assert f"{len(support)} people will be invited" in page.inner_text("main")
    hr.shows("hr-program-detail")
    page.click("text=Open a run now")
    page.wait_for_selector("text=Run #1 is open")
    run = SurveyRun.objects.get(program=program)
    assert run.status == SurveyRun.Status.OPEN
    invited = set(Invitation.objects.filter(run=run).values_list("employee_id", flat=True))
    assert invited == {person.pk for person in support}
    custom = Question.objects.get(text="Our benefits fit my life.")
    assert run.questions.filter(pk=custom.pk).exists()
    hr.finish()
