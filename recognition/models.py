"""Recognition, the points ledger, rewards and redemptions, and policy exceptions.

The ledger is double-entry (DESIGN.md, "Points ledger"): points live in `Account`s and only move
in a `LedgerTransaction` whose `LedgerEntry` amounts sum to zero. Every write goes through
`recognition.ledger.ledger_post`, which locks the accounts it debits and checks balances; the
database backs the rules with constraints (non-zero entries, non-negative balances, one reversal
per transaction), so a bug in Python cannot overdraw an account.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from cxculture.lib.idempotency import AbstractIdempotencyKey
from cxculture.people.models import CompanyValue, Employee, Policy, Team

# --- Ledger --------------------------------------------------------------------------------------


class Account(models.Model):
    """Where points are: one per (kind, employee); the pool and redemptions are company-wide.

    - `allowance`: what an employee may give this month (reset on the 1st; unspent expires).
    - `wallet`: what an employee received (never expires); redeemed for rewards.
    - `budget`: a manager's reward budget for spot awards and exception rewards.
    - `pool`: the company's issuer account. Allowances and budgets are minted from it and
      expired points return to it, so its balance is minus the points in circulation. It is the
      one account allowed below zero: funding it would only need another issuer account.
    - `redemptions`: points spent on rewards (balance x conversion = value of rewards given).

    `balance` is kept by `ledger_post` (always equal to the sum of the account's entries, which
    `selectors.ledger_problems` verifies). `period` is the first day of the month an allowance
    was last granted for, or a budget last topped up for: it makes the monthly reset idempotent.
    """

    class Kind(models.TextChoices):
        ALLOWANCE = "allowance", "Giving allowance"
        WALLET = "wallet", "Wallet"
        BUDGET = "budget", "Reward budget"
        POOL = "pool", "Company pool"
        REDEMPTIONS = "redemptions", "Redemptions"

    COMPANY_KINDS = (Kind.POOL, Kind.REDEMPTIONS)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    employee = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.PROTECT, related_name="point_accounts"
    )
    balance = models.BigIntegerField(default=0)
    period = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "employee"], name="account_one_per_kind"),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(employee__isnull=True),
                name="account_one_company_account_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="pool") | Q(balance__gte=0), name="account_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["pool", "redemptions"], employee__isnull=True)
                    | (~Q(kind__in=["pool", "redemptions"]) & Q(employee__isnull=False))
                ),
                name="account_owner_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = f" of employee {self.employee_id}" if self.employee_id else ""
        return f"{self.get_kind_display()}{owner}: {self.balance}"

    @property
    def is_company(self) -> bool:
        return self.kind in self.COMPANY_KINDS


class LedgerTransaction(models.Model):
    """One movement of points. Its entries sum to zero; it is never edited or deleted.

    A mistake is undone by a reversing transaction (`reverses`), at most one per original.
    """

    class Kind(models.TextChoices):
        GIVE = "give", "Recognition"
        SPOT_AWARD = "spot_award", "Spot award"
        EXCEPTION_REWARD = "exception_reward", "Exception reward"
        ALLOWANCE_GRANT = "allowance_grant", "Monthly allowance"
        ALLOWANCE_EXPIRY = "allowance_expiry", "Allowance expired"
        BUDGET_GRANT = "budget_grant", "Budget top-up"
        REDEMPTION = "redemption", "Redemption"
        REFUND = "refund", "Refund"
        REVERSAL = "reversal", "Reversal"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    memo = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for the system (the monthly reset).",
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reverses__isnull=True) | Q(kind="reversal"),
                name="ledger_transaction_only_reversals_reverse",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"


class LedgerEntry(models.Model):
    """One leg of a transaction: `amount` points into (positive) or out of (negative) an account.

    Entries are append-only. On PostgreSQL, issue 7 adds a trigger refusing UPDATE/DELETE and a
    deferred constraint trigger checking that each transaction sums to zero at commit; the
    ledger inserts all entries of a transaction in one statement so that check sees them together.
    """

    # No index of its own: the unique (transaction, account) begins with it (migration 0008).
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_not_zero"),
            models.UniqueConstraint(
                fields=["transaction", "account"], name="ledger_entry_one_leg_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} on account {self.account_id}"


class ManagerBudget(models.Model):
    """The monthly reward budget HR gives a manager; the budget account is topped up to it."""

    manager = models.OneToOneField(Employee, on_delete=models.PROTECT, related_name="reward_budget")
    monthly_points = models.PositiveIntegerField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["manager_id"]

    def __str__(self) -> str:
        return f"{self.monthly_points} points a month for employee {self.manager_id}"


# --- Recognition ---------------------------------------------------------------------------------


class RecognitionQuerySet(models.QuerySet["Recognition"]):
    def active(self) -> "RecognitionQuerySet":
        """Not reversed: what feeds, counts and notifications show."""
        return self.filter(reversed_at__isnull=True)


class Recognition(models.Model):
    """A thank-you from one person to one or more colleagues, tied to company values.

    `kind`: a peer recognition (points from the giver's allowance), a manager's spot award
    (points from their budget) or the published story of a rewarded policy exception. The teams
    of the giver and receivers are kept as they were when it was given, because team-visible
    recognitions are visible to those teams.
    """

    class Kind(models.TextChoices):
        PEER = "peer", "Recognition"
        SPOT_AWARD = "spot_award", "Spot award"
        STORY = "story", "Customer-first story"

    class Visibility(models.TextChoices):
        ORGANISATION = "organisation", "Everyone"
        TEAM = "team", "The teams involved"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PEER)
    # Neither has an index of its own: (giver, created_at) and (giver_team, created_at) begin
    # with them (migration 0008).
    giver = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="recognitions_given", db_index=False
    )
    giver_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    receivers = models.ManyToManyField(
        Employee, through="RecognitionReceiver", related_name="recognitions_received"
    )
    values = models.ManyToManyField(CompanyValue, related_name="recognitions", blank=True)
    message = models.TextField()
    visibility = models.CharField(
        max_length=20, choices=Visibility.choices, default=Visibility.ORGANISATION
    )
    points_per_receiver = models.PositiveIntegerField(default=0)
    transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recognition",
    )
    created_at = models.DateTimeField(default=timezone.now)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal_reason = models.CharField(max_length=500, blank=True)
    # Claimed by the notification tasks (conditional update), so a redelivered task sends nothing.
    # A recognition not yet notified is the outbox the beat's sweep reads (see notifications).
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    announced_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = RecognitionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="recognition_feed_idx"),
            models.Index(fields=["giver", "created_at"], name="recognition_giver_idx"),
            models.Index(fields=["giver_team", "created_at"], name="recognition_giver_team_idx"),
            # Only the few recognitions still to notify: the sweep every few seconds reads
            # them oldest first without touching the millions already notified.
            models.Index(
                fields=["id"],
                name="recognition_to_notify_idx",
                condition=Q(notified_at__isnull=True, reversed_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_receiver=0) | Q(transaction__isnull=False),
                name="recognition_points_have_a_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"Recognition #{self.pk} by employee {self.giver_id}"

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None


class RecognitionReceiver(models.Model):
    """A receiver of a recognition, with their team when they received it."""

    # None of the three has an index of its own: the unique (recognition, employee) and the
    # (employee, recognition) and (team, recognition) indexes begin with them (migration 0008).
    recognition = models.ForeignKey(
        Recognition, on_delete=models.PROTECT, related_name="receiver_links", db_index=False
    )
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="recognition_receipts", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recognition", "employee"], name="recognition_receiver_once"
            ),
        ]
        indexes = [
            models.Index(fields=["employee", "recognition"], name="recognition_receiver_emp_idx"),
            models.Index(fields=["team", "recognition"], name="recognition_receiver_team_idx"),
        ]

    def __str__(self) -> str:
        return f"Employee {self.employee_id} in recognition {self.recognition_id}"


class LastRecognition(models.Model):
    """When a person was last recognised, reversed recognitions left out: one row per person
    ever recognised, kept by the give and reverse services, so reach and "not recognised
    lately" read a row per person instead of every receipt they ever had."""

    employee = models.OneToOneField(
        Employee, primary_key=True, on_delete=models.CASCADE, related_name="last_recognition"
    )
    recognised_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Employee {self.employee_id} last recognised {self.recognised_at:%Y-%m-%d}"


class RecognitionDay(models.Model):
    """Recognitions given on a day (UTC) to people of a tree node's subtree, reversed ones left
    out: a rollup the dashboards read instead of every recognition (DESIGN, "dashboards read
    rollups"). `node_path` is the node's team path ("" is the whole organisation, which also
    counts receivers without a team); a recognition counts once per node whatever how many of
    its receivers are in the subtree. `cross_team` counts the ones with a receiver in the
    subtree from another team than the giver's. Kept by `recognition.rollups`."""

    day = models.DateField()
    node_path = models.CharField(max_length=500)
    recognitions = models.IntegerField(default=0)
    cross_team = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["node_path", "day"], name="recognition_day_cell"),
            models.CheckConstraint(
                condition=Q(
                    recognitions__gte=0, cross_team__gte=0, cross_team__lte=F("recognitions")
                ),
                name="recognition_day_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recognitions} recognitions under {self.node_path or '/'} on {self.day}"


class RecognitionValueDay(models.Model):
    """Recognitions tagged with a company value, per day and tree node (as RecognitionDay)."""

    day = models.DateField()
    node_path = models.CharField(max_length=500)
    value = models.ForeignKey(CompanyValue, on_delete=models.CASCADE, related_name="+")
    recognitions = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["node_path", "value", "day"], name="recognition_value_day_cell"
            ),
            models.CheckConstraint(
                condition=Q(recognitions__gte=0), name="recognition_value_day_count"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recognitions} for value {self.value_id} under {self.node_path or '/'}"


