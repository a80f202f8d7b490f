"""Input checks for personal data: GB 11643 identity numbers and mainland phone numbers."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]$")
_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits (ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper()


def validate_id_number(value: str) -> None:
    v = normalize_id_number(value)
    if not _ID_RE.match(v):
        raise ValidationError(_("身份证号格式不正确（应为18位）。"), code="id_format")
    if id_check_digit(v[:17]) != v[17]:
        raise ValidationError(_("身份证号校验位不正确，请核对。"), code="id_check_digit")


def normalize_phone(value: str) -> str:
    return re.sub(r"[\s()（）]", "", value or "").replace("+86", "")


def validate_phone(value: str) -> None:
    if not _PHONE_RE.match(normalize_phone(value)):
        raise ValidationError(
            _("电话号码格式不正确（11位手机号或带区号的固定电话）。"), code="phone_format"
        )
