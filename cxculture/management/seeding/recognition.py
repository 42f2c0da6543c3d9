"""A year of recognition, points, rewards and policy exceptions (demo and enterprise).

People in teams with a healthier culture (`DemoOrg.team_health`, moving by `team_trend` per
month, as the survey seeder uses) recognise more, so their Recognition driver scores and their
recognition volume go together; they also log more policy exceptions.

The year is simulated month by month in memory, in time order, with the same rules the services
apply (monthly allowance with expiry, the 40% per-person cap, budgets topped up monthly, wallets
never below zero); the rows are then written with `bulk_create` in the shape the ledger writes
them (balanced transactions, balances equal to the sum of entries), and the books are checked
with `ledger_problems()` before the transaction commits. A couple of recent recognitions are
reversed through the real service at the end.

The enterprise profile (`_seed_in_bulk`) runs the same rules over rows instead of model
instances — a million recognitions would not fit as objects — and writes them with COPY; the
PostgreSQL ledger triggers check every transaction at commit like any other.
"""

import contextlib
import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cxculture.lib.errors import DomainError
from cxculture.people.models import Employee
from recognition import rollups, services
from recognition.models import (
    Account,
    LedgerEntry,
    LedgerTransaction,
    ManagerBudget,
    PolicyException,
    Reaction,
    Recognition,
    RecognitionDay,
    RecognitionReceiver,
    Redemption,
    Reward,
)
from recognition.selectors import ledger_problems

from .bulk import IdBlock, Rows, analyze, indexes_after
from .people import DemoOrg

MONTHS = 12
MANAGER_BUDGET = 300
REWARDS = [
    ("Coffee on us", "A coffee voucher for the café of your choice.", 30, None),
    ("Donate to charity", "We give the value to a charity you choose.", 50, None),
    ("Lunch voucher", "Lunch for one at a local restaurant.", 80, None),
    ("A book you want", "Any book, paper or e-book.", 120, None),
    ("Cinema for two", "Two tickets and popcorn.", 150, 40),
    ("Team breakfast", "Breakfast for your whole team.", 400, 10),
    ("Extra day off", "One more day of holiday this year.", 800, 12),
    ("Noise-cancelling headphones", "For calls and for focus.", 1200, 5),
]
MESSAGES = [
    "Thank you for {act}. The customer wrote in to say so.",
    "{act_cap} — that is what customer first looks like.",
    "Huge thanks for {act}; you made my day easier too.",
    "I saw you {act_past}. Brilliant.",
    "Shout-out for {act}. Nobody asked you to, you just did it.",
    "Thanks for {act} while we were short-staffed.",
]
ACTS = [
    ("sorting out a double charge in one call", "sorted out a double charge in one call"),
    ("calling the customer back after your shift", "called a customer back after your shift"),
    ("rescuing the order that went to the wrong address", "rescued a misdelivered order"),
    ("explaining the new tariff so patiently", "explained the new tariff so patiently"),
    ("covering the queue when the chat tool went down", "covered the queue during the outage"),
    ("writing the knowledge-base article on refunds", "wrote the refund article we all use"),
    ("coaching me through my first escalation", "coached a new starter through an escalation"),
    ("fixing the boiler on a Sunday for an elderly customer", "fixed a boiler on a Sunday"),
    ("turning a cancellation into a renewal", "turned a cancellation into a renewal"),
    ("spotting the billing bug before it hit 2,000 customers", "spotted a billing bug early"),
    ("staying calm with a very upset caller", "stayed calm with a very upset caller"),
    ("sharing your trick for faster returns", "shared a trick for faster returns"),
]
EXCEPTIONS = [
    (
        "Refunded outside the window: the item failed just after it closed.",
        "Loyal customer, a genuine fault, and a refund cost less than the complaint.",
    ),
    (
        "Waived the delivery fee on a re-delivery.",
        "Our courier missed the slot twice; charging again would have lost the customer.",
    ),
    (
        "Sent a second free replacement.",
        "The first replacement was damaged in transit — not the customer's fault.",
    ),
    (
        "Applied a small account credit without a supervisor.",
        "The supervisor queue was 40 minutes long and the customer was on a lunch break.",
    ),
    ("Called back after opening hours.", "The customer works nights and had tried four times."),
    (
        "Matched a competitor's price.",
        "Same product, cheaper two streets away; matching kept the sale.",
    ),
    (
        "Accepted a return without a receipt.",
        "The order was in our system under the customer's card.",
    ),
]
REACTIONS = ["👏", "🎉", "❤️", "🙌", "💡", "⭐"]


