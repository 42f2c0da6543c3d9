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

from .models import DirectorySync


class DirectorySyncForm(forms.Form):
    kind = forms.ChoiceField(
        choices=DirectorySync.Kind.choices, initial=DirectorySync.Kind.EMPLOYEES
    )
    file = forms.FileField(help_text="A UTF-8 CSV file whose first row names the columns.")


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
