"""Giving recognition through the API, the anti-gaming rules and reversal."""

import pytest
from django.core import mail

from cxculture.people import services as people_services
from recognition.models import LedgerTransaction, Recognition
from recognition.selectors import balances_for, ledger_problems
from tests.factories.people import CompanyValueFactory
from tests.factories.recognition import a_value, give, set_budget

pytestmark = pytest.mark.django_db

URL = "/api/v1/recognitions/"


def _body(*receivers, points=0, **extra):
    return {
        "receivers": [person.pk for person in receivers],
        "message": "Stayed late to fix the billing run for a customer.",
        "values": [a_value().pk],
        "points_per_receiver": points,
        **extra,
    }


def test_an_employee_recognises_two_colleagues_with_points(api, employee, teammate, outsider):
    response = api.as_(employee).post(URL, _body(teammate, outsider, points=10))

    assert response.status_code == 201, response.content
    body = response.json()
    assert [r["name"] for r in body["receivers"]] == ["Tom Teammate", "Olga Outsider"]
    assert body["points_per_receiver"] == 10
    assert body["values"][0]["name"] == "Customer first"
    assert balances_for(employee).allowance == 80
    assert balances_for(teammate).wallet == 10
    balance = api.as_(teammate).get("/api/v1/points/balance/").json()
    assert balance["wallet"] == 10
    assert balance["wallet_value"] == "1.00"


def test_it_refuses_self_recognition(api, employee, teammate):
    response = api.as_(employee).post(URL, _body(employee, teammate, points=5))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "self_recognition"
    assert Recognition.objects.count() == 0
    assert LedgerTransaction.objects.count() == 0


def test_it_needs_at_least_one_company_value(api, employee, teammate):
    response = api.as_(employee).post(URL, {**_body(teammate), "values": []})

    assert response.status_code == 400
    assert "values" in response.json()["error"]["fields"]


def test_at_most_40_percent_of_an_allowance_goes_to_one_person_a_month(
    api, employee, teammate, outsider
):
    assert api.as_(employee).post(URL, _body(teammate, points=25)).status_code == 201
    assert api.as_(employee).post(URL, _body(teammate, points=15)).status_code == 201

    refused = api.as_(employee).post(URL, _body(teammate, points=1))

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "receiver_cap"
    assert "at most 40 points a month" in error["message"]
    assert "0 left" in error["message"]
    # Others can still be recognised, and recognising without points is always fine.
    assert api.as_(employee).post(URL, _body(outsider, points=40)).status_code == 201
    assert api.as_(employee).post(URL, _body(teammate)).status_code == 201
    assert balances_for(teammate).wallet == 40


def test_a_give_beyond_the_allowance_is_a_conflict(api, employee, teammate, outsider, manager):
    give(employee, [teammate, outsider], points=40)

    refused = api.as_(employee).post(URL, _body(manager, points=21))

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_points"
    assert "20 available, 21 needed" in refused.json()["error"]["message"]
    assert balances_for(manager).wallet == 0


def test_a_manager_gives_a_spot_award_from_their_budget(api, manager, employee, hr_admin):
    set_budget(manager, 300, by=hr_admin)

    response = api.as_(manager).post(URL, _body(employee, points=120, spot_award=True))

    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "spot_award"
    assert balances_for(manager).budget == 180
    assert balances_for(manager).allowance == 100  # the allowance is untouched
    assert balances_for(employee).wallet == 120


def test_spot_awards_go_only_to_the_managers_subtree(api, manager, sales_person, hr_admin):
    set_budget(manager, 300, by=hr_admin)

    response = api.as_(manager).post(URL, _body(sales_person, points=10, spot_award=True))

    assert response.status_code == 403
    assert balances_for(sales_person).wallet == 0


def test_a_non_manager_cannot_give_spot_awards(api, employee, teammate):
    response = api.as_(employee).post(URL, _body(teammate, points=10, spot_award=True))

    assert response.status_code == 403


def test_reciprocal_pairs_are_listed_for_hr_and_not_blocked(
    api, employee, teammate, outsider, hr_admin
):
    give(employee, teammate, points=30)
    give(teammate, employee, points=35)
    give(employee, outsider, points=30)
    give(outsider, employee, points=10)  # below the threshold: not a pair

    response = api.as_(hr_admin).get(f"{URL}reciprocal-pairs/")

    assert response.status_code == 200
    assert [
        (p["first"]["name"], p["second"]["name"], p["first_to_second"], p["second_to_first"])
        for p in response.json()
    ] == [("Erin Employee", "Tom Teammate", 30, 35)]
    assert api.as_(employee).get(f"{URL}reciprocal-pairs/").status_code == 403


