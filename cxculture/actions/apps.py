from django.apps import AppConfig


class ActionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cxculture.actions"
    label = "actions"
    verbose_name = "Actions"
