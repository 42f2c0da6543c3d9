"""Local development and `make demo`: debug on, a fixed insecure key, console email."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-do-not-deploy")
# Static files come straight from the finders (app folders and node_modules) while developing.
STATIC_ROOT = None  # type: ignore[assignment]

# Console e-mails as people read them: the decoded text body, links whole and clickable
# (Django's console backend prints quoted-printable MIME source).
if MAILERS["default"]["BACKEND"] == "django.core.mail.backends.console.EmailBackend":  # noqa: F405
    MAILERS["default"]["BACKEND"] = "cxculture.lib.emails.ConsoleEmailBackend"  # noqa: F405
