"""Forms of the mediation pages. They only parse input: every rule (transitions, the 30-day
judicial-confirmation window, who may sign) lives in mediation.services, whose errors the views
put back on these forms."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Grant, Role
from mediation.models import (
    Agreement,
    Dispute,
    FollowUpVisit,
    JudicialConfirmation,
    MediationCase,
    MediationParty,
)
from petitions.models import Organization

CRS_CHOICES = [
    ("wgs84", _("WGS-84（手机定位、地图点选）")),
    ("gcj02", _("GCJ-02（从高德、腾讯、微信复制的坐标）")),
]
OUTCOME_CHOICES = [
    ("resolve", _("已化解")),
    ("stabilise", _("已稳控")),
    ("fail", _("未化解")),
    ("divert", _("转入其他途径")),
]
# Routes a terminated mediation tells the parties of (人民调解法 第二十六条).
OTHER_ROUTE_CHOICES = [
    ("litigation", _("诉讼")),
    ("arbitration", _("仲裁")),
    ("administrative", _("行政")),
    ("petition", _("信访")),
]
NOW_HELP = _("留空为当前时间")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def split_names(text: str) -> list[str]:
    """Party names typed one per line or separated by commas (、，, ;)."""
    return [name.strip() for name in re.split(r"[\n,，、;；]+", text or "") if name.strip()]


class PartyNamesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value):
        return split_names(super().to_python(value))


class DisputeFieldsMixin(forms.Form):
    category = forms.ChoiceField(label=_("纠纷类别"), choices=Dispute.Category.choices)
    party_count = forms.IntegerField(label=_("当事人数"), min_value=1, initial=2)
    party_names = PartyNamesField(
        label=_("当事人姓名"), required=False, help_text=_("每行一个，或用逗号、顿号分隔")
    )
    description = forms.CharField(label=_("纠纷情况"), widget=forms.Textarea(attrs={"rows": 4}))
    risk_level = forms.ChoiceField(
        label=_("风险等级"),
        choices=Dispute.Risk.choices,
        widget=forms.RadioSelect,
        initial=Dispute.Risk.GENERAL,
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        names, count = cleaned.get("party_names") or [], cleaned.get("party_count")
        if count and len(names) > count:
            self.add_error("party_names", _("填写的姓名多于当事人数。"))
        return cleaned


class DisputeRecordForm(DisputeFieldsMixin):
    """Record a dispute found in screening; the location comes from the phone or a map click."""

    round = forms.ModelChoiceField(
        label=_("排查轮次"), queryset=None, required=False, empty_label=_("（不属于排查轮次）")
    )
    lng = forms.FloatField(
        label=_("经度"),
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lat = forms.FloatField(
        label=_("纬度"),
        required=False,
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    crs = forms.ChoiceField(
        label=_("坐标系"), choices=CRS_CHOICES, initial="wgs84", widget=forms.RadioSelect
    )

    field_order = [
        "round",
        "category",
        "risk_level",
        "party_count",
        "party_names",
        "description",
        "address",
        "lng",
        "lat",
        "crs",
    ]

    def __init__(self, *args, rounds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = rounds
        if len(rounds) == 1 and not self.is_bound:
            self.fields["round"].initial = rounds[0].pk

    def clean(self):
        cleaned = super().clean()
        lng, lat = cleaned.get("lng"), cleaned.get("lat")
        if (lng is None) != (lat is None):
            self.add_error("lng", _("经度和纬度须同时填写。"))
        if lng is None and lat is None and not cleaned.get("address"):
            self.add_error("address", _("请定位或在地图上点选位置，或填写地址。"))
        return cleaned

    def location(self) -> tuple[float, float] | None:
        lng, lat = self.cleaned_data.get("lng"), self.cleaned_data.get("lat")
        return None if lng is None or lat is None else (lng, lat)


class DisputeUpdateForm(DisputeFieldsMixin):
    version = forms.IntegerField(widget=forms.HiddenInput)

    @classmethod
    def for_dispute(cls, dispute: Dispute) -> DisputeUpdateForm:
        return cls(
            initial={
                "category": dispute.category,
                "party_count": dispute.party_count,
                "party_names": dispute.party_names,
                "description": dispute.description,
                "risk_level": dispute.risk_level,
                "address": dispute.address,
                "version": dispute.version,
            }
        )


class DisputeCloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("结果"), choices=OUTCOME_CHOICES, widget=forms.RadioSelect)
    diverted_to = forms.ChoiceField(
        label=_("转入途径"),
        choices=[("", _("（仅“转入其他途径”时选择）")), *Dispute.Diversion.choices],
        required=False,
    )
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, outcomes: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if outcomes is not None:
            self.fields["outcome"].choices = [c for c in OUTCOME_CHOICES if c[0] in outcomes]


def committees_for(user):
    """The committees a case may be opened in: the user's own (mediator grants), else all."""
    own = Grant.objects.filter(
        user=user, role=Role.MEDIATOR, organization__isnull=False
    ).values_list("organization_id", flat=True)
    committees = Organization.objects.filter(kind=Organization.Kind.COMMITTEE)
    mine = committees.filter(pk__in=list(own))
    return mine if mine.exists() else committees


