"""Programs, scheduling, question rotation and the beat tasks that open and close runs."""

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError

from cxculture.lib.errors import ConflictError, DomainError
from cxculture.people.models import Employee
from surveys import services, tasks
from surveys.models import Driver, Invitation, Question, SurveyProgram, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, open_run


def asked(run):
    return list(run.questions.order_by("runquestion__position"))


@pytest.mark.parametrize(
    ("cadence", "size"),
    [("weekly", 6), ("biweekly", 8), ("monthly", 16), ("quarterly", 25)],
)
def test_each_run_asks_enps_and_engagement_plus_a_rotating_share(question_library, cadence, size):
    chosen = services.questions_for_run(question_library, cadence=cadence, sequence=1)
    assert len(chosen) == size
    drivers = [q.driver for q in chosen]
    assert drivers.count(Driver.ENGAGEMENT) == 3
    assert drivers.count(Driver.ENPS) == 1


@pytest.mark.parametrize(("cadence", "runs"), [("weekly", 4), ("biweekly", 2), ("monthly", 1)])
def test_rotation_covers_every_driver_within_a_few_runs(question_library, cadence, runs):
    covered = set()
    for sequence in range(1, runs + 1):
        covered |= {
            q.driver
            for q in services.questions_for_run(
                question_library, cadence=cadence, sequence=sequence
            )
        }
    assert covered == set(Driver.values)


def test_rotation_asks_every_question_over_a_cycle_and_is_deterministic(question_library):
    seen = set()
    for sequence in range(1, 12):
        chosen = services.questions_for_run(question_library, cadence="weekly", sequence=sequence)
        assert chosen == services.questions_for_run(
            question_library, cadence="weekly", sequence=sequence
        )
        seen |= {q.pk for q in chosen}
    assert seen == {q.pk for q in question_library}


def test_the_built_in_library_is_loaded_and_reversible(question_library):
    from django.apps import apps

    from tests.factories.surveys import _library

    assert len(question_library) == 25
    assert {q.driver for q in question_library} == set(Driver.values)
    assert (
        Question.objects.get(code="enps").text
        == "How likely are you to recommend working here to a friend?"
    )
    _library.unload_builtin_questions(apps, None)
    assert not Question.objects.filter(is_builtin=True).exists()


def test_program_thresholds_are_checked_by_the_service_and_the_database(opens):
    with pytest.raises(DomainError, match="between 3 and 10"):
        ProgramFactory(anonymity_threshold=2)
    with pytest.raises(DomainError, match="comment threshold"):
        ProgramFactory(anonymity_threshold=6, comment_threshold=5)
    program = ProgramFactory()
    with pytest.raises(IntegrityError):
        SurveyProgram.objects.filter(pk=program.pk).update(anonymity_threshold=11)


def test_custom_questions_are_tagged_with_a_driver_and_checked():
    choice = services.question_create(
        text="Which shift do you mostly work?",
        driver="wellbeing",
        kind="single_choice",
        options=["Early", "Late"],
    )
    assert (choice.driver, choice.options, choice.is_builtin) == (
        "wellbeing",
        ["Early", "Late"],
        False,
    )
    with pytest.raises(DomainError, match="0-10"):
        services.question_create(text="Recommend us?", driver="enps", kind="agreement")
    with pytest.raises(DomainError, match="between 2"):
        services.question_create(
            text="Pick", driver="growth", kind="single_choice", options=["Only"]
        )
    with pytest.raises(DomainError, match="Built-in questions cannot be edited"):
        services.question_update(question=Question.objects.get(code="enps"), text="Changed")


def test_a_question_already_asked_keeps_its_wording(opens):
    team = TeamFactory()
    EmployeeFactory(team=team)
    custom = services.question_create(
        text="Do you have a quiet place for calls?", driver="enablement"
    )
    program = ProgramFactory(audience="teams", teams=[team], questions=[custom])
    open_run(program, opens)
    with pytest.raises(ConflictError):
        services.question_update(question=custom, text="Something else")
    assert services.question_update(question=custom, is_active=False).is_active is False


