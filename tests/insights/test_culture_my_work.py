"""The culture dashboard's "waiting for you" part (open actions, exceptions to review, people
not recognised lately, each scoped to the viewer) and the htmx swap of the dashboard body."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tests.factories.actions import make_action, set_status
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import give, log_exception

CULTURE = "/api/v1/insights/culture/"
NOW = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def april():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sales_lead(org):
    return EmployeeFactory(
        first_name="Sid", last_name="Seller", team=org["sales"], manages=[org["sales"]]
    )


def _work(api, person, **params):
    response = api.as_(person).get(CULTURE, params)
    assert response.status_code == 200, response.content
    return response.json()["my_work"]


# --- Open actions ---------------------------------------------------------------------------------


@pytest.fixture
def actions(cast, org, sales_lead):
    manager, hr = cast["manager"], cast["hr_admin"]
    made = {
        "late": make_action(
            by=manager, team=org["support_a"], title="Late macro", due_on=dt.date(2026, 3, 20)
        ),
        "b": make_action(
            by=manager, team=org["support_b"], title="Support B huddle", due_on=dt.date(2026, 5, 1)
        ),
        "done": make_action(by=manager, team=org["support_a"], title="Done already"),
        "sales": make_action(
            by=hr,
            team=org["sales"],
            title="Sales thing",
            owner=sales_lead,
            due_on=dt.date(2026, 6, 1),
        ),
        "org": make_action(
            by=cast["executive"], team=None, title="Town hall", due_on=dt.date(2026, 4, 20)
        ),
    }
    set_status(made["done"], by=manager, status="done")
    return made


def test_a_manager_sees_the_open_actions_of_their_subtree_soonest_due_first(api, cast, actions):
    work = _work(api, cast["manager"])

    assert work["actions"]["count"] == 2
    assert [(a["title"], a["overdue"], a["due_on"]) for a in work["actions"]["items"]] == [
        ("Late macro", True, "2026-03-20"),
        ("Support B huddle", False, "2026-05-01"),
    ]
    assert work["actions"]["items"][0]["team"] == "Support A"
    assert work["actions"]["items"][0]["status"] == "planned"


def test_another_manager_sees_only_their_own_subtree(api, cast, actions, sales_lead):
    work = _work(api, sales_lead)

    assert [a["title"] for a in work["actions"]["items"]] == ["Sales thing"]


def test_hr_and_executives_see_the_organisations_own_actions_not_every_team(api, cast, actions):
    hr = _work(api, cast["hr_admin"])
    executive = _work(api, cast["executive"])

    assert [a["title"] for a in hr["actions"]["items"]] == ["Town hall"]
    assert [a["title"] for a in executive["actions"]["items"]] == ["Town hall"]
    assert hr["actions"]["items"][0]["team"] is None


# --- Exceptions to review -------------------------------------------------------------------------


def test_exceptions_waiting_for_review_are_the_viewers_subtree_only(
    api, cast, employee, outsider, sales_person, sales_lead
):
    log_exception(employee, cost=Decimal("10.00"), customer_ref="C1")
    log_exception(outsider, cost=Decimal("20.00"), customer_ref="C2")
    log_exception(sales_person, cost=Decimal("30.00"), customer_ref="C3")

    manager = _work(api, cast["manager"])
    sales = _work(api, sales_lead)
    hr = _work(api, cast["hr_admin"])
    executive = _work(api, cast["executive"])

    assert manager["exceptions"]["count"] == 2
    assert [(e["employee"], e["cost"], e["currency"]) for e in manager["exceptions"]["items"]] == [
        ("Erin Employee", "10.00", "GBP"),
        ("Olga Outsider", "20.00", "GBP"),
    ]
    assert [e["employee"] for e in sales["exceptions"]["items"]] == ["Sam Sales"]
    assert hr["exceptions"]["count"] == 3
    assert executive["exceptions"] is None


def test_only_the_first_five_exceptions_are_listed_with_the_full_count(api, cast, employee):
    for n in range(7):
        log_exception(employee, customer_ref=f"C{n}")

    work = _work(api, cast["manager"])

    assert work["exceptions"]["count"] == 7
    assert len(work["exceptions"]["items"]) == 5


# --- Not recognised lately ------------------------------------------------------------------------


def test_people_not_recognised_in_the_window_are_named_by_first_name(
    api, april, cast, employee, teammate, outsider, sales_person, settings
):
    # The same window as the "not recognised" page, so the count and the linked list agree.
    settings.CXC_RECOGNITION_NOT_RECOGNISED_DAYS = 30
    april.move_to(NOW - dt.timedelta(days=40))
    give(employee, teammate)
    april.move_to(NOW - dt.timedelta(days=5))
    give(teammate, employee)
    april.move_to(NOW)

    manager = _work(api, cast["manager"])
    hr = _work(api, cast["hr_admin"])

    # Olga was never recognised, Tom 40 days ago; Erin 5 days ago. The manager is not listed.
    assert manager["not_recognised"] == {"days": 30, "count": 2, "first_names": ["Olga", "Tom"]}
    assert hr["not_recognised"]["count"] == 6
    assert "Erin" not in hr["not_recognised"]["first_names"]


def test_an_employee_gets_no_dashboard_at_all(api, employee):
    assert api.as_(employee).get(CULTURE).status_code == 403


# --- The page -------------------------------------------------------------------------------------


def test_the_page_shows_the_tables_of_what_waits_for_the_manager(client, cast, actions, employee):
    log_exception(employee)
    client.force_login(cast["manager"].user)

    html = client.get("/insights/culture/").content.decode()

    assert 'id="my-actions-table"' in html and "Late macro" in html
    assert "Late macro" in html and "Sales thing" not in html
    assert "Planned · overdue" in html
    assert 'data-field="my-exceptions-count">1<' in html
    assert 'href="/recognition/exceptions/review/"' in html
    assert 'href="/recognition/not-recognised/"' in html


# --- htmx -----------------------------------------------------------------------------------------


def test_an_htmx_request_gets_only_the_dashboard_body(client, cast, org):
    client.force_login(cast["executive"].user)

    partial = client.get(
        "/insights/culture/", {"department": org["sales"].pk}, headers={"HX-Request": "true"}
    )
    full = client.get("/insights/culture/", {"department": org["sales"].pk})

    assert partial.status_code == full.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body and "<form" not in body
    assert '<p class="lead">Sales, from' in body
    assert 'id="trend-title"' in body
    page = full.content.decode()
    assert "<html" in page and 'id="culture-body"' in page
    assert 'hx-get="/insights/culture/"' in page and 'hx-target="#culture-body"' in page
    assert 'hx-push-url="true"' in page
    assert '<p class="lead">Sales, from' in page
    assert "HX-Request" in partial["Vary"] and "HX-Request" in full["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(client, cast):
    client.force_login(cast["executive"].user)

    response = client.get(
        "/insights/culture/",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    assert "<html" in response.content.decode()


def test_a_refused_filter_over_htmx_swaps_in_the_reason(client, cast):
    client.force_login(cast["executive"].user)

    response = client.get("/insights/culture/", {"months": "7"}, headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert "Choose 3, 6 or 12 months." in response.content.decode()
    assert "<html" not in response.content.decode()
