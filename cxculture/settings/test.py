"""Settings for pytest. DATABASE_URL and CELERY_BROKER_URL switch to real services."""

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, REST_FRAMEWORK, env

SECRET_KEY = "test-only-insecure-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Unit tests run tasks in-process. tests/integration turns this off in the test process and
# starts real workers with CXC_TASKS_EAGER=false and a file email backend it can read.
CELERY_TASK_ALWAYS_EAGER = env.bool("CXC_TASKS_EAGER", default=True)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
if env.str("CXC_TEST_EMAIL_DIR", default=""):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": env.str("CXC_TEST_EMAIL_DIR")},
        }
    }
# A real worker must open the same test database as pytest: with SQLite, a file.
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and env.str("CELERY_BROKER_URL", default=""):
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".pytest-db.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "100000/minute"},
}
STATIC_ROOT = None  # type: ignore[assignment]
# Tests read the dashboard's figures fresh; tests/insights/test_culture_cache.py turns the cache on.
CXC_DASHBOARD_CACHE_SECONDS = 0
