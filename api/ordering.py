"""`ordering=` with a whitelist per resource: a query-parameter field and the queryset step."""

from django.db.models import F
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def ordering_map(*fields: str, tiebreak: str = "pk") -> dict[str, list]:
    """{"received_at": [...], "-received_at": [...]} for each field, ties broken by `tiebreak`;
    empty values sort last either way."""
    out: dict[str, list] = {}
    for field in fields:
        out[field] = [F(field).asc(nulls_last=True), F(tiebreak).asc()]
        out[f"-{field}"] = [F(field).desc(nulls_last=True), F(tiebreak).desc()]
    return out


def ordering_field(orderings: dict, default: str | None) -> serializers.ChoiceField:
    """The `ordering` query parameter; without a default, the selector's own order applies."""
    if default is None:
        help_text = _("排序字段，前缀“-”表示倒序")
        extra = {}
    else:
        help_text = format_lazy(_("排序字段，前缀“-”表示倒序；默认 {default}"), default=default)
        extra = {"default": default}
    return serializers.ChoiceField(
        choices=list(orderings),
        required=False,
        help_text=help_text,
        error_messages={"invalid_choice": _("不支持按“{input}”排序。")},
        **extra,
    )


def ordered(queryset, orderings: dict, value: str | None):
    return queryset if value is None else queryset.order_by(*orderings[value])
