"""Frozen monthly reports (SPEC §5 "as-of reports")."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ReportSnapshot(models.Model):
    """The official figures of one area for one period, frozen at the period's close.

    A frozen report is never recomputed in place: late corrections show up as differences
    between this row and a fresh as-of run (dashboard.services.snapshot_compare).
    """

    period_start = models.DateField(_("统计期起"))
    period_end = models.DateField(_("统计期止"))
    area_code = models.CharField(_("区域代码"), max_length=15)
    area_name = models.CharField(_("区域名称"), max_length=100, blank=True)
    # The boundary generation whose residents were used (per 1,000 residents).
    generation = models.ForeignKey(
        "grid.Generation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("边界版本"),
    )
    # What the report counts: everything written up to `as_of` …
    as_of = models.DateTimeField(_("数据截至"))
    # … and when the snapshot was taken.
    generated_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    # {figure key: Figure.to_dict() without the filter}
    figures = models.JSONField(_("指标"), default=dict)

    class Meta:
        verbose_name = _("月报快照")
        verbose_name_plural = _("月报快照")
        ordering = ["-period_start", "area_code"]
        constraints = [
            # One official report per area and period: freezing again keeps the first.
            models.UniqueConstraint(
                fields=["period_start", "period_end", "area_code"], name="snapshot_unique"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="snapshot_period_order"
            ),
        ]
        indexes = [models.Index(fields=["area_code", "period_start"], name="snapshot_area_period")]

    def __str__(self) -> str:
        return f"{self.area_code} {self.period_start:%Y-%m-%d}..{self.period_end:%Y-%m-%d}"

    @property
    def period(self):
        from dashboard.stats import Period

        return Period(self.period_start, self.period_end)
