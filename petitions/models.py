"""Petitions (信访事项) and the records around them, after 《信访工作条例》(2022).

Status changes only through petitions.services (one function per step); the allowed transitions
are the explicit map TRANSITIONS below, next to the status choices. Every step writes a
PetitionEvent in the same transaction — the event log is the history, the audit trail and the
source for as-of statistics.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.functions import Left
from django.utils.translation import gettext_lazy as _

from accounts.crypto import phone_digits
from accounts.fields import BlindIndexField, EncryptedCharField
from config.choices import CachedChoiceLabels
from petitions.validators import normalize_id_number

# The area levels whose cases of a period an index holds as one range, by the length of their code
# (grid's CODE_LENGTHS): Petition's petition_<level>_received indexes lead with
# `left(area_code, length)`, and the statistics' intake family reads a district's or a street's
# cases by that expression (dashboard.stats Family.prefix_indexes, engine.area_q; issue #9).
AREA_PREFIX_LENGTHS = {"district": 6, "street": 9}

SRID = 4326


class Organization(CachedChoiceLabels, models.Model):
    """A street office, handling unit (承办单位), mediation committee, the bureau, or an outside body."""

    class Kind(models.TextChoices):
        BUREAU = "bureau", _("区信访局")
        STREET_OFFICE = "street_office", _("街道办事处")
        COMMUNITY = "community", _("社区居委会")
        HANDLING_UNIT = "handling_unit", _("承办单位")
        COMMITTEE = "committee", _("人民调解委员会")
        DISCIPLINE = "discipline", _("纪检监察机关")
        EXTERNAL = "external", _("其他机关")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    # The area an office serves (street/community code); empty for district-wide units.
    area_code = models.CharField(_("辖区代码"), max_length=15, blank=True)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("负责人"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "bureau",
                        "street_office",
                        "community",
                        "handling_unit",
                        "committee",
                        "discipline",
                        "external",
                    ]
                ),
                name="organization_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """Two-level petition taxonomy (问题分类)."""

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级分类"),
    )
    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    # Shown to the public (Open311 services); accusations are never public.
    is_public = models.BooleanField(_("对外公开"), default=True)
    sort = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("问题分类")
        verbose_name_plural = _("问题分类")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.label(self.name, self.parent.name if self.parent_id else None)

    @staticmethod
    def label(name: str, parent_name: str | None) -> str:
        """How a category is named everywhere: "parent / name", or its name at the top level.
        Lists that read the two names as values (no instances) call this too."""
        return name if parent_name is None else f"{parent_name} / {name}"


class ReceiptCounter(models.Model):
    """Gap-free receipt numbers: the counter row is locked and bumped inside the registering
    transaction, so a rolled-back registration gives its number back."""

    district_code = models.CharField(max_length=6)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district_code", "year"], name="receipt_counter_unique")
        ]


class Status(models.TextChoices):
    REGISTERED = "registered", _("已登记")
    HANDLING = "handling", _("办理中")
    OBJECTED = "objected", _("异议待核")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    REPLIED = "replied", _("已答复")
    REVIEW_REQUESTED = "review_requested", _("复查中")
    REVIEWED = "reviewed", _("已复查")
    REREVIEW_REQUESTED = "rereview_requested", _("复核中")
    CLOSED = "closed", _("已办结")


_OPEN = frozenset(
    {
        Status.REGISTERED,
        Status.HANDLING,
        Status.OBJECTED,
        Status.REVIEW_REQUESTED,
        Status.REREVIEW_REQUESTED,
    }
)

# The one allowed-transition map: action → (from statuses, to status). None keeps the status.
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "route_accept": (frozenset({Status.REGISTERED}), Status.HANDLING),
    "route_forward": (frozenset({Status.REGISTERED}), Status.HANDLING),
    "route_assign": (frozenset({Status.REGISTERED}), Status.HANDLING),
    "route_reject": (frozenset({Status.REGISTERED}), Status.NOT_ACCEPTED),
    "notify": (frozenset({Status.REGISTERED, Status.HANDLING, Status.NOT_ACCEPTED}), None),
    "object": (frozenset({Status.HANDLING}), Status.OBJECTED),
    "objection_uphold": (frozenset({Status.OBJECTED}), Status.REGISTERED),
    "objection_dismiss": (frozenset({Status.OBJECTED}), Status.HANDLING),
    "assign_handler": (frozenset({Status.HANDLING}), None),
    "note": (frozenset(set(Status) - {Status.CLOSED}), None),
    "extend": (frozenset({Status.HANDLING}), None),
    "reply": (frozenset({Status.HANDLING}), Status.REPLIED),
    "evaluate": (frozenset({Status.REPLIED, Status.CLOSED, Status.REVIEWED}), None),
    "review_request": (frozenset({Status.REPLIED, Status.CLOSED}), Status.REVIEW_REQUESTED),
    "review_answer": (frozenset({Status.REVIEW_REQUESTED}), Status.REVIEWED),
    "rereview_request": (frozenset({Status.REVIEWED, Status.CLOSED}), Status.REREVIEW_REQUESTED),
    "hearing": (frozenset({Status.REREVIEW_REQUESTED}), None),
    "rereview_answer": (frozenset({Status.REREVIEW_REQUESTED}), Status.CLOSED),
    "close": (frozenset({Status.REPLIED, Status.REVIEWED}), Status.CLOSED),
    "supervise": (frozenset(set(Status) - {Status.CLOSED, Status.NOT_ACCEPTED}), None),
    "link_repeat": (frozenset(set(Status)), None),
    "relocate": (frozenset(set(Status)), None),
    "attach": (frozenset(set(Status)), None),
    # Written by the deadline sweep: a reminder the day before, an escalation when overdue.
    "remind": (_OPEN, None),
    "escalate": (_OPEN, None),
}


class Petition(CachedChoiceLabels, models.Model):
    """One petition matter (信访事项)."""

    class Channel(models.TextChoices):
        LETTER = "letter", _("来信")
        VISIT = "visit", _("来访")
        ONLINE = "online", _("网上信访")
        PHONE = "phone", _("电话")
        FAX = "fax", _("传真")

    class Source(models.TextChoices):
        OWN = "own", _("本级受理")
        LEADER_RECEPTION = "leader_reception", _("领导接访")
        HIGHER_LEVEL = "higher_level", _("上级转送交办")
        HOTLINE = "hotline", _("12345热线转办")

    class CaseType(models.TextChoices):
        SUGGESTION = "suggestion", _("建议意见类")
        ACCUSATION = "accusation", _("检举控告类")
        APPEAL = "appeal", _("申诉求决类")

    class Routing(models.TextChoices):
        ACCEPT = "accept", _("受理")
        FORWARD = "forward", _("转送")
        ASSIGN = "assign", _("交办")
        REJECT = "reject", _("不予受理")

    class Outcome(models.TextChoices):
        SUPPORT = "support", _("支持")
        EXPLAIN = "explain", _("解释说明")
        REJECT = "reject", _("不予支持")

    class Evaluation(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASIC = "basic", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")

    Status = Status

    receipt_no = models.CharField(_("信访编号"), max_length=30, unique=True)
    district_code = models.CharField(_("区代码"), max_length=6)
    year = models.PositiveIntegerField(_("年度"))
    seq = models.PositiveIntegerField(_("序号"))
    query_code_hash = models.CharField(_("查询码（散列）"), max_length=128)

    channel = models.CharField(_("信访形式"), max_length=10, choices=Channel.choices)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices, default="own")
    received_at = models.DateTimeField(_("收到时间"))
    case_type = models.CharField(_("事项类型"), max_length=12, choices=CaseType.choices)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="petitions", verbose_name=_("问题分类")
    )
    summary = models.CharField(_("概要"), max_length=200)
    content = models.TextField(_("内容"), blank=True)
    # Name or address unknown: no written notice can be sent (第二十三条).
    anonymous = models.BooleanField(_("姓名住址不清"), default=False)

    location = models.PointField(_("位置"), srid=SRID, null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    cell = models.ForeignKey(
        "grid.GridCell",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="petitions",
        verbose_name=_("网格"),
    )
    cell_override_reason = models.CharField(_("手动指定网格理由"), max_length=200, blank=True)
    # The most specific area known (cell code, else the registering office's area): the key for
    # jurisdiction filtering and roll-ups — "below" an area is "code starts with its code".
    area_code = models.CharField(_("所属区域代码"), max_length=15, db_index=True)
    registered_by_org = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="registered_petitions",
        verbose_name=_("登记单位"),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("登记人"),
    )

    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.REGISTERED
    )
    routing = models.CharField(_("处理方式"), max_length=10, choices=Routing.choices, blank=True)
    routing_reason = models.TextField(_("处理意见/理由"), blank=True)
    handling_unit = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_petitions",
        verbose_name=_("承办单位"),
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("承办人"),
    )

    # Statutory due dates (local dates in Asia/Shanghai, inclusive), computed by petitions.deadlines.
    route_due = models.DateField(_("受理期限"))
    notify_due = models.DateField(_("告知期限"), null=True, blank=True)
    objection_due = models.DateField(_("异议期限"), null=True, blank=True)
    handle_due = models.DateField(_("办理期限"), null=True, blank=True)
    review_request_due = models.DateField(_("复查申请期限"), null=True, blank=True)
    review_due = models.DateField(_("复查答复期限"), null=True, blank=True)
    rereview_request_due = models.DateField(_("复核申请期限"), null=True, blank=True)
    rereview_due = models.DateField(_("复核答复期限"), null=True, blank=True)

    routed_at = models.DateTimeField(_("受理/转送时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    notified_at = models.DateTimeField(_("告知时间"), null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("延期天数"), default=0)
    extension_reason = models.TextField(_("延期理由"), blank=True)
    extension_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("延期批准人"),
    )
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    outcome = models.CharField(_("处理意见"), max_length=10, choices=Outcome.choices, blank=True)
    reply_text = models.TextField(_("答复内容"), blank=True)
    review_requested_at = models.DateTimeField(_("复查申请时间"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("复查答复时间"), null=True, blank=True)
    review_outcome = models.CharField(
        _("复查意见"), max_length=10, choices=Outcome.choices, blank=True
    )
    rereview_requested_at = models.DateTimeField(_("复核申请时间"), null=True, blank=True)
    hearing_days = models.PositiveSmallIntegerField(_("听证天数"), default=0)
    rereviewed_at = models.DateTimeField(_("复核答复时间"), null=True, blank=True)
    rereview_outcome = models.CharField(
        _("复核意见"), max_length=10, choices=Outcome.choices, blank=True
    )
    is_final = models.BooleanField(_("已终结"), default=False)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    evaluation = models.CharField(_("评价"), max_length=12, choices=Evaluation.choices, blank=True)
    evaluated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    # Idempotency of intake: a double submit carries the same token and yields one case.
    intake_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("信访事项")
        verbose_name_plural = _("信访事项")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="petition_status_valid"
            ),
            models.UniqueConstraint(
                fields=["district_code", "year", "seq"], name="petition_receipt_seq_unique"
            ),
            models.CheckConstraint(
                condition=Q(extension_days__lte=30), name="petition_extension_max_30"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "route_due"], name="petition_status_route_due"),
            models.Index(fields=["status", "handle_due"], name="petition_status_handle_due"),
            # 信访总量 by period and area (dashboard intake family, the choropleth) and 及时受理率
            # (routing family: received 15 days before the period): index-only scans.
            models.Index(
                fields=["received_at"],
                include=["area_code", "created_at", "route_due", "routed_at"],
                name="petition_received_at",
            ),
            # 结案率 cohort by acceptance date, current state (dashboard closure fast path).
            models.Index(
                fields=["accepted_at"],
                include=["area_code", "status", "created_at"],
                condition=Q(accepted_at__isnull=False),
                name="petition_accepted_cover",
            ),
            # 按期办结率: from the period's closing events to their petitions' area and deadline
            # by an index-only nested loop (else a scan of every petition, 2–3× slower).
            models.Index(
                fields=["id"], include=["area_code", "handle_due"], name="petition_id_area_cover"
            ),
            # The case list filtered by status within an area (petitions.views.petition_index:
            # `status IN (…) AND area_code LIKE '<street>%'`, its page and its COUNT(*)): an
            # index range instead of ANDing the status index (every case in that status in the
            # city) with the area index — 11 → 0.3 ms for the count at 1,000,000 cases (issue #9).
            # received_at and id covered: the page's ids in list order by an index-only scan
            # (config.pagination.page_by_ids): the page 22.8 → 2.8 ms at 5,000,000 cases.
            models.Index(
                fields=["status", "area_code"],
                opclasses=["varchar_ops", "varchar_pattern_ops"],
                include=["received_at", "id"],
                name="petition_status_area",
            ),
            # A figure's records in an area and period (dashboard drill-down, report_records:
            # `area_code LIKE '<area>%' AND received_at in the month`, page and COUNT(*)), also a
            # case list filtered by area and received date: 9 → 1.4 ms for the count.
            models.Index(
                fields=["area_code", "received_at"],
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
                name="petition_area_received",
            ),
            # 信访总量 in a district or a street (dashboard.stats families with prefix_indexes,
            # engine.area_q: `left(area_code, 6 or 9) = '<code>' AND received_at in the period`):
            # the drill-down's page and count, the area's report and map. An area's month is one
            # range of its index, in the drill-down's order. petition_area_received holds a
            # street's every month before its dates, petition_received_at the city's month;
            # with `LIKE` PostgreSQL read the one or walked the other by its estimate of the
            # area's share. At 5,000,000 cases (issue #9), a street's month (3,204 rows): page
            # 11–15 ms warm, 168 ms cold → 0.1–0.8 ms, count 3.9 → 0.9 ms, counts by community
            # 4.7 → 1.2 ms; a district's month (21,497 rows): count 28–39 → 4–5 ms, counts by
            # street 39 → 8 ms, page 0.6 ms. area_code covered: index-only counts and buckets.
            *[
                models.Index(
                    Left("area_code", length),
                    "received_at",
                    "id",
                    include=["area_code"],
                    name=f"petition_{level}_received",
                )
                for level, length in AREA_PREFIX_LENGTHS.items()
            ],
            # 满意率 by evaluation date (dashboard evaluation fast path).
            models.Index(
                fields=["evaluated_at"],
                include=["area_code", "evaluation"],
                condition=Q(evaluated_at__isnull=False),
                name="petition_evaluated_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.receipt_no

    def can(self, action: str) -> bool:
        """Whether the transition map allows `action` from the current status."""
        allowed, _to = TRANSITIONS[action]
        return self.status in allowed

    @property
    def is_confidential(self) -> bool:
        """检举控告 cases are never public and never shown beyond "received"."""
        return self.case_type == self.CaseType.ACCUSATION


class Petitioner(models.Model):
    """A petitioner of one petition. All personal data lives here, in one place."""

    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="petitioners", verbose_name=_("信访事项")
    )
    name = models.CharField(_("姓名"), max_length=50)
    # Encrypted at rest (accounts/fields.py); shown masked (petitions/masking.py) unless revealed
    # through accounts.services.personal_data_reveal, which writes an access-log row.
    id_number = EncryptedCharField(_("身份证号"), max_length=18, blank=True)
    # Keyed hashes (blind index) for exact-match search and repeat detection, kept in step with
    # the value on every save (petitions/selectors_people.py searches them).
    id_hash = BlindIndexField(source="id_number", purpose="id", normalize=normalize_id_number)
    phone = EncryptedCharField(_("电话"), max_length=20, blank=True)
    phone_hash = BlindIndexField(source="phone", purpose="phone", normalize=phone_digits)
    address = models.CharField(_("住址"), max_length=200, blank=True)
    is_representative = models.BooleanField(_("代表"), default=False)

    class Meta:
        verbose_name = _("信访人")
        verbose_name_plural = _("信访人")

    def __str__(self) -> str:
        return self.name


class PetitionEvent(models.Model):
    """One step of a petition: who, when, from, to, and the step's data."""

    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="events", verbose_name=_("信访事项")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("操作人"),
    )
    # When the step took effect (business time) …
    at = models.DateTimeField(_("时间"))
    # … and when it was written: as-of reports count only what was recorded by their date.
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)
    action = models.CharField(_("操作"), max_length=30)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, blank=True)
    payload = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["action", "at"], name="petitionevent_action_at"),
            # The statistics' "anything written after as_of?" check (engine.last_write), audit.
            models.Index(fields=["recorded_at"], name="petitionevent_recorded_at"),
            # 按期办结率: the closing events of a period (dashboard on_time family).
            models.Index(
                fields=["at"],
                include=["petition"],
                condition=Q(action__in=["close", "rereview_answer"]),
                name="petitionevent_closing_at",
            ),
        ]


