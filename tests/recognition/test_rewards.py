"""The reward catalog and redemptions: pending → approved → fulfilled, or rejected and refunded."""

import pytest
from django.core import mail

from cxculture.people.models import Role
from recognition.models import Account, Redemption, Reward
from recognition.selectors import balances_for, ledger_problems
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import RewardFactory, fund_wallet

pytestmark = pytest.mark.django_db

URL = "/api/v1/redemptions/"


@pytest.fixture
def funded(employee, manager, hr_admin):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    return employee


def _redemptions_account() -> int:
    return Account.objects.get(kind=Account.Kind.REDEMPTIONS).balance


def test_redeeming_takes_the_points_and_one_item_of_stock(api, funded):
    reward = RewardFactory(name="Cinema tickets", cost_points=60, stock=3)

    response = api.as_(funded).post(URL, {"reward": reward.pk})

    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert response.json()["reward_name"] == "Cinema tickets"
    assert balances_for(funded).wallet == 40
    assert Reward.objects.get(pk=reward.pk).stock == 2
    assert _redemptions_account() == 60


def test_hr_approves_then_fulfils(api, funded, hr_admin, django_capture_on_commit_callbacks):
    reward = RewardFactory(cost_points=60)
    redemption_id = api.as_(funded).post(URL, {"reward": reward.pk}).json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        approved = api.as_(hr_admin).post(f"{URL}{redemption_id}/approve/", {})
        fulfilled = api.as_(hr_admin).post(f"{URL}{redemption_id}/fulfil/", {})

    assert approved.json()["status"] == "approved"
    assert fulfilled.json()["status"] == "fulfilled"
    assert balances_for(funded).wallet == 40
    assert [m.subject for m in mail.outbox][-1].endswith(": fulfilled")


def test_a_rejection_refunds_the_points_and_restocks(api, funded, hr_admin):
    reward = RewardFactory(cost_points=60, stock=1)
    redemption_id = api.as_(funded).post(URL, {"reward": reward.pk}).json()["id"]
    assert Reward.objects.get(pk=reward.pk).stock == 0

    response = api.as_(hr_admin).post(f"{URL}{redemption_id}/reject/", {"note": "Sold out."})

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert balances_for(funded).wallet == 100
    assert Reward.objects.get(pk=reward.pk).stock == 1
    assert _redemptions_account() == 0
    redemption = Redemption.objects.get(pk=redemption_id)
    assert redemption.refund_transaction.kind == "refund"
    assert ledger_problems() == []


def test_a_rejection_needs_a_reason_and_happens_once(api, funded, hr_admin):
    reward = RewardFactory(cost_points=10)
    redemption_id = api.as_(funded).post(URL, {"reward": reward.pk}).json()["id"]

    assert api.as_(hr_admin).post(f"{URL}{redemption_id}/reject/", {}).status_code == 400
    assert (
        api.as_(hr_admin).post(f"{URL}{redemption_id}/reject/", {"note": "No"}).status_code == 200
    )
    again = api.as_(hr_admin).post(f"{URL}{redemption_id}/reject/", {"note": "No"})
    assert again.status_code == 409
    assert balances_for(funded).wallet == 100


def test_fulfilling_a_pending_redemption_is_a_conflict(api, funded, hr_admin):
    reward = RewardFactory(cost_points=10)
    redemption_id = api.as_(funded).post(URL, {"reward": reward.pk}).json()["id"]

    assert api.as_(hr_admin).post(f"{URL}{redemption_id}/fulfil/", {}).status_code == 409


def test_redeeming_more_than_the_wallet_holds_is_a_conflict(api, funded):
    reward = RewardFactory(cost_points=101, stock=5)

    response = api.as_(funded).post(URL, {"reward": reward.pk})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_points"
    assert Reward.objects.get(pk=reward.pk).stock == 5  # the stock update rolled back
    assert Redemption.objects.count() == 0


def test_an_item_out_of_stock_cannot_be_redeemed(api, funded):
    reward = RewardFactory(cost_points=10, stock=0)

    response = api.as_(funded).post(URL, {"reward": reward.pk})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "out_of_stock"
    assert balances_for(funded).wallet == 100


