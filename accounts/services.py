"""Writes of the accounts app: the access log of sensitive reads and the one way to reveal
personal data (SPEC §7)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import scoping
from accounts.audit import client_ip
from accounts.models import AccessLog

REASON_MAX = AccessLog._meta.get_field("reason").max_length


def access_log_record(
    *,
    user,
    action: str,
    obj=None,
    label: str = "",
    reason: str = "",
    detail: dict | None = None,
    request=None,
) -> AccessLog:
    """One AccessLog row: who (user), what (obj and/or label, detail), when, why, from where."""
    if action not in AccessLog.Action.values:
        raise ValueError(f"unknown access-log action {action!r}")
    reason = (reason or "").strip()
    if action == AccessLog.Action.REVEAL and not reason:
        raise ValidationError({"reason": [_("请填写查看完整个人信息的事由。")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("事由过长（最多500字）。")]})
    return AccessLog.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        username=user.get_username() if getattr(user, "is_authenticated", False) else "",
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        label=(label or (str(obj) if obj is not None else ""))[:200],
        detail=detail or {},
        reason=reason,
        ip=client_ip(request),
    )


def personal_data_reveal(*, user, petitioner, reason: str, request=None) -> dict:
    """The petitioner's full identity number and phone, for a user with the reveal right whose
    grants cover the petition; writes the AccessLog row (with the reason) in the same transaction.

    Outside the user's scope → Http404 (existence is not disclosed); in scope but without the
    reveal right → PermissionDenied; no reason → ValidationError. None of these logs anything.
    """
    from petitions.selectors import petition_get

    petition = petition_get(user, petitioner.petition_id)
    if not scoping.may_reveal(user):
        raise PermissionDenied(_("您的角色无权查看完整个人信息。"))
    with transaction.atomic():
        log = access_log_record(
            user=user,
            action=AccessLog.Action.REVEAL,
            obj=petitioner,
            label=petition.receipt_no,
            reason=reason,
            detail={"fields": ["id_number", "phone"], "petition": petition.pk},
            request=request,
        )
    return {
        "petitioner": petitioner.pk,
        "name": petitioner.name,
        "id_number": petitioner.id_number,
        "phone": petitioner.phone,
        "log": log.pk,
    }