def test_an_organisation_run_invites_every_active_person_once_with_their_team_now(opens, org):
    desk = TeamFactory(name="Desk", parent=org["support"])
    placed = EmployeeFactory(team=desk)
    unplaced = EmployeeFactory(team=None)
    left = EmployeeFactory(team=desk)
    Employee.objects.filter(pk=left.pk).update(is_active=False)  # left the company

    run = open_run(ProgramFactory(audience="organisation"), opens)

    rows = dict(Invitation.objects.filter(run=run).values_list("employee_id", "team_path"))
    assert rows[placed.pk] == desk.path
    assert rows[unplaced.pk] == ""
    assert left.pk not in rows
    assert set(rows) == set(
        Employee.objects.filter(is_active=True, user__is_active=True).values_list("pk", flat=True)
    )


def test_opening_snapshots_thresholds_teams_and_the_audience(opens):
    support = TeamFactory(name="Support")
    inner = TeamFactory(name="Inner", parent=support)
    outside = TeamFactory(name="Outside")
    EmployeeFactory(team=support)
    EmployeeFactory(team=inner)
    EmployeeFactory(team=outside)
    program = ProgramFactory(
        audience="subtrees", teams=[support], anonymity_threshold=4, comment_threshold=8
    )
    run = open_run(program, opens)
    invitations = Invitation.objects.filter(run=run)
    assert invitations.count() == 2
    assert set(invitations.values_list("team_path", flat=True)) == {support.path, inner.path}
    services.survey_program_update(program=program, anonymity_threshold=7, comment_threshold=9)
    run.refresh_from_db()
    assert (run.anonymity_threshold, run.comment_threshold) == (4, 8)
    members_only = ProgramFactory(audience="teams", teams=[support])
    assert Invitation.objects.filter(run=open_run(members_only, opens)).count() == 1


def test_the_beat_plans_opens_and_closes_runs_on_schedule(
    opens, on_opening_day, django_capture_on_commit_callbacks
):
    def beat(task):
        with django_capture_on_commit_callbacks(execute=True):
            task()

    team = TeamFactory()
    for _ in range(2):
        EmployeeFactory(team=team)
    program = ProgramFactory(
        audience="teams", teams=[team], cadence="weekly", run_length_days=5, starts_on=opens
    )
    beat(tasks.survey_runs_open_due_task)
    run = SurveyRun.objects.get(program=program)
    assert (run.status, run.opens_on, run.closes_on, run.sequence) == (
        "open",
        opens,
        opens + dt.timedelta(days=4),
        1,
    )
    assert len(mail.outbox) == 2
    beat(tasks.survey_runs_open_due_task)  # hourly: nothing more
    assert SurveyRun.objects.filter(program=program).count() == 1 and len(mail.outbox) == 2

    on_opening_day.move_to(dt.datetime(2026, 3, 7, 0, 30, tzinfo=dt.UTC))  # day 6
    beat(tasks.survey_runs_close_ended_task)
    run.refresh_from_db()
    assert run.status == SurveyRun.Status.CLOSED
    beat(tasks.survey_runs_open_due_task)
    planned = SurveyRun.objects.get(program=program, sequence=2)
    assert (planned.status, planned.opens_on) == ("scheduled", opens + dt.timedelta(weeks=1))

    on_opening_day.move_to(dt.datetime(2026, 3, 9, 8, 15, tzinfo=dt.UTC))
    beat(tasks.survey_runs_open_due_task)
    planned.refresh_from_db()
    assert planned.status == SurveyRun.Status.OPEN
    assert len(mail.outbox) == 4


def test_hr_can_open_early_and_close_early(opens):
    team = TeamFactory()
    EmployeeFactory(team=team)
    program = ProgramFactory(
        audience="teams", teams=[team], starts_on=opens + dt.timedelta(days=20)
    )
    run = services.survey_run_schedule(program=program, today=opens)
    assert run.opens_on == opens + dt.timedelta(days=20)
    run = services.survey_run_open(run=run, today=opens)
    assert (run.opens_on, run.closes_on) == (opens, opens + dt.timedelta(days=6))
    with pytest.raises(ConflictError):
        services.survey_run_open(run=run, today=opens)
    with pytest.raises(ConflictError):
        services.survey_run_schedule(program=program, today=opens)
    run = services.survey_run_close(run=run, today=opens + dt.timedelta(days=2))
    assert (run.status, run.closes_on) == ("closed", opens + dt.timedelta(days=2))
    with pytest.raises(ConflictError):
        services.survey_run_close(run=run, today=opens)


def test_monthly_runs_follow_the_calendar_without_drift():
    program = SurveyProgram(cadence="monthly", starts_on=dt.date(2026, 1, 31))
    assert [services.planned_opening(program, n) for n in (1, 2, 3)] == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
    ]
