"""Admin: imports and their rows are read-only here (uploads and runs go through the ledger
pages and services); the error report is listed per import."""

from django.contrib import admin

from ledger.models import LedgerImport, LedgerRow, LedgerRowError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LedgerImport)
class LedgerImportAdmin(ReadOnlyAdmin):
    list_display = (
        "original_name",
        "organization",
        "status",
        "phase",
        "processed_rows",
        "total_rows",
        "created_count",
        "skipped_count",
        "error_count",
        "created_at",
    )
    list_filter = ("status", "phase", "format")
    search_fields = ("original_name", "organization__name")
    list_select_related = ("organization",)
    exclude = ("file",)  # the file holds personal data in clear text


@admin.register(LedgerRowError)
class LedgerRowErrorAdmin(ReadOnlyAdmin):
    list_display = ("ledger_import", "phase", "row_number", "field", "reason")
    list_filter = ("phase",)
    list_select_related = ("ledger_import",)
    exclude = ("raw_value",)
    raw_id_fields = ("ledger_import",)


@admin.register(LedgerRow)
class LedgerRowAdmin(ReadOnlyAdmin):
    list_display = ("external_ref", "organization", "row_number", "petition", "ledger_import")
    search_fields = ("external_ref",)
    list_select_related = ("organization", "petition", "ledger_import")
    raw_id_fields = ("ledger_import", "petition", "organization")
