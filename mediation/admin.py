"""Admin for disputes and mediation. Screening rounds are opened and closed here through the
services; disputes, cases and everything their workflow owns are view-only, because every change
goes through mediation.services (transition map, event row) — never a raw save. Events are the
audit trail: read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mediation.models import (
    Agreement,
    Dispute,
    DisputeEvent,
    FollowUpVisit,
    JudicialConfirmation,
    MediationCase,
    MediationEvent,
    MediationParty,
    MediationSession,
    ScreeningRound,
)
from mediation.services.screening import AREA_CODE_RE, round_close, round_open
from petitions.masking import mask_phone


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


# --- Screening rounds -----------------------------------------------------------------------------


class ScreeningRoundForm(forms.ModelForm):
    class Meta:
        model = ScreeningRound
        fields = ("name", "period_start", "period_end", "area_code")

    def clean_area_code(self):
        code = self.cleaned_data["area_code"].strip()
        if not AREA_CODE_RE.match(code):
            raise forms.ValidationError(_("区域代码应为6、9、12或15位数字。"))
        return code


@admin.register(ScreeningRound)
class ScreeningRoundAdmin(admin.ModelAdmin):
    form = ScreeningRoundForm
    list_display = ("name", "area_code", "period_start", "period_end", "status", "dispute_count")
    list_filter = ("status",)
    search_fields = ("name", "area_code")
    readonly_fields = ("status", "opened_by", "opened_at", "closed_at")
    actions = ["close_rounds"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("纠纷数"))
    def dispute_count(self, obj) -> int:
        return obj.disputes.count()

    def save_model(self, request, obj, form, change):
        if change:  # name and period are plain data; status only through round_close
            super().save_model(request, obj, form, change)
            return
        created = round_open(
            actor=request.user,
            name=obj.name,
            period_start=obj.period_start,
            period_end=obj.period_end,
            area_code=obj.area_code,
        )
        obj.pk, obj.opened_at, obj.opened_by = created.pk, created.opened_at, created.opened_by

    @admin.action(description=gettext_lazy("结束所选排查轮次"))
    def close_rounds(self, request, queryset):
        closed = 0
        for r in queryset:
            try:
                round_close(round=r, actor=request.user)
                closed += 1
            except ValidationError as e:
                self.message_user(request, f"{r}: {'; '.join(e.messages)}", messages.WARNING)
        self.message_user(request, _("已结束 %(n)d 个排查轮次。") % {"n": closed})


# --- Disputes -----------------------------------------------------------------------------------


class DisputeEventInline(ViewOnlyInline):
    model = DisputeEvent
    fields = ("at", "action", "from_status", "to_status", "actor", "payload")
    readonly_fields = fields


@admin.register(Dispute)
class DisputeAdmin(ViewOnlyAdmin):
    list_display = (
        "pk",
        "category",
        "risk_level",
        "status",
        "area_code",
        "source",
        "found_at",
        "round",
    )
    list_filter = ("status", "risk_level", "category", "source")
    list_select_related = ("round",)
    search_fields = ("=pk", "area_code", "description", "address")
    date_hierarchy = "found_at"
    inlines = [DisputeEventInline]


@admin.register(DisputeEvent)
class DisputeEventAdmin(ViewOnlyAdmin):
    list_display = ("at", "dispute", "action", "from_status", "to_status", "actor")
    list_filter = ("action",)
    list_select_related = ("dispute", "actor")
    search_fields = ("=dispute__pk",)
    date_hierarchy = "at"


# --- Mediation cases ----------------------------------------------------------------------------


class PartyInline(ViewOnlyInline):
    model = MediationParty
    fields = ("role", "name", "phone_masked", "address")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("电话"))
    def phone_masked(self, obj):
        return mask_phone(obj.phone)


class SessionInline(ViewOnlyInline):
    model = MediationSession
    fields = ("held_at", "place", "attendees", "notes")
    readonly_fields = fields


class MediationEventInline(ViewOnlyInline):
    model = MediationEvent
    fields = ("at", "action", "from_status", "to_status", "actor", "payload")
    readonly_fields = fields


@admin.register(MediationCase)
class MediationCaseAdmin(ViewOnlyAdmin):
    list_display = (
        "case_no",
        "type",
        "source",
        "committee",
        "status",
        "accepted_at",
        "target_due",
        "concluded_at",
    )
    list_filter = ("status", "type", "source", "committee")
    list_select_related = ("committee",)
    search_fields = ("case_no", "summary", "area_code")
    date_hierarchy = "accepted_at"
    inlines = [PartyInline, SessionInline, MediationEventInline]


@admin.register(MediationParty)
class MediationPartyAdmin(ViewOnlyAdmin):
    list_display = ("case", "role", "name")
    list_select_related = ("case",)
    search_fields = ("case__case_no",)


@admin.register(MediationSession)
class MediationSessionAdmin(ViewOnlyAdmin):
    list_display = ("case", "held_at", "place")
    list_select_related = ("case",)
    search_fields = ("case__case_no",)


class FollowUpInline(ViewOnlyInline):
    model = FollowUpVisit
    fields = ("visited_at", "performance", "notes", "visitor")
    readonly_fields = fields


@admin.register(Agreement)
class AgreementAdmin(ViewOnlyAdmin):
    list_display = ("case", "form", "reached_at", "sealed_at", "effective_at")
    list_filter = ("form",)
    list_select_related = ("case",)
    search_fields = ("case__case_no",)
    inlines = [FollowUpInline]


@admin.display(description=gettext_lazy("案号"))
def agreement_case(obj) -> str:
    return obj.agreement.case.case_no


@admin.register(FollowUpVisit)
class FollowUpVisitAdmin(ViewOnlyAdmin):
    list_display = (agreement_case, "visited_at", "performance", "visitor")
    list_filter = ("performance",)
    list_select_related = ("agreement__case", "visitor")


@admin.register(JudicialConfirmation)
class JudicialConfirmationAdmin(ViewOnlyAdmin):
    list_display = (agreement_case, "applied_at", "court", "decision", "decided_at")
    list_filter = ("decision",)
    list_select_related = ("agreement__case",)


@admin.register(MediationEvent)
class MediationEventAdmin(ViewOnlyAdmin):
    list_display = ("at", "case", "action", "from_status", "to_status", "actor")
    list_filter = ("action",)
    list_select_related = ("case", "actor")
    search_fields = ("case__case_no",)
    date_hierarchy = "at"
