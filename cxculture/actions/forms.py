import datetime as dt
from typing import Any

from django import forms
from django.urls import reverse

from cxculture.people.models import Employee, Policy, Team
from surveys import drivers
from surveys.models import SurveyRun

from .models import (
    DESCRIPTION_MAX_LENGTH,
    DROP_REASON_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    SOURCE_LABEL_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Action,
)
from .services import OWNER_OUTSIDE_SCOPE

# The owner list shows at most this many people; the search finds the others (an organisation
# action may be owned by anyone, and there may be thousands).
OWNER_CHOICES_SHOWN = 100


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        team = f" — {obj.team.name}" if obj.team_id else ""
        return f"{obj.display_name}{team}"


def owner_choices(owners: list[Employee]) -> list[tuple[Any, str]]:
    label = OwnerChoiceField(queryset=Employee.objects.none()).label_from_instance
    return [(person.pk, label(person)) for person in owners]


class ActionForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="The whole organisation",
        help_text="Who it is for: they see it on their \u201cyou said, we did\u201d page.",
    )
    source_kind = forms.ChoiceField(label="It answers", choices=Action.SourceKind.choices)
    source_run = forms.ModelChoiceField(
        label="Survey run", queryset=SurveyRun.objects.none(), required=False
    )
    # Choices are the organisation's drivers, built-in and HR's own, read when the form is made.
    source_driver = forms.ChoiceField(label="Driver", choices=[("", "—")], required=False)
    source_policy = forms.ModelChoiceField(
        label="Policy", queryset=Policy.objects.filter(is_active=True), required=False
    )
    source_label = forms.CharField(
        label="Insight or note", max_length=SOURCE_LABEL_MAX_LENGTH, required=False
    )
    owner = OwnerChoiceField(
        queryset=Employee.objects.none(),
        help_text="Someone in the team (or below it) or one of its managers.",
        error_messages={"invalid_choice": OWNER_OUTSIDE_SCOPE},
    )
    due_on = forms.DateField(
        label="Due on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(
        self,
        *args: Any,
        teams: Any,
        owners: Any,
        shown_owners: list[Employee],
        runs: Any,
        due_bounds: tuple[dt.date, dt.date],
        driver_labels: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        # With htmx, choosing the team swaps in its people (and its default owner).
        self.fields["team"].widget.attrs.update(
            {
                "hx-get": reverse("actions:owner-options"),
                "hx-trigger": "change",
                "hx-target": "#id_owner",
                "hx-swap": "innerHTML",
            }
        )
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        # Validation accepts anyone in `owners`; the list shows the first few (and the search).
        self.fields["owner"].widget.choices = [("", "---------"), *owner_choices(shown_owners)]
        self.fields["source_run"].queryset = runs  # type: ignore[attr-defined]
        earliest, latest = due_bounds
        self.fields["due_on"].widget.attrs.update(
            {"min": earliest.isoformat(), "max": latest.isoformat()}
        )
        labels = driver_labels or {}
        self.fields["source_driver"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((code, labels.get(code, label)) for code, label in drivers.active_driver_choices()),
        ]


class UpdateForm(forms.Form):
    text = forms.CharField(
        label="Update",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        required=False,
    )
    status = forms.ChoiceField(choices=Action.Status.choices, required=False)
    drop_reason = forms.CharField(
        label="Why drop it?",
        max_length=DROP_REASON_MAX_LENGTH,
        required=False,
        help_text="Needed when you drop the action.",
    )
