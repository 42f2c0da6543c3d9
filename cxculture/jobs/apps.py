from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "cxculture.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
