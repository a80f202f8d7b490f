"""Tokens are issued here (the key is shown once, in the confirmation message) and revoked with
an action; nothing else about a token can be changed."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from api.models import ApiToken
from api.services import api_token_issue, api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at", "state"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    autocomplete_fields = ["user"]
    fields = ["user", "name", "expires_at"]
    actions = ["revoke"]

    @admin.display(description=gettext_lazy("状态"))
    def state(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return _("已吊销")
        if token.is_expired():
            return _("已过期")
        return _("有效")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "user",
            "name",
            "expires_at",
            "prefix",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
        ]

    def get_fields(self, request, obj=None):
        return self.fields if obj is None else self.get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing is editable after issue
        token, key = api_token_issue(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            actor=request.user,
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            _("令牌已签发，请立即复制保存，它不会再次显示：%(key)s") % {"key": key},
        )

    @admin.action(description=gettext_lazy("吊销所选令牌"))
    def revoke(self, request, queryset):
        now = timezone.now()
        for token in queryset:
            api_token_revoke(token=token, at=now)
        self.message_user(request, _("已吊销 %(n)d 个令牌。") % {"n": queryset.count()})
