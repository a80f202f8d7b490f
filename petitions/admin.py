"""Admin for petitions: reference data (units, categories, the holiday calendar, notice templates)
is edited here; cases and everything the workflow owns are view-only, because every change to a
case goes through petitions.services (transition map, due dates, event row) — never a raw save.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.template import Context, Template, TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from petitions.masking import mask_id_number, mask_phone
from petitions.models import (
    Attachment,
    CalendarDay,
    Category,
    Document,
    DocumentTemplate,
    Organization,
    Petition,
    Petitioner,
    PetitionEvent,
    ReceptionDay,
    RepeatSubmission,
    SupervisionOrder,
    Visit,
)
from petitions.services.documents import TEMPLATE_VARIABLES


class ViewOnlyMixin:
    """Records written by services: visible to admins, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ViewOnlyAdmin(ViewOnlyMixin, admin.ModelAdmin):
    pass


class ViewOnlyInline(ViewOnlyMixin, admin.TabularInline):
    extra = 0
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


# --- Reference data (editable) ------------------------------------------------------------------


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "area_code", "head", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "area_code")
    list_select_related = ("head",)
    autocomplete_fields = ("head",)


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("parent", "code", "name", "is_public", "sort")

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent is None:
            return parent
        if parent.parent_id is not None:
            raise forms.ValidationError(_("问题分类只有两级：上级分类必须是一级分类。"))
        if self.instance.pk and (parent.pk == self.instance.pk or self.instance.children.exists()):
            raise forms.ValidationError(_("含有下级分类的一级分类不能再设上级分类。"))
        return parent