def test_an_inactive_reward_is_not_in_the_catalog(api, funded, hr_admin):
    reward = RewardFactory(cost_points=10, is_active=False)

    assert api.as_(funded).get("/api/v1/rewards/").json()["results"] == []
    assert api.as_(funded).post(URL, {"reward": reward.pk}).status_code == 404
    assert len(api.as_(hr_admin).get("/api/v1/rewards/").json()["results"]) == 1


def test_hr_keeps_the_catalog(api, hr_admin, funded):
    created = api.as_(hr_admin).post(
        "/api/v1/rewards/", {"name": "Day off", "cost_points": 400, "stock": 10}
    )
    assert created.status_code == 201
    reward_id = created.json()["id"]
    assert (
        api.as_(hr_admin).patch(f"/api/v1/rewards/{reward_id}/", {"stock": 5}).json()["stock"] == 5
    )
    assert (
        api.as_(hr_admin).post("/api/v1/rewards/", {"name": "Free", "cost_points": 0}).status_code
        == 400
    )
    used = RewardFactory(cost_points=5)
    api.as_(funded).post(URL, {"reward": used.pk})
    assert api.as_(hr_admin).delete(f"/api/v1/rewards/{used.pk}/").status_code == 409
    assert api.as_(hr_admin).delete(f"/api/v1/rewards/{reward_id}/").status_code == 204


def test_people_see_their_own_redemptions_and_hr_sees_all(api, funded, teammate, hr_admin):
    reward = RewardFactory(cost_points=10)
    api.as_(funded).post(URL, {"reward": reward.pk})

    assert len(api.as_(funded).get(URL).json()["results"]) == 1
    assert api.as_(teammate).get(URL).json()["results"] == []
    assert len(api.as_(hr_admin).get(URL).json()["results"]) == 1


@pytest.fixture
def other_hr_admin(org):
    return EmployeeFactory(first_name="Otto", team=org["root"], roles=[Role.HR_ADMIN])


@pytest.fixture
def hr_redemption_id(api, org, hr_admin):
    head = EmployeeFactory(first_name="Hedda", team=org["root"], manages=[org["root"]])
    fund_wallet(hr_admin, 100, manager=head, hr=hr_admin)
    reward = RewardFactory(name="Spa day", cost_points=60)
    return api.as_(hr_admin).post(URL, {"reward": reward.pk}).json()["id"]


def test_an_hr_admin_cannot_approve_their_own_redemption(api, hr_admin, hr_redemption_id):
    response = api.as_(hr_admin).post(f"{URL}{hr_redemption_id}/approve/", {})

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Someone else decides on your own redemptions."
    assert Redemption.objects.get(pk=hr_redemption_id).status == Redemption.Status.PENDING


def test_an_hr_admin_cannot_fulfil_their_own_redemption(
    api, hr_admin, other_hr_admin, hr_redemption_id
):
    approved = api.as_(other_hr_admin).post(f"{URL}{hr_redemption_id}/approve/", {})
    assert approved.json()["status"] == "approved"

    response = api.as_(hr_admin).post(f"{URL}{hr_redemption_id}/fulfil/", {})

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Someone else decides on your own redemptions."
    assert Redemption.objects.get(pk=hr_redemption_id).status == Redemption.Status.APPROVED
    fulfilled = api.as_(other_hr_admin).post(f"{URL}{hr_redemption_id}/fulfil/", {})
    assert fulfilled.json()["status"] == "fulfilled"


def test_the_redemptions_page_refuses_approving_ones_own_redemption(
    client, hr_admin, hr_redemption_id
):
    client.force_login(hr_admin.user)

    response = client.post(
        f"/recognition/redemptions/{hr_redemption_id}/approve/", {"note": ""}, follow=True
    )

    assert "Someone else decides on your own redemptions." in response.content.decode()
    assert Redemption.objects.get(pk=hr_redemption_id).status == Redemption.Status.PENDING


def test_the_redemptions_page_offers_no_approve_button_for_ones_own(
    client, hr_admin, hr_redemption_id
):
    client.force_login(hr_admin.user)

    page = client.get("/recognition/redemptions/").content.decode()

    assert f"/recognition/redemptions/{hr_redemption_id}/approve/" not in page
    assert "someone else approves and fulfils it" in page
