"""The give path's round trips: the viewer in one query, no savepoint per posting, and the 201
answered from the rows just written instead of read back. Each test checks that the shortcut
gives exactly what the long way gave."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIClient

from cxculture.lib.errors import ConflictError
from cxculture.people import services as people_services
from cxculture.people.models import Role
from cxculture.people.permissions import viewer_for
from recognition import ledger, selectors, services
from recognition.api import RecognitionSerializer
from recognition.models import Account, LedgerTransaction, Reaction
from recognition.selectors import balances_for, ledger_problems
from tests.factories.people import CompanyValueFactory, EmployeeFactory, TeamFactory
from tests.factories.recognition import a_value, give, set_budget
from tests.helpers import token_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/recognitions/"


def _token_client(person) -> APIClient:
    """A client that authenticates as a real one does, so each request builds its viewer."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(person)}")
    return client


def _tables(captured, verb: str) -> list[str]:
    return [
        q["sql"].split('"')[1] if '"' in q["sql"] else q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith(verb)
    ]


# --- The viewer ----------------------------------------------------------------------------------


def test_a_managers_viewer_is_built_with_one_query(manager, org, django_assert_num_queries):
    extra = TeamFactory(name="Escalations", parent=org["sales"])
    people_services.team_set_managers(team=extra, managers=[manager])
    retired = TeamFactory(name="Old desk", parent=org["sales"])
    people_services.team_set_managers(team=retired, managers=[manager])
    people_services.team_update(team=retired, is_active=False)
    user = type(manager.user).objects.get(pk=manager.user.pk)  # fresh, nothing cached

    with django_assert_num_queries(1):
        viewer = viewer_for(user)
        assert viewer.employee.display_name == "Maya Manager"  # the user is the one in hand
        assert viewer.employee.team.name == "Support"

    assert viewer.managed_paths == tuple(sorted([org["support"].path, extra.path]))
    assert viewer.roles == frozenset({Role.MANAGER, Role.EMPLOYEE})
    assert viewer.primary_role == Role.MANAGER


def test_roles_come_from_the_role_groups_only(employee, hr_admin, executive):
    # A group whose name merely contains a role name (and the separator) grants nothing.
    Group.objects.create(name="hr_admin,executive").user_set.add(employee.user)
    Group.objects.create(name="Book club").user_set.add(employee.user)

    def fresh(person):
        return viewer_for(type(person.user).objects.get(pk=person.user.pk))

    assert fresh(employee).roles == frozenset({Role.EMPLOYEE})
    assert fresh(hr_admin).is_hr_admin and not fresh(hr_admin).is_executive
    assert fresh(executive).is_executive and not fresh(executive).is_hr_admin
    assert fresh(employee).managed_paths == ()


def test_a_user_outside_the_directory_gets_roles_from_a_second_query(
    django_user_model, django_assert_num_queries
):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    Group.objects.get_or_create(name=Role.EXECUTIVE)[0].user_set.add(admin)
    admin = django_user_model.objects.get(pk=admin.pk)

    with django_assert_num_queries(2):
        viewer = viewer_for(admin)

    assert viewer.employee is None
    assert viewer.roles == frozenset({Role.HR_ADMIN, Role.EXECUTIVE, Role.EMPLOYEE})


# --- The ledger ----------------------------------------------------------------------------------


def test_a_posting_inside_a_transaction_takes_no_savepoint(employee, teammate):
    give(employee, teammate, points=1)  # the month's allowance is granted
    allowance = ledger.account_for(Account.Kind.ALLOWANCE, employee)
    wallet = ledger.account_for(Account.Kind.WALLET, teammate)

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        ledger.ledger_post(kind=LedgerTransaction.Kind.GIVE, legs=[(allowance, -5), (wallet, 5)])

    assert not [q for q in captured.captured_queries if "SAVEPOINT" in q["sql"]]
    assert balances_for(employee).allowance == 94
    assert balances_for(teammate).wallet == 6
    assert ledger_problems() == []


def test_a_refused_posting_leaves_the_callers_transaction_usable(employee, teammate):
    allowance = ledger.account_for(Account.Kind.ALLOWANCE, employee)
    wallet = ledger.account_for(Account.Kind.WALLET, teammate)

    with transaction.atomic():
        with pytest.raises(ledger.InsufficientPoints):
            ledger.ledger_post(
                kind=LedgerTransaction.Kind.GIVE, legs=[(allowance, -5), (wallet, 5)]
            )
        assert LedgerTransaction.objects.count() == 0  # the caller may go on


def test_a_posting_the_database_refuses_dooms_the_callers_transaction(employee, teammate, hr_admin):
    recognition = give(employee, teammate, points=10)
    ledger.ledger_reverse(original=recognition.transaction, created_by=hr_admin.user)
    wallet = ledger.account_for(Account.Kind.WALLET, teammate)
    pool = ledger.account_for(Account.Kind.POOL)

    with pytest.raises(TransactionManagementError), transaction.atomic():
        # A second reversal of the same transaction: the unique index refuses its row.
        with pytest.raises(ConflictError):
            ledger.ledger_post(
                kind=LedgerTransaction.Kind.REVERSAL,
                legs=[(wallet, 3), (pool, -3)],
                reverses=recognition.transaction,
            )
        Account.objects.count()  # nothing more runs in the doomed transaction

    assert balances_for(teammate).wallet == 0
    assert LedgerTransaction.objects.filter(reverses=recognition.transaction).count() == 1
    assert ledger_problems() == []


