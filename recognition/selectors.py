"""Reads of recognition, points, rewards and exceptions, scoped to the viewer.

- The feed: organisation-visible recognitions for everyone signed in; team-visible ones for the
  giver's and receivers' teams (as they were when it was given), the people involved, the
  managers of those teams' subtrees, and HR admins (who moderate).
- Points: everyone sees their own balances and entries; HR admins every entry.
- Redemptions: one's own; HR admins all.
- Policy exceptions: one's own, those of the subtrees one manages; HR admins all.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from cxculture.people.models import CompanyValue, Employee, Policy, Team
from cxculture.people.permissions import Viewer

from . import ledger
from .models import (
    Account,
    LedgerEntry,
    LedgerTransaction,
    ManagerBudget,
    PolicyException,
    Reaction,
    Recognition,
    RecognitionQuerySet,
    RecognitionReceiver,
    Redemption,
    Reward,
)

# --- The feed ------------------------------------------------------------------------------------


def _receivers_in(**lookup) -> QuerySet:
    return RecognitionReceiver.objects.filter(**lookup).values("recognition_id")


def recognitions_for_viewer(viewer: Viewer) -> RecognitionQuerySet:
    """Every recognition the viewer may see (reversed ones included), with what a card shows."""
    if not viewer.is_authenticated:
        return Recognition.objects.none()
    receivers = Prefetch(
        "receiver_links",
        queryset=RecognitionReceiver.objects.select_related("employee__user", "team").order_by(
            "id"
        ),
    )
    base = Recognition.objects.select_related("giver__user", "giver_team").prefetch_related(
        receivers, "values"
    )
    if viewer.is_hr_admin:
        return base
    scope = Q(visibility=Recognition.Visibility.ORGANISATION)
    if viewer.employee is not None:
        scope |= Q(giver_id=viewer.employee.pk) | Q(
            pk__in=_receivers_in(employee_id=viewer.employee.pk)
        )
    if viewer.team_id is not None:
        scope |= Q(giver_team_id=viewer.team_id) | Q(pk__in=_receivers_in(team_id=viewer.team_id))
    for path in viewer.managed_paths:
        scope |= Q(giver_team__path__startswith=path) | Q(
            pk__in=_receivers_in(team__path__startswith=path)
        )
    return base.filter(scope)


def involving_team(feed: QuerySet[Recognition], team: Team) -> QuerySet[Recognition]:
    """Recognitions given or received within `team`'s subtree."""
    return feed.filter(
        Q(giver_team__path__startswith=team.path)
        | Q(pk__in=_receivers_in(team__path__startswith=team.path))
    )


def tagged_with(feed: QuerySet[Recognition], value_id: int) -> QuerySet[Recognition]:
    tagged = Recognition.values.through.objects.filter(companyvalue_id=value_id)
    return feed.filter(pk__in=tagged.values("recognition_id"))


def involving_person(feed: QuerySet[Recognition], person_id: int) -> QuerySet[Recognition]:
    return feed.filter(Q(giver_id=person_id) | Q(pk__in=_receivers_in(employee_id=person_id)))


def feed_for_viewer(
    viewer: Viewer,
    *,
    team: Team | None = None,
    value_id: int | None = None,
    person_id: int | None = None,
) -> QuerySet[Recognition]:
    """The recognition feed (newest first, reversed ones left out), optionally narrowed to a
    team's subtree, a company value or a person (giver or receiver)."""
    feed: QuerySet[Recognition] = recognitions_for_viewer(viewer).active()
    if team is not None:
        feed = involving_team(feed, team)
    if value_id is not None:
        feed = tagged_with(feed, value_id)
    if person_id is not None:
        feed = involving_person(feed, person_id)
    return feed.order_by("-created_at", "-id")


@dataclass(frozen=True)
class GivePerson:
    """A person in a give, as the give checks them (active, team) and its card shows them."""

    id: int
    user_id: int
    name: str
    is_active: bool
    team_id: int | None
    team_path: str | None
    team_name: str | None


@dataclass(frozen=True)
class GiveValue:
    """A company value tagged on a give."""

    id: int
    name: str
    slug: str
    position: int
    is_active: bool


@dataclass(frozen=True)
class GiveParties:
    """What `give_parties` found: the giver (None outside the directory), the people found by
    id (any of the asked ids may be missing) and the values found by id."""

    giver: GivePerson | None
    people: dict[int, GivePerson]
    values: dict[int, GiveValue]


