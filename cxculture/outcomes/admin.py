from django.contrib import admin

from .models import DailyRollup, Metric, OutcomeImport, OutcomeRecord, OutcomeSource


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "min_value", "max_value", "is_builtin", "is_active"]
    list_filter = ["kind", "is_builtin", "is_active"]
    search_fields = ["code", "name"]


@admin.register(OutcomeSource)
class OutcomeSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "token_prefix", "is_active", "last_used_at"]
    readonly_fields = ["token_prefix", "last_used_at"]
    search_fields = ["name", "slug"]

    def has_add_permission(self, request):
        # Created on the Outcomes page or through the API, which show the token once.
        return False


@admin.register(OutcomeImport)
class OutcomeImportAdmin(admin.ModelAdmin):
    list_display = ["__str__", "source", "status", "rows_read", "rows_accepted", "created_at"]
    list_filter = ["status", "source"]
    readonly_fields = [field.name for field in OutcomeImport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # An import adds its records to the rollups when it ends; deleted before that, its
        # records would lose their import and never be counted.
        if obj is not None and not obj.is_finished:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(OutcomeRecord)
class OutcomeRecordAdmin(admin.ModelAdmin):
    """Read-only: records are written by the ingestion services, which keep rollups current."""

    list_display = ["occurred_at", "metric", "value", "team", "source", "external_id"]
    list_select_related = ["metric", "team"]
    list_filter = ["metric", "source"]
    search_fields = ["external_id", "customer_ref", "interaction_ref"]
    raw_id_fields = ["team", "agent", "import_job"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DailyRollup)
class DailyRollupAdmin(admin.ModelAdmin):
    list_display = ["day", "team", "metric", "count", "sum"]
    list_select_related = ["team", "metric"]
    list_filter = ["metric"]
    raw_id_fields = ["team"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
