"""Notification delivery (thin: ids in, one service, safe to run twice)."""

import smtplib

from celery import shared_task

from notifications.services import notification_deliver

# An SMTP server or SMS gateway that is down, refuses or times out: worth trying again later.
RETRYABLE = (smtplib.SMTPException, OSError)


@shared_task(
    acks_late=True,
    autoretry_for=RETRYABLE,
    max_retries=5,
    retry_backoff=30,
    retry_backoff_max=3600,
)
def notification_deliver_task(notification_ids: list[int]) -> dict[str, int]:
    """E-mail / SMS of these notifications; rows already sent (or gone) are skipped."""
    return notification_deliver(notification_ids)
