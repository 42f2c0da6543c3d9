"""Every write of recognition: giving, reversing, reactions, rewards, redemptions, budgets and
policy exceptions. Points move only through `recognition.ledger`."""

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from cxculture.audit.services import audit_record
from cxculture.lib.errors import ConflictError, DomainError
from cxculture.people.models import CompanyValue, Employee, Policy
from cxculture.people.permissions import Viewer

from . import ledger, rollups
from .models import (
    Account,
    LastRecognition,
    LedgerTransaction,
    ManagerBudget,
    PolicyException,
    Reaction,
    Recognition,
    RecognitionReceiver,
    Redemption,
    Reward,
)
from .permissions import Forbidden, may_review_exception
from .selectors import GivePerson, GiveValue

MAX_RECEIVERS = 20
MAX_VALUES = 3
MAX_MESSAGE = 2000


def _on_commit_notify(recognition_id: int) -> None:
    """With a broker, nothing: the new row is pending in the outbox (`notified_at` empty) and
    the beat's sweep notifies it, so the give pays no broker round trip. Without a broker (the
    demo, the SQLite tests) there is no beat either, so it is notified at commit, by the same
    function the sweep calls for each recognition."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from . import notifications

    transaction.on_commit(
        lambda: notifications.recognition_given_notify(recognition_id=recognition_id),
        robust=True,
    )


def _on_commit_announce(recognition_id: int) -> None:
    from .tasks import recognition_announce_task

    transaction.on_commit(lambda: recognition_announce_task.delay(recognition_id), robust=True)


def receiver_cap() -> int:
    """The most points one giver may give one person in a month from their allowance."""
    share = settings.CXC_RECOGNITION_RECEIVER_CAP_SHARE
    return math.floor(settings.CXC_RECOGNITION_MONTHLY_ALLOWANCE * share)


def given_this_month(giver_id: int, receiver_ids: Sequence[int]) -> dict[int, int]:
    """Points `giver` gave each receiver from their allowance this month (reversals excluded)."""
    since = ledger.period_start_at(ledger.current_period())
    rows = (
        RecognitionReceiver.objects.filter(
            employee_id__in=receiver_ids,
            recognition__giver_id=giver_id,
            recognition__kind=Recognition.Kind.PEER,
            recognition__created_at__gte=since,
            recognition__reversed_at__isnull=True,
        )
        .values("employee_id")
        .annotate(points=Sum("recognition__points_per_receiver"))
    )
    return {row["employee_id"]: row["points"] or 0 for row in rows}


def _clean_message(message: str) -> str:
    message = message.strip()
    if not message:
        raise DomainError("Say what they did.", field="message")
    if len(message) > MAX_MESSAGE:
        raise DomainError(f"Keep it under {MAX_MESSAGE} characters.", field="message")
    return message


# --- Recognition ---------------------------------------------------------------------------------


def recognition_give(
    *,
    giver: GivePerson,
    receivers: Sequence[GivePerson],
    message: str,
    values: Sequence[GiveValue],
    points_per_receiver: int = 0,
    visibility: str = Recognition.Visibility.ORGANISATION,
    spot_award: bool = False,
    managed_paths: Sequence[str] = (),
) -> Recognition:
    """Recognise colleagues, optionally with points from the giver's allowance.

    A spot award (`spot_award=True`) takes the points from the giver's reward budget instead
    and may go only to people in the subtrees they manage (`managed_paths`). Anti-gaming: nobody
    recognises themselves, and allowance points to one person are capped per month.

    The people and values are as `selectors.give_parties` reads them (one statement).
    """
    message = _clean_message(message)
    unique = {person.id: person for person in receivers}
    if not unique:
        raise DomainError("Choose who you are recognising.", field="receivers")
    if len(unique) > MAX_RECEIVERS:
        raise DomainError(f"Recognise at most {MAX_RECEIVERS} people at once.", field="receivers")
    if giver.id in unique:
        raise DomainError(
            "You cannot recognise yourself.", code="self_recognition", field="receivers"
        )
    if not giver.is_active or any(not e.is_active for e in unique.values()):
        raise DomainError("Only active colleagues can be recognised.", field="receivers")
    if visibility not in Recognition.Visibility.values:
        raise DomainError("Choose who can see it.", field="visibility")
    values = list({value.id: value for value in values}.values())
    if any(not value.is_active for value in values):
        raise DomainError("That value is no longer in use.", field="values")
    if not 1 <= len(values) <= MAX_VALUES:
        raise DomainError(f"Tag 1 to {MAX_VALUES} company values.", field="values")
    if points_per_receiver < 0:
        raise DomainError("Points cannot be negative.", field="points_per_receiver")
    if spot_award:
        if points_per_receiver <= 0:
            raise DomainError("A spot award needs points.", field="points_per_receiver")
        outside = [
            e
            for e in unique.values()
            if not (e.team_path is not None and e.team_path.startswith(tuple(managed_paths)))
        ]
        if not managed_paths or outside:
            raise Forbidden("Spot awards go to people in the teams you manage.")

    unique_receivers = list(unique.values())
    written: Recognition | None = None
    if points_per_receiver and not spot_award and connection.vendor == "postgresql":
        # One statement that also counts the give in the daily rollups (migrations 0004, 0006):
        # outside a transaction it is its own, so it needs no BEGIN and COMMIT round trips.
        written = _give_from_allowance_in_one_statement(
            giver=giver,
            receivers=unique_receivers,
            values=values,
            message=message,
            visibility=visibility,
            points=points_per_receiver,
        )
    if written is None:
        with transaction.atomic():
            written = _give_the_long_way(
                giver=giver,
                receivers=unique_receivers,
                values=values,
                message=message,
                visibility=visibility,
                points=points_per_receiver,
                spot_award=spot_award,
            )
            # Counted in the dashboards' daily rollups in the same transaction, after the rows
            # (a reversal's recount waits for gives that already wrote cells; see rollups).
            rollups.recognition_rollups_add(
                recognition=written,
                receiver_teams=[(e.team_id, e.team_path) for e in unique_receivers],
                value_ids=[value.id for value in values],
            )
    # After the commit: at once outside a transaction.
    _on_commit_notify(written.pk)
    return written


def _give_the_long_way(
    *,
    giver: GivePerson,
    receivers: list[GivePerson],
    values: list[GiveValue],
    message: str,
    visibility: str,
    points: int,
    spot_award: bool,
) -> Recognition:
    """Every kind of give, through the ledger's Python path (and every give on SQLite); inside
    `recognition_give`'s transaction."""
    transaction_: LedgerTransaction | None = None
    if points:
        transaction_ = _move_recognition_points(
            giver=giver, receivers=receivers, points=points, spot_award=spot_award
        )
    recognition = Recognition.objects.create(
        kind=Recognition.Kind.SPOT_AWARD if spot_award else Recognition.Kind.PEER,
        giver_id=giver.id,
        giver_team_id=giver.team_id,
        message=message,
        visibility=visibility,
        points_per_receiver=points,
        transaction=transaction_,
    )
    RecognitionReceiver.objects.bulk_create(
        RecognitionReceiver(recognition=recognition, employee_id=e.id, team_id=e.team_id)
        for e in receivers
    )
    # A new recognition has no values yet: insert the links (`set` would read them first).
    Recognition.values.through.objects.bulk_create(
        Recognition.values.through(recognition=recognition, companyvalue_id=value.id)
        for value in values
    )
    last_recognitions_record(employee_ids=[e.id for e in receivers], at=recognition.created_at)
    return recognition