@dataclass
class _Books:
    """The accounts and transactions being built, with running balances."""

    accounts: dict[tuple[str, int | None], Account] = field(default_factory=dict)
    transactions: list[tuple[LedgerTransaction, list[tuple[Account, int]]]] = field(
        default_factory=list
    )

    def account(self, kind: str, employee_id: int | None = None) -> Account:
        key = (kind, employee_id)
        if key not in self.accounts:
            self.accounts[key] = Account(kind=kind, employee_id=employee_id, balance=0)
        return self.accounts[key]

    def balance(self, kind: str, employee_id: int | None) -> int:
        return self.account(kind, employee_id).balance

    def post(
        self,
        kind: str,
        legs: list[tuple[Account, int]],
        at: dt.datetime,
        *,
        by: int | None = None,
        memo: str = "",
    ) -> LedgerTransaction | None:
        merged: dict[int, tuple[Account, int]] = {}
        for account, amount in legs:
            previous = merged.get(id(account), (account, 0))[1]
            merged[id(account)] = (account, previous + amount)
        legs = [(a, n) for a, n in merged.values() if n]
        if not legs:
            return None
        if sum(n for _, n in legs) != 0:
            raise ValueError(f"unbalanced {kind}")
        for account, amount in legs:
            if account.kind != Account.Kind.POOL and account.balance + amount < 0:
                raise ValueError(f"{kind} would overdraw {account}")
        for account, amount in legs:
            account.balance += amount
        posted = LedgerTransaction(kind=kind, memo=memo[:255], created_by_id=by, created_at=at)
        self.transactions.append((posted, legs))
        return posted


