from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is evidence, nobody edits or deletes it."""

    list_display = ["created_at", "action", "actor", "target_type", "target_id", "ip"]
    list_filter = ["action", "target_type"]
    list_select_related = ["actor"]
    search_fields = ["target_id", "actor__username"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "action", "actor", "target_type", "target_id", "details", "ip"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
