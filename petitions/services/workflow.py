"""The statutory workflow (SPEC §3): one service per step, each in one transaction that locks
the case, checks the transition map, updates due dates and writes the event row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from petitions import deadlines
from petitions.models import (
    TRANSITIONS,
    Document,
    Organization,
    Petition,
    PetitionEvent,
    SupervisionOrder,
)
from petitions.services.errors import Conflict, TransitionNotAllowed

Status = Petition.Status


def _transition(
    petition: Petition | int,
    action: str,
    actor,
    apply: Callable[[Petition, dt.datetime], dict] | None = None,
    *,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
    payload: dict | None = None,
    document: str | None = None,
) -> Petition:
    """Lock the row, check the map, apply the change, save it and write the event — atomically.

    `apply(p)` mutates the locked row and returns extra event payload; it raises
    TransitionNotAllowed for rule violations beyond the status map (e.g. a closed window).
    """
    now = now or timezone.now()
    pk = petition.pk if isinstance(petition, Petition) else petition
    with transaction.atomic():
        p = Petition.objects.select_for_update().get(pk=pk)
        if expected_version is not None and p.version != expected_version:
            raise Conflict()
        allowed, to_status = TRANSITIONS[action]
        if p.status not in allowed:
            raise TransitionNotAllowed(
                _("当前状态“%(status)s”下不能执行此操作。") % {"status": p.get_status_display()},
                code="transition",
            )
        before = {f.attname: getattr(p, f.attname) for f in p._meta.concrete_fields}
        from_status = p.status
        extra = (apply(p, now) if apply else None) or {}
        if to_status:
            p.status = to_status
        p.version += 1
        changed = [
            f.name for f in p._meta.concrete_fields if getattr(p, f.attname) != before[f.attname]
        ]
        p.save(update_fields=[*changed, "updated_at"])
        event = PetitionEvent.objects.create(
            petition=p,
            actor=actor,
            at=now,
            action=action,
            from_status=from_status,
            to_status=p.status,
            payload={**(payload or {}), **extra},
        )
        if document:
            from petitions.services.documents import document_create

            document_create(petition=p, event=event, kind=document)
    return p


def _window(due: dt.date | None, now: dt.datetime, what: str) -> None:
    if due and deadlines.local_date(now) > due:
        raise TransitionNotAllowed(
            _("%(what)s期限已于%(due)s届满。") % {"what": what, "due": due.isoformat()},
            code="window_closed",
        )


ROUTE_NOTICE = {
    "accept": Document.Kind.ACCEPT_NOTICE,
    "assign": Document.Kind.ACCEPT_NOTICE,
    "forward": Document.Kind.FORWARD_NOTICE,
    "reject": Document.Kind.REJECT_NOTICE,
}


def petition_route(
    *,
    petition: Petition,
    actor,
    decision: str,
    unit: Organization | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """受理 / 转送 / 交办 / 不予受理 (第二十二条): decide within 15 days of receipt."""
    if decision not in ("accept", "forward", "assign", "reject"):
        raise TransitionNotAllowed(_("未知的处理方式。"), code="decision")
    if decision in ("forward", "assign") and unit is None:
        raise TransitionNotAllowed(_("转送或交办必须指定承办单位。"), code="unit")
    if decision == "reject" and not reason.strip():
        raise TransitionNotAllowed(_("不予受理必须说明法定理由。"), code="reason")
    if unit is not None and petition.is_confidential and unit.kind != Organization.Kind.DISCIPLINE:
        # 检举控告 goes to discipline bodies, never to the accused (第三十条).
        raise TransitionNotAllowed(
            _("检举控告类事项只能转送纪检监察机关。"), code="accusation_route"
        )

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.routing = decision
        p.routing_reason = reason
        p.routed_at = now
        if decision == "reject":
            p.closed_at = now
            return {"on_time": deadlines.local_date(now) <= p.route_due}
        p.accepted_at = now
        p.handling_unit = unit or p.registered_by_org
        p.handle_due = deadlines.handle_due(now)
        if decision in ("forward", "assign"):
            p.objection_due = deadlines.objection_due(now)
        return {
            "unit": p.handling_unit_id,
            "on_time": deadlines.local_date(now) <= p.route_due,
        }

    return _transition(
        petition,
        f"route_{decision}",
        actor,
        apply,
        now=now,
        expected_version=expected_version,
        payload={"decision": decision, "reason": reason},
    )


def petition_notify(
    *,
    petition: Petition,
    actor,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """告知 (第二十三条): the written notice of the routing decision, due 15 days from receipt."""
    if not petition.routing:
        raise TransitionNotAllowed(_("尚未作出处理决定，无法告知。"), code="not_routed")
    if petition.anonymous:
        raise TransitionNotAllowed(_("信访人姓名、住址不清，无需书面告知。"), code="anonymous")
    if petition.notified_at:
        raise TransitionNotAllowed(_("已经告知过信访人。"), code="already_notified")

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.notified_at = now
        return {"on_time": deadlines.local_date(now) <= p.notify_due}

    return _transition(
        petition,
        "notify",
        actor,
        apply,
        now=now,
        document=ROUTE_NOTICE[petition.routing],
        expected_version=expected_version,
    )


def petition_object(
    *,
    petition: Petition,
    actor,
    reason: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """异议 (第二十三条): the receiving unit objects to a wrong routing within 5 working days."""
    if not reason.strip():
        raise TransitionNotAllowed(_("提出异议必须详细说明理由。"), code="reason")
    if petition.routing not in ("forward", "assign"):
        raise TransitionNotAllowed(_("只有转送或交办的事项可以提出异议。"), code="routing")

    def apply(p: Petition, now: dt.datetime) -> dict:
        _window(p.objection_due, now, _("异议"))
        return {"unit": p.handling_unit_id}

    return _transition(
        petition,
        "object",
        actor,
        apply,
        now=now,
        payload={"reason": reason},
        expected_version=expected_version,
    )


def petition_objection_resolve(
    *,
    petition: Petition,
    actor,
    uphold: bool,
    note: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """The routing body checks an objection: upheld → back to routing; dismissed → keep handling."""

    def apply(p: Petition, now: dt.datetime) -> dict:
        if uphold:
            p.routing = ""
            p.handling_unit = None
            p.handler = None
            p.routed_at = p.accepted_at = None
            p.handle_due = p.objection_due = None
        return {}

    action = "objection_uphold" if uphold else "objection_dismiss"
    return _transition(
        petition,
        action,
        actor,
        apply,
        now=now,
        payload={"note": note},
        expected_version=expected_version,
    )


def petition_assign_handler(
    *,
    petition: Petition,
    actor,
    handler,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Petition:
    """Name the person in the handling unit who handles the case."""

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.handler = handler
        return {"handler": handler.pk}

    return _transition(
        petition, "assign_handler", actor, apply, now=now, expected_version=expected_version
    )


def petition_add_note(
    *,
    petition: Petition,
    actor,
    text: str,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Petition:
    """A handling note (调查情况) on the timeline; no status change."""
    if not text.strip():
        raise TransitionNotAllowed(_("内容不能为空。"), code="text")
    return _transition(
        petition, "note", actor, now=now, payload={"text": text}, expected_version=expected_version
    )


def petition_extend(
    *,
    petition: Petition,
    actor,
    days: int,
    reason: str,
    approver,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """延期 (第三十四条): once, at most 30 days, with a reason and an approver; notice to petitioner."""
    if not 1 <= days <= deadlines.MAX_EXTENSION_DAYS:
        raise TransitionNotAllowed(_("延长期限应为1至30日。"), code="days")
    if not reason.strip():
        raise TransitionNotAllowed(_("延期必须说明理由。"), code="reason")
    if approver is None:
        raise TransitionNotAllowed(_("延期必须经负责人批准。"), code="approver")

    def apply(p: Petition, now: dt.datetime) -> dict:
        if p.extension_days:
            raise TransitionNotAllowed(_("办理期限只能延长一次。"), code="once")
        _window(p.handle_due, now, _("办理"))
        p.extension_days = days
        p.extension_reason = reason
        p.extension_approved_by = approver
        p.handle_due = deadlines.handle_due(p.accepted_at, days)
        return {"days": days, "approver": approver.pk, "handle_due": p.handle_due.isoformat()}

    doc = None if petition.anonymous else Document.Kind.EXTENSION_NOTICE
    return _transition(
        petition,
        "extend",
        actor,
        apply,
        now=now,
        payload={"reason": reason},
        document=doc,
        expected_version=expected_version,
    )


def petition_reply(
    *,
    petition: Petition,
    actor,
    outcome: str,
    text: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """答复 (第三十二条): the written opinion 处理意见书 — 支持 / 解释说明 / 不予支持."""
    if outcome not in Petition.Outcome.values:
        raise TransitionNotAllowed(_("处理意见应为支持、解释说明或不予支持。"), code="outcome")
    if not text.strip():
        raise TransitionNotAllowed(_("答复内容不能为空。"), code="text")

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.outcome = outcome
        p.reply_text = text
        p.replied_at = now
        p.review_request_due = deadlines.review_request_due(now)
        return {"outcome": outcome, "on_time": deadlines.local_date(now) <= p.handle_due}

    return _transition(
        petition,
        "reply",
        actor,
        apply,
        now=now,
        expected_version=expected_version,
        document=Document.Kind.OPINION,
    )


def petition_evaluate(
    *,
    petition: Petition,
    evaluation: str,
    actor=None,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """评价: the petitioner rates the handling once (满意 / 基本满意 / 不满意)."""
    if evaluation not in Petition.Evaluation.values:
        raise TransitionNotAllowed(_("评价应为满意、基本满意或不满意。"), code="evaluation")

    def apply(p: Petition, now: dt.datetime) -> dict:
        if p.evaluation:
            raise TransitionNotAllowed(_("该事项已经评价过。"), code="once")
        p.evaluation = evaluation
        p.evaluated_at = now
        return {"evaluation": evaluation}

    return _transition(
        petition, "evaluate", actor, apply, now=now, expected_version=expected_version
    )


def petition_review_request(
    *,
    petition: Petition,
    actor,
    reason: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """复查申请 (第三十五条): within 30 days of the written reply; answered within 30 days."""

    def apply(p: Petition, now: dt.datetime) -> dict:
        if p.is_final or p.review_requested_at:
            raise TransitionNotAllowed(_("该事项已申请过复查。"), code="once")
        _window(p.review_request_due, now, _("复查申请"))
        p.review_requested_at = now
        p.review_due = deadlines.review_due(now)
        p.closed_at = None
        return {}

    return _transition(
        petition,
        "review_request",
        actor,
        apply,
        now=now,
        payload={"reason": reason},
        expected_version=expected_version,
    )


def petition_review_answer(
    *,
    petition: Petition,
    actor,
    outcome: str,
    text: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """复查意见 (第三十五条), in writing; opens the 30-day window for 复核."""
    if outcome not in Petition.Outcome.values or not text.strip():
        raise TransitionNotAllowed(_("请填写复查意见及内容。"), code="outcome")

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.review_outcome = outcome
        p.reviewed_at = now
        p.rereview_request_due = deadlines.rereview_request_due(now)
        return {
            "outcome": outcome,
            "text": text,
            "on_time": deadlines.local_date(now) <= p.review_due,
        }

    return _transition(
        petition,
        "review_answer",
        actor,
        apply,
        now=now,
        document=Document.Kind.REVIEW_OPINION,
        expected_version=expected_version,
    )


def petition_rereview_request(
    *,
    petition: Petition,
    actor,
    reason: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """复核申请 (第三十六条): within 30 days of the review answer."""

    def apply(p: Petition, now: dt.datetime) -> dict:
        if not p.reviewed_at or p.rereview_requested_at:
            raise TransitionNotAllowed(_("只能对复查意见申请一次复核。"), code="once")
        _window(p.rereview_request_due, now, _("复核申请"))
        p.rereview_requested_at = now
        p.rereview_due = deadlines.rereview_due(now)
        p.closed_at = None
        return {}

    return _transition(
        petition,
        "rereview_request",
        actor,
        apply,
        now=now,
        payload={"reason": reason},
        expected_version=expected_version,
    )


def petition_hearing(
    *,
    petition: Petition,
    actor,
    days: int,
    note: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """听证 (第三十六条): the hearing's days are not counted in the 30-day 复核 period."""
    if days < 1:
        raise TransitionNotAllowed(_("听证天数至少为1天。"), code="days")

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.hearing_days += days
        p.rereview_due = deadlines.rereview_due(p.rereview_requested_at, p.hearing_days)
        return {"days": days, "rereview_due": p.rereview_due.isoformat()}

    return _transition(
        petition,
        "hearing",
        actor,
        apply,
        now=now,
        payload={"note": note},
        expected_version=expected_version,
    )