class RecognitionGiverDay(models.Model):
    """Recognitions a person gave on a day (UTC), reversed ones left out: leaders' counts."""

    day = models.DateField()
    giver = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="+")
    recognitions = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["giver", "day"], name="recognition_giver_day_cell"),
            models.CheckConstraint(
                condition=Q(recognitions__gte=0), name="recognition_giver_day_count"
            ),
        ]

    def __str__(self) -> str:
        return f"Employee {self.giver_id} gave {self.recognitions} on {self.day}"


class ExceptionDay(models.Model):
    """Policy exceptions that occurred on a day, per tree node (the team they were logged for
    and every team above it; "" is the whole organisation): logged, approved (with or without
    coaching) and the approved cost. Kept by `recognition.rollups`."""

    day = models.DateField()
    node_path = models.CharField(max_length=500)
    logged = models.IntegerField(default=0)
    approved = models.IntegerField(default=0)
    approved_cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["node_path", "day"], name="exception_day_cell"),
            models.CheckConstraint(
                condition=Q(approved__gte=0, approved__lte=F("logged"), approved_cost__gte=0),
                name="exception_day_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.logged} exceptions under {self.node_path or '/'} on {self.day}"


class Reaction(models.Model):
    """An emoji a colleague adds to a recognition; one of each emoji per person."""

    EMOJI = ("👏", "🎉", "❤️", "🙌", "💡", "⭐")

    recognition = models.ForeignKey(Recognition, on_delete=models.CASCADE, related_name="reactions")
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=16, choices=[(e, e) for e in EMOJI])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recognition", "employee", "emoji"], name="reaction_once_per_emoji"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on recognition {self.recognition_id}"


