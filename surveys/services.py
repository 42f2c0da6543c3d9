"""Every write of pulse surveys: questions, programs, runs, invitations, reminders, responses.

Anonymity rules that writes keep (DESIGN.md, "Survey anonymity"):
- `response_submit` is the only place that knows both a person and their answers, for the
  length of one transaction. It seals the answers (`SealedResponse`: encrypted, no time, fixed
  size) next to the claimed invitation, logs nothing, enqueues nothing and returns nothing
  that identifies the response.
- `survey_run_close` opens a run's sealed answers and stores them as responses, all in one
  transaction of their own, in random order, with teams and attributes coarsened so that each
  stored combination holds 0 or at least k respondents (`response_cells_for_storage`).
- Task messages carry invitation ids (for emails) and never an answer.
"""

import calendar
import datetime as dt
import io
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape as html_escape
from itertools import batched
from typing import Any, NamedTuple

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Count, Max, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from cxculture.audit.services import audit_record
from cxculture.lib import anonymity, sealing
from cxculture.lib.csvio import CSVFileError, RowError, check_size, read_csv
from cxculture.lib.errors import ConflictError, DomainError
from cxculture.people.models import Employee, Team

from . import drivers
from .models import (
    Answer,
    CustomDriver,
    Driver,
    Invitation,
    Question,
    Response,
    RunQuestion,
    RunSummary,
    SealedResponse,
    SurveyProgram,
    SurveyRun,
    TenureBand,
)
from .results import ATTRIBUTES, run_snapshot_forget
from .results.summary import summary_figures

TOKEN_SALT = "surveys.invitation"  # noqa: S105 - a signing salt (namespace), not a secret
MAX_TEXT_LENGTH = 2000
MAX_OPTIONS = 12

# About this many questions per run; eNPS and engagement items are always asked, and at least
# MIN_ROTATING others come round each run so every driver is covered over a cycle.
QUESTIONS_PER_RUN: dict[str, int | None] = {
    SurveyProgram.Cadence.WEEKLY: 4,
    SurveyProgram.Cadence.BIWEEKLY: 8,
    SurveyProgram.Cadence.MONTHLY: 16,
    SurveyProgram.Cadence.QUARTERLY: None,  # every question
}
MIN_ROTATING = 2
DEFAULT_RUN_LENGTH: dict[str, int] = {
    SurveyProgram.Cadence.WEEKLY: 5,
    SurveyProgram.Cadence.BIWEEKLY: 7,
    SurveyProgram.Cadence.MONTHLY: 7,
    SurveyProgram.Cadence.QUARTERLY: 14,
}
MAX_RUN_LENGTH: dict[str, int] = {
    SurveyProgram.Cadence.WEEKLY: 7,
    SurveyProgram.Cadence.BIWEEKLY: 14,
    SurveyProgram.Cadence.MONTHLY: 28,
    SurveyProgram.Cadence.QUARTERLY: 90,
}
# Reminders go to people who have not answered, on these days of a run (day 1 = opening day).
REMINDER_DAYS = (3, 5)


class LinkInvalid(DomainError):
    status = 404
    code = "invalid_link"


class RunNotOpen(ConflictError):
    code = "run_not_open"


class RunClosed(DomainError):
    status = 410
    code = "run_closed"


class NotInvited(DomainError):
    status = 403
    code = "not_invited"


# --- Questions ------------------------------------------------------------------------------------


def _clean_options(kind: str, options: Iterable[str]) -> list[str]:
    cleaned = [str(option).strip() for option in options if str(option).strip()]
    if kind != Question.Kind.SINGLE_CHOICE:
        if cleaned:
            raise DomainError("Only single-choice questions have options.", field="options")
        return []
    if not 2 <= len(cleaned) <= MAX_OPTIONS:
        raise DomainError(f"Give between 2 and {MAX_OPTIONS} options.", field="options")
    if len({option.lower() for option in cleaned}) != len(cleaned):
        raise DomainError("Options must differ from each other.", field="options")
    if any(len(option) > 200 for option in cleaned):
        raise DomainError("An option has at most 200 characters.", field="options")
    return cleaned


def _check_kind(driver: str, kind: str) -> None:
    if not drivers.is_driver(driver):
        raise DomainError(f"Unknown driver {driver!r}.", field="driver")
    if kind not in Question.Kind.values:
        raise DomainError(f"Unknown kind {kind!r}.", field="kind")
    if driver == Driver.ENPS and kind != Question.Kind.SCALE_0_10:
        raise DomainError("An eNPS question is asked on the 0-10 scale.", field="kind")


def _clean_driver_label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise DomainError("Name the driver.", field="label")
    if len(label) > 60:
        raise DomainError("A driver's name has at most 60 characters.", field="label")
    return label


@transaction.atomic
def custom_driver_create(*, label: str, actor: Any = None) -> CustomDriver:
    """Add a driver of HR's own (e.g. "Benefits") for custom questions to measure. Audited as
    `actor`'s (by default the signed-in user of the request)."""
    label = _clean_driver_label(label)
    code = slugify(label).replace("-", "_")[:30].strip("_")
    if not code:
        raise DomainError("Name the driver with letters or digits.", field="label")
    taken = {value.lower() for value in drivers.driver_labels().values()}
    if label.lower() in taken or drivers.is_driver(code):
        raise ConflictError(f"There is already a driver called {label!r}.", field="label")
    try:
        with transaction.atomic():
            driver = CustomDriver.objects.create(code=code, label=label)
    except IntegrityError:  # the same name added at the same moment
        raise ConflictError(f"There is already a driver called {label!r}.", field="label") from None
    audit_record(actor=actor, action="driver_created", target=driver, details={"label": label})
    return driver


@transaction.atomic
def custom_driver_update(
    *,
    driver: CustomDriver,
    label: str | None = None,
    is_active: bool | None = None,
    actor: Any = None,
) -> CustomDriver:
    """Rename one of HR's drivers, or retire it (no new question or action may choose it; past
    questions, results and actions keep its name) or bring it back. Its code never changes, so
    answers and actions stay attached. Each change is audited as `actor`'s."""
    driver = CustomDriver.objects.select_for_update().get(pk=driver.pk)
    if label is not None:
        label = _clean_driver_label(label)
        if label != driver.label:
            others = {
                value.lower()
                for code, value in drivers.driver_labels().items()
                if code != driver.code
            }
            if label.lower() in others:
                raise ConflictError(f"There is already a driver called {label!r}.", field="label")
            audit_record(
                actor=actor,
                action="driver_renamed",
                target=driver,
                details={"from": driver.label, "to": label},
            )
            driver.label = label
    if is_active is not None and is_active != driver.is_active:
        driver.is_active = is_active
        audit_record(
            actor=actor,
            action="driver_restored" if is_active else "driver_retired",
            target=driver,
            details={"label": label or driver.label},
        )
    driver.save()
    return driver


@transaction.atomic
def question_create(
    *,
    text: str,
    driver: str,
    kind: str = Question.Kind.AGREEMENT,
    options: Iterable[str] = (),
    actor: Any = None,
) -> Question:
    """Add a custom question to the library, tagged with a driver that is not retired. Audited
    as `actor`'s (by default the signed-in user of the request)."""
    text = text.strip()
    if not text:
        raise DomainError("Write the question.", field="text")
    _check_kind(driver, kind)
    _check_driver_active(driver)
    position = (Question.objects.aggregate(top=Max("position"))["top"] or 0) + 1
    question = Question.objects.create(
        code=f"custom-{slugify(text)[:40]}-{uuid.uuid4().hex[:8]}",
        text=text,
        driver=driver,
        kind=kind,
        options=_clean_options(kind, options),
        position=position,
    )
    audit_record(
        actor=actor,
        action="question_created",
        target=question,
        details={"text": question.text, "driver": question.driver},
    )
    return question


def _check_driver_active(driver: str) -> None:
    if not drivers.is_active_driver(driver):
        raise DomainError("This driver is retired; choose another one.", field="driver")


