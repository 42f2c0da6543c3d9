"""Reads of pulse surveys' programmes, questions and runs, scoped to the viewer.

A run's results (snapshot, scoring, the anonymity gate, summaries, pages) are read in
`surveys.results`.
"""

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from cxculture.people.permissions import Viewer

from .models import Invitation, Question, RunQuestion, SurveyProgram, SurveyRun, SurveyRunQuerySet

# --- Programs, questions, runs -------------------------------------------------------------------


def programs_for_viewer(viewer: Viewer) -> QuerySet[SurveyProgram]:
    if not viewer.is_authenticated:
        return SurveyProgram.objects.none()
    programs = (
        SurveyProgram.objects.prefetch_related("questions", "teams")
        .annotate(run_count=Count("runs", distinct=True))
        .order_by("name", "id")
    )
    return programs if viewer.is_hr_admin else programs.filter(is_active=True)


def questions_for_viewer(viewer: Viewer) -> QuerySet[Question]:
    if not viewer.is_authenticated:
        return Question.objects.none()
    return Question.objects.all() if viewer.is_hr_admin else Question.objects.filter(is_active=True)


def runs_for_viewer(viewer: Viewer) -> SurveyRunQuerySet:
    """Runs are public to everyone signed in (dates, status, questions — no answers).

    Each run says whether the viewer was invited and has responded, for their to-do list.
    """
    if not viewer.is_authenticated:
        return SurveyRun.objects.none()
    mine = Invitation.objects.filter(run=OuterRef("pk"), employee=viewer.employee)
    runs = (
        SurveyRun.objects.select_related("program")
        .annotate(
            question_count=Count("run_questions", distinct=True),
            invited=Exists(mine),
            responded=Exists(mine.filter(responded_on__isnull=False)),
        )
        .order_by("-opens_on", "-id")
    )
    if not viewer.is_hr_admin:
        runs = runs.filter(program__is_active=True)
    return runs


def run_questions(run: SurveyRun) -> list[Question]:
    return [
        rq.question
        for rq in RunQuestion.objects.filter(run=run)
        .select_related("question")
        .order_by("position", "id")
    ]


def invitation_for(viewer: Viewer, run: SurveyRun) -> Invitation | None:
    if viewer.employee is None:
        return None
    return Invitation.objects.filter(run=run, employee=viewer.employee).first()


def open_runs_waiting_for(viewer: Viewer) -> QuerySet[SurveyRun]:
    """Runs taking responses today that the viewer was invited to and has not answered yet."""
    waiting = Invitation.objects.filter(
        run=OuterRef("pk"), employee=viewer.employee, responded_on__isnull=True
    )
    return runs_for_viewer(viewer).filter(Exists(waiting)).accepting(timezone.localdate())


def previous_closed_run(run: SurveyRun) -> SurveyRun | None:
    return (
        SurveyRun.objects.filter(
            program_id=run.program_id, status=SurveyRun.Status.CLOSED, sequence__lt=run.sequence
        )
        .order_by("-sequence", "-closes_on")  # imported runs are all number 0: the latest
        .first()
    )


def import_question_codes() -> list[str]:
    """The codes an import file may use as answer columns: every active question's."""
    return list(Question.objects.filter(is_active=True).values_list("code", flat=True))
