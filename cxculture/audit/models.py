"""The audit log: who did which sensitive thing to what, and when."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One sensitive action. Rows are only ever inserted.

    The admin offers no add, change or delete; on PostgreSQL a trigger (migration 0002) refuses
    UPDATE and DELETE, so raw SQL cannot rewrite history either. The actor is protected: a person
    who did audited things is deactivated, not deleted.
    """

    class Action(models.TextChoices):
        SURVEY_THRESHOLD_CHANGED = "survey_threshold_changed", "Anonymity threshold changed"
        REDEMPTION_REQUESTED = "redemption_requested", "Redemption requested"
        REDEMPTION_APPROVED = "redemption_approved", "Redemption approved"
        REDEMPTION_REJECTED = "redemption_rejected", "Redemption rejected"
        POINTS_REVERSED = "points_reversed", "Points reversed"
        ROLES_CHANGED = "roles_changed", "Roles changed"
        TEAM_MANAGERS_CHANGED = "team_managers_changed", "Team managers changed"
        DIRECTORY_SYNC_APPLIED = "directory_sync_applied", "Directory sync applied"
        OUTCOME_IMPORT_CREATED = "outcome_import_created", "Outcome import created"
        SURVEY_RESULTS_EXPORTED = "survey_results_exported", "Survey results exported"
        # HR administration: every change to the catalogue, budgets, programmes and questions.
        REWARD_CREATED = "reward_created", "Reward added"
        REWARD_CHANGED = "reward_changed", "Reward changed"
        REWARD_RETIRED = "reward_retired", "Reward retired"
        REWARD_RESTORED = "reward_restored", "Reward brought back"
        REWARD_DELETED = "reward_deleted", "Reward deleted"
        BUDGET_SET = "budget_set", "Reward budget set"
        BUDGET_TOPPED_UP = "budget_topped_up", "Reward budget topped up"
        PROGRAM_CREATED = "program_created", "Survey programme created"
        PROGRAM_CHANGED = "program_changed", "Survey programme changed"
        PROGRAM_PAUSED = "program_paused", "Survey programme paused"
        PROGRAM_RESUMED = "program_resumed", "Survey programme resumed"
        PROGRAM_ARCHIVED = "program_archived", "Survey programme archived"
        PROGRAM_RESTORED = "program_restored", "Survey programme brought back"
        PROGRAM_DELETED = "program_deleted", "Survey programme deleted"
        QUESTION_CREATED = "question_created", "Question added"
        QUESTION_CHANGED = "question_changed", "Question changed"
        QUESTION_RETIRED = "question_retired", "Question switched off"
        QUESTION_RESTORED = "question_restored", "Question switched on"
        DRIVER_CREATED = "driver_created", "Driver added"
        DRIVER_RENAMED = "driver_renamed", "Driver renamed"
        DRIVER_RETIRED = "driver_retired", "Driver retired"
        DRIVER_RESTORED = "driver_restored", "Driver brought back"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for the system (a task).",
    )
    action = models.CharField(max_length=50, choices=Action.choices, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.target_type} {self.target_id}".strip()
