from django.contrib import admin

from dashboard.models import ReportSnapshot


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(admin.ModelAdmin):
    """Frozen reports are evidence: viewable, never edited."""

    list_display = ["period_start", "period_end", "area_code", "area_name", "as_of", "generated_at"]
    list_filter = ["area_code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
