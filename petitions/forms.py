"""HTML forms of the staff UI. They parse and type-check input only: every rule about petitions
(identity numbers, transitions, deadlines, representatives) lives in the services, whose
ValidationError the views map back onto these forms' fields."""

from __future__ import annotations

import re
import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from grid.models import Generation, GridCell
from petitions.models import Category, Organization, Petition, ReceptionDay

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
CRS_CHOICES = [
    ("wgs84", _("WGS-84（GPS、天地图）")),
    ("gcj02", _("GCJ-02（高德、腾讯地图）")),
    ("bd09", _("BD-09（百度地图）")),
]
BOOL_CHOICES = [("", _("全部")), ("1", _("是"))]
DECIMAL = forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})


def _now_local_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


def category_choices(*, with_parents: bool) -> list:
    """Categories grouped by their first level: [(parent name, [(pk, name), …]), …]."""
    children: dict[int, list] = {}
    parents = []
    # Plain rows: this runs on every intake and case-list request (~60 categories).
    rows = Category.objects.order_by("sort", "code").values_list("pk", "parent_id", "name")
    for pk, parent_id, name in rows:
        if parent_id is None:
            parents.append((pk, name))
        else:
            children.setdefault(parent_id, []).append((pk, name))
    groups = []
    for pk, name in parents:
        items = children.get(pk, [])
        if with_parents:
            items = [(pk, _("%(name)s（全部）") % {"name": name}), *items]
        groups.append((name, items or [(pk, name)]))
    return groups


def active_cell(code: str) -> GridCell | None:
    return (
        GridCell.objects.filter(code=code.strip(), generation__status=Generation.Status.ACTIVE)
        .select_related("community")
        .first()
    )


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_LOCAL)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class CellCodeField(forms.CharField):
    """A cell code of the active generation, cleaned to the GridCell."""

    def clean(self, value):
        code = super().clean(value)
        if not code:
            return None
        cell = active_cell(code)
        if cell is None:
            raise forms.ValidationError(_("当前边界版本中没有网格“%(code)s”。") % {"code": code})
        return cell


# --- Intake -----------------------------------------------------------------------------------


class IntakeForm(forms.Form):
    intake_token = forms.CharField(widget=forms.HiddenInput)
    channel = forms.ChoiceField(label=_("信访形式"), choices=Petition.Channel.choices)
    source = forms.ChoiceField(
        label=_("来源"), choices=Petition.Source.choices, initial=Petition.Source.OWN
    )
    received_at = forms.DateTimeField(
        label=_("收到时间"), widget=DateTimeLocalInput, initial=_now_local_minute
    )
    case_type = forms.ChoiceField(label=_("事项类型"), choices=Petition.CaseType.choices)
    category = forms.TypedChoiceField(label=_("问题分类"), coerce=int)
    summary = forms.CharField(label=_("概要"), max_length=200)
    content = forms.CharField(
        label=_("内容"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    anonymous = forms.BooleanField(label=_("姓名住址不清（匿名）"), required=False)
    # A click on the map fills these (WGS-84, as Leaflet reports it).
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    # Typed or pasted coordinates, e.g. copied from a phone map app in GCJ-02.
    manual_lng = forms.FloatField(
        label=_("经度"), required=False, min_value=-180, max_value=180, widget=DECIMAL
    )
    manual_lat = forms.FloatField(
        label=_("纬度"), required=False, min_value=-90, max_value=90, widget=DECIMAL
    )
    crs = forms.ChoiceField(label=_("坐标系"), choices=CRS_CHOICES, initial="wgs84")
    cell = CellCodeField(label=_("手动指定网格代码"), max_length=15, required=False)
    cell_override_reason = forms.CharField(label=_("指定理由"), max_length=200, required=False)
    confirmed_new = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "---------"), *category_choices(with_parents=False)]
        if not self.is_bound:
            self.initial.setdefault("intake_token", uuid.uuid4().hex)

    def clean_category(self):
        category = Category.objects.filter(pk=self.cleaned_data["category"]).first()
        if category is None:
            raise forms.ValidationError(_("请选择问题分类。"))
        return category

    def clean(self):
        data = super().clean()
        manual = (data.get("manual_lng"), data.get("manual_lat"))
        if (manual[0] is None) != (manual[1] is None):
            self.add_error(
                "manual_lat" if manual[1] is None else "manual_lng", _("请同时填写经度和纬度。")
            )
        return data

    def location(self) -> tuple[tuple[float, float], str] | None:
        """((lng, lat), crs) of the case: typed coordinates win over a map click."""
        d = self.cleaned_data
        if d.get("manual_lng") is not None and d.get("manual_lat") is not None:
            return (d["manual_lng"], d["manual_lat"]), d["crs"]
        if d.get("lng") is not None and d.get("lat") is not None:
            return (d["lng"], d["lat"]), "wgs84"
        return None


class PetitionerForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    id_number = forms.CharField(label=_("身份证号"), max_length=20, required=False)
    phone = forms.CharField(label=_("电话"), max_length=20, required=False)
    address = forms.CharField(label=_("住址"), max_length=200, required=False)
    is_representative = forms.BooleanField(label=_("代表"), required=False)


PetitionerFormSet = forms.formset_factory(PetitionerForm, extra=5, max_num=50, absolute_max=60)


# --- Case list --------------------------------------------------------------------------------


class PetitionFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False)
    channel = forms.ChoiceField(label=_("信访形式"), required=False)
    case_type = forms.ChoiceField(label=_("事项类型"), required=False)
    category = forms.TypedChoiceField(
        label=_("问题分类"), required=False, coerce=int, empty_value=None
    )
    area = forms.RegexField(label=_("区域代码"), regex=r"^\d{6,15}$", required=False)
    overdue = forms.ChoiceField(label=_("已超期"), choices=BOOL_CHOICES, required=False)
    due_within = forms.IntegerField(
        label=_("N天内到期"), min_value=0, max_value=365, required=False
    )
    received_from = forms.DateField(label=_("收到日期自"), required=False, widget=DateInput)
    received_to = forms.DateField(label=_("至"), required=False, widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        blank = [("", _("全部"))]
        self.fields["status"].choices = blank + Petition.Status.choices
        self.fields["channel"].choices = blank + Petition.Channel.choices
        self.fields["case_type"].choices = blank + Petition.CaseType.choices
        self.fields["category"].choices = blank + category_choices(with_parents=True)

    def filters(self) -> dict:
        """The selector's filter dict (empty values left out)."""
        if not self.is_valid():
            return {}
        # Not `v not in (…, False)`: "due within 0 days" (due today) is a filter too.
        return {
            k: v
            for k, v in self.cleaned_data.items()
            if v is not None and v != "" and v is not False
        }


# --- Case actions -----------------------------------------------------------------------------


def _users_with_roles(role_values, **grant_filter):
    User = get_user_model()
    return (
        User.objects.filter(is_active=True, grants__role__in=role_values, **grant_filter)
        .distinct()
        .order_by("username")
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class ActionForm(forms.Form):
    """Every action form carries the case's version: a stale form is a conflict, not an overwrite."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, petition: Petition, **kwargs):
        self.petition = petition
        kwargs.setdefault("initial", {})["version"] = petition.version
        super().__init__(*args, **kwargs)


def _text(label, required=True, rows=3):
    return forms.CharField(
        label=label, required=required, widget=forms.Textarea(attrs={"rows": rows})
    )


class RouteForm(ActionForm):
    decision = forms.ChoiceField(
        label=_("处理方式"), choices=Petition.Routing.choices, widget=forms.RadioSelect
    )
    unit = forms.ModelChoiceField(
        label=_("承办单位（转送、交办必填）"), queryset=Organization.objects.none(), required=False
    )
    reason = _text(_("处理意见/理由（不予受理必填）"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Organization.objects.filter(is_active=True)
        self.fields["unit"].label_from_instance = lambda o: f"{o.name}（{o.get_kind_display()}）"


class EmptyActionForm(ActionForm):
    pass


class ReasonForm(ActionForm):
    reason = _text(_("理由"))


class OptionalReasonForm(ActionForm):
    reason = _text(_("理由/说明"), required=False)


class ObjectionResolveForm(ActionForm):
    uphold = forms.TypedChoiceField(
        label=_("核查结论"),
        choices=[("1", _("异议成立，退回重新处理")), ("0", _("异议不成立，继续办理"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = _text(_("说明"), required=False)


class AssignHandlerForm(ActionForm):
    handler = UserChoiceField(label=_("承办人"), queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        unit = self.petition.handling_unit
        User = get_user_model()
        if unit is None:
            return
        where = Q(grants__organization=unit)
        if unit.area_code:
            where |= Q(grants__role=Role.STREET_CLERK, grants__area_code=unit.area_code)
        self.fields["handler"].queryset = (
            User.objects.filter(where, is_active=True).distinct().order_by("username")
        )


class NoteForm(ActionForm):
    text = _text(_("办理情况"))


class ExtendForm(ActionForm):
    days = forms.IntegerField(label=_("延长天数"), min_value=1, max_value=30)
    reason = _text(_("延期理由"))
    approver = UserChoiceField(label=_("批准人"), queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approver"].queryset = _users_with_roles([Role.BUREAU, Role.STREET_CLERK])


class OutcomeForm(ActionForm):
    outcome = forms.ChoiceField(
        label=_("处理意见"), choices=Petition.Outcome.choices, widget=forms.RadioSelect
    )
    text = _text(_("事实、理由和依据"), rows=5)


class EvaluateForm(ActionForm):
    evaluation = forms.ChoiceField(
        label=_("信访人评价（纸质或电话反馈）"),
        choices=Petition.Evaluation.choices,
        widget=forms.RadioSelect,
    )


class HearingForm(ActionForm):
    days = forms.IntegerField(label=_("听证天数"), min_value=1, max_value=365)
    note = _text(_("说明"), required=False)


class RelocateForm(ActionForm):
    cell = CellCodeField(label=_("网格代码"), max_length=15)
    reason = _text(_("指定理由"))


# --- Visits and reception days -----------------------------------------------------------------


def split_names(text: str) -> list[str]:
    return [n for n in re.split(r"[\s,，、;；]+", text or "") if n]


class VisitForm(forms.Form):
    received_at = forms.DateTimeField(
        label=_("来访时间"), widget=DateTimeLocalInput, initial=_now_local_minute
    )
    headcount = forms.IntegerField(label=_("来访人数"), min_value=1, initial=1)
    representatives = forms.CharField(
        label=_("代表姓名"),
        required=False,
        help_text=_("5人以上集体访须推选代表，最多5名；姓名之间用逗号或空格分隔。"),
    )
    answered_on_spot = forms.BooleanField(label=_("当场答复"), required=False)
    resolved = forms.BooleanField(label=_("结案息访"), required=False)
    receipts = forms.CharField(
        label=_("相关信访事项编号"),
        required=False,
        help_text=_("多个编号用逗号或空格分隔，例如 XF-210204-2026-000123。"),
    )
    reception_day = forms.ModelChoiceField(
        label=_("领导接访日"), queryset=ReceptionDay.objects.none(), required=False
    )
    notes = _text(_("备注"), required=False)

    def __init__(self, *args, petitions, reception_days, **kwargs):
        super().__init__(*args, **kwargs)
        self.petitions = petitions  # the user's petition queryset, for receipt numbers
        self.fields["reception_day"].queryset = reception_days

    def clean_representatives(self):
        return split_names(self.cleaned_data["representatives"])

    def clean_receipts(self):
        numbers = [n.upper() for n in split_names(self.cleaned_data["receipts"])]
        found = list(self.petitions.filter(receipt_no__in=numbers))
        missing = sorted(set(numbers) - {p.receipt_no for p in found})
        if missing:
            raise forms.ValidationError(
                _("未找到信访事项：%(numbers)s") % {"numbers": "、".join(missing)}
            )
        return found


class ReceptionDayForm(forms.Form):
    leader = UserChoiceField(label=_("接访领导"), queryset=get_user_model().objects.none())
    leader_title = forms.CharField(label=_("领导职务"), max_length=50, required=False)
    date = forms.DateField(label=_("接访日期"), widget=DateInput)
    place = forms.CharField(label=_("地点"), max_length=100)
    notes = _text(_("备注"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leader"].queryset = _users_with_roles(
            [Role.LEADER, Role.BUREAU, Role.STREET_CLERK]
        )
