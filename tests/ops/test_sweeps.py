"""The deadline and consistency sweeps, the registration hook, tasks, queues and the beat schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app as celery_app
from config.celery import route_task
from notifications.models import Notification
from petitions.models import Petition, PetitionEvent, SupervisionOrder
from petitions.services.hooks import on_registered
from petitions.services.sweeps import consistency_sweep, deadline_sweep, registrations_catch_up
from petitions.services.workflow import petition_extend, petition_reply, petition_route
from petitions.tasks import consistency_sweep_task, deadline_sweep_task, petition_registered_task
from tests.ops.conftest import bj

pytestmark = pytest.mark.django_db

RECEIVED = bj(2026, 3, 2, 10, 0)  # route_due 2026-03-17


def _orders(p, kind=None):
    qs = SupervisionOrder.objects.filter(petition=p)
    return qs.filter(kind=kind) if kind else qs


def _notes(**kw):
    return list(
        Notification.objects.filter(**kw)
        .order_by("recipient__username", "pk")
        .values_list("recipient__username", "verb", "reason")
    )


# --- Reminders and escalations ---------------------------------------------------------------


def test_due_tomorrow_reminds_the_registering_clerk_once(register, clerk):
    p = register().petition
    assert deadline_sweep(now=bj(2026, 3, 15, 9, 0))["reminders"] == 0  # due in 2 days: not yet
    result = deadline_sweep(now=bj(2026, 3, 16, 9, 0))
    assert result == {
        "reminders": 1,
        "escalations": 0,
        "notified": 1,
        "registrations": 0,
        "redelivered": 0,
    }
    order = _orders(p).get()
    assert (order.kind, order.deadline, order.due_date) == (
        "reminder",
        "route_due",
        dt.date(2026, 3, 17),
    )
    assert order.opened_by is None and order.opened_at == bj(2026, 3, 16, 9, 0)
    assert order.reason == "受理期限（2026-03-17）即将届满，系统自动提醒。"
    event = p.events.get(action="remind")
    assert (event.from_status, event.to_status, event.actor) == ("registered", "registered", None)
    assert event.payload == {
        "deadline": "route_due",
        "due": "2026-03-17",
        "order": order.pk,
        "reason": order.reason,
    }
    assert _notes() == [("street_clerk", "reminder", "reminder:route_due:2026-03-17")]
    n = Notification.objects.get()
    assert n.text == f"信访事项{p.receipt_no}的受理期限为2026-03-17，即将届满，请及时办理。"
    assert n.target_kind == "petition" and n.target_id == p.pk
    assert n.target_url == f"/petitions/{p.pk}/"
    # Every later sweep (the next 15 minutes, the due day itself) finds nothing new.
    for now in (bj(2026, 3, 16, 9, 15), bj(2026, 3, 17, 8, 0)):
        assert deadline_sweep(now=now)["reminders"] == 0
    assert _orders(p).count() == 1 and Notification.objects.count() == 1
    assert p.events.filter(action="remind").count() == 1


def test_a_missed_day_still_reminds_on_the_due_day(register):
    p = register().petition
    assert deadline_sweep(now=bj(2026, 3, 17, 23, 0))["reminders"] == 1
    assert _orders(p, "reminder").get().due_date == dt.date(2026, 3, 17)


def test_overdue_escalates_to_the_bureau_and_unit_head_once(register, clerk, bureau_user, office):
    office.head = clerk  # the registering office's head, responsible until the case is routed
    office.save(update_fields=["head"])
    p = register().petition
    result = deadline_sweep(now=bj(2026, 3, 18, 0, 5))  # route_due 03-17 has passed
    assert (result["reminders"], result["escalations"], result["notified"]) == (0, 1, 2)
    order = _orders(p).get()
    assert (order.kind, order.deadline, order.due_date) == (
        "escalation",
        "route_due",
        dt.date(2026, 3, 17),
    )
    assert order.reason == "已超过受理期限（2026-03-17），系统自动督办。"
    assert list(p.events.filter(action="escalate").values_list("payload__order", flat=True)) == [
        order.pk
    ]
    assert _notes() == [
        ("bureau", "escalation", "escalation:route_due:2026-03-17"),
        ("street_clerk", "escalation", "escalation:route_due:2026-03-17"),
    ]
    assert Notification.objects.filter(sms_wanted=True).count() == 2  # escalations also go by SMS
    for day in (18, 19, 25):
        assert deadline_sweep(now=bj(2026, 3, day, 12, 0))["escalations"] == 0
    assert _orders(p).count() == 1 and Notification.objects.count() == 2


def test_handling_deadline_reminds_handler_side_and_escalates_to_unit_head_and_bureau(
    register, clerk, unit, head, bureau_user
):
    p = register().petition
    p = petition_route(petition=p, actor=clerk, decision="assign", unit=unit, now=bj(2026, 3, 5, 9))
    assert p.handle_due == dt.date(2026, 5, 4)
    assert deadline_sweep(now=bj(2026, 5, 3, 9))["reminders"] == 1
    assert _notes(verb="reminder") == [("unit_user", "reminder", "reminder:handle_due:2026-05-04")]
    assert deadline_sweep(now=bj(2026, 5, 5, 9))["escalations"] == 1
    assert _notes(verb="escalation") == [
        ("bureau", "escalation", "escalation:handle_due:2026-05-04"),
        ("unit_user", "escalation", "escalation:handle_due:2026-05-04"),
    ]


def test_an_extension_earns_its_own_reminder_and_escalation(
    register, clerk, unit, head, bureau_user
):
    p = register().petition
    p = petition_route(petition=p, actor=clerk, decision="assign", unit=unit, now=bj(2026, 3, 5, 9))
    assert deadline_sweep(now=bj(2026, 5, 3, 9))["reminders"] == 1
    p = petition_extend(
        petition=p,
        actor=head,
        days=30,
        reason="需现场勘验",
        approver=bureau_user,
        now=bj(2026, 5, 3, 10),
    )
    assert p.handle_due == dt.date(2026, 6, 3)
    assert deadline_sweep(now=bj(2026, 5, 5, 9))["escalations"] == 0  # the old date is moot
    assert deadline_sweep(now=bj(2026, 6, 2, 9))["reminders"] == 1
    assert deadline_sweep(now=bj(2026, 6, 4, 9))["escalations"] == 1
    assert list(
        _orders(p).order_by("kind", "due_date").values_list("kind", "deadline", "due_date")
    ) == [
        ("escalation", "handle_due", dt.date(2026, 6, 3)),
        ("reminder", "handle_due", dt.date(2026, 5, 4)),
        ("reminder", "handle_due", dt.date(2026, 6, 3)),
    ]
    assert _notes(verb="reminder") == [
        ("unit_user", "reminder", "reminder:handle_due:2026-05-04"),
        ("unit_user", "reminder", "reminder:handle_due:2026-06-03"),
    ]


def test_answered_and_closed_cases_are_not_swept(register, clerk, unit):
    p = register().petition
    p = petition_route(petition=p, actor=clerk, decision="assign", unit=unit, now=bj(2026, 3, 5, 9))
    petition_reply(
        petition=p, actor=clerk, outcome="support", text="已督促物业维修。", now=bj(2026, 3, 20, 9)
    )
    assert deadline_sweep(now=bj(2026, 9, 1, 9)) == {
        "reminders": 0,
        "escalations": 0,
        "notified": 0,
        "registrations": 0,
        "redelivered": 0,
    }
    assert not SupervisionOrder.objects.exists()


def test_only_recipients_who_may_see_the_case_are_notified(register, clerk, bureau_user, unit):
    from accounts.models import Grant, Role
    from tests.factories import UserFactory

    stranger = UserFactory(username="stranger_head")  # heads the unit but holds no grant on it
    unit.head = stranger
    unit.save(update_fields=["head"])
    other_bureau = UserFactory(username="other_bureau")
    Grant.objects.create(user=other_bureau, role=Role.BUREAU, area_code="210203")
    p = register().petition
    petition_route(petition=p, actor=clerk, decision="assign", unit=unit, now=bj(2026, 3, 5, 9))
    result = deadline_sweep(now=bj(2026, 5, 5, 9))
    assert (result["escalations"], result["notified"]) == (1, 1)
    assert _notes() == [("bureau", "escalation", "escalation:handle_due:2026-05-04")]


def test_sweep_is_set_based(register, bureau_user):
    """Queries do not grow with the number of cases (one statement per step, not per case)."""

    def sweep_queries(n_cases: int, day: int) -> int:
        for i in range(n_cases):
            register(summary=f"第{day}-{i}件", received_at=bj(2026, 3, day, 10))
        with CaptureQueriesContext(connection) as ctx:
            result = deadline_sweep(now=bj(2026, 3, day + 16, 9))
        assert result["escalations"] == n_cases
        return len(ctx.captured_queries)

    # Ten days apart: the first batch's notices are past the redelivery window of the second.
    few, many = sweep_queries(2, 1), sweep_queries(12, 11)
    assert many == few


def test_escalation_emails_go_out_after_commit(
    register, bureau_user, celery_eager, django_capture_on_commit_callbacks
):
    bureau_user.email = "bureau@example.org"
    bureau_user.save(update_fields=["email"])
    p = register().petition
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deadline_sweep(now=bj(2026, 3, 18, 9))
    assert mail.outbox == []  # nothing is sent before the sweep's transaction commits
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bureau@example.org"]
    assert message.subject == "【CivicGrid】超期督办"
    assert message.body == (
        f"信访事项{p.receipt_no}已超过受理期限（2026-03-17），已自动督办，请督促办理。\n\n"
        f"{settings.SITE_URL}/petitions/{p.pk}/\n\n此邮件由系统自动发送，请勿回复。"
    )
    assert Notification.objects.get().emailed_at is not None


# --- Registrations: the on-commit hook and the catch-up ---------------------------------------


def test_accusation_hook_notifies_the_bureau(register, bureau_user, celery_eager):
    p = register(case_type="accusation").petition
    on_registered(p)
    assert _notes() == [("bureau", "new_accusation", "new_accusation")]
    n = Notification.objects.get()
    assert n.text == f"新登记检举控告类信访事项{p.receipt_no}，请及时转送纪检监察机关。"
    on_registered(p.pk)  # a second delivery of the task changes nothing
    assert Notification.objects.count() == 1
    assert petition_registered_task.delay(p.pk).get() == 0
    assert petition_registered_task.delay(987654321).get() == 0  # gone: quietly nothing


def test_other_case_types_enqueue_nothing(register, bureau_user, celery_eager):
    on_registered(register().petition)
    assert not Notification.objects.exists()


def test_registration_enqueues_its_side_effects_on_commit(
    register, bureau_user, celery_eager, django_capture_on_commit_callbacks
):
    """petition_register starts its side effects after commit (petitions.services.hooks)."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        p = register(case_type="accusation").petition
    assert len(callbacks) >= 1
    assert _notes(target_id=p.pk) == [("bureau", "new_accusation", "new_accusation")]


