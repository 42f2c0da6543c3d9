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


# --- HR administration: rewards, budgets, programmes, questions and drivers -------------------
#
# Each entry stores the names it was written with, so its sentence still reads when the reward,
# programme or question is gone; while it exists, its current name is shown (like the rest of
# the log).


def _named(event: AuditEvent, names: Names, key: str = "name", attribute: str = "name") -> str:
    """The target's current name, else the name stored with the event."""
    target = names.target(event)
    name = getattr(target, attribute, None) if target is not None else None
    name = name or event.details.get(key)
    if not name:
        raise _Unreadable
    return str(name)


def _quoted(text: Any) -> str:
    return f"“{text}”"


def _stock(stock: Any) -> str:
    return "unlimited" if stock is None else str(stock)


def _field_change(field_name: str, old: Any, new: Any) -> str:
    """ "the price from 50 to 80 points", "the stock from 10 to unlimited"."""
    if field_name == "cost_points":
        return f"the price from {old} to {_points(new)}"
    if field_name == "stock":
        return f"the stock from {_stock(old)} to {_stock(new)}"
    if field_name == "description":
        return "the description"
    return f"the {field_name.replace('_', ' ')} from {_quoted(old)} to {_quoted(new)}"


# The order a change's fields are told in, as the forms show them. PostgreSQL's jsonb keeps no
# key order, so the stored order cannot be the one read back.
FIELD_ORDER = [
    "name",
    "text",
    "description",
    "cost_points",
    "stock",
    "kind",
    "driver",
    "options",
    "questions",
    "cadence",
    "audience",
    "teams",
    "starts_on",
    "run_length_days",
    "anonymity_threshold",
    "comment_threshold",
    "is_organisation_wide",
]


def _changes(event: AuditEvent) -> dict[str, Any]:
    changes = event.details.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise _Unreadable
    known = {field: position for position, field in enumerate(FIELD_ORDER)}
    return dict(sorted(changes.items(), key=lambda item: (known.get(item[0], len(known)), item[0])))


@sentence(AuditEvent.Action.REWARD_CREATED)
def _reward_created(event: AuditEvent, names: Names) -> str:
    name = _named(event, names)
    details = event.details
    text = f"{names.actor(event)} added the reward {_quoted(name)}"
    if isinstance(details.get("cost_points"), int):
        text += f" at {_points(details['cost_points'])}"
        text += f", stock {_stock(details.get('stock'))}"
    return text


@sentence(AuditEvent.Action.REWARD_CHANGED)
def _reward_changed(event: AuditEvent, names: Names) -> str:
    changes = _changes(event)
    # Named as it was before the change, so a rename reads "renamed “A” to “B”".
    name = event.details.get("name") or _named(event, names)
    parts = [_field_change(key, *value) for key, value in changes.items()]
    return f"{names.actor(event)} changed {_and(parts)} of the reward {_quoted(name)}"


@sentence(AuditEvent.Action.REWARD_RETIRED)
def _reward_retired(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} retired the reward {_quoted(_named(event, names))}"


@sentence(AuditEvent.Action.REWARD_RESTORED)
def _reward_restored(event: AuditEvent, names: Names) -> str:
    name = _quoted(_named(event, names))
    return f"{names.actor(event)} brought the reward {name} back to the catalogue"


@sentence(AuditEvent.Action.REWARD_DELETED)
def _reward_deleted(event: AuditEvent, names: Names) -> str:
    name = _quoted(_named(event, names))
    return f"{names.actor(event)} deleted the reward {name} (never redeemed)"


@sentence(AuditEvent.Action.BUDGET_SET)
def _budget_set(event: AuditEvent, names: Names) -> str:
    manager = _target(event, names)
    old, new = event.details.get("from"), event.details.get("to")
    if not isinstance(new, int):
        raise _Unreadable
    who = manager.display_name
    if old is None:
        return f"{names.actor(event)} gave {who} a monthly reward budget of {_points(new)}"
    actor = names.actor(event)
    return f"{actor} changed {who}'s monthly reward budget from {old} to {_points(new)}"


@sentence(AuditEvent.Action.BUDGET_TOPPED_UP)
def _budget_topped_up(event: AuditEvent, names: Names) -> str:
    manager = _target(event, names)
    points = event.details.get("points")
    if not isinstance(points, int):
        raise _Unreadable
    return (
        f"{names.actor(event)} topped up {manager.display_name}'s reward budget by "
        f"{_points(points)} before the 1st"
    )


def _programme(event: AuditEvent, names: Names) -> str:
    return _quoted(_named(event, names))


