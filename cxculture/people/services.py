"""Every write to the organisation: teams, employees, roles, values, policies, directory syncs."""

import csv
import datetime as dt
import functools
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from cxculture.audit.services import audit_record
from cxculture.lib.csvio import (
    CSVFileError,
    MappingError,
    RowError,
    check_size,
    mapping_check,
    normalise_header,
    read_csv,
    read_header,
    read_preview,
)
from cxculture.lib.emails import absolute_url
from cxculture.lib.errors import ConflictError, DomainError

from .authentication import password_fingerprint
from .models import (
    ApiToken,
    CompanyValue,
    DirectorySource,
    DirectorySync,
    Employee,
    Policy,
    Role,
    Team,
)
from .permissions import forget_viewer
from .selectors import directory_sync_superseded_by, employees_without_password

MAX_REPORTED_ERRORS = 1000
# A person's email is also their username, so it has the username's limit.
EMAIL_MAX_LENGTH = 150

# --- Teams -----------------------------------------------------------------------------------


def team_paths_rebuild() -> int:
    """Recompute every team's materialised path and depth; return how many changed.

    The whole tree is read in one query: an organisation has thousands of teams, not millions,
    and recomputing from the root is simpler and safer than patching a moved subtree.
    """
    teams = list(Team.objects.only("id", "parent_id", "path", "depth"))
    by_id = {team.id: team for team in teams}
    computed: dict[int, tuple[str, int]] = {}

    def resolve(team: Team) -> tuple[str, int]:
        chain = []
        node: Team | None = team
        while node is not None and node.id not in computed:
            chain.append(node)
            node = by_id.get(node.parent_id) if node.parent_id else None
            if len(chain) > len(by_id):
                raise DomainError("The team tree has a cycle.", code="team_cycle")
        base_path, base_depth = computed[node.id] if node is not None else ("/", -1)
        for item in reversed(chain):
            base_path, base_depth = f"{base_path}{item.id}/", base_depth + 1
            computed[item.id] = (base_path, base_depth)
        return computed[team.id]

    changed = []
    for team in teams:
        path, depth = resolve(team)
        if (team.path, team.depth) != (path, depth):
            team.path, team.depth = path, depth
            changed.append(team)
    Team.objects.bulk_update(changed, ["path", "depth"], batch_size=500)
    return len(changed)


def _check_parent(team: Team | None, parent: Team | None) -> None:
    if parent is None or team is None or team.pk is None:
        return
    if parent.pk == team.pk or parent.path.startswith(team.path):
        raise DomainError("A team cannot be placed under itself.", field="parent")


@transaction.atomic
def team_create(*, name: str, external_id: str, parent: Team | None = None) -> Team:
    if Team.objects.filter(external_id=external_id).exists():
        raise DomainError("A team with this external id exists.", field="external_id")
    team = Team.objects.create(name=name, external_id=external_id, parent=parent)
    team.path = f"{parent.path if parent else '/'}{team.id}/"
    team.depth = parent.depth + 1 if parent else 0
    team.save(update_fields=["path", "depth"])
    return team


@transaction.atomic
def team_update(*, team: Team, name: str | None = None, is_active: bool | None = None) -> Team:
    """Rename or (de)activate a team."""
    if name is not None:
        team.name = name
    if is_active is not None:
        team.is_active = is_active
    team.save()
    return team


@transaction.atomic
def team_move(*, team: Team, parent: Team | None) -> Team:
    """Place a team (and its subtree) under `parent`, or make it a root with None."""
    _check_parent(team, parent)
    if team.parent_id == (parent.pk if parent else None):
        return team
    team.parent = parent
    team.save(update_fields=["parent", "updated_at"])
    team_paths_rebuild()
    team.refresh_from_db(fields=["path", "depth"])
    return team


@transaction.atomic
def team_set_managers(*, team: Team, managers: Iterable[Employee]) -> Team:
    """Replace the team's managers; managers join the `manager` group."""
    managers = list(managers)
    team.managers.set(managers)
    group, _ = Group.objects.get_or_create(name=Role.MANAGER)
    for manager in managers:
        manager.user.groups.add(group)
        forget_viewer(manager.user)
    audit_record(
        actor=None,
        action="team_managers_changed",
        target=team,
        details={"managers": [m.pk for m in managers]},
    )
    return team


# --- Employees and roles -----------------------------------------------------------------------


def _username_for(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
def employee_create(
    *,
    email: str,
    first_name: str,
    last_name: str,
    external_id: str,
    team: Team | None,
    title: str = "",
    role_family: str = "",
    location: str = "",
    hire_date: dt.date | None = None,
    is_front_line: bool = False,
    password: str | None = None,
) -> Employee:
    """Create the person and the user they sign in as (no usable password unless given)."""
    username = _username_for(email)
    if len(email) > EMAIL_MAX_LENGTH:
        raise DomainError(f"At most {EMAIL_MAX_LENGTH} characters.", field="email")
    if Employee.objects.filter(external_id=external_id).exists():
        raise DomainError("An employee with this external id exists.", field="external_id")
    if User.objects.filter(Q(username=username) | Q(email__iexact=email)).exists():
        raise DomainError("A user with this email exists.", field="email")
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get_or_create(name=Role.EMPLOYEE)[0])
    return Employee.objects.create(
        user=user,
        external_id=external_id,
        team=team,
        title=title,
        role_family=role_family,
        location=location,
        hire_date=hire_date,
        is_front_line=is_front_line,
    )


EMPLOYEE_FIELDS = ("team", "title", "role_family", "location", "hire_date", "is_front_line")
USER_FIELDS = ("email", "first_name", "last_name")