def _month_starts(today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    months = [first]
    for _ in range(MONTHS - 1):
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    return months[::-1]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _message(rng: random.Random) -> str:
    act, past = rng.choice(ACTS)
    return rng.choice(MESSAGES).format(act=act, act_cap=act[0].upper() + act[1:], act_past=past)


@transaction.atomic
def seed_recognition(org: DemoOrg) -> None:
    """Seed a year of recognition history for the demo organisation (skips if any exists)."""
    if Recognition.objects.exists():
        if not RecognitionDay.objects.exists():  # seeded before the daily rollups existed
            rollups.rollups_rebuild_all()
        return
    rng = random.Random(f"recognition:{org.root.external_id}")
    if org.profile.bulk:
        big = (Recognition, RecognitionReceiver, Recognition.values.through, Reaction)
        with indexes_after(
            LedgerTransaction, *big, Redemption, PolicyException, foreign_keys_only=[LedgerEntry]
        ):
            _seed_in_bulk(org)
        _check_books()
        services.last_recognitions_rebuild()  # the history was written in bulk, not given
        rollups.rollups_rebuild_all()  # and so were the rollups' rows
        _demo_touches(org, rng)
        return
    tz = timezone.get_current_timezone()
    now = timezone.now()
    today = org.today
    monthly = settings.CXC_RECOGNITION_MONTHLY_ALLOWANCE
    cap = services.receiver_cap()
    books = _Books()
    pool = books.account(Account.Kind.POOL)
    sink = books.account(Account.Kind.REDEMPTIONS)

    people = [e for e in org.employees if e.is_active]
    by_team: dict[int | None, list[Employee]] = defaultdict(list)
    for person in people:
        by_team[person.team_id].append(person)
    department_of: dict[int | None, int | None] = {team.pk: team.parent_id for team in org.teams}
    by_department: dict[int | None, list[Employee]] = defaultdict(list)
    for person in people:
        by_department[department_of.get(person.team_id, person.team_id)].append(person)
    manager_of_team = dict(org.managers)
    managers = list({m.pk: m for m in manager_of_team.values()}.values())
    mean_health = sum(org.team_health.values()) / max(1, len(org.team_health))
    values = [v for v in org.values if v.is_active]
    value_weights = [5, 3, 2, 2, 1][: len(values)] + [1] * max(0, len(values) - 5)

    rewards = [
        Reward(name=name, description=text, cost_points=cost, stock=stock)
        for name, text, cost, stock in REWARDS
    ]
    Reward.objects.bulk_create(rewards)

    recognitions: list[tuple[Recognition, list[Employee], list[int]]] = []
    reactions: list[Reaction] = []
    redemptions: list[Redemption] = []
    exceptions: list[PolicyException] = []
    stock = {reward.name: reward.stock for reward in rewards}

    def health(person: Employee, months_back: int) -> float:
        base = org.team_health.get(person.team_id, mean_health)  # type: ignore[arg-type]
        trend = org.team_trend.get(person.team_id, 0.0)  # type: ignore[arg-type]
        return min(0.97, max(0.05, base - trend * months_back))

    def moment(start: dt.date, end: dt.date) -> dt.datetime:
        day = start + dt.timedelta(days=rng.randrange(max(1, (end - start).days)))
        at = dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randrange(60)), tz)
        return min(at, now - dt.timedelta(minutes=rng.randint(5, 600)))

    def pick_receivers(giver: Employee) -> list[Employee]:
        count = rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
        chosen: dict[int, Employee] = {}
        for _ in range(count * 3):
            roll = rng.random()
            pool_ = (
                by_team[giver.team_id]
                if roll < 0.7
                else by_department[department_of.get(giver.team_id, giver.team_id)]
                if roll < 0.9
                else people
            )
            candidate = rng.choice(pool_)
            if candidate.pk != giver.pk:
                chosen[candidate.pk] = candidate
            if len(chosen) == count:
                break
        return list(chosen.values())

    def recognise(
        giver: Employee,
        receivers: list[Employee],
        at: dt.datetime,
        points: int,
        *,
        kind: str = Recognition.Kind.PEER,
        given: dict[tuple[int, int], int] | None = None,
        message: str | None = None,
        ledger_transaction: LedgerTransaction | None = None,
    ) -> Recognition | None:
        posted = ledger_transaction
        if points and posted is None:
            source_kind = (
                Account.Kind.ALLOWANCE if kind == Recognition.Kind.PEER else Account.Kind.BUDGET
            )
            if books.balance(source_kind, giver.pk) < points * len(receivers):
                return None
            if given is not None and any(given[(giver.pk, r.pk)] + points > cap for r in receivers):
                return None
            posted = books.post(
                LedgerTransaction.Kind.GIVE
                if kind == Recognition.Kind.PEER
                else LedgerTransaction.Kind.SPOT_AWARD,
                [
                    (books.account(source_kind, giver.pk), -points * len(receivers)),
                    *((books.account(Account.Kind.WALLET, r.pk), points) for r in receivers),
                ],
                at,
                by=giver.user_id,
                memo=f"Recognition from {giver.display_name}",
            )
            if given is not None:
                for receiver in receivers:
                    given[(giver.pk, receiver.pk)] += points
        recognition = Recognition(
            kind=kind,
            giver=giver,
            giver_team_id=giver.team_id,
            message=message or _message(rng),
            visibility=Recognition.Visibility.TEAM
            if kind == Recognition.Kind.PEER and rng.random() < 0.15
            else Recognition.Visibility.ORGANISATION,
            points_per_receiver=points,
            transaction=posted,
            created_at=at,
            notified_at=at,
            announced_at=at,
        )
        tagged = rng.choices(values, weights=value_weights, k=rng.choice([1, 1, 2]))
        recognitions.append((recognition, receivers, sorted({v.pk for v in tagged})))
        audience = by_team[receivers[0].team_id] + by_team[giver.team_id]
        for reactor in rng.sample(audience, min(len(audience), _poisson(rng, 2.5))):
            reactions.append(
                Reaction(
                    recognition=recognition,
                    employee=reactor,
                    emoji=rng.choice(REACTIONS),
                    created_at=at + dt.timedelta(minutes=rng.randint(1, 600)),
                )
            )
        return recognition

    months = _month_starts(today)
    for index, start in enumerate(months):
        months_back = len(months) - 1 - index
        end = months[index + 1] if index + 1 < len(months) else today + dt.timedelta(days=1)
        opening = dt.datetime.combine(start, dt.time(0, 5), tz)

        # The 1st: unspent allowance expires, this month's is granted, budgets are topped up.
        allowances = [books.account(Account.Kind.ALLOWANCE, p.pk) for p in people]
        unspent = [(a, -a.balance) for a in allowances if a.balance > 0]
        books.post(
            LedgerTransaction.Kind.ALLOWANCE_EXPIRY,
            [*unspent, (pool, -sum(n for _, n in unspent))],
            opening,
            memo=f"Unspent allowance for {start - dt.timedelta(days=1):%B %Y} expired",
        )
        books.post(
            LedgerTransaction.Kind.ALLOWANCE_GRANT,
            [*((a, monthly) for a in allowances), (pool, -monthly * len(allowances))],
            opening,
            memo=f"Giving allowance for {start:%B %Y}",
        )
        for manager in managers:
            budget = books.account(Account.Kind.BUDGET, manager.pk)
            top_up = MANAGER_BUDGET - budget.balance
            books.post(
                LedgerTransaction.Kind.BUDGET_GRANT,
                [(budget, top_up), (pool, -top_up)],
                opening,
                by=org.hr_admin.user_id,
                memo=f"Reward budget for {start:%B %Y}",
            )

        # Everything else that happens this month, in time order.
        events: list[tuple[dt.datetime, str, tuple]] = []
        for person in people:
            culture = health(person, months_back)
            for _ in range(_poisson(rng, 0.3 + 2.6 * culture)):
                events.append((moment(start, end), "give", (person,)))
            if person.is_front_line and rng.random() < 0.06 + 0.22 * culture:
                events.append((moment(start, end), "exception", (person,)))
            if rng.random() < 0.18:
                events.append((moment(start, end), "redeem", (person,)))
        for team_id, manager in manager_of_team.items():
            team = [p for p in by_team[team_id] if p.pk != manager.pk]
            for _ in range(rng.randint(0, 2)):
                if team:
                    events.append((moment(start, end), "spot", (manager, rng.choice(team))))
        if index == len(months) - 1:
            # Two teammates who trade points: the reciprocal-pairs page has someone to show.
            team = max(by_team.values(), key=len)
            first, second = team[-1], team[-2]
            early = min(now - dt.timedelta(minutes=2), max(opening, now - dt.timedelta(days=25)))
            events.append((early + dt.timedelta(minutes=1), "pair", (first, second)))
            events.append((early + dt.timedelta(minutes=2), "pair", (second, first)))
        events.sort(key=lambda event: event[0])

        given: dict[tuple[int, int], int] = defaultdict(int)
        for at, kind, args in events:
            if kind == "give":
                giver = args[0]
                receivers = pick_receivers(giver)
                if not receivers:
                    continue
                points = rng.choices([0, 5, 10, 15, 20, 25], weights=[25, 15, 25, 15, 12, 8])[0]
                if recognise(giver, receivers, at, points, given=given) is None:
                    recognise(giver, receivers, at, 0)
            elif kind == "pair":
                giver, receiver = args
                recognise(giver, [receiver], at, 35, given=given)
            elif kind == "spot":
                manager, receiver = args
                points = rng.choice([20, 25, 30, 40, 50])
                recognise(
                    manager,
                    [receiver],
                    at,
                    points,
                    kind=Recognition.Kind.SPOT_AWARD,
                    message=f"Spot award: {_message(rng)}",
                )
            elif kind == "exception":
                exceptions.append(_exception(args[0], at, org, rng, books, recognise, now))
            elif kind == "redeem":
                redemption = _redeem(args[0], at, rewards, stock, books, sink, rng, org, now)
                if redemption is not None:
                    redemptions.append(redemption)

    _write(books, recognitions, reactions, rewards, stock, redemptions, exceptions, org, managers)
    _check_books()
    services.last_recognitions_rebuild()  # the history was written in bulk, not given
    rollups.rollups_rebuild_all()  # and so were the rollups' rows
    _demo_touches(org, rng)


