"""The statutory workflow: each allowed and each forbidden transition, events, due dates."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from petitions.models import TRANSITIONS, Petition, PetitionEvent, Status
from petitions.services import workflow as wf
from petitions.services.attachments import attachment_add
from petitions.services.errors import Conflict, TransitionNotAllowed
from petitions.services.intake import petition_link_repeat
from tests.petitions.conftest import bj

D = dt.date
pytestmark = pytest.mark.django_db


def _at_status(p: Petition, status: str, **fields) -> Petition:
    """Put a case into a status directly (test setup only; services do it for real below)."""
    base = {
        "routing": "assign",
        "handling_unit_id": fields.pop("unit_id", None),
        "routed_at": bj(2026, 3, 3, 9),
        "accepted_at": bj(2026, 3, 3, 9),
        "handle_due": D(2026, 5, 2),
        "objection_due": D(2026, 3, 10),
        "replied_at": bj(2026, 3, 20, 9),
        "review_request_due": D(2026, 4, 19),
        "review_requested_at": None,
        "review_due": None,
        "reviewed_at": bj(2026, 3, 25, 9),
        "rereview_request_due": D(2026, 4, 24),
        "rereview_requested_at": bj(2026, 3, 26, 9),
        "rereview_due": D(2026, 4, 25),
    }
    if status in ("review_requested",):
        base["reviewed_at"] = None
    if status == "replied":
        base["reviewed_at"] = None
    if status == "closed":  # closed after a review answer, no 复核 requested yet
        base["rereview_requested_at"] = None
    if status == "review_requested":
        base["review_requested_at"] = bj(2026, 3, 21, 9)
        base["review_due"] = D(2026, 4, 20)
    if status == "reviewed":
        base["review_requested_at"] = bj(2026, 3, 21, 9)
        base["rereview_requested_at"] = None
    base.update(fields)
    Petition.objects.filter(pk=p.pk).update(status=status, **base)
    p.refresh_from_db()
    return p


def _call(action, p, actor, approver, unit, cell):
    now = bj(2026, 3, 5, 10)
    calls = {
        "route_accept": lambda: wf.petition_route(
            petition=p, actor=actor, decision="accept", now=now
        ),
        "route_forward": lambda: wf.petition_route(
            petition=p, actor=actor, decision="forward", unit=unit, now=now
        ),
        "route_assign": lambda: wf.petition_route(
            petition=p, actor=actor, decision="assign", unit=unit, now=now
        ),
        "route_reject": lambda: wf.petition_route(
            petition=p, actor=actor, decision="reject", reason="已进入诉讼程序", now=now
        ),
        "notify": lambda: wf.petition_notify(petition=p, actor=actor, now=now),
        "object": lambda: wf.petition_object(
            petition=p, actor=actor, reason="不属本单位职责", now=now
        ),
        "objection_uphold": lambda: wf.petition_objection_resolve(
            petition=p, actor=actor, uphold=True
        ),
        "objection_dismiss": lambda: wf.petition_objection_resolve(
            petition=p, actor=actor, uphold=False
        ),
        "assign_handler": lambda: wf.petition_assign_handler(
            petition=p, actor=actor, handler=actor
        ),
        "note": lambda: wf.petition_add_note(petition=p, actor=actor, text="已现场调查"),
        "extend": lambda: wf.petition_extend(
            petition=p, actor=actor, days=10, reason="情况复杂", approver=approver, now=now
        ),
        "reply": lambda: wf.petition_reply(
            petition=p, actor=actor, outcome="support", text="予以支持", now=now
        ),
        "evaluate": lambda: wf.petition_evaluate(petition=p, evaluation="satisfied", now=now),
        "review_request": lambda: wf.petition_review_request(
            petition=p, actor=actor, now=bj(2026, 3, 22, 9)
        ),
        "review_answer": lambda: wf.petition_review_answer(
            petition=p, actor=actor, outcome="explain", text="维持", now=now
        ),
        "rereview_request": lambda: wf.petition_rereview_request(
            petition=p, actor=actor, now=bj(2026, 3, 27, 9)
        ),
        "hearing": lambda: wf.petition_hearing(petition=p, actor=actor, days=2),
        "rereview_answer": lambda: wf.petition_rereview_answer(
            petition=p, actor=actor, outcome="reject", text="不予支持", now=now
        ),
        "close": lambda: wf.petition_close(petition=p, actor=actor, now=now),
        "supervise": lambda: wf.petition_supervise(
            petition=p, actor=actor, reason="请加快办理", now=now
        ),
        "link_repeat": lambda: petition_link_repeat(
            petition=p, actor=actor, channel="visit", received_at=now
        ),
        "attach": lambda: attachment_add(
            petition=p,
            actor=actor,
            upload=SimpleUploadedFile("letter.pdf", b"%PDF-1.4\n%test\n"),
        ),
        "relocate": lambda: wf.petition_relocate(
            petition=p, actor=actor, cell=cell, reason="地址更正"
        ),
    }
    return calls[action]()


# "remind"/"escalate" are written only by the deadline sweep (tests/ops/test_sweeps.py).
SWEEP_ONLY = {"remind", "escalate"}
CASES = [
    (action, status)
    for action in TRANSITIONS
    if action not in SWEEP_ONLY
    for status in Status.values
]


@pytest.mark.parametrize(("action", "status"), CASES)
def test_transition_map_is_enforced(action, status, register, clerk, bureau_user, unit, hierarchy):
    p = register().petition
    p = _at_status(p, status, unit_id=unit.pk)
    allowed, to_status = TRANSITIONS[action]
    events_before = PetitionEvent.objects.filter(petition=p).count()
    cell = hierarchy["cells"]["210204001001001"]
    if status not in allowed:
        with pytest.raises(TransitionNotAllowed):
            _call(action, p, clerk, bureau_user, unit, cell)
        p.refresh_from_db()
        assert p.status == status
        assert PetitionEvent.objects.filter(petition=p).count() == events_before
        return
    if action == "link_repeat" and status in ("closed", "not_accepted"):
        with pytest.raises(ValidationError):
            _call(action, p, clerk, bureau_user, unit, cell)
        return
    _call(action, p, clerk, bureau_user, unit, cell)
    p.refresh_from_db()
    assert p.status == (to_status or status)
    event = PetitionEvent.objects.filter(petition=p).latest("pk")
    assert (event.action, event.from_status, event.to_status) == (action, status, p.status)
    assert PetitionEvent.objects.filter(petition=p).count() == events_before + 1


def test_full_path_register_to_rereview(register, clerk, bureau_user, unit, unit_user):
    p = register().petition
    assert p.receipt_no == "XF-210204-2026-000001"
    assert p.route_due == D(2026, 3, 17) and p.notify_due == D(2026, 3, 17)
    p = wf.petition_route(
        petition=p, actor=clerk, decision="assign", unit=unit, now=bj(2026, 3, 4, 9)
    )
    assert (p.status, p.handle_due, p.objection_due) == ("handling", D(2026, 5, 3), D(2026, 3, 11))
    p = wf.petition_notify(petition=p, actor=clerk, now=bj(2026, 3, 5, 9))
    assert p.documents.get().kind == "accept_notice"
    p = wf.petition_extend(
        petition=p,
        actor=unit_user,
        days=30,
        reason="涉及多个部门",
        approver=bureau_user,
        now=bj(2026, 4, 30, 9),
    )
    assert p.handle_due == D(2026, 6, 2)
    with pytest.raises(TransitionNotAllowed):  # only once
        wf.petition_extend(petition=p, actor=unit_user, days=5, reason="再延", approver=bureau_user)
    p = wf.petition_reply(
        petition=p, actor=unit_user, outcome="explain", text="依据政策解释", now=bj(2026, 6, 1, 9)
    )
    assert (p.status, p.review_request_due) == ("replied", D(2026, 7, 1))
    assert p.documents.filter(kind="opinion").count() == 1
    p = wf.petition_close(petition=p, actor=clerk, now=bj(2026, 6, 2, 9))
    assert p.status == "closed" and p.events.latest("pk").payload["on_time"] is True
    p = wf.petition_review_request(petition=p, actor=bureau_user, now=bj(2026, 6, 20, 9))
    assert (p.status, p.review_due, p.closed_at) == ("review_requested", D(2026, 7, 20), None)
    p = wf.petition_review_answer(
        petition=p, actor=bureau_user, outcome="explain", text="维持原意见", now=bj(2026, 7, 10, 9)
    )
    assert (p.status, p.rereview_request_due) == ("reviewed", D(2026, 8, 9))
    p = wf.petition_rereview_request(petition=p, actor=bureau_user, now=bj(2026, 8, 1, 9))
    assert p.rereview_due == D(2026, 8, 31)
    p = wf.petition_hearing(petition=p, actor=bureau_user, days=4, now=bj(2026, 8, 5, 9))
    assert p.rereview_due == D(2026, 9, 4)
    p = wf.petition_rereview_answer(
        petition=p, actor=bureau_user, outcome="reject", text="不予支持", now=bj(2026, 9, 1, 9)
    )
    assert (p.status, p.is_final) == ("closed", True)
    assert list(p.documents.values_list("kind", flat=True)) == [
        "accept_notice",
        "extension_notice",
        "opinion",
        "review_opinion",
        "rereview_opinion",
    ]
    actions = list(p.events.values_list("action", flat=True))
    assert actions == [
        "register",
        "route_assign",
        "notify",
        "extend",
        "reply",
        "close",
        "review_request",
        "review_answer",
        "rereview_request",
        "hearing",
        "rereview_answer",
    ]
    with pytest.raises(TransitionNotAllowed):  # final: no further review
        wf.petition_review_request(petition=p, actor=bureau_user, now=bj(2026, 9, 2, 9))


def test_windows_close(register, clerk, unit, bureau_user):
    p = register().petition
    p = wf.petition_route(
        petition=p, actor=clerk, decision="assign", unit=unit, now=bj(2026, 3, 4, 9)
    )
    with pytest.raises(TransitionNotAllowed):  # objection after 5 working days
        wf.petition_object(petition=p, actor=clerk, reason="不属本单位", now=bj(2026, 3, 12, 9))
    p = wf.petition_reply(
        petition=p, actor=clerk, outcome="support", text="支持", now=bj(2026, 3, 20, 9)
    )
    with pytest.raises(TransitionNotAllowed):  # review requested after 30 days
        wf.petition_review_request(petition=p, actor=bureau_user, now=bj(2026, 4, 20, 9))
    p = wf.petition_review_request(petition=p, actor=bureau_user, now=bj(2026, 4, 19, 23))
    assert p.status == "review_requested"


def test_objection_upheld_returns_case_to_routing(register, clerk, unit, unit_user, bureau_user):
    p = register().petition
    p = wf.petition_route(
        petition=p, actor=clerk, decision="forward", unit=unit, now=bj(2026, 3, 4, 9)
    )
    p = wf.petition_object(
        petition=p, actor=unit_user, reason="属于区市场监管局职责", now=bj(2026, 3, 11, 17)
    )
    assert p.status == "objected"
    p = wf.petition_objection_resolve(petition=p, actor=bureau_user, uphold=True)
    assert (p.status, p.routing, p.handling_unit, p.handle_due) == ("registered", "", None, None)


def test_route_rules(register, clerk, unit, discipline):
    p = register().petition
    with pytest.raises(TransitionNotAllowed):
        wf.petition_route(petition=p, actor=clerk, decision="reject")  # reason required
    with pytest.raises(TransitionNotAllowed):
        wf.petition_route(petition=p, actor=clerk, decision="assign")  # unit required
    acc = register(case_type="accusation").petition
    with pytest.raises(TransitionNotAllowed):  # never to the accused: only discipline bodies
        wf.petition_route(petition=acc, actor=clerk, decision="forward", unit=unit)
    acc = wf.petition_route(petition=acc, actor=clerk, decision="forward", unit=discipline)
    assert acc.handling_unit == discipline


def test_late_routing_is_recorded_as_late(register, clerk):
    p = register().petition
    p = wf.petition_route(petition=p, actor=clerk, decision="accept", now=bj(2026, 3, 18, 9))
    assert p.events.latest("pk").payload["on_time"] is False
    p = register(received_at=bj(2026, 3, 2, 10)).petition
    p = wf.petition_route(petition=p, actor=clerk, decision="accept", now=bj(2026, 3, 17, 23, 59))
    assert p.events.latest("pk").payload["on_time"] is True


def test_version_conflict(register, clerk):
    p = register().petition
    stale = p.version
    wf.petition_add_note(petition=p, actor=clerk, text="第一位办理人")
    with pytest.raises(Conflict):
        wf.petition_route(petition=p, actor=clerk, decision="accept", expected_version=stale)
    assert Petition.objects.get(pk=p.pk).status == "registered"


def test_evaluate_once(register, clerk):
    p = register().petition
    p = wf.petition_route(petition=p, actor=clerk, decision="accept", now=bj(2026, 3, 4, 9))
    p = wf.petition_reply(
        petition=p, actor=clerk, outcome="support", text="支持", now=bj(2026, 3, 20, 9)
    )
    p = wf.petition_evaluate(petition=p, evaluation="basic")
    assert p.evaluation == "basic"
    with pytest.raises(TransitionNotAllowed):
        wf.petition_evaluate(petition=p, evaluation="satisfied")
