"""Issue 4's demo, in a browser: points move, a reward is redeemed and approved, an exception
is logged, rewarded and published — and the balances are right at every step."""

import pytest

from recognition import selectors
from recognition.models import PolicyException, Recognition, Redemption
from tests.factories.people import PolicyFactory
from tests.factories.recognition import RewardFactory, give, set_budget
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _points(person) -> dict[str, int | None]:
    balances = selectors.balances_for(person)
    return {"wallet": balances.wallet, "budget": balances.budget}


def test_a_received_reward_is_redeemed_and_approved_by_hr(open_session, cast):
    employee, teammate, hr = cast["employee"], cast["teammate"], cast["hr_admin"]
    give(teammate, employee, points=30)
    RewardFactory(name="Team breakfast", cost_points=25)
    assert _points(employee)["wallet"] == 30

    agent = open_session()
    agent.sign_in(employee.user.email, PASSWORD)
    agent.go("/recognition/rewards/")
    with agent.page.expect_navigation():
        agent.page.locator(".card", has_text="Team breakfast").get_by_role(
            "button", name="Redeem"
        ).click()
    assert "Requested Team breakfast" in agent.page.inner_text("main"), agent.page.inner_text(
        "main"
    )
    redemption = Redemption.objects.get(employee=employee)
    assert redemption.status == Redemption.Status.PENDING
    assert _points(employee)["wallet"] == 5

    people_team = open_session()
    people_team.sign_in(hr.user.email, PASSWORD)
    people_team.go("/recognition/redemptions/")
    with people_team.page.expect_navigation():
        people_team.page.get_by_role("button", name="Approve").first.click()
    people_team.screenshot("hr-redemptions")

    redemption.refresh_from_db()
    assert redemption.status == Redemption.Status.APPROVED
    assert _points(employee)["wallet"] == 5
    assert selectors.ledger_problems() == []


def test_an_exception_is_logged_then_rewarded_and_published_by_the_manager(open_session, cast):
    employee, manager, hr = cast["employee"], cast["manager"], cast["hr_admin"]
    policy = PolicyFactory(name="Delivery fees are not waived", code="delivery-fee")
    set_budget(manager, 200, by=hr)

    agent = open_session()
    agent.sign_in(employee.user.email, PASSWORD)
    agent.go("/recognition/exceptions/")
    agent.page.select_option("#id_policy", value=str(policy.pk))
    agent.page.fill("#id_customer_ref", "CUST-000042")
    agent.page.fill("#id_what_was_done", "Waived the delivery fee for a late parcel.")
    agent.page.fill("#id_why", "The parcel was late twice; the customer was about to leave.")
    agent.page.fill("#id_cost", "4.99")
    with agent.page.expect_navigation():
        agent.page.get_by_role("button", name="Log it").click()
    assert "Logged. Your manager will review it." in agent.page.inner_text("main")
    agent.screenshot("employee-exception-logged")
    exception = PolicyException.objects.get(employee=employee)
    assert exception.status == PolicyException.Status.PENDING

    lead = open_session()
    lead.sign_in(manager.user.email, PASSWORD)
    lead.go("/recognition/exceptions/review/")
    card = lead.page.locator("article", has_text="Delivery fees are not waived")
    card.get_by_label("Approve", exact=True).check()
    card.locator("textarea").fill("Exactly the right call. Thank you.")
    card.locator("input[type=number]").fill("20")
    card.get_by_label("Publish as a customer-first story").check()
    with lead.page.expect_navigation():
        card.get_by_role("button", name="Save review").click()
    lead.screenshot("manager-exception-review")

    exception.refresh_from_db()
    assert exception.status == PolicyException.Status.APPROVED
    assert _points(employee)["wallet"] == 20
    assert _points(manager)["budget"] == 180
    story = Recognition.objects.get(receivers=employee)
    agent.go("/recognition/")
    assert "Waived the delivery fee" in agent.page.inner_text("#feed") or story.message in (
        agent.page.inner_text("#feed")
    )
    assert selectors.ledger_problems() == []
