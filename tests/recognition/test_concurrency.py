"""Races on PostgreSQL: many requests at once against balances that cover only some of them.

Each request runs in its own thread with its own database connection (Django connections are
per thread), all released together by a barrier. Runs only when DATABASE_URL is PostgreSQL:
SQLite serialises every write, so it cannot race.
"""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from recognition.models import Account, LedgerTransaction, PolicyException, Recognition, Reward
from recognition.selectors import balances_for, ledger_problems
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import (
    RewardFactory,
    a_value,
    fund_wallet,
    log_exception,
    set_budget,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
]

PARALLEL = 50


def _race(requests: list[tuple[int, Callable[[APIClient], object]]]) -> list[tuple[int, dict]]:
    """Run each (user id, request) in its own thread, all at once; return (status, body)."""
    barrier = threading.Barrier(len(requests))

    def run(user_id: int, call: Callable[[APIClient], object]) -> tuple[int, dict]:
        try:
            client = APIClient()
            client.force_authenticate(User.objects.get(pk=user_id))
            barrier.wait(timeout=30)
            response = call(client)
            return response.status_code, response.json()  # type: ignore[attr-defined]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(run, user_id, call) for user_id, call in requests]
        return [future.result() for future in futures]


def _no_negative_balances() -> None:
    assert not Account.objects.exclude(kind=Account.Kind.POOL).filter(balance__lt=0).exists()
    assert ledger_problems() == []


def test_parallel_gives_beyond_the_allowance_give_exactly_what_it_covers(org, employee):
    receivers = [EmployeeFactory(team=org["support_a"]) for _ in range(PARALLEL)]
    value = a_value().pk

    def give_to(receiver_id: int):
        body = {
            "receivers": [receiver_id],
            "message": "Thanks",
            "values": [value],
            "points_per_receiver": 10,
        }
        return lambda client: client.post("/api/v1/recognitions/", body, format="json")

    results = _race([(employee.user_id, give_to(r.pk)) for r in receivers])

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 40}
    refused = [body for status, body in results if status == 409]
    assert {body["error"]["code"] for body in refused} == {"insufficient_points"}
    assert balances_for(employee).allowance == 0
    assert Recognition.objects.count() == 10
    assert LedgerTransaction.objects.filter(kind="allowance_grant").count() == 1
    _no_negative_balances()


def test_parallel_redemptions_beyond_the_wallet_redeem_exactly_what_it_covers(
    employee, manager, hr_admin
):
    fund_wallet(employee, 200, manager=manager, hr=hr_admin)
    reward = RewardFactory(cost_points=10, stock=40)

    results = _race(
        [
            (employee.user_id, lambda c: c.post("/api/v1/redemptions/", {"reward": reward.pk}))
            for _ in range(PARALLEL)
        ]
    )

    assert Counter(status for status, _ in results) == {201: 20, 409: 30}
    assert balances_for(employee).wallet == 0
    assert Reward.objects.get(pk=reward.pk).stock == 20
    _no_negative_balances()


def test_parallel_redemptions_beyond_the_stock_redeem_exactly_the_stock(
    employee, manager, hr_admin
):
    fund_wallet(employee, 1000, manager=manager, hr=hr_admin)
    reward = RewardFactory(cost_points=10, stock=7)

    results = _race(
        [
            (employee.user_id, lambda c: c.post("/api/v1/redemptions/", {"reward": reward.pk}))
            for _ in range(PARALLEL)
        ]
    )

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 7, 409: 43}
    assert {b["error"]["code"] for s, b in results if s == 409} == {"out_of_stock"}
    assert Reward.objects.get(pk=reward.pk).stock == 0
    assert balances_for(employee).wallet == 1000 - 70
    _no_negative_balances()


