"""Issue #7's ledger race on PostgreSQL: 200 concurrent 1-point redemptions against a wallet of
100 points redeem exactly 100; the other 100 are refused with 409 and none is a server error.

The requests come from 50 threads (each with its own database connection; PostgreSQL allows 100)
released together by a barrier, each sending 4 requests back to back, so all 200 overlap.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from recognition.models import Account, Redemption
from recognition.selectors import balances_for, ledger_problems
from tests.factories.recognition import RewardFactory, fund_wallet

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
]

THREADS = 50
REQUESTS = 200


def test_200_concurrent_one_point_redemptions_against_100_points_redeem_exactly_100(
    employee, manager, hr_admin
):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    reward = RewardFactory(cost_points=1, stock=None)
    barrier = threading.Barrier(THREADS)

    def redeem_4_times(_: int) -> list[tuple[int, dict]]:
        try:
            client = APIClient()
            client.force_authenticate(User.objects.get(pk=employee.user_id))
            barrier.wait(timeout=30)
            answers = []
            for _ in range(REQUESTS // THREADS):
                response = client.post("/api/v1/redemptions/", {"reward": reward.pk})
                answers.append((response.status_code, response.json()))
            return answers
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [
            answer for answers in pool.map(redeem_4_times, range(THREADS)) for answer in answers
        ]

    assert Counter(status for status, _ in results) == {201: 100, 409: 100}
    assert {body["error"]["code"] for status, body in results if status == 409} == {
        "insufficient_points"
    }
    assert balances_for(employee).wallet == 0
    assert Redemption.objects.filter(employee=employee).count() == 100
    assert not Account.objects.exclude(kind=Account.Kind.POOL).filter(balance__lt=0).exists()
    assert ledger_problems() == []
