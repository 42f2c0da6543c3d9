"""HR keeps the reward catalogue and the managers' budgets in pages, not the Django admin."""

import pytest
from django.test import Client

from recognition.models import Reward
from recognition.selectors import balances_for
from tests.factories.recognition import RewardFactory, fund_wallet, set_budget, spot_award

pytestmark = pytest.mark.django_db


def _client(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


HR_PAGES = [
    ("get", "/recognition/catalogue/"),
    ("post", "/recognition/catalogue/"),
    ("get", "/recognition/catalogue/{pk}/"),
    ("post", "/recognition/catalogue/{pk}/"),
    ("post", "/recognition/catalogue/{pk}/retire/"),
    ("post", "/recognition/catalogue/{pk}/restore/"),
    ("post", "/recognition/budgets/{manager}/top-up/"),
]


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
@pytest.mark.parametrize(("method", "url"), HR_PAGES)
def test_only_hr_may_manage_the_catalogue_and_budgets(request, role, method, url, manager):
    reward = RewardFactory(name="Coffee voucher", cost_points=50)
    person = request.getfixturevalue(role)
    address = url.format(pk=reward.pk, manager=manager.pk)

    response = getattr(_client(person), method)(address, {"name": "Free", "cost_points": 1})

    assert response.status_code == 403
    reward.refresh_from_db()
    assert (reward.name, reward.cost_points, reward.is_active) == ("Coffee voucher", 50, True)


def test_hr_creates_a_reward_with_a_price_and_stock(hr_admin, employee):
    response = _client(hr_admin).post(
        "/recognition/catalogue/",
        {"name": "Cinema ticket", "description": "Any film", "cost_points": 120, "stock": 5},
        follow=True,
    )

    reward = Reward.objects.get(name="Cinema ticket")
    assert (reward.cost_points, reward.stock, reward.is_active) == (120, 5, True)
    assert "Cinema ticket" in response.content.decode()
    assert "Cinema ticket" in _client(employee).get("/recognition/rewards/").content.decode()


def test_an_empty_stock_means_unlimited(hr_admin):
    _client(hr_admin).post("/recognition/catalogue/", {"name": "Thank-you card", "cost_points": 5})

    assert Reward.objects.get(name="Thank-you card").stock is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cost_points", "0", "greater than or equal to 1"),
        ("cost_points", "", "This field is required"),
        ("stock", "-1", "greater than or equal to 0"),
        ("name", "", "This field is required"),
    ],
)
def test_a_bad_reward_is_refused_with_the_reason(hr_admin, field, value, message):
    data = {"name": "Mug", "cost_points": 30, "stock": 3} | {field: value}

    response = _client(hr_admin).post("/recognition/catalogue/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Reward.objects.filter(name="Mug").exists()


def test_hr_changes_the_price_and_restocks(hr_admin):
    reward = RewardFactory(name="Coffee voucher", cost_points=50, stock=0)

    page = _client(hr_admin).get(f"/recognition/catalogue/{reward.pk}/").content.decode()
    _client(hr_admin).post(
        f"/recognition/catalogue/{reward.pk}/",
        {"name": "Coffee voucher", "cost_points": 60, "stock": 10},
    )

    assert 'value="50"' in page
    reward.refresh_from_db()
    assert (reward.cost_points, reward.stock) == (60, 10)


def test_a_retired_reward_leaves_the_catalogue_and_can_come_back(hr_admin, manager, employee):
    reward = RewardFactory(name="Desk plant", cost_points=40)
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)

    _client(hr_admin).post(f"/recognition/catalogue/{reward.pk}/retire/")

    assert "Desk plant" not in _client(employee).get("/recognition/rewards/").content.decode()
    refused = _client(employee).post(f"/recognition/rewards/{reward.pk}/redeem/")
    assert refused.status_code == 404
    assert balances_for(employee).wallet == 100
    assert "Retired" in _client(hr_admin).get("/recognition/catalogue/").content.decode()

    _client(hr_admin).post(f"/recognition/catalogue/{reward.pk}/restore/")

    assert "Desk plant" in _client(employee).get("/recognition/rewards/").content.decode()


def test_an_unknown_reward_is_not_found(hr_admin):
    assert _client(hr_admin).get("/recognition/catalogue/999999/").status_code == 404
    assert _client(hr_admin).post("/recognition/catalogue/999999/retire/").status_code == 404


def test_hr_sees_every_manager_even_without_a_budget(hr_admin, manager):
    page = _client(hr_admin).get("/recognition/budgets/").content.decode()

    assert manager.display_name in page
    assert "No budget" in page


def test_hr_tops_a_managers_budget_up_to_the_monthly_amount(hr_admin, manager, employee):
    set_budget(manager, 200, by=hr_admin)
    spot_award(manager, employee, 150)
    assert balances_for(manager).budget == 50

    response = _client(hr_admin).post(f"/recognition/budgets/{manager.pk}/top-up/", follow=True)

    assert balances_for(manager).budget == 200
    assert "Topped up 150 points" in response.content.decode()


def test_a_top_up_without_a_budget_says_so(hr_admin, manager):
    response = _client(hr_admin).post(f"/recognition/budgets/{manager.pk}/top-up/", follow=True)

    assert "has no reward budget yet" in response.content.decode()
    assert not balances_for(manager).budget


def test_the_navigation_links_hr_to_the_catalogue(hr_admin, employee):
    assert "/recognition/catalogue/" in _client(hr_admin).get("/recognition/").content.decode()
    assert "/recognition/catalogue/" not in _client(employee).get("/recognition/").content.decode()


@pytest.mark.parametrize("size", [2, 12])
def test_the_catalogue_and_budget_pages_hold_their_query_budget(
    size, hr_admin, django_assert_max_num_queries
):
    RewardFactory.create_batch(size)
    client = _client(hr_admin)

    with django_assert_max_num_queries(12):
        client.get("/recognition/catalogue/")
    with django_assert_max_num_queries(12):
        client.get("/recognition/budgets/")
