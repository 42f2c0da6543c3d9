"""Every change HR makes in the product is on the audit log as a sentence with the actor's name
and, where it matters, old and new values: the reward catalogue, managers' budgets, survey
programmes, questions and drivers. A change refused for bad input leaves no entry."""

import datetime as dt
import html

import pytest
from django.test import Client

from cxculture.audit.models import AuditEvent
from cxculture.people.models import Team
from recognition.models import Reward
from surveys.models import CustomDriver, Question, SurveyProgram
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import RewardFactory
from tests.factories.surveys import ProgramFactory, load_question_library, question

pytestmark = pytest.mark.django_db


def _signed_in(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def _log(hr_admin) -> str:
    response = _signed_in(hr_admin).get("/audit/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _last() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _events_since(start: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=start).order_by("id"))


@pytest.fixture
def amira(org):
    """The HR admin of the examples."""
    from cxculture.people.models import Role

    return EmployeeFactory(
        first_name="Amira", last_name="Haddad", team=org["root"], roles=[Role.HR_ADMIN]
    )


# --- Reward catalogue ----------------------------------------------------------------------


def test_the_catalogue_pages_audit_create_price_stock_retire_and_return(amira):
    client = _signed_in(amira)
    start = _last()

    client.post(
        "/recognition/catalogue/",
        {"name": "Coffee voucher", "description": "", "cost_points": 50, "stock": 10},
    )
    reward = Reward.objects.get(name="Coffee voucher")
    client.post(
        f"/recognition/catalogue/{reward.pk}/",
        {"name": "Coffee voucher", "description": "", "cost_points": 80, "stock": ""},
    )
    client.post(f"/recognition/catalogue/{reward.pk}/retire/")
    client.post(f"/recognition/catalogue/{reward.pk}/restore/")

    events = _events_since(start)
    assert [e.action for e in events] == [
        "reward_created",
        "reward_changed",
        "reward_retired",
        "reward_restored",
    ]
    assert {e.actor for e in events} == {amira.user}
    assert events[1].details["changes"] == {"cost_points": [50, 80], "stock": [10, None]}
    page = _log(amira)
    assert "Amira Haddad (HR) added the reward “Coffee voucher” at 50 points, stock 10" in page
    assert (
        "Amira Haddad (HR) changed the price from 50 to 80 points and the stock from 10 to "
        "unlimited of the reward “Coffee voucher”" in page
    )
    assert "Amira Haddad (HR) retired the reward “Coffee voucher”" in page
    assert "Amira Haddad (HR) brought the reward “Coffee voucher” back to the catalogue" in page


def test_the_api_audits_a_rename_and_a_deletion_with_the_old_name(api, amira):
    reward = RewardFactory(name="Cinema ticket", cost_points=120)
    client = api.as_(amira)

    renamed = client.patch(f"/api/v1/rewards/{reward.pk}/", {"name": "Cinema for two"})
    deleted = client.delete(f"/api/v1/rewards/{reward.pk}/")

    assert (renamed.status_code, deleted.status_code) == (200, 204)
    page = _log(amira)
    assert (
        "Amira Haddad (HR) changed the name from “Cinema ticket” to “Cinema for two” of the "
        "reward “Cinema ticket”" in page
    )
    assert "Amira Haddad (HR) deleted the reward “Cinema for two” (never redeemed)" in page


def test_a_refused_reward_change_writes_no_entry(api, amira):
    reward = RewardFactory(name="Lunch", cost_points=100)
    start = _last()

    refused = api.as_(amira).patch(f"/api/v1/rewards/{reward.pk}/", {"cost_points": 0})
    page = _signed_in(amira).post(
        f"/recognition/catalogue/{reward.pk}/",
        {"name": "Lunch", "description": "", "cost_points": -5, "stock": ""},
    )

    assert refused.status_code == 400
    assert page.status_code == 200
    assert _events_since(start) == []
    reward.refresh_from_db()
    assert reward.cost_points == 100


# --- Manager budgets -----------------------------------------------------------------------


def test_setting_and_changing_a_budget_reads_with_both_amounts(amira, manager):
    client = _signed_in(amira)

    client.post("/recognition/budgets/", {"manager": manager.pk, "monthly_points": 500})
    client.post("/recognition/budgets/", {"manager": manager.pk, "monthly_points": 800})
    client.post("/recognition/budgets/", {"manager": manager.pk, "monthly_points": 800})

    events = list(AuditEvent.objects.filter(action="budget_set").order_by("id"))
    assert [(e.actor, e.details) for e in events] == [
        (amira.user, {"from": None, "to": 500}),
        (amira.user, {"from": 500, "to": 800}),
    ]  # setting the same amount again changes nothing, so it is no entry
    page = _log(amira)
    assert "Amira Haddad (HR) gave Maya Manager a monthly reward budget of 500 points" in page
    assert (
        "Amira Haddad (HR) changed Maya Manager's monthly reward budget from 500 to 800 points"
        in page
    )


def test_a_refused_budget_writes_no_entry(api, amira, employee):
    start = _last()

    refused = _signed_in(amira).post(
        "/recognition/budgets/", {"manager": employee.pk, "monthly_points": 300}
    )
    negative = api.as_(amira).post(
        "/api/v1/points/budgets/", {"manager": employee.pk, "monthly_points": -1}
    )

    assert refused.status_code == 200 and negative.status_code == 400
    assert _events_since(start) == []


# --- Survey programmes ---------------------------------------------------------------------


@pytest.fixture
def pulse(org):
    load_question_library()
    return ProgramFactory(
        name="Weekly pulse",
        cadence="monthly",
        questions=[question("eng-proud"), question("rec-noticed")],
    )


def test_pausing_resuming_and_archiving_a_programme_are_audited(amira, pulse):
    client = _signed_in(amira)
    start = _last()

    client.post(f"/surveys/programs/{pulse.pk}/active/", {"is_active": "0"})
    client.post(f"/surveys/programs/{pulse.pk}/active/", {"is_active": "1"})
    client.post(f"/surveys/programs/{pulse.pk}/archive/", {"archived": "1"})
    client.post(f"/surveys/programs/{pulse.pk}/archive/", {"archived": "0"})

    events = _events_since(start)
    assert [(e.action, e.actor) for e in events] == [
        ("program_paused", amira.user),
        ("program_resumed", amira.user),
        ("program_archived", amira.user),
        ("program_restored", amira.user),
    ]
    page = _log(amira)
    for sentence in (
        "Amira Haddad (HR) paused the survey programme “Weekly pulse”",
        "Amira Haddad (HR) resumed the survey programme “Weekly pulse”",
        "Amira Haddad (HR) archived the survey programme “Weekly pulse”",
        "Amira Haddad (HR) brought the survey programme “Weekly pulse” back from the archive",
    ):
        assert sentence in page


def test_editing_questions_cadence_and_audience_is_one_entry_with_old_and_new(
    api, amira, org, pulse
):
    start = _last()

    response = api.as_(amira).patch(
        f"/api/v1/surveys/{pulse.pk}/",
        {
            "cadence": "quarterly",
            "audience": "subtrees",
            "teams": [org["support"].pk],
            "questions": [question("eng-proud").pk, question("rec-valued").pk],
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    [event] = _events_since(start)
    assert (event.action, event.actor) == ("program_changed", amira.user)
    noticed, valued = question("rec-noticed").text, question("rec-valued").text
    assert event.details["changes"] == {
        "audience": ["organisation", "subtrees"],
        "cadence": ["monthly", "quarterly"],
        "teams": [[], ["Support"]],
        "questions": {"added": [valued], "removed": [noticed]},
    }
    page = _log(amira)
    assert "Amira Haddad (HR) edited the survey programme “Weekly pulse”:" in page
    assert "changed the cadence from monthly to quarterly" in page
    assert "changed the audience from organisation to subtrees" in page
    assert "changed the teams from none to Support" in page
    assert f"added “{valued}” and removed “{noticed}”" in page


def test_creating_a_programme_on_the_page_is_audited(amira, org):
    load_question_library()
    start = _last()

    response = _signed_in(amira).post(
        "/surveys/programs/new/",
        {
            "name": "Onboarding check-in",
            "audience": "organisation",
            "cadence": "monthly",
            "starts_on": "2026-04-01",
            "run_length_days": "7",
            "anonymity_threshold": "5",
            "comment_threshold": "10",
            "questions": [question("eng-proud").pk],
        },
    )

    assert response.status_code == 302, response.content
    [event] = _events_since(start)
    assert (event.action, event.actor) == ("program_created", amira.user)
    assert (
        "Amira Haddad (HR) created the survey programme “Onboarding check-in” asking 1 questions"
        in _log(amira)
    )


def test_a_refused_programme_edit_writes_no_entry(api, amira, pulse):
    start = _last()

    refused = api.as_(amira).patch(
        f"/api/v1/surveys/{pulse.pk}/", {"cadence": "weekly", "run_length_days": 30}
    )

    assert refused.status_code == 400
    assert _events_since(start) == []
    pulse.refresh_from_db()
    assert pulse.cadence == SurveyProgram.Cadence.MONTHLY


# --- Questions and drivers -----------------------------------------------------------------


def test_custom_questions_are_audited_when_added_edited_and_switched_off(amira):
    load_question_library()
    client = _signed_in(amira)
    start = _last()

    client.post(
        "/surveys/questions/",
        {"text": "I can take a break.", "kind": "agreement", "driver": "wellbeing"},
    )
    made = Question.objects.get(text="I can take a break.")
    client.post(
        f"/surveys/questions/{made.pk}/edit/",
        {"text": "I can take a proper break.", "kind": "agreement", "driver": "wellbeing"},
    )
    client.post(f"/surveys/questions/{made.pk}/active/", {"is_active": "0"})
    client.post(f"/surveys/questions/{made.pk}/active/", {"is_active": "1"})

    events = _events_since(start)
    assert [(e.action, e.actor) for e in events] == [
        ("question_created", amira.user),
        ("question_changed", amira.user),
        ("question_retired", amira.user),
        ("question_restored", amira.user),
    ]
    page = _log(amira)
    assert "Amira Haddad (HR) added the question “I can take a proper break.”" in page
    assert (
        "Amira Haddad (HR) changed the wording from “I can take a break.” to “I can take a "
        "proper break.” of the question “I can take a break.”" in page
    )
    assert "Amira Haddad (HR) switched off the question “I can take a proper break.”" in page
    assert "Amira Haddad (HR) switched the question “I can take a proper break.” back on" in page


def test_custom_drivers_are_audited_when_added_renamed_retired_and_brought_back(amira):
    client = _signed_in(amira)
    start = _last()

    client.post("/surveys/drivers/new/", {"label": "Benefits"})
    driver = CustomDriver.objects.get(code="benefits")
    client.post(f"/surveys/drivers/{driver.pk}/rename/", {"label": "Pay and benefits"})
    client.post(f"/surveys/drivers/{driver.pk}/active/", {"is_active": "0"})
    client.post(f"/surveys/drivers/{driver.pk}/active/", {"is_active": "1"})

    events = _events_since(start)
    assert [(e.action, e.actor) for e in events] == [
        ("driver_created", amira.user),
        ("driver_renamed", amira.user),
        ("driver_retired", amira.user),
        ("driver_restored", amira.user),
    ]
    driver.refresh_from_db()
    assert (driver.code, driver.label, driver.is_active) == ("benefits", "Pay and benefits", True)
    page = _log(amira)
    assert "Amira Haddad (HR) added the driver “Pay and benefits”" in page
    assert "Amira Haddad (HR) renamed the driver “Benefits” to “Pay and benefits”" in page
    assert "Amira Haddad (HR) retired the driver “Pay and benefits”" in page
    assert "Amira Haddad (HR) brought the driver “Pay and benefits” back" in page


def test_a_retired_driver_cannot_be_chosen_for_a_new_question(api, amira):
    load_question_library()
    client = _signed_in(amira)
    client.post("/surveys/drivers/new/", {"label": "Parking"})
    driver = CustomDriver.objects.get(code="parking")
    client.post(f"/surveys/drivers/{driver.pk}/active/", {"is_active": "0"})
    start = _last()

    refused = api.as_(amira).post(
        "/api/v1/survey-questions/", {"text": "Parking is easy.", "driver": "parking"}
    )
    library = client.get("/surveys/questions/").content.decode()

    assert refused.status_code == 400
    assert "driver" in refused.json()["error"]["fields"]
    assert '<option value="parking"' not in library
    assert _events_since(start) == []


def test_refused_question_and_driver_changes_write_no_entry(amira):
    load_question_library()
    client = _signed_in(amira)
    client.post("/surveys/drivers/new/", {"label": "Benefits"})
    other = CustomDriver.objects.create(code="hybrid_work", label="Hybrid work")
    start = _last()

    client.post("/surveys/drivers/new/", {"label": "benefits"})  # taken
    client.post(f"/surveys/drivers/{other.pk}/rename/", {"label": "Benefits"})  # taken
    client.post("/surveys/questions/", {"text": "  ", "kind": "agreement", "driver": "wellbeing"})

    assert _events_since(start) == []
    other.refresh_from_db()
    assert other.label == "Hybrid work"


def test_using_a_survey_template_writes_nothing_until_the_programme_is_saved(amira):
    load_question_library()
    start = _last()

    page = _signed_in(amira).get("/surveys/programs/new/", {"template": "pulse"})

    assert page.status_code == 200
    assert _events_since(start) == []
    assert not SurveyProgram.objects.exists()
    assert Team.objects.exists()  # the organisation is there; only the form was filled


def test_programme_dates_are_stored_as_text(api, amira, pulse):
    api.as_(amira).patch(f"/api/v1/surveys/{pulse.pk}/", {"starts_on": "2026-05-04"})

    event = AuditEvent.objects.get(action="program_changed")
    assert event.details["changes"]["starts_on"] == [
        pulse.starts_on.isoformat(),
        dt.date(2026, 5, 4).isoformat(),
    ]
