"""The audit log in words: one sentence function per action, registered by action name.

"Hana Hughes (HR) approved Alex Rivera's redemption of Coffee voucher (50 points)" instead of
`redemption_approved recognition.redemption 12 {}`. A sentence function takes the event and the
`Names` loaded for the page it is on (so a page of events costs a fixed number of queries);
an action without one, or whose target is gone, gets `generic_sentence`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from cxculture.people.models import Employee, Role, Team

from .models import AuditEvent

ROLE_TAGS = {Role.HR_ADMIN: "HR", Role.EXECUTIVE: "executive", Role.MANAGER: "manager"}


@dataclass
class Names:
    """The people, teams and targets the events of one page name, keyed for lookup."""

    people: dict[int, Employee] = field(default_factory=dict)  # by user id
    employees: dict[int, Employee] = field(default_factory=dict)  # by employee id
    teams: dict[int, Team] = field(default_factory=dict)
    targets: dict[tuple[str, str], models.Model] = field(default_factory=dict)

    def target(self, event: AuditEvent) -> Any:
        return self.targets.get((event.target_type, event.target_id))

    def actor(self, event: AuditEvent) -> str:
        """The actor's name and, in brackets, their most powerful role: "Hana Hughes (HR)"."""
        user = event.actor
        if user is None:
            return "The system"
        person = self.people.get(user.pk)
        name = person.display_name if person else user.get_full_name() or user.get_username()
        groups = {group.name for group in user.groups.all()}
        tag = next((tag for role, tag in ROLE_TAGS.items() if role in groups), "")
        return f"{name} ({tag})" if tag else name

    def employee(self, pk: Any) -> str:
        person = self.employees.get(pk) if isinstance(pk, int) else None
        return person.display_name if person else f"person #{pk}"

    def team(self, pk: Any) -> str:
        team = self.teams.get(pk) if isinstance(pk, int) else None
        return team.name if team else f"team #{pk}"


Sentence = Callable[[AuditEvent, Names], str]
SENTENCES: dict[str, Sentence] = {}


def sentence(action: str) -> Callable[[Sentence], Sentence]:
    """Register the sentence function of `action`."""

    def register(function: Sentence) -> Sentence:
        SENTENCES[action] = function
        return function

    return register


class _Unreadable(Exception):
    """The event lacks what its sentence needs (its target was deleted, say)."""


def _target(event: AuditEvent, names: Names) -> Any:
    target = names.target(event)
    if target is None:
        raise _Unreadable
    return target


def describe(event: AuditEvent, names: Names) -> str:
    """The sentence of one event."""
    render = SENTENCES.get(event.action)
    if render is not None:
        try:
            return render(event, names)
        except _Unreadable:
            pass
    return generic_sentence(event, names)


def _label(event: AuditEvent) -> str:
    if event.action in AuditEvent.Action.values:
        return str(AuditEvent.Action(event.action).label)
    return event.action.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')} {_value(item)}" for key, item in value.items())
    return str(value)


def generic_sentence(event: AuditEvent, names: Names) -> str:
    """For actions without a sentence of their own: "Hana Hughes (HR): Roles changed — Alex
    Rivera (roles: employee)". Names the target when it still exists, else its kind and id."""
    target = names.target(event)
    if target is not None:
        what = str(target)
    elif event.target_type:
        what = f"{event.target_type.split('.')[-1]} #{event.target_id}"
    else:
        what = ""
    text = f"{names.actor(event)}: {_label(event)}"
    if what:
        text += f" — {what}"
    if event.details:
        details = ", ".join(
            f"{key.replace('_', ' ')}: {_value(value)}" for key, value in event.details.items()
        )
        text += f" ({details})"
    return text


def _and(parts: Iterable[str]) -> str:
    parts = list(parts)
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _points(points: int) -> str:
    return f"{points} point" if points == 1 else f"{points} points"


# --- Surveys -----------------------------------------------------------------------------------


@sentence(AuditEvent.Action.SURVEY_THRESHOLD_CHANGED)
def _threshold_changed(event: AuditEvent, names: Names) -> str:
    program = _target(event, names)
    try:
        (old_k, old_comments), (new_k, new_comments) = event.details["from"], event.details["to"]
    except (KeyError, TypeError, ValueError) as exc:
        raise _Unreadable from exc
    changes = []
    if old_k != new_k:
        changes.append(f"the anonymity threshold of {program.name} from {old_k} to {new_k}")
    if old_comments != new_comments:
        whose = "its comment threshold" if changes else f"the comment threshold of {program.name}"
        changes.append(f"{whose} from {old_comments} to {new_comments}")
    return f"{names.actor(event)} changed {_and(changes)}"


