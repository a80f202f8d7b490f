"""Imports of historical petition ledgers (信访台账): the upload and its runs, the per-row error
report, and one row per imported ledger line — the idempotency key of re-runs.

Status changes only through ledger.services. The uploaded file holds personal data in clear text:
it is deleted once the commit run has finished (ledger.services.ledger_commit_run).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedCharField


class LedgerImport(models.Model):
    """One uploaded ledger file, its column mapping and the progress of its dry run or commit."""

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel（.xlsx）")
        CSV = "csv", _("CSV")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("已上传")
        MAPPED = "mapped", _("已对应列")
        DRY_RUN_DONE = "dry_run_done", _("已试导入")
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    class Phase(models.TextChoices):
        DRY_RUN = "dry_run", _("试导入")
        COMMIT = "commit", _("正式导入")

    class Crs(models.TextChoices):
        WGS84 = "wgs84", _("WGS-84（GPS）")
        GCJ02 = "gcj02", _("GCJ-02（高德、腾讯）")
        BD09 = "bd09", _("BD-09（百度）")

    organization = models.ForeignKey(
        "petitions.Organization",
        on_delete=models.PROTECT,
        related_name="ledger_imports",
        verbose_name=_("导入单位"),
    )
    file = models.FileField(_("文件"), upload_to="ledger/%Y/%m/", blank=True)
    original_name = models.CharField(_("原文件名"), max_length=200)
    format = models.CharField(_("格式"), max_length=4, choices=Format.choices)
    # CSV only: the detected text encoding (utf-8-sig, utf-8, gb18030, utf-16) and delimiter.
    encoding = models.CharField(_("编码"), max_length=20, blank=True)
    delimiter = models.CharField(_("分隔符"), max_length=1, blank=True)
    header_row = models.PositiveIntegerField(_("表头所在行"), default=1)
    headers = models.JSONField(_("表头"), default=list, blank=True)
    # Our field → the column header it is read from (ledger.rows.FIELDS).
    mapping = models.JSONField(_("列对应"), default=dict, blank=True)
    crs = models.CharField(_("坐标系"), max_length=5, choices=Crs.choices, default=Crs.WGS84)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.UPLOADED
    )
    phase = models.CharField(_("阶段"), max_length=7, choices=Phase.choices, blank=True)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    # Dry run: rows that would be created; commit: rows created.
    created_count = models.PositiveIntegerField(_("新建"), default=0)
    skipped_count = models.PositiveIntegerField(_("已存在跳过"), default=0)
    error_count = models.PositiveIntegerField(_("错误"), default=0)
    failure = models.TextField(_("失败原因"), blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("心跳时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("上传人"),
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("台账导入")
        verbose_name_plural = _("台账导入")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["uploaded", "mapped", "dry_run_done", "running", "done", "failed"]
                ),
                name="ledgerimport_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(format__in=["xlsx", "csv"]), name="ledgerimport_format_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="ledgerimport_status_beat"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (self.Status.DONE, self.Status.DRY_RUN_DONE) else 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class LedgerRowError(models.Model):
    """One problem with one ledger row: row number as the spreadsheet shows it, our field, the
    reason in Chinese, and the raw value (encrypted: it may be an identity number)."""

    ledger_import = models.ForeignKey(
        LedgerImport, on_delete=models.CASCADE, related_name="row_errors", verbose_name=_("导入")
    )
    phase = models.CharField(_("阶段"), max_length=7, choices=LedgerImport.Phase.choices)
    row_number = models.PositiveIntegerField(_("行号"))
    field = models.CharField(_("字段"), max_length=20, blank=True)
    reason = models.CharField(_("原因"), max_length=300)
    raw_value = EncryptedCharField(_("原值"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("台账行错误")
        verbose_name_plural = _("台账行错误")
        ordering = ["row_number", "pk"]
        indexes = [
            models.Index(fields=["ledger_import", "phase", "row_number"], name="ledgerrowerror_row")
        ]

    def __str__(self) -> str:
        return f"{self.row_number} {self.field}: {self.reason}"


class LedgerRow(models.Model):
    """A ledger line already imported: its external reference is unique per importing office, so
    re-running a file (or a resumed run) never registers the same line twice."""

    ledger_import = models.ForeignKey(
        LedgerImport, on_delete=models.CASCADE, related_name="rows", verbose_name=_("导入")
    )
    organization = models.ForeignKey(
        "petitions.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("导入单位"),
    )
    external_ref = models.CharField(_("原编号"), max_length=100)
    row_number = models.PositiveIntegerField(_("行号"))
    petition = models.ForeignKey(
        "petitions.Petition",
        on_delete=models.CASCADE,
        related_name="ledger_rows",
        verbose_name=_("信访事项"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("已导入台账行")
        verbose_name_plural = _("已导入台账行")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_ref"], name="ledgerrow_ref_unique"
            )
        ]

    def __str__(self) -> str:
        return self.external_ref
