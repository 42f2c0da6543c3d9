"""The organisation: teams (a tree), employees, company values and the policy catalog."""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from knox.models import AbstractAuthToken


class Role(models.TextChoices):
    """Roles are Django groups with these names; a manager's scope is the teams they manage."""

    EMPLOYEE = "employee", "Employee"
    MANAGER = "manager", "Manager"
    HR_ADMIN = "hr_admin", "HR admin"
    EXECUTIVE = "executive", "Executive"


class Team(models.Model):
    """A node of the organisation tree (department, team, squad...), of any depth.

    `path` is a materialised path of ids ("/1/5/12/"), so a subtree is one indexed
    `path__startswith` query at any depth, on SQLite and PostgreSQL alike. Services keep it
    current when a team is created or moved.
    """

    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=500, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    managers: "models.ManyToManyField[Employee, Any]" = models.ManyToManyField(
        "Employee", blank=True, related_name="managed_teams"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")), name="team_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_in_subtree_of(self, other: "Team") -> bool:
        return self.path.startswith(other.path)


class Employee(models.Model):
    """A person in the organisation, linked one-to-one to the Django user they sign in as."""

    if TYPE_CHECKING:
        from django.db.models.fields.related_descriptors import ManyRelatedManager

        managed_teams: ManyRelatedManager[Team, Any]

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="employee"
    )
    external_id = models.CharField(max_length=100, unique=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    title = models.CharField(max_length=200, blank=True)
    role_family = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=100, blank=True)
    hire_date = models.DateField(null=True, blank=True)
    is_front_line = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # When the last invitation to choose a password was sent (None: never). It is also the
    # claim that makes sending safe to repeat (`employee_invitations_send`).
    invited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name", "id"]
        indexes = [models.Index(fields=["team", "is_active"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def email(self) -> str:
        return self.user.email


class CompanyValue(models.Model):
    """A value the company lives by; recognitions are tagged with one or more of them."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="company_value_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """A policy front-line staff may bend for a customer; exceptions point at one of these."""

    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_policies"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name


class DirectorySource(models.Model):
    """A system HR exports the directory from, named once with how its columns map to ours.

    `mapping` is target field -> the export's own header ({"external_id": "employee_id"}), so
    the next export from the same system loads without editing the file or the mapping.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=[("teams", "Teams"), ("employees", "Employees")])
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DirectorySync(models.Model):
    """One upload or API batch of directory rows, applied in a single transaction or not at all."""

    class Kind(models.TextChoices):
        TEAMS = "teams", "Teams"
        EMPLOYEES = "employees", "Employees"

    class Status(models.TextChoices):
        NEEDS_MAPPING = "needs_mapping", "Needs a column mapping"
        PENDING = "pending", "Waiting for a worker"
        NEEDS_CONFIRMATION = "needs_confirmation", "Needs confirmation"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255, blank=True)
    # The uploaded bytes are kept with the job (directory files are small, at most a few MB) so
    # a worker on any machine can apply it without shared file storage.
    content = models.BinaryField(editable=False)
    confirm_deactivation = models.BooleanField(default=False)
    # Target field -> the file's own header; empty when the file uses our column names.
    mapping = models.JSONField(default=dict, blank=True)
    source = models.ForeignKey(
        DirectorySource, null=True, blank=True, on_delete=models.SET_NULL, related_name="syncs"
    )
    rows_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    deactivated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sync #{self.pk} ({self.status})"


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox, `KNOX_TOKEN_MODEL`): only a SHA-512 digest of the token
    and its first 15 characters (to find the row) are stored; it expires `CXC_API_TOKEN_TTL_HOURS`
    after it was issued. `password_fingerprint` binds it to the password it was issued under (an
    HMAC of the password hash, as Django binds sessions), so any password change or reset, from
    any path, ends it."""

    password_fingerprint = models.CharField(max_length=128, editable=False)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"
