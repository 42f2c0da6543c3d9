"""The Celery app. Configuration lives in Django settings under the CELERY_ prefix.

Without DJANGO_SETTINGS_MODULE a worker runs on production settings, as the web does
(cxculture/wsgi.py): this module is imported with the `cxculture` package, so its default is
also the one a web process gets. `manage.py` (the demo, development) sets its own first.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxculture.settings.production")

# Every task counts its attempts and ends in the dead-letter table after too many (jobs/base.py).
app = Celery("cxculture", task_cls="cxculture.jobs.base:DeadLetterTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
