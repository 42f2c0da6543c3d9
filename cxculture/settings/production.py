"""Production: secrets from the environment with no defaults, HTTPS everywhere."""

from .base import *  # noqa: F403
from .base import env, mailers_from_email_url

DEBUG = False
# No default: production refuses to start without a real key.
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# No default: invitations and password resets need a real mail server.
MAILERS = mailers_from_email_url(env.email_url("DJANGO_EMAIL_URL"))

# No default: one cache shared by every web process and worker (e.g. redis://redis:6379/1).
# A per-process memory cache would give each process its own rate-limit counters and its own
# dashboard figures.
CACHES = {"default": env.cache("CXC_CACHE_URL")}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