@transaction.atomic
def question_update(*, question: Question, actor: Any = None, **changes: Any) -> Question:
    """Change a custom question; a built-in question can only be switched on or off.

    Once a question has been asked, its wording, kind and options stay as they were, so results
    of past runs keep meaning what people answered. Each change is audited as `actor`'s (by
    default the signed-in user of the request).
    """
    unknown = set(changes) - {"text", "driver", "kind", "options", "is_active"}
    if unknown:
        raise DomainError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    content = {name for name in changes if name != "is_active"}
    changed = {name for name in content if changes[name] != getattr(question, name)}
    if changed and question.is_builtin:
        raise DomainError("Built-in questions cannot be edited; add a custom question instead.")
    if changed and RunQuestion.objects.filter(question=question).exists():
        raise ConflictError("This question has been asked already; add a new question instead.")
    driver = changes.get("driver", question.driver)
    kind = changes.get("kind", question.kind)
    _check_kind(driver, kind)
    if driver != question.driver:
        _check_driver_active(driver)
    before = {name: getattr(question, name) for name in ("text", "driver", "kind", "options")}
    was_active = question.is_active
    if "text" in changes:
        question.text = changes["text"].strip()
        if not question.text:
            raise DomainError("Write the question.", field="text")
    question.driver, question.kind = driver, kind
    question.options = _clean_options(kind, changes.get("options", question.options))
    if "is_active" in changes:
        question.is_active = bool(changes["is_active"])
    question.save()
    edited = {
        name: [old, getattr(question, name)]
        for name, old in before.items()
        if getattr(question, name) != old
    }
    if edited:
        audit_record(
            actor=actor,
            action="question_changed",
            target=question,
            details={"text": before["text"], "changes": edited},
        )
    if question.is_active != was_active:
        audit_record(
            actor=actor,
            action="question_restored" if question.is_active else "question_retired",
            target=question,
            details={"text": question.text},
        )
    return question


# --- Programs -------------------------------------------------------------------------------------


def _check_program(
    *,
    cadence: str,
    run_length_days: int,
    anonymity_threshold: int,
    comment_threshold: int,
    audience: str,
    teams: Sequence[Team],
    questions: Sequence[Question],
) -> None:
    if cadence not in SurveyProgram.Cadence.values:
        raise DomainError(f"Unknown cadence {cadence!r}.", field="cadence")
    if audience not in SurveyProgram.Audience.values:
        raise DomainError(f"Unknown audience {audience!r}.", field="audience")
    if not anonymity.threshold_is_valid(anonymity_threshold):
        raise DomainError(
            f"The anonymity threshold is between {anonymity.MIN_THRESHOLD} and "
            f"{anonymity.MAX_THRESHOLD} people.",
            field="anonymity_threshold",
        )
    if not anonymity_threshold <= comment_threshold <= 100:
        raise DomainError(
            "The comment threshold is at least the anonymity threshold (and at most 100).",
            field="comment_threshold",
        )
    longest = MAX_RUN_LENGTH[cadence]
    if not 1 <= run_length_days <= longest:
        raise DomainError(
            f"A {cadence} run lasts between 1 and {longest} days, so runs never overlap.",
            field="run_length_days",
        )
    if audience != SurveyProgram.Audience.ORGANISATION and not teams:
        raise DomainError("Choose at least one team.", field="teams")
    if not questions:
        raise DomainError("Choose at least one question.", field="questions")


@transaction.atomic
def survey_program_create(
    *,
    name: str,
    starts_on: dt.date,
    cadence: str = SurveyProgram.Cadence.MONTHLY,
    audience: str = SurveyProgram.Audience.ORGANISATION,
    teams: Iterable[Team] = (),
    questions: Iterable[Question] | None = None,
    run_length_days: int | None = None,
    anonymity_threshold: int = anonymity.DEFAULT_THRESHOLD,
    comment_threshold: int = anonymity.DEFAULT_COMMENT_THRESHOLD,
    description: str = "",
    created_by: Any = None,
    is_organisation_wide: bool | None = None,
) -> SurveyProgram:
    """Define a recurring pulse. Without `questions`, the whole active built-in library.

    Unless told, a programme that asks the whole organisation is organisation-wide (its runs
    are the organisation's results) and one for chosen teams is not."""
    teams = list(teams)
    chosen = list(
        questions
        if questions is not None
        else Question.objects.filter(is_builtin=True, is_active=True)
    )
    run_length_days = run_length_days or DEFAULT_RUN_LENGTH.get(cadence, 7)
    _check_program(
        cadence=cadence,
        run_length_days=run_length_days,
        anonymity_threshold=anonymity_threshold,
        comment_threshold=comment_threshold,
        audience=audience,
        teams=teams,
        questions=chosen,
    )
    if not name.strip():
        raise DomainError("Name the program.", field="name")
    program = SurveyProgram.objects.create(
        name=name.strip(),
        description=description,
        audience=audience,
        cadence=cadence,
        starts_on=starts_on,
        run_length_days=run_length_days,
        anonymity_threshold=anonymity_threshold,
        comment_threshold=comment_threshold,
        is_organisation_wide=(
            audience == SurveyProgram.Audience.ORGANISATION
            if is_organisation_wide is None
            else is_organisation_wide
        ),
        created_by=created_by,
    )
    program.questions.set(chosen)
    if audience != SurveyProgram.Audience.ORGANISATION:
        program.teams.set(teams)
    audit_record(
        actor=created_by,
        action="program_created",
        target=program,
        details={"name": program.name, "questions": len(chosen)},
    )
    return program


def _program_facts(
    program: SurveyProgram, teams: Sequence[Team], questions: Sequence[Question]
) -> dict[str, Any]:
    """What an audit entry of a programme change compares, as JSON (names, not ids, so the
    entry reads the same after a team or question is renamed or removed)."""
    facts: dict[str, Any] = {
        name: getattr(program, name)
        for name in PROGRAM_FIELDS
        if name not in ("anonymity_threshold", "comment_threshold", "is_active")
    }
    facts["starts_on"] = program.starts_on.isoformat()
    facts["teams"] = (
        []
        if program.audience == SurveyProgram.Audience.ORGANISATION
        else sorted(team.name for team in teams)
    )
    facts["questions"] = {question.pk: question.text for question in questions}
    return facts


