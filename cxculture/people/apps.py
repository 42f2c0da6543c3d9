from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "cxculture.people"
    label = "people"
    verbose_name = "People"
