"""Actions answer HR's own drivers as they answer the built-in ones: the form lists them, the
service and the API accept them (and refuse unknown or retired ones naming the field), and
every page, API answer and insight shows the driver's name, not its code."""

import datetime as dt
import re

import pytest

from cxculture.actions.models import Action
from surveys import services as survey_services
from surveys.models import Question
from tests.factories.actions import closed_run, make_action
from tests.factories.surveys import ProgramFactory, question

from .conftest import MARCH


@pytest.fixture
def benefits_run(clock, org, crowd):
    """A closed run asking an engagement item and a "Benefits" item; Support A's six answer,
    two of them favourably on benefits (33% favourable)."""
    survey_services.custom_driver_create(label="Benefits")
    benefits: Question = survey_services.question_create(
        text="Our benefits fit my life.", driver="benefits"
    )
    key = benefits.code.replace("-", "_")
    answers = [{"eng_proud": 4, key: value} for value in (5, 4, 2, 2, 1, 3)]
    return closed_run(
        ProgramFactory(questions=[question("eng-proud"), benefits]),
        MARCH,
        {org["support_a"]: answers},
    )


def _body(run, org, cast, **overrides):
    return {
        "title": "Explain the benefits in a lunch session",
        "team": org["support_a"].pk,
        "source_kind": "survey_driver",
        "source_run": run.pk,
        "source_driver": "benefits",
        "owner": cast["manager"].pk,
        "due_on": "2026-05-01",
        **overrides,
    }


def test_a_manager_commits_an_action_on_a_custom_driver_from_the_results_link(
    client, cast, org, benefits_run
):
    client.force_login(cast["manager"].user)
    results = client.get(
        f"/surveys/runs/{benefits_run.pk}/results/", {"subtree": org["support_a"].pk}
    ).content.decode()
    url = f"/actions/new/?run={benefits_run.pk}&driver=benefits&team={org['support_a'].pk}"

    form = client.get(url).content.decode()
    response = client.post("/actions/new/", _body(benefits_run, org, cast))

    assert f'class="commit-action" href="{url.replace("&", "&amp;")}"' in results
    assert re.search(r'<option value="benefits" selected>Benefits — 33% favourable', form)
    action = Action.objects.get()
    assert response.status_code == 302
    assert (action.source_driver, action.source_run) == ("benefits", benefits_run)
    detail = client.get(f"/actions/{action.pk}/").content.decode()
    assert "You said: Benefits was 33% favourable in March 2026" in detail
    team_page = client.get(f"/actions/team/{org['support_a'].pk}/").content.decode()
    assert "You said: Benefits was 33% favourable in March 2026" in team_page


def test_the_api_creates_an_action_on_a_custom_driver_and_names_it(api, cast, org, benefits_run):
    created = api.as_(cast["manager"]).post("/api/v1/actions/", _body(benefits_run, org, cast))

    assert created.status_code == 201, created.content
    assert (created.json()["source_driver"], created.json()["source_driver_label"]) == (
        "benefits",
        "Benefits",
    )
    listed = api.as_(cast["manager"]).get("/api/v1/actions/").json()["results"]
    assert [(a["source_driver"], a["source_driver_label"]) for a in listed] == [
        ("benefits", "Benefits")
    ]


@pytest.mark.parametrize("driver", ["perks", "benefits_retired"])
def test_an_unknown_or_retired_driver_is_refused_naming_the_field(
    api, client, cast, org, benefits_run, driver
):
    if driver == "benefits_retired":
        retired = survey_services.custom_driver_create(label="Benefits retired")
        survey_services.custom_driver_update(driver=retired, is_active=False)

    refused = api.as_(cast["manager"]).post(
        "/api/v1/actions/", _body(benefits_run, org, cast, source_driver=driver)
    )
    client.force_login(cast["manager"].user)
    page = client.post("/actions/new/", _body(benefits_run, org, cast, source_driver=driver))

    assert refused.status_code == 400
    assert "source_driver" in refused.json()["error"]["fields"]
    assert page.status_code == 200
    assert page.context["form"].errors["source_driver"]
    assert not Action.objects.exists()


def test_the_service_refuses_an_unknown_driver_naming_the_field(cast, org, benefits_run):
    from cxculture.lib.errors import DomainError

    with pytest.raises(DomainError) as refused:
        make_action(
            by=cast["manager"],
            team=org["support_a"],
            source_kind="survey_driver",
            source_run=benefits_run,
            source_driver="perks",
        )
    assert refused.value.field == "source_driver"


def test_follow_through_effects_and_insights_name_the_custom_driver(
    api, clock, cast, org, hr_admin, benefits_run
):
    action = make_action(
        by=cast["manager"],
        team=org["support_a"],
        source_kind="survey_driver",
        source_run=benefits_run,
        source_driver="benefits",
    )
    clock.move_to(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC))  # the run has closed

    effects = api.as_(hr_admin).get("/api/v1/actions/follow-through/").json()["effects"]
    culture = api.as_(hr_admin).get("/api/v1/insights/culture/")
    linkage = api.as_(hr_admin).get("/api/v1/insights/linkage/", {"run": benefits_run.pk})

    assert [(e["action"], e["driver"], e["driver_label"]) for e in effects] == [
        (action.pk, "benefits", "Benefits")
    ]
    assert culture.status_code == 200, culture.content
    heatmap = culture.json()["heatmap"]
    assert {"driver": "benefits", "label": "Benefits"} in heatmap["columns"]
    support = next(row for row in heatmap["rows"] if row["name"] == "Support")
    column = [c["driver"] for c in heatmap["columns"]].index("benefits")
    assert support["values"][column] == 33
    assert linkage.status_code == 200, linkage.content
    assert {"code": "benefits", "label": "Benefits"} in linkage.json()["drivers"]


def test_the_form_lists_custom_drivers_but_not_retired_ones(client, cast, clock):
    survey_services.custom_driver_create(label="Benefits")
    old = survey_services.custom_driver_create(label="Parking")
    survey_services.custom_driver_update(driver=old, is_active=False)
    client.force_login(cast["manager"].user)

    form = client.get("/actions/new/").content.decode()

    assert '<option value="benefits">Benefits</option>' in form
    assert "Parking" not in form


def test_an_action_keeps_its_driver_label_after_the_driver_is_retired(api, cast, org, benefits_run):
    action = make_action(
        by=cast["manager"],
        team=org["support_a"],
        source_kind="survey_driver",
        source_run=benefits_run,
        source_driver="benefits",
        due_on=dt.date(2026, 5, 1),
    )
    from surveys.models import CustomDriver

    survey_services.custom_driver_update(
        driver=CustomDriver.objects.get(code="benefits"), is_active=False
    )

    shown = api.as_(cast["manager"]).get(f"/api/v1/actions/{action.pk}/").json()
    assert shown["source_driver_label"] == "Benefits"


def test_the_api_list_reads_custom_driver_labels_once_per_page(api, cast, org, benefits_run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def listed_queries() -> tuple[int, list[str]]:
        client = api.as_(cast["manager"])
        with CaptureQueriesContext(connection) as queries:
            body = client.get("/api/v1/actions/").json()
        return len(queries), [a["source_driver_label"] for a in body["results"]]

    def act() -> None:
        make_action(
            by=cast["manager"],
            team=org["support_a"],
            source_kind="survey_driver",
            source_run=benefits_run,
            source_driver="benefits",
        )

    act()
    one, labels_one = listed_queries()
    for _ in range(4):
        act()
    five, labels_five = listed_queries()

    assert (labels_one, labels_five) == (["Benefits"], ["Benefits"] * 5)
    assert five == one