def _give_from_allowance_in_one_statement(
    *,
    giver: GivePerson,
    receivers: list[GivePerson],
    values: list[GiveValue],
    message: str,
    visibility: str,
    points: int,
) -> Recognition | None:
    """A peer give with points, as one call of the PostgreSQL function
    `recognition_give_from_allowance` (migrations 0004 and 0006): the same locks, checks and
    rows as the long way, then the give's cells in the daily rollups, in one round trip and
    (outside a transaction) one transaction of its own.

    None when the long way must run instead (a missing account, or the month's allowance not
    granted yet); refusals raise the long way's errors, and nothing is written then.
    """
    now = timezone.now()
    period = ledger.current_period()
    memo = f"Recognition from {giver.name}"
    cells = rollups.recognition_cell_rows(
        created_at=now,
        giver_id=giver.id,
        giver_team_id=giver.team_id,
        receiver_teams=[(e.team_id, e.team_path) for e in receivers],
        value_ids=[value.id for value in values],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT outcome, recognition, posted, detail FROM recognition_give_from_allowance("
            "%s::bigint, %s::bigint, %s::integer, %s::bigint[], %s::bigint[], %s::bigint[], "
            "%s::bigint, %s::bigint, %s::date, %s::timestamptz, %s::timestamptz, %s::text, "
            "%s::text, %s::text, "
            "%s::text[], %s::date[], %s::integer[], %s::integer[], "
            "%s::text[], %s::bigint[], %s::date[], %s::integer[], "
            "%s::bigint[], %s::date[], %s::integer[])",
            [
                giver.id,
                giver.team_id,
                giver.user_id,
                [e.id for e in receivers],
                [e.team_id for e in receivers],
                [value.id for value in values],
                points,
                receiver_cap(),
                period,
                ledger.period_start_at(period),
                now,
                message,
                visibility,
                memo,
                # The rollup rows, one array per column (rollups.RecognitionCellRows).
                *_columns(cells.days, 4),
                *_columns(cells.values, 4),
                *_columns(cells.givers, 3),
            ],
        )
        outcome, recognition_id, transaction_id, detail = cursor.fetchone()
    if outcome == "stale":
        return None
    if outcome == "cap":
        receiver_id, already = detail
        receiver = next(e for e in receivers if e.id == receiver_id)
        raise _cap_reached(receiver, already)
    if outcome == "short":
        allowance = Account(kind=Account.Kind.ALLOWANCE, employee_id=giver.id)
        raise ledger.InsufficientPoints(
            ledger.shortfall(allowance, detail[0], points * len(receivers))
        )
    # The row the function wrote, as written (it returns its id): the caller shows it without
    # reading it back.
    return Recognition(
        pk=recognition_id,
        kind=Recognition.Kind.PEER,
        giver_id=giver.id,
        giver_team_id=giver.team_id,
        message=message,
        visibility=visibility,
        points_per_receiver=points,
        transaction_id=transaction_id,
        created_at=now,
    )


def _columns(rows: Sequence[tuple], width: int) -> list[list]:
    """Rows as one list per column, in the rows' order (`width` columns, also when empty)."""
    return [[row[n] for row in rows] for n in range(width)]


def _cap_reached(receiver: GivePerson, already: int) -> DomainError:
    cap = receiver_cap()
    left = max(0, cap - already)
    return DomainError(
        f"You can give {receiver.name} at most {cap} points a month "
        f"from your allowance ({left} left this month).",
        code="receiver_cap",
        field="points_per_receiver",
    )


def _move_recognition_points(
    *, giver: GivePerson, receivers: list[GivePerson], points: int, spot_award: bool
) -> LedgerTransaction:
    source_kind = Account.Kind.BUDGET if spot_award else Account.Kind.ALLOWANCE
    # Every employee-account lock first, in one statement (ledger rule 3): the allowance reset
    # below and the give both post, and the cap is read under the giver's lock so gives cannot
    # race past it.
    locked = ledger.accounts_lock_for(
        [(source_kind, giver.id), *((Account.Kind.WALLET, e.id) for e in receivers)]
    )
    source = locked[(source_kind, giver.id)]
    wallets = [locked[(Account.Kind.WALLET, e.id)] for e in receivers]
    fresh: dict[int, Account] | None = {a.pk: a for a in locked.values()}
    if not spot_award:
        granted_for = source.period
        if granted_for is None or granted_for < ledger.current_period():
            ledger.allowances_reset(employee_ids=[giver.id])
            fresh = None  # the reset posted: ledger_post reads the balances again
        cap = receiver_cap()
        given = given_this_month(giver.id, [e.id for e in receivers])
        for receiver in receivers:
            already = given.get(receiver.id, 0)
            if already + points > cap:
                raise _cap_reached(receiver, already)
    kind = LedgerTransaction.Kind.SPOT_AWARD if spot_award else LedgerTransaction.Kind.GIVE
    return ledger.ledger_post(
        kind=kind,
        legs=[(source, -points * len(receivers)), *((wallet, points) for wallet in wallets)],
        created_by_id=giver.user_id,
        memo=f"{'Spot award' if spot_award else 'Recognition'} from {giver.name}",
        locked=fresh,
    )


@transaction.atomic
def recognition_reverse(*, recognition: Recognition, by: User, reason: str) -> Recognition:
    """Reverse a recognition (HR): its points go back with a reversing transaction; nothing is
    deleted, and it leaves the feed."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why it is reversed.", field="reason")
    recognition = Recognition.objects.select_for_update().get(pk=recognition.pk)
    if recognition.reversed_at is not None:
        raise ConflictError("This recognition has already been reversed.")
    if recognition.transaction_id is not None:
        original = LedgerTransaction.objects.get(pk=recognition.transaction_id)
        try:
            ledger.ledger_reverse(original=original, created_by=by, memo=f"Reversed: {reason}")
        except ledger.InsufficientPoints as exc:
            raise ledger.InsufficientPoints(
                "The points have already been spent, so this recognition cannot be reversed: "
                + exc.message
            ) from exc
    recognition.reversed_at = timezone.now()
    recognition.reversed_by = by
    recognition.reversal_reason = reason[:500]
    recognition.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    last_recognitions_rebuild(
        employee_ids=list(recognition.receiver_links.values_list("employee_id", flat=True))
    )
    day = rollups.day_of(recognition.created_at)
    rollups.recognition_rollups_rebuild(first=day, last=day)
    audit_record(actor=by, action="points_reversed", target=recognition, details={"reason": reason})
    return recognition


def last_recognitions_record(*, employee_ids: Sequence[int], at: dt.datetime) -> None:
    """Mark people as recognised at `at` (one upsert). A give is stamped with the time it is
    written, so the newest stamp wins; a concurrent give committing a moment earlier may leave
    the other's time, which no reach window can tell apart."""
    LastRecognition.objects.bulk_create(
        [LastRecognition(employee_id=pk, recognised_at=at) for pk in employee_ids],
        update_conflicts=True,
        unique_fields=["employee"],
        update_fields=["recognised_at"],
    )


@transaction.atomic
def last_recognitions_rebuild(*, employee_ids: Sequence[int] | None = None) -> int:
    """Recompute when people were last recognised from their receipts (all people when
    `employee_ids` is None): after a reversal, and for data written in bulk (the seeder).
    Returns how many people have been recognised."""
    receipts = RecognitionReceiver.objects.filter(recognition__reversed_at__isnull=True)
    stale = LastRecognition.objects.all()
    if employee_ids is not None:
        receipts = receipts.filter(employee_id__in=employee_ids)
        stale = stale.filter(employee_id__in=employee_ids)
    latest = receipts.values("employee_id").annotate(at=Max("recognition__created_at")).order_by()
    rows = [
        LastRecognition(employee_id=row["employee_id"], recognised_at=row["at"]) for row in latest
    ]
    stale.delete()
    LastRecognition.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def reaction_add(*, recognition: Recognition, employee: Employee, emoji: str) -> bool:
    """Add a reaction; return False when it was there already."""
    if emoji not in Reaction.EMOJI:
        raise DomainError(f"Choose one of {' '.join(Reaction.EMOJI)}.", field="emoji")
    try:
        with transaction.atomic():
            Reaction.objects.create(recognition=recognition, employee=employee, emoji=emoji)
    except IntegrityError:
        return False
    return True


def reaction_remove(*, recognition: Recognition, employee: Employee, emoji: str) -> bool:
    deleted, _ = Reaction.objects.filter(
        recognition=recognition, employee=employee, emoji=emoji
    ).delete()
    return bool(deleted)


# --- Rewards and redemptions ---------------------------------------------------------------------


@transaction.atomic
def reward_create(
    *,
    name: str,
    cost_points: int,
    description: str = "",
    stock: int | None = None,
    is_active: bool = True,
    actor: Any = None,
) -> Reward:
    """Add a reward to the catalogue; audited as `actor`'s (by default the request's user)."""
    if cost_points <= 0:
        raise DomainError("A reward costs at least one point.", field="cost_points")
    reward = Reward.objects.create(
        name=name,
        description=description,
        cost_points=cost_points,
        stock=stock,
        is_active=is_active,
    )
    audit_record(
        actor=actor,
        action="reward_created",
        target=reward,
        details={"name": name, "cost_points": cost_points, "stock": stock},
    )
    return reward


REWARD_FIELDS = ("name", "description", "cost_points", "stock", "is_active")


@transaction.atomic
def reward_update(*, reward: Reward, actor: Any = None, **changes: Any) -> Reward:
    """Change a reward, retire it (`is_active` false) or bring it back. Locks the reward row, so
    the stock written is never one a redemption took from meanwhile. The edit and a retirement
    are audited as `actor`'s (by default the request's user), with old and new values."""
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    before = {name: getattr(reward, name) for name in REWARD_FIELDS}
    for name in REWARD_FIELDS:
        if name in changes:
            setattr(reward, name, changes[name])
    if reward.cost_points <= 0:
        raise DomainError("A reward costs at least one point.", field="cost_points")
    reward.save()
    edited = {
        name: [old, getattr(reward, name)]
        for name, old in before.items()
        if name != "is_active" and getattr(reward, name) != old
    }
    if edited:
        audit_record(
            actor=actor,
            action="reward_changed",
            target=reward,
            details={"name": before["name"], "changes": edited},
        )
    if reward.is_active != before["is_active"]:
        audit_record(
            actor=actor,
            action="reward_restored" if reward.is_active else "reward_retired",
            target=reward,
            details={"name": reward.name},
        )
    return reward


@transaction.atomic
def reward_delete(*, reward: Reward, actor: Any = None) -> None:
    if reward.redemptions.exists():
        raise ConflictError("This reward has been redeemed; deactivate it instead.")
    audit_record(actor=actor, action="reward_deleted", target=reward, details={"name": reward.name})
    reward.delete()


@transaction.atomic
def redemption_request(*, employee: Employee, reward: Reward) -> Redemption:
    """Redeem a reward: the points leave the wallet now and one item leaves the stock.

    Lock order: the wallet, then the reward row (conditional stock update), then the company
    redemptions account (inside `ledger_post`).
    """
    wallet = ledger.account_for(Account.Kind.WALLET, employee)
    ledger.accounts_lock([wallet])
    reward = Reward.objects.get(pk=reward.pk)
    if not reward.is_active:
        raise ConflictError("This reward is no longer available.", code="reward_unavailable")
    # One statement decides, whatever the concurrency: a NULL stock (unlimited) stays NULL.
    taken = (
        Reward.objects.filter(pk=reward.pk, is_active=True)
        .filter(Q(stock__isnull=True) | Q(stock__gt=0))
        .update(stock=F("stock") - 1)
    )
    if not taken:
        raise ConflictError("This reward is out of stock.", code="out_of_stock")
    posted = ledger.ledger_post(
        kind=LedgerTransaction.Kind.REDEMPTION,
        legs=[
            (wallet, -reward.cost_points),
            (ledger.account_for(Account.Kind.REDEMPTIONS), reward.cost_points),
        ],
        created_by=employee.user,
        memo=f"Redeemed {reward.name}",
    )
    redemption = Redemption.objects.create(
        employee=employee, reward=reward, cost_points=reward.cost_points, transaction=posted
    )
    audit_record(
        actor=employee,
        action="redemption_requested",
        target=redemption,
        details={"points": reward.cost_points},
    )
    return redemption


OWN_REDEMPTION = "Someone else decides on your own redemptions."


def _locked_redemption(
    redemption: Redemption, allowed: Sequence[str], *, decided_by: User | None = None
) -> Redemption:
    """The redemption, locked, in one of the `allowed` states; refused (403) when `decided_by`
    is the person who asked for it: nobody approves or fulfils their own redemption."""
    locked = Redemption.objects.select_for_update().get(pk=redemption.pk)
    if (
        decided_by is not None
        and Employee.objects.filter(pk=locked.employee_id, user_id=decided_by.pk).exists()
    ):
        raise Forbidden(OWN_REDEMPTION)
    if locked.status not in allowed:
        raise ConflictError(f"This redemption is {locked.get_status_display().lower()}.")
    return locked


@transaction.atomic
def redemption_approve(*, redemption: Redemption, by: User, note: str = "") -> Redemption:
    redemption = _locked_redemption(redemption, [Redemption.Status.PENDING], decided_by=by)
    redemption.status = Redemption.Status.APPROVED
    redemption.decided_by, redemption.decided_at = by, timezone.now()
    redemption.note = note.strip()[:500] or redemption.note
    redemption.save()
    audit_record(actor=by, action="redemption_approved", target=redemption, details={})
    _on_commit_redemption_update(redemption.pk)
    return redemption


@transaction.atomic
def redemption_reject(*, redemption: Redemption, by: User, note: str) -> Redemption:
    """Reject a pending or approved (not yet fulfilled) redemption and refund its points."""
    note = note.strip()
    if not note:
        raise DomainError("Tell the person why.", field="note")
    redemption = _locked_redemption(
        redemption, [Redemption.Status.PENDING, Redemption.Status.APPROVED]
    )
    wallet = ledger.account_for(Account.Kind.WALLET, redemption.employee)
    ledger.accounts_lock([wallet])
    Reward.objects.filter(pk=redemption.reward_id).update(stock=F("stock") + 1)
    refund = ledger.ledger_post(
        kind=LedgerTransaction.Kind.REFUND,
        legs=[
            (ledger.account_for(Account.Kind.REDEMPTIONS), -redemption.cost_points),
            (wallet, redemption.cost_points),
        ],
        created_by=by,
        memo=f"Refund of redemption #{redemption.pk}",
    )
    redemption.status = Redemption.Status.REJECTED
    redemption.refund_transaction = refund
    redemption.decided_by, redemption.decided_at = by, timezone.now()
    redemption.note = note[:500]
    redemption.save()
    audit_record(actor=by, action="redemption_rejected", target=redemption, details={})
    _on_commit_redemption_update(redemption.pk)
    return redemption


@transaction.atomic
def redemption_fulfil(*, redemption: Redemption, by: User) -> Redemption:
    redemption = _locked_redemption(redemption, [Redemption.Status.APPROVED], decided_by=by)
    redemption.status = Redemption.Status.FULFILLED
    redemption.fulfilled_at = timezone.now()
    redemption.save()
    _on_commit_redemption_update(redemption.pk)
    return redemption


def _on_commit_redemption_update(redemption_id: int) -> None:
    from .tasks import redemption_update_notify_task

    transaction.on_commit(lambda: redemption_update_notify_task.delay(redemption_id), robust=True)


# --- Manager budgets -----------------------------------------------------------------------------


@transaction.atomic
def budget_set(*, manager: Employee, monthly_points: int, by: User) -> ManagerBudget:
    """Set a manager's monthly reward budget and top their budget up to it now."""
    if monthly_points < 0:
        raise DomainError("A budget cannot be negative.", field="monthly_points")
    if not manager.is_active or not manager.managed_teams.filter(is_active=True).exists():
        raise DomainError("Only people who manage a team get a reward budget.", field="manager")
    old = (
        ManagerBudget.objects.select_for_update()
        .filter(manager=manager)
        .values_list("monthly_points", flat=True)
        .first()
    )
    budget, _ = ManagerBudget.objects.update_or_create(
        manager=manager, defaults={"monthly_points": monthly_points, "updated_by": by}
    )
    ledger.budget_top_up(budget=budget, period=ledger.current_period(), created_by=by, force=True)
    if old != monthly_points:
        audit_record(
            actor=by,
            action="budget_set",
            target=manager,
            details={"from": old, "to": monthly_points},
        )
    return budget


@transaction.atomic
def budget_top_up(*, manager: Employee, by: User) -> int:
    """Top a manager's budget up to its monthly amount now, before the 1st comes round (say
    after a month of many spot awards); return the points granted (0 when already full)."""
    budget = ManagerBudget.objects.filter(manager=manager).first()
    if budget is None:
        raise DomainError(f"{manager.display_name} has no reward budget yet.", field="manager")
    granted = ledger.budget_top_up(
        budget=budget, period=ledger.current_period(), created_by=by, force=True
    )
    if granted:
        audit_record(
            actor=by, action="budget_topped_up", target=manager, details={"points": granted}
        )
    return granted


# --- Policy exceptions ---------------------------------------------------------------------------


@transaction.atomic
def exception_log(
    *,
    employee: Employee,
    policy: Policy,
    what_was_done: str,
    why: str,
    customer_ref: str = "",
    interaction_ref: str = "",
    cost: Decimal = Decimal("0"),
    occurred_on: dt.date | None = None,
) -> PolicyException:
    """Log a policy bent for a customer. Never punitive: it goes to the manager for review."""
    customer_ref, interaction_ref = customer_ref.strip(), interaction_ref.strip()
    if not customer_ref and not interaction_ref:
        raise DomainError(
            "Give the customer or the interaction reference (or both).", field="customer_ref"
        )
    if not policy.is_active:
        raise DomainError("That policy is no longer in the catalog.", field="policy")
    if not what_was_done.strip():
        raise DomainError("Say what you did.", field="what_was_done")
    if not why.strip():
        raise DomainError("Say why it was right for the customer.", field="why")
    if cost < 0:
        raise DomainError("The cost cannot be negative.", field="cost")
    today = timezone.localdate()
    occurred_on = occurred_on or today
    if occurred_on > today:
        raise DomainError("That date is in the future.", field="occurred_on")
    exception = PolicyException.objects.create(
        employee=employee,
        team_id=employee.team_id,
        policy=policy,
        customer_ref=customer_ref,
        interaction_ref=interaction_ref,
        what_was_done=what_was_done.strip(),
        why=why.strip(),
        cost=cost,
        currency=settings.CXC_RECOGNITION_CURRENCY,
        occurred_on=occurred_on,
    )
    rollups.exception_rollups_add(exception=exception)
    return exception


@transaction.atomic
def exception_review(
    *,
    exception: PolicyException,
    viewer: Viewer,
    decision: str,
    note: str = "",
    reward_points: int = 0,
    publish: bool = False,
    values: Sequence[CompanyValue] = (),
) -> PolicyException:
    """A manager's review: approve (optionally rewarded from their budget and published as a
    recognition story), approve with coaching notes, or decline with feedback.

    Refused (403) for one's own exception and for people outside the reviewer's subtrees. The
    exception row is locked first, then the budget: concurrent approvals cannot overspend it.
    """
    reviewer = viewer.employee
    exception = PolicyException.objects.select_for_update().get(pk=exception.pk)
    if reviewer is None or reviewer.pk == exception.employee_id:
        raise Forbidden("Someone else reviews your own exceptions.")
    employee = Employee.objects.select_related("team", "user").get(pk=exception.employee_id)
    if not may_review_exception(viewer, employee):
        raise Forbidden("You can review the exceptions of people in the teams you manage.")
    if exception.status != PolicyException.Status.PENDING:
        raise ConflictError("This exception has already been reviewed.")
    Status = PolicyException.Status
    if decision not in (Status.APPROVED, Status.APPROVED_WITH_COACHING, Status.DECLINED):
        raise DomainError("Approve, approve with coaching, or decline.", field="decision")
    note = note.strip()
    if decision != Status.APPROVED and not note:
        what = "coaching notes" if decision == Status.APPROVED_WITH_COACHING else "feedback"
        raise DomainError(f"Add your {what}.", field="note")
    if decision != Status.APPROVED and (reward_points or publish):
        raise DomainError("Only an approval is rewarded or published.", field="decision")
    if reward_points < 0:
        raise DomainError("Points cannot be negative.", field="reward_points")

    if reward_points:
        budget = ledger.account_for(Account.Kind.BUDGET, reviewer)
        wallet = ledger.account_for(Account.Kind.WALLET, employee)
        ledger.accounts_lock([budget, wallet])
        exception.reward_transaction = ledger.ledger_post(
            kind=LedgerTransaction.Kind.EXCEPTION_REWARD,
            legs=[(budget, -reward_points), (wallet, reward_points)],
            created_by=reviewer.user,
            memo=f"Reward for exception #{exception.pk}",
        )
    if publish:
        story = Recognition.objects.create(
            kind=Recognition.Kind.STORY,
            giver=reviewer,
            giver_team_id=reviewer.team_id,
            message=_clean_message(note or _story_text(exception)),
            visibility=Recognition.Visibility.ORGANISATION,
            points_per_receiver=reward_points,
            transaction=exception.reward_transaction,
            # The review e-mail below tells the employee about the story and its points: the
            # story sends no "you were recognised" e-mail of its own, now or on a redelivery.
            notified_at=timezone.now(),
        )
        RecognitionReceiver.objects.create(
            recognition=story, employee=employee, team_id=employee.team_id
        )
        story.values.set([v for v in values if v.is_active])
        rollups.recognition_rollups_add(
            recognition=story,
            receiver_teams=[(employee.team_id, employee.team.path if employee.team else None)],
            value_ids=[v.pk for v in values if v.is_active],
        )
        exception.recognition = story
        _on_commit_announce(story.pk)
    exception.status = decision
    exception.reviewer = reviewer
    exception.review_note = note
    exception.reward_points = reward_points
    exception.reviewed_at = timezone.now()
    exception.save()
    # Its status changed: recount its day (reviews are rare; a rebuild is exact).
    rollups.exception_rollups_rebuild(first=exception.occurred_on, last=exception.occurred_on)
    from .tasks import exception_reviewed_notify_task

    exception_id = exception.pk
    transaction.on_commit(lambda: exception_reviewed_notify_task.delay(exception_id), robust=True)
    return exception


def _story_text(exception: PolicyException) -> str:
    return f"Said yes to a customer: {exception.what_was_done}\n\nWhy: {exception.why}"
