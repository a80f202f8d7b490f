"""What happens after a registration commits, and the service behind it.

petition_register calls `on_registered` through `transaction.on_commit`: the side effects start
only once the case is saved, and a broker outage never fails (or undoes) a registration — the
error is logged and the deadline sweep (`registrations_catch_up`) does the work later.
"""

from __future__ import annotations

import logging

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Grant, Role
from notifications.models import Notification
from notifications.services import notification_send
from petitions.models import Petition

logger = logging.getLogger("civicgrid.petitions.hooks")

NEW_ACCUSATION = "new_accusation"


def on_registered(petition: Petition | int) -> None:
    """Enqueue the side effects of a new registration (call after commit); never raises."""
    pk = getattr(petition, "pk", petition)
    case_type = getattr(petition, "case_type", None)
    if case_type is not None and case_type != Petition.CaseType.ACCUSATION:
        return  # nothing to do for this case yet: no task
    try:
        from petitions.tasks import petition_registered_task

        petition_registered_task.delay(pk)
    except Exception:  # the case is saved; the sweep will do this later
        logger.warning(
            "side effects of registration %s not enqueued (broker unreachable?); "
            "the deadline sweep will do them",
            pk,
            exc_info=True,
        )


def bureau_recipients(area_code: str, grants: list[tuple[int, str]] | None = None) -> set[int]:
    """Users holding a bureau grant whose area covers `area_code` (pass `grants` — (user id,
    area code) pairs — to reuse one query across many cases)."""
    if grants is None:
        grants = bureau_grants()
    return {uid for uid, code in grants if area_code.startswith(code)}


def bureau_grants() -> list[tuple[int, str]]:
    return list(
        Grant.objects.filter(role=Role.BUREAU, user__is_active=True)
        .exclude(area_code="")
        .values_list("user_id", "area_code")
    )


def registration_notify(petition: Petition) -> int:
    """A new 检举控告 case: the bureau hears of it at once (it goes to the discipline body, never
    to the accused — 第三十条). Idempotent; returns how many notices were created."""
    if petition.case_type != Petition.CaseType.ACCUSATION:
        return 0
    created = notification_send(
        recipients=bureau_recipients(petition.area_code),
        verb=Notification.Verb.NEW_ACCUSATION,
        text=_("新登记检举控告类信访事项%(no)s，请及时转送纪检监察机关。")
        % {"no": petition.receipt_no},
        target_kind=Notification.TargetKind.PETITION,
        target_id=petition.pk,
        target_url=reverse("petitions:detail", args=[petition.pk]),
        reason=NEW_ACCUSATION,
    )
    return len(created)