@sentence(AuditEvent.Action.SURVEY_RESULTS_EXPORTED)
def _results_exported(event: AuditEvent, names: Names) -> str:
    run = _target(event, names)
    details = event.details
    rows = details.get("rows")
    what = f"{rows} rows of the results" if isinstance(rows, int) else "the results"
    scope = dict(details.get("scope") or {})
    parts = []
    if "team" in scope:
        parts.append(f"team {names.team(scope.pop('team'))}")
    if "subtree" in scope:
        parts.append(f"{names.team(scope.pop('subtree'))} and the teams under it")
    parts += [f"{key.replace('_', ' ')} {_value(value)}" for key, value in scope.items()]
    where = {"api": " through the API", "page": " from the results page"}.get(
        details.get("via", ""), ""
    )
    text = f"{names.actor(event)} exported {what} of {run} as CSV{where}"
    return text + (f", for {_and(parts)}" if parts else "")


# --- Recognition and rewards -------------------------------------------------------------------


def _redemption(event: AuditEvent, names: Names) -> tuple[str, str]:
    """("Alex Rivera", "Coffee voucher (50 points)")."""
    redemption = _target(event, names)
    points = event.details.get("points", redemption.cost_points)
    return redemption.employee.display_name, f"{redemption.reward.name} ({_points(points)})"


@sentence(AuditEvent.Action.REDEMPTION_REQUESTED)
def _redemption_requested(event: AuditEvent, names: Names) -> str:
    person, reward = _redemption(event, names)
    return f"{person} asked for {reward}"


@sentence(AuditEvent.Action.REDEMPTION_APPROVED)
def _redemption_approved(event: AuditEvent, names: Names) -> str:
    person, reward = _redemption(event, names)
    return f"{names.actor(event)} approved {person}'s redemption of {reward}"


@sentence(AuditEvent.Action.REDEMPTION_REJECTED)
def _redemption_rejected(event: AuditEvent, names: Names) -> str:
    person, reward = _redemption(event, names)
    return f"{names.actor(event)} rejected {person}'s redemption of {reward}; the points went back"


@sentence(AuditEvent.Action.POINTS_REVERSED)
def _points_reversed(event: AuditEvent, names: Names) -> str:
    recognition = _target(event, names)
    receivers = _and(person.display_name for person in recognition.receivers.all())
    text = (
        f"{names.actor(event)} reversed {recognition.giver.display_name}'s recognition of "
        f"{receivers or 'nobody'} from {recognition.created_at:%-d %b %Y}"
    )
    if recognition.points_per_receiver:
        text += f" ({_points(recognition.points_per_receiver)} each)"
    reason = event.details.get("reason")
    return f"{text}: “{reason}”" if reason else text


# --- People and data -------------------------------------------------------------------------


@sentence(AuditEvent.Action.ROLES_CHANGED)
def _roles_changed(event: AuditEvent, names: Names) -> str:
    person = _target(event, names)
    roles = event.details.get("roles")
    if not isinstance(roles, list):
        raise _Unreadable
    labels = [str(Role(role).label) if role in Role.values else role for role in roles]
    labels = [label if label.startswith("HR") else label.lower() for label in labels]
    return f"{names.actor(event)} set {person.display_name}'s roles to {_and(labels) or 'none'}"


@sentence(AuditEvent.Action.TEAM_MANAGERS_CHANGED)
def _team_managers_changed(event: AuditEvent, names: Names) -> str:
    team = _target(event, names)
    managers = event.details.get("managers")
    if not isinstance(managers, list):
        raise _Unreadable
    if not managers:
        return f"{names.actor(event)} left {team.name} without a manager"
    who = _and(names.employee(pk) for pk in managers)
    role = "the manager" if len(managers) == 1 else "the managers"
    return f"{names.actor(event)} made {who} {role} of {team.name}"


@sentence(AuditEvent.Action.DIRECTORY_SYNC_APPLIED)
def _directory_sync_applied(event: AuditEvent, names: Names) -> str:
    sync = _target(event, names)
    source = f" from {sync.file_name}" if sync.file_name else ""
    kind = {"employees": "people", "teams": "teams"}.get(sync.kind, sync.kind)
    text = f"{names.actor(event)} applied a directory sync of {kind}"
    message = event.details.get("message")
    return f"{text}{source}: {message}" if message else text + source


@sentence(AuditEvent.Action.OUTCOME_IMPORT_CREATED)
def _outcome_import_created(event: AuditEvent, names: Names) -> str:
    job = _target(event, names)
    source = f" from {job.file_name}" if job.file_name else ""
    return f"{names.actor(event)} imported customer outcomes{source} (source {job.source})"
