from django import forms
from django.urls import reverse_lazy

from cxculture.lib import anonymity
from cxculture.people.models import Team

from .drivers import active_driver_choices, driver_label
from .models import Question, SurveyProgram
from .services import MAX_OPTIONS, MAX_TEXT_LENGTH, AnswerInput

AGREEMENT_CHOICES = [
    ("1", "Strongly disagree"),
    ("2", "Disagree"),
    ("3", "Neutral"),
    ("4", "Agree"),
    ("5", "Strongly agree"),
]
SCALE_CHOICES = [(str(value), str(value)) for value in range(11)]


# Changing who is asked (or k) asks the server again how many people that is. The fields share
# one request at a time (the latest choice waits for the one in flight), so an answer about an
# earlier choice never overwrites the count of the latest.
AUDIENCE_PREVIEW = {
    "hx-get": reverse_lazy("surveys:audience-count"),
    "hx-trigger": "change",
    "hx-sync": "closest form:queue last",
    "hx-target": "#audience-count",
    "hx-include": "[name=audience], [name=teams], [name=anonymity_threshold]",
}


class AudienceForm(forms.Form):
    """The audience fields of a program, to count who would be invited before saving."""

    audience = forms.ChoiceField(choices=SurveyProgram.Audience.choices)
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.filter(is_active=True), required=False
    )
    anonymity_threshold = forms.IntegerField(
        min_value=anonymity.MIN_THRESHOLD, max_value=anonymity.MAX_THRESHOLD, required=False
    )


class ProgramForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    cadence = forms.ChoiceField(
        choices=SurveyProgram.Cadence.choices, initial=SurveyProgram.Cadence.MONTHLY
    )
    starts_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The day the first run opens.",
    )
    run_length_days = forms.IntegerField(
        min_value=1, max_value=90, required=False, help_text="Days each run stays open."
    )
    audience = forms.ChoiceField(
        choices=SurveyProgram.Audience.choices,
        initial=SurveyProgram.Audience.ORGANISATION,
        widget=forms.Select(attrs=AUDIENCE_PREVIEW),
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.filter(is_active=True).order_by("path"),
        required=False,
        help_text="For an audience of chosen teams.",
        widget=forms.SelectMultiple(attrs=AUDIENCE_PREVIEW),
    )
    is_organisation_wide = forms.BooleanField(
        required=False,
        initial=True,
        label="Organisation-wide",
        help_text=(
            "Its runs are the organisation's results on the home pages and dashboards. "
            "Untick for a small or test programme."
        ),
    )
    anonymity_threshold = forms.IntegerField(
        min_value=anonymity.MIN_THRESHOLD,
        max_value=anonymity.MAX_THRESHOLD,
        initial=anonymity.DEFAULT_THRESHOLD,
        widget=forms.NumberInput(attrs=AUDIENCE_PREVIEW),
        help_text="Results are shown only for groups of at least this many respondents.",
    )
    comment_threshold = forms.IntegerField(
        min_value=anonymity.MIN_THRESHOLD,
        max_value=anonymity.MAX_COMMENT_THRESHOLD,
        initial=anonymity.DEFAULT_COMMENT_THRESHOLD,
        help_text="Comments are shown only for groups of at least this many respondents.",
    )
    questions = forms.ModelMultipleChoiceField(
        queryset=Question.objects.filter(is_active=True).order_by("position", "id"),
        widget=forms.CheckboxSelectMultiple,
        help_text="eNPS and engagement items are asked every run; the others rotate.",
    )


class QuestionForm(forms.Form):
    """A custom question of the library: its wording, how it is answered and what it measures."""

    text = forms.CharField(max_length=300, label="Question")
    kind = forms.ChoiceField(choices=Question.Kind.choices, initial=Question.Kind.AGREEMENT)
    options = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=f"Single choice only: one option a line, 2 to {MAX_OPTIONS}.",
    )
    driver = forms.ChoiceField(help_text="What the question measures.")

    def __init__(self, *args, current_driver: str = "", **kwargs):
        """`current_driver`: the driver of the question edited, kept on the list even when HR
        has retired it since (a new question may choose only drivers that are not retired)."""
        super().__init__(*args, **kwargs)
        driver = self.fields["driver"]
        assert isinstance(driver, forms.ChoiceField)  # noqa: S101 - declared just above
        choices = active_driver_choices()
        if current_driver and current_driver not in dict(choices):
            choices.append((current_driver, f"{driver_label(current_driver)} (retired)"))
        driver.choices = choices

    def clean_options(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["options"].splitlines() if line.strip()]


class CustomDriverForm(forms.Form):
    label = forms.CharField(
        max_length=60, label="New driver", help_text="For example Benefits or Hybrid work."
    )


class CustomDriverRenameForm(forms.Form):
    label = forms.CharField(max_length=60, label="Name")


class ResponseForm(forms.Form):
    """The questions of one run; every question may be skipped."""

    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=MAX_TEXT_LENGTH,
        label="Anything else you'd like to tell us?",
    )

    def __init__(self, *args, questions: list[Question], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            name = f"q{question.pk}"
            match question.kind:
                case Question.Kind.AGREEMENT:
                    field: forms.Field = forms.ChoiceField(
                        choices=AGREEMENT_CHOICES, widget=forms.RadioSelect, required=False
                    )
                case Question.Kind.SCALE_0_10:
                    field = forms.ChoiceField(
                        choices=SCALE_CHOICES, widget=forms.RadioSelect, required=False
                    )
                case Question.Kind.SINGLE_CHOICE:
                    field = forms.ChoiceField(
                        choices=[(option, option) for option in question.options],
                        widget=forms.RadioSelect,
                        required=False,
                    )
                case _:
                    field = forms.CharField(
                        widget=forms.Textarea(attrs={"rows": 3}),
                        required=False,
                        max_length=MAX_TEXT_LENGTH,
                    )
            field.label = question.text
            self.fields[name] = field

    def items(self) -> list[tuple[Question, forms.BoundField]]:
        return [(question, self[f"q{question.pk}"]) for question in self.questions]

    def answers(self) -> list[AnswerInput]:
        answers = []
        for question in self.questions:
            raw = self.cleaned_data.get(f"q{question.pk}") or ""
            if not raw:
                continue
            match question.kind:
                case Question.Kind.AGREEMENT | Question.Kind.SCALE_0_10:
                    answers.append(AnswerInput(question=question.pk, value=int(raw)))
                case Question.Kind.SINGLE_CHOICE:
                    answers.append(AnswerInput(question=question.pk, choice=raw))
                case _:
                    answers.append(AnswerInput(question=question.pk, text=raw))
        return answers


class RunImportForm(forms.Form):
    """HR's upload of a past period's anonymous answers (`services.survey_run_import`)."""

    program = forms.ModelChoiceField(queryset=SurveyProgram.objects.order_by("name", "id"))
    opens_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="The first day of the period."
    )
    closes_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The last day of the period, before today.",
    )
    file = forms.FileField(
        help_text=(
            "CSV (UTF-8), one row per respondent: team (external id), optional tenure_band, "
            "location, role_family and comment, and one column per question code."
        )
    )