# --- Rewards -------------------------------------------------------------------------------------


class Reward(models.Model):
    """An item of the reward catalog HR keeps. `stock` empty means unlimited."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    cost_points = models.PositiveIntegerField()
    stock = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cost_points", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(cost_points__gt=0), name="reward_cost_positive"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    """An employee's request for a reward: pending → approved → fulfilled, or rejected.

    The points leave the wallet when the request is made (so they cannot be spent twice); a
    rejection refunds them with a `refund` transaction and puts the item back in stock.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        FULFILLED = "fulfilled", "Fulfilled"
        REJECTED = "rejected", "Rejected (refunded)"

    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    cost_points = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, related_name="redemption"
    )
    refund_transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunded_redemption",
    )
    note = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="redemption_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="rejected", refund_transaction__isnull=False)
                | (~Q(status="rejected") & Q(refund_transaction__isnull=True)),
                name="redemption_refunded_iff_rejected",
            ),
        ]

    def __str__(self) -> str:
        return f"Redemption #{self.pk} ({self.status})"


# --- Policy exceptions ---------------------------------------------------------------------------


class PolicyExceptionQuerySet(models.QuerySet["PolicyException"]):
    def approved(self) -> "PolicyExceptionQuerySet":
        """Approved, with or without coaching: what "approved" means on every page."""
        return self.filter(status__in=PolicyException.APPROVED_STATUSES)


class PolicyException(models.Model):
    """A rule an employee bent to do right by a customer, and their manager's review of it.

    `customer_ref` / `interaction_ref` (at least one) are how customer outcomes that arrive
    later are attached: insights joins outcomes by reference, so neither app imports the other.
    `team` is the employee's team when it was logged, for per-team reporting.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        APPROVED_WITH_COACHING = "approved_with_coaching", "Approved with coaching"
        DECLINED = "declined", "Declined"

    APPROVED_STATUSES = (Status.APPROVED, Status.APPROVED_WITH_COACHING)

    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="policy_exceptions"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="exceptions")
    customer_ref = models.CharField(max_length=200, blank=True)
    interaction_ref = models.CharField(max_length=200, blank=True)
    occurred_on = models.DateField(default=timezone.localdate)
    what_was_done = models.TextField()
    why = models.TextField()
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="GBP")
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.PENDING)
    reviewer = models.ForeignKey(
        Employee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_policy_exceptions",
    )
    review_note = models.TextField(
        blank=True, help_text="Why it was approved, the coaching notes, or the feedback."
    )
    reward_points = models.PositiveIntegerField(default=0)
    reward_transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policy_exception",
    )
    recognition = models.OneToOneField(
        Recognition,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policy_exception",
    )
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PolicyExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer_ref"], name="policy_exception_customer_idx"),
            models.Index(fields=["interaction_ref"], name="policy_exception_interact_idx"),
            models.Index(fields=["policy", "status"], name="policy_exception_policy_idx"),
            models.Index(fields=["status", "created_at"], name="policy_exception_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(customer_ref="") | ~Q(interaction_ref=""),
                name="policy_exception_has_a_reference",
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="policy_exception_cost_positive"),
            models.CheckConstraint(
                condition=Q(status="pending", reviewed_at__isnull=True)
                | (~Q(status="pending") & Q(reviewed_at__isnull=False)),
                name="policy_exception_reviewed_iff_decided",
            ),
            models.CheckConstraint(
                condition=Q(reward_points=0)
                | Q(status="approved", reward_transaction__isnull=False),
                name="policy_exception_reward_only_when_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"Exception #{self.pk} to {self.policy_id} ({self.status})"


# --- Idempotency ---------------------------------------------------------------------------------


class IdempotencyKey(AbstractIdempotencyKey):
    """Keys sent with creates that move points (see `cxculture.lib.idempotency`)."""

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user"),
        ]
