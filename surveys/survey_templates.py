"""Survey templates HR can start a program from: questions of the built-in library and defaults.

A template only fills in the new-program form; the program is created as any other, and HR can
change every field before saving. Onboarding and exit are lifecycle surveys: until the product
knows hire and leaving dates per run, they are aimed at chosen teams (new joiners' or leavers'
teams) and run on a cadence like any program.
"""

from dataclasses import dataclass

from .models import Question, SurveyProgram

Cadence = SurveyProgram.Cadence
Audience = SurveyProgram.Audience


@dataclass(frozen=True)
class SurveyTemplate:
    key: str
    name: str
    description: str
    question_codes: tuple[str, ...]
    cadence: str
    run_length_days: int
    audience: str = Audience.ORGANISATION
    lifecycle: bool = False


SURVEY_TEMPLATES: dict[str, SurveyTemplate] = {
    template.key: template
    for template in (
        SurveyTemplate(
            key="pulse",
            name="Pulse",
            description="A short check-in every two weeks: engagement, eNPS and a few drivers.",
            question_codes=(
                "eng-proud",
                "eng-motivated",
                "enps",
                "wel-workload",
                "rec-noticed",
                "ena-tools",
                "lea-manager",
                "bia-action",
            ),
            cadence=Cadence.BIWEEKLY,
            run_length_days=5,
        ),
        SurveyTemplate(
            key="census",
            name="Engagement census",
            description="Every built-in question once a quarter, open for two weeks.",
            question_codes=(
                "eng-proud",
                "eng-motivated",
                "eng-stay",
                "emp-bend-policy",
                "emp-decide",
                "emp-backed",
                "ena-tools",
                "ena-process",
                "ena-backoffice",
                "rec-noticed",
                "rec-valued",
                "lea-live-it",
                "lea-trust",
                "lea-manager",
                "cus-outcome",
                "cus-voice",
                "cus-root-cause",
                "gro-coaching",
                "gro-path",
                "wel-workload",
                "wel-switch-off",
                "wel-speak-up",
                "bia-action",
                "bia-seen-change",
                "enps",
            ),
            cadence=Cadence.QUARTERLY,
            run_length_days=14,
        ),
        SurveyTemplate(
            key="onboarding",
            name="Onboarding",
            description="How the first months go: tools, process, coaching and the manager.",
            question_codes=(
                "eng-proud",
                "ena-tools",
                "ena-process",
                "lea-manager",
                "gro-coaching",
                "gro-path",
                "wel-speak-up",
                "enps",
            ),
            cadence=Cadence.MONTHLY,
            run_length_days=14,
            audience=Audience.TEAMS,
            lifecycle=True,
        ),
        SurveyTemplate(
            key="exit",
            name="Exit",
            description="Why people leave: workload, recognition, growth and leadership.",
            question_codes=(
                "eng-stay",
                "emp-backed",
                "rec-valued",
                "lea-trust",
                "lea-manager",
                "gro-path",
                "wel-workload",
                "wel-switch-off",
                "enps",
            ),
            cadence=Cadence.MONTHLY,
            run_length_days=14,
            audience=Audience.TEAMS,
            lifecycle=True,
        ),
    )
}


def template_questions(template: SurveyTemplate) -> list[Question]:
    """The template's questions that are in the library and switched on, in library order."""
    return list(
        Question.objects.filter(
            code__in=template.question_codes, is_builtin=True, is_active=True
        ).order_by("position", "id")
    )


def template_initial(template: SurveyTemplate) -> dict[str, object]:
    """The new-program form's starting values for `template`."""
    return {
        "name": template.name,
        "description": template.description,
        "cadence": template.cadence,
        "run_length_days": template.run_length_days,
        "audience": template.audience,
        "questions": template_questions(template),
        # A lifecycle survey asks a few people at a moment of their own: never the
        # organisation's latest results.
        "is_organisation_wide": not template.lifecycle,
    }