@transaction.atomic
def employee_update(*, employee: Employee, **changes: Any) -> Employee:
    """Change directory fields (`EMPLOYEE_FIELDS`, `USER_FIELDS`, `is_active`)."""
    unknown = set(changes) - set(EMPLOYEE_FIELDS) - set(USER_FIELDS) - {"is_active"}
    if unknown:
        raise DomainError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    user = employee.user
    if "email" in changes and changes["email"].lower() != user.email.lower():
        if len(changes["email"]) > EMAIL_MAX_LENGTH:
            raise DomainError(f"At most {EMAIL_MAX_LENGTH} characters.", field="email")
        username = _username_for(changes["email"])
        clash = User.objects.filter(Q(username=username) | Q(email__iexact=changes["email"]))
        if clash.exclude(pk=user.pk).exists():
            raise DomainError("A user with this email exists.", field="email")
        user.username = username
    for name in USER_FIELDS:
        if name in changes:
            setattr(user, name, changes[name])
    if "is_active" in changes:
        user.is_active = changes["is_active"]
        employee.is_active = changes["is_active"]
    for name in EMPLOYEE_FIELDS:
        if name in changes:
            setattr(employee, name, changes[name])
    user.save()
    employee.save()
    if not user.is_active:
        api_tokens_revoke(user_ids=[user.pk])
    return employee


@transaction.atomic
def employee_set_roles(*, employee: Employee, roles: Iterable[str]) -> Employee:
    """Set the organisation-wide roles (HR admin, executive); everyone keeps `employee`.

    The manager role follows the teams a person manages (`team_set_managers`).
    """
    wanted = {Role(role) for role in roles} | {Role.EMPLOYEE}
    if Role.MANAGER in wanted and not employee.managed_teams.exists():
        raise DomainError("Make the person a team's manager to give them the manager role.")
    user = employee.user
    for role in (Role.EMPLOYEE, Role.HR_ADMIN, Role.EXECUTIVE):
        group, _ = Group.objects.get_or_create(name=role)
        if role in wanted:
            user.groups.add(group)
        else:
            user.groups.remove(group)
    forget_viewer(user)
    audit_record(
        actor=None, action="roles_changed", target=employee, details={"roles": sorted(wanted)}
    )
    return employee


# --- Invitations to choose a password ---------------------------------------------------------

INVITATION_CHUNK_SIZE = 500


def set_password_link(user: User) -> str:
    """An absolute one-time link to choose a password (Django's password-reset confirm view,
    with `default_token_generator`): it stops working once the password changes, after a
    sign-in, or after PASSWORD_RESET_TIMEOUT. Built from CXC_BASE_URL, never the request."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return absolute_url(path)


def _invitation(employee: Employee) -> EmailMessage:
    context = {
        "first_name": employee.user.first_name or employee.user.get_username(),
        "link": set_password_link(employee.user),
        "sign_in_link": absolute_url(reverse("login")),
        "username": employee.user.get_username(),
    }
    subject = render_to_string("emails/people/invitation_subject.txt", context)
    body = render_to_string("emails/people/invitation.txt", context)
    return EmailMessage(" ".join(subject.split()), body, to=[employee.user.email])


def employee_invitations_send(*, employee_ids: Iterable[int], requested_at: dt.datetime) -> int:
    """Send an invitation to choose a password to each of these people who is active and has
    no password yet, unless one was sent at or after `requested_at`; return how many were sent.

    Safe to run twice: each person is claimed with a conditional update of `invited_at` to
    `requested_at` before the e-mail goes, so a repeat of the same request sends nothing.
    """
    sent = 0
    candidates = (
        employees_without_password()
        .filter(pk__in=list(employee_ids))
        .select_related("user")
        .order_by("pk")
    )
    with mailers.default as backend:
        for employee in candidates:
            claimed = (
                Employee.objects.filter(pk=employee.pk)
                .filter(Q(invited_at__isnull=True) | Q(invited_at__lt=requested_at))
                .update(invited_at=requested_at)
            )
            if claimed:
                backend.send_messages([_invitation(employee)])
                sent += 1
    return sent


def _invite_later(employee_ids: list[int], requested_at: dt.datetime) -> None:
    """Hand invitations to workers in chunks, once the transaction that asked commits."""
    from .tasks import employee_invitations_send_task

    def enqueue(chunk: list[int]) -> None:
        employee_invitations_send_task.delay(chunk, requested_at.isoformat())

    for start in range(0, len(employee_ids), INVITATION_CHUNK_SIZE):
        chunk = employee_ids[start : start + INVITATION_CHUNK_SIZE]
        transaction.on_commit(functools.partial(enqueue, chunk))


def employee_invite(*, employee: Employee) -> None:
    """Send one person an invitation to choose a password now (HR, from the person's page)."""
    if not (employee.is_active and employee.user.is_active):
        raise DomainError(f"{employee.display_name} is not active, so cannot be invited.")
    if employee.user.has_usable_password():
        raise ConflictError(
            f"{employee.display_name} already has a password; "
            'they can use "Forgot your password?" on the sign-in page.'
        )
    employee_invitations_send(employee_ids=[employee.pk], requested_at=timezone.now())


@transaction.atomic
def employees_invite_without_password() -> int:
    """Invite every active person who has no password yet (HR's bulk button); the e-mails are
    sent by workers after commit. Return how many people will be invited."""
    employee_ids = list(employees_without_password().order_by("pk").values_list("pk", flat=True))
    _invite_later(employee_ids, timezone.now())
    return len(employee_ids)


# --- Values and policies -------------------------------------------------------------------------


def _check_value_name(name: str, *, exclude: CompanyValue | None = None) -> str:
    """The slug for `name`, or a DomainError if it is empty or another value has the name."""
    slug = slugify(name)
    if not slug:
        raise DomainError("A value's name needs a letter or a digit.", field="name")
    clash = CompanyValue.objects.filter(Q(slug=slug) | Q(name__iexact=name))
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise DomainError("A value with this name exists.", field="name")
    return slug


@transaction.atomic
def company_value_create(
    *, name: str, description: str = "", position: int = 0, is_active: bool = True
) -> CompanyValue:
    slug = _check_value_name(name)
    return CompanyValue.objects.create(
        name=name, slug=slug, description=description, position=position, is_active=is_active
    )


@transaction.atomic
def company_value_update(*, value: CompanyValue, **changes: Any) -> CompanyValue:
    """Change a value; its slug stays as it was created, so links to it keep working."""
    if "name" in changes:
        _check_value_name(changes["name"], exclude=value)
    for name in ("name", "description", "position", "is_active"):
        if name in changes:
            setattr(value, name, changes[name])
    value.save()
    return value


@transaction.atomic
def policy_create(
    *,
    name: str,
    code: str,
    description: str = "",
    owner_team: Team | None = None,
    is_active: bool = True,
) -> Policy:
    if Policy.objects.filter(code=code).exists():
        raise DomainError("A policy with this code exists.", field="code")
    return Policy.objects.create(
        name=name, code=code, description=description, owner_team=owner_team, is_active=is_active
    )


@transaction.atomic
def policy_update(*, policy: Policy, **changes: Any) -> Policy:
    if (
        "code" in changes
        and Policy.objects.filter(code=changes["code"]).exclude(pk=policy.pk).exists()
    ):
        raise DomainError("A policy with this code exists.", field="code")
    for name in ("name", "code", "description", "owner_team", "is_active"):
        if name in changes:
            setattr(policy, name, changes[name])
    policy.save()
    return policy


# --- Directory sync ------------------------------------------------------------------------------

TEAM_COLUMNS = ("external_id", "name")
TEAM_OPTIONAL_COLUMNS = ("parent_external_id",)
EMPLOYEE_COLUMNS = ("external_id", "email", "first_name", "last_name", "team_external_id")
EMPLOYEE_OPTIONAL_COLUMNS = (
    "title",
    "role_family",
    "location",
    "hire_date",
    "is_front_line",
    "manages",
    "is_active",
)
# Targets only a column mapping can use: one people file that also carries its teams (the team's
# name and parent on each person's row), and "is_manager" (the person manages their own team).
EMPLOYEE_MAPPING_ONLY_COLUMNS = (
    "team_name",
    "parent_team_external_id",
    "parent_team_name",
    "is_manager",
)
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}

