from django import forms

from cxculture.people.models import Employee, Policy, Team
from surveys.models import Driver, SurveyRun

from .models import Action


class ActionForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
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
    source_driver = forms.ChoiceField(
        label="Driver", choices=[("", "—"), *Driver.choices], required=False
    )
    source_policy = forms.ModelChoiceField(
        label="Policy", queryset=Policy.objects.filter(is_active=True), required=False
    )
    source_label = forms.CharField(label="Insight or note", max_length=300, required=False)
    owner = forms.ModelChoiceField(queryset=Employee.objects.none())
    due_on = forms.DateField(
        label="Due on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, teams, owners, runs, driver_labels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        self.fields["source_run"].queryset = runs  # type: ignore[attr-defined]
        if driver_labels:
            self.fields["source_driver"].choices = [  # type: ignore[attr-defined]
                ("", "—"),
                *((value, driver_labels.get(value, label)) for value, label in Driver.choices),
            ]


class UpdateForm(forms.Form):
    text = forms.CharField(label="Update", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    status = forms.ChoiceField(choices=Action.Status.choices, required=False)
    drop_reason = forms.CharField(
        label="Why drop it?", required=False, help_text="Needed when you drop the action."
    )
