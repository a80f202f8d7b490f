"""Periodic sweeps: deadlines fire even when nobody opens the app, and work a lost task left undone
is found again (CONVENTIONS "Background work").

deadline_sweep (every 15 minutes): an open case whose current statutory deadline is due today
or tomorrow gets a reminder; an overdue one an escalation to the responsible unit's head and the
bureau — once per (case, deadline, due date), guarded by the partial unique constraint
`supervision_auto_once`, so racing sweeps open one order and send one notice. An extension moves
the due date, which earns its own reminder and escalation.

consistency_sweep (nightly): cases with a location but no cell are located again; stuck ledger
imports are resumed.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import logging

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.models import Generation, GridCell
from notifications.inserts import insert_new_rows
from notifications.models import Notification
from notifications.services import Notice, notification_deliver_pending, notification_send_many
from petitions import deadlines
from petitions.models import Petition, PetitionEvent, SupervisionOrder
from petitions.selectors import _due_between_q, _overdue_q
from petitions.services.hooks import (
    NEW_ACCUSATION,
    bureau_grants,
    bureau_recipients,
    registration_notify,
)

logger = logging.getLogger("civicgrid.petitions.sweeps")

Kind = SupervisionOrder.Kind
Status = Petition.Status

# The statutory clock an open case is waiting on, by status (as petitions.deadlines.next_deadline).
DEADLINE_BY_STATUS: dict[str, str] = {
    Status.REGISTERED: "route_due",
    Status.HANDLING: "handle_due",
    Status.OBJECTED: "handle_due",
    Status.REVIEW_REQUESTED: "review_due",
    Status.REREVIEW_REQUESTED: "rereview_due",
}
EVENT_ACTION = {Kind.REMINDER: "remind", Kind.ESCALATION: "escalate"}
CATCH_UP_WINDOW = dt.timedelta(days=7)


def _deadline_key():
    return Case(
        *[When(status=s, then=Value(key)) for s, key in DEADLINE_BY_STATUS.items()],
        default=Value(""),
    )


def _deadline_due():
    return Case(*[When(status=s, then=F(key)) for s, key in DEADLINE_BY_STATUS.items()])


def _label(key: str) -> str:
    return str(Petition._meta.get_field(key).verbose_name)


def _order_reason(kind: str, key: str, due: dt.date) -> str:
    args = {"deadline": _label(key), "due": due.isoformat()}
    if kind == Kind.REMINDER:
        return _("%(deadline)s（%(due)s）即将届满，系统自动提醒。") % args
    return _("已超过%(deadline)s（%(due)s），系统自动督办。") % args


def _open_orders(kind: str, condition: Q, now: dt.datetime) -> list[SupervisionOrder]:
    """Open the automatic orders of one kind that do not exist yet; return those this call
    created (a racing sweep's insert conflicts and creates nothing)."""
    existing = SupervisionOrder.objects.filter(
        petition=OuterRef("pk"), kind=kind, deadline=OuterRef("dl_key"), due_date=OuterRef("dl_due")
    )
    candidates = (
        Petition.objects.filter(condition)
        .annotate(dl_key=_deadline_key(), dl_due=_deadline_due())
        .exclude(Exists(existing))
        .values_list("pk", "dl_key", "dl_due")
    )
    orders = [
        SupervisionOrder(
            petition_id=pk,
            kind=kind,
            deadline=key,
            due_date=due,
            reason=_order_reason(kind, key, due),
            opened_at=now,
        )
        for pk, key, due in candidates
    ]
    ids = insert_new_rows(
        orders, ["petition", "kind", "deadline", "due_date", "reason", "opened_at"]
    )
    return list(
        SupervisionOrder.objects.filter(pk__in=ids)
        .select_related("petition__handling_unit", "petition__registered_by_org")
        .order_by("pk")
    )


def _recipients(order: SupervisionOrder, bureau: list[tuple[int, str]]) -> set[int]:
    """Reminder: whoever must act (the handler or registering clerk, and their unit's head);
    escalation: the responsible unit's head and the bureau. Review stages are the bureau's."""
    p = order.petition
    if p.status in (Status.HANDLING, Status.OBJECTED):
        unit, actor = p.handling_unit, p.handler_id
    elif p.status == Status.REGISTERED:
        unit, actor = p.registered_by_org, p.registered_by_id
    else:
        return bureau_recipients(p.area_code, bureau)
    users = {unit.head_id} if unit and unit.head_id else set()
    if order.kind == Kind.REMINDER:
        return users | ({actor} if actor else set())
    return users | bureau_recipients(p.area_code, bureau)


def _notice(order: SupervisionOrder, bureau: list[tuple[int, str]]) -> Notice:
    p = order.petition
    args = {"no": p.receipt_no, "deadline": _label(order.deadline), "due": order.due_date}
    if order.kind == Kind.REMINDER:
        verb = Notification.Verb.REMINDER
        text = _("信访事项%(no)s的%(deadline)s为%(due)s，即将届满，请及时办理。") % args
    else:
        verb = Notification.Verb.ESCALATION
        text = _("信访事项%(no)s已超过%(deadline)s（%(due)s），已自动督办，请督促办理。") % args
    return Notice(
        recipients=_recipients(order, bureau),
        verb=verb,
        text=text,
        target_kind=Notification.TargetKind.PETITION,
        target_id=p.pk,
        target_url=reverse("petitions:detail", args=[p.pk]),
        reason=f"{order.kind}:{order.deadline}:{order.due_date.isoformat()}",
        sms=order.kind == Kind.ESCALATION,
    )


def _events(orders: list[SupervisionOrder], now: dt.datetime) -> None:
    PetitionEvent.objects.bulk_create(
        PetitionEvent(
            petition_id=o.petition_id,
            actor=None,
            at=now,
            action=EVENT_ACTION[o.kind],
            from_status=o.petition.status,
            to_status=o.petition.status,
            payload={
                "deadline": o.deadline,
                "due": o.due_date.isoformat(),
                "order": o.pk,
                "reason": o.reason,
            },
        )
        for o in orders
    )


def deadline_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Reminders and escalations for every open case, each once; then the side effects a broker
    outage lost. Returns counts: reminders, escalations, notified, registrations, redelivered."""
    now = now or timezone.now()
    today = deadlines.local_date(now)
    with transaction.atomic():
        reminders = _open_orders(
            Kind.REMINDER, _due_between_q(today, today + dt.timedelta(days=1)), now
        )
        escalations = _open_orders(Kind.ESCALATION, _overdue_q(today), now)
        orders = reminders + escalations
        _events(orders, now)
        bureau = bureau_grants()
        notified = notification_send_many([_notice(o, bureau) for o in orders], now=now)
    return {
        "reminders": len(reminders),
        "escalations": len(escalations),
        "notified": len(notified),
        "registrations": registrations_catch_up(now=now),
        "redelivered": notification_deliver_pending(now=now),
    }


def registrations_catch_up(*, now: dt.datetime | None = None) -> int:
    """New accusation cases of the last week whose bureau notice was never created (the task was
    lost while the broker was down): notify now. Returns how many notices were created."""
    now = now or timezone.now()
    notified = Notification.objects.filter(
        target_kind=Notification.TargetKind.PETITION,
        target_id=OuterRef("pk"),
        reason=NEW_ACCUSATION,
    )
    missed = Petition.objects.filter(
        case_type=Petition.CaseType.ACCUSATION, created_at__gte=now - CATCH_UP_WINDOW
    ).exclude(Exists(notified))
    return sum(registration_notify(p) for p in missed)


# --- Nightly consistency -------------------------------------------------------------------------


def consistency_sweep(now: dt.datetime | None = None) -> dict:
    """Locate cases that have a point but no cell; resume stuck ledger imports."""
    return {
        "located": petitions_locate_missing(now=now),
        "imports_resumed": _ledger_resume(now),
    }


def petitions_locate_missing(*, now: dt.datetime | None = None) -> int:
    """Place cases with a location but no cell (outside every cell when registered, or located
    before the boundaries were loaded) in the active generation — one set-based statement — and
    move their area code to the cell. A cell chosen by hand (with a reason) is left alone.
    Returns how many cases were placed."""
    from grid.services.locate import grid_assign_cells

    now = now or timezone.now()
    generation = Generation.objects.filter(status=Generation.Status.ACTIVE).first()
    if generation is None:
        return 0
    with transaction.atomic():
        # Locked (skipping rows a clerk is changing right now): a concurrent relocation wins.
        ids = list(
            Petition.objects.select_for_update(skip_locked=True)
            .filter(cell__isnull=True, location__isnull=False, cell_override_reason="")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        grid_assign_cells(
            model=Petition, queryset=Petition.objects.filter(pk__in=ids), generation=generation
        )
        placed = Petition.objects.filter(pk__in=ids, cell__isnull=False)
        before = list(placed.values_list("pk", "status", "area_code", "cell__code"))
        placed.update(
            area_code=Subquery(GridCell.objects.filter(pk=OuterRef("cell_id")).values("code")[:1]),
            version=F("version") + 1,
            updated_at=now,
        )
        PetitionEvent.objects.bulk_create(
            PetitionEvent(
                petition_id=pk,
                actor=None,
                at=now,
                action="relocate",
                from_status=status,
                to_status=status,
                payload={
                    "from_cell": None,
                    "to_cell": cell,
                    "from_area": area,
                    "auto": True,
                    "reason": _("系统按位置重新定位网格"),
                },
            )
            for pk, status, area, cell in before
        )
    return len(before)


LEDGER_SERVICE_MODULES = ("ledger.services", "petitions.services.ledger")


def _module_exists(name: str) -> bool:
    """The module exists and belongs to an installed app (importing an uninstalled app's models
    would fail)."""
    from django.apps import apps

    if not apps.is_installed(name.split(".")[0]):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # its package is missing
        return False


def _ledger_resume(now: dt.datetime | None = None):
    """Resume stuck ledger imports through the ledger app's `ledger_resume_stuck()`; None when
    no ledger service is installed."""
    for name in LEDGER_SERVICE_MODULES:
        if not _module_exists(name):
            continue
        resume = getattr(importlib.import_module(name), "ledger_resume_stuck", None)
        if resume is not None:
            return resume(now=now)
    logger.info("no ledger_resume_stuck() installed: stuck imports not checked")
    return None
