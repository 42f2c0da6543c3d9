from django.contrib import admin

from .models import Action, ActionPrompt, ActionUpdate


class ActionUpdateInline(admin.TabularInline):
    model = ActionUpdate
    extra = 0
    readonly_fields = ["author", "text", "status_from", "status_to", "created_at"]
    can_delete = False


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "owner", "status", "due_on"]
    list_filter = ["status", "source_kind"]
    search_fields = ["title"]
    raw_id_fields = [
        "owner",
        "team",
        "source_run",
        "source_question",
        "source_policy",
        "created_by",
    ]
    readonly_fields = ["created_at", "updated_at", "completed_at", "reminded_on"]
    filter_horizontal = ["followers"]
    inlines = [ActionUpdateInline]


@admin.register(ActionPrompt)
class ActionPromptAdmin(admin.ModelAdmin):
    list_display = ["run", "manager", "team", "sent_on", "expires_on"]
    raw_id_fields = ["run", "manager", "team"]
