from django import forms

from .models import Metric
from .presets import PRESETS


class OutcomeImportForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True, help_text="A UTF-8 CSV file whose first row names the columns."
    )
    source = forms.SlugField(
        max_length=50,
        initial="csv",
        help_text="Where the rows come from (e.g. zendesk). Rows are told apart by source and "
        "external_id, so a file imported again under the same source changes nothing.",
    )
    preset = forms.ChoiceField(
        required=False,
        choices=[("", "— none: the file uses our column names —")]
        + [(preset.name, preset.title) for preset in PRESETS.values()],
        label="Helpdesk export",
        help_text="Read a helpdesk's CSAT export as it is (its columns and scores). Leave the "
        "source at csv to use the helpdesk's name as the source.",
    )
    map_columns = forms.BooleanField(
        required=False,
        label="Map the file's columns myself",
        help_text="A file with other column names, or a helpdesk export, always gets the "
        "mapping step.",
    )


NOT_IN_FILE = ""
REQUIRED_FIELDS = ("value", "occurred_at")
FIELD_HELP = {
    "metric": "The metric code of each row; or choose one metric for every row below.",
    "value": "The score or measurement.",
    "occurred_at": "When it happened (ISO 8601).",
    "team_external_id": "The team's external id (team or agent, or both, is required).",
    "agent": "The agent's external id or e-mail.",
    "customer_ref": "Who the customer is, to link outcomes with exceptions.",
    "interaction_ref": "The ticket or conversation.",
    "external_id": "The row's own id, so importing it again changes nothing.",
    "source": "Where each row comes from, when one file mixes several tools.",
}


class OutcomeMappingForm(forms.Form):
    """One select per field of a record: which of the file's columns fills it (or none)."""

    def __init__(
        self,
        *args,
        headers: list[str],
        targets: tuple[str, ...],
        metrics: list[tuple[str, str]],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.targets = targets
        columns = [(NOT_IN_FILE, "— not in the file —")] + [(name, name) for name in headers]
        for target in targets:
            label = f"{target} (required)" if target in REQUIRED_FIELDS else target
            self.fields[target] = forms.ChoiceField(
                choices=columns,
                required=False,
                label=label,
                help_text=FIELD_HELP.get(target, ""),
                error_messages={"invalid_choice": "%(value)s is not a column of this file."},
            )
        self.fields["fixed_metric"] = forms.ChoiceField(
            choices=[("", "— from the metric column —"), *metrics],
            required=False,
            label="Every row is",
            help_text="A CSAT export has no metric column: choose its metric here.",
        )

    def target_fields(self) -> list[forms.BoundField]:
        return [self[target] for target in self.targets]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        mapping: dict[str, str] = {}
        filled_by: dict[str, str] = {}
        for target in self.targets:
            column = cleaned.get(target) or ""
            if column and column in filled_by:
                self.add_error(target, f"{column!r} already fills {filled_by[column]}.")
                continue
            if column:
                filled_by[column] = target
            mapping[target] = column
        for target in REQUIRED_FIELDS:
            if target not in self.errors and not mapping.get(target):
                self.add_error(target, f"Choose the column that holds {target}.")
        if not mapping.get("metric") and not cleaned.get("fixed_metric"):
            self.add_error(
                "metric", "Choose the column that holds the metric, or one metric for every row."
            )
        if not mapping.get("team_external_id") and not mapping.get("agent"):
            self.add_error(
                "team_external_id",
                "Choose team_external_id, agent or both: each record belongs to a team.",
            )
        cleaned["mapping"] = mapping
        return cleaned


class MetricForm(forms.Form):
    code = forms.SlugField(max_length=50, help_text="How files and webhooks name it, e.g. ces.")
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Metric.Kind.choices)
    min_value = forms.FloatField(required=False, help_text="Leave empty for yes/no metrics.")
    max_value = forms.FloatField(required=False)
    unit = forms.CharField(max_length=30, required=False)
    higher_is_better = forms.BooleanField(required=False, initial=True)


class OutcomeSourceForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. Zendesk")
    slug = forms.SlugField(max_length=50, help_text="The records' source, e.g. zendesk.")
