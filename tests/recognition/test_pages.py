"""The recognition pages: what each person sees and what their forms do."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recognition.models import PolicyException, Reaction, Recognition, Redemption
from recognition.selectors import balances_for
from tests.factories.people import PolicyFactory
from tests.factories.recognition import (
    RewardFactory,
    a_value,
    fund_wallet,
    give,
    log_exception,
    set_budget,
)

pytestmark = pytest.mark.django_db


def _client(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def _key(response) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode())
    assert match, "the form carries no idempotency key"
    return match.group(1)


def test_the_feed_shows_recognitions_and_the_allowance_left(employee, teammate):
    give(employee, teammate, points=30, message="Rescued the Friday release")

    page = _client(teammate).get("/recognition/").content.decode()

    assert "Rescued the Friday release" in page
    assert "+30 points" in page
    assert "You can give <strong>100</strong> more points" in page
    assert "Recognition" in page  # in the navigation


def test_giving_through_the_htmx_form_returns_a_fresh_form_and_the_new_card(employee, teammate):
    client = _client(employee)
    key = _key(client.get("/recognition/"))
    form = {
        "idempotency_key": key,
        "receivers": [teammate.pk],
        "message": "Thanks for covering my shift",
        "values": [a_value().pk],
        "points_per_receiver": 20,
        "visibility": "organisation",
    }

    response = client.post("/recognition/give/", form, HTTP_HX_REQUEST="true")
    again = client.post("/recognition/give/", form, HTTP_HX_REQUEST="true")  # a double click

    html = response.content.decode()
    assert "Recognition sent" in html
    assert 'hx-swap-oob="afterbegin:#feed"' in html
    assert "Thanks for covering my shift" in html
    assert _key(response) != key  # the next recognition gets a new key
    assert again.status_code == 200
    assert Recognition.objects.count() == 1
    assert balances_for(teammate).wallet == 20


def test_opening_the_give_address_shows_the_give_form(employee, teammate):
    client = _client(employee)

    response = client.get("/recognition/give/", {"who": "Tom"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/recognition/?who=Tom#give-form"
    page = response.content.decode()
    assert 'id="give-form"' in page
    assert f'name="receivers" value="{teammate.pk}"' in page


def test_the_give_address_still_needs_a_sign_in(db):
    response = Client().get("/recognition/give/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_refused_give_shows_the_reason_on_the_form(employee):
    client = _client(employee)
    form = {
        "idempotency_key": _key(client.get("/recognition/")),
        "receivers": [employee.pk],
        "message": "Me",
        "values": [a_value().pk],
        "visibility": "organisation",
    }

    response = client.post("/recognition/give/", form)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()  # you are not in the list
    assert Recognition.objects.count() == 0


def test_reacting_toggles_the_reaction(employee, teammate):
    recognition = give(employee, teammate)
    client = _client(teammate)

    first = client.post(
        f"/recognition/{recognition.pk}/react/", {"emoji": "🎉"}, HTTP_HX_REQUEST="1"
    )
    assert 'aria-pressed="true"' in first.content.decode()
    assert Reaction.objects.count() == 1
    client.post(f"/recognition/{recognition.pk}/react/", {"emoji": "🎉"}, HTTP_HX_REQUEST="1")
    assert Reaction.objects.count() == 0


def test_hr_reverses_from_the_recognition_page(employee, teammate, hr_admin):
    recognition = give(employee, teammate, points=10)

    assert (
        "Reverse this recognition"
        not in _client(employee).get(f"/recognition/{recognition.pk}/").content.decode()
    )
    assert (
        _client(employee)
        .post(f"/recognition/{recognition.pk}/reverse/", {"reason": "x"})
        .status_code
        == 403
    )
    response = _client(hr_admin).post(
        f"/recognition/{recognition.pk}/reverse/", {"reason": "Duplicate"}, follow=True
    )

    assert "Duplicate" in response.content.decode()
    assert balances_for(teammate).wallet == 0


def test_my_points_lists_the_history(employee, teammate):
    give(employee, teammate, points=15)

    page = _client(teammate).get("/recognition/points/").content.decode()

    assert '<div class="stat">15</div>' in page
    assert "+15" in page
    assert "worth 1.50 GBP" in page


def _text(html: str) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_my_points_tells_points_given_from_points_received(employee, teammate, outsider):
    give(employee, [teammate, outsider], points=10)
    give(teammate, employee, points=15)

    mine = _text(_client(employee).get("/recognition/points/").content.decode())

    assert "You gave 10 points each to Olga Outsider and Tom Teammate" in mine
    assert "From Tom Teammate" in mine
    assert "Recognition from Erin Employee" not in mine  # her own gift is not "from" her
    assert "Points to spend 15" in mine
    assert "Received 15" not in mine
    theirs = _text(_client(teammate).get("/recognition/points/").content.decode())
    assert "From Erin Employee" in theirs
    assert "You gave 15 points to Erin Employee" in theirs


def test_my_points_reads_the_same_number_of_queries_however_long_the_history(
    employee, teammate, outsider, django_assert_num_queries
):
    give(employee, [teammate, outsider], points=1)
    give(teammate, employee, points=1)
    client = _client(employee)
    with CaptureQueriesContext(connection) as short:
        assert client.get("/recognition/points/").status_code == 200

    for _ in range(10):
        give(employee, [teammate, outsider], points=1)
        give(outsider, employee, points=1)

    with django_assert_num_queries(len(short.captured_queries)):
        page = _text(client.get("/recognition/points/").content.decode())
    assert page.count("You gave 1 point each to Olga Outsider and Tom Teammate") == 11


def test_redeeming_from_the_catalog_once_even_if_submitted_twice(employee, manager, hr_admin):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    reward = RewardFactory(name="Lunch voucher", cost_points=40)
    client = _client(employee)
    key = _key(client.get("/recognition/rewards/"))

    client.post(f"/recognition/rewards/{reward.pk}/redeem/", {"idempotency_key": key})
    client.post(f"/recognition/rewards/{reward.pk}/redeem/", {"idempotency_key": key})

    assert Redemption.objects.count() == 1
    assert balances_for(employee).wallet == 60
    assert "Lunch voucher" in client.get("/recognition/rewards/").content.decode()


def test_hr_works_the_redemption_queue(employee, manager, hr_admin):
    fund_wallet(employee, 100, manager=manager, hr=hr_admin)
    reward = RewardFactory(cost_points=40)
    from recognition.services import redemption_request

    first = redemption_request(employee=employee, reward=reward)
    second = redemption_request(employee=employee, reward=reward)
    client = _client(hr_admin)

    assert _client(employee).get("/recognition/redemptions/").status_code == 403
    assert client.get("/recognition/redemptions/").content.decode().count("Approve</button>") == 2
    client.post(f"/recognition/redemptions/{first.pk}/approve/")
    client.post(f"/recognition/redemptions/{first.pk}/fulfil/")
    client.post(f"/recognition/redemptions/{second.pk}/reject/", {"note": "Sold out"})

    assert Redemption.objects.get(pk=first.pk).status == "fulfilled"
    assert Redemption.objects.get(pk=second.pk).status == "rejected"
    assert balances_for(employee).wallet == 60


def test_hr_sets_a_managers_budget(manager, hr_admin, employee):
    response = _client(hr_admin).post(
        "/recognition/budgets/", {"manager": manager.pk, "monthly_points": 250}, follow=True
    )

    assert balances_for(manager).budget == 250
    assert ">250<" in response.content.decode()
    assert _client(manager).get("/recognition/budgets/").status_code == 403


def test_an_employee_logs_an_exception_and_the_manager_rewards_it(employee, manager, hr_admin):
    policy = PolicyFactory(name="One free replacement")
    set_budget(manager, 100, by=hr_admin)
    client = _client(employee)
    key = _key(client.get("/recognition/exceptions/"))

    client.post(
        "/recognition/exceptions/",
        {
            "idempotency_key": key,
            "policy": policy.pk,
            "interaction_ref": "CHAT-88",
            "what_was_done": "Sent a second replacement.",
            "why": "The first one broke in transit.",
            "cost": "19.00",
        },
    )
    exception = PolicyException.objects.get()
    assert _client(employee).get("/recognition/exceptions/review/").status_code == 403
    queue = _client(manager).get("/recognition/exceptions/review/")
    assert "Sent a second replacement." in queue.content.decode()
    prefix = f"x{exception.pk}"
    _client(manager).post(
        f"/recognition/exceptions/{exception.pk}/review/",
        {
            f"{prefix}-idempotency_key": "k1",
            f"{prefix}-decision": "approved",
            f"{prefix}-note": "Right call.",
            f"{prefix}-reward_points": 25,
            f"{prefix}-publish": "on",
        },
    )

    exception.refresh_from_db()
    assert exception.status == "approved"
    assert balances_for(employee).wallet == 25
    assert Recognition.objects.get().kind == "story"
    assert "Right call." in client.get("/recognition/").content.decode()


def test_reviewing_your_own_exception_from_the_page_is_forbidden(manager):
    exception = log_exception(manager)

    response = _client(manager).post(
        f"/recognition/exceptions/{exception.pk}/review/",
        {f"x{exception.pk}-idempotency_key": "k", f"x{exception.pk}-decision": "approved"},
    )

    assert response.status_code == 403


def test_the_policy_pages_show_counts_and_cost(employee, manager, executive):
    policy = PolicyFactory(name="Refund window")
    log_exception(employee, policy=policy)
    log_exception(employee, policy=policy)

    listing = _client(executive).get("/recognition/policies/").content.decode()
    detail = _client(manager).get(f"/recognition/policies/{policy.pk}/").content.decode()

    assert re.search(
        r"Refund window</a></td><td class=\"num\">2</td>\s*<td class=\"num\">25.00", listing
    )
    assert detail.count("Refunded a delivery fee") == 2
    assert _client(employee).get("/recognition/policies/").status_code == 403


def test_managers_see_who_has_not_been_recognised_lately(employee, teammate, outsider, manager):
    give(employee, teammate)

    page = _client(manager).get("/recognition/not-recognised/").content.decode()

    assert "Erin Employee" in page
    assert "Olga Outsider" in page
    assert "Tom Teammate" not in page
    assert _client(employee).get("/recognition/not-recognised/").status_code == 403


def test_hr_sees_reciprocal_pairs(employee, teammate, hr_admin):
    give(employee, teammate, points=30)
    give(teammate, employee, points=30)

    page = _client(hr_admin).get("/recognition/reciprocal/").content.decode()

    assert "Erin Employee" in page and "Tom Teammate" in page
    assert _client(employee).get("/recognition/reciprocal/").status_code == 403


def test_the_feed_team_filter_lists_departments_and_the_team_chosen(employee, teammate, org):
    recognition = give(employee, [teammate])

    def team_options(page):
        select = page.split('name="team"', 1)[1].split("</select>", 1)[0]
        return re.findall(r"<option[^>]*>([^<]*)</option>", select)

    client = _client(employee)
    # Support A and B have no teams below them: one click away, not in a list of every team.
    assert team_options(client.get("/recognition/").content.decode()) == [
        "Any team",
        "Company",
        "Support",
    ]
    chosen = client.get("/recognition/", {"team": org["support_a"].pk}).content.decode()
    assert team_options(chosen) == ["Any team", "Company", "Support", "Support A"]
    assert f'id="recognition-{recognition.pk}"' in chosen
    elsewhere = client.get("/recognition/", {"team": org["sales"].pk}).content.decode()
    assert f'id="recognition-{recognition.pk}"' not in elsewhere
