"""The SMS sender interface. No vendor is bound in: a deployment names its own sender class in
NOTIFICATIONS_SMS_SENDER (a dotted path to an SmsSender subclass); the default only logs.

A sender receives the user and the text; it looks the mobile number up itself (from its own
directory or a profile), so phone numbers of staff need not be kept by CivicGrid.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("civicgrid.notifications.sms")


class SmsSender(ABC):
    """Sends one short message to one user; raises on failure (the delivery task retries)."""

    @abstractmethod
    def send(self, *, user, text: str) -> None: ...


class LoggingSmsSender(SmsSender):
    """Development default: writes the message to the log instead of sending it."""

    def send(self, *, user, text: str) -> None:
        logger.info("SMS to user %s (%s): %s", user.pk, user.get_username(), text)


def sms_sender() -> SmsSender:
    """The configured sender (NOTIFICATIONS_SMS_SENDER)."""
    cls = import_string(settings.NOTIFICATIONS_SMS_SENDER)
    if not (isinstance(cls, type) and issubclass(cls, SmsSender)):
        raise TypeError(f"{settings.NOTIFICATIONS_SMS_SENDER} is not an SmsSender subclass")
    return cls()
