"""WSGI entry point for gunicorn: `gunicorn cxculture.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxculture.settings.production")

application = get_wsgi_application()