class RepeatSubmission(models.Model):
    """A new letter/visit about a matter already accepted and within its deadline (重复信访):
    linked to the existing case, counted as a repeat, not a new case."""

    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="repeats", verbose_name=_("原信访事项")
    )
    received_at = models.DateTimeField(_("收到时间"))
    channel = models.CharField(_("信访形式"), max_length=10, choices=Petition.Channel.choices)
    summary = models.CharField(_("概要"), max_length=200, blank=True)
    area_code = models.CharField(_("所属区域代码"), max_length=15, db_index=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("重复信访")
        verbose_name_plural = _("重复信访")
        ordering = ["-received_at"]
        indexes = [
            # 重复信访 by period and area (dashboard repeats family): index-only.
            models.Index(
                fields=["received_at"],
                include=["area_code", "created_at"],
                name="repeat_received_cover",
            ),
        ]


class Document(models.Model):
    """A generated notice (告知书/意见书), kept with the event that produced it."""

    class Kind(models.TextChoices):
        ACCEPT_NOTICE = "accept_notice", _("受理告知书")
        REJECT_NOTICE = "reject_notice", _("不予受理告知书")
        FORWARD_NOTICE = "forward_notice", _("转送告知书")
        EXTENSION_NOTICE = "extension_notice", _("延期告知书")
        OPINION = "opinion", _("处理意见书")
        REVIEW_OPINION = "review_opinion", _("复查意见书")
        REREVIEW_OPINION = "rereview_opinion", _("复核意见书")

    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="documents", verbose_name=_("信访事项")
    )
    event = models.ForeignKey(
        PetitionEvent, null=True, on_delete=models.SET_NULL, related_name="documents"
    )
    kind = models.CharField(_("文书类型"), max_length=20, choices=Kind.choices)
    html = models.TextField(_("文书内容"))
    pdf = models.FileField(_("PDF"), upload_to="documents/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("文书")
        verbose_name_plural = _("文书")
        ordering = ["created_at"]


class DocumentTemplate(models.Model):
    """Editable template of a notice (Django template syntax, rendered with the petition)."""

    kind = models.CharField(
        _("文书类型"), max_length=20, choices=Document.Kind.choices, unique=True
    )
    title = models.CharField(_("标题"), max_length=50)
    body = models.TextField(_("正文模板"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("文书模板")
        verbose_name_plural = _("文书模板")

    def __str__(self) -> str:
        return self.title


class Attachment(models.Model):
    class Kind(models.TextChoices):
        LETTER = "letter", _("来信原件")
        EVIDENCE = "evidence", _("证据材料")
        PHOTO = "photo", _("照片")
        OTHER = "other", _("其他")

    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("信访事项")
    )
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default="other")
    file = models.FileField(_("文件"), upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")


class SupervisionOrder(models.Model):
    """督办: opened by the bureau, or automatically a day before due (reminder) and when overdue."""

    class Kind(models.TextChoices):
        MANUAL = "manual", _("人工督办")
        REMINDER = "reminder", _("到期提醒")
        ESCALATION = "escalation", _("超期督办")

    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="supervisions", verbose_name=_("信访事项")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    deadline = models.CharField(_("所涉期限"), max_length=30, blank=True)
    due_date = models.DateField(_("期限日期"), null=True, blank=True)
    reason = models.TextField(_("督办事由"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(_("督办时间"))
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        constraints = [
            # One automatic reminder/escalation per deadline and due date (sweeps may race).
            models.UniqueConstraint(
                fields=["petition", "kind", "deadline", "due_date"],
                condition=~Q(kind="manual"),
                name="supervision_auto_once",
            )
        ]


class ReceptionDay(models.Model):
    """领导接访日: a leader receives visitors on a date at a place."""

    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("接访领导"),
    )
    leader_title = models.CharField(_("领导职务"), max_length=50, blank=True)
    date = models.DateField(_("接访日期"))
    place = models.CharField(_("地点"), max_length=100)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, verbose_name=_("组织单位")
    )
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("领导接访日")
        verbose_name_plural = _("领导接访日")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} {self.place}"


class Visit(models.Model):
    """来访登记: one batch (批次) of visitors."""

    received_at = models.DateTimeField(_("来访时间"))
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, verbose_name=_("接待单位")
    )
    area_code = models.CharField(_("所属区域代码"), max_length=15, db_index=True)
    headcount = models.PositiveIntegerField(_("人数"))
    # Names of the (at most 5) representatives of a group visit (第二十条).
    representatives = models.JSONField(_("代表"), default=list, blank=True)
    reception_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("接待人"),
    )
    reception_day = models.ForeignKey(
        ReceptionDay,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
        verbose_name=_("领导接访日"),
    )
    petitions = models.ManyToManyField(
        Petition, blank=True, related_name="visits", verbose_name=_("相关信访事项")
    )
    answered_on_spot = models.BooleanField(_("当场答复"), default=False)
    resolved = models.BooleanField(_("结案息访"), default=False)
    notes = models.TextField(_("备注"), blank=True)
    # When the visit was logged: as-of reports leave out visits logged after their date.
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("来访登记")
        verbose_name_plural = _("来访登记")
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(headcount__gte=1), name="visit_headcount_min")
        ]
        indexes = [
            # 来访批次/人次 by period and area (dashboard visits family): index-only.
            models.Index(
                fields=["received_at"],
                include=["area_code", "headcount", "created_at"],
                name="visit_received_cover",
            ),
        ]

    @property
    def is_group(self) -> bool:
        """集体访: headcount ≥ 5 (SPEC §5)."""
        return self.headcount >= 5


class CalendarDay(models.Model):
    """Exceptions to the Monday–Friday week: public holidays and adjusted working days (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日")
        WORKDAY = "workday", _("调休上班")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=30)

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