def _program_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: [old, new]}, and for questions {"added": [...], "removed": [...]} (texts)."""
    changes: dict[str, Any] = {
        name: [before[name], after[name]]
        for name in before
        if name != "questions" and before[name] != after[name]
    }
    added = [text for pk, text in after["questions"].items() if pk not in before["questions"]]
    removed = [text for pk, text in before["questions"].items() if pk not in after["questions"]]
    if added or removed:
        changes["questions"] = {"added": added, "removed": removed}
    return changes


PROGRAM_FIELDS = (
    "name",
    "description",
    "audience",
    "cadence",
    "starts_on",
    "run_length_days",
    "anonymity_threshold",
    "comment_threshold",
    "is_active",
    "is_organisation_wide",
)


@transaction.atomic
def survey_program_update(
    *,
    program: SurveyProgram,
    teams: Iterable[Team] | None = None,
    questions: Iterable[Question] | None = None,
    actor: Any = None,
    **changes: Any,
) -> SurveyProgram:
    """Change a program. Runs already open or closed keep the thresholds they opened with.

    Every change is audited as `actor`'s (by default the signed-in user of the request): a
    threshold change, a pause or a resume each as its own entry, and any other edit
    (questions, cadence, audience, teams, name, dates) as one entry with old and new values.
    """
    unknown = set(changes) - set(PROGRAM_FIELDS)
    if unknown:
        raise DomainError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    program = SurveyProgram.objects.select_for_update().get(pk=program.pk)
    if changes.get("is_active") and program.archived_at is not None:
        raise ConflictError("This program is archived; bring it back before resuming it.")
    thresholds = (program.anonymity_threshold, program.comment_threshold)
    was_active = program.is_active
    old_teams, old_questions = list(program.teams.all()), list(program.questions.all())
    before = _program_facts(program, old_teams, old_questions)
    for name, value in changes.items():
        setattr(program, name, value)
    new_teams = list(teams) if teams is not None else old_teams
    new_questions = list(questions) if questions is not None else old_questions
    _check_program(
        cadence=program.cadence,
        run_length_days=program.run_length_days,
        anonymity_threshold=program.anonymity_threshold,
        comment_threshold=program.comment_threshold,
        audience=program.audience,
        teams=new_teams,
        questions=new_questions,
    )
    program.save()
    if (program.anonymity_threshold, program.comment_threshold) != thresholds:
        audit_record(
            actor=actor,
            action="survey_threshold_changed",
            target=program,
            details={
                "from": thresholds,
                "to": (program.anonymity_threshold, program.comment_threshold),
            },
        )
    edited = _program_changes(before, _program_facts(program, new_teams, new_questions))
    if edited:
        audit_record(
            actor=actor,
            action="program_changed",
            target=program,
            details={"name": before["name"], "changes": edited},
        )
    if program.is_active != was_active:
        audit_record(
            actor=actor,
            action="program_resumed" if program.is_active else "program_paused",
            target=program,
            details={"name": program.name},
        )
    if questions is not None:
        program.questions.set(new_questions)
    if program.audience == SurveyProgram.Audience.ORGANISATION:
        program.teams.clear()
    elif teams is not None:
        program.teams.set(new_teams)
    return program


@transaction.atomic
def survey_program_set_archived(
    *, program: SurveyProgram, archived: bool, actor: Any = None
) -> SurveyProgram:
    """Archive a program (it leaves the lists, is paused, keeps its runs) or bring it back.

    A program brought back stays paused until HR resumes it. Audited as `actor`'s (by default
    the signed-in user of the request).
    """
    program = SurveyProgram.objects.select_for_update().get(pk=program.pk)
    if archived and program.runs.filter(status=SurveyRun.Status.OPEN).exists():
        raise ConflictError("Close the open run before archiving the program.")
    if archived and program.archived_at is None:
        program.archived_at = timezone.now()
        program.is_active = False
        program.save(update_fields=["archived_at", "is_active", "updated_at"])
        audit_record(
            actor=actor, action="program_archived", target=program, details={"name": program.name}
        )
    elif not archived and program.archived_at is not None:
        program.archived_at = None
        program.save(update_fields=["archived_at", "updated_at"])
        audit_record(
            actor=actor, action="program_restored", target=program, details={"name": program.name}
        )
    return program


@transaction.atomic
def survey_program_delete(*, program: SurveyProgram, actor: Any = None) -> None:
    if program.runs.exclude(status=SurveyRun.Status.SCHEDULED).exists():
        raise ConflictError("This program has runs with results; deactivate it instead.")
    audit_record(
        actor=actor, action="program_deleted", target=program, details={"name": program.name}
    )
    program.runs.all().delete()
    program.delete()


# --- Scheduling and question rotation ----------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def planned_opening(program: SurveyProgram, sequence: int) -> dt.date:
    """The day run number `sequence` of the program is planned to open (no drift over time)."""
    steps = sequence - 1
    match program.cadence:
        case SurveyProgram.Cadence.WEEKLY:
            return program.starts_on + dt.timedelta(weeks=steps)
        case SurveyProgram.Cadence.BIWEEKLY:
            return program.starts_on + dt.timedelta(weeks=2 * steps)
        case SurveyProgram.Cadence.MONTHLY:
            return add_months(program.starts_on, steps)
        case _:
            return add_months(program.starts_on, 3 * steps)


def questions_for_run(
    questions: Sequence[Question], *, cadence: str, sequence: int
) -> list[Question]:
    """The questions a run asks: eNPS and engagement items always, a rotating share of the rest.

    The rest are interleaved across drivers (the first item of each driver, then the second...)
    and each run takes the next slice of that cycle, so consecutive runs cover every driver and
    the same run number always asks the same questions.
    """
    ordered = sorted(questions, key=lambda q: (q.position, q.pk or 0))
    fixed = [q for q in ordered if q.driver in (Driver.ENGAGEMENT, Driver.ENPS)]
    others = [q for q in ordered if q not in fixed]
    target = QUESTIONS_PER_RUN.get(cadence)
    if target is None or not others:
        return fixed + others
    slots = max(MIN_ROTATING, target - len(fixed))
    if slots >= len(others):
        return fixed + others
    by_driver: dict[str, list[Question]] = {}
    for question in others:
        by_driver.setdefault(question.driver, []).append(question)
    cycle: list[Question] = []
    for rank in range(max(len(items) for items in by_driver.values())):
        cycle += [items[rank] for items in by_driver.values() if rank < len(items)]
    start = ((sequence - 1) * slots) % len(cycle)
    chosen = {q.pk for q in (cycle + cycle)[start : start + slots]}
    return fixed + [q for q in others if q.pk in chosen]


def _next_sequence(program: SurveyProgram) -> int:
    return (program.runs.aggregate(top=Max("sequence"))["top"] or 0) + 1


@transaction.atomic
def survey_run_schedule(
    *, program: SurveyProgram, opens_on: dt.date | None = None, today: dt.date | None = None
) -> SurveyRun:
    """Plan the program's next run (opening on `opens_on`, or as the cadence plans it)."""
    today = today or timezone.localdate()
    program = SurveyProgram.objects.select_for_update().get(pk=program.pk)
    if not program.is_active:
        raise ConflictError("This program is not active.")
    pending = program.runs.filter(status__in=[SurveyRun.Status.SCHEDULED, SurveyRun.Status.OPEN])
    if pending.exists():
        raise ConflictError("This program already has a run scheduled or open.")
    sequence = _next_sequence(program)
    opens_on = opens_on or max(planned_opening(program, sequence), today)
    if opens_on < today:
        raise DomainError("A run cannot open in the past.", field="opens_on")
    return SurveyRun.objects.create(
        program=program,
        sequence=sequence,
        opens_on=opens_on,
        closes_on=opens_on + dt.timedelta(days=program.run_length_days - 1),
        anonymity_threshold=program.anonymity_threshold,
        comment_threshold=program.comment_threshold,
    )


def audience_for(program: SurveyProgram):
    """The active people a program asks, with their teams."""
    if program.audience == SurveyProgram.Audience.ORGANISATION:
        return audience_of(audience=program.audience, teams=())
    return audience_of(audience=program.audience, teams=list(program.teams.all()))


def audience_of(*, audience: str, teams: Sequence[Team]) -> QuerySet[Employee]:
    """The active people an `audience` of `teams` asks: what a run opens with
    (`audience_for`) and what HR's audience preview counts before saving."""
    people = Employee.objects.filter(is_active=True, user__is_active=True).select_related("team")
    if audience == SurveyProgram.Audience.ORGANISATION:
        return people
    if audience == SurveyProgram.Audience.TEAMS:
        return people.filter(team__in=teams)
    scope = Q(pk__in=[])
    for team in teams:
        scope |= Q(team__path__startswith=team.path)
    return people.filter(scope)


