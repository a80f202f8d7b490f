"""Open311 GeoReport v2 partners (12345 hotline platforms, city apps) and service attributes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Partner(models.Model):
    """A partner system with its own API key; every POST is attributed to it."""

    class Kind(models.TextChoices):
        HOTLINE = "hotline", _("12345热线平台")
        APP = "app", _("城市应用")
        OTHER = "other", _("其他")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default="app")
    # Only a keyed hash of the key is stored; the prefix lets staff tell keys apart.
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(_("密钥前缀"), max_length=8)
    organization = models.ForeignKey(
        "petitions.Organization",
        on_delete=models.PROTECT,
        verbose_name=_("登记单位"),
        help_text=_("通过该接口提交的诉求以此单位名义登记。"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    # Batch partners get a token back and look the request id up later (GeoReport v2 `batch`).
    batch = models.BooleanField(_("批量模式（返回令牌）"), default=False)
    posts_per_hour = models.PositiveIntegerField(_("每小时提交上限"), default=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("接口合作方")
        verbose_name_plural = _("接口合作方")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"


class ServiceAttribute(models.Model):
    """An extra field a public category asks for (GeoReport v2 service definition attribute)."""

    class Datatype(models.TextChoices):
        STRING = "string", "string"
        NUMBER = "number", "number"
        DATETIME = "datetime", "datetime"
        TEXT = "text", "text"
        SINGLE = "singlevaluelist", "singlevaluelist"
        MULTI = "multivaluelist", "multivaluelist"

    category = models.ForeignKey(
        "petitions.Category", on_delete=models.CASCADE, related_name="open311_attributes"
    )
    code = models.CharField(_("编码"), max_length=30)
    datatype = models.CharField(_("类型"), max_length=20, choices=Datatype.choices)
    required = models.BooleanField(_("必填"), default=False)
    variable = models.BooleanField(_("需用户填写"), default=True)
    description = models.CharField(_("说明"), max_length=200)
    datatype_description = models.CharField(_("填写提示"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("顺序"), default=1)
    # [{"key": "...", "name": "..."}] for value lists
    values = models.JSONField(_("可选值"), default=list, blank=True)

    class Meta:
        verbose_name = _("服务属性")
        verbose_name_plural = _("服务属性")
        ordering = ["category", "order"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="open311_attr_unique"),
            models.UniqueConstraint(fields=["category", "order"], name="open311_attr_order"),
        ]

    def __str__(self) -> str:
        return f"{self.category.code}:{self.code}"


class RequestToken(models.Model):
    """A token handed to a batch partner instead of the request id."""

    token = models.CharField(max_length=40, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tokens")
    petition = models.ForeignKey(
        "petitions.Petition", on_delete=models.CASCADE, related_name="open311_tokens"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.token


class PartnerRequest(models.Model):
    """Which partner posted which petition (attribution), with the attributes it sent."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="requests")
    petition = models.OneToOneField(
        "petitions.Petition", on_delete=models.CASCADE, related_name="open311_request"
    )
    attributes = models.JSONField(default=dict, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.partner.name} → {self.petition.receipt_no}"
