"""Reads of notifications: a user sees only notices about what they may still see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404

from notifications.models import Notification

Kind = Notification.TargetKind


def _targets(user, kind: str) -> QuerySet:
    """The user's visible targets of one kind (jurisdiction from the owning app's selector)."""
    if kind == Kind.PETITION:
        from petitions.selectors import petition_list

        return petition_list(user)
    if kind == Kind.DISPUTE:
        from mediation.selectors import dispute_list

        return dispute_list(user)
    raise ValueError(f"unknown notification target kind {kind!r}")


def notification_list(user) -> QuerySet[Notification]:
    """The user's notifications whose target they may still see (grants can be withdrawn)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    visible = Q()
    for i, kind in enumerate(Kind.values):
        q = Q(target_kind=kind, target_id__in=_targets(user, kind).values("pk"))
        visible = q if i == 0 else visible | q
    return Notification.objects.filter(visible, recipient=user)


def notification_get(user, pk: int) -> Notification:
    """One of the user's visible notifications, else 404."""
    try:
        return notification_list(user).get(pk=pk)
    except Notification.DoesNotExist as e:
        raise Http404 from e


def notification_unread_count(user) -> int:
    return notification_list(user).filter(read_at__isnull=True).count()


def visible_target_ids(user, kind: str, ids: Iterable[int]) -> set[int]:
    """Which of these targets the user may see (used before notifying them)."""
    return set(_targets(user, kind).filter(pk__in=list(ids)).values_list("pk", flat=True))
