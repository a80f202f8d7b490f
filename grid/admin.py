"""Admin for the spatial hierarchy: every level with Leaflet map widgets, validation reports,
generation activation (plain, forced with a reason, re-validation) and a boundary upload page.

Admin actions and views call services (grid.services.*); they hold no business rules.
"""

import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from leaflet.admin import LeafletGeoAdmin

from grid.forms import (
    PARENT_FIELD,
    AreaAdminForm,
    BoundaryUploadForm,
    ForceActivateForm,
    area_level,
    upload_save,
)
from grid.models import (
    Community,
    District,
    Generation,
    GenerationEvent,
    GridAssignment,
    GridCell,
    Street,
    ValidationReport,
)
from grid.services.finalize import areas_finalize
from grid.services.generations import ActivationRefused, generation_activate
from grid.services.importer import BoundaryImportError, boundary_import
from grid.services.validation import generation_validate
from grid.views import basemap_layers

admin.site.site_header = gettext_lazy("CivicGrid 管理后台")
admin.site.site_title = gettext_lazy("CivicGrid 管理后台")
admin.site.index_title = gettext_lazy("网格化信访与矛盾纠纷管理")

# Readable names for the validation rules (grid.services.validation and the importer).
RULE_LABELS = {
    "invalid_geometry": gettext_lazy("无效几何"),
    "not_within_parent": gettext_lazy("超出上级边界"),
    "sibling_overlap": gettext_lazy("同级重叠"),
    "coverage_gap": gettext_lazy("覆盖缺口"),
    "duplicate_code": gettext_lazy("代码重复"),
    "code_not_extending_parent": gettext_lazy("代码未延续上级代码"),
}


def _report_link(report: ValidationReport | None) -> str:
    if report is None:
        return "—"
    url = reverse("admin:grid_validationreport_change", args=[report.pk])
    return format_html(
        '<a href="{}">{}</a>',
        url,
        _("%(errors)d 个错误，%(warnings)d 个警告")
        % {"errors": report.error_count, "warnings": report.warning_count},
    )


# --- Areas ------------------------------------------------------------------------------------


class AreaAdmin(LeafletGeoAdmin):
    """Shared admin for the four levels; the parent and code are fixed once an area exists
    (a child's code extends its parent's, so moving it would mean a new code: a new area)."""

    form = AreaAdminForm
    list_display = ("code", "name", "parent_code", "generation", "area_km2")
    list_filter = ("generation__status", "generation")
    list_select_related = ("generation",)
    search_fields = ("code", "name")
    ordering = ("code",)
    # The simplified copy and the area are derived (areas_finalize), never typed in.
    exclude = ("geom_simple",)
    readonly_fields = ("parent_code", "area_m2")
    show_full_result_count = False

    @property
    def settings_overrides(self) -> dict:
        """Map widget tiles from the MAP_BASEMAP settings (none → boundaries on plain ground)."""
        layers = [(layer["name"], layer["url"], layer["options"]) for layer in basemap_layers()]
        return {"TILES": layers[:1], "OVERLAYS": layers[1:]}

    def parent_name(self) -> str | None:
        return PARENT_FIELD.get(area_level(self.model))

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is None or obj.pk is None:
            return fields
        parent = [self.parent_name()] if self.parent_name() else []
        return (*fields, "generation", *parent, "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match is None or not match.url_name or not match.url_name.endswith("_change"):
            # Lists and autocompletes of ~2,000 cells must not load every polygon.
            queryset = queryset.defer("geom", "geom_simple")
        return queryset

    def get_autocomplete_fields(self, request):
        return [self.parent_name()] if self.parent_name() else []

    @admin.display(description=gettext_lazy("面积（平方公里）"), ordering="area_m2")
    def area_km2(self, obj) -> str:
        return "—" if obj.area_m2 is None else f"{obj.area_m2 / 1e6:.3f}"

    def save_model(self, request, obj, form, change):
        parent = getattr(obj, self.parent_name(), None) if self.parent_name() else None
        if parent is not None:
            # parent_code mirrors the parent's code (the database checks they agree).
            obj.parent_code = parent.code
        super().save_model(request, obj, form, change)
        if "geom" in form.changed_data or not change:
            areas_finalize(generation=obj.generation, levels=[area_level(self.model)])
            if obj.generation.status != Generation.Status.DRAFT:
                messages.warning(
                    request,
                    _("您修改了非草稿版本“%(name)s”的边界；请重新校验该版本。")
                    % {"name": obj.generation.name},
                )


@admin.register(District)
class DistrictAdmin(AreaAdmin):
    list_display = ("code", "name", "generation", "area_km2")
    readonly_fields = ("area_m2",)


@admin.register(Street)
class StreetAdmin(AreaAdmin):
    list_select_related = ("generation", "district")


@admin.register(Community)
class CommunityAdmin(AreaAdmin):
    list_select_related = ("generation", "street")


@admin.register(GridCell)
class GridCellAdmin(AreaAdmin):
    list_display = (
        "code",
        "name",
        "parent_code",
        "generation",
        "households",
        "residents",
        "area_km2",
    )
    list_select_related = ("generation", "community")


@admin.register(GridAssignment)
class GridAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "cell", "is_lead", "assigned_at")
    list_filter = ("is_lead", "cell__generation")
    list_select_related = ("user", "cell")
    search_fields = (
        "user__username",
        "user__first_name",
        "user__last_name",
        "cell__code",
        "cell__name",
    )
    autocomplete_fields = ("user", "cell")
    readonly_fields = ("assigned_at",)


