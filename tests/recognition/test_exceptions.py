"""Policy exceptions: logging, the manager's review queue, rewards from the budget, stories."""

from decimal import Decimal

import pytest
from django.core import mail

from recognition.models import PolicyException, Recognition
from recognition.selectors import balances_for, ledger_problems
from tests.factories.people import EmployeeFactory, PolicyFactory
from tests.factories.recognition import log_exception, set_budget

pytestmark = pytest.mark.django_db

URL = "/api/v1/exceptions/"


@pytest.fixture
def policy(org):
    return PolicyFactory(code="refund-30-days", name="Refunds within 30 days only")


@pytest.fixture
def sales_manager(org):
    return EmployeeFactory(
        first_name="Sid", last_name="Sales-Lead", team=org["sales"], manages=[org["sales"]]
    )


def _log(api, person, policy, **extra):
    body = {
        "policy": policy.pk,
        "customer_ref": "CUST-77",
        "what_was_done": "Refunded after 40 days.",
        "why": "The product failed on day 35; the customer is ten years loyal.",
        "cost": "49.99",
        **extra,
    }
    return api.as_(person).post(URL, body)


def test_an_employee_logs_an_exception_for_review(api, employee, policy):
    response = _log(api, employee, policy, interaction_ref="TICKET-9")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["cost"] == "49.99"
    assert body["currency"] == "GBP"
    assert body["customer_ref"] == "CUST-77"
    assert body["interaction_ref"] == "TICKET-9"


def test_an_exception_needs_a_customer_or_interaction_reference(api, employee, policy):
    response = _log(api, employee, policy, customer_ref="", interaction_ref="")

    assert response.status_code == 400
    assert "customer_ref" in response.json()["error"]["fields"]
    assert _log(api, employee, policy, customer_ref="", interaction_ref="CALL-1").status_code == 201


def test_the_manager_approves_rewards_and_publishes_a_story(
    api, employee, manager, hr_admin, policy, django_capture_on_commit_callbacks
):
    set_budget(manager, 100, by=hr_admin)
    exception = log_exception(employee, policy=policy)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_(manager).post(
            f"{URL}{exception.pk}/review/",
            {
                "decision": "approved",
                "note": "Exactly the judgement we want.",
                "reward_points": 40,
                "publish": True,
            },
        )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert balances_for(manager).budget == 60
    assert balances_for(employee).wallet == 40
    story = Recognition.objects.get(kind="story")
    assert response.json()["recognition"] == story.pk
    assert story.message == "Exactly the judgement we want."
    assert list(story.receivers.all()) == [employee]
    feed = api.as_(employee).get("/api/v1/recognitions/").json()["results"]
    assert [item["kind"] for item in feed] == ["story"]
    assert any("40 points were added" in m.body for m in mail.outbox)
    assert ledger_problems() == []


@pytest.mark.parametrize(
    ("reward_points", "publish"), [(0, False), (25, False), (0, True), (25, True)]
)
def test_an_approved_exception_sends_the_employee_one_email(
    api,
    employee,
    manager,
    hr_admin,
    policy,
    django_capture_on_commit_callbacks,
    reward_points,
    publish,
):
    set_budget(manager, 100, by=hr_admin)
    exception = log_exception(employee, policy=policy)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_(manager).post(
            f"{URL}{exception.pk}/review/",
            {
                "decision": "approved",
                "note": "Exactly the judgement we want.",
                "reward_points": reward_points,
                "publish": publish,
            },
        )

    assert response.status_code == 200, response.content
    assert [m.to for m in mail.outbox] == [[employee.user.email]]
    (message,) = mail.outbox
    assert message.subject == f"Your policy exception for {policy.name}: approved"
    assert ("25 points were added to your wallet" in message.body) == bool(reward_points)
    assert ("Your story has been shared" in message.body) == publish


def test_approval_with_coaching_needs_notes_and_gives_no_points(api, employee, manager, policy):
    exception = log_exception(employee, policy=policy)
    url = f"{URL}{exception.pk}/review/"

    missing = api.as_(manager).post(url, {"decision": "approved_with_coaching"})
    rewarded = api.as_(manager).post(
        url, {"decision": "declined", "note": "No.", "reward_points": 10}
    )
    coached = api.as_(manager).post(
        url, {"decision": "approved_with_coaching", "note": "Next time, offer a voucher first."}
    )

    assert missing.status_code == 400
    assert rewarded.status_code == 400
    assert coached.status_code == 200
    assert coached.json()["review_note"] == "Next time, offer a voucher first."
    assert balances_for(employee).wallet == 0