def _check_books() -> None:
    problems = ledger_problems()
    if problems:
        raise RuntimeError(f"The seeded ledger does not balance: {problems[:5]}")


def _exception(person, at, org, rng, books, recognise, now) -> PolicyException:
    what, why = rng.choice(EXCEPTIONS)
    policy = rng.choice(org.policies)
    exception = PolicyException(
        employee=person,
        team_id=person.team_id,
        policy=policy,
        # The same customer refs as the outcome seeder, so later outcomes can be matched.
        customer_ref=f"CUST-{rng.randint(1, 40_000):06d}",
        interaction_ref=f"TKT-{rng.randint(100000, 999999)}" if rng.random() < 0.7 else "",
        occurred_on=timezone.localdate(at),
        what_was_done=what,
        why=why,
        cost=Decimal(rng.randint(500, 15000)) / 100,
        currency=settings.CXC_RECOGNITION_CURRENCY,
        created_at=at,
    )
    reviewer = org.managers.get(person.team_id)
    reviewed_at = at + dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))
    if reviewer is None or reviewer.pk == person.pk or reviewed_at > now:
        return exception  # still waiting for review
    roll = rng.random()
    exception.reviewer = reviewer
    exception.reviewed_at = reviewed_at
    if roll < 0.6:
        exception.status = PolicyException.Status.APPROVED
        exception.review_note = rng.choice(
            [
                "Exactly the judgement we want. Thank you.",
                "Good call — the customer stayed with us.",
                "Right thing to do; let's look at changing this rule.",
            ]
        )
        points = rng.choice([0, 0, 20, 30, 40, 50])
        if points and books.balance(Account.Kind.BUDGET, reviewer.pk) >= points:
            reward = books.post(
                LedgerTransaction.Kind.EXCEPTION_REWARD,
                [
                    (books.account(Account.Kind.BUDGET, reviewer.pk), -points),
                    (books.account(Account.Kind.WALLET, person.pk), points),
                ],
                reviewed_at,
                by=reviewer.user_id,
                memo="Reward for a policy exception",
            )
            exception.reward_points = points
            exception.reward_transaction = reward
            if rng.random() < 0.5:
                exception.recognition = recognise(
                    reviewer,
                    [person],
                    reviewed_at,
                    points,
                    kind=Recognition.Kind.STORY,
                    message=exception.review_note,
                    ledger_transaction=reward,
                )
    elif roll < 0.85:
        exception.status = PolicyException.Status.APPROVED_WITH_COACHING
        exception.review_note = "Fine this time. Next time, try a voucher before a full refund."
    else:
        exception.status = PolicyException.Status.DECLINED
        exception.review_note = (
            "I see why you did it, but this one cost more than it saved. Let's talk it through."
        )
    return exception


def _redeem(person, at, rewards, stock, books, sink, rng, org, now) -> Redemption | None:
    wallet = books.account(Account.Kind.WALLET, person.pk)
    affordable = [r for r in rewards if r.cost_points <= wallet.balance and stock[r.name] != 0]
    if not affordable:
        return None
    reward = rng.choice(affordable)
    posted = books.post(
        LedgerTransaction.Kind.REDEMPTION,
        [(wallet, -reward.cost_points), (sink, reward.cost_points)],
        at,
        by=person.user_id,
        memo=f"Redeemed {reward.name}",
    )
    if stock[reward.name] is not None:
        stock[reward.name] -= 1
    redemption = Redemption(
        employee=person,
        reward=reward,
        cost_points=reward.cost_points,
        transaction=posted,
        created_at=at,
    )
    age = now - at
    decided = at + dt.timedelta(days=rng.randint(1, 3))
    roll = rng.random()
    if age < dt.timedelta(days=2):
        return redemption  # pending
    redemption.decided_by_id = org.hr_admin.user_id
    redemption.decided_at = decided
    if roll < 0.1:
        redemption.status = Redemption.Status.REJECTED
        redemption.note = "Sorry — this one is no longer available; your points are back."
        redemption.refund_transaction = books.post(
            LedgerTransaction.Kind.REFUND,
            [
                (sink, -reward.cost_points),
                (books.account(Account.Kind.WALLET, person.pk), reward.cost_points),
            ],
            decided,
            by=org.hr_admin.user_id,
            memo="Refund of a redemption",
        )
        if stock[reward.name] is not None:
            stock[reward.name] += 1
    elif age < dt.timedelta(days=10) or roll < 0.2:
        redemption.status = Redemption.Status.APPROVED
    else:
        redemption.status = Redemption.Status.FULFILLED
        redemption.fulfilled_at = decided + dt.timedelta(days=rng.randint(1, 5))
    return redemption