def petition_rereview_answer(
    *,
    petition: Petition,
    actor,
    outcome: str,
    text: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """复核意见 (第三十六条): final — the same matter on the same facts is not accepted again."""
    if outcome not in Petition.Outcome.values or not text.strip():
        raise TransitionNotAllowed(_("请填写复核意见及内容。"), code="outcome")

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.rereview_outcome = outcome
        p.rereviewed_at = now
        p.is_final = True
        p.closed_at = now
        return {
            "outcome": outcome,
            "text": text,
            "on_time": deadlines.local_date(now) <= p.rereview_due,
        }

    return _transition(
        petition,
        "rereview_answer",
        actor,
        apply,
        now=now,
        document=Document.Kind.REREVIEW_OPINION,
        expected_version=expected_version,
    )


def petition_close(
    *,
    petition: Petition,
    actor,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Petition:
    """办结: replied (or reviewed) with no review pending."""

    def apply(p: Petition, now: dt.datetime) -> dict:
        p.closed_at = now
        due = p.handle_due if p.status == Status.REPLIED else p.review_due
        answered = p.replied_at if p.status == Status.REPLIED else p.reviewed_at
        return {"on_time": bool(due and deadlines.local_date(answered) <= due)}

    return _transition(petition, "close", actor, apply, now=now, expected_version=expected_version)


def petition_supervise(
    *,
    petition: Petition,
    actor,
    reason: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> SupervisionOrder:
    """督办: the bureau opens a supervision order on a case."""
    if not reason.strip():
        raise TransitionNotAllowed(_("督办必须写明事由。"), code="reason")
    now = now or timezone.now()
    with transaction.atomic():
        _transition(
            petition,
            "supervise",
            actor,
            now=now,
            payload={"reason": reason},
            expected_version=expected_version,
        )
        return SupervisionOrder.objects.create(
            petition=petition,
            kind=SupervisionOrder.Kind.MANUAL,
            reason=reason,
            opened_by=actor,
            opened_at=now,
        )


def petition_relocate(
    *, petition: Petition, actor, cell, reason: str, expected_version: int | None = None
) -> Petition:
    """Manual override of the grid cell (the located one was wrong); needs a reason."""
    if not reason.strip():
        raise TransitionNotAllowed(_("手动指定网格必须说明理由。"), code="reason")

    def apply(p: Petition, now: dt.datetime) -> dict:
        old = p.cell.code if p.cell_id else None
        p.cell = cell
        p.cell_override_reason = reason
        p.area_code = cell.code
        return {"from_cell": old, "to_cell": cell.code}

    return _transition(
        petition,
        "relocate",
        actor,
        apply,
        payload={"reason": reason},
        expected_version=expected_version,
    )