def test_a_reviewed_exception_cannot_be_reviewed_again(api, employee, manager, policy):
    exception = log_exception(employee, policy=policy)
    url = f"{URL}{exception.pk}/review/"
    api.as_(manager).post(url, {"decision": "declined", "note": "Too costly."})

    again = api.as_(manager).post(url, {"decision": "approved"})

    assert again.status_code == 409
    assert PolicyException.objects.get(pk=exception.pk).status == "declined"


def test_a_manager_cannot_review_their_own_exception(api, manager, hr_admin, policy):
    set_budget(manager, 100, by=hr_admin)
    exception = log_exception(manager, policy=policy)

    response = api.as_(manager).post(
        f"{URL}{exception.pk}/review/", {"decision": "approved", "reward_points": 50}
    )

    assert response.status_code == 403
    assert balances_for(manager).wallet == 0
    assert PolicyException.objects.get(pk=exception.pk).status == "pending"


def test_another_teams_manager_cannot_review(api, employee, sales_manager, hr_admin, policy):
    set_budget(sales_manager, 100, by=hr_admin)
    exception = log_exception(employee, policy=policy)

    response = api.as_(sales_manager).post(
        f"{URL}{exception.pk}/review/", {"decision": "approved", "reward_points": 10}
    )

    assert response.status_code == 403
    assert balances_for(employee).wallet == 0


def test_colleagues_cannot_review(api, employee, teammate, policy):
    exception = log_exception(employee, policy=policy)

    response = api.as_(teammate).post(f"{URL}{exception.pk}/review/", {"decision": "approved"})

    assert response.status_code == 403


def test_a_reward_beyond_the_budget_is_a_conflict_and_the_exception_stays_pending(
    api, employee, manager, hr_admin, policy
):
    set_budget(manager, 30, by=hr_admin)
    exception = log_exception(employee, policy=policy)

    response = api.as_(manager).post(
        f"{URL}{exception.pk}/review/", {"decision": "approved", "reward_points": 31}
    )

    assert response.status_code == 409
    assert "30 available, 31 needed" in response.json()["error"]["message"]
    assert PolicyException.objects.get(pk=exception.pk).status == "pending"


def test_the_review_queue_holds_the_subtrees_pending_exceptions_but_ones_own(
    api, employee, outsider, sales_person, manager, policy
):
    mine = log_exception(employee, policy=policy)
    theirs = log_exception(outsider, policy=policy)
    log_exception(sales_person, policy=policy)
    log_exception(manager, policy=policy)

    queue = api.as_(manager).get(URL, {"queue": "true"}).json()["results"]
    listed = api.as_(manager).get(URL).json()["results"]
    own = api.as_(employee).get(URL).json()["results"]

    assert sorted(item["id"] for item in queue) == sorted([mine.pk, theirs.pk])
    assert len(listed) == 3  # the subtree's and the manager's own
    assert [item["id"] for item in own] == [mine.pk]


def test_exceptions_by_policy_count_cost_and_reviews(api, employee, teammate, manager, policy):
    other = PolicyFactory(code="one-replacement", name="One free replacement")
    first = log_exception(employee, policy=policy, cost=Decimal("10.00"))
    log_exception(teammate, policy=policy, cost=Decimal("5.50"))
    log_exception(employee, policy=other, cost=Decimal("1.00"))
    api.as_(manager).post(f"{URL}{first.pk}/review/", {"decision": "approved"})

    stats = {row["code"]: row for row in api.as_(manager).get(f"{URL}by-policy/").json()}

    assert stats["refund-30-days"]["exception_count"] == 2
    assert stats["refund-30-days"]["total_cost"] == "15.50"
    assert stats["refund-30-days"]["approved"] == 1
    assert stats["refund-30-days"]["pending"] == 1
    assert stats["one-replacement"]["exception_count"] == 1
    mine_only = {row["code"]: row for row in api.as_(teammate).get(f"{URL}by-policy/").json()}
    assert mine_only["refund-30-days"]["exception_count"] == 1
