from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "cxculture.insights"
    label = "insights"
    verbose_name = "Insights"