def test_sweep_catches_up_registrations_whose_task_was_lost(register, bureau_user):
    p = register(case_type="accusation", received_at=bj(2026, 3, 2, 10)).petition
    plain = register(received_at=bj(2026, 3, 2, 11)).petition
    old = register(case_type="accusation", received_at=bj(2026, 3, 1, 9)).petition
    Petition.objects.filter(pk=old.pk).update(created_at=bj(2026, 2, 1, 9))  # beyond the window
    now = Petition.objects.get(pk=p.pk).created_at + dt.timedelta(minutes=30)
    assert registrations_catch_up(now=now) == 1
    assert _notes() == [("bureau", "new_accusation", "new_accusation")]
    assert Notification.objects.get().target_id == p.pk
    assert registrations_catch_up(now=now) == 0
    assert plain.pk and not Notification.objects.filter(target_id=old.pk).exists()


# --- Consistency sweep -------------------------------------------------------------------------


def test_consistency_sweep_locates_cases_without_a_cell(hierarchy, register, clerk):
    inside = register(location=(121.555, 38.905)).petition  # cell 210204001002001
    cell_code = inside.cell.code
    manual = register(
        location=(121.555, 38.905),
        cell=hierarchy["cells"]["210204001001001"],
        cell_override_reason="现场核实",
    ).petition
    nowhere = register().petition  # no location: nothing to locate
    # As if located before the boundaries were loaded: no cell, the office's area.
    Petition.objects.filter(pk__in=[inside.pk, manual.pk]).update(cell=None, area_code="210204001")
    result = consistency_sweep(now=bj(2026, 3, 3, 2, 30))
    assert result["located"] == 1
    assert "imports_resumed" in result
    inside.refresh_from_db()
    assert (inside.cell.code, inside.area_code, inside.version) == (cell_code, cell_code, 1)
    event = inside.events.get(action="relocate")
    assert event.actor is None
    assert event.payload == {
        "from_cell": None,
        "to_cell": cell_code,
        "from_area": "210204001",
        "auto": True,
        "reason": "系统按位置重新定位网格",
    }
    manual.refresh_from_db()
    assert manual.cell is None  # a hand-picked cell is never overwritten by the sweep
    nowhere.refresh_from_db()
    assert nowhere.cell is None and not nowhere.events.filter(action="relocate").exists()
    assert consistency_sweep(now=bj(2026, 3, 4, 2, 30))["located"] == 0