# --- The give request ----------------------------------------------------------------------------


def test_a_give_with_points_reads_nothing_back(employee, teammate):
    give(employee, teammate, points=1)  # the month's allowance is granted
    client = _token_client(employee)
    body = {
        "receivers": [teammate.pk],
        "message": "Thank you for taking the late shift.",
        "values": [a_value().pk],
        "points_per_receiver": 2,
    }

    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, body, format="json")

    assert response.status_code == 201, response.content
    # The token and its user, then the giver, the receivers and the values (one statement);
    # nothing is read after the writes.
    reads = ["people_apitoken", "people_employee"]
    assert "people_companyvalue" in captured.captured_queries[1]["sql"]
    if connection.vendor == "postgresql":
        # Then one statement that locks, checks, writes and counts the give in the daily
        # rollups (migrations 0004 and 0006): outside tests it is its own transaction, with no
        # BEGIN or COMMIT round trip (here, inside the test's transaction, no savepoint either).
        assert _tables(captured, "SELECT")[:2] == reads
        statements = [q["sql"] for q in captured.captured_queries[2:]]
        assert len(statements) == 1, statements
        assert "recognition_give_from_allowance(" in statements[0]
    else:
        # Then the accounts locked, the month's gifts to the receivers, and the writes.
        assert _tables(captured, "SELECT") == [
            *reads,
            "recognition_account",
            "recognition_recognitionreceiver",
        ]
        # One savepoint pair: the service's atomic inside the test's transaction (BEGIN and
        # COMMIT outside tests); the posting takes none of its own.
        assert len([q for q in captured.captured_queries if "SAVEPOINT" in q["sql"]]) == 2
    assert balances_for(employee).allowance == 97
    assert balances_for(teammate).wallet == 3


def test_the_201_body_is_what_reading_the_recognition_back_shows(
    employee, teammate, sales_person, outsider
):
    later = CompanyValueFactory(name="Zest", position=9)
    first = CompanyValueFactory(name="Act as one", position=1)
    client = _token_client(employee)
    body = {
        # Receivers and values out of order, one repeated: the feed's order, once each.
        "receivers": [sales_person.pk, teammate.pk, outsider.pk, teammate.pk],
        "message": "  Rescued the refund queue on a Sunday.  ",
        "values": [later.pk, first.pk],
        "points_per_receiver": 5,
        "visibility": "team",
    }

    created = client.post(URL, body, format="json")

    assert created.status_code == 201, created.content
    shown = client.get(f"{URL}{created.json()['id']}/")
    assert created.json() == shown.json()
    assert [r["name"] for r in created.json()["receivers"]] == [
        "Sam Sales",
        "Tom Teammate",
        "Olga Outsider",
    ]
    assert [v["name"] for v in created.json()["values"]] == ["Act as one", "Zest"]
    assert created.json()["message"] == "Rescued the refund queue on a Sunday."
    assert created.json()["reactions"] == []


def test_a_spot_awards_201_body_is_what_reading_it_back_shows(manager, employee, hr_admin):
    set_budget(manager, 300, by=hr_admin)
    client = _token_client(manager)
    body = {
        "receivers": [employee.pk],
        "message": "Calmed a very upset customer.",
        "values": [a_value().pk],
        "points_per_receiver": 50,
        "spot_award": True,
    }

    created = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="spot-1")
    replayed = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="spot-1")

    assert created.status_code == replayed.status_code == 201, created.content
    shown = client.get(f"{URL}{created.json()['id']}/").json()
    assert created.json() == replayed.json() == shown
    assert shown["kind"] == "spot_award"
    assert shown["giver_team_name"] == "Support"
    assert balances_for(manager).budget == 250


def test_a_card_renders_what_its_declared_fields_render(employee, teammate, outsider, hr_admin):
    """RecognitionSerializer builds a card's JSON directly; the fields it declares (what the
    schema shows) render the same, for every kind of card."""
    drifter = EmployeeFactory(team=None)
    values = [CompanyValueFactory(name="Zest", position=9), CompanyValueFactory(name="Care")]
    liked = give(employee, [teammate, drifter], points=3, values=values)
    services.reaction_add(recognition=liked, employee=teammate, emoji=Reaction.EMOJI[0])
    services.reaction_add(recognition=liked, employee=outsider, emoji=Reaction.EMOJI[2])
    taken_back = give(drifter, [outsider], points=2)
    services.recognition_reverse(recognition=taken_back, by=hr_admin.user, reason="Twice.")
    viewer = viewer_for(hr_admin.user)

    cards = selectors.recognition_cards(selectors.recognitions_for_viewer(viewer), viewer)

    assert {card.reversed_at is None for card in cards} == {True, False}
    assert {card.giver_team_name for card in cards} == {"Support A", None}
    for card in cards:
        serializer = RecognitionSerializer(card)
        declared = serializers.Serializer.to_representation(serializer, card)
        assert serializer.data == declared
        assert list(serializer.data) == list(declared)  # the same keys, in the same order