@sentence(AuditEvent.Action.PROGRAM_CREATED)
def _program_created(event: AuditEvent, names: Names) -> str:
    count = event.details.get("questions")
    asks = f" asking {count} questions" if isinstance(count, int) else ""
    return f"{names.actor(event)} created the survey programme {_programme(event, names)}{asks}"


PROGRAM_FIELD_WORDS = {
    "name": "the name",
    "description": "the description",
    "audience": "the audience",
    "cadence": "the cadence",
    "starts_on": "the first day",
    "run_length_days": "the run length (days)",
    "is_organisation_wide": "organisation-wide",
    "teams": "the teams",
}


def _program_change(field_name: str, value: Any) -> str:
    if field_name == "questions":
        added, removed = value.get("added") or [], value.get("removed") or []
        parts = []
        if added:
            parts.append(f"added {_and(_quoted(text) for text in added)}")
        if removed:
            parts.append(f"removed {_and(_quoted(text) for text in removed)}")
        return _and(parts)
    old, new = value
    what = PROGRAM_FIELD_WORDS.get(field_name, field_name.replace("_", " "))
    if field_name == "description":
        return "changed the description"
    if field_name == "is_organisation_wide":
        return "made it organisation-wide" if new else "made it no longer organisation-wide"
    return f"changed {what} from {_value(old)} to {_value(new)}"


@sentence(AuditEvent.Action.PROGRAM_CHANGED)
def _program_changed(event: AuditEvent, names: Names) -> str:
    changes = _changes(event)
    name = _quoted(event.details.get("name") or _named(event, names))
    parts = [_program_change(key, value) for key, value in changes.items()]
    return f"{names.actor(event)} edited the survey programme {name}: {'; '.join(parts)}"


@sentence(AuditEvent.Action.PROGRAM_PAUSED)
def _program_paused(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} paused the survey programme {_programme(event, names)}"


@sentence(AuditEvent.Action.PROGRAM_RESUMED)
def _program_resumed(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} resumed the survey programme {_programme(event, names)}"


@sentence(AuditEvent.Action.PROGRAM_ARCHIVED)
def _program_archived(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} archived the survey programme {_programme(event, names)}"


@sentence(AuditEvent.Action.PROGRAM_RESTORED)
def _program_restored(event: AuditEvent, names: Names) -> str:
    name = _programme(event, names)
    return f"{names.actor(event)} brought the survey programme {name} back from the archive"


@sentence(AuditEvent.Action.PROGRAM_DELETED)
def _program_deleted(event: AuditEvent, names: Names) -> str:
    name = _programme(event, names)
    return f"{names.actor(event)} deleted the survey programme {name} (it had no results)"


def _question(event: AuditEvent, names: Names) -> str:
    return _quoted(_named(event, names, key="text", attribute="text"))


QUESTION_FIELD_WORDS = {"text": "the wording", "driver": "the driver", "kind": "the kind"}


@sentence(AuditEvent.Action.QUESTION_CREATED)
def _question_created(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} added the question {_question(event, names)}"


@sentence(AuditEvent.Action.QUESTION_CHANGED)
def _question_changed(event: AuditEvent, names: Names) -> str:
    changes = _changes(event)
    old_text = _quoted(event.details.get("text") or _named(event, names, "text", "text"))
    parts = []
    for key, (old, new) in changes.items():
        if key == "options":
            parts.append("its options")
        else:
            what = QUESTION_FIELD_WORDS.get(key, key)
            parts.append(f"{what} from {_quoted(old)} to {_quoted(new)}")
    return f"{names.actor(event)} changed {_and(parts)} of the question {old_text}"


@sentence(AuditEvent.Action.QUESTION_RETIRED)
def _question_retired(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} switched off the question {_question(event, names)}"


@sentence(AuditEvent.Action.QUESTION_RESTORED)
def _question_restored(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} switched the question {_question(event, names)} back on"


def _driver(event: AuditEvent, names: Names) -> str:
    return _quoted(_named(event, names, key="label", attribute="label"))


@sentence(AuditEvent.Action.DRIVER_CREATED)
def _driver_created(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} added the driver {_driver(event, names)}"


@sentence(AuditEvent.Action.DRIVER_RENAMED)
def _driver_renamed(event: AuditEvent, names: Names) -> str:
    old, new = event.details.get("from"), event.details.get("to")
    if not old or not new:
        raise _Unreadable
    return f"{names.actor(event)} renamed the driver {_quoted(old)} to {_quoted(new)}"


@sentence(AuditEvent.Action.DRIVER_RETIRED)
def _driver_retired(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} retired the driver {_driver(event, names)}"


@sentence(AuditEvent.Action.DRIVER_RESTORED)
def _driver_restored(event: AuditEvent, names: Names) -> str:
    return f"{names.actor(event)} brought the driver {_driver(event, names)} back"
