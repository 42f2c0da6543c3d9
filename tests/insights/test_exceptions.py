"""The value of saying yes, on hand-made numbers a person can check."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from cxculture.outcomes.ingest import batches
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
    batches.outcome_records_ingest(
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


def test_a_policy_shows_its_yes_customers_against_the_teams_others(api, hr_admin, story):
    data = api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json()

    shipping = _rows(data, "by_policy")["Free shipping"]
    # Yes: I9's csat 5 (Support A); Sales has no outcomes. Others in Support A: 3, 2, 4.
    assert (shipping["approved"], shipping["approved_cost"]) == (2, "107.00")
    assert (shipping["yes_group"]["csat_mean"], shipping["yes_group"]["csat_n"]) == (5.0, 1)
    assert (shipping["baseline"]["csat_mean"], shipping["baseline"]["csat_n"]) == (3.0, 3)


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
    assert page.count("revisit this policy</span>") == 0  # a handful of customers: no flag
    assert "4.67 (3) / 3.0 (3)" in page
    assert "<td>33.00 GBP</td>" in page  # the cost of the approved refunds, to the penny


# --- No conclusions from tiny samples ----------------------------------------------------------


def test_a_tiny_yes_group_says_not_enough_data_and_flags_nothing(
    api, client, hr_admin, story, settings
):
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 2  # the policy was approved often enough

    data = api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json()

    shipping = _rows(data, "by_policy")["Free shipping"]
    # CSAT 5 for one yes-customer against 3.0 for three others: too few to tell.
    assert (shipping["yes_better"], shipping["revisit"]) == (False, False)
    assert shipping["verdict"] == "not_enough_data"
    assert shipping["comparisons"]["csat"]["verdict"] == "not_enough_data"
    assert shipping["comparisons"]["csat"]["difference"] is None
    assert data["min_group_n"] == 30
    client.force_login(hr_admin.user)
    page = client.get("/insights/exceptions/", PERIOD).content.decode()
    assert "revisit this policy</span>" not in page and "yes-group did better" not in page
    assert "not enough data" in page


def _two_groups(org, employee, hr_admin, *, yes_csat, others_csat, yes_churn=(), others_churn=()):
    """Three approved exceptions (customers Y0-Y2) in Support A; their later outcomes and the
    team's other customers' outcomes, one record per value."""
    refund = PolicyFactory(name="Refund window", code="refund-window")
    for n in range(3):
        _log(
            employee, refund, decision="approved", reviewer=hr_admin, cost="2.50", customer=f"Y{n}"
        )
    a = org["support_a"]
    rows = [("csat", v, "2026-03-02", a, f"Y{i % 3}", "") for i, v in enumerate(yes_csat)]
    rows += [("csat", v, "2026-03-02", a, f"Z{i}", "") for i, v in enumerate(others_csat)]
    rows += [("churn", v, "2026-03-03", a, f"Y{i % 3}", "") for i, v in enumerate(yes_churn)]
    rows += [("churn", v, "2026-03-03", a, f"Z{i}", "") for i, v in enumerate(others_churn)]
    _outcomes(rows)


def _welch(yes, others):
    import statistics

    difference = statistics.mean(yes) - statistics.mean(others)
    spread = (
        1.959963984540054
        * (statistics.variance(yes) / len(yes) + statistics.variance(others) / len(others)) ** 0.5
    )
    return difference, difference - spread, difference + spread


def test_enough_outcomes_with_a_clear_difference_flag_the_policy(
    api, hr_admin, org, employee, settings
):
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 3
    yes = [5, 4] * 15  # 30 records, mean 4.5
    others = [2, 3, 4] * 10  # 30 records, mean 3.0
    yes_churn, others_churn = [0] * 36 + [1] * 4, [0] * 20 + [1] * 20  # 10% against 50%
    _two_groups(
        org,
        employee,
        hr_admin,
        yes_csat=yes,
        others_csat=others,
        yes_churn=yes_churn,
        others_churn=others_churn,
    )

    row = _rows(api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json(), "by_policy")["Refund window"]

    csat = row["comparisons"]["csat"]
    difference, low, high = _welch(yes, others)
    assert (csat["yes_n"], csat["baseline_n"]) == (30, 30)
    assert (csat["difference"], csat["ci_low"], csat["ci_high"]) == (
        round(difference, 2),
        round(low, 2),
        round(high, 2),
    )
    assert csat["verdict"] == "better"
    churn = row["comparisons"]["churn"]
    p1, p2 = 0.1, 0.5
    spread = 100 * 1.959963984540054 * (p1 * (1 - p1) / 40 + p2 * (1 - p2) / 40) ** 0.5
    assert (churn["difference"], churn["ci_low"], churn["ci_high"]) == (
        -40.0,
        round(-40 - spread, 2),
        round(-40 + spread, 2),
    )
    assert churn["verdict"] == "better"  # less churn is better
    assert row["comparisons"]["nps"]["verdict"] == "not_enough_data"
    assert (row["verdict"], row["yes_better"], row["revisit"]) == ("better", True, True)
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 4  # better, but approved only three times
    again = _rows(api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json(), "by_policy")["Refund window"]
    assert (again["yes_better"], again["revisit"]) == (True, False)


def test_the_minimum_applies_to_both_sides(api, hr_admin, org, employee, settings):
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 1
    _two_groups(org, employee, hr_admin, yes_csat=[5, 4] * 15, others_csat=[2, 3, 4] * 10)
    settings.CXC_INSIGHTS_MIN_GROUP_N = 31

    row = _rows(api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json(), "by_policy")["Refund window"]

    assert row["comparisons"]["csat"]["verdict"] == "not_enough_data"
    assert (row["verdict"], row["yes_better"], row["revisit"]) == ("not_enough_data", False, False)


def test_an_interval_that_includes_no_difference_is_not_enough_data(
    api, hr_admin, org, employee, settings
):
    settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED = 1
    _two_groups(org, employee, hr_admin, yes_csat=[5, 3] * 15 + [4], others_csat=[4, 3, 5] * 10)

    row = _rows(api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json(), "by_policy")["Refund window"]

    csat = row["comparisons"]["csat"]
    assert csat["ci_low"] < 0 < csat["ci_high"]
    assert csat["verdict"] == "not_enough_data"
    assert (row["verdict"], row["yes_better"], row["revisit"]) == ("not_enough_data", False, False)


def test_a_yes_group_that_did_clearly_worse_says_so(api, hr_admin, org, employee, settings):
    _two_groups(org, employee, hr_admin, yes_csat=[2, 3, 4] * 10, others_csat=[5, 4] * 15)

    row = _rows(api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json(), "by_policy")["Refund window"]

    assert row["comparisons"]["csat"]["verdict"] == "worse"
    assert (row["verdict"], row["yes_better"], row["revisit"]) == ("worse", False, False)


# --- Money and "approved", the same everywhere -------------------------------------------------


def test_money_is_shown_with_its_currency(api, client, hr_admin, story, settings):
    data = api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json()
    culture = api.as_(hr_admin).get("/api/v1/insights/culture/", {"months": 6}).json()
    client.force_login(hr_admin.user)
    page = client.get("/insights/exceptions/", PERIOD).content.decode()
    dashboard = client.get("/insights/culture/", {"months": 6}).content.decode()

    assert data["currency"] == culture["exceptions"]["currency"] == "GBP"
    assert "<td>33.00 GBP</td>" in page and "<td>38.00 GBP</td>" in page
    assert '<div class="stat" id="exceptions-cost">140.00 GBP</div>' in dashboard


def test_approved_with_coaching_counts_as_approved_on_every_page(
    api, client, hr_admin, org, employee
):
    refund = PolicyFactory(name="Refund window", code="refund-window")
    _log(employee, refund, decision="approved", reviewer=hr_admin, cost="1", customer="A1")
    _log(
        employee,
        refund,
        decision="approved_with_coaching",
        reviewer=hr_admin,
        cost="2",
        customer="A2",
    )
    _log(employee, refund, decision="declined", reviewer=hr_admin, cost="4", customer="A3")

    insight = _rows(api.as_(hr_admin).get(EXCEPTIONS, PERIOD).json(), "by_policy")["Refund window"]
    by_policy = api.as_(hr_admin).get("/api/v1/exceptions/by-policy/").json()
    recognition = next(row for row in by_policy if row["code"] == "refund-window")

    assert insight["approved"] == recognition["approved"] == 2
    assert recognition["coached"] == 1  # of the approved ones
    client.force_login(hr_admin.user)
    for url in ("/insights/exceptions/", "/recognition/policies/"):
        page = client.get(url, PERIOD if "insights" in url else {}).content.decode()
        assert "Approved counts approved and approved-with-coaching exceptions" in page, url
