"""Factories and helpers for pulse surveys. Data is made through the services."""

import datetime as dt
import importlib

import factory
from django.apps import apps

from surveys import services
from surveys.models import Invitation, Question, SurveyProgram, SurveyRun

_library = importlib.import_module("surveys.migrations.0002_builtin_questions")


def load_question_library() -> list[Question]:
    """The built-in library, loaded by the same code as the data migration (tests skip those)."""
    _library.load_builtin_questions(apps, None)
    return list(Question.objects.filter(is_builtin=True))


def question(code: str) -> Question:
    return Question.objects.get(code=code)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyProgram

    name = factory.Sequence(lambda n: f"Pulse {n}")
    starts_on = factory.LazyFunction(lambda: dt.date(2026, 3, 2))
    cadence = SurveyProgram.Cadence.QUARTERLY
    run_length_days = 7
    anonymity_threshold = 5
    comment_threshold = 10

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.survey_program_create(**kwargs)


def open_run(program: SurveyProgram, today: dt.date) -> SurveyRun:
    return services.survey_run_start_now(program=program, today=today)


def answer(invitation: Invitation, today: dt.date, comment: str = "", **values) -> None:
    """Answer as the invitee: `values` maps question codes (dashes as underscores) to answers."""
    inputs = []
    for code, value in values.items():
        asked = question(code.replace("_", "-"))
        if isinstance(value, str) and asked.kind == Question.Kind.SINGLE_CHOICE:
            inputs.append(services.AnswerInput(question=asked.pk, choice=value))
        elif isinstance(value, str):
            inputs.append(services.AnswerInput(question=asked.pk, text=value))
        else:
            inputs.append(services.AnswerInput(question=asked.pk, value=value))
    services.response_submit(
        invitation_id=invitation.pk, answers=inputs, comment=comment, today=today
    )


__all__ = ["ProgramFactory", "answer", "load_question_library", "open_run", "question"]


def sealed(run: SurveyRun) -> list[dict]:
    """The run's sealed answers, opened (as `survey_run_close` will open them)."""
    from cxculture.lib import sealing
    from surveys.models import SealedResponse

    return [
        sealing.unseal(box)
        for box in SealedResponse.objects.filter(run=run).values_list("box", flat=True)
    ]
