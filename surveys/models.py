"""Pulse surveys: the question library, programs and runs, invitations and anonymous responses.

Anonymity is a property of the schema (DESIGN.md, "Survey anonymity"): `Invitation` knows who
was asked and whether they answered; `Response` holds what was answered, with a team and coarse
attributes. Nothing joins the two, not even for someone holding the whole database:

- no foreign key, no shared token, no date or time on a response, random ids;
- while a run is open, answers wait in `SealedResponse`, encrypted under a key kept outside the
  database, because the row is written in the transaction that marks the invitation answered
  (on PostgreSQL both rows carry that transaction's id, `xmin`);
- when the run closes, all its answers are opened and stored as `Response` rows in one
  transaction, in random order, with each team and attribute combination coarsened so that it
  holds 0 or at least k respondents (`cxculture.lib.anonymity.coarsen_for_storage`): a join of
  responses with the directory on team, location, role family or tenure never narrows an
  answer down to fewer than k people.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from cxculture.lib import anonymity
from cxculture.people.models import Employee, Team


class Driver(models.TextChoices):
    """What a question measures. Engagement items make the engagement index."""

    ENGAGEMENT = "engagement", "Engagement"
    EMPOWERMENT = "empowerment", "Empowerment"
    ENABLEMENT = "enablement", "Enablement"
    RECOGNITION = "recognition", "Recognition"
    LEADERSHIP = "leadership", "Leadership"
    CUSTOMER_FOCUS = "customer_focus", "Customer focus"
    GROWTH = "growth", "Growth and coaching"
    WELLBEING = "wellbeing", "Wellbeing"
    BELIEF_IN_ACTION = "belief_in_action", "Belief in action"
    ENPS = "enps", "eNPS"


class CustomDriver(models.Model):
    """A driver HR adds next to the built-in ones (`Driver`), for its own questions.

    Labels of built-in and custom drivers alike come from `surveys.drivers.driver_label`. A
    retired driver (`is_active` false) keeps its label on past questions, results and actions,
    but no new question or action may choose it.
    """

    code = models.SlugField(max_length=30, unique=True)
    label = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(code__in=Driver.values), name="survey_custom_driver_not_builtin"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class TenureBand(models.TextChoices):
    UNDER_1 = "lt1", "Under 1 year"
    YEARS_1_2 = "1to2", "1 to 2 years"
    YEARS_2_5 = "2to5", "2 to 5 years"
    YEARS_5_PLUS = "5plus", "5 years or more"

    @classmethod
    def for_hire_date(cls, hire_date: dt.date | None, on: dt.date) -> str:
        if hire_date is None or hire_date > on:
            return ""
        years = (on - hire_date).days / 365.25
        if years < 1:
            return cls.UNDER_1
        if years < 2:
            return cls.YEARS_1_2
        if years < 5:
            return cls.YEARS_2_5
        return cls.YEARS_5_PLUS


class Question(models.Model):
    """One item of the library: built in (loaded by a data migration) or added by HR."""

    class Kind(models.TextChoices):
        AGREEMENT = "agreement", "Agreement (1 to 5)"
        SCALE_0_10 = "scale_0_10", "Scale (0 to 10)"
        SINGLE_CHOICE = "single_choice", "Single choice"
        FREE_TEXT = "free_text", "Free text"

    code = models.SlugField(max_length=60, unique=True)
    text = models.CharField(max_length=300)
    # A built-in `Driver` or the code of a `CustomDriver` (surveys.drivers checks which).
    driver = models.CharField(max_length=30)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.AGREEMENT)
    options = models.JSONField(default=list, blank=True)
    is_builtin = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["agreement", "scale_0_10", "single_choice", "free_text"]),
                name="survey_question_kind_valid",
            ),
            models.CheckConstraint(
                condition=~Q(driver="enps") | Q(kind="scale_0_10"),
                name="survey_question_enps_is_0_to_10",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_scored(self) -> bool:
        return self.kind in (self.Kind.AGREEMENT, self.Kind.SCALE_0_10)


class SurveyProgram(models.Model):
    """A recurring pulse: which questions, who is asked, how often and how results are shown."""

    class Audience(models.TextChoices):
        ORGANISATION = "organisation", "Whole organisation"
        TEAMS = "teams", "Chosen teams (their members only)"
        SUBTREES = "subtrees", "Chosen teams and every team below them"

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every two weeks"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    questions: "models.ManyToManyField[Question, models.Model]" = models.ManyToManyField(
        Question, related_name="programs"
    )
    audience = models.CharField(
        max_length=20, choices=Audience.choices, default=Audience.ORGANISATION
    )
    teams: "models.ManyToManyField[Team, models.Model]" = models.ManyToManyField(
        Team, blank=True, related_name="survey_programs"
    )
    cadence = models.CharField(max_length=20, choices=Cadence.choices, default=Cadence.MONTHLY)
    starts_on = models.DateField(help_text="The day the first run opens.")
    run_length_days = models.PositiveSmallIntegerField(default=7)
    anonymity_threshold = models.PositiveSmallIntegerField(default=5)
    comment_threshold = models.PositiveSmallIntegerField(default=10)
    is_active = models.BooleanField(default=True)
    is_organisation_wide = models.BooleanField(
        default=False,
        help_text=(
            "Its runs are the organisation's results: the home pages, culture dashboard, "
            "heatmap, linkage and follow-through follow them. Leave unmarked for a small or "
            "test programme."
        ),
    )
    # Archived programs leave HR's lists; their runs and results stay. Archiving also pauses.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    anonymity_threshold__gte=anonymity.MIN_THRESHOLD,
                    anonymity_threshold__lte=anonymity.MAX_THRESHOLD,
                ),
                name="survey_program_threshold_3_to_10",
            ),
            models.CheckConstraint(
                condition=Q(comment_threshold__gte=models.F("anonymity_threshold"))
                & Q(comment_threshold__lte=anonymity.MAX_COMMENT_THRESHOLD),
                name="survey_program_comment_threshold_valid",
            ),
            models.CheckConstraint(
                condition=Q(run_length_days__gte=1, run_length_days__lte=90),
                name="survey_program_run_length_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SurveyRunQuerySet(models.QuerySet["SurveyRun"]):
    def accepting(self, on: dt.date) -> "SurveyRunQuerySet":
        """Runs that take responses on `on`: open, and `on` within their dates (the query form
        of `SurveyRun.accepts_responses`)."""
        return self.filter(status=SurveyRun.Status.OPEN, opens_on__lte=on, closes_on__gte=on)


class SurveyRun(models.Model):
    """One pulse of a program: open from `opens_on` to `closes_on` (both included).

    Thresholds are copied from the program when the run opens, so changing a program never
    changes what a past run shows. Results are shown only once the run is closed; a closed run
    refuses responses, so its results never change afterwards.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    program = models.ForeignKey(SurveyProgram, on_delete=models.PROTECT, related_name="runs")
    sequence = models.PositiveIntegerField(help_text="1 for the program's first run, and so on.")
    opens_on = models.DateField()
    closes_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    questions: "models.ManyToManyField[Question, RunQuestion]" = models.ManyToManyField(
        Question, through="RunQuestion", related_name="runs"
    )
    anonymity_threshold = models.PositiveSmallIntegerField(default=5)
    comment_threshold = models.PositiveSmallIntegerField(default=10)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    is_imported = models.BooleanField(
        default=False,
        editable=False,
        help_text=(
            "Past results HR imported from a file: closed from the start, numbered 0, and with "
            "no invitations, so its participation is unknown."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SurveyRunQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "sequence"],
                condition=Q(is_imported=False),
                name="survey_run_sequence_unique",
            ),
            models.CheckConstraint(
                condition=Q(is_imported=False) | Q(sequence=0, status="closed"),
                name="survey_run_imported_is_closed_run_0",
            ),
            models.CheckConstraint(
                condition=Q(closes_on__gte=models.F("opens_on")),
                name="survey_run_closes_after_it_opens",
            ),
            models.CheckConstraint(
                condition=Q(
                    anonymity_threshold__gte=anonymity.MIN_THRESHOLD,
                    anonymity_threshold__lte=anonymity.MAX_THRESHOLD,
                ),
                name="survey_run_threshold_3_to_10",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "open", "closed"]),
                name="survey_run_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "opens_on"])]

    def __str__(self) -> str:
        number = "imported" if self.is_imported else f"#{self.sequence}"
        return f"{self.program.name} {number} ({self.opens_on:%d %b %Y})"

    def accepts_responses(self, on: dt.date) -> bool:
        return self.status == self.Status.OPEN and self.opens_on <= on <= self.closes_on

    def day_number(self, on: dt.date) -> int:
        """1 on the day the run opens."""
        return (on - self.opens_on).days + 1


