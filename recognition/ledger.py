"""The double-entry core: accounts, posting, reversing, and the monthly reset.

Every movement of points is one call to `ledger_post`, except a peer give with points on
PostgreSQL, which posts inside the database function `recognition_give_from_allowance`
(migrations 0004 and 0006) under the same rules. The locking rules, which keep concurrent
requests from overdrawing an account or deadlocking each other:

1. Employee accounts (allowance, wallet, budget) that a transaction touches are locked with
   SELECT ... FOR UPDATE in primary-key order before any balance is read (`accounts_lock`).
2. The two company accounts (the pool and redemptions) are never locked up front: they are the
   hottest rows, the pool may go negative by design, and redemptions only gives back what it
   received. They are updated with `F()` as the very last statements of a transaction, after
   every employee-account lock is held, so the lock order is always "employee accounts by pk,
   then other rows (rewards), then company accounts by pk" and no cycle can form.
3. A service that posts several times in one database transaction, or locks other rows, takes
   all its employee-account locks first (see `recognition_give`, `redemption_reject`).
4. The CheckConstraint on `Account.balance` is the last line of defence: if a bug let a debit
   through, the UPDATE fails and the request gets a 409, not a negative balance.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from itertools import batched

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone

from cxculture.lib.errors import ConflictError, DomainError
from cxculture.people.models import Employee

from .models import Account, LedgerEntry, LedgerTransaction, ManagerBudget

Leg = tuple[Account, int]


class InsufficientPoints(ConflictError):
    code = "insufficient_points"


class LedgerImbalanced(ValueError):
    """A programming error: a transaction whose amounts do not sum to zero."""


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def current_period() -> dt.date:
    return month_start(timezone.localdate())


def period_start_at(period: dt.date) -> dt.datetime:
    """The moment `period` (a month) starts in the organisation's time zone."""
    return timezone.make_aware(dt.datetime.combine(period, dt.time.min))


def account_for(kind: str, employee: Employee | None = None) -> Account:
    """The account of `kind` for `employee` (None for the company accounts), created if needed."""
    if (kind in Account.COMPANY_KINDS) != (employee is None):
        raise ValueError(f"{kind} accounts belong to {'the company' if employee else 'a person'}")
    account, _ = Account.objects.get_or_create(kind=kind, employee=employee)
    return account


def accounts_for(kind: str, employee_ids: Sequence[int]) -> list[Account]:
    """Accounts of `kind` for the employees (in that order), creating missing ones in bulk."""
    found = {
        a.employee_id: a for a in Account.objects.filter(kind=kind, employee_id__in=employee_ids)
    }
    if len(found) < len(set(employee_ids)):
        Account.objects.bulk_create(
            [Account(kind=kind, employee_id=pk) for pk in employee_ids if pk not in found],
            ignore_conflicts=True,
        )
        found = {
            a.employee_id: a
            for a in Account.objects.filter(kind=kind, employee_id__in=employee_ids)
        }
    return [found[pk] for pk in employee_ids]


def accounts_lock(accounts: Iterable[Account]) -> dict[int, Account]:
    """Lock the employee accounts among `accounts` in pk order; return fresh rows by pk.

    Must be called inside a transaction. Company accounts are skipped (rule 2 above).
    """
    ids = sorted({account.pk for account in accounts if not account.is_company})
    locked = Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {account.pk: account for account in locked}


def accounts_lock_for(wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Account]:
    """Lock the employee accounts `(kind, employee_id)` in pk order, creating missing ones.

    One SELECT ... FOR UPDATE when they all exist (the usual case), instead of finding and then
    locking them. Must be called inside a transaction. Returns fresh rows by (kind, employee).
    """
    wanted = set(wanted)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, employee_id in sorted(wanted):
        if kind in Account.COMPANY_KINDS:
            raise ValueError(f"{kind} accounts belong to the company")
        by_kind[kind].append(employee_id)
    scope = Q(pk__in=[])
    for kind, ids in by_kind.items():
        scope |= Q(kind=kind, employee_id__in=ids)
    query = Account.objects.select_for_update().filter(scope).order_by("pk")
    found = {(a.kind, a.employee_id): a for a in query}
    if len(found) < len(wanted):
        Account.objects.bulk_create(
            [Account(kind=k, employee_id=e) for k, e in sorted(wanted) if (k, e) not in found],
            ignore_conflicts=True,
        )
        found = {(a.kind, a.employee_id): a for a in query.all()}
    return found  # type: ignore[return-value]


