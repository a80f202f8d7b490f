import secrets

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts.crypto import blind_index
from open311.models import Partner, PartnerRequest, ServiceAttribute


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "key_prefix",
        "organization",
        "is_active",
        "batch",
        "posts_per_hour",
        "created_at",
    ]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["key_prefix", "created_at"]
    exclude = ["key_hash"]
    actions = ["rotate_key"]

    def save_model(self, request, obj, form, change):
        if not change:
            key = self._new_key(obj)
            super().save_model(request, obj, form, change)
            self._show(request, obj, key)
        else:
            super().save_model(request, obj, form, change)

    @staticmethod
    def _new_key(obj: Partner) -> str:
        key = secrets.token_urlsafe(24)
        obj.key_hash = blind_index(key, purpose="open311")
        obj.key_prefix = key[:6]
        return key

    @staticmethod
    def _show(request, obj, key):
        messages.warning(
            request,
            _("%(name)s 的 api_key：%(key)s（只显示这一次，请妥善转交合作方）")
            % {"name": obj.name, "key": key},
        )

    @admin.action(description=_("重新生成 api_key"))
    def rotate_key(self, request, queryset):
        for obj in queryset:
            key = self._new_key(obj)
            obj.save(update_fields=["key_hash", "key_prefix"])
            self._show(request, obj, key)


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(admin.ModelAdmin):
    list_display = ["category", "code", "datatype", "required", "order"]
    list_filter = ["datatype", "required"]


@admin.register(PartnerRequest)
class PartnerRequestAdmin(admin.ModelAdmin):
    list_display = ["partner", "petition", "created_at"]
    list_select_related = ["partner", "petition"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
