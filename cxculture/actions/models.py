"""Actions: owned commitments made from results and insights, with a timeline of updates.

An action reads its source from `surveys` (a run and a driver or question) or `people` (a
policy); none of those apps knows about actions (DESIGN.md, dependency floors).
"""

from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from cxculture.people.models import Employee, Policy, Team
from surveys.models import Question, SurveyRun

# What a person may write; the database holds every text to its limit (a check on its length:
# SQLite does not enforce a varchar's length), so no writer can store a 14 MB description.
TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 4000
DROP_REASON_MAX_LENGTH = 1000
SOURCE_LABEL_MAX_LENGTH = 300
NOTE_MAX_LENGTH = 2000
# A timeline entry joins a note with the lines the service writes (new owner, due date moved,
# drop reason), so it may be longer than a note.
UPDATE_TEXT_MAX_LENGTH = 4000


def _at_most(field: str, limit: int) -> LessThanOrEqual:
    return LessThanOrEqual(Length(field), limit)


class Action(models.Model):
    """One commitment with an owner, a due date and a status; scoped to a team or everyone.

    `team` null means the whole organisation. `reminded_on` records the day the owner was last
    reminded that it is overdue: a reminder is due again only when the due date moved past it.
    """

    class SourceKind(models.TextChoices):
        SURVEY_DRIVER = "survey_driver", "A survey driver"
        SURVEY_QUESTION = "survey_question", "A survey question"
        INSIGHT = "insight", "An insight"
        POLICY = "policy", "A policy"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    OPEN_STATUSES = (Status.PLANNED, Status.IN_PROGRESS)

    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True)
    source_kind = models.CharField(
        max_length=20, choices=SourceKind.choices, default=SourceKind.OTHER
    )
    source_run = models.ForeignKey(
        SurveyRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A built-in `Driver` or the code of HR's `CustomDriver`: the services check it against
    # `surveys.drivers`, so it has no fixed choices here.
    source_driver = models.CharField(max_length=30, blank=True)
    source_question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_label = models.CharField(max_length=SOURCE_LABEL_MAX_LENGTH, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="actions"
    )
    owner = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="owned_actions")
    due_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    drop_reason = models.TextField(blank=True)
    followers: "models.ManyToManyField[Employee, Any]" = models.ManyToManyField(
        Employee, blank=True, related_name="followed_actions"
    )
    created_by = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["planned", "in_progress", "done", "dropped"]),
                name="action_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="dropped") | ~Q(drop_reason=""),
                name="action_dropped_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(
                    source_kind__in=[
                        "survey_driver",
                        "survey_question",
                        "insight",
                        "policy",
                        "other",
                    ]
                ),
                name="action_source_kind_valid",
            ),
            models.CheckConstraint(
                condition=_at_most("title", TITLE_MAX_LENGTH), name="action_title_length"
            ),
            models.CheckConstraint(
                condition=_at_most("description", DESCRIPTION_MAX_LENGTH),
                name="action_description_length",
            ),
            models.CheckConstraint(
                condition=_at_most("drop_reason", DROP_REASON_MAX_LENGTH),
                name="action_drop_reason_length",
            ),
            models.CheckConstraint(
                condition=_at_most("source_label", SOURCE_LABEL_MAX_LENGTH),
                name="action_source_label_length",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_on"]),
            models.Index(fields=["source_run", "team"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class ActionUpdate(models.Model):
    """One entry of an action's timeline: a note, a status change, or both."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    status_from = models.CharField(max_length=20, choices=Action.Status.choices, blank=True)
    status_to = models.CharField(max_length=20, choices=Action.Status.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(text="") | ~Q(status_to=""), name="action_update_not_empty"
            ),
            models.CheckConstraint(
                condition=_at_most("text", UPDATE_TEXT_MAX_LENGTH), name="action_update_text_length"
            ),
        ]
        indexes = [models.Index(fields=["action", "-created_at"])]

    def __str__(self) -> str:
        return f"Update #{self.pk} of action {self.action_id}"


class ActionPrompt(models.Model):
    """A manager asked to commit an action after a run closed: one per run and manager.

    The unique constraint is the claim: a second pass of the task finds the row and sends
    nothing. The prompt shows until an action from the run exists for the team (or below it)
    or until `expires_on`.
    """

    run = models.ForeignKey(SurveyRun, on_delete=models.CASCADE, related_name="+")
    manager = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="action_prompts")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    sent_on = models.DateField()
    expires_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "manager"], name="action_prompt_once"),
        ]

    def __str__(self) -> str:
        return f"Prompt for run {self.run_id} to {self.manager_id}"