def give_person_of(employee: Employee) -> GivePerson:
    """A person already in hand as a model (a form's choice), as a give takes them; reads their
    user and team unless loaded with them."""
    team = employee.team
    return GivePerson(
        id=employee.pk,
        user_id=employee.user_id,
        name=employee.display_name,
        is_active=employee.is_active,
        team_id=employee.team_id,
        team_path=team.path if team is not None else None,
        team_name=team.name if team is not None else None,
    )


def give_value_of(value: CompanyValue) -> GiveValue:
    """A value already in hand as a model (a form's choice), as a give takes it."""
    return GiveValue(
        id=value.pk,
        name=value.name,
        slug=value.slug,
        position=value.position,
        is_active=value.is_active,
    )


def _display_name(first_name: str, last_name: str, username: str) -> str:
    """`Employee.display_name` from the user's columns: the full name, else the username."""
    return f"{first_name} {last_name}".strip() or username


def give_parties(
    *, user_id: int, receiver_ids: Sequence[int], value_ids: Sequence[int]
) -> GiveParties:
    """Everything a give needs of its people and values, in one statement: the employee of
    `user_id`, the receivers by id (with their user's name and their team) and the values by
    id. Plain rows rather than model instances: a give is the hottest write, and building a
    dozen model instances cost it more than the database did."""
    employee, user, team, value = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (Employee, User, Team, CompanyValue)
    )
    people = ", ".join(["%s"] * len(receiver_ids)) or "NULL"
    values = ", ".join(["%s"] * len(value_ids)) or "NULL"
    sql = (
        # The tables' names come from the models; the ids are parameters.
        "SELECT 1, e.id, e.user_id, e.is_active, e.team_id, t.path, t.name, "  # noqa: S608
        "u.first_name, u.last_name, u.username "
        f"FROM {employee} e JOIN {user} u ON u.id = e.user_id "
        f"LEFT JOIN {team} t ON t.id = e.team_id "
        f"WHERE e.id IN ({people}) OR e.user_id = %s "
        "UNION ALL "
        "SELECT 2, v.id, v.position, v.is_active, NULL, v.slug, v.name, NULL, NULL, NULL "
        f"FROM {value} v WHERE v.id IN ({values})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*receiver_ids, user_id, *value_ids])
        rows = cursor.fetchall()
    found: dict[int, GivePerson] = {}
    tagged: dict[int, GiveValue] = {}
    giver = None
    for kind, pk, number, active, team_id, text, name, first, last, username in rows:
        if kind == 1:
            person = GivePerson(
                id=pk,
                user_id=number,
                name=_display_name(first, last, username),
                is_active=bool(active),
                team_id=team_id,
                team_path=text,
                team_name=name,
            )
            if person.user_id == user_id:
                giver = person
            found[pk] = person
        else:
            tagged[pk] = GiveValue(
                id=pk, name=name, slug=text, position=number, is_active=bool(active)
            )
    return GiveParties(giver=giver, people=found, values=tagged)


@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str


@dataclass(frozen=True)
class ReceiverRef:
    id: int
    name: str
    team_name: str | None


@dataclass(frozen=True)
class ValueRef:
    id: int
    name: str
    slug: str


@dataclass(frozen=True)
class ReactionCount:
    emoji: str
    count: int
    mine: bool


def reaction_summaries(
    recognition_ids: list[int], viewer: Viewer
) -> dict[int, list[ReactionCount]]:
    """Reaction counts per recognition for a page of the feed, in one query."""
    if not recognition_ids:
        return {}
    me = viewer.employee.pk if viewer.employee else None
    rows = (
        Reaction.objects.filter(recognition_id__in=recognition_ids)
        .values("recognition_id", "emoji")
        .annotate(count=Count("id"), mine=Count("id", filter=Q(employee_id=me)))
        .order_by("recognition_id", "emoji")
    )
    order = {emoji: index for index, emoji in enumerate(Reaction.EMOJI)}
    summaries: dict[int, list[ReactionCount]] = defaultdict(list)
    for row in rows:
        summaries[row["recognition_id"]].append(
            ReactionCount(emoji=row["emoji"], count=row["count"], mine=row["mine"] > 0)
        )
    for items in summaries.values():
        items.sort(key=lambda item: order.get(item.emoji, 99))
    return dict(summaries)


@dataclass(frozen=True)
class RecognitionCard:
    """One recognition as the API shows it: who gave it (and their team then), who received
    it (and their teams then), the values, and the reactions so far."""

    id: int
    kind: str
    giver: PersonRef
    giver_team_name: str | None
    receivers: tuple[ReceiverRef, ...]
    message: str
    values: tuple[ValueRef, ...]
    visibility: str
    points_per_receiver: int
    created_at: dt.datetime
    reversed_at: dt.datetime | None
    reversal_reason: str
    reactions: tuple[ReactionCount, ...]


def _value_refs(values: Iterable[CompanyValue]) -> tuple[ValueRef, ...]:
    ordered = sorted(values, key=lambda value: (value.position, value.name))
    return tuple(ValueRef(id=value.pk, name=value.name, slug=value.slug) for value in ordered)


def recognition_cards(recognitions: Iterable[Recognition], viewer: Viewer) -> list[RecognitionCard]:
    """Cards of recognitions read by `recognitions_for_viewer` (its related rows are loaded),
    with their reactions counted in one query."""
    recognitions = list(recognitions)
    reactions = reaction_summaries([recognition.pk for recognition in recognitions], viewer)
    return [
        RecognitionCard(
            id=recognition.pk,
            kind=recognition.kind,
            giver=PersonRef(id=recognition.giver_id, name=recognition.giver.display_name),
            giver_team_name=recognition.giver_team.name if recognition.giver_team else None,
            receivers=tuple(
                ReceiverRef(
                    id=link.employee_id,
                    name=link.employee.display_name,
                    team_name=link.team.name if link.team else None,
                )
                for link in recognition.receiver_links.all()
            ),
            message=recognition.message,
            values=_value_refs(recognition.values.all()),
            visibility=recognition.visibility,
            points_per_receiver=recognition.points_per_receiver,
            created_at=recognition.created_at,
            reversed_at=recognition.reversed_at,
            reversal_reason=recognition.reversal_reason,
            reactions=tuple(reactions.get(recognition.pk, ())),
        )
        for recognition in recognitions
    ]


def recognition_card_given(
    recognition: Recognition,
    *,
    giver: GivePerson,
    receivers: Sequence[GivePerson],
    values: Iterable[GiveValue],
) -> RecognitionCard:
    """The card of a recognition just given, from what its give had in hand (`give_parties`):
    the same card `recognition_cards` reads back, without reading it back. A new one has no
    reactions."""
    ordered = sorted(values, key=lambda value: (value.position, value.name))
    return RecognitionCard(
        id=recognition.pk,
        kind=recognition.kind,
        giver=PersonRef(id=giver.id, name=giver.name),
        giver_team_name=giver.team_name,
        receivers=tuple(
            ReceiverRef(id=receiver.id, name=receiver.name, team_name=receiver.team_name)
            for receiver in dict.fromkeys(receivers)
        ),
        message=recognition.message,
        values=tuple(ValueRef(id=value.id, name=value.name, slug=value.slug) for value in ordered),
        visibility=recognition.visibility,
        points_per_receiver=recognition.points_per_receiver,
        created_at=recognition.created_at,
        reversed_at=None,
        reversal_reason="",
        reactions=(),
    )


# --- Points --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balances:
    allowance: int
    wallet: int
    budget: int | None
    monthly_allowance: int
    allowance_resets_on: dt.date
    points_per_currency_unit: int
    currency: str

    @property
    def wallet_value(self) -> Decimal:
        return (Decimal(self.wallet) / self.points_per_currency_unit).quantize(Decimal("0.01"))


def balances_for(employee: Employee) -> Balances:
    """What the person can give, has received and (managers) can award, in one query.

    An allowance not yet reset for this month shows what it will be once reset (the reset
    happens on the first give of the month, or by the beat task on the 1st).
    """
    accounts = {a.kind: a for a in Account.objects.filter(employee=employee)}
    period = ledger.current_period()
    monthly = settings.CXC_RECOGNITION_MONTHLY_ALLOWANCE
    allowance = accounts.get(Account.Kind.ALLOWANCE)
    current = allowance is not None and allowance.period is not None and allowance.period >= period
    budget = accounts.get(Account.Kind.BUDGET)
    next_month = (period + dt.timedelta(days=32)).replace(day=1)
    return Balances(
        allowance=allowance.balance if current and allowance else monthly,
        wallet=accounts[Account.Kind.WALLET].balance if Account.Kind.WALLET in accounts else 0,
        budget=budget.balance if budget is not None else None,
        monthly_allowance=monthly,
        allowance_resets_on=next_month,
        points_per_currency_unit=settings.CXC_RECOGNITION_POINTS_PER_CURRENCY_UNIT,
        currency=settings.CXC_RECOGNITION_CURRENCY,
    )


def entries_for_viewer(viewer: Viewer, *, everyone: bool = False) -> QuerySet[LedgerEntry]:
    """The viewer's own ledger entries; with `everyone`, HR admins get every entry."""
    base = LedgerEntry.objects.select_related("transaction", "account__employee__user").order_by(
        "-id"
    )
    if everyone and viewer.is_hr_admin:
        return base
    if viewer.employee is None:
        return base.none()
    return base.filter(account__employee_id=viewer.employee.pk)


def _names(people: list[str]) -> str:
    return people[0] if len(people) == 1 else f"{', '.join(people[:-1])} and {people[-1]}"


def points_history(entries: list[LedgerEntry]) -> list[tuple[LedgerEntry, str]]:
    """Each of a person's ledger entries with what it means to them, in 0-3 queries.

    A recognition's points read from where the person stands: "You gave 10 points to Tom" on
    the giver's line, "From Erin" on a receiver's. Other movements read as their memo.
    """
    gifts = (LedgerTransaction.Kind.GIVE, LedgerTransaction.Kind.SPOT_AWARD)
    ids = [entry.transaction_id for entry in entries if entry.transaction.kind in gifts]
    recognitions = (
        {
            recognition.transaction_id: recognition
            for recognition in Recognition.objects.filter(transaction_id__in=ids)
            .select_related("giver__user")
            .prefetch_related(
                Prefetch("receivers", queryset=Employee.objects.select_related("user"))
            )
        }
        if ids
        else {}
    )
    lines = []
    for entry in entries:
        recognition = recognitions.get(entry.transaction_id)
        if recognition is None:
            lines.append((entry, entry.transaction.memo))
        elif entry.amount < 0:
            receivers = sorted(person.display_name for person in recognition.receivers.all())
            each = " each" if len(receivers) > 1 else ""
            points = recognition.points_per_receiver
            amount = f"{points} point{'' if points == 1 else 's'}{each}"
            lines.append((entry, f"You gave {amount} to {_names(receivers)}"))
        else:
            lines.append((entry, f"From {recognition.giver.display_name}"))
    return lines


def budgets_for_viewer(viewer: Viewer) -> QuerySet[ManagerBudget]:
    """Manager budgets with their current balance: HR admins all, managers their own."""
    base = ManagerBudget.objects.select_related("manager__user", "manager__team").annotate(
        balance=Coalesce(
            Account.objects.filter(
                kind=Account.Kind.BUDGET, employee_id=OuterRef("manager_id")
            ).values("balance")[:1],
            Value(0),
        )
    )
    if viewer.is_hr_admin:
        return base.order_by("manager__user__last_name", "manager__user__first_name")
    if viewer.employee is None:
        return base.none()
    return base.filter(manager_id=viewer.employee.pk)


def managers_with_budgets(viewer: Viewer) -> QuerySet[Employee]:
    """For HR: every active person who manages an active team, with `monthly_points` (None
    without a budget) and `balance` (the budget left), by surname; nothing for anyone else."""
    if not viewer.is_hr_admin:
        return Employee.objects.none()
    return (
        Employee.objects.filter(is_active=True, managed_teams__is_active=True)
        .distinct()
        .select_related("user", "team")
        .annotate(
            monthly_points=F("reward_budget__monthly_points"),
            balance=Coalesce(
                Account.objects.filter(kind=Account.Kind.BUDGET, employee_id=OuterRef("pk")).values(
                    "balance"
                )[:1],
                Value(0),
            ),
        )
        .order_by("user__last_name", "user__first_name", "pk")
    )


def ledger_problems() -> list[str]:
    """Check the books: every transaction sums to zero, no balance below zero (but the pool's),
    and every balance equals the sum of its entries. Empty when all is well."""
    problems = [
        f"transaction {row['transaction_id']} sums to {row['total']}"
        for row in LedgerEntry.objects.values("transaction_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
    ]
    problems += [
        f"transaction {pk} has no entries"
        for pk in LedgerTransaction.objects.filter(entries__isnull=True).values_list(
            "pk", flat=True
        )
    ]
    problems += [
        f"account {pk} ({kind}) is at {balance}"
        for pk, kind, balance in Account.objects.exclude(kind=Account.Kind.POOL)
        .filter(balance__lt=0)
        .values_list("pk", "kind", "balance")
    ]
    problems += [
        f"account {pk} balance {balance} != entries {total}"
        for pk, balance, total in Account.objects.annotate(
            total=Coalesce(Sum("entries__amount"), Value(0))
        )
        .exclude(balance=F("total"))
        .values_list("pk", "balance", "total")
    ]
    return problems


# --- Rewards and redemptions ---------------------------------------------------------------------


def rewards_for_viewer(viewer: Viewer) -> QuerySet[Reward]:
    if not viewer.is_authenticated:
        return Reward.objects.none()
    if viewer.is_hr_admin:
        return Reward.objects.all()
    return Reward.objects.filter(is_active=True)


def redemptions_for_viewer(viewer: Viewer) -> QuerySet[Redemption]:
    base = Redemption.objects.select_related("employee__user", "employee__team", "reward")
    if viewer.is_hr_admin:
        return base
    if viewer.employee is None:
        return base.none()
    return base.filter(employee_id=viewer.employee.pk)


def redemption_queue(viewer: Viewer, *, status: str | None) -> QuerySet[Redemption]:
    """HR's queue: the redemptions in `status` (every status for None), newest first."""
    queue = redemptions_for_viewer(viewer).order_by("-created_at", "-id")
    return queue.filter(status=status) if status else queue


def redemption_status_counts(viewer: Viewer) -> dict[str, int]:
    """How many redemptions the viewer sees in each status, in one query."""
    rows = (
        redemptions_for_viewer(viewer)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return dict.fromkeys(Redemption.Status.values, 0) | dict(rows)


# --- Policy exceptions ---------------------------------------------------------------------------


def exceptions_for_viewer(viewer: Viewer) -> QuerySet[PolicyException]:
    base = PolicyException.objects.select_related(
        "employee__user", "employee__team", "policy", "reviewer__user"
    )
    if viewer.is_hr_admin:
        return base
    if viewer.employee is None:
        return base.none()
    scope = Q(employee_id=viewer.employee.pk)
    if viewer.is_manager:
        scope |= viewer.subtree_q(prefix="employee__team__")
    return base.filter(scope)


def exception_review_queue(viewer: Viewer) -> QuerySet[PolicyException]:
    """Pending exceptions the viewer may review: their subtrees (HR: everyone), never their own."""
    if viewer.employee is None or not (viewer.is_manager or viewer.is_hr_admin):
        return PolicyException.objects.none()
    queue = exceptions_for_viewer(viewer).filter(status=PolicyException.Status.PENDING)
    if not viewer.is_hr_admin:
        queue = queue.filter(viewer.subtree_q(prefix="employee__team__"))
    return queue.exclude(employee_id=viewer.employee.pk).order_by("created_at", "id")


def exception_stats_by_policy(viewer: Viewer, *, since: dt.date | None = None) -> QuerySet[Policy]:
    """Per policy, over the exceptions in the viewer's scope (executives and HR: everyone's;
    managers: their subtrees'; others: their own): how often it was bent, the cost, and how the
    reviews went. Insights extends this with the outcomes of the customers who got a
    "yes" (joined by `exception_references`) to flag policies to revisit."""
    scoped: QuerySet[PolicyException]
    if viewer.sees_whole_organisation:
        scoped = PolicyException.objects.all()
    else:
        scoped = exceptions_for_viewer(viewer)
    if since is not None:
        scoped = scoped.filter(occurred_on__gte=since)
    ids = scoped.values("pk")
    mine = Q(exceptions__pk__in=ids)
    status = PolicyException.Status
    return (
        Policy.objects.annotate(
            exception_count=Count("exceptions", filter=mine),
            total_cost=Coalesce(
                Sum("exceptions__cost", filter=mine),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
            # Approved with or without coaching, as on the insights pages; `coached` is the part
            # of those with coaching notes.
            approved=Count(
                "exceptions",
                filter=mine & Q(exceptions__status__in=PolicyException.APPROVED_STATUSES),
            ),
            coached=Count(
                "exceptions", filter=mine & Q(exceptions__status=status.APPROVED_WITH_COACHING)
            ),
            declined=Count("exceptions", filter=mine & Q(exceptions__status=status.DECLINED)),
            pending=Count("exceptions", filter=mine & Q(exceptions__status=status.PENDING)),
            reward_points=Coalesce(Sum("exceptions__reward_points", filter=mine), Value(0)),
        )
        .filter(Q(is_active=True) | Q(exception_count__gt=0))
        .order_by("-exception_count", "name")
    )


def exception_references(
    viewer: Viewer, *, policy: Policy | None = None
) -> QuerySet[PolicyException]:
    """The customer and interaction references of the exceptions the viewer may see, for
    insights to join customer outcomes by reference (recognition never imports outcomes)."""
    refs = exceptions_for_viewer(viewer)
    if policy is not None:
        refs = refs.filter(policy=policy)
    return refs.only(
        "id", "policy_id", "team_id", "status", "customer_ref", "interaction_ref", "occurred_on"
    )


# --- Reach and anti-gaming -----------------------------------------------------------------------


def not_recognised_lately(viewer: Viewer, *, days: int | None = None) -> QuerySet[Employee]:
    """People in the viewer's subtrees (HR and executives: everyone) not recognised within
    `days`, longest-waiting first, with `last_recognised_at` (None if never). Reach, not a
    leaderboard: it names who is missed, never who is ahead."""
    days = days or settings.CXC_RECOGNITION_NOT_RECOGNISED_DAYS
    cutoff = timezone.now() - dt.timedelta(days=days)
    people = Employee.objects.filter(is_active=True).select_related("user", "team")
    if not viewer.sees_whole_organisation:
        if not viewer.is_manager:
            return people.none()
        people = people.filter(viewer.subtree_q(prefix="team__"))
        if viewer.employee is not None:
            people = people.exclude(pk=viewer.employee.pk)
    # One row per person (`LastRecognition`, kept by the give and reverse services), not their
    # every receipt: the cost follows the number of people, whatever the history.
    return (
        people.annotate(last_recognised_at=F("last_recognition__recognised_at"))
        .filter(Q(last_recognised_at__isnull=True) | Q(last_recognised_at__lt=cutoff))
        .order_by(F("last_recognised_at").asc(nulls_first=True), "user__last_name", "id")
    )


@dataclass(frozen=True)
class ReciprocalPair:
    first: Employee
    second: Employee
    first_to_second: int
    second_to_first: int


def reciprocal_pairs(
    viewer: Viewer, *, days: int | None = None, min_points: int | None = None
) -> list[ReciprocalPair]:
    """Pairs who each gave the other at least `min_points` allowance points within `days`: a
    pattern worth a look (trading points), listed for HR admins, not blocked."""
    if not viewer.is_hr_admin:
        return []
    days = days or settings.CXC_RECOGNITION_RECIPROCAL_DAYS
    min_points = min_points or settings.CXC_RECOGNITION_RECIPROCAL_MIN_POINTS
    since = timezone.now() - dt.timedelta(days=days)
    flows = (
        RecognitionReceiver.objects.filter(
            recognition__created_at__gte=since,
            recognition__reversed_at__isnull=True,
            recognition__kind=Recognition.Kind.PEER,
            recognition__points_per_receiver__gt=0,
        )
        .values("recognition__giver_id", "employee_id")
        .annotate(points=Sum("recognition__points_per_receiver"))
        .filter(points__gte=min_points)
    )
    given = {(row["recognition__giver_id"], row["employee_id"]): row["points"] for row in flows}
    pairs = sorted({tuple(sorted(key)) for key in given if (key[1], key[0]) in given})
    people = Employee.objects.select_related("user", "team").in_bulk(
        {pk for pair in pairs for pk in pair}
    )
    return [ReciprocalPair(people[a], people[b], given[(a, b)], given[(b, a)]) for a, b in pairs]


# --- Home page -----------------------------------------------------------------------------------


def recognition_counts_for(employee: Employee, *, since: dt.datetime) -> dict[str, int]:
    """How many recognitions the person received and gave since `since` (reversed ones left
    out), in two counting queries."""
    received = RecognitionReceiver.objects.filter(
        employee=employee,
        recognition__created_at__gte=since,
        recognition__reversed_at__isnull=True,
    ).count()
    given = Recognition.objects.active().filter(giver=employee, created_at__gte=since).count()
    return {"received": received, "given": given}


def latest_received_by(employee: Employee, *, limit: int = 3) -> list[Recognition]:
    """The person's newest recognitions received (they may always see those), with the giver;
    one query."""
    return list(
        Recognition.objects.active()
        .filter(pk__in=_receivers_in(employee_id=employee.pk))
        .select_related("giver__user")
        .order_by("-created_at", "-id")[:limit]
    )