class SubcategoryInline(admin.TabularInline):
    model = Category
    fk_name = "parent"
    fields = ("code", "name", "is_public", "sort")
    extra = 0
    verbose_name = gettext_lazy("下级分类")
    verbose_name_plural = gettext_lazy("下级分类")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("code", "name", "parent", "is_public", "sort")
    list_filter = ("is_public", ("parent", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("parent",)
    search_fields = ("code", "name")
    ordering = ("code",)

    def get_inlines(self, request, obj=None):
        # Only top-level categories have children (two levels).
        return [SubcategoryInline] if obj is not None and obj.parent_id is None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = Category.objects.filter(parent__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """The holiday and adjusted-workday calendar used for working-day deadlines (异议 5 个工作日).
    Due dates already computed are kept; edits apply to deadlines computed afterwards."""

    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("date",)


def _variables_help() -> str:
    items = format_html_join("", "<li><code>{}</code>：{}</li>", TEMPLATE_VARIABLES.items())
    return format_html(
        "{}<ul>{}</ul>{}",
        _(
            "Django 模板语法，例如 {{ petition.receipt_no }}、{% for p in petitioners %}。可用变量："
        ),
        items,
        _("正文放在文书标题、信访编号之下，落款（单位、日期）自动添加。已生成的文书不受修改影响。"),
    )


class DocumentTemplateForm(forms.ModelForm):
    class Meta:
        model = DocumentTemplate
        fields = ("kind", "title", "body")
        widgets = {"body": forms.Textarea(attrs={"rows": 18, "cols": 100})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = _variables_help()

    def clean_body(self):
        body = self.cleaned_data["body"]
        try:
            Template(body).render(Context({}))
        except (TemplateSyntaxError, TemplateDoesNotExist) as e:
            raise forms.ValidationError(_("模板语法错误：%(error)s") % {"error": e}) from e
        return body


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(admin.ModelAdmin):
    """An edited template overrides the built-in one of its kind for documents made afterwards."""

    form = DocumentTemplateForm
    list_display = ("kind", "title", "updated_at")
    readonly_fields = ("builtin_template",)
    fields = ("kind", "title", "body", "builtin_template")

    @admin.display(description=gettext_lazy("内置模板（供参考）"))
    def builtin_template(self, obj) -> str:
        if obj is None or not obj.kind:
            return _("保存后显示该类文书的内置模板。")
        source = get_template(f"petitions/documents/{obj.kind}.html").template.source
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", source)


# --- Cases and what the workflow writes (view-only) -------------------------------------------


class MaskedPersonalDataMixin:
    """The admin shows identity numbers and phones masked; full values only via the logged
    reveal page (accounts.services.personal_data_reveal)."""

    @admin.display(description=gettext_lazy("身份证号"))
    def id_number_masked(self, obj):
        return mask_id_number(obj.id_number)

    @admin.display(description=gettext_lazy("电话"))
    def phone_masked(self, obj):
        return mask_phone(obj.phone)


class PetitionerInline(MaskedPersonalDataMixin, ViewOnlyInline):
    model = Petitioner
    fields = ("name", "id_number_masked", "phone_masked", "address", "is_representative")
    readonly_fields = fields


class PetitionEventInline(ViewOnlyInline):
    model = PetitionEvent
    fields = ("at", "action", "from_status", "to_status", "actor", "payload", "recorded_at")
    ordering = ("at", "pk")


class DocumentInline(ViewOnlyInline):
    model = Document
    fields = ("kind", "event", "created_at", "pdf")


class AttachmentInline(ViewOnlyInline):
    model = Attachment
    fields = ("kind", "original_name", "content_type", "size", "uploaded_by", "uploaded_at")


class RepeatSubmissionInline(ViewOnlyInline):
    model = RepeatSubmission
    fields = ("received_at", "channel", "summary", "registered_by")


class SupervisionOrderInline(ViewOnlyInline):
    model = SupervisionOrder
    fields = ("kind", "deadline", "due_date", "reason", "opened_by", "opened_at", "closed_at")


@admin.register(Petition)
class PetitionAdmin(ViewOnlyAdmin):
    list_display = ("receipt_no", "status", "received_at", "area_code", "category", "channel")
    list_filter = ("status", "channel", "case_type", "source", "routing", "is_final")
    list_select_related = ("category", "category__parent")
    search_fields = ("receipt_no", "summary")
    date_hierarchy = "received_at"
    exclude = ("query_code_hash", "intake_token")
    inlines = [
        PetitionerInline,
        PetitionEventInline,
        DocumentInline,
        AttachmentInline,
        RepeatSubmissionInline,
        SupervisionOrderInline,
    ]


@admin.register(PetitionEvent)
class PetitionEventAdmin(ViewOnlyAdmin):
    list_display = ("at", "petition", "action", "from_status", "to_status", "actor")
    list_filter = ("action",)
    list_select_related = ("petition", "actor")
    search_fields = ("petition__receipt_no",)
    date_hierarchy = "at"


@admin.register(Petitioner)
class PetitionerAdmin(MaskedPersonalDataMixin, ViewOnlyAdmin):
    list_display = ("name", "petition", "is_representative")
    list_select_related = ("petition",)
    # Exact receipt numbers only: personal data is not searched by substring here.
    search_fields = ("=petition__receipt_no",)
    fields = (
        "petition",
        "name",
        "id_number_masked",
        "phone_masked",
        "address",
        "is_representative",
    )
    readonly_fields = fields


@admin.register(Document)
class DocumentAdmin(ViewOnlyAdmin):
    list_display = ("petition", "kind", "created_at", "has_pdf")
    list_filter = ("kind",)
    list_select_related = ("petition",)
    search_fields = ("petition__receipt_no",)

    @admin.display(description=gettext_lazy("已生成PDF"), boolean=True)
    def has_pdf(self, obj) -> bool:
        return bool(obj.pdf)


@admin.register(Attachment)
class AttachmentAdmin(ViewOnlyAdmin):
    list_display = ("original_name", "petition", "kind", "content_type", "size", "uploaded_at")
    list_filter = ("kind", "content_type")
    list_select_related = ("petition",)
    search_fields = ("petition__receipt_no", "original_name")


@admin.register(RepeatSubmission)
class RepeatSubmissionAdmin(ViewOnlyAdmin):
    list_display = ("petition", "received_at", "channel", "area_code")
    list_filter = ("channel",)
    list_select_related = ("petition",)
    search_fields = ("petition__receipt_no",)


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(ViewOnlyAdmin):
    list_display = ("petition", "kind", "deadline", "due_date", "opened_at", "closed_at")
    list_filter = ("kind", "deadline")
    list_select_related = ("petition",)
    search_fields = ("petition__receipt_no",)


class VisitInline(ViewOnlyInline):
    model = Visit
    fields = ("received_at", "headcount", "representatives", "answered_on_spot", "resolved")


@admin.register(ReceptionDay)
class ReceptionDayAdmin(ViewOnlyAdmin):
    list_display = ("date", "leader", "leader_title", "place", "organization", "figures")
    list_select_related = ("leader", "organization")
    date_hierarchy = "date"
    inlines = [VisitInline]

    def get_queryset(self, request):
        # The list's figures in the list's own query (one aggregate per row would be N+1).
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_batches=Count("visits"),
                n_persons=Coalesce(Sum("visits__headcount"), 0),
                n_answered=Count("visits", filter=Q(visits__answered_on_spot=True)),
                n_resolved=Count("visits", filter=Q(visits__resolved=True)),
            )
        )

    @admin.display(description=gettext_lazy("接待情况"))
    def figures(self, obj) -> str:
        return _(
            "%(batches)d 批 %(persons)d 人次，当场答复 %(answered)d 件，结案息访 %(resolved)d 件"
        ) % {
            "batches": obj.n_batches,
            "persons": obj.n_persons,
            "answered": obj.n_answered,
            "resolved": obj.n_resolved,
        }


@admin.register(Visit)
class VisitAdmin(ViewOnlyAdmin):
    list_display = (
        "received_at",
        "organization",
        "headcount",
        "answered_on_spot",
        "resolved",
        "reception_day",
    )
    list_filter = ("answered_on_spot", "resolved", "organization")
    list_select_related = ("organization", "reception_day")
    date_hierarchy = "received_at"
