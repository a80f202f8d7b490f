"""Dispute screening (矛盾纠纷排查) and mediation (《人民调解法》), after SPEC §4.

Status changes only through mediation.services; the allowed transitions are the explicit maps
below, next to the status choices. Every step writes an event row in the same transaction.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedCharField
from config.choices import CachedChoiceLabels

SRID = 4326


class ScreeningRound(models.Model):
    """排查: a screening round covering a period and an area."""

    class Status(models.TextChoices):
        OPEN = "open", _("进行中")
        CLOSED = "closed", _("已结束")

    name = models.CharField(_("名称"), max_length=100)
    period_start = models.DateField(_("开始日期"))
    period_end = models.DateField(_("结束日期"))
    area_code = models.CharField(_("排查区域代码"), max_length=15, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default="open")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(_("开始时间"))
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("排查轮次")
        verbose_name_plural = _("排查轮次")
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="round_period_order"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "closed"]), name="round_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DisputeStatus(models.TextChoices):
    FOUND = "found", _("已排查发现")
    IN_MEDIATION = "in_mediation", _("调解中")
    RESOLVED = "resolved", _("已化解")
    STABILISED = "stabilised", _("已稳控")
    UNRESOLVED = "unresolved", _("未化解")
    DIVERTED = "diverted", _("已转入其他途径")


_OPEN_DISPUTE = {
    DisputeStatus.FOUND,
    DisputeStatus.IN_MEDIATION,
    DisputeStatus.STABILISED,
    DisputeStatus.UNRESOLVED,
}

# action → (from statuses, to status); None keeps the status.
DISPUTE_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "update": (frozenset(_OPEN_DISPUTE), None),
    "mediate": (
        frozenset(_OPEN_DISPUTE - {DisputeStatus.IN_MEDIATION}),
        DisputeStatus.IN_MEDIATION,
    ),
    "resolve": (frozenset(_OPEN_DISPUTE), DisputeStatus.RESOLVED),
    "stabilise": (frozenset(_OPEN_DISPUTE - {DisputeStatus.STABILISED}), DisputeStatus.STABILISED),
    "fail": (frozenset(_OPEN_DISPUTE - {DisputeStatus.UNRESOLVED}), DisputeStatus.UNRESOLVED),
    "divert": (frozenset(_OPEN_DISPUTE), DisputeStatus.DIVERTED),
    "reopen": (frozenset({DisputeStatus.RESOLVED, DisputeStatus.DIVERTED}), DisputeStatus.FOUND),
}


class Dispute(CachedChoiceLabels, models.Model):
    """A dispute found by screening, opened from a petition, or referred."""

    class Category(models.TextChoices):
        MARRIAGE_FAMILY = "marriage_family", _("婚姻家庭")
        NEIGHBOUR = "neighbour", _("邻里")
        PROPERTY_MGMT = "property_mgmt", _("物业")
        LABOUR = "labour", _("劳资")
        LAND = "land", _("土地")
        TRAFFIC = "traffic", _("交通事故")
        MEDICAL = "medical", _("医疗")
        CONSUMER = "consumer", _("消费")
        DEMOLITION = "demolition", _("征收拆迁")
        HOUSING = "housing", _("住房")
        ENVIRONMENT = "environment", _("环境污染")
        OTHER = "other", _("其他")

    class Risk(models.TextChoices):
        GENERAL = "general", _("一般")
        MAJOR = "major", _("较大")
        SERIOUS = "serious", _("重大")

    class Source(models.TextChoices):
        SCREENING = "screening", _("排查发现")
        PETITION = "petition", _("信访转入")
        REFERRAL = "referral", _("部门移交")

    class Diversion(models.TextChoices):
        LITIGATION = "litigation", _("诉讼")
        ARBITRATION = "arbitration", _("仲裁")
        PETITION = "petition", _("信访")
        ADMINISTRATIVE = "administrative", _("行政处理")

    Status = DisputeStatus

    round = models.ForeignKey(
        ScreeningRound,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
        verbose_name=_("排查轮次"),
    )
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    petition = models.ForeignKey(
        "petitions.Petition",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="disputes",
        verbose_name=_("关联信访事项"),
    )
    category = models.CharField(_("纠纷类别"), max_length=20, choices=Category.choices)
    party_count = models.PositiveIntegerField(_("当事人数"))
    # Names of the parties (personal data: kept here only, shown to staff in scope).
    party_names = models.JSONField(_("当事人"), default=list, blank=True)
    description = models.TextField(_("纠纷情况"))
    risk_level = models.CharField(_("风险等级"), max_length=10, choices=Risk.choices)
    location = models.PointField(_("位置"), srid=SRID, null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    cell = models.ForeignKey(
        "grid.GridCell",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
        verbose_name=_("网格"),
    )
    area_code = models.CharField(_("所属区域代码"), max_length=15, db_index=True)
    status = models.CharField(_("状态"), max_length=15, choices=Status.choices, default="found")
    diverted_to = models.CharField(
        _("转入途径"), max_length=15, choices=Diversion.choices, blank=True
    )
    found_at = models.DateTimeField(_("发现时间"))
    closed_at = models.DateTimeField(_("化解/转出时间"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("登记人"),
    )
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("矛盾纠纷")
        verbose_name_plural = _("矛盾纠纷")
        ordering = ["-found_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in DisputeStatus]),
                name="dispute_status_valid",
            ),
            models.CheckConstraint(condition=Q(party_count__gte=1), name="dispute_parties_min"),
            models.CheckConstraint(
                condition=~Q(status="diverted") | ~Q(diverted_to=""),
                name="dispute_diverted_has_route",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "found_at"], name="dispute_status_found"),
            # 矛盾纠纷 (件) by period and area (dashboard disputes_found family): index-only.
            models.Index(
                fields=["found_at"],
                include=["area_code", "created_at"],
                name="dispute_found_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"

    def can(self, action: str) -> bool:
        allowed, _to = DISPUTE_TRANSITIONS[action]
        return self.status in allowed


class DisputeEvent(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)
    action = models.CharField(_("操作"), max_length=30)
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["action", "at"], name="disputeevent_action_at"),
            # The statistics' "anything written after as_of?" check (engine.last_write), audit.
            models.Index(fields=["recorded_at"], name="disputeevent_recorded_at"),
        ]


class MediationStatus(models.TextChoices):
    ACCEPTED = "accepted", _("已受理")
    IN_PROGRESS = "in_progress", _("调解中")
    AGREED = "agreed", _("调解成功")
    TERMINATED = "terminated", _("调解终止")
    REFUSED = "refused", _("当事人拒绝调解")


MEDIATION_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "assign": (frozenset({MediationStatus.ACCEPTED, MediationStatus.IN_PROGRESS}), None),
    "refuse": (
        frozenset({MediationStatus.ACCEPTED, MediationStatus.IN_PROGRESS}),
        MediationStatus.REFUSED,
    ),
    "session": (
        frozenset({MediationStatus.ACCEPTED, MediationStatus.IN_PROGRESS}),
        MediationStatus.IN_PROGRESS,
    ),
    "agree": (
        frozenset({MediationStatus.ACCEPTED, MediationStatus.IN_PROGRESS}),
        MediationStatus.AGREED,
    ),
    "terminate": (
        frozenset({MediationStatus.ACCEPTED, MediationStatus.IN_PROGRESS}),
        MediationStatus.TERMINATED,
    ),
    "sign": (frozenset({MediationStatus.AGREED}), None),
    "follow_up": (frozenset({MediationStatus.AGREED}), None),
    "confirm_apply": (frozenset({MediationStatus.AGREED}), None),
    "confirm_decide": (frozenset({MediationStatus.AGREED}), None),
}


class MediationCase(CachedChoiceLabels, models.Model):
    """A mediation case: 人民调解 / 行政调解 / 司法调解 with one workflow ("大调解")."""

    class Type(models.TextChoices):
        PEOPLE = "people", _("人民调解")
        ADMINISTRATIVE = "administrative", _("行政调解")
        JUDICIAL = "judicial", _("司法调解")

    class Source(models.TextChoices):
        APPLICATION = "application", _("当事人申请")
        OWN_INITIATIVE = "own_initiative", _("主动调解")
        COURT = "court", _("法院委托移送")
        POLICE = "police", _("公安机关移送")
        PETITION_OFFICE = "petition_office", _("信访部门移送")

    Status = MediationStatus

    case_no = models.CharField(_("案号"), max_length=30, unique=True)
    type = models.CharField(_("调解类型"), max_length=15, choices=Type.choices)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    committee = models.ForeignKey(
        "petitions.Organization",
        on_delete=models.PROTECT,
        related_name="mediation_cases",
        verbose_name=_("调解组织"),
    )
    mediators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="mediation_cases",
        verbose_name=_("调解员"),
    )
    dispute = models.ForeignKey(
        Dispute,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediation_cases",
        verbose_name=_("矛盾纠纷"),
    )
    petition = models.ForeignKey(
        "petitions.Petition",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediation_cases",
        verbose_name=_("信访事项"),
    )
    summary = models.CharField(_("纠纷简要情况"), max_length=200)
    area_code = models.CharField(_("所属区域代码"), max_length=15, db_index=True)
    accepted_at = models.DateTimeField(_("受理时间"))
    # 司法部《人民调解工作若干规定》第三十六条: one month — overdue is flagged, not forbidden.
    target_due = models.DateField(_("调解期限"))
    status = models.CharField(_("状态"), max_length=15, choices=Status.choices, default="accepted")
    concluded_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    termination_reason = models.TextField(_("终止原因"), blank=True)
    # Routes the parties were told of when mediation failed (第二十六条).
    other_routes = models.JSONField(_("告知的其他途径"), default=list, blank=True)
    refused_by = models.CharField(_("拒绝调解的当事人"), max_length=50, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("调解案件")
        verbose_name_plural = _("调解案件")
        ordering = ["-accepted_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in MediationStatus]),
                name="mediation_status_valid",
            ),
        ]
        indexes = [
            # 调解成功率 by conclusion date (dashboard mediation fast path).
            models.Index(
                fields=["concluded_at"],
                include=["area_code", "status"],
                condition=Q(concluded_at__isnull=False),
                name="mediation_concluded_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.case_no

    def can(self, action: str) -> bool:
        allowed, _to = MEDIATION_TRANSITIONS[action]
        return self.status in allowed


class MediationParty(models.Model):
    class Role(models.TextChoices):
        APPLICANT = "applicant", _("申请人")
        RESPONDENT = "respondent", _("被申请人")

    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(_("身份"), max_length=10, choices=Role.choices)
    name = models.CharField(_("姓名/名称"), max_length=100)
    # Encrypted at rest (accounts/fields.py), shown masked by default.
    phone = EncryptedCharField(_("电话"), max_length=20, blank=True)
    address = models.CharField(_("住址"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")


class MediationSession(models.Model):
    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="sessions")
    held_at = models.DateTimeField(_("调解时间"))
    place = models.CharField(_("地点"), max_length=100)
    attendees = models.TextField(_("参加人员"))
    notes = models.TextField(_("调解记录"), blank=True)

    class Meta:
        verbose_name = _("调解记录")
        verbose_name_plural = _("调解记录")
        ordering = ["held_at"]


class Agreement(models.Model):
    """调解协议: written (effective when every party has signed and the committee sealed,
    第二十九条) or oral (effective the day it is reached, recorded by the mediator, 第三十条)."""

    class Form(models.TextChoices):
        WRITTEN = "written", _("书面协议")
        ORAL = "oral", _("口头协议")

    case = models.OneToOneField(MediationCase, on_delete=models.CASCADE, related_name="agreement")
    form = models.CharField(_("协议形式"), max_length=10, choices=Form.choices)
    facts = models.TextField(_("纠纷主要事实与争议事项"))
    terms = models.TextField(_("协议内容"))
    performance_manner = models.CharField(_("履行方式"), max_length=200)
    performance_deadline = models.DateField(_("履行期限"), null=True, blank=True)
    reached_at = models.DateTimeField(_("达成时间"))
    # Parties who have signed (written form): names, as on the agreement.
    signed_by = models.JSONField(_("已签名当事人"), default=list, blank=True)
    sealed_at = models.DateTimeField(_("盖章时间"), null=True, blank=True)
    effective_at = models.DateTimeField(_("生效时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("调解协议")
        verbose_name_plural = _("调解协议")
        constraints = [
            models.CheckConstraint(
                condition=~Q(form="oral") | Q(effective_at__isnull=False),
                name="agreement_oral_effective_at_once",
            ),
        ]


class FollowUpVisit(models.Model):
    class Performance(models.TextChoices):
        FULL = "full", _("已履行")
        PARTIAL = "partial", _("部分履行")
        NONE = "none", _("未履行")

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="follow_ups")
    visited_at = models.DateTimeField(_("回访时间"))
    performance = models.CharField(_("履行情况"), max_length=10, choices=Performance.choices)
    notes = models.TextField(_("回访情况"), blank=True)
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["visited_at"]
        indexes = [
            # 协议履行率 by follow-up date (dashboard agreements fast path).
            models.Index(
                fields=["visited_at"],
                include=["agreement", "performance"],
                name="followupvisit_visited_cover",
            ),
        ]


class JudicialConfirmation(models.Model):
    """司法确认 (第三十三条): joint application within 30 days of the agreement taking effect."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("审查中")
        CONFIRMED = "confirmed", _("确认有效")
        REJECTED = "rejected", _("不予确认")

    agreement = models.OneToOneField(
        Agreement, on_delete=models.CASCADE, related_name="confirmation"
    )
    applied_at = models.DateField(_("申请日期"))
    court = models.CharField(_("人民法院"), max_length=100)
    decision = models.CharField(
        _("结果"), max_length=10, choices=Decision.choices, default="pending"
    )
    decided_at = models.DateField(_("裁定日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("司法确认")
        verbose_name_plural = _("司法确认")


class MediationEvent(models.Model):
    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)
    action = models.CharField(_("操作"), max_length=30)
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["action", "at"], name="mediationevent_action_at"),
            # The statistics' "anything written after as_of?" check (engine.last_write), audit.
            models.Index(fields=["recorded_at"], name="mediationevent_recorded_at"),
        ]
