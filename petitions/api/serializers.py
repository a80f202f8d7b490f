"""Shapes of the petitions API: query and body validation, and the documented responses.

No business rules here: services validate and decide (their field errors pass through unchanged);
these classes only parse input types and render output. Personal data appears only in the detail,
masked, and only for roles that see it (accounts.scoping.sees_personal_data).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.scoping import can, sees_personal_data
from api.ordering import ordering_field, ordering_map
from api.serializers import ApiModelSerializer
from grid.coords import CRS_CHOICES
from grid.models import Generation, GridCell
from petitions import deadlines
from petitions.masking import mask_id_number, mask_phone
from petitions.models import Category, Organization, Petition, Status

# API action (URL segment) → (role right in accounts.scoping.ACTION_ROLES, transitions of the
# map in petitions.models.TRANSITIONS of which one must be allowed now).
ACTION_RIGHTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "route": ("route", ("route_accept", "route_forward", "route_assign", "route_reject")),
    "notify": ("notify", ("notify",)),
    "object": ("object", ("object",)),
    "objection-resolve": ("objection_resolve", ("objection_uphold", "objection_dismiss")),
    "assign-handler": ("assign_handler", ("assign_handler",)),
    "note": ("note", ("note",)),
    "extend": ("extend", ("extend",)),
    "reply": ("reply", ("reply",)),
    # The petitioner's rating is recorded by the office, never by the unit that handled it.
    "evaluate": ("evaluate", ("evaluate",)),
    "review-request": ("review", ("review_request",)),
    "review-answer": ("review", ("review_answer",)),
    "rereview-request": ("review", ("rereview_request",)),
    "hearing": ("review", ("hearing",)),
    "rereview-answer": ("review", ("rereview_answer",)),
    "close": ("close", ("close",)),
    "supervise": ("supervise", ("supervise",)),
    "relocate": ("relocate", ("relocate",)),
    "link-repeat": ("link_repeat", ("link_repeat",)),
}

ORDERING = ordering_map("received_at", "route_due", "handle_due")
VISIT_ORDERING = ordering_map("received_at", "headcount")
RECEPTION_DAY_ORDERING = ordering_map("date")
DUE_FIELDS = (
    "route_due",
    "notify_due",
    "objection_due",
    "handle_due",
    "review_request_due",
    "review_due",
    "rereview_request_due",
    "rereview_due",
)


def action_allowed(user, petition: Petition, action: str) -> bool:
    """Whether `user` may take the API action on the case now (map + role right)."""
    right, transitions = ACTION_RIGHTS[action]
    if not any(petition.can(t) for t in transitions):
        return False
    return can(user, right, petition)


# --- Queries ----------------------------------------------------------------------------------


class PetitionFilterSerializer(serializers.Serializer):
    """The case-list filters (petitions.selectors.petition_list) as query parameters."""

    status = serializers.ListField(
        child=serializers.ChoiceField(choices=Status.choices),
        required=False,
        help_text=_("状态，可重复"),
    )
    channel = serializers.ChoiceField(choices=Petition.Channel.choices, required=False)
    case_type = serializers.ChoiceField(choices=Petition.CaseType.choices, required=False)
    source = serializers.ChoiceField(choices=Petition.Source.choices, required=False)
    category = serializers.IntegerField(
        min_value=1, required=False, help_text=_("问题分类编号（一级分类含其下级）")
    )
    area = serializers.RegexField(
        r"^[0-9]{6,15}$",
        required=False,
        help_text=_("区域代码（含下级区域）"),
        error_messages={"invalid": _("区域代码应为6至15位数字。")},
    )
    received_from = serializers.DateField(required=False, help_text=_("收到日期起"))
    received_to = serializers.DateField(required=False, help_text=_("收到日期止"))
    overdue = serializers.BooleanField(required=False, default=False, help_text=_("仅超期"))
    due_within = serializers.IntegerField(
        min_value=0, max_value=366, required=False, help_text=_("N 日内到期")
    )
    q = serializers.CharField(required=False, max_length=100, help_text=_("关键词"))

    def filters(self) -> dict:
        """validated_data without empty values, as petition_list expects."""
        return {
            k: v
            for k, v in self.validated_data.items()
            if k not in ("ordering", "bbox") and v not in (None, "", [], False)
        }


class PetitionListQuerySerializer(PetitionFilterSerializer):
    ordering = ordering_field(ORDERING, "-received_at")


class VisitListQuerySerializer(serializers.Serializer):
    ordering = ordering_field(VISIT_ORDERING, "-received_at")


class ReceptionDayListQuerySerializer(serializers.Serializer):
    ordering = ordering_field(RECEPTION_DAY_ORDERING, "-date")


class PetitionGeoQuerySerializer(PetitionFilterSerializer):
    bbox = serializers.CharField(
        required=False, help_text=_("范围 minlng,minlat,maxlng,maxlat（WGS-84）")
    )

    def validate_bbox(self, value: str) -> tuple[float, float, float, float]:
        import math

        try:
            numbers = tuple(float(part) for part in value.split(","))
        except ValueError:
            numbers = ()
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            raise serializers.ValidationError(_("bbox 格式应为 minlng,minlat,maxlng,maxlat。"))
        if not (numbers[0] < numbers[2] and numbers[1] < numbers[3]):
            raise serializers.ValidationError(_("bbox 的最小值必须小于最大值。"))
        return numbers


def _lng(required: bool = False) -> serializers.FloatField:
    return serializers.FloatField(min_value=-180, max_value=180, required=required)


def _lat(required: bool = False) -> serializers.FloatField:
    return serializers.FloatField(min_value=-90, max_value=90, required=required)


class LngLatMixin(serializers.Serializer):
    lng = _lng()
    lat = _lat()
    crs = serializers.ChoiceField(
        choices=CRS_CHOICES, default="wgs84", help_text=_("坐标系：wgs84、gcj02、bd09")
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if (attrs.get("lng") is None) != (attrs.get("lat") is None):
            missing = "lat" if attrs.get("lat") is None else "lng"
            raise serializers.ValidationError({missing: [_("经度和纬度须同时提供。")]})
        return attrs


class RepeatQuerySerializer(LngLatMixin):
    id_number = serializers.ListField(
        child=serializers.CharField(max_length=30),
        required=False,
        help_text=_("信访人身份证号，可重复"),
    )
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False)


# --- Case output ------------------------------------------------------------------------------


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True)


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class NextDeadlineSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("期限字段名，如 route_due、handle_due"))
    date = serializers.DateField()
    days_left = serializers.IntegerField(help_text=_("剩余天数；0 为当天到期，负数为已超期"))


def next_deadline_payload(petition: Petition) -> dict | None:
    found = deadlines.next_deadline(petition)
    if not found or found[1] is None:
        return None
    key, due = found
    return {"key": key, "date": due.isoformat(), "days_left": deadlines.days_left(due)}


class PetitionListSerializer(ApiModelSerializer):
    """A case in the list: no petitioner data, no content, no location."""

    category = CategoryRefSerializer()
    handling_unit = OrganizationRefSerializer(allow_null=True)
    cell_code = serializers.CharField(source="cell.code", allow_null=True)
    next_deadline = serializers.SerializerMethodField()

    class Meta:
        model = Petition
        fields = [
            "id",
            "receipt_no",
            "channel",
            "source",
            "received_at",
            "case_type",
            "category",
            "summary",
            "status",
            "routing",
            "handling_unit",
            "cell_code",
            "area_code",
            *DUE_FIELDS,
            "next_deadline",
            "replied_at",
            "closed_at",
            "evaluation",
        ]
        read_only_fields = fields

    @extend_schema_field(NextDeadlineSerializer(allow_null=True))
    def get_next_deadline(self, petition: Petition) -> dict | None:
        return next_deadline_payload(petition)


class PetitionerSerializer(serializers.Serializer):
    """A petitioner, masked."""

    name = serializers.CharField()
    id_number = serializers.CharField(help_text=_("脱敏，如 2102**********123X"))
    phone = serializers.CharField(help_text=_("脱敏，如 138****5678"))
    is_representative = serializers.BooleanField()


class PetitionEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", allow_null=True)
    payload = serializers.JSONField()

    def get_fields(self):
        # "from" is a Python keyword, so these two cannot be class attributes.
        fields = super().get_fields()
        fields["from"] = serializers.CharField(source="from_status")
        fields["to"] = serializers.CharField(source="to_status")
        return fields


class DocumentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()


POINT_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2},
    },
}


class PetitionDetailSerializer(PetitionListSerializer):
    """A case with its content, location, masked petitioners (roles that see personal data
    only; others get null), timeline, documents and the actions the user may take now."""

    location = serializers.SerializerMethodField()
    petitioners = serializers.SerializerMethodField()
    events = PetitionEventSerializer(many=True)
    documents = DocumentRefSerializer(many=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta(PetitionListSerializer.Meta):
        fields = [
            *PetitionListSerializer.Meta.fields,
            "content",
            "address",
            "location",
            "petitioners",
            "events",
            "documents",
            "allowed_actions",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(POINT_SCHEMA)
    def get_location(self, petition: Petition) -> dict | None:
        p = petition.location
        return None if p is None else {"type": "Point", "coordinates": [p.x, p.y]}

    @extend_schema_field(PetitionerSerializer(many=True, allow_null=True))
    def get_petitioners(self, petition: Petition) -> list[dict] | None:
        if not sees_personal_data(self.context["request"].user):
            return None
        return [
            {
                "name": p.name,
                "id_number": mask_id_number(p.id_number),
                "phone": mask_phone(p.phone),
                "is_representative": p.is_representative,
            }
            for p in petition.petitioners.all()
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, petition: Petition) -> list[str]:
        user = self.context["request"].user
        return [a for a in ACTION_RIGHTS if action_allowed(user, petition, a)]


class RepeatCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="petition.id")
    receipt_no = serializers.CharField(source="petition.receipt_no")
    status = serializers.CharField(source="petition.status")
    received_at = serializers.DateTimeField(source="petition.received_at")
    category = serializers.CharField(source="petition.category.name")
    summary = serializers.CharField(source="petition.summary")
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text=_("same_petitioner、same_category、nearby")
    )


# --- Registration -----------------------------------------------------------------------------


class PetitionerInputSerializer(serializers.Serializer):
    # Formats are checked by the service (its messages name the row: "petitioners[0].id_number").
    name = serializers.CharField(max_length=50, allow_blank=True, default="")
    id_number = serializers.CharField(max_length=30, allow_blank=True, default="")
    phone = serializers.CharField(max_length=30, allow_blank=True, default="")
    address = serializers.CharField(max_length=200, allow_blank=True, default="")
    is_representative = serializers.BooleanField(default=False)


def active_cells():
    return GridCell.objects.filter(generation__status=Generation.Status.ACTIVE)


CELL_CODE_ERRORS = {"does_not_exist": _("现行网格中没有编码为“{value}”的网格。")}


class PetitionRegisterSerializer(LngLatMixin):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.filter(is_active=True),
        required=False,
        help_text=_("登记单位；缺省为用户所在单位"),
    )
    channel = serializers.ChoiceField(choices=Petition.Channel.choices)
    source = serializers.ChoiceField(choices=Petition.Source.choices, default="own")
    received_at = serializers.DateTimeField(required=False, help_text=_("缺省为当前时间"))
    case_type = serializers.ChoiceField(choices=Petition.CaseType.choices)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    summary = serializers.CharField(max_length=200, allow_blank=True)
    content = serializers.CharField(allow_blank=True, default="")
    address = serializers.CharField(max_length=200, allow_blank=True, default="")
    anonymous = serializers.BooleanField(default=False, help_text=_("姓名住址不清"))
    petitioners = PetitionerInputSerializer(many=True, required=False)
    cell_code = serializers.SlugRelatedField(
        source="cell",
        slug_field="code",
        queryset=active_cells(),
        required=False,
        allow_null=True,
        error_messages=CELL_CODE_ERRORS,
        help_text=_("手动指定网格（须说明理由）"),
    )
    cell_override_reason = serializers.CharField(max_length=200, allow_blank=True, default="")
    intake_token = serializers.CharField(
        max_length=48,
        required=False,
        help_text=_("防重复提交标识（与请求头 Idempotency-Key 二选一）"),
    )


class RegisteredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    receipt_no = serializers.CharField()
    query_code = serializers.CharField(
        required=False, help_text=_("查询码，仅在首次登记时返回一次")
    )


# --- Actions ----------------------------------------------------------------------------------


def _text(required: bool = True, max_length: int | None = None) -> serializers.CharField:
    if required:
        return serializers.CharField(max_length=max_length)
    return serializers.CharField(max_length=max_length, allow_blank=True, default="")


def _users():
    return get_user_model().objects.filter(is_active=True)


class ActionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=0, required=False, help_text=_("乐观锁：详情中的 version；不一致时返回 409")
    )


# The routing decision, labelled for the request (the case's `routing` field has short labels).
DECISIONS = [
    ("accept", _("受理并自行办理")),
    ("forward", _("转送有权处理的机关")),
    ("assign", _("交办承办单位（须报告结果）")),
    ("reject", _("不予受理（须说明法定理由）")),
]


class RouteSerializer(ActionSerializer):
    decision = serializers.ChoiceField(choices=DECISIONS)
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.filter(is_active=True), required=False, allow_null=True
    )
    reason = _text(required=False)


class ObjectSerializer(ActionSerializer):
    reason = _text()


class ObjectionResolveSerializer(ActionSerializer):
    uphold = serializers.BooleanField(help_text=_("true：异议成立，退回重新处理"))
    note = _text(required=False)


class AssignHandlerSerializer(ActionSerializer):
    handler = serializers.PrimaryKeyRelatedField(queryset=_users())


class NoteSerializer(ActionSerializer):
    text = _text()


class ExtendSerializer(ActionSerializer):
    days = serializers.IntegerField(min_value=1, max_value=deadlines.MAX_EXTENSION_DAYS)
    reason = _text()
    approver = serializers.PrimaryKeyRelatedField(queryset=_users())


class ReplySerializer(ActionSerializer):
    outcome = serializers.ChoiceField(choices=Petition.Outcome.choices)
    text = _text()


class EvaluateSerializer(ActionSerializer):
    evaluation = serializers.ChoiceField(choices=Petition.Evaluation.choices)


class RequestSerializer(ActionSerializer):
    reason = _text(required=False)


class AnswerSerializer(ActionSerializer):
    outcome = serializers.ChoiceField(choices=Petition.Outcome.choices)
    text = _text()


class HearingSerializer(ActionSerializer):
    days = serializers.IntegerField(min_value=1, max_value=365)
    note = _text(required=False)


class SuperviseSerializer(ActionSerializer):
    reason = _text()


class RelocateSerializer(ActionSerializer):
    cell_code = serializers.SlugRelatedField(
        source="cell", slug_field="code", queryset=active_cells(), error_messages=CELL_CODE_ERRORS
    )
    reason = _text(max_length=200)


class LinkRepeatSerializer(ActionSerializer):
    channel = serializers.ChoiceField(choices=Petition.Channel.choices)
    received_at = serializers.DateTimeField(required=False)
    summary = _text(required=False, max_length=200)


# --- Visits and reception days ----------------------------------------------------------------


class PetitionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    receipt_no = serializers.CharField()


class VisitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    organization = OrganizationRefSerializer()
    area_code = serializers.CharField()
    headcount = serializers.IntegerField()
    is_group = serializers.BooleanField()
    representatives = serializers.SerializerMethodField()
    reception_officer = serializers.CharField(source="reception_officer.username", allow_null=True)
    reception_day = serializers.IntegerField(source="reception_day_id", allow_null=True)
    petitions = PetitionRefSerializer(many=True)
    answered_on_spot = serializers.BooleanField()
    resolved = serializers.BooleanField()
    notes = serializers.CharField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), allow_null=True))
    def get_representatives(self, visit) -> list[str] | None:
        # Names are personal data: null for roles that do not see it.
        if not sees_personal_data(self.context["request"].user):
            return None
        return list(visit.representatives)


class VisitInputSerializer(serializers.Serializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.filter(is_active=True),
        required=False,
        help_text=_("接待单位；缺省为用户所在单位"),
    )
    received_at = serializers.DateTimeField(required=False, help_text=_("缺省为当前时间"))
    headcount = serializers.IntegerField(min_value=1)
    representatives = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list
    )
    answered_on_spot = serializers.BooleanField(default=False)
    resolved = serializers.BooleanField(default=False)
    petitions = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    reception_day = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    notes = _text(required=False)


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ReceptionDaySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    place = serializers.CharField()
    leader = UserRefSerializer()
    leader_title = serializers.CharField()
    organization = OrganizationRefSerializer()
    notes = serializers.CharField()


class ReceptionSummarySerializer(serializers.Serializer):
    batches = serializers.IntegerField(help_text=_("接待批次"))
    persons = serializers.IntegerField(help_text=_("接待人次"))
    answered_on_spot = serializers.IntegerField(help_text=_("当场答复"))
    resolved = serializers.IntegerField(help_text=_("结案息访"))


class ReceptionDayDetailSerializer(ReceptionDaySerializer):
    summary = ReceptionSummarySerializer()


class ReceptionDayInputSerializer(serializers.Serializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.filter(is_active=True),
        required=False,
        help_text=_("组织单位；缺省为用户所在单位"),
    )
    leader = serializers.PrimaryKeyRelatedField(queryset=_users())
    leader_title = _text(required=False, max_length=50)
    date = serializers.DateField()
    place = _text(max_length=100)
    notes = _text(required=False)
