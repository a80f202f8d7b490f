from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by notifications.services only."""

    list_display = ["created_at", "recipient", "verb", "text", "read_at", "emailed_at"]
    list_filter = ["verb", "target_kind"]
    search_fields = ["recipient__username", "text"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