# Headers that HR systems commonly use for each target, for guessing a mapping (compared after
# normalise_header and with spaces and dashes as underscores).
MAPPING_GUESSES: dict[str, dict[str, tuple[str, ...]]] = {
    DirectorySync.Kind.TEAMS: {
        "external_id": ("external_id", "team_id", "department_id", "dept_id", "org_unit_id", "id"),
        "name": ("name", "team_name", "team", "department", "department_name", "org_unit"),
        "parent_external_id": (
            "parent_external_id",
            "parent_team_id",
            "parent_id",
            "parent_department_id",
            "parent_org_unit_id",
            "parent",
        ),
    },
    DirectorySync.Kind.EMPLOYEES: {
        "external_id": (
            "external_id",
            "employee_id",
            "employee_number",
            "employee_no",
            "emp_id",
            "worker_id",
            "person_id",
            "staff_id",
            "id",
        ),
        "email": ("email", "work_email", "email_address", "business_email", "e_mail"),
        "first_name": ("first_name", "firstname", "given_name", "forename", "preferred_name"),
        "last_name": ("last_name", "lastname", "surname", "family_name"),
        "team_external_id": (
            "team_external_id",
            "team_id",
            "department_id",
            "dept_id",
            "org_unit_id",
        ),
        "team_name": ("team_name", "team", "department", "department_name", "org_unit"),
        "parent_team_external_id": (
            "parent_team_external_id",
            "parent_team_id",
            "parent_department_id",
            "parent_org_unit_id",
            "parent_id",
        ),
        "parent_team_name": ("parent_team_name", "parent_team", "parent_department"),
        "title": ("title", "job_title", "position", "job", "role"),
        "role_family": ("role_family", "job_family", "function", "job_function"),
        "location": ("location", "office", "site", "work_location", "city"),
        "hire_date": ("hire_date", "start_date", "hired_on", "date_of_hire", "joined"),
        "is_front_line": (
            "is_front_line",
            "frontline",
            "front_line",
            "is_frontline",
            "customer_facing",
        ),
        "manages": ("manages", "manages_teams", "managed_teams"),
        "is_manager": ("is_manager", "manager", "people_manager", "is_people_manager"),
        "is_active": ("is_active", "active", "employment_active"),
    },
}


