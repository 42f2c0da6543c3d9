from django.contrib import admin

from .models import CompanyValue, DirectorySource, DirectorySync, Employee, Policy, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "parent", "depth", "is_active"]
    search_fields = ["name", "external_id"]
    list_filter = ["is_active", "depth"]
    raw_id_fields = ["parent"]
    filter_horizontal = ["managers"]
    readonly_fields = ["path", "depth"]


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "external_id", "team", "title", "is_front_line", "is_active"]
    search_fields = ["external_id", "user__email", "user__first_name", "user__last_name"]
    list_filter = ["is_active", "is_front_line", "role_family"]
    list_select_related = ["user", "team"]
    raw_id_fields = ["user", "team"]


@admin.register(CompanyValue)
class CompanyValueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "owner_team", "is_active"]
    search_fields = ["name", "code"]


@admin.register(DirectorySync)
class DirectorySyncAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "rows_total", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in DirectorySync._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DirectorySource)
class DirectorySourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