# --- Reports and events (audit records: read-only) ----------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ValidationReport)
class ValidationReportAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "generation",
        "level",
        "source",
        "committed",
        "error_count",
        "warning_count",
    )
    list_filter = ("committed", "level", "generation")
    list_select_related = ("generation",)
    search_fields = ("source", "generation__name")
    fields = (
        "generation",
        "created_at",
        "level",
        "source",
        "committed",
        "error_count",
        "warning_count",
        "findings_table",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("问题"))
    def findings_table(self, report: ValidationReport) -> str:
        if not report.findings:
            return _("没有发现问题。")
        head = format_html_join(
            "",
            "<th>{}</th>",
            (
                (label,)
                for label in (_("规则"), _("级别"), _("代码"), _("说明"), _("面积（平方米）"))
            ),
        )
        levels = {"error": _("错误"), "warning": _("警告")}
        rows = format_html_join(
            "",
            '<tr class="finding finding--{}"><td>{} <code>{}</code></td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    f.get("level", ""),
                    RULE_LABELS.get(f.get("rule"), ""),
                    f.get("rule", ""),
                    levels.get(f.get("level"), f.get("level", "")),
                    f.get("code") or "—",
                    f.get("message", ""),
                    "—" if f.get("area_m2") is None else f"{f['area_m2']:,.1f}",
                )
                for f in report.findings
            ),
        )
        return format_html(
            '<table class="validation-findings"><thead><tr>{}</tr></thead><tbody>{}</tbody>'
            "</table>",
            head,
            rows,
        )


class EventDisplay:
    """Readable columns for generation events (the action is stored as a plain word)."""

    ACTIONS = {"activate": gettext_lazy("生效"), "retire": gettext_lazy("停用")}

    @admin.display(description=gettext_lazy("操作"), ordering="action")
    def action_label(self, event: GenerationEvent) -> str:
        return self.ACTIONS.get(event.action, event.action)

    @admin.display(description=gettext_lazy("操作人"), ordering="actor")
    def actor_label(self, event: GenerationEvent) -> str:
        return str(event.actor) if event.actor else "—"


