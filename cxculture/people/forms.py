import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import User
from django.db.models import Q

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


def _same_address(a: str, b: str) -> bool:
    def fold(text: str) -> str:
        return unicodedata.normalize("NFKC", text).casefold()

    return fold(a) == fold(b)


class DirectoryPasswordResetForm(PasswordResetForm):
    """Django's reset form skips users without a usable password, which is how directory sync
    creates people: here an active person of the directory gets the link too, so "Forgot your
    password?" also sets a first one. The link starts with CXC_BASE_URL, never the Host header.
    """

    def get_users(self, email: str) -> Iterator[User]:
        users = User.objects.filter(email__iexact=email, is_active=True).filter(
            Q(employee__is_active=True) | ~Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        )
        return (user for user in users if _same_address(email, user.email))

    def save(  # type: ignore[override]
        self, *, domain_override: str | None = None, use_https: bool = False, **kwargs: Any
    ) -> None:
        base = urlsplit(settings.CXC_BASE_URL)
        super().save(domain_override=base.netloc, use_https=base.scheme == "https", **kwargs)
