"""Admin for the question library, programs and runs.

`Invitation`, `Response` and `Answer` are deliberately not registered: nobody, a superuser
included, may list or open who answered or what one person answered (DESIGN.md, "Survey
anonymity"). tests/surveys/test_admin.py holds this.
"""

from django.contrib import admin

from .models import Question, SurveyProgram, SurveyRun


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "driver", "kind", "is_builtin", "is_active"]
    list_filter = ["driver", "kind", "is_builtin", "is_active"]
    search_fields = ["text", "code"]
    readonly_fields = ["code", "is_builtin"]


@admin.register(SurveyProgram)
class SurveyProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "cadence", "audience", "anonymity_threshold", "is_active"]
    list_filter = ["cadence", "audience", "is_active"]
    filter_horizontal = ["questions", "teams"]


@admin.register(SurveyRun)
class SurveyRunAdmin(admin.ModelAdmin):
    """Read-only: runs change through their services (opening invites people)."""

    list_display = ["__str__", "status", "opens_on", "closes_on"]
    list_filter = ["status", "program"]
    list_select_related = ["program"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
