from django.apps import AppConfig


class CxcultureConfig(AppConfig):
    """The project package itself: management commands (seed_demo) and shared templates."""

    name = "cxculture"
    verbose_name = "cxculture"