class RunQuestion(models.Model):
    """A question asked in a run, in the order shown (rotation picks them when the run opens)."""

    run = models.ForeignKey(SurveyRun, on_delete=models.CASCADE, related_name="run_questions")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "question"], name="run_question_unique"),
        ]

    def __str__(self) -> str:
        return f"Question {self.question_id} of run {self.run_id}"


class Invitation(models.Model):
    """Who was asked in a run, and whether and when (a date) they were emailed and responded.

    Deliberately without `created_at`/`updated_at`: a time of day here could be matched with
    the moment a response was stored. The team (its path) is a snapshot taken when the run
    opened, so participation and results count the same people in the same teams.

    On PostgreSQL the table is filled to half of each page (migration 0015): a claim sets the
    date of 100 neighbouring invitations in one statement, and with room for the new versions
    in their own page the update is HOT, touching none of the table's indexes; on full
    pages each claim wrote an entry in every index, as much work as writing the invitation.
    """

    # No index of its own: the unique (run, employee) index starts with the run and serves every
    # lookup by run; a second one cost every invitation written and every claim an index entry.
    run = models.ForeignKey(
        SurveyRun, on_delete=models.PROTECT, related_name="invitations", db_index=False
    )
    # Nor does the employee: every query finds invitations by id or by run (the person's with
    # the unique (run, employee) index), none by employee alone. That index was written for
    # every invitation of every run opened to serve only the deletion of a person, which the
    # product never does; an admin deleting one waits for a scan of the table instead.
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="survey_invitations", db_index=False
    )
    # The team as a path only (migration 0017): participation and results group invitations by
    # the path they were invited in, and nothing asks for the team row. A foreign key to the
    # team cost every run opened a check per invitation at commit, a third of the opening's.
    team_path = models.CharField(max_length=500, default="")
    sent_on = models.DateField(null=True, blank=True)
    reminded_day3_on = models.DateField(null=True, blank=True)
    reminded_day5_on = models.DateField(null=True, blank=True)
    responded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "employee"], name="invitation_once_per_run"),
        ]
        indexes = [models.Index(fields=["run", "team_path"])]

    def __str__(self) -> str:
        return f"Invitation #{self.pk}"


