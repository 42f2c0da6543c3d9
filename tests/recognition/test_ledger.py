"""The double-entry ledger: balances, database constraints, reversal and the monthly reset."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from cxculture.lib.errors import ConflictError
from recognition import ledger, services
from recognition.models import Account, LedgerEntry, LedgerTransaction
from recognition.selectors import balances_for, ledger_problems
from recognition.tasks import points_monthly_reset_task
from tests.factories.recognition import give, set_budget, spot_award

pytestmark = pytest.mark.django_db


def _at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def _balance(employee, kind: str) -> int:
    return Account.objects.get(employee=employee, kind=kind).balance


def test_a_give_moves_points_from_the_allowance_to_each_wallet(employee, teammate, outsider):
    recognition = give(employee, [teammate, outsider], points=15)

    assert balances_for(employee).allowance == 100 - 30
    assert balances_for(teammate).wallet == 15
    assert balances_for(outsider).wallet == 15
    entries = sorted(recognition.transaction.entries.values_list("amount", flat=True))
    assert entries == [-30, 15, 15]
    assert ledger_problems() == []


def test_the_first_give_of_a_month_grants_that_months_allowance(employee, teammate):
    give(employee, teammate, points=10)

    kinds = list(LedgerTransaction.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["allowance_grant", "give"]
    pool = Account.objects.get(kind=Account.Kind.POOL)
    assert pool.balance == -100  # the issuer: minus the points in circulation


def test_the_database_refuses_a_negative_balance(employee, teammate):
    give(employee, teammate, points=10)
    wallet = Account.objects.get(employee=teammate, kind=Account.Kind.WALLET)

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=wallet.pk).update(balance=-1)


def test_the_database_refuses_an_entry_of_zero_points(employee, teammate):
    recognition = give(employee, teammate, points=10)
    wallet = Account.objects.get(employee=teammate, kind=Account.Kind.WALLET)

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(transaction=recognition.transaction, account=wallet, amount=0)


def test_posting_an_unbalanced_transaction_is_a_programming_error(employee, teammate):
    wallet = ledger.account_for(Account.Kind.WALLET, teammate)

    with pytest.raises(ledger.LedgerImbalanced):
        ledger.ledger_post(kind=LedgerTransaction.Kind.GIVE, legs=[(wallet, 5)])

    assert LedgerTransaction.objects.count() == 0


def test_an_overdraft_is_refused_with_a_conflict_and_changes_nothing(employee, teammate):
    allowance = ledger.account_for(Account.Kind.ALLOWANCE, employee)
    wallet = ledger.account_for(Account.Kind.WALLET, teammate)

    with pytest.raises(ledger.InsufficientPoints, match="0 available, 5 needed"):
        ledger.ledger_post(kind=LedgerTransaction.Kind.GIVE, legs=[(allowance, -5), (wallet, 5)])

    assert LedgerTransaction.objects.count() == 0
    assert Account.objects.get(pk=wallet.pk).balance == 0


def test_a_transaction_is_reversed_once_by_a_mirror_transaction(employee, teammate, hr_admin):
    recognition = give(employee, teammate, points=25)

    reversal = ledger.ledger_reverse(original=recognition.transaction, created_by=hr_admin.user)

    assert reversal.reverses_id == recognition.transaction_id
    assert sorted(reversal.entries.values_list("amount", flat=True)) == [-25, 25]
    assert balances_for(employee).allowance == 100
    assert balances_for(teammate).wallet == 0
    with pytest.raises(ConflictError):
        ledger.ledger_reverse(original=recognition.transaction, created_by=hr_admin.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerTransaction.objects.create(
            kind=LedgerTransaction.Kind.REVERSAL, reverses=recognition.transaction
        )
    assert ledger_problems() == []


def test_the_reset_on_the_first_expires_unspent_allowance_and_keeps_received_points(
    employee, teammate
):
    with time_machine.travel(_at(2026, 3, 20), tick=False):
        give(employee, teammate, points=30)
        give(teammate, employee, points=5)
        assert balances_for(employee).allowance == 70

    with time_machine.travel(_at(2026, 4, 1, 0), tick=False):
        points_monthly_reset_task.delay()
        expiry = LedgerTransaction.objects.get(kind="allowance_expiry")
        grants = LedgerTransaction.objects.filter(kind="allowance_grant", created_at__month=4)
        assert _balance(employee, Account.Kind.ALLOWANCE) == 100
        assert _balance(teammate, Account.Kind.ALLOWANCE) == 100
        # Received points never expire.
        assert _balance(teammate, Account.Kind.WALLET) == 30
        assert _balance(employee, Account.Kind.WALLET) == 5
        assert expiry.entries.get(account__employee=employee).amount == -70
        assert expiry.entries.get(account__employee=teammate).amount == -95
        assert grants.count() == 1

        # Running again on the same day changes nothing.
        points_monthly_reset_task.delay()
        assert grants.count() == 1
        assert LedgerTransaction.objects.filter(kind="allowance_expiry").count() == 1
    assert ledger_problems() == []


def test_a_give_in_a_new_month_resets_a_stale_allowance_itself(employee, teammate, outsider):
    with time_machine.travel(_at(2026, 5, 30), tick=False):
        give(employee, teammate, points=40)
    with time_machine.travel(_at(2026, 6, 2), tick=False):
        give(employee, outsider, points=10)
        assert balances_for(employee).allowance == 90


def test_reversing_last_months_give_returns_the_allowance_points_to_the_pool(
    employee, teammate, hr_admin
):
    with time_machine.travel(_at(2026, 5, 30), tick=False):
        recognition = give(employee, teammate, points=40)
    with time_machine.travel(_at(2026, 6, 2), tick=False):
        ledger.allowances_reset()
        services.recognition_reverse(recognition=recognition, by=hr_admin.user, reason="Gaming")
        assert _balance(employee, Account.Kind.ALLOWANCE) == 100  # not 140
        assert _balance(teammate, Account.Kind.WALLET) == 0
    assert ledger_problems() == []


def test_a_managers_budget_is_topped_up_to_the_monthly_amount(manager, employee, hr_admin):
    with time_machine.travel(_at(2026, 7, 10), tick=False):
        set_budget(manager, 200, by=hr_admin)
        spot_award(manager, employee, 150)
        assert balances_for(manager).budget == 50
    with time_machine.travel(_at(2026, 8, 1, 1), tick=False):
        ledger.budgets_top_up()
        ledger.budgets_top_up()
        assert balances_for(manager).budget == 200
    assert balances_for(employee).wallet == 150
    assert ledger_problems() == []
