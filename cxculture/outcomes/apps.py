from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "cxculture.outcomes"
    label = "outcomes"
    verbose_name = "Customer outcomes"