def test_hr_reverses_a_recognition_with_a_reversing_transaction(api, employee, teammate, hr_admin):
    recognition = give(employee, teammate, points=30)

    response = api.as_(hr_admin).post(
        f"{URL}{recognition.pk}/reverse/", {"reason": "Points traded for lunch."}
    )

    assert response.status_code == 200
    assert response.json()["reversed_at"] is not None
    assert balances_for(employee).allowance == 100
    assert balances_for(teammate).wallet == 0
    assert LedgerTransaction.objects.filter(kind="give").count() == 1  # nothing deleted
    assert LedgerTransaction.objects.get(kind="reversal").reverses_id == recognition.transaction_id
    feed = api.as_(employee).get(URL).json()["results"]
    assert feed == []
    again = api.as_(hr_admin).post(f"{URL}{recognition.pk}/reverse/", {"reason": "Twice"})
    assert again.status_code == 409
    assert ledger_problems() == []


def test_only_hr_reverses(api, employee, teammate, manager):
    recognition = give(employee, teammate, points=30)

    for person in (employee, teammate, manager):
        response = api.as_(person).post(f"{URL}{recognition.pk}/reverse/", {"reason": "No"})
        assert response.status_code == 403
    assert balances_for(teammate).wallet == 30


def test_points_already_spent_cannot_be_reversed(api, employee, teammate, hr_admin):
    from tests.factories.recognition import RewardFactory

    recognition = give(employee, teammate, points=40)
    reward = RewardFactory(cost_points=30)
    assert api.as_(teammate).post("/api/v1/redemptions/", {"reward": reward.pk}).status_code == 201

    response = api.as_(hr_admin).post(f"{URL}{recognition.pk}/reverse/", {"reason": "Gaming"})

    assert response.status_code == 409
    assert "already been spent" in response.json()["error"]["message"]
    assert Recognition.objects.get(pk=recognition.pk).reversed_at is None


def test_receivers_get_an_email_once_the_recognition_is_saved(
    api, employee, teammate, outsider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api.as_(employee).post(URL, _body(teammate, outsider, points=5))

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [teammate.email, outsider.email]
    )
    assert mail.outbox[0].subject == "Erin Employee recognised you (+5 points)"
    assert "Stayed late to fix the billing run" in mail.outbox[0].body
    assert "5 points are in your wallet" in mail.outbox[0].body


def test_each_thing_missing_from_a_give_is_named(api, employee, teammate, django_user_model):
    unknown_person = api.as_(employee).post(URL, {**_body(teammate), "receivers": [999_999]})
    unknown_value = api.as_(employee).post(URL, {**_body(teammate), "values": [999_999]})
    stranger = django_user_model.objects.create_user("stranger", "s@example.com", "pw")
    api.force_authenticate(user=stranger)
    outside_the_directory = api.post(URL, _body(teammate))

    assert unknown_person.status_code == 400
    assert unknown_person.json()["error"]["fields"] == {"receivers": ["Unknown person."]}
    assert unknown_value.status_code == 400
    assert unknown_value.json()["error"]["fields"] == {"values": ["Unknown value."]}
    assert outside_the_directory.status_code == 403
    assert Recognition.objects.count() == 0


def test_it_refuses_people_and_values_no_longer_active(api, employee, teammate, outsider):
    retired = CompanyValueFactory(name="Old ways", is_active=False)
    people_services.employee_update(employee=teammate, is_active=False)

    to_inactive = api.as_(employee).post(URL, _body(teammate, points=5))
    with_retired_value = api.as_(employee).post(
        URL, {**_body(outsider, points=5), "values": [retired.pk]}
    )

    assert to_inactive.status_code == 400
    assert to_inactive.json()["error"]["message"] == "Only active colleagues can be recognised."
    assert with_retired_value.status_code == 400
    assert with_retired_value.json()["error"]["message"] == "That value is no longer in use."
    assert Recognition.objects.count() == 0
    assert balances_for(outsider).wallet == 0


def test_a_person_without_a_full_name_is_shown_by_their_username(api, employee, teammate):
    people_services.employee_update(employee=teammate, first_name="", last_name="")

    response = api.as_(employee).post(URL, _body(teammate))

    assert response.status_code == 201, response.content
    assert response.json()["receivers"][0]["name"] == teammate.user.username
    assert response.json()["giver"]["name"] == "Erin Employee"
