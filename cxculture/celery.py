"""The Celery app. Configuration lives in Django settings under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxculture.settings.dev")

# Every task counts its attempts and ends in the dead-letter table after too many (jobs/base.py).
app = Celery("cxculture", task_cls="cxculture.jobs.base:DeadLetterTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
