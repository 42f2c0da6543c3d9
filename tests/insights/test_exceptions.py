"""The value of saying yes, on hand-made numbers a person can check."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from cxculture.outcomes import services as outcome_services
from cxculture.people.permissions import viewer_for
from recognition import services as recognition_services
from recognition.models import PolicyException
from tests.factories.outcomes import OutcomeSourceFactory, record
from tests.factories.people import PolicyFactory

EXCEPTIONS = "/api/v1/insights/exceptions/"
DAY = dt.date(2026, 3, 1)
PERIOD = {"since": "2026-01-01", "until": "2026-05-31"}


@pytest.fixture(autouse=True)
def in_june():
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC), tick=False):
        yield


def _log(person, policy, *, decision, reviewer, cost, customer="", interaction=""):
    exception = recognition_services.exception_log(
        employee=person,
        policy=policy,
        what_was_done="Refunded outside the window.",
        why="The parcel was lost twice.",
        customer_ref=customer,
        interaction_ref=interaction,
        cost=Decimal(cost),
        occurred_on=DAY,
    )
    note = "" if decision == PolicyException.Status.APPROVED else "Noted, thanks."
    return recognition_services.exception_review(
        exception=exception, viewer=viewer_for(reviewer.user), decision=decision, note=note
    )


def _outcomes(rows):
    source = OutcomeSourceFactory()
    outcome_services.outcome_records_ingest(
        source=source,
        records=[
            record(
                code,
                value,
                f"{day}T12:00:00Z",
                team=team.external_id,
                customer_ref=customer,
                interaction_ref=interaction,
                external_id=f"o{n}",
            )
            for n, (code, value, day, team, customer, interaction) in enumerate(rows)
        ],
    )


@pytest.fixture
def story(org, employee, outsider, sales_person, hr_admin):
    approved, declined = PolicyException.Status.APPROVED, PolicyException.Status.DECLINED
    refund = PolicyFactory(name="Refund window", code="refund-window")
    shipping = PolicyFactory(name="Free shipping", code="free-shipping")
    _log(employee, refund, decision=approved, reviewer=hr_admin, cost="10", customer="C1")
    _log(employee, refund, decision=approved, reviewer=hr_admin, cost="20", customer="C2")
    _log(employee, refund, decision=declined, reviewer=hr_admin, cost="5", customer="C3")
    _log(employee, shipping, decision=approved, reviewer=hr_admin, cost="7", interaction="I9")
    _log(outsider, refund, decision=approved, reviewer=hr_admin, cost="3", customer="C5")
    _log(sales_person, shipping, decision=approved, reviewer=hr_admin, cost="100", customer="S1")
    a, b = org["support_a"], org["support_b"]
    _outcomes(
        [
            # Customers who got a yes in Support A.
            ("csat", 5, "2026-03-01", a, "C1", ""),  # the same day counts
            ("churn", 0, "2026-04-01", a, "C1", ""),
            ("csat", 1, "2026-02-15", a, "C1", ""),  # before the yes: in neither group
            ("csat", 4, "2026-03-10", a, "C2", ""),
            ("churn", 0, "2026-04-01", a, "C2", ""),
            ("csat", 5, "2026-03-01", a, "C9", "I9"),  # matched by the interaction
            # The declined customer: in neither group.
            ("csat", 1, "2026-03-05", a, "C3", ""),
            # Support A's other customers in the period (1 March .. 30 May).
            ("csat", 3, "2026-03-05", a, "X1", ""),
            ("csat", 2, "2026-03-20", a, "X2", ""),
            ("csat", 4, "2026-04-10", a, "X3", ""),
            ("churn", 1, "2026-04-01", a, "X1", ""),
            ("churn", 0, "2026-04-02", a, "X2", ""),
            ("csat", 5, "2026-02-20", a, "X4", ""),  # before the period: not compared
            # Support B: the yes-customer did worse than the others.
            ("csat", 1, "2026-03-02", b, "C5", ""),
            ("csat", 5, "2026-03-02", b, "Y1", ""),
        ]
    )
    return {"refund": refund, "shipping": shipping}


def _rows(data, key):
    return {row["name"]: row for row in data[key]}


def test_each_policy_shows_its_cost_and_its_customers_against_the_baseline(
    api, hr_admin, story, settings
):
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 2

    data = api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json()

    refund = _rows(data, "by_policy")["Refund window"]
    assert (refund["logged"], refund["approved"], refund["declined"]) == (4, 3, 1)
    assert (refund["total_cost"], refund["approved_cost"]) == ("38.00", "33.00")
    # Yes: C1 5, C2 4 (Support A) and C5 1 (Support B) → 10 / 3; no churn among C1, C2.
    assert refund["yes_group"] == {
        "csat_mean": 3.33,
        "csat_n": 3,
        "nps": None,
        "nps_n": 0,
        "churn_rate": 0.0,
        "churn_n": 2,
    }
    # Others: Support A X1 3, X2 2, X3 4 and Support B Y1 5 → 14 / 4; churn 1 of 2.
    assert refund["baseline"] == {
        "csat_mean": 3.5,
        "csat_n": 4,
        "nps": None,
        "nps_n": 0,
        "churn_rate": 50.0,
        "churn_n": 2,
    }
    assert (refund["yes_better"], refund["revisit"]) == (False, False)


def test_a_policy_often_bent_with_better_outcomes_is_flagged_to_revisit(
    api, hr_admin, story, settings
):
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 2

    data = api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json()

    shipping = _rows(data, "by_policy")["Free shipping"]
    # Yes: I9's csat 5 (Support A); Sales has no outcomes. Others in Support A: 3, 2, 4.
    assert (shipping["approved"], shipping["approved_cost"]) == (2, "107.00")
    assert (shipping["yes_group"]["csat_mean"], shipping["yes_group"]["csat_n"]) == (5.0, 1)
    assert (shipping["baseline"]["csat_mean"], shipping["baseline"]["csat_n"]) == (3.0, 3)
    assert (shipping["yes_better"], shipping["revisit"]) == (True, True)

    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 3
    data = api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json()
    assert _rows(data, "by_policy")["Free shipping"]["revisit"] is False


def test_each_team_compares_its_own_customers(api, hr_admin, story):
    data = api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json()

    teams = _rows(data, "by_team")
    support_a = teams["Support A"]
    assert (support_a["logged"], support_a["approved"], support_a["approved_cost"]) == (
        4,
        3,
        "37.00",
    )
    # Yes: 5, 4, 5 → 4.67; others 3, 2, 4 → 3.0.
    assert (support_a["yes_group"]["csat_mean"], support_a["yes_group"]["csat_n"]) == (4.67, 3)
    assert (support_a["baseline"]["csat_mean"], support_a["baseline"]["csat_n"]) == (3.0, 3)
    assert (support_a["yes_group"]["churn_rate"], support_a["baseline"]["churn_rate"]) == (
        0.0,
        50.0,
    )
    support_b = teams["Support B"]
    assert (support_b["yes_group"]["csat_mean"], support_b["baseline"]["csat_mean"]) == (1.0, 5.0)
    assert support_b["yes_better"] is False
    assert teams["Sales"]["yes_group"]["csat_n"] == 0


def test_a_manager_sees_only_the_exceptions_of_their_subtree(api, manager, story):
    data = api.as_(manager).get(EXCEPTIONS, PERIOD).json()

    assert set(_rows(data, "by_team")) == {"Support A", "Support B"}
    shipping = _rows(data, "by_policy")["Free shipping"]
    assert (shipping["logged"], shipping["approved_cost"]) == (1, "7.00")


def test_nps_is_the_share_of_promoters_minus_detractors_on_each_side(api, hr_admin, org, employee):
    refund = PolicyFactory(name="Refund window", code="refund-window")
    _log(employee, refund, decision="approved", reviewer=hr_admin, cost="1", customer="N1")
    a = org["support_a"]
    _outcomes(
        [
            ("nps", 10, "2026-03-02", a, "N1", ""),
            ("nps", 9, "2026-03-03", a, "N1", ""),
            ("nps", 10, "2026-03-02", a, "M1", ""),
            ("nps", 7, "2026-03-02", a, "M2", ""),
            ("nps", 3, "2026-03-02", a, "M3", ""),
            ("nps", 0, "2026-03-02", a, "M4", ""),
        ]
    )

    row = _rows(api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json(), "by_policy")["Refund window"]

    assert (row["yes_group"]["nps"], row["yes_group"]["nps_n"]) == (100.0, 2)
    assert (row["baseline"]["nps"], row["baseline"]["nps_n"]) == (-25.0, 4)


def test_a_bad_date_is_a_clear_error(api, hr_admin):
    response = api.as_(hr_admin).get(EXCEPTIONS, {"since": "March"})

    assert response.status_code == 400
    assert "since" in response.json()["error"]["fields"]


def test_the_page_lists_policies_and_teams_with_the_flag(client, hr_admin, story, settings):
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 2
    client.force_login(hr_admin.user)

    page = client.get("/insights/exceptions/", PERIOD).content.decode()

    assert '<th scope="row">Refund window</th>' in page
    assert '<th scope="row">Support A</th>' in page
    assert page.count("revisit this policy</span>") == 1
    assert "4.67 (3) / 3.0 (3)" in page
    assert "<td>33.00</td>" in page  # the cost of the approved refunds, to the penny
