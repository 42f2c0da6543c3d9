"""Settings for pytest. DATABASE_URL and CELERY_BROKER_URL switch to real services."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, env

SECRET_KEY = "test-only-insecure-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Unit tests run tasks in-process; tests/integration starts a real worker and turns this off.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "100000/minute"},
}
STATIC_ROOT = None  # type: ignore[assignment]