@transaction.atomic
def survey_run_open(*, run: SurveyRun, today: dt.date | None = None) -> SurveyRun:
    """Open a scheduled run today: pick its questions, invite its audience, email them.

    The run's dates become today .. today + run length - 1, and the thresholds are copied from
    the program, so what the run shows never changes with later edits of the program. The
    invitations snapshot the path of each person's team in the tree now.
    """
    from .tasks import survey_mailing_fan_out_task

    today = today or timezone.localdate()
    run = SurveyRun.objects.select_for_update().select_related("program").get(pk=run.pk)
    if run.status != SurveyRun.Status.SCHEDULED:
        raise ConflictError("Only a scheduled run can be opened.", code="run_not_scheduled")
    program = run.program
    if not program.is_active:
        raise ConflictError("This program is paused; resume it to open a run.", code="paused")
    run.status = SurveyRun.Status.OPEN
    run.opens_on = today
    run.closes_on = today + dt.timedelta(days=program.run_length_days - 1)
    run.anonymity_threshold = program.anonymity_threshold
    run.comment_threshold = program.comment_threshold
    run.opened_at = timezone.now()
    run.save()
    pool = list(program.questions.filter(is_active=True))
    chosen = questions_for_run(pool, cadence=program.cadence, sequence=run.sequence)
    RunQuestion.objects.bulk_create(
        RunQuestion(run=run, question=question, position=index)
        for index, question in enumerate(chosen, start=1)
    )
    _invite(run, audience_for(program))
    run_id = run.pk
    transaction.on_commit(lambda: survey_mailing_fan_out_task.delay(run_id, Mailing.INVITATION))
    return run


def _invite(run: SurveyRun, audience: QuerySet[Employee]) -> None:
    """One invitation per person of `audience`, with the path of their team as of now, in one
    INSERT ... SELECT: building 20,000 invitations in Python took 7 s, the database does it in
    well under one.

    The people are read in no particular order (not the employees' default, by name): in the
    order they are stored, the (run, employee) index grows at its right edge instead of at
    20,000 places by name, a third of the INSERT's time. Nothing reads the
    invitations in id order for a meaning: the fan-out's chunks only need some order.
    """
    people = (
        audience.order_by()
        .annotate(invited_path=Coalesce("team__path", Value("")))
        .values_list("pk", "invited_path")
    )
    select, params = people.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Invitation._meta.db_table} "  # noqa: S608 - names from the models
            "(run_id, employee_id, team_path) "
            f"SELECT %s, audience.* FROM ({select}) AS audience",
            [run.pk, *params],
        )


@transaction.atomic
def survey_run_start_now(*, program: SurveyProgram, today: dt.date | None = None) -> SurveyRun:
    """HR's "open a run now": use the scheduled run if there is one, else plan one for today."""
    today = today or timezone.localdate()
    run = program.runs.filter(status=SurveyRun.Status.SCHEDULED).first()
    if run is None:
        run = survey_run_schedule(program=program, opens_on=today, today=today)
    return survey_run_open(run=run, today=today)


@transaction.atomic
def survey_run_close(*, run: SurveyRun, today: dt.date | None = None) -> SurveyRun:
    """Close an open run: from now on it refuses responses and shows its results.

    The run row is locked FOR UPDATE, which waits for every submission in flight (they hold it
    FOR SHARE), so no response can be stored after the run is closed and the results never
    change once shown. The run's sealed answers become its responses in this transaction, which
    touches no invitation (`_responses_unseal`), and its published figures are stored from them
    in the same transaction (`RunSummary`): a close that fails leaves neither.
    """
    today = today or timezone.localdate()
    run = SurveyRun.objects.select_for_update().get(pk=run.pk)
    if run.status != SurveyRun.Status.OPEN:
        raise ConflictError("Only an open run can be closed.", code="run_not_open")
    run.status = SurveyRun.Status.CLOSED
    run.closes_on = max(run.opens_on, min(run.closes_on, today))
    run.closed_at = timezone.now()
    run.save()
    _responses_unseal(run)
    _run_summary_store(run)
    # Results are built from the closed run from now on: nothing cached before may serve them.
    run_id = run.pk
    transaction.on_commit(lambda: run_snapshot_forget(run_id))
    return run


def survey_runs_schedule_due(*, today: dt.date | None = None) -> list[int]:
    """Plan the next run of every active program that has none scheduled or open."""
    today = today or timezone.localdate()
    busy = SurveyRun.objects.filter(
        status__in=[SurveyRun.Status.SCHEDULED, SurveyRun.Status.OPEN]
    ).values("program_id")
    created = []
    for program in SurveyProgram.objects.filter(is_active=True).exclude(pk__in=busy):
        try:
            created.append(survey_run_schedule(program=program, today=today).pk)
        except ConflictError:
            continue  # another worker planned it meanwhile
    return created


def survey_runs_open_due(*, today: dt.date | None = None) -> list[int]:
    today = today or timezone.localdate()
    opened = []
    due = SurveyRun.objects.filter(
        status=SurveyRun.Status.SCHEDULED, opens_on__lte=today, program__is_active=True
    )
    for run in due.order_by("opens_on", "id"):
        try:
            opened.append(survey_run_open(run=run, today=today).pk)
        except ConflictError:
            continue
    return opened


def survey_runs_close_ended(*, today: dt.date | None = None) -> list[int]:
    today = today or timezone.localdate()
    closed = []
    for run in SurveyRun.objects.filter(status=SurveyRun.Status.OPEN, closes_on__lt=today):
        try:
            closed.append(survey_run_close(run=run, today=today).pk)
        except ConflictError:
            continue
    return closed


# --- Invitations and reminders -------------------------------------------------------------------


class Mailing:
    INVITATION = "invitation"
    REMINDER_DAY3 = "reminder_day3"
    REMINDER_DAY5 = "reminder_day5"

    CLAIM_FIELD = {
        INVITATION: "sent_on",
        REMINDER_DAY3: "reminded_day3_on",
        REMINDER_DAY5: "reminded_day5_on",
    }
    ALL = tuple(CLAIM_FIELD)


def _waiting(run_id: int, mailing: str):
    return _still_waiting(mailing).filter(run_id=run_id)


def _waiting_dates(mailing: str) -> dict[str, bool]:
    """What makes an invitation (of any run) still wait for `mailing`, as conditions on the row
    alone: each date column named, empty (True) or set (False). Its own date is empty; a
    reminder also goes only to people emailed and yet to answer. The fan-out and the chunk's
    read filter on these (`_still_waiting`), and the claim tests them on the row it updates."""
    empty = {Mailing.CLAIM_FIELD[mailing]: True}
    if mailing == Mailing.INVITATION:
        return empty
    return {**empty, "responded_on": True, "sent_on": False}


def _still_waiting(mailing: str):
    """Invitations (of any run) still waiting for `mailing`."""
    return Invitation.objects.filter(
        **{f"{date}__isnull": empty for date, empty in _waiting_dates(mailing).items()}
    )


def survey_mailing_fan_out(*, run_id: int, mailing: str) -> int:
    """Enqueue one task per chunk of invitations still waiting for `mailing`.

    Safe to run twice: each chunk task claims every email with a conditional update, so an
    invitation queued twice is still emailed once.
    """
    from .tasks import survey_mailing_send_task

    if mailing not in Mailing.ALL:
        raise DomainError(f"Unknown mailing {mailing!r}.")
    ids = list(_waiting(run_id, mailing).order_by("id").values_list("id", flat=True))
    for chunk in batched(ids, _chunk_size(len(ids))):
        survey_mailing_send_task.delay(run_id, mailing, list(chunk))
    return len(ids)


FAN_OUT_SPREAD = 8  # a small mailing still goes out as this many chunks, one per worker slot
MIN_CHUNK = 25


