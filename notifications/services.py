"""Sending notifications: an in-app row per recipient (the bell), then e-mail and SMS after commit.

Only recipients who may see the target get a notice (the same selectors as every page), and a
(recipient, target, reason) is notified once: the rows are inserted with ON CONFLICT DO NOTHING
and only the rows this call created are delivered. Delivery runs in a task after commit and
claims each row by a conditional UPDATE, so two deliveries of one task never send twice; the
deadline sweep delivers what a lost task left undone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.inserts import insert_new_rows
from notifications.models import Notification
from notifications.selectors import notification_list, visible_target_ids
from notifications.sms import sms_sender

logger = logging.getLogger("civicgrid.notifications")

FIELDS = [
    "recipient",
    "verb",
    "target_kind",
    "target_id",
    "target_url",
    "reason",
    "text",
    "created_at",
    "email_wanted",
    "sms_wanted",
]
DELIVERY_CHUNK = 100
# The sweep redelivers what is still undelivered this long after creation (the task was lost) …
REDELIVER_AFTER = dt.timedelta(minutes=5)
# … but not notices so old that they are no longer news.
REDELIVER_WITHIN = dt.timedelta(days=2)


@dataclass(frozen=True)
class Notice:
    """One thing to tell some users about one target."""

    recipients: Iterable  # users or user ids
    verb: str
    text: str
    target_kind: str
    target_id: int
    target_url: str
    reason: str = ""  # deduplication key; the verb when empty
    sms: bool = False


def notification_send(
    *,
    recipients: Iterable,
    verb: str,
    text: str,
    target_kind: str,
    target_id: int,
    target_url: str,
    reason: str = "",
    sms: bool = False,
    now: dt.datetime | None = None,
) -> list[Notification]:
    """Notify `recipients` about one target; returns the notifications created by this call."""
    notice = Notice(recipients, verb, text, target_kind, target_id, target_url, reason, sms)
    return notification_send_many([notice], now=now)


def notification_send_many(
    notices: Iterable[Notice], *, now: dt.datetime | None = None
) -> list[Notification]:
    """Create the in-app rows of many notices in one statement; e-mail/SMS go out after commit."""
    now = now or timezone.now()
    notices = list(notices)
    users = _active_users({_uid(r) for n in notices for r in n.recipients})
    visible = _visible(users, notices)
    rows = [
        Notification(
            recipient_id=uid,
            verb=n.verb,
            target_kind=n.target_kind,
            target_id=n.target_id,
            target_url=n.target_url,
            reason=(n.reason or n.verb)[:100],
            text=n.text[:500],
            created_at=now,
            email_wanted=bool(users[uid].email),
            sms_wanted=n.sms,
        )
        for n in notices
        for uid in sorted({_uid(r) for r in n.recipients})
        if (uid, n.target_kind, n.target_id) in visible
    ]
    with transaction.atomic():
        ids = insert_new_rows(rows, FIELDS)
        created = list(Notification.objects.filter(pk__in=ids).order_by("pk"))
        deliver = [n.pk for n in created if n.email_wanted or n.sms_wanted]
        if deliver:
            transaction.on_commit(lambda: notification_delivery_enqueue(deliver))
    return created


def _uid(user_or_id) -> int:
    return getattr(user_or_id, "pk", user_or_id)


def _active_users(ids: set[int]) -> dict:
    return get_user_model().objects.filter(pk__in=ids, is_active=True).in_bulk()


def _visible(users: dict, notices: list[Notice]) -> set[tuple[int, str, int]]:
    """(user id, kind, target id) for every recipient allowed to see the target: one query per
    recipient and target kind, whatever the number of notices."""
    wanted: dict[tuple[int, str], set[int]] = defaultdict(set)
    for n in notices:
        for r in n.recipients:
            if _uid(r) in users:
                wanted[(_uid(r), n.target_kind)].add(n.target_id)
    return {
        (uid, kind, target)
        for (uid, kind), targets in wanted.items()
        for target in visible_target_ids(users[uid], kind, targets)
    }


def notification_delivery_enqueue(notification_ids: list[int]) -> None:
    """Start the e-mail/SMS task(s). A broker outage is logged, not raised: the in-app notice
    exists, and the deadline sweep delivers what is still pending."""
    from notifications.tasks import notification_deliver_task

    for start in range(0, len(notification_ids), DELIVERY_CHUNK):
        chunk = notification_ids[start : start + DELIVERY_CHUNK]
        try:
            notification_deliver_task.delay(chunk)
        except Exception:  # any failure to enqueue must not undo what was committed
            logger.warning(
                "notification delivery not enqueued (%s notices); the sweep will deliver them",
                len(chunk),
                exc_info=True,
            )


def _claim(pk: int, field: str, now: dt.datetime) -> bool:
    """Take the delivery of one channel: only one worker's UPDATE finds it still unsent."""
    return bool(
        Notification.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(**{field: now})
    )


def _unclaim(pk: int, field: str) -> None:
    Notification.objects.filter(pk=pk).update(**{field: None})


def _email(n: Notification) -> None:
    subject = _("【CivicGrid】%(verb)s") % {"verb": n.get_verb_display()}
    body = "\n\n".join(
        [
            n.text,
            settings.SITE_URL + n.target_url,
            _("此邮件由系统自动发送，请勿回复。"),
        ]
    )
    send_mail(subject, body, None, [n.recipient.email], fail_silently=False)


def notification_deliver(notification_ids: Iterable[int]) -> dict[str, int]:
    """Send the e-mails and SMS of these notifications that are still unsent.

    Each channel of each row is claimed before sending; a failed send gives its claim back and,
    after the other rows were tried, the first error is raised (the task retries)."""
    now = timezone.now()
    sent = {"email": 0, "sms": 0}
    failure: Exception | None = None
    rows = Notification.objects.filter(pk__in=list(notification_ids)).select_related("recipient")
    for n in rows.order_by("pk"):
        channels = [
            ("email", "emailed_at", n.email_wanted and n.recipient.email, _email),
            ("sms", "sms_sent_at", n.sms_wanted, _sms),
        ]
        for name, field, wanted, send in channels:
            if not wanted or not _claim(n.pk, field, now):
                continue
            try:
                send(n)
            except Exception as e:  # give the claim back; retried by the task or the sweep
                _unclaim(n.pk, field)
                failure = failure or e
                logger.warning("%s to user %s failed: %s", name, n.recipient_id, e)
            else:
                sent[name] += 1
    if failure is not None:
        raise failure
    return sent


def _sms(n: Notification) -> None:
    sms_sender().send(user=n.recipient, text=n.text)


def notification_deliver_pending(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Deliver notices whose delivery task was lost (broker outage); returns how many were
    tried. Failures are logged: the next sweep tries again."""
    now = now or timezone.now()
    pending = (
        Notification.objects.filter(
            Q(email_wanted=True, emailed_at__isnull=True)
            | Q(sms_wanted=True, sms_sent_at__isnull=True),
            created_at__lt=now - REDELIVER_AFTER,
            created_at__gte=now - REDELIVER_WITHIN,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(pending)
    if ids:
        try:
            notification_deliver(ids)
        except Exception:
            logger.warning("pending notification delivery failed", exc_info=True)
    return len(ids)


def notification_mark_read(*, user, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own (visible) notifications read; all unread ones when no ids are given."""
    unread = notification_list(user).filter(read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return Notification.objects.filter(pk__in=list(unread.values_list("pk", flat=True))).update(
        read_at=timezone.now()
    )
