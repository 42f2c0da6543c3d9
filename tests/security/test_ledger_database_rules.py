"""The books hold even against raw SQL (PostgreSQL): ledger entries are append-only, every
transaction balances at commit, amounts are non-zero and balances non-negative.

Tests run without migrations, so each test installs the triggers of migration
recognition 0002 inside its own transaction (DDL is transactional on PostgreSQL).
"""

import importlib

import pytest
from django.db import IntegrityError, connection, transaction

from recognition import services
from recognition.models import Account, LedgerEntry, LedgerTransaction
from recognition.selectors import ledger_problems
from tests.factories.recognition import give

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
]

RULES = importlib.import_module("recognition.migrations.0002_ledger_database_rules")


def _rules_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'recognition_ledgerentry_append_only'"
        )
        return cursor.fetchone()[0] > 0


def _install_rules() -> None:
    """(Re)install the migration's rules: fresh when the test database was built with
    --no-migrations, replaced when it was migrated."""
    with connection.cursor() as cursor:
        cursor.execute(RULES.REVERSE)
        cursor.execute(RULES.FORWARD)


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _check_deferred_now() -> None:
    """Run the deferred checks now, as COMMIT would (the test's transaction never commits)."""
    _sql("SET CONSTRAINTS ALL IMMEDIATE", [])


@pytest.fixture
def books(db, employee, teammate):
    _install_rules()
    recognition = give(employee, teammate, points=10)
    return recognition.transaction


def test_the_ledger_service_posts_and_reverses_within_the_rules(books, hr_admin):
    services.recognition_reverse(recognition=books.recognition, by=hr_admin.user, reason="Mistake")

    _check_deferred_now()
    assert LedgerTransaction.objects.filter(kind="reversal").count() == 1
    assert ledger_problems() == []


def test_raw_sql_cannot_edit_an_entry(books):
    entry = books.entries.order_by("pk").first()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _sql("UPDATE recognition_ledgerentry SET amount = amount + 1 WHERE id = %s", [entry.pk])

    assert LedgerEntry.objects.get(pk=entry.pk).amount == entry.amount


def test_raw_sql_cannot_delete_an_entry(books):
    count = LedgerEntry.objects.count()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _sql("DELETE FROM recognition_ledgerentry WHERE transaction_id = %s", [books.pk])

    assert LedgerEntry.objects.count() == count


def test_raw_sql_cannot_commit_an_unbalanced_transaction(books, employee):
    pool = Account.objects.get(kind=Account.Kind.POOL)

    with pytest.raises(IntegrityError, match="unbalanced"), transaction.atomic():
        _sql(
            "INSERT INTO recognition_ledgertransaction (kind, memo, created_at) "
            "VALUES ('give', 'forged', now())",
            [],
        )
        forged = LedgerTransaction.objects.get(memo="forged")
        _sql(
            "INSERT INTO recognition_ledgerentry (transaction_id, account_id, amount) "
            "VALUES (%s, %s, 500)",
            [forged.pk, pool.pk],
        )
        _check_deferred_now()

    assert not LedgerTransaction.objects.filter(memo="forged").exists()


def test_a_balanced_raw_transaction_is_accepted_at_commit(books, employee):
    pool = Account.objects.get(kind=Account.Kind.POOL)
    wallet = Account.objects.get(employee=employee, kind=Account.Kind.ALLOWANCE)
    _sql(
        "INSERT INTO recognition_ledgertransaction (kind, memo, created_at) "
        "VALUES ('give', 'balanced', now())",
        [],
    )
    posted = LedgerTransaction.objects.get(memo="balanced")
    _sql(
        "INSERT INTO recognition_ledgerentry (transaction_id, account_id, amount) "
        "VALUES (%s, %s, 5), (%s, %s, -5)",
        [posted.pk, wallet.pk, posted.pk, pool.pk],
    )

    _check_deferred_now()
    assert posted.entries.count() == 2


def test_raw_sql_cannot_make_a_balance_negative_or_an_amount_zero(books, teammate):
    wallet = Account.objects.get(employee=teammate, kind=Account.Kind.WALLET)

    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("UPDATE recognition_account SET balance = -1 WHERE id = %s", [wallet.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql(
            "INSERT INTO recognition_ledgerentry (transaction_id, account_id, amount) "
            "VALUES (%s, %s, 0)",
            [books.pk, wallet.pk],
        )


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_transaction_is_refused_at_commit(employee, teammate):
    migrated = _rules_installed()
    if not migrated:
        _install_rules()
    try:
        give(employee, teammate, points=10)  # the service's transactions commit fine
        pool = Account.objects.get(kind=Account.Kind.POOL)
        with pytest.raises(IntegrityError, match="unbalanced"), transaction.atomic():
            forged = LedgerTransaction.objects.create(kind="give", memo="forged")
            _sql(
                "INSERT INTO recognition_ledgerentry (transaction_id, account_id, amount) "
                "VALUES (%s, %s, 500)",
                [forged.pk, pool.pk],
            )
        assert not LedgerTransaction.objects.filter(memo="forged").exists()
        assert ledger_problems() == []
    finally:
        if not migrated:  # leave the database as the other tests expect it
            with connection.cursor() as cursor:
                cursor.execute(RULES.REVERSE)
