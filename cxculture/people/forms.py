from django import forms

from .models import DirectorySource, DirectorySync

IGNORE = ""


class DirectorySyncForm(forms.Form):
    kind = forms.ChoiceField(
        choices=DirectorySync.Kind.choices, initial=DirectorySync.Kind.EMPLOYEES
    )
    file = forms.FileField(help_text="A UTF-8 CSV file whose first row names the columns.")
    source = forms.ModelChoiceField(
        queryset=DirectorySource.objects.all(),
        required=False,
        empty_label="— none: match the file's headers —",
        to_field_name="name",
        label="Saved column mapping",
    )
    map_columns = forms.BooleanField(
        required=False,
        label="Map the file's columns myself",
        help_text="Exports without an external_id column always get the mapping step.",
    )


class DirectoryMappingForm(forms.Form):
    """One select per header of the file: which of our fields it fills (or none)."""

    save_mapping_as = forms.CharField(
        required=False,
        max_length=100,
        label="Save this mapping as",
        help_text="A name for the system this export comes from, to reuse the mapping next time.",
    )

    def __init__(
        self,
        *args,
        headers: list[str],
        required: tuple[str, ...],
        optional: tuple[str, ...],
        guess: dict[str, str],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.required = required
        choices = [(IGNORE, "— not imported —")]
        choices += [(target, f"{target} (required)") for target in required]
        choices += [(target, target) for target in optional]
        by_header = {header: target for target, header in guess.items()}
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                choices=choices, required=False, label=header, initial=by_header.get(header, "")
            )

    def header_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        mapping: dict[str, str] = {}
        for index, header in enumerate(self.headers):
            target = cleaned.get(f"column_{index}")
            if not target:
                continue
            if target in mapping:
                self.add_error(
                    f"column_{index}",
                    f"{target} is already filled from {mapping[target]!r}.",
                )
                continue
            mapping[target] = header
        missing = [target for target in self.required if target not in mapping]
        if missing:
            raise forms.ValidationError(f"Choose a column for: {', '.join(missing)}.")
        cleaned["mapping"] = mapping
        return cleaned
