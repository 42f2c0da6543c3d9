"""HR's redemption queue: newest requests first, one status at a time, a page at a time."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recognition import services
from tests.factories.recognition import RewardFactory, fund_wallet

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _client(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def _rewards_listed(html: str) -> list[str]:
    return re.findall(r"<td>(Gift \d+)</td>", html)


def _requests(employee, manager, hr_admin, count: int) -> list:
    fund_wallet(employee, count, manager=manager, hr=hr_admin)
    made = []
    for n in range(count):
        with time_machine.travel(START + dt.timedelta(hours=n), tick=False):
            reward = RewardFactory(name=f"Gift {n:02d}", cost_points=1)
            made.append(services.redemption_request(employee=employee, reward=reward))
    return made


def test_the_queue_opens_on_pending_requests_newest_first(employee, manager, hr_admin):
    made = _requests(employee, manager, hr_admin, 4)
    services.redemption_approve(redemption=made[3], by=hr_admin.user, note="")

    html = _client(hr_admin).get("/recognition/redemptions/").content.decode()

    assert _rewards_listed(html) == ["Gift 02", "Gift 01", "Gift 00"]
    assert html.count("Approve</button>") == 3


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        ("pending", ["Gift 03"]),
        ("approved", ["Gift 02"]),
        ("fulfilled", ["Gift 01"]),
        ("rejected", ["Gift 00"]),
        ("all", ["Gift 03", "Gift 02", "Gift 01", "Gift 00"]),
        ("nonsense", ["Gift 03"]),
    ],
)
def test_hr_filters_the_queue_by_status(employee, manager, hr_admin, status, listed):
    made = _requests(employee, manager, hr_admin, 4)
    services.redemption_reject(redemption=made[0], by=hr_admin.user, note="Sold out")
    services.redemption_approve(redemption=made[1], by=hr_admin.user, note="")
    services.redemption_fulfil(redemption=made[1], by=hr_admin.user)
    services.redemption_approve(redemption=made[2], by=hr_admin.user, note="")

    response = _client(hr_admin).get("/recognition/redemptions/", {"status": status})

    assert response.status_code == 200
    assert _rewards_listed(response.content.decode()) == listed


def test_a_long_queue_is_paged_twenty_at_a_time_and_the_pages_keep_the_filter(
    employee, manager, hr_admin
):
    _requests(employee, manager, hr_admin, 45)
    client = _client(hr_admin)

    first = client.get("/recognition/redemptions/").content.decode()
    last = client.get("/recognition/redemptions/", {"status": "pending", "page": 3}).content

    assert first.count("Approve</button>") == 20
    assert _rewards_listed(first)[0] == "Gift 44"
    assert "Page 1 of 3" in first
    assert 'href="?status=pending&amp;page=2"' in first
    assert _rewards_listed(last.decode()) == ["Gift 04", "Gift 03", "Gift 02", "Gift 01", "Gift 00"]


def test_a_decision_returns_to_the_same_filter_and_page(employee, manager, hr_admin):
    made = _requests(employee, manager, hr_admin, 25)

    response = _client(hr_admin).post(
        f"/recognition/redemptions/{made[0].pk}/approve/", {"status": "pending", "page": "2"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/recognition/redemptions/?status=pending&page=2"


def test_the_queue_reads_the_same_number_of_queries_however_long(employee, manager, hr_admin):
    _requests(employee, manager, hr_admin, 3)
    client = _client(hr_admin)
    with CaptureQueriesContext(connection) as short:
        client.get("/recognition/redemptions/")
    _requests(employee, manager, hr_admin, 30)

    with CaptureQueriesContext(connection) as long:
        client.get("/recognition/redemptions/")

    assert len(long.captured_queries) == len(short.captured_queries)