def test_one_idempotency_key_sent_50_times_at_once_gives_once(employee, teammate):
    body = {
        "receivers": [teammate.pk],
        "message": "Thanks",
        "values": [a_value().pk],
        "points_per_receiver": 5,
    }

    def call(client):
        return client.post(
            "/api/v1/recognitions/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )

    results = _race([(employee.user_id, call) for _ in range(PARALLEL)])

    assert {status for status, _ in results} == {201}
    assert all(answer == results[0][1] for _, answer in results)
    assert Recognition.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="give").count() == 1
    assert balances_for(teammate).wallet == 5
    _no_negative_balances()


def test_parallel_approvals_beyond_the_budget_stay_within_it(employee, teammate, manager, hr_admin):
    set_budget(manager, 100, by=hr_admin)
    exceptions = [
        log_exception(employee if n % 2 else teammate, customer_ref=f"C-{n}") for n in range(12)
    ]

    def approve(exception_id: int):
        body = {"decision": "approved", "note": "Good call", "reward_points": 30}
        return lambda c: c.post(f"/api/v1/exceptions/{exception_id}/review/", body, format="json")

    results = _race([(manager.user_id, approve(e.pk)) for e in exceptions])

    assert Counter(status for status, _ in results) == {200: 3, 409: 9}
    assert PolicyException.objects.filter(status="approved").count() == 3
    assert PolicyException.objects.filter(status="pending").count() == 9
    assert balances_for(manager).budget == 10
    assert balances_for(employee).wallet + balances_for(teammate).wallet == 90
    _no_negative_balances()


def _give_body(receiver_id: int, value: int, points: int) -> dict:
    return {
        "receivers": [receiver_id],
        "message": "Thanks",
        "values": [value],
        "points_per_receiver": points,
    }


def test_parallel_gives_to_one_person_stop_at_the_monthly_cap(employee, teammate):
    # The month's allowance is granted first, so every racing give takes the one-statement
    # path (migration 0004): the cap is read under the giver's lock there too.
    value = a_value().pk
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=employee.user_id))
    assert (
        client.post("/api/v1/recognitions/", _give_body(teammate.pk, value, 1)).status_code == 201
    )

    body = _give_body(teammate.pk, value, 10)
    results = _race([(employee.user_id, lambda c: c.post("/api/v1/recognitions/", body))] * 20)

    # Cap 40 a month: 1 given, so three more gifts of 10 fit and a fourth would make 41.
    assert Counter(status for status, _ in results) == {201: 3, 400: 17}
    refused = [body for status, body in results if status == 400]
    assert {body["error"]["code"] for body in refused} == {"receiver_cap"}
    assert {body["error"]["message"] for body in refused} == {
        "You can give Tom Teammate at most 40 points a month from your allowance "
        "(9 left this month)."
    }
    assert balances_for(teammate).wallet == 31
    assert balances_for(employee).allowance == 69
    assert Recognition.objects.filter(receivers=teammate).count() == 4
    _no_negative_balances()


def test_parallel_gives_from_a_granted_allowance_give_exactly_what_is_left(org, employee):
    value = a_value().pk
    first, *receivers = [EmployeeFactory(team=org["support_a"]) for _ in range(PARALLEL + 1)]
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=employee.user_id))
    assert client.post("/api/v1/recognitions/", _give_body(first.pk, value, 35)).status_code == 201

    results = _race(
        [
            (
                employee.user_id,
                lambda c, r=r.pk: c.post("/api/v1/recognitions/", _give_body(r, value, 10)),
            )
            for r in receivers
        ]
    )

    # 65 left: six gifts of 10; the rest are refused before anything is written.
    assert Counter(status for status, _ in results) == {201: 6, 409: 44}
    refused = [body for status, body in results if status == 409]
    assert {body["error"]["code"] for body in refused} == {"insufficient_points"}
    # Every refusal comes once the six have taken their points: under the lock, none sooner.
    assert {body["error"]["message"] for body in refused} == {
        "Not enough points in the giving allowance: 5 available, 10 needed."
    }
    assert balances_for(employee).allowance == 5
    assert Recognition.objects.count() == 7
    assert LedgerTransaction.objects.filter(kind="give").count() == 7
    _no_negative_balances()
