"""`Idempotency-Key` on creates that move points: a retry returns the first answer."""

import pytest

from recognition.models import LedgerTransaction, Recognition, Redemption
from recognition.selectors import balances_for
from tests.factories.recognition import (
    RewardFactory,
    a_value,
    fund_wallet,
    log_exception,
    set_budget,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/recognitions/"


def _body(receiver, points=10):
    return {
        "receivers": [receiver.pk],
        "message": "Turned an angry caller into a fan.",
        "values": [a_value().pk],
        "points_per_receiver": points,
    }


def test_the_same_key_twice_gives_once_and_answers_the_same(api, employee, teammate):
    client = api.as_(employee)

    first = client.post(URL, _body(teammate), HTTP_IDEMPOTENCY_KEY="give-123")
    second = client.post(URL, _body(teammate), HTTP_IDEMPOTENCY_KEY="give-123")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert Recognition.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="give").count() == 1
    assert balances_for(teammate).wallet == 10


def test_the_same_key_with_another_body_is_refused_with_422(api, employee, teammate):
    client = api.as_(employee)
    client.post(URL, _body(teammate, points=10), HTTP_IDEMPOTENCY_KEY="give-1")

    response = client.post(URL, _body(teammate, points=20), HTTP_IDEMPOTENCY_KEY="give-1")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert balances_for(teammate).wallet == 10


def test_a_refused_request_does_not_use_up_its_key(api, employee, teammate):
    client = api.as_(employee)

    refused = client.post(URL, _body(teammate, points=41), HTTP_IDEMPOTENCY_KEY="k")
    accepted = client.post(URL, _body(teammate, points=41), HTTP_IDEMPOTENCY_KEY="k")

    assert refused.status_code == 400  # over the 40% cap
    assert accepted.status_code == 400  # still refused: the rule ran again, not a replay
    assert "Idempotent-Replayed" not in accepted


def test_keys_belong_to_one_user(api, employee, teammate, outsider):
    first = api.as_(employee).post(URL, _body(outsider), HTTP_IDEMPOTENCY_KEY="shared")
    second = api.as_(teammate).post(URL, _body(outsider), HTTP_IDEMPOTENCY_KEY="shared")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert balances_for(outsider).wallet == 20


def test_an_overlong_key_is_a_bad_request(api, employee, teammate):
    response = api.as_(employee).post(URL, _body(teammate), HTTP_IDEMPOTENCY_KEY="x" * 256)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert Recognition.objects.count() == 0


def test_a_redemption_retried_with_its_key_is_made_once(api, employee, manager, hr_admin):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    reward = RewardFactory(cost_points=60)
    client = api.as_(employee)

    first = client.post("/api/v1/redemptions/", {"reward": reward.pk}, HTTP_IDEMPOTENCY_KEY="r1")
    second = client.post("/api/v1/redemptions/", {"reward": reward.pk}, HTTP_IDEMPOTENCY_KEY="r1")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Redemption.objects.count() == 1
    assert balances_for(employee).wallet == 40


def test_an_exception_approval_retried_with_its_key_rewards_once(api, employee, manager, hr_admin):
    set_budget(manager, 100, by=hr_admin)
    exception = log_exception(employee)
    body = {"decision": "approved", "note": "Great call.", "reward_points": 30}
    url = f"/api/v1/exceptions/{exception.pk}/review/"

    first = api.as_(manager).post(url, body, HTTP_IDEMPOTENCY_KEY="review-1")
    second = api.as_(manager).post(url, body, HTTP_IDEMPOTENCY_KEY="review-1")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert balances_for(employee).wallet == 30
    assert balances_for(manager).budget == 70
