"""Settings for `make bench`: production settings over plain HTTP on loopback, plus the floors.

The floors (a bare Django view, a DRF view with one indexed SELECT, a DRF POST that inserts one
row) live in bench/urls.py so the product's own URLs carry nothing that exists only to measure.
"""

from cxculture.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The bench speaks plain HTTP to 127.0.0.1: no redirect to HTTPS, cookies not HTTPS-only.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# Measure the product, not the throttle.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_CLASSES": [],
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# The no-op floor of the invitation fan-out (bench/tasks.py) exists only for the bench.
CELERY_IMPORTS = ["bench.tasks"]
