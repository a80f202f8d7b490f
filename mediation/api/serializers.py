"""Input validation and response shapes of the mediation API (no business rules here).

Input serializers only check shapes and choices; every rule (transitions, windows, who signs)
lives in mediation.services. Output serializers drop the parties' personal data (names, phones,
addresses, who signed or refused) unless the view says the user may see it
(context["personal_data"]); phones are always masked (SPEC §7).
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.ordering import ordering_field, ordering_map
from api.serializers import ApiModelSerializer
from grid.coords import CRS_CHOICES
from mediation.models import (
    Agreement,
    Dispute,
    FollowUpVisit,
    JudicialConfirmation,
    MediationCase,
    MediationParty,
    ScreeningRound,
)
from mediation.services.cases import mediation_is_overdue
from petitions.masking import mask_phone
from petitions.models import Organization

# Choice sets shared with other apps' field names ("status", "source", "outcome"): named here so
# SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] can give them readable schema names.
DISPUTE_STATUS_CHOICES = Dispute.Status.choices
DISPUTE_SOURCE_CHOICES = Dispute.Source.choices
DISPUTE_RECORD_SOURCE_CHOICES = [
    (Dispute.Source.SCREENING, Dispute.Source.SCREENING.label),
    (Dispute.Source.REFERRAL, Dispute.Source.REFERRAL.label),
]
DISPUTE_CLOSE_OUTCOME_CHOICES = [
    ("resolve", _("已化解")),
    ("stabilise", _("已稳控")),
    ("fail", _("未化解")),
    ("divert", _("转入其他途径")),
]
MEDIATION_STATUS_CHOICES = MediationCase.Status.choices
MEDIATION_SOURCE_CHOICES = MediationCase.Source.choices
ROUND_STATUS_CHOICES = ScreeningRound.Status.choices


def _names(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=100), **kwargs)


# --- input -----------------------------------------------------------------------------------


ROUND_ORDERING = ordering_map("period_start", "opened_at")
DISPUTE_ORDERING = ordering_map("found_at", "closed_at")
CASE_ORDERING = ordering_map("accepted_at", "target_due", "case_no")


class RoundListQuerySerializer(serializers.Serializer):
    ordering = ordering_field(ROUND_ORDERING, None)


class DisputeFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Dispute.Status.choices, required=False)
    category = serializers.ChoiceField(choices=Dispute.Category.choices, required=False)
    risk_level = serializers.ChoiceField(choices=Dispute.Risk.choices, required=False)
    round = serializers.IntegerField(required=False, min_value=1, help_text=_("排查轮次 ID"))
    area = serializers.RegexField(
        r"^([0-9]{3}){2,5}$", required=False, help_text=_("区域代码（含下级）")
    )
    mine = serializers.BooleanField(required=False, help_text=_("只看本人登记的"))
    q = serializers.CharField(required=False, max_length=100, help_text=_("关键词"))


class DisputeListQuerySerializer(DisputeFilterSerializer):
    ordering = ordering_field(DISPUTE_ORDERING, "-found_at")


class CaseFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MediationCase.Status.choices, required=False)
    type = serializers.ChoiceField(choices=MediationCase.Type.choices, required=False)
    committee = serializers.IntegerField(required=False, min_value=1, help_text=_("调解组织 ID"))
    overdue = serializers.BooleanField(required=False, help_text=_("只看超过一个月期限的"))
    mine = serializers.BooleanField(required=False, help_text=_("只看本人参与调解的"))
    q = serializers.CharField(required=False, max_length=100, help_text=_("案号或纠纷简要情况"))
    ordering = ordering_field(CASE_ORDERING, "-accepted_at")


class RoundOpenSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    area_code = serializers.RegexField(r"^([0-9]{3}){2,5}$", help_text=_("排查区域代码"))


class DisputeRecordSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Dispute.Category.choices)
    risk_level = serializers.ChoiceField(choices=Dispute.Risk.choices)
    party_count = serializers.IntegerField(min_value=1)
    party_names = _names(required=False, default=list)
    description = serializers.CharField()
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180, help_text=_("经度"))
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90, help_text=_("纬度"))
    crs = serializers.ChoiceField(
        choices=CRS_CHOICES,
        default="wgs84",
        help_text=_("坐标系：wgs84（GPS）、gcj02（高德、腾讯、微信）、bd09（百度）"),
    )
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    round = serializers.IntegerField(required=False, min_value=1, help_text=_("排查轮次 ID"))
    source = serializers.ChoiceField(choices=DISPUTE_RECORD_SOURCE_CHOICES, default="screening")
    found_at = serializers.DateTimeField(required=False, help_text=_("发现时间，缺省为现在"))
    area_code = serializers.RegexField(
        r"^([0-9]{3}){2,5}$",
        required=False,
        default="",
        help_text=_("无坐标时的所属区域代码"),
    )

    def validate(self, attrs):
        if ("lng" in attrs) != ("lat" in attrs):
            missing = "lat" if "lng" in attrs else "lng"
            raise serializers.ValidationError({missing: [_("经度和纬度须同时提供。")]})
        return attrs


class DisputeUpdateSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Dispute.Category.choices, required=False)
    risk_level = serializers.ChoiceField(choices=Dispute.Risk.choices, required=False)
    party_count = serializers.IntegerField(min_value=1, required=False)
    party_names = _names(required=False)
    description = serializers.CharField(required=False)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    expected_version = serializers.IntegerField(
        required=False, min_value=0, help_text=_("读取时的版本号，用于防止覆盖他人的修改")
    )


class DisputeCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DISPUTE_CLOSE_OUTCOME_CHOICES)
    diverted_to = serializers.ChoiceField(
        choices=Dispute.Diversion.choices, required=False, default="", allow_blank=True
    )
    note = serializers.CharField(required=False, default="", allow_blank=True)


def _mediators(**kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=get_user_model().objects.filter(is_active=True),
        help_text=_("调解员用户 ID 列表"),
        **kwargs,
    )


class PartyInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=MediationParty.Role.choices)
    name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class CaseOpenFromDisputeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=MediationCase.Type.choices)
    source = serializers.ChoiceField(choices=MediationCase.Source.choices)
    committee = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.filter(kind=Organization.Kind.COMMITTEE, is_active=True),
        help_text=_("调解组织 ID"),
    )
    summary = serializers.CharField(max_length=200)
    parties = PartyInputSerializer(many=True)
    mediators = _mediators(required=False, default=list)
    accepted_at = serializers.DateTimeField(required=False, help_text=_("受理时间，缺省为现在"))


class CaseOpenSerializer(CaseOpenFromDisputeSerializer):
    dispute = serializers.IntegerField(required=False, min_value=1, help_text=_("矛盾纠纷 ID"))
    petition = serializers.IntegerField(required=False, min_value=1, help_text=_("信访事项 ID"))


class CaseAssignSerializer(serializers.Serializer):
    mediators = _mediators()


class CaseRefuseSerializer(serializers.Serializer):
    party_name = serializers.CharField(max_length=50)


class CaseSessionSerializer(serializers.Serializer):
    held_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=100)
    attendees = serializers.CharField()
    notes = serializers.CharField(required=False, default="", allow_blank=True)


class CaseAgreeSerializer(serializers.Serializer):
    form = serializers.ChoiceField(choices=Agreement.Form.choices)
    facts = serializers.CharField()
    terms = serializers.CharField()
    performance_manner = serializers.CharField(max_length=200)
    performance_deadline = serializers.DateField(required=False, allow_null=True, default=None)
    reached_at = serializers.DateTimeField(required=False, help_text=_("达成时间，缺省为现在"))


class AgreementSignSerializer(serializers.Serializer):
    party_name = serializers.CharField(max_length=100)


class MediationEmptySerializer(serializers.Serializer):
    """No body."""


class CaseTerminateSerializer(serializers.Serializer):
    reason = serializers.CharField()
    other_routes = serializers.ListField(child=serializers.CharField(max_length=100))


class FollowUpRecordSerializer(serializers.Serializer):
    performance = serializers.ChoiceField(choices=FollowUpVisit.Performance.choices)
    notes = serializers.CharField(required=False, default="", allow_blank=True)
    visited_at = serializers.DateTimeField(required=False, help_text=_("回访时间，缺省为现在"))


class ConfirmationApplySerializer(serializers.Serializer):
    applied_at = serializers.DateField(help_text=_("共同申请日期"))
    court = serializers.CharField(max_length=100)


class ConfirmationDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[
            (JudicialConfirmation.Decision.CONFIRMED, _("确认有效")),
            (JudicialConfirmation.Decision.REJECTED, _("不予确认")),
        ]
    )
    decided_at = serializers.DateField()


# --- output ----------------------------------------------------------------------------------


class _PersonalDataMixin:
    """Drops `personal_fields` unless the view put personal_data=True in the context."""

    personal_fields: tuple[str, ...] = ()

    def get_fields(self):
        fields = super().get_fields()
        if not self.context.get("personal_data"):
            for name in self.personal_fields:
                fields.pop(name, None)
        return fields


class ScreeningRoundSerializer(ApiModelSerializer):
    class Meta:
        model = ScreeningRound
        fields = ["id", "name", "period_start", "period_end", "area_code", "status"]
        fields += ["opened_at", "closed_at"]
        read_only_fields = fields


class DisputeLocationSerializer(serializers.Serializer):
    lng = serializers.FloatField()
    lat = serializers.FloatField()


class DisputeSerializer(_PersonalDataMixin, ApiModelSerializer):
    """A dispute in lists; party names and address only for roles that see personal data."""

    personal_fields = ("party_names", "address")
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    risk_level_label = serializers.CharField(source="get_risk_level_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    location = serializers.SerializerMethodField()
    cell_code = serializers.CharField(
        source="cell.code", default=None, read_only=True, allow_null=True
    )
    cell_name = serializers.CharField(
        source="cell.name", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "category",
            "category_label",
            "risk_level",
            "risk_level_label",
            "status",
            "status_label",
            "source",
            "party_count",
            "party_names",
            "description",
            "address",
            "location",
            "cell_code",
            "cell_name",
            "area_code",
            "round",
            "petition",
            "diverted_to",
            "found_at",
            "closed_at",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(DisputeLocationSerializer(allow_null=True))
    def get_location(self, obj):
        if obj.location is None:
            return None
        return {"lng": round(obj.location.x, 7), "lat": round(obj.location.y, 7)}


class MediationEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(source="actor.username", default=None)


class DisputeCaseRefSerializer(ApiModelSerializer):
    class Meta:
        model = MediationCase
        fields = ["id", "case_no", "type", "status"]
        read_only_fields = fields


class DisputeDetailSerializer(DisputeSerializer):
    mediation_cases = DisputeCaseRefSerializer(many=True, read_only=True)
    events = MediationEventSerializer(many=True, read_only=True)

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "mediation_cases", "events"]


class MediationPartySerializer(_PersonalDataMixin, ApiModelSerializer):
    phone = serializers.SerializerMethodField()

    class Meta:
        model = MediationParty
        fields = ["role", "name", "phone", "address"]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        # Always masked: full values only through the logged reveal (accounts.services).
        return mask_phone(obj.phone)


class MediatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return obj.get_full_name() or obj.username


class MediationCommitteeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MediationSessionSerializer(_PersonalDataMixin, serializers.Serializer):
    personal_fields = ("attendees",)
    id = serializers.IntegerField()
    held_at = serializers.DateTimeField()
    place = serializers.CharField()
    attendees = serializers.CharField()
    notes = serializers.CharField()


class FollowUpVisitSerializer(ApiModelSerializer):
    class Meta:
        model = FollowUpVisit
        fields = ["id", "visited_at", "performance", "notes"]
        read_only_fields = fields


class JudicialConfirmationSerializer(ApiModelSerializer):
    class Meta:
        model = JudicialConfirmation
        fields = ["id", "applied_at", "court", "decision", "decided_at"]
        read_only_fields = fields


class MediationAgreementSerializer(_PersonalDataMixin, ApiModelSerializer):
    personal_fields = ("signed_by",)
    follow_ups = FollowUpVisitSerializer(many=True, read_only=True)
    confirmation = serializers.SerializerMethodField()

    class Meta:
        model = Agreement
        fields = [
            "id",
            "form",
            "facts",
            "terms",
            "performance_manner",
            "performance_deadline",
            "reached_at",
            "signed_by",
            "sealed_at",
            "effective_at",
            "follow_ups",
            "confirmation",
        ]
        read_only_fields = fields

    @extend_schema_field(JudicialConfirmationSerializer(allow_null=True))
    def get_confirmation(self, obj):
        confirmation = getattr(obj, "confirmation", None)
        return None if confirmation is None else JudicialConfirmationSerializer(confirmation).data


class MediationCaseSerializer(_PersonalDataMixin, ApiModelSerializer):
    """A mediation case in lists; parties and who refused only for roles that see personal
    data. Expects committee, agreement selected and parties, mediators prefetched."""

    personal_fields = ("parties", "refused_by")
    type_label = serializers.CharField(source="get_type_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    committee = MediationCommitteeSerializer(read_only=True)
    mediators = MediatorSerializer(many=True, read_only=True)
    parties = MediationPartySerializer(many=True, read_only=True)
    overdue = serializers.SerializerMethodField()
    agreement_form = serializers.SerializerMethodField()

    class Meta:
        model = MediationCase
        fields = [
            "id",
            "case_no",
            "type",
            "type_label",
            "source",
            "status",
            "status_label",
            "committee",
            "mediators",
            "parties",
            "summary",
            "area_code",
            "dispute",
            "petition",
            "accepted_at",
            "target_due",
            "overdue",
            "concluded_at",
            "termination_reason",
            "other_routes",
            "refused_by",
            "agreement_form",
            "version",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return mediation_is_overdue(obj)

    def get_agreement_form(self, obj) -> str | None:
        agreement = getattr(obj, "agreement", None)
        return None if agreement is None else agreement.form


class MediationCaseDetailSerializer(MediationCaseSerializer):
    sessions = MediationSessionSerializer(many=True, read_only=True)
    agreement = serializers.SerializerMethodField()
    events = MediationEventSerializer(many=True, read_only=True)

    class Meta(MediationCaseSerializer.Meta):
        fields = [*MediationCaseSerializer.Meta.fields, "sessions", "agreement", "events"]

    @extend_schema_field(MediationAgreementSerializer(allow_null=True))
    def get_agreement(self, obj):
        agreement = getattr(obj, "agreement", None)
        if agreement is None:
            return None
        return MediationAgreementSerializer(agreement, context=self.context).data