def mediators_of(committee_ids):
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(grants__role=Role.MEDIATOR, grants__organization_id__in=list(committee_ids))
        .distinct()
        .order_by("username")
    )


class CaseOpenForm(forms.Form):
    type = forms.ChoiceField(
        label=_("调解类型"), choices=MediationCase.Type.choices, initial="people"
    )
    source = forms.ChoiceField(label=_("来源"), choices=MediationCase.Source.choices)
    committee = forms.ModelChoiceField(label=_("调解组织"), queryset=None, empty_label=None)
    summary = forms.CharField(label=_("纠纷简要情况"), max_length=200)
    mediators = forms.ModelMultipleChoiceField(
        label=_("调解员"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    accepted_at = forms.DateTimeField(
        label=_("受理时间"), required=False, widget=DateTimeLocalInput, help_text=NOW_HELP
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        committees = committees_for(user)
        self.fields["committee"].queryset = committees
        self.fields["mediators"].queryset = mediators_of(committees.values_list("pk", flat=True))
        self.fields["mediators"].label_from_instance = lambda u: u.get_full_name() or u.username


class PartyForm(forms.Form):
    role = forms.ChoiceField(label=_("身份"), choices=MediationParty.Role.choices)
    name = forms.CharField(label=_("姓名/名称"), max_length=100, required=False)
    phone = forms.CharField(label=_("电话"), max_length=20, required=False)
    address = forms.CharField(label=_("住址"), max_length=200, required=False)


# One blank row for a further party (rows without a name are skipped).
PartyFormSet = forms.formset_factory(PartyForm, extra=1, min_num=2, max_num=10)


def parties_from(formset) -> tuple[list[int], list[dict]]:
    """The filled-in party rows as mediation_open takes them (rows without a name are skipped),
    with the index of each row in the formset (to put the service's errors back on it)."""
    rows = [i for i, form in enumerate(formset.forms) if form.cleaned_data.get("name")]
    parties = [
        {k: formset.forms[i].cleaned_data.get(k, "") for k in ("role", "name", "phone", "address")}
        for i in rows
    ]
    return rows, parties


class AssignForm(forms.Form):
    mediators = forms.ModelMultipleChoiceField(
        label=_("调解员"), queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, case: MediationCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mediators"].queryset = mediators_of([case.committee_id])
        self.fields["mediators"].label_from_instance = lambda u: u.get_full_name() or u.username
        if not self.is_bound:
            self.fields["mediators"].initial = [u.pk for u in case.mediators.all()]


class RefuseForm(forms.Form):
    party_name = forms.ChoiceField(label=_("拒绝调解的当事人"))

    def __init__(self, *args, case: MediationCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party_name"].choices = [(p.name, p.name) for p in case.parties.all()]


class SessionForm(forms.Form):
    held_at = forms.DateTimeField(label=_("调解时间"), widget=DateTimeLocalInput)
    place = forms.CharField(label=_("地点"), max_length=100)
    attendees = forms.CharField(label=_("参加人员"), widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(
        label=_("调解记录"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class AgreementForm(forms.Form):
    form = forms.ChoiceField(
        label=_("协议形式"),
        choices=Agreement.Form.choices,
        initial=Agreement.Form.WRITTEN,
        widget=forms.RadioSelect,
    )
    facts = forms.CharField(
        label=_("纠纷主要事实与争议事项"), widget=forms.Textarea(attrs={"rows": 3})
    )
    terms = forms.CharField(label=_("协议内容"), widget=forms.Textarea(attrs={"rows": 4}))
    performance_manner = forms.CharField(label=_("履行方式"), max_length=200)
    performance_deadline = forms.DateField(label=_("履行期限"), required=False, widget=DateInput)
    reached_at = forms.DateTimeField(
        label=_("达成时间"), required=False, widget=DateTimeLocalInput, help_text=NOW_HELP
    )


class SignForm(forms.Form):
    party_name = forms.CharField(max_length=100, widget=forms.HiddenInput)


class SealForm(forms.Form):
    pass


class FollowUpForm(forms.Form):
    performance = forms.ChoiceField(
        label=_("履行情况"), choices=FollowUpVisit.Performance.choices, widget=forms.RadioSelect
    )
    visited_at = forms.DateTimeField(
        label=_("回访时间"), required=False, widget=DateTimeLocalInput, help_text=NOW_HELP
    )
    notes = forms.CharField(
        label=_("回访情况"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConfirmationApplyForm(forms.Form):
    applied_at = forms.DateField(label=_("申请日期"), widget=DateInput)
    court = forms.CharField(label=_("人民法院"), max_length=100)


class ConfirmationDecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("结果"),
        choices=[c for c in JudicialConfirmation.Decision.choices if c[0] != "pending"],
        widget=forms.RadioSelect,
    )
    decided_at = forms.DateField(label=_("裁定日期"), widget=DateInput)


class TerminateForm(forms.Form):
    reason = forms.CharField(label=_("终止原因"), widget=forms.Textarea(attrs={"rows": 2}))
    other_routes = forms.MultipleChoiceField(
        label=_("告知的其他途径"),
        choices=OTHER_ROUTE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一种告知当事人的其他途径。")},
    )
