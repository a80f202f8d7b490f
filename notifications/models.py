"""In-app notifications (the bell), each also delivered by e-mail and, when asked, by SMS.

One row per (recipient, target, reason): a sweep that runs twice, or a task delivered twice,
cannot notify anyone twice about the same thing (the unique constraint is the guard).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    class Verb(models.TextChoices):
        REMINDER = "reminder", _("到期提醒")
        ESCALATION = "escalation", _("超期督办")
        NEW_ACCUSATION = "new_accusation", _("新检举控告")

    class TargetKind(models.TextChoices):
        PETITION = "petition", _("信访事项")
        DISPUTE = "dispute", _("矛盾纠纷")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("接收人"),
    )
    verb = models.CharField(_("类型"), max_length=30, choices=Verb.choices)
    target_kind = models.CharField(_("对象类型"), max_length=10, choices=TargetKind.choices)
    target_id = models.PositiveBigIntegerField(_("对象编号"))
    target_url = models.CharField(_("对象链接"), max_length=200)
    # What this notice is about, e.g. "escalation:handle_due:2026-05-01": the deduplication key.
    reason = models.CharField(_("事由"), max_length=100)
    text = models.CharField(_("内容"), max_length=500)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # Delivery beyond the bell: wanted, and when it went out (claimed by a conditional UPDATE).
    email_wanted = models.BooleanField(_("发送邮件"), default=False)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)
    sms_wanted = models.BooleanField(_("发送短信"), default=False)
    sms_sent_at = models.DateTimeField(_("短信发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "target_kind", "target_id", "reason"],
                name="notification_once",
            ),
            models.CheckConstraint(
                condition=Q(target_kind__in=["petition", "dispute"]),
                name="notification_target_kind_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_recipient_read"),
            models.Index(fields=["target_kind", "target_id"], name="notification_target"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.text[:30]}"