def _chunk_size(total: int) -> int:
    """CXC_SURVEY_INVITATION_CHUNK_SIZE, but small enough that every worker gets a share."""
    spread = max(MIN_CHUNK, -(-total // FAN_OUT_SPREAD))
    return max(1, min(settings.CXC_SURVEY_INVITATION_CHUNK_SIZE, spread))


CLAIM_BATCH = 100


def invitation_token(invitation_id: int) -> str:
    """The personal link's token: the invitation id, signed (valid while the run is open)."""
    return signing.dumps(invitation_id, salt=TOKEN_SALT)


def invitation_link(invitation_id: int) -> str:
    return _Links().link(invitation_id)


class _Links:
    """Personal links for a chunk of invitations: the signer and the URL around the token are
    made once, the token is signed per invitation.

    A link is what `reverse` gives for `invitation_token`: `signing.dumps` is this signer's
    `sign_object`, and a token's characters (URL-safe base64 and ':') are never quoted.
    """

    def __init__(self) -> None:
        self.signer = signing.TimestampSigner(salt=TOKEN_SALT)
        mark = uuid.uuid4().hex
        url = settings.CXC_BASE_URL.rstrip("/") + reverse("surveys:respond", kwargs={"token": mark})
        self.before, self.after = url.split(mark)
        self.html_before, self.html_after = html_escape(self.before), html_escape(self.after)

    def link(self, invitation_id: int) -> str:
        return f"{self.before}{self.signer.sign_object(invitation_id)}{self.after}"

    def both(self, invitation_id: int) -> tuple[str, str]:
        """The link, and the link escaped for HTML (only the URL around the token can need it)."""
        token = self.signer.sign_object(invitation_id)
        return f"{self.before}{token}{self.after}", f"{self.html_before}{token}{self.html_after}"


@dataclass(frozen=True)
class _Letter:
    """A mailing's email for one run, rendered once per chunk, as format strings where each
    person's name (`{0}`) and link (`{1}`) go.

    The templates are rendered with random marks in those places, then every brace of the
    rendered text is doubled and the marks become the two fields: `str.format` puts a person's
    values in without reading them, so no name or program name can add a field or remove one.
    Filling in is one pass over each body (the bodies were scanned once per replacement before).
    """

    subject: str
    text: str
    html: str

    @classmethod
    def of(cls, *, name_mark: str, link_mark: str, **bodies: str) -> "_Letter":
        def fields(body: str) -> str:
            body = body.replace("{", "{{").replace("}", "}}")  # the marks hold no brace
            return body.replace(name_mark, "{0}").replace(link_mark, "{1}")

        return cls(**{part: fields(body) for part, body in bodies.items()})


MAILING_TEMPLATES = [
    f"emails/surveys/{template}{suffix}"
    for template in ("invitation", "reminder")
    for suffix in ("_subject.txt", ".txt", ".html")
]


def _letter(mailing: str, run: SurveyRun) -> _Letter:
    """Render the mailing's templates once: only the name and the link differ between people."""
    template = "invitation" if mailing == Mailing.INVITATION else "reminder"
    nonce = uuid.uuid4().hex
    name_mark, link_mark = f"name{nonce}", f"link{nonce}"  # nothing a template would escape
    context = {
        "first_name": name_mark,
        "program": run.program.name,
        "link": link_mark,
        "closes_on": run.closes_on,
        "question_count": run.question_count,  # type: ignore[attr-defined]
        "minutes": max(1, round(run.question_count / 5)),  # type: ignore[attr-defined]
    }
    return _Letter.of(
        name_mark=name_mark,
        link_mark=link_mark,
        subject=render_to_string(f"emails/surveys/{template}_subject.txt", context),
        text=render_to_string(f"emails/surveys/{template}.txt", context),
        html=render_to_string(f"emails/surveys/{template}.html", context),
    )


def _message(
    letter: _Letter, *, first_name: str, email: str, link: str, html_link: str | None = None
) -> EmailMultiAlternatives:
    """One person's email: the letter with their name (or "there") and their own link
    (`html_link` is the link already escaped for HTML, as `_Links.both` gives it)."""
    name = first_name or "there"
    subject = " ".join(letter.subject.format(name, link).split())  # one line, filled in
    message = EmailMultiAlternatives(subject, letter.text.format(name, link), to=[email])
    # The text parts are not escaped (autoescape off); the HTML part gets escaped values
    # (`html.escape`, which Django's `escape` wraps: the same text, without the lazy wrapper).
    html_link = html_escape(link) if html_link is None else html_link
    html = letter.html.format(html_escape(name), html_link)
    message.attach_alternative(html, "text/html")
    return message


def survey_mailings_warm_up() -> None:
    """Import the URLconf and compile the mailing templates (kept by the cached template
    loader), so the first chunk a process sends costs what the others do."""
    _Links()
    for name in MAILING_TEMPLATES:
        get_template(name)


def survey_mailing_send(
    *, run_id: int, mailing: str, invitation_ids: Sequence[int], today: dt.date | None = None
) -> int:
    """Email each invitation in the chunk once; return how many emails were sent.

    Emails are claimed before they are sent, a batch of up to 100 at a time (`_claim`: one
    conditional update that sets the batch's date column where it is still empty and returns
    the rows it set), so a chunk delivered twice, or two workers with the same chunk, send
    nothing twice. If sending fails, the claims of the emails not sent yet are released so that
    the retry sends them. (A worker killed mid-batch leaves at most a batch claimed but not
    sent, as one email was before.) Queries: the run, the chunk's addresses, and one claim per
    batch.
    """
    today = today or timezone.localdate()
    claim = Mailing.CLAIM_FIELD[mailing]
    run = (
        SurveyRun.objects.select_related("program")
        .filter(pk=run_id)
        .annotate(question_count=Count("run_questions"))
        .first()
    )
    if run is None or not run.accepts_responses(today):
        return 0
    # Everyone of the chunk still waiting, with an address: one read for the whole chunk. The
    # run is compared here, not in SQL: the planner's statistics do not know yet that a run
    # opened a minute ago has thousands of invitations waiting, and given the run it read all
    # of them for every chunk; given the ids alone, it looks them up by primary key.
    addresses = {
        pk: (first_name, email)
        for pk, run_of, first_name, email in _still_waiting(mailing)
        .filter(_among(invitation_ids))
        .exclude(employee__user__email="")
        .values_list("pk", "run_id", "employee__user__first_name", "employee__user__email")
        if run_of == run_id
    }
    sent = 0
    letter, links = _letter(mailing, run), _Links()
    # One connection for the whole chunk; one message per send_messages call, so that a failure
    # tells exactly which emails went out.
    with mailers.default as backend:
        for batch in batched(sorted(addresses), CLAIM_BATCH):
            claimed = _claim(mailing, batch, today)
            for index, invitation_id in enumerate(claimed):
                first_name, email = addresses[invitation_id]
                try:
                    link, html_link = links.both(invitation_id)
                    message = _message(
                        letter, first_name=first_name, email=email, link=link, html_link=html_link
                    )
                    backend.send_messages([message])
                except Exception:
                    # Give back the claims of this email and the ones not sent yet: the retry
                    # sends them (and only them).
                    unsent = claimed[index:]
                    Invitation.objects.filter(pk__in=unsent).update(**{claim: None})
                    raise
                sent += 1
    return sent


def _among(ids: Sequence[int]) -> RawSQL:
    """`_among_sql` as a filter of a query of invitations."""
    sql, params = _among_sql(ids)
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - the ids: a parameter


def _among_sql(ids: Sequence[int]) -> tuple[str, list[str]]:
    """The invitations whose id is in `ids`, with the ids as one parameter rather
    than one parameter each as `pk__in` gives: psycopg caches how it sends a statement of at
    most 50 parameters only, and parsed a chunk's 500 ids again for each statement.
    `= ANY(array)`, not `IN (SELECT unnest(array))`: the planner knows the array's length and
    looks the ids up by primary key, where for the subquery it guessed, and on a run too new
    for statistics scanned the whole run for every batch."""
    table = connection.ops.quote_name(Invitation._meta.db_table)
    if connection.vendor == "postgresql":
        among = f"{table}.id = ANY(%s::bigint[])"
    else:
        among = f"{table}.id IN (SELECT value FROM json_each(%s))"  # noqa: S608 - a model's name
    return among, [_ids(ids)]


def _ids(ids: Sequence[int]) -> str:
    """`ids` as `_among` sends them: an array on PostgreSQL (written as text, which the server
    reads as the column's type: psycopg's list adapter inspected each id, a tenth of a chunk's
    time), JSON text on SQLite."""
    digits = ",".join(str(int(pk)) for pk in ids)
    return f"{{{digits}}}" if connection.vendor == "postgresql" else f"[{digits}]"


def _claim(mailing: str, ids: Sequence[int], today: dt.date) -> list[int]:
    """Claim the emails of a batch that nobody has claimed yet, in one statement; return the
    ids claimed, in order.

    Every condition of the mailing (`_waiting_dates`) is tested on the updated row itself, so
    when two workers race for a row, PostgreSQL re-checks it once the first commits and the
    second skips it, and someone who answered since the chunk read its addresses gets no
    reminder. The ids are the run's (read with the addresses), so the run is not asked again.

    Written out rather than as an UPDATE of a subquery built by the ORM for each batch, which
    looked every row up twice and compiled a query per batch: on the enterprise bench database
    a batch took 1.2 ms, 0.5 ms of it in Python; now 0.6 ms, 0.15 ms of it in Python.
    """
    quote = connection.ops.quote_name
    table = quote(Invitation._meta.db_table)
    column = quote(Mailing.CLAIM_FIELD[mailing])  # the date fields are columns of that name
    among, params = _among_sql(ids)
    waiting = " AND ".join(
        f"{quote(date)} IS {'' if empty else 'NOT '}NULL"
        for date, empty in _waiting_dates(mailing).items()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s "  # noqa: S608 - names from the models
            f"WHERE {among} AND {waiting} RETURNING id",
            [today, *params],
        )
        return sorted(row[0] for row in cursor.fetchall())


def survey_reminders_fan_out(*, today: dt.date | None = None) -> dict[int, str]:
    """Queue today's reminders: day 3 and day 5 of each open run, to people yet to answer.

    A day-3 reminder is sent from day 3 until day 5 (if the schedule was down on day 3), and
    never on the same day as the day-5 one.
    """
    today = today or timezone.localdate()
    queued = {}
    for run in SurveyRun.objects.accepting(today):
        day = run.day_number(today)
        if day >= REMINDER_DAYS[1]:
            mailing = Mailing.REMINDER_DAY5
        elif day >= REMINDER_DAYS[0]:
            mailing = Mailing.REMINDER_DAY3
        else:
            continue
        survey_mailing_fan_out(run_id=run.pk, mailing=mailing)
        queued[run.pk] = mailing
    return queued


# --- Responding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerInput:
    question: int
    value: int | None = None
    choice: str = ""
    text: str = ""


@dataclass(frozen=True)
class AskedQuestion:
    """What checking an answer needs of a question the run asks."""

    id: int
    kind: str
    text: str
    options: list[str]


@dataclass(frozen=True)
class RunWindow:
    """What a submission checks of its run: whether it takes responses today."""

    id: int
    status: str
    opens_on: dt.date
    closes_on: dt.date


class CleanAnswer(NamedTuple):
    """A checked answer as a sealed box stores it."""

    question_id: int
    value: int | None = None
    choice: str = ""
    text: str = ""


def invitation_from_token(token: str) -> Invitation:
    """The invitation a personal link stands for, or LinkInvalid (HTTP 404)."""
    try:
        invitation_id = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise LinkInvalid("This survey link is not valid. Use the link from your email.") from None
    invitation = (
        Invitation.objects.select_related("run__program").filter(pk=invitation_id).first()
        if isinstance(invitation_id, int)
        else None
    )
    if invitation is None:
        raise LinkInvalid("This survey link is not valid. Use the link from your email.")
    return invitation


def check_run_accepts(run: SurveyRun | RunWindow, today: dt.date) -> None:
    """Raise RunClosed (410) or RunNotOpen (409) unless the run takes responses today."""
    if run.status == SurveyRun.Status.CLOSED or today > run.closes_on:
        raise RunClosed(
            f"This survey closed on {run.closes_on:%-d %B %Y} and no longer takes answers."
        )
    if run.status != SurveyRun.Status.OPEN or today < run.opens_on:
        raise RunNotOpen(f"This survey opens on {run.opens_on:%-d %B %Y}.")


def _clean_answers(
    asked: dict[int, AskedQuestion], answers: Sequence[AnswerInput]
) -> list[CleanAnswer]:
    """Check `answers` against the questions `asked` (by id); skipped questions are dropped."""
    seen: set[int] = set()
    cleaned: list[CleanAnswer] = []
    for item in answers:
        question = asked.get(item.question)
        if question is None:
            raise DomainError(
                f"Question {item.question} is not part of this survey.", field="answers"
            )
        if item.question in seen:
            raise DomainError("Each question is answered once.", field="answers")
        seen.add(item.question)
        match question.kind:
            case Question.Kind.AGREEMENT | Question.Kind.SCALE_0_10:
                if item.value is None:
                    continue  # skipped: partial answers are welcome
                low, high = (1, 5) if question.kind == Question.Kind.AGREEMENT else (0, 10)
                if isinstance(item.value, bool) or not low <= item.value <= high:
                    raise DomainError(
                        f"Answer {question.text!r} with a number from {low} to {high}.",
                        field="answers",
                    )
                cleaned.append(CleanAnswer(question.id, value=item.value))
            case Question.Kind.SINGLE_CHOICE:
                if not item.choice:
                    continue
                if item.choice not in question.options:
                    raise DomainError(
                        f"Choose one of the options for {question.text!r}.", field="answers"
                    )
                cleaned.append(CleanAnswer(question.id, choice=item.choice))
            case _:
                text = item.text.strip()
                if not text:
                    continue
                if len(text) > MAX_TEXT_LENGTH:
                    raise DomainError(
                        f"Keep answers under {MAX_TEXT_LENGTH} characters.", field="answers"
                    )
                cleaned.append(CleanAnswer(question.id, text=text))
    return cleaned


def invitation_id_from_token(token: str) -> int:
    """The invitation id a personal link's token stands for, checked by its signature alone
    (no query: `response_submit` reads the invitation), or LinkInvalid (HTTP 404)."""
    try:
        invitation_id = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise LinkInvalid("This survey link is not valid. Use the link from your email.") from None
    if not isinstance(invitation_id, int) or isinstance(invitation_id, bool):
        raise LinkInvalid("This survey link is not valid. Use the link from your email.")
    return invitation_id


@dataclass(frozen=True)
class _Invited:
    """What a submission needs of the invitation, the invitee, the run and its questions."""

    team_path: str
    hire_date: dt.date | None
    location: str
    role_family: str
    run: RunWindow
    asked: dict[int, AskedQuestion]


def _invited(invitation_id: int) -> _Invited | None:
    """Read the invitation, the invitee's coarse attributes, the run and its questions in one
    statement (one row per question); None when there is no such invitation.

    It locks nothing: on PostgreSQL the statement that stores the response holds the run open
    (`_claim_and_seal_in_one_statement`); on SQLite the submission is one transaction and
    SQLite runs one writer at a time.
    """
    # Table names from the models; the columns are the fields' own (no db_column is set).
    sql = (
        "SELECT i.team_path, e.hire_date, e.location, e.role_family, "  # noqa: S608
        "r.id, r.status, r.opens_on, r.closes_on, q.id, q.kind, q.text, q.options "
        f"FROM {Invitation._meta.db_table} i "
        f"JOIN {Employee._meta.db_table} e ON e.id = i.employee_id "
        f"JOIN {SurveyRun._meta.db_table} r ON r.id = i.run_id "
        f"LEFT JOIN {RunQuestion._meta.db_table} rq ON rq.run_id = r.id "
        f"LEFT JOIN {Question._meta.db_table} q ON q.id = rq.question_id "
        "WHERE i.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [invitation_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    # SQLite hands dates and JSON back as text: the fields convert them as the ORM would.
    date = Employee._meta.get_field("hire_date").to_python
    options = Question._meta.get_field("options")
    first = rows[0]
    asked = {
        question_id: AskedQuestion(
            id=question_id,
            kind=kind,
            text=text,
            options=options.from_db_value(raw_options, None, connection),  # type: ignore[arg-type]
        )
        for *_, question_id, kind, text, raw_options in rows
        if question_id is not None
    }
    return _Invited(
        team_path=first[0],
        hire_date=date(first[1]),
        location=first[2],
        role_family=first[3],
        run=RunWindow(
            id=first[4], status=first[5], opens_on=date(first[6]), closes_on=date(first[7])
        ),
        asked=asked,
    )


def response_submit(
    *,
    invitation_id: int,
    answers: Sequence[AnswerInput],
    comment: str = "",
    today: dt.date | None = None,
) -> None:
    """Store one person's answers anonymously; refuse a second response and a closed run.

    One response per invitation is enforced by the database: the conditional update of
    `responded_on` changes exactly one row or the submission is refused (409), and both writes
    commit together or not at all (on PostgreSQL as one statement, which also holds the run
    open FOR SHARE, so `survey_run_close` waits for it or it sees the run closed). The answers,
    the team snapshot and coarse attributes are sealed until the run closes (`SealedResponse`);
    nothing in them points back to the invitation, and nothing is returned or logged.
    """
    today = today or timezone.localdate()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            invited = _invited_accepting(invitation_id, today)
            box = _sealed_submission(invited, answers, comment, today)
            claimed = Invitation.objects.filter(pk=invitation_id, responded_on__isnull=True).update(
                responded_on=today
            )
            if claimed != 1:
                raise _already_responded()
            SealedResponse.objects.create(run_id=invited.run.id, box=box)
        return
    invited = _invited_accepting(invitation_id, today)
    box = _sealed_submission(invited, answers, comment, today)
    if not _claim_and_seal_in_one_statement(invitation_id, invited.run.id, box, today):
        # Refused: the run closed since it was read, or the invitation has been answered.
        _invited_accepting(invitation_id, today)
        raise _already_responded()
    # Nothing else happens after a response (no task, no log line, no cache write, no hook):
    # only open runs take responses and only closed runs' snapshots are cached, and a cached
    # snapshot's stamp counts the run's responses, so none can outlive a change.


def _invited_accepting(invitation_id: int, today: dt.date) -> _Invited:
    invited = _invited(invitation_id)
    if invited is None:
        raise LinkInvalid("This survey invitation does not exist.")
    check_run_accepts(invited.run, today)
    return invited


def _already_responded() -> ConflictError:
    return ConflictError(
        "You have already answered this survey — each person answers once. Thank you!",
        code="already_responded",
    )


def _sealed_submission(
    invited: _Invited, answers: Sequence[AnswerInput], comment: str, today: dt.date
) -> bytes:
    """The checked answers, team snapshot and coarse attributes, sealed (`SealedResponse`)."""
    cleaned = _clean_answers(invited.asked, answers)
    comment = comment.strip()
    if len(comment) > MAX_TEXT_LENGTH:
        raise DomainError(f"Keep the comment under {MAX_TEXT_LENGTH} characters.", field="comment")
    if not cleaned and not comment:
        raise DomainError("Answer at least one question (or leave a comment).", field="answers")
    return sealing.seal(
        submission_payload(
            team_path=invited.team_path,
            values=(
                TenureBand.for_hire_date(invited.hire_date, today),
                invited.location,
                invited.role_family,
            ),
            comment=comment,
            answers=cleaned,
        )
    )


def _claim_and_seal_in_one_statement(
    invitation_id: int, run_id: int, box: bytes, today: dt.date
) -> bool:
    """PostgreSQL: mark the invitation answered and store the sealed box in one statement (so
    one transaction), only while the run takes responses; False when it stored nothing.

    The run row is locked FOR SHARE by the statement: submissions do not wait for each other,
    and `survey_run_close` (FOR UPDATE) waits for it, or it waits for the close and then sees
    the run closed (PostgreSQL re-checks a locked row's condition once the lock is granted).
    """
    sql = (
        "WITH accepting AS ("  # noqa: S608 - table names from the models
        f"SELECT r.id FROM {SurveyRun._meta.db_table} r "
        "WHERE r.id = %s AND r.status = %s AND r.opens_on <= %s AND r.closes_on >= %s "
        "FOR SHARE), "
        f"claimed AS (UPDATE {Invitation._meta.db_table} i SET responded_on = %s "
        "WHERE i.id = %s AND i.responded_on IS NULL AND i.run_id IN (SELECT id FROM accepting) "
        "RETURNING i.run_id) "
        f"INSERT INTO {SealedResponse._meta.db_table} (id, run_id, box) "
        "SELECT %s, run_id, %s FROM claimed"
    )
    params: list[Any] = [
        run_id,
        SurveyRun.Status.OPEN.value,
        today,
        today,
        today,
        invitation_id,
        uuid.uuid4(),
        box,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


# --- Storing a closed run's responses ----------------------------------------------------------


def submission_payload(
    *, team_path: str, values: tuple[str, ...], comment: str, answers: Iterable[CleanAnswer]
) -> dict[str, Any]:
    """What a sealed box holds: the team snapshot, coarse attribute values, comment, answers."""
    return {
        "team_path": team_path,
        "values": list(values),
        "comment": comment,
        "answers": [list(answer) for answer in answers],
    }


def _path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def response_cells_for_storage(
    *, k: int, cells: Sequence[tuple[str, tuple[str, ...]]]
) -> list[tuple[int | None, str, tuple[str, ...]]]:
    """The team id, team path and attribute values each response is stored with.

    `cells` holds every response of one run as (team path, attribute values aligned with
    `selectors.ATTRIBUTES`), in any order; the answer is aligned with it. Each stored
    combination holds 0 or at least `k` of the run's responses (`coarsen_for_storage`); the
    pool of small top-level teams is stored without a team.
    """
    pool = ""
    parents: dict[Any, Any] = {}
    paths: dict[Any, str] = {}
    counts: Counter[tuple[Any, tuple[str, ...]]] = Counter()
    keys = []
    for team_path, values in cells:
        ids = _path_ids(team_path)
        for index, node in enumerate(ids):
            parents.setdefault(node, ids[index - 1] if index else None)
            paths.setdefault(node, "/" + "/".join(map(str, ids[: index + 1])) + "/")
        key = (ids[-1] if ids else pool, tuple(value or "" for value in values))
        counts[key] += 1
        keys.append(key)
    stored = anonymity.coarsen_for_storage(parents=parents, cells=counts, k=k, pool=pool)
    placed: list[tuple[int | None, str, tuple[str, ...]]] = []
    for key in keys:
        team, stored_values = stored[key]
        if team == pool:
            placed.append((None, "", stored_values))
        else:
            placed.append((team, paths[team], stored_values))  # type: ignore[arg-type]
    return placed


def _responses_unseal(run: SurveyRun) -> None:
    """Store a closing run's sealed answers as its responses; call under the run's lock.

    One transaction, touching no invitation, writes every response of the run in random order
    and deletes the boxes: on PostgreSQL all responses carry this transaction's id, which no
    invitation carries, and their physical order says nothing about when each arrived.
    """
    boxes = SealedResponse.objects.filter(run=run).values_list("box", flat=True)
    payloads = [sealing.unseal(bytes(box)) for box in boxes]
    if not payloads:
        return
    _responses_store(run, payloads)
    SealedResponse.objects.filter(run=run).delete()


def _responses_store(run: SurveyRun, payloads: list[dict[str, Any]]) -> None:
    """Write a run's responses, all at once, shuffled and coarsened for storage: the one way
    responses are stored (closing a run, importing past results). Call inside a transaction.

    Each payload is `submission_payload`'s shape: team path, attribute values, comment and
    `[question id, value, choice, text]` answers."""
    secrets.SystemRandom().shuffle(payloads)
    placed = response_cells_for_storage(
        k=run.anonymity_threshold,
        cells=[(payload["team_path"], tuple(payload["values"])) for payload in payloads],
    )
    responses: list[Response] = []
    answers: list[Answer] = []
    for payload, (team_id, team_path, values) in zip(payloads, placed, strict=True):
        response = Response(
            run=run,
            team_id=team_id,
            team_path=team_path,
            comment=payload["comment"],
            **dict(zip(ATTRIBUTES, values, strict=True)),
        )
        responses.append(response)
        answers.extend(
            Answer(
                response=response, question_id=question_id, value=value, choice=choice, text=text
            )
            for question_id, value, choice, text in payload["answers"]
        )
    Response.objects.bulk_create(responses, batch_size=2000)
    Answer.objects.bulk_create(answers, batch_size=5000)


# --- Importing past results ----------------------------------------------------------------------

IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_COLUMNS = ("team", *ATTRIBUTES, "comment")
MAX_IMPORT_ERRORS = 100


class SurveyImportRejected(DomainError):
    """The file was refused as a whole: `errors` says which row and column, and why."""

    code = "rows_rejected"

    def __init__(self, message: str, *, errors: Sequence[RowError]):
        super().__init__(message, field="file")
        self.errors = list(errors)


def _import_value(question: Question, raw: str) -> tuple[int | None, str, str] | str:
    """(value, choice, text) for one answer, or the reason it cannot be one."""
    if question.kind in (Question.Kind.AGREEMENT, Question.Kind.SCALE_0_10):
        low, high = (1, 5) if question.kind == Question.Kind.AGREEMENT else (0, 10)
        try:
            value = int(raw)
        except ValueError:
            return f"Give a whole number from {low} to {high}."
        if not low <= value <= high:
            return f"Give a whole number from {low} to {high}."
        return value, "", ""
    if question.kind == Question.Kind.SINGLE_CHOICE:
        if raw not in question.options:
            return f"Give one of: {', '.join(question.options)}."
        return None, raw, ""
    if len(raw) > MAX_TEXT_LENGTH:
        return f"Keep the answer under {MAX_TEXT_LENGTH} characters."
    return None, "", raw


def _import_rows(
    content: bytes, questions: dict[str, Question], teams: dict[str, str]
) -> list[dict[str, Any]]:
    """Every row of the file as a response payload, or SurveyImportRejected with every bad
    row (up to MAX_IMPORT_ERRORS)."""
    errors: list[RowError] = []
    payloads: list[dict[str, Any]] = []
    try:
        rows = list(
            read_csv(
                io.BytesIO(content), required=["team"], optional=[*IMPORT_COLUMNS[1:], *questions]
            )
        )
    except CSVFileError as exc:
        raise SurveyImportRejected(exc.error.reason, errors=[exc.error]) from None
    asked = [code for code in questions if any(code in row for _number, row in rows)]
    if not asked and not any("__error__" in row for _n, row in rows):
        error = RowError(1, "", "Add one column per question code, with the answers.")
        raise SurveyImportRejected(error.reason, errors=[error])
    for number, row in rows:
        if "__error__" in row:
            errors.append(RowError(number, "", row["__error__"]))
            continue
        bad = len(errors)
        team_path = teams.get(row["team"])
        if not row["team"]:
            errors.append(RowError(number, "team", "Give the team's external id."))
        elif team_path is None:
            errors.append(RowError(number, "team", f"There is no team {row['team']!r}."))
        band = row.get("tenure_band", "")
        if band and band not in TenureBand.values:
            reason = f"Give one of: {', '.join(TenureBand.values)} (or leave it empty)."
            errors.append(RowError(number, "tenure_band", reason))
        for name in ("location", "role_family"):
            if len(row.get(name, "")) > 100:
                errors.append(RowError(number, name, "Keep it under 100 characters."))
        comment = row.get("comment", "")
        if len(comment) > MAX_TEXT_LENGTH:
            reason = f"Keep the comment under {MAX_TEXT_LENGTH} characters."
            errors.append(RowError(number, "comment", reason))
        answers = []
        for code in asked:
            raw = row.get(code, "")
            if not raw:
                continue
            cleaned = _import_value(questions[code], raw)
            if isinstance(cleaned, str):
                errors.append(RowError(number, code, cleaned))
                continue
            answers.append([questions[code].pk, *cleaned])
        if not answers and len(errors) == bad:
            errors.append(RowError(number, "", "The row answers no question."))
        if len(errors) == bad:
            payloads.append(
                {
                    "team_path": team_path,
                    "values": [band, row.get("location", ""), row.get("role_family", "")],
                    "comment": comment,
                    "answers": answers,
                }
            )
        if len(errors) >= MAX_IMPORT_ERRORS:
            break
    if errors:
        rows_word = "row" if len({e.row for e in errors}) == 1 else "rows"
        raise SurveyImportRejected(
            f"Nothing was imported: {len({e.row for e in errors})} {rows_word} could not be read.",
            errors=errors,
        )
    return payloads


def survey_run_import_check_size(size: int) -> None:
    """Refuse a file over IMPORT_MAX_BYTES (before reading an upload, when its size is known)."""
    try:
        check_size(size, IMPORT_MAX_BYTES)
    except CSVFileError as exc:
        raise SurveyImportRejected(exc.error.reason, errors=[exc.error]) from None


@transaction.atomic
def survey_run_import(
    *,
    program: SurveyProgram,
    opens_on: dt.date,
    closes_on: dt.date,
    content: bytes,
    today: dt.date | None = None,
) -> SurveyRun:
    """Store a past period's anonymous answers (a CSV, one row per respondent) as a closed run
    of `program`, marked imported: its invitations are unknown, so it shows no participation.

    The period lies in the past (before the programme's first run too) and overlaps no other
    run of the programme. Every row is checked first: one bad row refuses the whole file with
    each row, column and reason (`SurveyImportRejected`), and nothing is written. The answers
    are then stored as a closing run stores them (`_responses_store`: coarsened for storage,
    shuffled, in this one transaction), so the gate and the rules at rest hold alike.
    """
    today = today or timezone.localdate()
    survey_run_import_check_size(len(content))
    if closes_on < opens_on:
        raise DomainError("The period closes before it opens.", field="closes_on")
    if closes_on >= today:
        raise DomainError(
            "Only a past period can be imported: close it before today.", field="closes_on"
        )
    program = SurveyProgram.objects.select_for_update().get(pk=program.pk)
    if program.runs.filter(opens_on__lte=closes_on, closes_on__gte=opens_on).exists():
        raise ConflictError(
            "Another run of this programme covers part of this period.", code="period_taken"
        )
    questions = {q.code: q for q in program.questions.order_by("position", "id")}
    teams = dict(Team.objects.values_list("external_id", "path"))
    teams.pop("", None)
    payloads = _import_rows(content, questions, teams)
    asked = {question_id for payload in payloads for question_id, *_rest in payload["answers"]}
    run = SurveyRun.objects.create(
        program=program,
        sequence=0,
        is_imported=True,
        opens_on=opens_on,
        closes_on=closes_on,
        status=SurveyRun.Status.CLOSED,
        anonymity_threshold=program.anonymity_threshold,
        comment_threshold=program.comment_threshold,
        closed_at=timezone.now(),
    )
    RunQuestion.objects.bulk_create(
        RunQuestion(run=run, question=question, position=position)
        for position, question in enumerate(q for q in questions.values() if q.pk in asked)
    )
    _responses_store(run, payloads)
    _run_summary_store(run)
    return run


def _run_summary_store(run: SurveyRun) -> RunSummary:
    """Store a closed run's published figures (`RunSummary`), in the caller's transaction."""
    return RunSummary.objects.create(run=run, **summary_figures(run))


@transaction.atomic
def run_summary_rebuild(*, run: SurveyRun) -> RunSummary:
    """Write a closed run's summary again from its stored responses: for runs closed before
    summaries were stored, or a database whose responses were restored from a backup. The run
    row is locked, as a close locks it."""
    run = SurveyRun.objects.select_for_update().get(pk=run.pk)
    if run.status != SurveyRun.Status.CLOSED:
        raise ConflictError("Only a closed run has a results summary.", code="run_not_closed")
    RunSummary.objects.filter(run=run).delete()
    return _run_summary_store(run)
