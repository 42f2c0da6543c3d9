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