def test_point_outside_every_cell_stays_unplaced(hierarchy, register):
    p = register(location=Point(121.70, 39.10, srid=4326)).petition
    assert p.cell is None
    assert consistency_sweep()["located"] == 0
    assert not PetitionEvent.objects.filter(action="relocate").exists()


def test_sweep_tasks_run_their_services(register, bureau_user, celery_eager):
    register(received_at=bj(2026, 3, 2, 10))
    # Eager: the task runs at the real time, long after these cases' deadlines.
    result = deadline_sweep_task.delay().get()
    assert (result["escalations"], result["notified"]) == (1, 1)
    assert deadline_sweep_task.delay().get()["escalations"] == 0
    assert consistency_sweep_task.delay().get()["located"] == 0


def test_sweep_tasks_retry_on_lost_connections_and_acknowledge_late():
    from django.db import InterfaceError, OperationalError

    for task in (deadline_sweep_task, consistency_sweep_task, petition_registered_task):
        assert task.acks_late is True
        assert task.autoretry_for == (OperationalError, InterfaceError)
        assert task.max_retries == 5


# --- Queues, routing, beat ----------------------------------------------------------------------


def test_queues_and_routing_by_module():
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "default"
    assert [q.name for q in settings.CELERY_TASK_QUEUES] == ["default", "imports", "reports"]
    assert route_task("petitions.tasks.deadline_sweep_task") is None
    assert route_task("notifications.tasks.notification_deliver_task") is None
    assert route_task("dashboard.tasks.monthly_snapshot_task") == {"queue": "reports"}
    assert route_task("ledger.tasks.ledger_import_task") == {"queue": "imports"}
    assert route_task("petitions.tasks_ledger.run") == {"queue": "imports"}
    assert route_task("grid.tasks.grid_import_boundaries_task") == {"queue": "imports"}

    def queue_of(name: str) -> str:
        return celery_app.amqp.router.route({}, name)["queue"].name

    assert queue_of("petitions.tasks.deadline_sweep_task") == "default"
    assert queue_of("dashboard.tasks.monthly_snapshot_task") == "reports"
    assert queue_of("ledger.tasks.ledger_import_task") == "imports"