class SealedResponse(models.Model):
    """An answered survey waiting, encrypted, for its run to close (see the module docstring).

    `box` is `cxculture.lib.sealing.seal` of the answers, the team snapshot and the coarse
    attributes; it carries no time and is padded to a fixed size. Closing the run opens every
    box of the run and deletes it in the transaction that stores the responses.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(SurveyRun, on_delete=models.PROTECT, related_name="sealed_responses")
    box = models.BinaryField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return "A sealed survey response"


class Response(models.Model):
    """What one person answered, with no way back to them (see the module docstring).

    Written only when the run closes, all of the run's at once and in random order. The id is
    random (UUID4); there is no date; the team and the attributes (tenure band, location, role
    family) are as the person had them, coarsened so that each stored combination holds 0 or
    at least k respondents of the run (a small team's answers are stored with its parent team,
    a rare attribute value is left blank).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(SurveyRun, on_delete=models.PROTECT, related_name="responses")
    team = models.ForeignKey(Team, null=True, on_delete=models.PROTECT, related_name="+")
    team_path = models.CharField(max_length=500, default="")
    tenure_band = models.CharField(max_length=10, choices=TenureBand.choices, blank=True)
    location = models.CharField(max_length=100, blank=True)
    role_family = models.CharField(max_length=100, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "team_path"]),
            # The lowest and highest ids of a run in two index probes: the stamp that tells a
            # closed run's cached snapshot is still current (surveys.results.run_snapshot).
            models.Index(fields=["run", "id"], name="surveys_response_run_id_idx"),
        ]

    def __str__(self) -> str:
        return "A survey response"


class Answer(models.Model):
    """One answer: `value` for agreement (1-5) and 0-10 items, `choice` or `text` otherwise."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    value = models.SmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["question_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="answer_once_per_question"
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0, value__lte=10),
                name="answer_value_0_to_10",
            ),
        ]
        indexes = [models.Index(fields=["question", "value"])]

    def __str__(self) -> str:
        return "A survey answer"


class RunSummary(models.Model):
    """A closed run's published figures for every team subtree and the organisation, through
    the anonymity gate (`surveys.results.summary`): who is shown, respondents, engagement index,
    eNPS and drivers' favourable share, and participation where the participation plan shows
    it, with the run's team tree as frozen at opening.

    Written once, in the transaction that closes the run (or imports it) and stores its
    responses: a closed run's responses never change, so neither does this row. Dashboards,
    trends and home cards read it instead of the run's answers. No individual answer is in it,
    only figures of groups the gate shows.
    """

    run = models.OneToOneField(
        SurveyRun, primary_key=True, on_delete=models.CASCADE, related_name="summary"
    )
    figures = models.JSONField()
    # Each team's direct members' figures: read only by the pages that show them (linkage, a
    # team's trend), so dashboards do not load them.
    direct_members = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id"]

    def __str__(self) -> str:
        return f"Results summary of run {self.run_id}"
