"""Roles and jurisdiction grants (SPEC §6).

A staff user holds one or more grants (role, area code and/or organisation). An area grant covers
the area and everything below it: because every code extends its parent's, "below" is simply
"code starts with the grant's code", which stays true across boundary generations.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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
