"""Signing in: every attempt for one username waits for the one before it.

django-axes checks whether a username + address is locked *before* the password is tried and
counts the failure *after*; attempts sent at once would all pass the check before any failure is
counted, so each would get its password tried. Holding a lock per username from the check until
the failure is committed makes concurrent guesses count exactly like sequential ones.
"""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpRequest

# The advisory lock's namespace (first key); the second key is a hash of the username.
_SIGN_IN_LOCK_NAMESPACE = 0x5161_0001


def username_max_length() -> int:
    field = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD)
    return field.max_length or 150  # type: ignore[union-attr]


def authenticate_one_at_a_time(
    request: HttpRequest | None, *, username: str, password: str
) -> User | None:
    """`django.contrib.auth.authenticate` (the lockout check, the password, the failure's
    bookkeeping) in a transaction holding a PostgreSQL advisory lock on the username, released
    at commit, so attempts for one username are tried one after another. (SQLite serialises
    writers by itself.)"""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    [_SIGN_IN_LOCK_NAMESPACE, username],
                )
        user = authenticate(request, username=username, password=password)
    return user if isinstance(user, User) else None


class SignInForm(AuthenticationForm):
    """Django's sign-in form with attempts per username taken one at a time, and an overlong
    username refused with the ordinary error before it reaches the lockout's 255-character
    column (Django only sets the input's `maxlength`, which a client need not respect)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and len(username) > username_max_length():
            raise self.get_invalid_login_error()
        if username is not None and password:
            self.user_cache = authenticate_one_at_a_time(
                self.request, username=username, password=password
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
