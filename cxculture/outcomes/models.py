"""Customer outcomes: the metric catalog, outcome records, ingestion jobs and daily rollups.

Values are stored as floats (double precision), not decimals: they are measurements (ratings,
scores, seconds, yes/no as 1/0), never money. Doubles hold every integer up to 2**53 exactly,
so sums of ratings stay exact at any realistic volume, and the rollups (sum, sum of squares)
and the bulk paths (COPY, multi-row INSERT) stay fast without building a Decimal per row.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from cxculture.people.models import Employee, Team


class Metric(models.Model):
    """One measure of customer outcome (csat, nps...), with the kind and range its values take.

    `scale` takes whole numbers within the range (a rating), `binary` takes 0 or 1 (yes/no),
    `number` any number within the range. The built-ins come from a data migration; HR admins add
    their own. A metric is retired (`is_active=False`), never deleted, once records point at it.
    """

    class Kind(models.TextChoices):
        SCALE = "scale", "Scale (whole numbers)"
        BINARY = "binary", "Yes / no"
        NUMBER = "number", "Number"

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    min_value = models.FloatField()
    max_value = models.FloatField()
    unit = models.CharField(max_length=30, blank=True)
    higher_is_better = models.BooleanField(default=True)
    is_builtin = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_builtin", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_value__lt=F("max_value")), name="metric_range_not_empty"
            ),
            models.CheckConstraint(
                condition=~Q(kind="binary") | Q(min_value=0, max_value=1),
                name="metric_binary_is_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_nps(self) -> bool:
        """Net Promoter Score: 9-10 promoters, 7-8 passives, 0-6 detractors."""
        return self.code == "nps"


class OutcomeSource(models.Model):
    """A system that sends outcome records to the JSON endpoint (a helpdesk, a survey tool).

    Only a SHA-256 hash of its API token is stored; the token is shown once, when it is created
    or rotated. Tokens are 256 random bits, so a fast hash is enough (as for GitHub tokens).
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False)
    signing_secret = models.CharField(
        max_length=128,
        blank=True,
        editable=False,
        help_text="When set, requests must be signed with it (HMAC-SHA256, issue 7).",
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class OutcomeWebhookEvent(models.Model):
    """A webhook delivery already handled, by the sender's `X-CXC-Event-Id`, with its answer.

    A redelivery (or ten concurrent ones) gets the stored answer and stores nothing again: the
    unique constraint makes concurrent deliveries wait for the first and then find its row. The
    SHA-256 of the raw body tells a redelivery from another body sent under a used event id,
    which is refused (409) rather than answered as if it had been stored.
    """

    source = models.ForeignKey(OutcomeSource, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    body_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Hex SHA-256 of the raw body (empty before issue 13)."
    )
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_id"], name="outcome_webhook_event_once_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.event_id}"


class OutcomeImport(models.Model):
    """One CSV upload, processed by a worker in batches that each commit with their progress.

    `last_row` is the spreadsheet row number (header = 1) of the last row of the last committed
    batch: a worker that restarts skips every row up to it, so nothing is imported twice and no
    batch is half-written. Counters: rows_read = accepted + duplicates + rejected.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    source = models.SlugField(max_length=50)
    file_name = models.CharField(max_length=255, blank=True)
    # Where the upload waits for a worker, in the storage `ingest.jobs.import_storage()` returns.
    file_path = models.CharField(max_length=500, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    header = models.JSONField(default=list, blank=True, editable=False)
    # Target field -> the file's own header (a preset's columns merged with the ones sent);
    # empty when the file uses our column names.
    mapping = models.JSONField(default=dict, blank=True, editable=False)
    preset = models.CharField(max_length=50, blank=True, editable=False)
    # The metric of every row when the file has no metric column (a CSAT export, say).
    metric = models.SlugField(max_length=50, blank=True, editable=False)
    rows_estimated = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    last_row = models.PositiveIntegerField(default=1, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="outcome_import_idempotency_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"Outcome import #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent_done(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_estimated:
            return 0
        return min(99, round(100 * self.rows_read / self.rows_estimated))


class OutcomeImportError(models.Model):
    """Why one row of an import was rejected (one row may have several), with its values."""

    job = models.ForeignKey(OutcomeImport, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500)
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "row", "id"]
        indexes = [models.Index(fields=["job", "row"])]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class OutcomeRecord(models.Model):
    """One customer outcome: a value of a metric, at a time, for a team (and maybe an agent).

    (source, external_id) is unique, so sending the same record again changes nothing. Records
    are written only by the ingestion services, which keep the rollups current: a JSON batch in
    the transaction that stores it, an import in the one that finishes it. `customer_ref` and
    `interaction_ref` are indexed so the insights app can join them with policy exceptions when
    a page asks.

    Every index is one an import writes for each record: the team, the agent and the source
    have none of their own, as the (team, metric, occurred_at), (agent, occurred_at) and unique
    (source, external_id) indexes begin with them and serve every lookup by them (and the
    checks when a team or a person is deleted).
    """

    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    value = models.FloatField()
    occurred_at = models.DateTimeField()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+", db_index=False)
    agent = models.ForeignKey(
        Employee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    customer_ref = models.CharField(max_length=100, blank=True)
    interaction_ref = models.CharField(max_length=100, blank=True)
    source = models.SlugField(max_length=50, db_index=False)
    external_id = models.CharField(max_length=200)
    import_job = models.ForeignKey(
        OutcomeImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="outcome_record_source_external_id"
            ),
        ]
        indexes = [
            models.Index(fields=["team", "metric", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["customer_ref"]),
            models.Index(fields=["interaction_ref"]),
            models.Index(fields=["agent", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id}={self.value} at {self.occurred_at:%Y-%m-%d}"


class RollupCounters(models.Model):
    """What a rollup cell counts of its records: count, sum and sum_sq give the mean and
    standard deviation; for nps the promoter, passive and detractor counts give the score."""

    count = models.PositiveIntegerField(default=0)
    sum = models.FloatField(default=0)
    sum_sq = models.FloatField(default=0)
    promoters = models.PositiveIntegerField(default=0)
    passives = models.PositiveIntegerField(default=0)
    detractors = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class DailyRollup(RollupCounters):
    """Per team, metric and day (in settings.TIME_ZONE): what dashboards read, not raw rows.

    Ingestion adds each new record to its row in the same transaction;
    `ingest.rollups.rollups_rebuild` recomputes them from the raw records.
    """

    # No index of their own: every ingest updates a cell, and each index is one more write per
    # cell. The unique (team, metric, day) serves lookups by team, (metric, day) those by metric.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()

    class Meta:
        ordering = ["day", "team", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "metric", "day"], name="daily_rollup_team_metric_day"
            ),
        ]
        indexes = [models.Index(fields=["metric", "day"])]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.metric_id}/{self.day}: n={self.count}"


class MonthlyRollup(RollupCounters):
    """Per team, metric and month (`month` is its first day): the sums of the team's daily
    rollups in that month, so a year's trend reads a dozen rows per team instead of 365.

    Kept with the daily rollups: ingestion adds each new record to both in the same statement,
    and `ingest.rollups.rollups_rebuild` recomputes the months it rebuilt from the daily rows.
    Readers take whole months from here and the days of a partial month from `DailyRollup`.
    """

    # No index of their own, as for the daily cells: the unique (team, metric, month) and the
    # (metric, month) index serve every lookup.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()

    class Meta:
        ordering = ["month", "team", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "metric", "month"], name="monthly_rollup_team_metric_month"
            ),
        ]
        indexes = [models.Index(fields=["metric", "month"])]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.metric_id}/{self.month:%Y-%m}: n={self.count}"
