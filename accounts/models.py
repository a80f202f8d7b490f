"""Roles and jurisdiction grants (SPEC §6).

A staff user holds one or more grants (role, area code and/or organisation). An area grant covers
the area and everything below it: because every code extends its parent's, "below" is simply
"code starts with the grant's code", which stays true across boundary generations.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.history import ChangeHistory, register_user_history


class Role(models.TextChoices):
    ADMIN = "admin", _("系统管理员")
    BUREAU = "bureau", _("区信访局")
    STREET_CLERK = "street_clerk", _("街道信访接待员")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    GRID_WORKER = "grid_worker", _("网格员")
    MEDIATOR = "mediator", _("调解员")
    HANDLING_UNIT = "handling_unit", _("承办单位")
    LEADER = "leader", _("领导")


class Grant(models.Model):
    """One (role, area) or (role, organisation) grant of a staff user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="grants",
        verbose_name=_("用户"),
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    # District / street / community / cell code; empty for organisation-scoped roles and admins.
    area_code = models.CharField(_("辖区代码"), max_length=15, blank=True)
    organization = models.ForeignKey(
        "petitions.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name=_("所属单位"),
    )
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)
    history = ChangeHistory()

    class Meta:
        verbose_name = _("授权")
        verbose_name_plural = _("授权")
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="grant_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(area_code="") | Q(area_code__regex=r"^([0-9]{3}){2,5}$"),
                name="grant_area_code_format",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "area_code", "organization"], name="grant_unique"
            ),
        ]

    def __str__(self) -> str:
        where = self.area_code or (self.organization and self.organization.name) or "*"
        return f"{self.user} · {self.get_role_display()} · {where}"


class AuthLog(models.Model):
    """One login, logout, failed login or lockout (SPEC §7): written by accounts.audit's receivers."""

    class Action(models.TextChoices):
        LOGIN = "login", _("登录")
        LOGOUT = "logout", _("退出")
        FAILED = "failed", _("登录失败")
        LOCKOUT = "lockout", _("锁定")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("用户"),
    )
    # As typed at the login form: failed attempts often name no existing account.
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=10, choices=Action.choices)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器标识"), max_length=255, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("登录记录")
        verbose_name_plural = _("登录记录")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["action", "at"], name="authlog_action_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["login", "logout", "failed", "lockout"]),
                name="authlog_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.username} · {self.get_action_display()} · {self.at:%Y-%m-%d %H:%M}"


class AccessLog(models.Model):
    """One sensitive read (SPEC §7): a reveal of personal data, an export or a document download.

    Written by accounts.services.access_log_record only; a reveal must say why.
    """

    class Action(models.TextChoices):
        REVEAL = "reveal", _("查看完整个人信息")
        EXPORT = "export", _("导出")
        DOCUMENT_DOWNLOAD = "document_download", _("下载文书")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("用户"),
    )
    # Kept when the account is deleted: the log must still say who it was.
    username = models.CharField(_("用户名"), max_length=150)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    # What was read: an object (content type + id) and/or a label (receipt number, export name).
    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("对象类型"),
    )
    object_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    label = models.CharField(_("内容"), max_length=200, blank=True)
    # Which fields or filters, how many rows: never the personal data itself.
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    reason = models.CharField(_("事由"), max_length=500, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("敏感信息访问记录")
        verbose_name_plural = _("敏感信息访问记录")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["action", "at"], name="accesslog_action_at"),
            models.Index(fields=["content_type", "object_id"], name="accesslog_object"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["reveal", "export", "document_download"]),
                name="accesslog_action_valid",
            ),
            models.CheckConstraint(
                condition=~Q(action="reveal") | ~Q(reason=""), name="accesslog_reveal_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.username} · {self.get_action_display()} · {self.label or self.object_id}"


class UserHistoryFields(models.Model):
    """Extra column of a user's history rows (accounts.history): the hash itself is not kept."""

    password_changed = models.BooleanField(_("修改了密码"), default=False)

    class Meta:
        abstract = True


register_user_history()
