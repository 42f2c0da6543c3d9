from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from cxculture.people.permissions import viewer_for

from .models import DeadLetter
from .services import dead_letter_retry


def _may_see(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and (user.is_superuser or viewer_for(user).is_hr_admin))


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Tasks that gave up: HR admins and superusers see them and retry them; nobody edits."""

    list_display = [
        "last_failure_at",
        "task_name",
        "attempts",
        "first_failure_at",
        "retried_at",
        "task_id",
    ]
    list_filter = ["task_name"]
    search_fields = ["task_name", "task_id"]
    date_hierarchy = "last_failure_at"
    readonly_fields = [
        "task_id",
        "task_name",
        "args",
        "kwargs",
        "exception",
        "attempts",
        "first_failure_at",
        "last_failure_at",
        "retried_at",
        "retried_task_id",
    ]
    actions = ["retry"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_see(request)

    def has_view_permission(self, request: HttpRequest, obj: DeadLetter | None = None) -> bool:
        return _may_see(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DeadLetter | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: DeadLetter | None = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return _may_see(request)

    @admin.action(description="Retry the selected tasks", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        count = 0
        for dead_letter in queryset:
            dead_letter_retry(dead_letter=dead_letter)
            count += 1
        self.message_user(request, f"Re-enqueued {count} task(s).", messages.SUCCESS)
