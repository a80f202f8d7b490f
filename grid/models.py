"""The spatial hierarchy: district → street → community → grid cell, versioned by generation.

Codes follow SPEC §2: 6 / 9 / 12 / 15 digits, each prefixed by its parent's code. Formats, parent
prefixes and per-generation uniqueness are database constraints. The parent's code is kept beside
the foreign key (`parent_code`) so that a CHECK can compare the two, and migration 0002 ties
(parent id, generation, parent_code) to the parent's (id, generation, code): a composite foreign
key on PostgreSQL, triggers on SQLite.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.history import ChangeHistory, area_history

SRID = 4326


class Generation(models.Model):
    """A versioned boundary set (after MapIt): imports land in a draft, validated, then activated."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        ACTIVE = "active", _("生效")
        RETIRED = "retired", _("已停用")

    name = models.CharField(_("名称"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    # Generated demo geometry (not real boundaries): the map says so.
    is_demo = models.BooleanField(_("演示几何"), default=False)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    activated_at = models.DateTimeField(_("生效时间"), null=True, blank=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    history = ChangeHistory()

    class Meta:
        verbose_name = _("边界版本")
        verbose_name_plural = _("边界版本")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "active", "retired"]),
                name="generation_status_valid",
            ),
            # Exactly one active generation at a time.
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="generation_one_active"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(activated_at__isnull=False),
                name="generation_activated_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class GenerationEvent(models.Model):
    """Audit row for generation life-cycle actions (activation, forced activation, retirement)."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    action = models.CharField(_("操作"), max_length=30)
    forced = models.BooleanField(_("强制"), default=False)
    reason = models.TextField(_("理由"), blank=True)
    payload = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("版本操作记录")
        verbose_name_plural = _("版本操作记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        forced = _("（强制）") if self.forced else ""
        return f"{self.generation_id} · {self.action}{forced} · {self.at:%Y-%m-%d %H:%M}"


class Area(models.Model):
    """Fields shared by every level of the hierarchy."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, verbose_name=_("版本"))
    code = models.CharField(_("代码"), max_length=15)
    name = models.CharField(_("名称"), max_length=100)
    geom = models.MultiPolygonField(_("边界"), srid=SRID)
    # A simplified copy made at import, for low-zoom map layers (simplifying per request cost 14×).
    geom_simple = models.MultiPolygonField(_("简化边界"), srid=SRID, null=True, blank=True)
    area_m2 = models.FloatField(_("面积（平方米）"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


def code_constraints(prefix: str, length: int) -> list:
    """Constraints on a level's code: digits of the right length, unique per generation, and
    (below the district) extending the parent's code by exactly three digits."""
    found = [
        models.CheckConstraint(
            condition=Q(code__regex=rf"^[0-9]{{{length}}}$"), name=f"{prefix}_code_format"
        ),
        models.UniqueConstraint(fields=["generation", "code"], name=f"{prefix}_code_unique"),
        # Target of the children's composite foreign key (id, generation, code).
        models.UniqueConstraint(
            fields=["id", "generation", "code"], name=f"{prefix}_id_generation_code"
        ),
    ]
    if length > 6:
        found.append(
            models.CheckConstraint(
                condition=Q(parent_code__regex=rf"^[0-9]{{{length - 3}}}$")
                & Q(code__startswith=F("parent_code")),
                name=f"{prefix}_code_extends_parent",
            )
        )
    return found


class District(Area):
    history = area_history()

    class Meta(Area.Meta):
        verbose_name = _("区")
        verbose_name_plural = _("区")
        constraints = code_constraints("district", 6)


class Street(Area):
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, related_name="streets", verbose_name=_("区")
    )
    parent_code = models.CharField(_("上级代码"), max_length=15)

    history = area_history()

    class Meta(Area.Meta):
        verbose_name = _("街道")
        verbose_name_plural = _("街道")
        constraints = code_constraints("street", 9)


class Community(Area):
    street = models.ForeignKey(
        Street, on_delete=models.CASCADE, related_name="communities", verbose_name=_("街道")
    )
    parent_code = models.CharField(_("上级代码"), max_length=15)

    history = area_history()

    class Meta(Area.Meta):
        verbose_name = _("社区")
        verbose_name_plural = _("社区")
        constraints = code_constraints("community", 12)


class GridCell(Area):
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="cells", verbose_name=_("社区")
    )
    parent_code = models.CharField(_("上级代码"), max_length=15)
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    residents = models.PositiveIntegerField(_("人口"), null=True, blank=True)

    history = area_history()

    class Meta(Area.Meta):
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        constraints = code_constraints("gridcell", 15)


class GridAssignment(models.Model):
    """A grid worker's assignment to a cell; a cell has at most one lead worker."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="grid_assignments",
        verbose_name=_("网格员"),
    )
    cell = models.ForeignKey(
        GridCell, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("网格")
    )
    is_lead = models.BooleanField(_("专职网格长"), default=False)
    assigned_at = models.DateTimeField(_("分配时间"), auto_now_add=True)

    history = ChangeHistory()

    class Meta:
        verbose_name = _("网格分配")
        verbose_name_plural = _("网格分配")
        constraints = [
            models.UniqueConstraint(fields=["user", "cell"], name="gridassignment_unique"),
            models.UniqueConstraint(
                fields=["cell"], condition=Q(is_lead=True), name="gridassignment_one_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.cell.code}"


class ValidationReport(models.Model):
    """The findings of one boundary import or re-validation of a generation."""

    # Empty for a dry run that would have created a new generation.
    generation = models.ForeignKey(
        Generation,
        on_delete=models.CASCADE,
        related_name="reports",
        verbose_name=_("版本"),
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    level = models.CharField(_("层级"), max_length=12, blank=True)
    source = models.CharField(_("来源"), max_length=300, blank=True)
    committed = models.BooleanField(_("已写入"), default=False)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    warning_count = models.PositiveIntegerField(_("警告数"), default=0)
    # [{"rule": "...", "level": "error"|"warning", "code": "...", "message": "...", "area_m2": ...}]
    findings = models.JSONField(_("问题"), default=list, blank=True)

    class Meta:
        verbose_name = _("校验报告")
        verbose_name_plural = _("校验报告")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.generation} · {self.created_at:%Y-%m-%d %H:%M}"