def _write(books, recognitions, reactions, rewards, stock, redemptions, exceptions, org, managers):
    today = org.today.replace(day=1)
    for (kind, _), account in books.accounts.items():
        if kind in (Account.Kind.ALLOWANCE, Account.Kind.BUDGET):
            account.period = today
    Account.objects.bulk_create(books.accounts.values(), batch_size=1000)
    # Transactions in time order, so ids follow time as they do when the services write them.
    books.transactions.sort(key=lambda item: item[0].created_at)
    LedgerTransaction.objects.bulk_create([t for t, _ in books.transactions], batch_size=1000)
    LedgerEntry.objects.bulk_create(
        (
            LedgerEntry(transaction=posted, account=account, amount=amount)
            for posted, legs in books.transactions
            for account, amount in legs
        ),
        batch_size=2000,
    )
    recognitions.sort(key=lambda item: item[0].created_at)
    Recognition.objects.bulk_create([r for r, _, _ in recognitions], batch_size=1000)
    RecognitionReceiver.objects.bulk_create(
        (
            RecognitionReceiver(recognition=r, employee=person, team_id=person.team_id)
            for r, receivers, _ in recognitions
            for person in receivers
        ),
        batch_size=2000,
    )
    tagged = Recognition.values.through
    tagged.objects.bulk_create(
        (
            tagged(recognition_id=r.pk, companyvalue_id=value_id)
            for r, _, value_ids in recognitions
            for value_id in value_ids
        ),
        batch_size=2000,
    )
    Reaction.objects.bulk_create(reactions, batch_size=2000, ignore_conflicts=True)
    for reward in rewards:
        reward.stock = stock[reward.name]
    Reward.objects.bulk_update(rewards, ["stock"])
    Redemption.objects.bulk_create(redemptions, batch_size=1000)
    PolicyException.objects.bulk_create(exceptions, batch_size=1000)
    ManagerBudget.objects.bulk_create(
        ManagerBudget(
            manager=manager, monthly_points=MANAGER_BUDGET, updated_by_id=org.hr_admin.user_id
        )
        for manager in managers
    )


def _demo_touches(org: DemoOrg, rng: random.Random) -> None:
    """What the demo walk-through needs to find: one reversed recognition (through the real
    service) and an exception from the demo agent waiting for their manager."""
    agent = next((e for e in org.employees if e.user.email == "agent@example.com"), None)
    if agent is not None and agent.team_id in org.managers:
        services.exception_log(
            employee=agent,
            policy=org.policies[0],
            customer_ref="CUST-040211",
            interaction_ref="TKT-771903",
            what_was_done="Refunded a faulty kettle on day 34 of the 30-day window.",
            why="It failed on day 29; the customer could not reach us over the bank holiday.",
            cost=Decimal("39.99"),
        )
    peer = (
        Recognition.objects.filter(kind=Recognition.Kind.PEER, points_per_receiver__gte=10)
        .order_by("-created_at")
        .first()
    )
    if peer is not None:
        # If the receiver has already spent the points the reversal is refused: leave it.
        with contextlib.suppress(DomainError):
            services.recognition_reverse(
                recognition=peer,
                by=org.hr_admin.user,
                reason="Given twice by mistake (the giver asked us to undo one).",
            )


# --- Enterprise: the same year, as rows ----------------------------------------------------------


class _Ledger:
    """Accounts and transactions as rows: ids handed out here, balances kept as the service
    keeps them, entries written in the transaction's own statement batch (COPY)."""

    def __init__(self, people: list[Employee], managers: list[int]):
        self.account_ids = IdBlock(Account)
        self.transaction_ids = IdBlock(LedgerTransaction)
        self.balance: dict[int, int] = {}
        self.accounts: list[tuple[int, str, int | None]] = []
        self.pool = self._open(Account.Kind.POOL, None)
        self.sink = self._open(Account.Kind.REDEMPTIONS, None)
        self.allowance = {p.pk: self._open(Account.Kind.ALLOWANCE, p.pk) for p in people}
        self.wallet = {p.pk: self._open(Account.Kind.WALLET, p.pk) for p in people}
        self.budget = {pk: self._open(Account.Kind.BUDGET, pk) for pk in managers}
        self.transactions = Rows(
            LedgerTransaction, ["id", "kind", "memo", "created_by_id", "reverses_id", "created_at"]
        )
        self.entries = Rows(LedgerEntry, ["transaction_id", "account_id", "amount"])

    def _open(self, kind: str, employee_id: int | None) -> int:
        pk = self.account_ids.take()
        self.balance[pk] = 0
        self.accounts.append((pk, kind, employee_id))
        return pk

    def post(
        self, kind: str, legs: list[tuple[int, int]], at: dt.datetime, *, by=None, memo=""
    ) -> int | None:
        merged: dict[int, int] = defaultdict(int)
        for account, amount in legs:
            merged[account] += amount
        moves = [(account, amount) for account, amount in merged.items() if amount]
        if not moves:
            return None
        if sum(amount for _, amount in moves) != 0:
            raise ValueError(f"unbalanced {kind}")
        for account, amount in moves:
            if account != self.pool and self.balance[account] + amount < 0:
                raise ValueError(f"{kind} would overdraw account {account}")
        pk = self.transaction_ids.take()
        for account, amount in moves:
            self.balance[account] += amount
            self.entries.add(pk, account, amount)
        self.transactions.add(pk, kind, memo[:255], by, None, at)
        return pk

    def write(self, period: dt.date, now: dt.datetime) -> None:
        self.transactions.flush()
        self.entries.flush()
        kinds_with_period = (Account.Kind.ALLOWANCE, Account.Kind.BUDGET)
        accounts = Rows(Account, ["id", "kind", "employee_id", "balance", "period", "created_at"])
        for pk, kind, employee_id in self.accounts:
            on = period if kind in kinds_with_period else None
            accounts.add(pk, kind, employee_id, self.balance[pk], on, now)
        accounts.flush()
        self.account_ids.sync()
        self.transaction_ids.sync()