@admin.register(GenerationEvent)
class GenerationEventAdmin(EventDisplay, ReadOnlyAdmin):
    list_display = ("at", "generation", "action_label", "forced", "actor_label", "reason")
    list_filter = ("action", "forced", "generation")
    list_select_related = ("generation", "actor")
    search_fields = ("generation__name", "reason")
    fields = ("generation", "at", "action_label", "forced", "actor_label", "reason", "payload")
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class GenerationEventInline(EventDisplay, admin.TabularInline):
    model = GenerationEvent
    fields = ("at", "action_label", "forced", "actor_label", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


# --- Generations ------------------------------------------------------------------------------


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "is_demo",
        "created_at",
        "activated_at",
        "retired_at",
        "latest_report",
    )
    list_filter = ("status", "is_demo")
    search_fields = ("name",)
    # Status changes only through generation_activate (which validates and logs).
    readonly_fields = ("status", "created_at", "activated_at", "retired_at", "latest_report")
    fields = ("name", "description", "is_demo", *readonly_fields)
    inlines = [GenerationEventInline]
    actions = ["activate", "force_activate", "revalidate"]

    @admin.display(description=gettext_lazy("最新校验报告"))
    def latest_report(self, generation: Generation) -> str:
        return _report_link(generation.reports.order_by("-created_at", "-pk").first())

    def has_delete_permission(self, request, obj=None) -> bool:
        # The active generation is what every lookup uses; replace it by activating another.
        if obj is not None and obj.status == Generation.Status.ACTIVE:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="grid_generation_import",
            ),
            path(
                "<path:object_id>/force-activate/",
                self.admin_site.admin_view(self.force_activate_view),
                name="grid_generation_force_activate",
            ),
        ]
        return own + super().get_urls()

    # Actions ----------------------------------------------------------------------------------

    def _single(self, request, queryset) -> Generation | None:
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个版本。"), messages.ERROR)
            return None
        return queryset.get()

    @admin.action(description=gettext_lazy("生效所选版本"), permissions=["change"])
    def activate(self, request, queryset):
        generation = self._single(request, queryset)
        if generation is None:
            return
        try:
            generation_activate(generation=generation, actor=request.user)
        except ActivationRefused as refusal:
            # Activation validates afresh; point at the report that explains the refusal.
            report = generation.reports.order_by("-created_at", "-pk").first()
            self.message_user(
                request, format_html("{} {}", refusal, _report_link(report)), messages.ERROR
            )
            return
        self.message_user(
            request, _("版本“%(name)s”已生效。") % {"name": generation.name}, messages.SUCCESS
        )

    @admin.action(
        description=gettext_lazy("强制生效所选版本（须填写理由）…"), permissions=["change"]
    )
    def force_activate(self, request, queryset):
        generation = self._single(request, queryset)
        if generation is None:
            return None
        return HttpResponseRedirect(
            reverse("admin:grid_generation_force_activate", args=[generation.pk])
        )

    @admin.action(description=gettext_lazy("重新校验所选版本"), permissions=["change"])
    def revalidate(self, request, queryset):
        for generation in queryset:
            report = generation_validate(generation=generation)
            self.message_user(
                request,
                format_html("{}：{}", generation.name, _report_link(report)),
                messages.WARNING if report.error_count else messages.SUCCESS,
            )

    # Views ------------------------------------------------------------------------------------

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **context,
        }
        return TemplateResponse(request, template, context)

    def force_activate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """An intermediate page: forcing activation past validation errors needs a reason."""
        generation = get_object_or_404(Generation, pk=object_id)
        if not self.has_change_permission(request, generation):
            raise PermissionDenied
        form = ForceActivateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                generation_activate(
                    generation=generation,
                    actor=request.user,
                    force=True,
                    reason=form.cleaned_data["reason"],
                )
            except ActivationRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(
                    request,
                    _("版本“%(name)s”已强制生效，理由已记录。") % {"name": generation.name},
                    messages.WARNING,
                )
                return HttpResponseRedirect(reverse("admin:grid_generation_changelist"))
        return self._page(
            request,
            "admin/grid/generation/force_activate.html",
            _("强制生效：%(name)s") % {"name": generation.name},
            form=form,
            original=generation,
            report=self.latest_report(generation),
        )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a boundary file and run the importer (dry run unless "commit" is ticked)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BoundaryUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = self._import(form.cleaned_data)
            except forms.ValidationError as problem:
                form.add_error(None, problem)
            except BoundaryImportError as problem:
                # The importer's refusals (unknown fields, unreadable file, bad CRS) are shown
                # beside the form, so the administrator can fix the mapping and retry.
                form.add_error(None, str(problem))
            else:
                self.message_user(request, self._import_message(result), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:grid_validationreport_change", args=[result.report.pk])
                )
        return self._page(request, "admin/grid/generation/import.html", _("导入边界"), form=form)

    def _import(self, data: dict):
        with tempfile.TemporaryDirectory(prefix="civicgrid-import-") as tmp:
            source = upload_save(data["file"], Path(tmp))
            return boundary_import(
                source=source,
                level=data["level"],
                generation=data["generation"],
                generation_name=data["generation_name"],
                code_field=data["code_field"],
                name_field=data["name_field"],
                parent_field=data["parent_field"] or None,
                households_field=data["households_field"] or None,
                residents_field=data["residents_field"] or None,
                srid=data["srid"],
                fix_invalid=data["fix_invalid"],
                commit=data["commit"],
            )

    def _import_message(self, result) -> str:
        report = result.report
        values = {
            "features": result.features,
            "created": result.created,
            "errors": report.error_count,
            "warnings": report.warning_count,
        }
        if report.committed:
            return (
                _(
                    "已读取 %(features)d 个要素，写入 %(created)d 个；"
                    "%(errors)d 个错误，%(warnings)d 个警告。"
                )
                % values
            )
        return (
            _(
                "试导入：读取 %(features)d 个要素，未写入数据库；%(errors)d 个错误，%(warnings)d 个警告。"
            )
            % values
        )
