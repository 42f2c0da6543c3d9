from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cxculture.audit"
    label = "audit"
    verbose_name = "Audit log"
