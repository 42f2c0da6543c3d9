"""The web admin shows the ledger read-only: points move only through the services, and a
mistake is undone with a reversal (from the recognition page or the API), never an edit."""

from django.contrib import admin

from .models import (
    Account,
    LedgerEntry,
    LedgerTransaction,
    ManagerBudget,
    PolicyException,
    Recognition,
    Redemption,
    Reward,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "employee", "balance", "period"]
    list_filter = ["kind"]
    list_select_related = ["employee__user"]
    search_fields = ["employee__user__email", "employee__external_id"]


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ["account", "amount"]
    readonly_fields = ["account", "amount"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "memo", "created_by", "created_at", "reverses"]
    list_filter = ["kind"]
    date_hierarchy = "created_at"
    inlines = [LedgerEntryInline]


@admin.register(Recognition)
class RecognitionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "giver", "points_per_receiver", "visibility", "created_at"]
    list_filter = ["kind", "visibility"]
    list_select_related = ["giver__user"]
    date_hierarchy = "created_at"


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "cost_points", "stock", "is_active"]
    list_filter = ["is_active"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "employee", "reward", "cost_points", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["employee__user", "reward"]


@admin.register(ManagerBudget)
class ManagerBudgetAdmin(ReadOnlyAdmin):
    list_display = ["manager", "monthly_points", "updated_at"]
    list_select_related = ["manager__user"]


@admin.register(PolicyException)
class PolicyExceptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "employee", "policy", "status", "cost", "created_at"]
    list_filter = ["status", "policy"]
    list_select_related = ["employee__user", "policy"]
    search_fields = ["customer_ref", "interaction_ref"]