def test_beat_schedule():
    beat = settings.CELERY_BEAT_SCHEDULE
    assert beat["dashboard-monthly-snapshot"]["task"] == "dashboard.tasks.monthly_snapshot_task"
    sweep = beat["petitions-deadline-sweep"]
    assert sweep["task"] == "petitions.tasks.deadline_sweep_task"
    assert sweep["schedule"] == crontab(minute="*/15")
    nightly = beat["petitions-consistency-sweep"]
    assert nightly["task"] == "petitions.tasks.consistency_sweep_task"
    assert nightly["schedule"] == crontab(minute=30, hour=2)
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
    for entry in beat.values():
        assert entry["task"] in celery_app.tasks, entry["task"]


def test_rabbitmq_is_one_setting_away():
    """CELERY_BROKER_URL=amqp://… selects RabbitMQ's transport with the same queues and routes
    (checked in a fresh process, as a deployment would start; no RabbitMQ server needed)."""
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import json, django; django.setup()\n"
        "from django.conf import settings\n"
        "from config.celery import app\n"
        "c = app.connection_for_write()\n"
        "print(json.dumps([c.transport_cls, c.hostname, c.port, c.virtual_host,"
        " sorted(app.amqp.queues), app.conf.task_always_eager,"
        " hasattr(settings, 'CELERY_BROKER_TRANSPORT_OPTIONS'),"
        " app.amqp.router.route({}, 'dashboard.tasks.x')['queue'].name]))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CELERY_BROKER_URL": "amqp://civicgrid:secret@rabbit.example.org:5672/civicgrid",
    }
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [
        "amqp",
        "rabbit.example.org",
        5672,
        "civicgrid",
        ["default", "imports", "reports"],
        False,
        False,  # Redis's visibility timeout is not passed to RabbitMQ
        "reports",
    ]
