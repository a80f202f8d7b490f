"""Admin screens for users and their grants (SPEC §6: only the admin role manages them).

A grant is (role, area) for the area roles — the area and everything under it — or (role,
organisation) for handling units and mediation committees; the form refuses a grant that would
scope nothing. Every change made here is an admin log entry, which the audit page lists. The
login log is read-only.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts import scoping
from accounts.models import AuthLog, Grant, Role
from petitions.models import Organization

User = get_user_model()

# Roles scoped by an area code, and roles scoped by an organisation of a given kind.
AREA_ROLES = {
    Role.BUREAU,
    Role.STREET_CLERK,
    Role.COMMUNITY_STAFF,
    Role.GRID_WORKER,
    Role.LEADER,
}
ORGANIZATION_ROLES = {
    Role.HANDLING_UNIT: Organization.Kind.HANDLING_UNIT,
    Role.MEDIATOR: Organization.Kind.COMMITTEE,
}


def area_name(code: str) -> str | None:
    """The name of the area with this code (the active generation's, else the newest), or None."""
    from grid.models import Community, District, Generation, GridCell, Street

    model = {6: District, 9: Street, 12: Community, 15: GridCell}.get(len(code))
    if model is None:
        return None
    areas = model.objects.filter(code=code)
    active = areas.filter(generation__status=Generation.Status.ACTIVE).first()
    area = active or areas.order_by("-generation_id").first()
    return area.name if area else None


class GrantForm(forms.ModelForm):
    class Meta:
        model = Grant
        fields = ("user", "role", "area_code", "organization")

    def clean(self):
        data = super().clean()
        role, code, org = data.get("role"), data.get("area_code"), data.get("organization")
        if role in AREA_ROLES:
            if not code:
                self.add_error("area_code", _("该角色须指定辖区代码。"))
            elif area_name(code) is None:
                self.add_error("area_code", _("没有代码为 %(code)s 的区域。") % {"code": code})
        if role in ORGANIZATION_ROLES:
            kind = ORGANIZATION_ROLES[role]
            if org is None:
                self.add_error("organization", _("该角色须指定所属单位。"))
            elif org.kind != kind:
                label = Organization.Kind(kind).label
                self.add_error("organization", _("所属单位应为%(kind)s。") % {"kind": label})
        if role == Role.ADMIN and (code or org):
            self.add_error("role", _("系统管理员的授权不限辖区，不填辖区代码和所属单位。"))
        return data


class AdminRoleOnly:
    """Users and grants are managed by the admin role only (superusers hold it implicitly)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and scoping.is_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request, *args) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


class GrantInline(AdminRoleOnly, admin.TabularInline):
    model = Grant
    form = GrantForm
    extra = 0
    fields = ("role", "area_code", "organization", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("organization",)


@admin.register(Grant)
class GrantAdmin(AdminRoleOnly, admin.ModelAdmin):
    form = GrantForm
    list_display = ("user", "role", "area_code", "area", "organization", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "area_code")
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user", "organization")
    readonly_fields = ("created_at",)
    ordering = ("user__username", "role", "area_code")

    @admin.display(description=_("辖区"))
    def area(self, obj: Grant) -> str:
        return (area_name(obj.area_code) or "—") if obj.area_code else "—"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AdminRoleOnly, BaseUserAdmin):
    inlines = [GrantInline]
    list_display = ("username", "last_name", "first_name", "is_active", "is_staff", "roles")
    list_filter = ("is_active", "is_staff", "is_superuser", "grants__role")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("grants")

    @admin.display(description=_("角色"))
    def roles(self, obj) -> str:
        labels = dict(Role.choices)
        return "、".join(sorted({str(labels[g.role]) for g in obj.grants.all()})) or "—"


@admin.register(AuthLog)
class AuthLogAdmin(admin.ModelAdmin):
    """Read-only: the login log is written by accounts.audit only."""

    list_display = ("at", "username", "action", "ip", "user_agent")
    list_filter = ("action",)
    search_fields = ("username", "ip")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_staff and bool(
            scoping.roles(request.user) & {Role.ADMIN, Role.BUREAU}
        )

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)
