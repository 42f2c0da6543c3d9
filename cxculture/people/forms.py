from django import forms

from .models import DirectorySync


class DirectorySyncForm(forms.Form):
    kind = forms.ChoiceField(
        choices=DirectorySync.Kind.choices, initial=DirectorySync.Kind.EMPLOYEES
    )
    file = forms.FileField(help_text="A UTF-8 CSV file whose first row names the columns.")