def directory_columns(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if kind == DirectorySync.Kind.TEAMS:
        return TEAM_COLUMNS, TEAM_OPTIONAL_COLUMNS
    return EMPLOYEE_COLUMNS, EMPLOYEE_OPTIONAL_COLUMNS


def directory_mapping_targets(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) targets a mapping of this kind may use."""
    required, optional = directory_columns(kind)
    if kind == DirectorySync.Kind.EMPLOYEES:
        optional = optional + EMPLOYEE_MAPPING_ONLY_COLUMNS
    return required, optional


def _header_key(name: str) -> str:
    return "_".join(normalise_header(name).replace("-", " ").replace(".", " ").split())


def directory_mapping_guess(
    kind: str, header: Iterable[str], *, saved: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A mapping (target -> header) for these headers: the saved one where its headers are in
    the file, then common names for the targets still free. Each header is used once."""
    header = [name for name in header if name.strip()]
    by_key = {_header_key(name): name for name in reversed(header)}
    present = {normalise_header(name): name for name in header}
    required, optional = directory_mapping_targets(kind)
    guess: dict[str, str] = {}
    for target, column in (saved or {}).items():
        if target in required + optional and normalise_header(column) in present:
            guess[target] = present[normalise_header(column)]
    used = {normalise_header(column) for column in guess.values()}
    for target, names in MAPPING_GUESSES[kind].items():
        if target in guess:
            continue
        for name in names:
            found = by_key.get(name)
            if found is not None and normalise_header(found) not in used:
                guess[target] = found
                used.add(normalise_header(found))
                break
    return guess


def directory_mapping_check(
    *, kind: str, mapping: Mapping[str, str], content: bytes | None = None
) -> dict[str, str]:
    """The mapping cleaned, or a DomainError (400) on `mapping` naming the target or header."""
    required, optional = directory_mapping_targets(kind)
    header = None
    if content is not None:
        try:
            header = read_header(io.BytesIO(content))
        except CSVFileError as exc:
            raise DomainError(exc.error.reason, code=exc.code, field="file") from None
    try:
        cleaned = mapping_check(
            mapping, targets=required + optional, required=required, header=header
        )
    except MappingError as exc:
        raise DomainError(exc.message, code="wrong_mapping", field="mapping") from None
    if "parent_team_external_id" in cleaned and "team_name" not in cleaned:
        raise DomainError(
            "Map team_name too: teams are taken from the people rows only with their names.",
            code="wrong_mapping",
            field="mapping",
        )
    return cleaned


def directory_source_save(
    *, name: str, kind: str, mapping: Mapping[str, str], saved_by: User | None
) -> DirectorySource:
    """Create or replace the saved mapping called `name` (checked first)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("A mapping name has 1 to 100 characters.", field="save_mapping_as")
    cleaned = directory_mapping_check(kind=kind, mapping=mapping)
    source = DirectorySource.objects.select_for_update().filter(name=name).first()
    if source is None:
        return DirectorySource.objects.create(
            name=name, kind=kind, mapping=cleaned, created_by=saved_by
        )
    if source.kind != kind:
        raise DomainError(
            f"The saved mapping {name!r} is for {source.kind}, not {kind}.",
            field="save_mapping_as",
        )
    source.mapping = cleaned
    source.save(update_fields=["mapping", "updated_at"])
    return source


def rows_to_csv(kind: str, rows: Iterable[Mapping[str, Any]], *, mapped: bool = False) -> bytes:
    """Turn API rows (dicts) into the CSV a file upload would hold: one pipeline for both.

    With `mapped`, the rows carry the source's own names: every key becomes a column, in the
    order first seen.
    """
    required, optional = directory_columns(kind)
    rows = list(rows)
    if mapped:
        header = list(dict.fromkeys(key for row in rows for key in row))
    else:
        extra = sorted({key for row in rows for key in row} - set(required) - set(optional))
        header = list(required) + [c for c in optional if any(c in row for row in rows)] + extra
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(column) is None else row.get(column) for column in header])
    return buffer.getvalue().encode("utf-8")


class FileTooLarge(DomainError):
    status = 413
    code = "file_too_large"


def directory_upload_check_size(size: int) -> None:
    """Raise FileTooLarge (HTTP 413) for an upload over CXC_DIRECTORY_SYNC_MAX_BYTES."""
    try:
        check_size(size, settings.CXC_DIRECTORY_SYNC_MAX_BYTES)
    except CSVFileError as exc:
        raise FileTooLarge(exc.error.reason, field="file") from None


@transaction.atomic
def directory_sync_start(
    *,
    kind: str,
    content: bytes | IO[bytes],
    file_name: str = "",
    requested_by: User | None,
    confirm_deactivation: bool = False,
    mapping: Mapping[str, str] | None = None,
    source: DirectorySource | None = None,
    save_mapping_as: str = "",
    wait_for_mapping: bool = False,
) -> DirectorySync:
    """Record a sync and apply it: in this request when small, by a Celery worker when large.

    With a `mapping` (target -> the file's header) or a saved `source`, the file keeps its own
    headers; a sent mapping wins over the source's, and `save_mapping_as` keeps it under a
    name for next time. A bad mapping is refused (400 on `mapping`) before anything is stored.
    `wait_for_mapping` stores the file with status needs_mapping, for the page's mapping step.
    """
    if kind not in DirectorySync.Kind.values:
        raise DomainError(f"Unknown kind {kind!r}: use teams or employees.", field="kind")
    data = content if isinstance(content, bytes) else content.read()
    directory_upload_check_size(len(data))
    if source is not None and source.kind != kind:
        raise DomainError(
            f"The saved mapping {source.name!r} is for {source.kind}, not {kind}.", field="source"
        )
    if mapping is None and source is not None:
        mapping = source.mapping
    cleaned: dict[str, str] = {}
    if mapping is not None and not wait_for_mapping:
        cleaned = directory_mapping_check(kind=kind, mapping=mapping, content=data)
        if save_mapping_as:
            source = directory_source_save(
                name=save_mapping_as, kind=kind, mapping=cleaned, saved_by=requested_by
            )
    sync = DirectorySync.objects.create(
        kind=kind,
        content=data,
        file_name=file_name,
        requested_by=requested_by,
        confirm_deactivation=confirm_deactivation,
        mapping=cleaned,
        source=source,
        status=(
            DirectorySync.Status.NEEDS_MAPPING if wait_for_mapping else DirectorySync.Status.PENDING
        ),
    )
    if wait_for_mapping:
        return sync
    return _apply_now_or_later(sync, size=len(data))


def directory_header_is_foreign(*, content: bytes) -> bool:
    """True when the file is an export from another system, not a file in our column names:
    it has no `external_id` column (the key every sync matches on). A file with our key and a
    mistake in another column is checked as it is, so the mistake is named; a file whose header
    cannot be read is not foreign either, so the sync reports why."""
    try:
        header = {normalise_header(name) for name in read_header(io.BytesIO(content))}
    except CSVFileError:
        return False
    return "external_id" not in header


def directory_sync_header(*, sync: DirectorySync) -> list[str]:
    """The headers of a sync's file, as written (for the mapping step)."""
    try:
        return read_header(io.BytesIO(bytes(sync.content)))
    except CSVFileError as exc:
        raise DomainError(exc.error.reason, code=exc.code, field="file") from None


def directory_sync_first_row(*, sync: DirectorySync) -> dict[str, str]:
    """Header -> its value in the first row of a sync's file, to show what a column holds."""
    try:
        header, first = read_preview(io.BytesIO(bytes(sync.content)))
    except CSVFileError:
        return {}
    return dict(zip(header, first, strict=True))


@transaction.atomic
def directory_sync_map(
    *,
    sync: DirectorySync,
    mapping: Mapping[str, str],
    save_mapping_as: str = "",
    saved_by: User | None = None,
) -> DirectorySync:
    """Give a sync waiting for its mapping the mapping, then apply it as when it was sent."""
    locked = DirectorySync.objects.select_for_update().get(pk=sync.pk)
    if locked.status != DirectorySync.Status.NEEDS_MAPPING:
        raise ConflictError("Only a sync waiting for its column mapping can be mapped.")
    content = bytes(locked.content)
    cleaned = directory_mapping_check(kind=locked.kind, mapping=mapping, content=content)
    if save_mapping_as:
        locked.source = directory_source_save(
            name=save_mapping_as, kind=locked.kind, mapping=cleaned, saved_by=saved_by
        )
    locked.mapping = cleaned
    locked.status = DirectorySync.Status.PENDING
    locked.save(update_fields=["mapping", "status", "source", "updated_at"])
    return _apply_now_or_later(locked, size=len(content))


def _apply_now_or_later(sync: DirectorySync, *, size: int) -> DirectorySync:
    """Apply a pending sync in this request when small, or after commit by a Celery worker."""
    from .tasks import directory_sync_apply_task

    if size <= settings.CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES:
        return directory_sync_apply(sync_id=sync.pk)
    sync_id = sync.pk
    transaction.on_commit(lambda: directory_sync_apply_task.delay(sync_id))
    return sync


def superseded_message(sync: DirectorySync, newer: DirectorySync, doing: str) -> str:
    return (
        f"A newer {sync.get_kind_display().lower()} sync (#{newer.pk}) was sent after this one; "
        f"{doing} this one would undo it. Send this file again if it is still right."
    )


@transaction.atomic
def directory_sync_confirm(*, sync: DirectorySync) -> DirectorySync:
    """Apply a sync that stopped because it would deactivate many people, while it is still the
    latest of its kind: a newer sync (applied, or on its way) would be undone by it (409).

    A large file goes back to a worker, as when it was first sent.
    """
    newer = directory_sync_superseded_by(sync)
    if newer is not None:
        raise ConflictError(superseded_message(sync, newer, "confirming"), code="superseded")
    updated = DirectorySync.objects.filter(
        pk=sync.pk, status=DirectorySync.Status.NEEDS_CONFIRMATION
    ).update(status=DirectorySync.Status.PENDING, confirm_deactivation=True)
    if not updated:
        raise ConflictError("Only a sync waiting for confirmation can be confirmed.")
    size = (
        DirectorySync.objects.filter(pk=sync.pk)
        .annotate(size=Length("content"))
        .values_list("size", flat=True)
        .get()
    )
    sync.refresh_from_db(fields=["status", "confirm_deactivation", "updated_at"])
    return _apply_now_or_later(sync, size=size or 0)


def directory_sync_cancel(*, sync: DirectorySync) -> DirectorySync:
    updated = DirectorySync.objects.filter(
        pk=sync.pk,
        status__in=[
            DirectorySync.Status.NEEDS_CONFIRMATION,
            DirectorySync.Status.NEEDS_MAPPING,
            DirectorySync.Status.PENDING,
        ],
    ).update(status=DirectorySync.Status.CANCELLED, finished_at=timezone.now(), content=b"")
    if not updated:
        raise ConflictError("This sync has finished and cannot be cancelled.")
    sync.refresh_from_db()
    return sync


def directory_syncs_expire(*, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Cancel syncs left waiting for confirmation or a mapping, so stale snapshots are never
    applied."""
    cutoff = timezone.now() - older_than
    return DirectorySync.objects.filter(
        status__in=[DirectorySync.Status.NEEDS_CONFIRMATION, DirectorySync.Status.NEEDS_MAPPING],
        updated_at__lt=cutoff,
    ).update(status=DirectorySync.Status.CANCELLED, finished_at=timezone.now(), content=b"")


@dataclass
class _SyncPlan:
    errors: list[RowError] = field(default_factory=list)
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    # Target -> the file's own header: errors name the column the way the file does.
    columns: dict[str, str] = field(default_factory=dict)
    # Teams taken from the people rows of a mapped file: (created, updated, unchanged).
    teams: tuple[int, int, int] | None = None

    def reject(self, row: int, column: str, reason: str) -> None:
        self.errors.append(RowError(row, self.columns.get(column, column), reason))


@transaction.atomic
def directory_sync_apply(*, sync_id: int) -> DirectorySync:
    """Validate every row, then apply the whole sync in this transaction, or nothing.

    Safe to run twice: only a pending sync is applied, and its row is locked meanwhile.
    """
    sync = DirectorySync.objects.select_for_update().get(pk=sync_id)
    if sync.status != DirectorySync.Status.PENDING:
        return sync
    # A worker may get to a sync after a newer one of its kind was applied: it would undo it.
    newer = directory_sync_superseded_by(sync, statuses=(DirectorySync.Status.APPLIED,))
    if newer is not None:
        sync.status = DirectorySync.Status.CANCELLED
        sync.message = superseded_message(sync, newer, "applying")
        sync.content, sync.finished_at = b"", timezone.now()
        sync.save()
        return sync
    plan = _SyncPlan(columns=dict(sync.mapping or {}))
    try:
        with transaction.atomic():
            if sync.kind == DirectorySync.Kind.TEAMS:
                _apply_teams(sync, plan)
            else:
                _apply_employees(sync, plan)
            if plan.errors:
                raise _Rejected
    except CSVFileError as exc:
        plan.errors = [exc.error]
        sync.message = exc.error.reason
    except _Rejected:
        sync.message = f"{len(plan.errors)} row(s) rejected; nothing was changed."
    except _NeedsConfirmation as exc:
        sync.status = DirectorySync.Status.NEEDS_CONFIRMATION
        sync.message = str(exc)

    sync.rows_total = plan.rows_total
    sync.errors = [error.as_dict() for error in plan.errors[:MAX_REPORTED_ERRORS]]
    if sync.status == DirectorySync.Status.NEEDS_CONFIRMATION:
        sync.created_count = sync.updated_count = sync.unchanged_count = 0
        sync.deactivated_count = plan.deactivated
    elif plan.errors:
        sync.status = DirectorySync.Status.REJECTED
        sync.created_count = sync.updated_count = sync.unchanged_count = 0
        sync.deactivated_count = 0
        sync.content = b""
        sync.finished_at = timezone.now()
    else:
        sync.status = DirectorySync.Status.APPLIED
        sync.created_count, sync.updated_count = plan.created, plan.updated
        sync.unchanged_count, sync.deactivated_count = plan.unchanged, plan.deactivated
        sync.message = (
            f"{plan.created} created, {plan.updated} updated, {plan.unchanged} unchanged, "
            f"{plan.deactivated} deactivated."
        )
        if plan.teams is not None:
            sync.message = (
                "Teams: {} created, {} updated, {} unchanged. People: ".format(*plan.teams)
                + sync.message
            )
        sync.content = b""
        sync.finished_at = timezone.now()
    sync.save()
    if sync.status == DirectorySync.Status.APPLIED:
        audit_record(
            actor=sync.requested_by,
            action="directory_sync_applied",
            target=sync,
            details={"message": sync.message},
        )
    return sync


class _Rejected(Exception):
    pass


class _NeedsConfirmation(Exception):
    pass


def _parse_bool(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _read_rows(sync: DirectorySync) -> Iterable[tuple[int, dict[str, str]]]:
    """The sync's rows keyed by our column names (through its mapping, when it has one)."""
    if sync.mapping:
        required, optional = directory_mapping_targets(sync.kind)
    else:
        required, optional = directory_columns(sync.kind)
    return read_csv(
        io.BytesIO(bytes(sync.content)),
        required=required,
        optional=optional,
        mapping=sync.mapping or None,
    )


def _apply_teams(sync: DirectorySync, plan: _SyncPlan) -> None:
    rows: list[tuple[int, dict[str, str]]] = []
    for row_number, row in _read_rows(sync):
        plan.rows_total += 1
        if "__error__" in row:
            plan.reject(row_number, "", row["__error__"])
            continue
        rows.append((row_number, row))
    _apply_team_rows(rows, plan)


def _derive_teams(rows: list[tuple[int, dict[str, str]]], plan: _SyncPlan) -> None:
    """Create and update the teams that a people file carries on its rows (team_external_id,
    team_name, parent_team_external_id, parent_team_name), before the people are checked.

    Rows that disagree about a team (two names, two parents) are rejected; a parent that only
    appears as a parent gets its name from parent_team_name and keeps its own place in the tree.
    """
    to_team = {"external_id": "team_external_id", "name": "team_name"}
    to_team["parent_external_id"] = "parent_team_external_id"
    team_plan = _SyncPlan(columns={ours: plan.columns.get(t, t) for ours, t in to_team.items()})
    teams: dict[str, tuple[int, dict[str, str]]] = {}
    for row_number, row in rows:
        if "__error__" in row or not row.get("team_external_id"):
            continue  # the people pass reports these
        team_row = {"external_id": row["team_external_id"], "name": row.get("team_name", "")}
        if "parent_team_external_id" in row:
            team_row["parent_external_id"] = row["parent_team_external_id"]
        first = teams.get(team_row["external_id"])
        if first is None:
            teams[team_row["external_id"]] = (row_number, team_row)
            continue
        first_row, first_team = first
        for ours, target in to_team.items():
            if ours in team_row and team_row[ours] != first_team[ours] and first_team[ours]:
                plan.reject(
                    row_number,
                    target,
                    f"Team {team_row['external_id']!r} has {first_team[ours]!r} here on row "
                    f"{first_row}.",
                )
            elif ours in team_row and not first_team[ours]:
                first_team[ours] = team_row[ours]
    existing = set(Team.objects.values_list("external_id", flat=True))
    for row_number, row in rows:
        parent = row.get("parent_team_external_id", "")
        if (
            parent
            and parent not in teams
            and parent not in existing
            and row.get("parent_team_name")
        ):
            teams[parent] = (row_number, {"external_id": parent, "name": row["parent_team_name"]})
    if plan.errors:
        return
    _apply_team_rows(list(teams.values()), team_plan)
    plan.errors += team_plan.errors
    plan.teams = (team_plan.created, team_plan.updated, team_plan.unchanged)


def _apply_team_rows(rows_in: list[tuple[int, dict[str, str]]], plan: _SyncPlan) -> None:
    existing = {team.external_id: team for team in Team.objects.all()}
    seen: dict[str, int] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    for row_number, row in rows_in:
        external_id = row["external_id"]
        if not external_id:
            plan.reject(row_number, "external_id", "Required.")
            continue
        if len(external_id) > 100:
            plan.reject(row_number, "external_id", "At most 100 characters.")
            continue
        if external_id in seen:
            plan.reject(
                row_number,
                "external_id",
                f"Duplicate external id {external_id!r} (first on row {seen[external_id]}).",
            )
            continue
        seen[external_id] = row_number
        if not row["name"]:
            plan.reject(row_number, "name", "Required.")
            continue
        if len(row["name"]) > 200:
            plan.reject(row_number, "name", "At most 200 characters.")
            continue
        rows.append((row_number, row))

    # Parents may be defined anywhere in the file or already exist.
    ext_by_id = {team.id: ext for ext, team in existing.items()}
    parent_of: dict[str, str | None] = {
        ext: ext_by_id.get(team.parent_id) if team.parent_id else None
        for ext, team in existing.items()
    }
    for row_number, row in rows:
        if "parent_external_id" not in row:
            # Without the column the file does not say where teams sit: they stay put.
            parent_of.setdefault(row["external_id"], None)
            continue
        parent_ext = row["parent_external_id"] or None
        if parent_ext and parent_ext not in seen and parent_ext not in existing:
            plan.reject(row_number, "parent_external_id", f"Unknown team {parent_ext!r}.")
            continue
        if parent_ext == row["external_id"]:
            plan.reject(row_number, "parent_external_id", "A team cannot be its own parent.")
            continue
        parent_of[row["external_id"]] = parent_ext
    for row_number, row in rows:
        node: str | None = row["external_id"]
        steps = 0
        while node is not None and steps <= len(parent_of):
            node, steps = parent_of.get(node), steps + 1
        if node is not None:
            plan.reject(row_number, "parent_external_id", "This parent would make a cycle.")
    if plan.errors:
        return

    by_ext = dict(existing)
    for _, row in rows:
        team = by_ext.get(row["external_id"])
        if team is None:
            by_ext[row["external_id"]] = Team.objects.create(
                name=row["name"], external_id=row["external_id"]
            )
            plan.created += 1
    changed = []
    for _, row in rows:
        team = by_ext[row["external_id"]]
        parent_ext = parent_of[row["external_id"]]
        parent_id = by_ext[parent_ext].id if parent_ext else None
        is_new = team.path == ""
        if team.name != row["name"] or team.parent_id != parent_id or not team.is_active:
            team.name, team.parent_id, team.is_active = row["name"], parent_id, True
            changed.append(team)
            if not is_new:
                plan.updated += 1
        elif not is_new:
            plan.unchanged += 1
    Team.objects.bulk_update(changed, ["name", "parent", "is_active"], batch_size=500)
    team_paths_rebuild()


def _apply_employees(sync: DirectorySync, plan: _SyncPlan) -> None:
    """Check every row, then create, update and deactivate people.

    An optional column that the file does not have leaves that field as it is (a file without
    `manages` does not take anyone's teams away); `is_active` defaults to yes, since the file
    is the full list of people.
    """
    rows = list(_read_rows(sync))
    if "team_name" in (sync.mapping or {}):
        _derive_teams(rows, plan)
        if plan.errors:
            plan.rows_total = len(rows)
            return
    teams = {team.external_id: team for team in Team.objects.filter(is_active=True)}
    existing = {
        employee.external_id: employee
        for employee in Employee.objects.select_related("user").prefetch_related("managed_teams")
    }
    by_user_id = {employee.user_id: employee for employee in existing.values()}
    users_by_username = {
        username.lower(): user_id
        for user_id, username in User.objects.values_list("id", "username")
    }
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    parsed: list[tuple[int, dict[str, Any]]] = []
    columns: set[str] = set()
    for row_number, row in rows:
        plan.rows_total += 1
        if "__error__" in row:
            plan.reject(row_number, "", row["__error__"])
            continue
        columns = set(row)
        errors_before = len(plan.errors)
        external_id = row["external_id"]
        if not external_id:
            plan.reject(row_number, "external_id", "Required.")
        elif len(external_id) > 100:
            plan.reject(row_number, "external_id", "At most 100 characters.")
        elif external_id in seen_ids:
            plan.reject(
                row_number,
                "external_id",
                f"Duplicate external id {external_id!r} (first on row {seen_ids[external_id]}).",
            )
        else:
            seen_ids[external_id] = row_number
        email = row["email"]
        try:
            validate_email(email)
        except ValidationError:
            plan.reject(row_number, "email", f"{email!r} is not a valid email address.")
        else:
            username = _username_for(email)
            if len(email) > EMAIL_MAX_LENGTH:
                # The email is also the username, which has this limit.
                plan.reject(row_number, "email", f"At most {EMAIL_MAX_LENGTH} characters.")
            elif username in seen_emails:
                plan.reject(
                    row_number,
                    "email",
                    f"Duplicate email {email!r} (first on row {seen_emails[username]}).",
                )
            else:
                seen_emails[username] = row_number
                owner = existing.get(external_id)
                user_id = users_by_username.get(username)
                if user_id is not None and (owner is None or owner.user_id != user_id):
                    if user_id in by_user_id:
                        plan.reject(row_number, "email", f"{email!r} belongs to another person.")
                    elif owner is not None:
                        # A new person may take over an account nobody is linked to (one made
                        # in the admin, say); an existing person cannot be given its username.
                        plan.reject(row_number, "email", f"{email!r} belongs to another account.")
        for column in ("first_name", "last_name"):
            if len(row[column]) > 150:
                plan.reject(row_number, column, "At most 150 characters.")
        team = teams.get(row["team_external_id"])
        if not row["team_external_id"]:
            plan.reject(row_number, "team_external_id", "Required.")
        elif team is None:
            plan.reject(
                row_number, "team_external_id", f"Unknown team {row['team_external_id']!r}."
            )
        hire_date = None
        if row.get("hire_date"):
            try:
                hire_date = dt.date.fromisoformat(row["hire_date"])
            except ValueError:
                reason = f"{row['hire_date']!r} is not a YYYY-MM-DD date."
                plan.reject(row_number, "hire_date", reason)
        flags: dict[str, bool] = {}
        for column, default in (
            ("is_front_line", False),
            ("is_active", True),
            ("is_manager", False),
        ):
            flag = _parse_bool(row.get(column, "")) if row.get(column, "") else default
            if flag is None:
                plan.reject(row_number, column, f"{row[column]!r} is not yes/no.")
            flags[column] = bool(flag)
        manages = [
            ext.strip()
            for ext in (row.get("manages") or "").replace(",", ";").split(";")
            if ext.strip()
        ]
        if flags["is_manager"] and team is not None:
            manages.append(row["team_external_id"])
        unknown = [ext for ext in manages if ext not in teams]
        if unknown:
            plan.reject(row_number, "manages", f"Unknown team(s): {', '.join(unknown)}.")
        for column in ("title", "role_family", "location"):
            limit = 200 if column == "title" else 100
            if len(row.get(column, "")) > limit:
                plan.reject(row_number, column, f"At most {limit} characters.")
        if len(plan.errors) == errors_before:
            parsed.append(
                (
                    row_number,
                    {
                        "external_id": external_id,
                        "email": email,
                        "first_name": row["first_name"],
                        "last_name": row["last_name"],
                        "team": team,
                        "title": row.get("title", ""),
                        "role_family": row.get("role_family", ""),
                        "location": row.get("location", ""),
                        "hire_date": hire_date,
                        "is_front_line": flags["is_front_line"],
                        "is_active": flags["is_active"],
                        "manages": [teams[ext] for ext in dict.fromkeys(manages)],
                    },
                )
            )
    if plan.errors:
        return

    # The file is the full list of people: active people missing from it are deactivated.
    in_file = {data["external_id"]: data for _, data in parsed}
    to_deactivate = [
        employee
        for ext, employee in existing.items()
        if employee.is_active and (ext not in in_file or not in_file[ext]["is_active"])
    ]
    active_now = sum(1 for employee in existing.values() if employee.is_active)
    plan.deactivated = len(to_deactivate)
    share = settings.CXC_DIRECTORY_SYNC_DEACTIVATION_CONFIRM_SHARE
    # Compared as exact fractions, so "40% of 10" is 4 and not 4.000000000000001.
    over_share = len(to_deactivate) > Fraction(str(share)) * active_now
    if active_now and over_share and not sync.confirm_deactivation:
        raise _NeedsConfirmation(
            f"This sync would deactivate {len(to_deactivate)} of {active_now} active people "
            f"({len(to_deactivate) / active_now:.0%}), more than {share:.0%}. "
            "Confirm to apply it, or cancel and check the file."
        )

    synced_fields = ["team"] + [
        name for name in EMPLOYEE_FIELDS if name != "team" and name in columns
    ]
    syncs_manages = "manages" in columns or "is_manager" in columns
    employee_group, _ = Group.objects.get_or_create(name=Role.EMPLOYEE)
    manager_group, _ = Group.objects.get_or_create(name=Role.MANAGER)
    created_active: list[int] = []
    for _, data in parsed:
        employee = existing.get(data["external_id"])
        wanted_managed = {team.pk for team in data["manages"]}
        if employee is None:
            username = _username_for(data["email"])
            user_id = users_by_username.get(username)
            user = User.objects.get(pk=user_id) if user_id else User(username=username)
            user.email, user.first_name, user.last_name = (
                data["email"],
                data["first_name"],
                data["last_name"],
            )
            user.is_active = data["is_active"]
            if user.pk is None:
                user.set_unusable_password()
            user.save()
            user.groups.add(employee_group)
            employee = Employee.objects.create(
                user=user,
                external_id=data["external_id"],
                **{name: data[name] for name in EMPLOYEE_FIELDS},
                is_active=data["is_active"],
            )
            plan.created += 1
            if data["is_active"]:
                created_active.append(employee.pk)
            current_managed: set[int] = set()
        else:
            user = employee.user
            changed_user = [name for name in USER_FIELDS if getattr(user, name) != data[name]]
            if user.is_active != data["is_active"]:
                changed_user.append("is_active")
            changed_employee = [
                name
                for name in synced_fields
                if (employee.team_id if name == "team" else getattr(employee, name))
                != (data["team"].pk if name == "team" else data[name])
            ]
            if employee.is_active != data["is_active"]:
                changed_employee.append("is_active")
            current_managed = {team.pk for team in employee.managed_teams.all()}
            if not syncs_manages:
                wanted_managed = current_managed
            if not (changed_user or changed_employee or current_managed != wanted_managed):
                plan.unchanged += 1
                continue
            if changed_user:
                for name in changed_user:
                    setattr(user, name, data[name])
                if "email" in changed_user:
                    user.username = _username_for(data["email"])
                    changed_user.append("username")
                user.save(update_fields=changed_user)
            if changed_employee:
                for name in changed_employee:
                    setattr(employee, name, data[name])
                employee.save(update_fields=[*changed_employee, "updated_at"])
            plan.updated += 1
        if wanted_managed != current_managed:
            employee.managed_teams.set(data["manages"])
            if data["manages"]:
                user.groups.add(manager_group)
            else:
                user.groups.remove(manager_group)
            forget_viewer(user)

    missing_ids = [employee.pk for employee in to_deactivate if employee.external_id not in in_file]
    if missing_ids:
        Employee.objects.filter(pk__in=missing_ids).update(
            is_active=False, updated_at=timezone.now()
        )
        User.objects.filter(employee__pk__in=missing_ids).update(is_active=False)
    if created_active and settings.CXC_DIRECTORY_SYNC_SEND_INVITATIONS:
        # New people get an invitation to choose a password once the sync commits; only
        # those without one (someone taking over an existing account keeps theirs).
        _invite_later(created_active, timezone.now())
    if to_deactivate:
        api_tokens_revoke(user_ids=[employee.user_id for employee in to_deactivate])


# --- API tokens ----------------------------------------------------------------------------------


@transaction.atomic
def api_token_create(*, user: User) -> tuple[ApiToken, str]:
    """Issue an API token for `user` and return it with its key, which is shown this once: only
    its digest is kept. It lasts `CXC_API_TOKEN_TTL_HOURS`. The user's expired tokens go."""
    ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return ApiToken.objects.create(user=user, password_fingerprint=password_fingerprint(user))


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    """Sign one API client out: its token stops working at once."""
    ApiToken.objects.filter(pk=token.pk).delete()


@transaction.atomic
def api_tokens_revoke(*, user_ids: Iterable[int]) -> int:
    """End every API token of these users (signing out everywhere, deactivation); returns how
    many there were."""
    deleted, _ = ApiToken.objects.filter(user_id__in=list(user_ids)).delete()
    return deleted