def shortfall(account: Account, available: int, needed: int) -> str:
    what = {
        Account.Kind.ALLOWANCE: "giving allowance",
        Account.Kind.WALLET: "wallet",
        Account.Kind.BUDGET: "reward budget",
    }.get(Account.Kind(account.kind), account.get_kind_display().lower())
    return f"Not enough points in the {what}: {available} available, {needed} needed."


def ledger_post(
    *,
    kind: str,
    legs: Iterable[Leg],
    created_by: User | None = None,
    created_by_id: int | None = None,
    memo: str = "",
    reverses: LedgerTransaction | None = None,
    locked: Mapping[int, Account] | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction and update the balances of the accounts it touches.

    Locks the employee accounts it touches (pk order), refuses with `InsufficientPoints` (409)
    when a debit would take one below zero, inserts all entries in one statement and updates
    the employee accounts (one statement), then the company accounts, with F() expressions.

    `created_by_id`: the user's id, when the caller has the id rather than the user.

    `locked`: the employee accounts the caller has already locked in this transaction and read
    since (by pk), so they are not locked and read a second time. Pass it only when nothing
    has posted to them after they were read.

    Inside a caller's transaction it takes no savepoint of its own (that would cost two round
    trips per posting): refusals are raised before anything is written, so a caller may catch
    them and go on, and a database error during the writes dooms the caller's whole transaction,
    so half a posting can never commit. Outside a transaction it opens one.
    """
    post = partial(
        _post,
        kind=kind,
        legs=legs,
        created_by_id=created_by.pk if created_by is not None else created_by_id,
        memo=memo,
        reverses=reverses,
        locked=locked,
    )
    if transaction.get_connection().in_atomic_block:
        return post()
    with transaction.atomic():
        return post()


def _post(
    *,
    kind: str,
    legs: Iterable[Leg],
    created_by_id: int | None,
    memo: str,
    reverses: LedgerTransaction | None,
    locked: Mapping[int, Account] | None,
) -> LedgerTransaction:
    amounts: dict[int, int] = defaultdict(int)
    accounts: dict[int, Account] = {}
    for account, amount in legs:
        amounts[account.pk] += amount
        accounts[account.pk] = account
    amounts = {pk: amount for pk, amount in amounts.items() if amount != 0}
    if not amounts:
        raise DomainError("There are no points to move.", code="nothing_to_post")
    if sum(amounts.values()) != 0:
        raise LedgerImbalanced(f"A {kind} transaction must sum to zero: {amounts}")

    employee_pks = [pk for pk in amounts if not accounts[pk].is_company]
    if locked is None or any(pk not in locked for pk in employee_pks):
        locked = accounts_lock(accounts[pk] for pk in amounts)
    for pk, amount in sorted(amounts.items()):
        fresh = locked.get(pk)
        if fresh is not None and amount < 0 and fresh.balance + amount < 0:
            raise InsufficientPoints(shortfall(fresh, fresh.balance, -amount))

    # The writes join the caller's transaction without a savepoint: an error in any of them
    # leaves it marked for rollback, so nothing of this posting can commit without the rest.
    with transaction.atomic(savepoint=False):
        try:
            posted = LedgerTransaction.objects.create(
                kind=kind, memo=memo[:255], created_by_id=created_by_id, reverses=reverses
            )
        except IntegrityError as exc:
            raise ConflictError("This transaction has already been reversed.") from exc
        LedgerEntry.objects.bulk_create(
            [LedgerEntry(transaction=posted, account_id=pk, amount=a) for pk, a in amounts.items()]
        )
        company = sorted(pk for pk in amounts if accounts[pk].is_company)
        try:
            if employee_pks:
                # Every employee account in one UPDATE: they are locked already.
                change = Case(
                    *(When(pk=pk, then=Value(amounts[pk])) for pk in employee_pks),
                    output_field=BigIntegerField(),
                )
                Account.objects.filter(pk__in=employee_pks).update(balance=F("balance") + change)
            for pk in company:
                Account.objects.filter(pk=pk).update(balance=F("balance") + amounts[pk])
        except IntegrityError as exc:
            # The database's CheckConstraint caught a debit the checks above let through.
            raise InsufficientPoints("Not enough points for this change.") from exc
    return posted


@transaction.atomic
def ledger_reverse(
    *, original: LedgerTransaction, created_by: User | None, memo: str = ""
) -> LedgerTransaction:
    """Post the mirror image of `original` (which stays as it was).

    One exception to the mirror: points that came out of a giving allowance which has been
    reset since go back to the pool, because that month's allowance has expired.
    """
    if original.kind == LedgerTransaction.Kind.REVERSAL:
        raise ConflictError("A reversal cannot itself be reversed.")
    if LedgerTransaction.objects.filter(reverses=original).exists():
        raise ConflictError("This transaction has already been reversed.")
    posted_in = month_start(timezone.localdate(original.created_at))
    pool = None
    legs: list[Leg] = []
    for entry in original.entries.select_related("account"):
        account = entry.account
        expired = account.period is not None and account.period > posted_in
        if account.kind == Account.Kind.ALLOWANCE and expired:
            pool = pool or account_for(Account.Kind.POOL)
            account = pool
        legs.append((account, -entry.amount))
    return ledger_post(
        kind=LedgerTransaction.Kind.REVERSAL,
        legs=legs,
        created_by=created_by,
        memo=memo or f"Reversal of #{original.pk}",
        reverses=original,
    )


# --- The monthly reset ---------------------------------------------------------------------------


def _allowance_reset_chunk(employee_ids: Sequence[int], period: dt.date, amount: int) -> int:
    """Expire and grant the allowances of `employee_ids` not yet reset for `period`.

    Call inside a transaction: the allowance accounts are locked (pk order) before their
    period is read, so two concurrent resets of the same person grant once.
    """
    accounts_for(Account.Kind.ALLOWANCE, employee_ids)
    locked = (
        Account.objects.select_for_update()
        .filter(kind=Account.Kind.ALLOWANCE, employee_id__in=employee_ids)
        .order_by("pk")
    )
    stale = [a for a in locked if a.period is None or a.period < period]
    if not stale:
        return 0
    pool = account_for(Account.Kind.POOL)
    unspent = [(account, -account.balance) for account in stale if account.balance > 0]
    if unspent:
        ledger_post(
            kind=LedgerTransaction.Kind.ALLOWANCE_EXPIRY,
            legs=[*unspent, (pool, -sum(amount for _, amount in unspent))],
            memo=f"Unspent allowance for {period - dt.timedelta(days=1):%B %Y} expired",
        )
    if amount > 0:
        ledger_post(
            kind=LedgerTransaction.Kind.ALLOWANCE_GRANT,
            legs=[*((account, amount) for account in stale), (pool, -amount * len(stale))],
            memo=f"Giving allowance for {period:%B %Y}",
        )
    Account.objects.filter(pk__in=[account.pk for account in stale]).update(period=period)
    return len(stale)


def allowances_reset(
    *,
    employee_ids: Sequence[int] | None = None,
    today: dt.date | None = None,
    batch_size: int = 200,
) -> int:
    """Reset the giving allowance of the people `employee_ids` (default: every active person)
    for this month.

    Unspent allowance goes back to the pool and this month's allowance is granted. Safe to run
    any number of times: an allowance already reset for this month is left alone. Returns how
    many allowances were reset. Each batch is its own transaction.
    """
    period = month_start(today or timezone.localdate())
    amount = settings.CXC_RECOGNITION_MONTHLY_ALLOWANCE
    if employee_ids is None:
        ids = list(
            Employee.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
        )
    else:
        ids = sorted(employee_ids)
    reset = 0
    for chunk in batched(ids, batch_size):
        with transaction.atomic():
            reset += _allowance_reset_chunk(chunk, period, amount)
    return reset


@transaction.atomic
def budget_top_up(
    *, budget: ManagerBudget, period: dt.date, created_by: User | None = None, force: bool = False
) -> int:
    """Top the manager's budget account up to their monthly amount; return the points granted.

    Once per month unless `force` (HR has just changed the amount). Unspent budget carries
    over, but never past the monthly amount.
    """
    account = account_for(Account.Kind.BUDGET, budget.manager)
    account = accounts_lock([account])[account.pk]
    if not force and account.period is not None and account.period >= period:
        return 0
    grant = max(0, budget.monthly_points - account.balance)
    if grant:
        ledger_post(
            kind=LedgerTransaction.Kind.BUDGET_GRANT,
            legs=[(account, grant), (account_for(Account.Kind.POOL), -grant)],
            created_by=created_by,
            memo=f"Reward budget for {period:%B %Y}",
        )
    Account.objects.filter(pk=account.pk).update(period=period)
    return grant


def budgets_top_up(*, today: dt.date | None = None) -> int:
    """Top up every manager's budget for this month (idempotent); return how many were."""
    period = month_start(today or timezone.localdate())
    topped = 0
    for budget in ManagerBudget.objects.select_related("manager").filter(manager__is_active=True):
        if budget_top_up(budget=budget, period=period):
            topped += 1
    return topped