def _seed_in_bulk(org: DemoOrg) -> None:
    """The enterprise year: the demo's rules (allowance, cap, budgets, rewards, exceptions)
    simulated month by month in time order, written as rows with COPY. About
    `org.profile.recognitions` recognitions: the giving rate is the demo's, scaled so the year
    adds up to the profile's total, and still rises with each team's culture."""
    rng = random.Random(f"recognition:{org.root.external_id}")
    tz = timezone.get_current_timezone()
    now = timezone.now()
    today = org.today
    monthly = settings.CXC_RECOGNITION_MONTHLY_ALLOWANCE
    cap = services.receiver_cap()
    profile = org.profile

    people = [e for e in org.employees if e.is_active]
    team_of = {p.pk: p.team_id for p in people}
    user_of = {p.pk: p.user_id for p in people}
    by_team: dict[int | None, list[int]] = defaultdict(list)
    for person in people:
        by_team[person.team_id].append(person.pk)
    department_of = {team.pk: team.parent_id for team in org.teams}
    by_department: dict[int | None, list[int]] = defaultdict(list)
    for person in people:
        unit = department_of.get(person.team_id) if person.team_id else None  # type: ignore[arg-type]
        by_department[unit or person.team_id].append(person.pk)
    everyone = [p.pk for p in people]
    manager_of_team = {team_id: manager.pk for team_id, manager in org.managers.items()}
    manager_pks = sorted(set(manager_of_team.values()))
    names = {p.pk: p.display_name for p in people}
    mean_health = sum(org.team_health.values()) / max(1, len(org.team_health))
    values = [v.pk for v in org.values if v.is_active]
    value_weights = [5, 3, 2, 2, 1][: len(values)] + [1] * max(0, len(values) - 5)
    hr_user = org.hr_admin.user_id

    def health(person_pk: int, months_back: int) -> float:
        team = team_of[person_pk]
        base = org.team_health.get(team, mean_health)  # type: ignore[arg-type]
        trend = org.team_trend.get(team, 0.0)  # type: ignore[arg-type]
        return min(0.97, max(0.05, base - trend * months_back))

    # The demo's rate (0.3 + 2.6 x culture a month), scaled to the profile's yearly total.
    natural = sum(0.3 + 2.6 * health(pk, 6) for pk in everyone) * MONTHS
    rate = (profile.recognitions or natural) / max(1.0, natural)

    rewards = [
        Reward(name=name, description=text, cost_points=cost, stock=stock)
        for name, text, cost, stock in REWARDS
    ]
    Reward.objects.bulk_create(rewards)
    reward_rows = [(r.pk, r.name, r.cost_points) for r in rewards]
    stock = {r.pk: r.stock for r in rewards}

    books = _Ledger(people, manager_pks)
    recognition_ids = IdBlock(Recognition)
    recognitions = Rows(
        Recognition,
        [
            "id",
            "kind",
            "giver_id",
            "giver_team_id",
            "message",
            "visibility",
            "points_per_receiver",
            "transaction_id",
            "created_at",
            "reversed_at",
            "reversed_by_id",
            "reversal_reason",
            "notified_at",
            "announced_at",
        ],
    )
    receivers_rows = Rows(RecognitionReceiver, ["recognition_id", "employee_id", "team_id"])
    tagged = Rows(Recognition.values.through, ["recognition_id", "companyvalue_id"])
    reactions = Rows(Reaction, ["recognition_id", "employee_id", "emoji", "created_at"])
    redemptions = Rows(
        Redemption,
        [
            "employee_id",
            "reward_id",
            "cost_points",
            "status",
            "transaction_id",
            "refund_transaction_id",
            "note",
            "decided_by_id",
            "decided_at",
            "fulfilled_at",
            "created_at",
            "updated_at",
        ],
    )
    exceptions = Rows(
        PolicyException,
        [
            "employee_id",
            "team_id",
            "policy_id",
            "customer_ref",
            "interaction_ref",
            "occurred_on",
            "what_was_done",
            "why",
            "cost",
            "currency",
            "status",
            "reviewer_id",
            "review_note",
            "reward_points",
            "reward_transaction_id",
            "recognition_id",
            "created_at",
            "reviewed_at",
            "updated_at",
        ],
    )

    def moment(start: dt.date, end: dt.date) -> dt.datetime:
        day = start + dt.timedelta(days=rng.randrange(max(1, (end - start).days)))
        at = dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randrange(60)), tz)
        return min(at, now - dt.timedelta(minutes=rng.randint(5, 600)))

    def pick_receivers(giver: int) -> list[int]:
        count = rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
        chosen: dict[int, None] = {}
        team = team_of[giver]
        for _ in range(count * 3):
            roll = rng.random()
            pool_ = (
                by_team[team]
                if roll < 0.7
                else by_department[department_of.get(team, team)]  # type: ignore[arg-type]
                if roll < 0.9
                else everyone
            )
            candidate = rng.choice(pool_)
            if candidate != giver:
                chosen[candidate] = None
            if len(chosen) == count:
                break
        return list(chosen)

    def recognise(
        giver: int,
        receivers: list[int],
        at: dt.datetime,
        points: int,
        *,
        kind: str = Recognition.Kind.PEER,
        given: dict[tuple[int, int], int] | None = None,
        message: str | None = None,
        posted: int | None = None,
    ) -> int | None:
        if points and posted is None:
            peer = kind == Recognition.Kind.PEER
            source = books.allowance[giver] if peer else books.budget[giver]
            if books.balance[source] < points * len(receivers):
                return None
            if given is not None and any(given[giver, r] + points > cap for r in receivers):
                return None
            posted = books.post(
                LedgerTransaction.Kind.GIVE if peer else LedgerTransaction.Kind.SPOT_AWARD,
                [(source, -points * len(receivers))]
                + [(books.wallet[receiver], points) for receiver in receivers],
                at,
                by=user_of[giver],
                memo=f"Recognition from {names[giver]}",
            )
            if given is not None:
                for receiver in receivers:
                    given[giver, receiver] += points
        pk = recognition_ids.take()
        visibility = (
            Recognition.Visibility.TEAM
            if kind == Recognition.Kind.PEER and rng.random() < 0.15
            else Recognition.Visibility.ORGANISATION
        )
        recognitions.add(
            pk,
            kind,
            giver,
            team_of[giver],
            message or _message(rng),
            visibility,
            points,
            posted,
            at,
            None,
            None,
            "",
            at,
            at,
        )
        for receiver in receivers:
            receivers_rows.add(pk, receiver, team_of[receiver])
        tags = rng.choices(values, weights=value_weights, k=rng.choice([1, 1, 2]))
        for value in sorted(set(tags)):
            tagged.add(pk, value)
        audience = by_team[team_of[receivers[0]]] + by_team[team_of[giver]]
        reactors = set(audience)
        count = min(len(reactors), _poisson(rng, profile.reactions_per_recognition))
        for reactor in rng.sample(sorted(reactors), count):
            reactions.add(
                pk, reactor, rng.choice(REACTIONS), at + dt.timedelta(minutes=rng.randint(1, 600))
            )
        return pk

    def exception(person: int, at: dt.datetime) -> None:
        what, why = rng.choice(EXCEPTIONS)
        policy = rng.choice(org.policies)
        customer = f"CUST-{rng.randint(1, 40_000):06d}"
        interaction = f"TKT-{rng.randint(100000, 999999)}" if rng.random() < 0.7 else ""
        cost = Decimal(rng.randint(500, 15000)) / 100
        reviewer = manager_of_team.get(team_of[person])  # type: ignore[arg-type]
        reviewed_at: dt.datetime | None = at + dt.timedelta(
            days=rng.randint(1, 6), hours=rng.randint(0, 8)
        )
        status, note, points, reward, story = PolicyException.Status.PENDING, "", 0, None, None
        if reviewer is None or reviewer == person or reviewed_at is None or reviewed_at > now:
            reviewer, reviewed_at = None, None
        else:
            roll = rng.random()
            if roll < 0.6:
                status = PolicyException.Status.APPROVED
                note = rng.choice(
                    [
                        "Exactly the judgement we want. Thank you.",
                        "Good call — the customer stayed with us.",
                        "Right thing to do; let's look at changing this rule.",
                    ]
                )
                points = rng.choice([0, 0, 20, 30, 40, 50])
                budget = books.budget.get(reviewer)
                if points and budget is not None and books.balance[budget] >= points:
                    reward = books.post(
                        LedgerTransaction.Kind.EXCEPTION_REWARD,
                        [(budget, -points), (books.wallet[person], points)],
                        reviewed_at,
                        by=user_of[reviewer],
                        memo="Reward for a policy exception",
                    )
                    if rng.random() < 0.5:
                        story = recognise(
                            reviewer,
                            [person],
                            reviewed_at,
                            points,
                            kind=Recognition.Kind.STORY,
                            message=note,
                            posted=reward,
                        )
                else:
                    points = 0
            elif roll < 0.85:
                status = PolicyException.Status.APPROVED_WITH_COACHING
                note = "Fine this time. Next time, try a voucher before a full refund."
            else:
                status = PolicyException.Status.DECLINED
                note = (
                    "I see why you did it, but this one cost more than it saved. "
                    "Let's talk it through."
                )
        exceptions.add(
            person,
            team_of[person],
            policy.pk,
            customer,
            interaction,
            timezone.localdate(at),
            what,
            why,
            cost,
            settings.CXC_RECOGNITION_CURRENCY,
            status,
            reviewer,
            note,
            points,
            reward,
            story,
            at,
            reviewed_at,
            reviewed_at or at,
        )

    def redeem(person: int, at: dt.datetime) -> None:
        wallet = books.wallet[person]
        affordable = [r for r in reward_rows if r[2] <= books.balance[wallet] and stock[r[0]] != 0]
        if not affordable:
            return
        reward_pk, reward_name, cost = rng.choice(affordable)
        posted = books.post(
            LedgerTransaction.Kind.REDEMPTION,
            [(wallet, -cost), (books.sink, cost)],
            at,
            by=user_of[person],
            memo=f"Redeemed {reward_name}",
        )
        left = stock[reward_pk]
        if left is not None:
            stock[reward_pk] = left - 1
        age = now - at
        decided = at + dt.timedelta(days=rng.randint(1, 3))
        roll = rng.random()
        status, refund, note = Redemption.Status.PENDING, None, ""
        decided_by, decided_at, fulfilled_at = None, None, None
        if age >= dt.timedelta(days=2):
            decided_by, decided_at = hr_user, decided
            if roll < 0.1:
                status = Redemption.Status.REJECTED
                note = "Sorry — this one is no longer available; your points are back."
                refund = books.post(
                    LedgerTransaction.Kind.REFUND,
                    [(books.sink, -cost), (wallet, cost)],
                    decided,
                    by=hr_user,
                    memo="Refund of a redemption",
                )
                left = stock[reward_pk]
                if left is not None:
                    stock[reward_pk] = left + 1
            elif age < dt.timedelta(days=10) or roll < 0.2:
                status = Redemption.Status.APPROVED
            else:
                status = Redemption.Status.FULFILLED
                fulfilled_at = decided + dt.timedelta(days=rng.randint(1, 5))
        redemptions.add(
            person,
            reward_pk,
            cost,
            status,
            posted,
            refund,
            note,
            decided_by,
            decided_at,
            fulfilled_at,
            at,
            decided_at or at,
        )

    front_line = {p.pk for p in people if p.is_front_line}
    months = _month_starts(today)
    for index, start in enumerate(months):
        months_back = len(months) - 1 - index
        end = months[index + 1] if index + 1 < len(months) else today + dt.timedelta(days=1)
        opening = dt.datetime.combine(start, dt.time(0, 5), tz)
        # The 1st: a team at a time, as the reset task's batches do.
        for members in by_team.values():
            allowances = [books.allowance[pk] for pk in members]
            unspent = [(a, -books.balance[a]) for a in allowances if books.balance[a] > 0]
            books.post(
                LedgerTransaction.Kind.ALLOWANCE_EXPIRY,
                [*unspent, (books.pool, -sum(n for _, n in unspent))],
                opening,
                memo=f"Unspent allowance for {start - dt.timedelta(days=1):%B %Y} expired",
            )
            books.post(
                LedgerTransaction.Kind.ALLOWANCE_GRANT,
                [*((a, monthly) for a in allowances), (books.pool, -monthly * len(allowances))],
                opening,
                memo=f"Giving allowance for {start:%B %Y}",
            )
        for manager in manager_pks:
            budget = books.budget[manager]
            top_up = MANAGER_BUDGET - books.balance[budget]
            books.post(
                LedgerTransaction.Kind.BUDGET_GRANT,
                [(budget, top_up), (books.pool, -top_up)],
                opening,
                by=hr_user,
                memo=f"Reward budget for {start:%B %Y}",
            )

        events: list[tuple[dt.datetime, int, int, int]] = []
        for pk in everyone:
            culture = health(pk, months_back)
            for _ in range(_poisson(rng, rate * (0.3 + 2.6 * culture))):
                events.append((moment(start, end), 0, pk, 0))
            if pk in front_line and rng.random() < 0.06 + 0.22 * culture:
                events.append((moment(start, end), 1, pk, 0))
            if rng.random() < 0.18:
                events.append((moment(start, end), 2, pk, 0))
        for team_id, manager in manager_of_team.items():
            team = [pk for pk in by_team[team_id] if pk != manager]
            for _ in range(rng.randint(0, 2)):
                if team:
                    events.append((moment(start, end), 3, manager, rng.choice(team)))
        events.sort()

        given: dict[tuple[int, int], int] = defaultdict(int)
        for at, kind, actor, other in events:
            if kind == 0:
                receivers = pick_receivers(actor)
                if not receivers:
                    continue
                points = rng.choices([0, 5, 10, 15, 20, 25], weights=[25, 15, 25, 15, 12, 8])[0]
                if recognise(actor, receivers, at, points, given=given) is None:
                    recognise(actor, receivers, at, 0)
            elif kind == 1:
                exception(actor, at)
            elif kind == 2:
                redeem(actor, at)
            else:
                recognise(
                    actor,
                    [other],
                    at,
                    rng.choice([20, 25, 30, 40, 50]),
                    kind=Recognition.Kind.SPOT_AWARD,
                    message=f"Spot award: {_message(rng)}",
                )

    books.write(today.replace(day=1), now)
    for rows in (recognitions, receivers_rows, tagged, reactions, redemptions, exceptions):
        rows.flush()
    recognition_ids.sync()
    for reward in rewards:
        reward.stock = stock[reward.pk]
    Reward.objects.bulk_update(rewards, ["stock"])
    budgets = Rows(
        ManagerBudget, ["manager_id", "monthly_points", "updated_by_id", "created_at", "updated_at"]
    )
    for manager in manager_pks:
        budgets.add(manager, MANAGER_BUDGET, hr_user, now, now)
    budgets.flush()
    analyze(Account, LedgerTransaction, LedgerEntry, Recognition, RecognitionReceiver, Reaction)
    analyze(Recognition.values.through, Redemption, PolicyException)
