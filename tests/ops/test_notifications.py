"""Notifications: who gets them, once; e-mail and SMS delivery; the bell and the list pages."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Grant, Role
from notifications.models import Notification
from notifications.selectors import notification_list, notification_unread_count
from notifications.services import (
    notification_deliver,
    notification_deliver_pending,
    notification_mark_read,
    notification_send,
)
from notifications.sms import LoggingSmsSender, SmsSender, sms_sender
from notifications.tasks import notification_deliver_task
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(register):
    return register().petition


def _send(case, recipients, reason="test", **kw):
    args = {
        "recipients": recipients,
        "verb": Notification.Verb.REMINDER,
        "text": f"信访事项{case.receipt_no}即将到期。",
        "target_kind": "petition",
        "target_id": case.pk,
        "target_url": f"/petitions/{case.pk}/",
        "reason": reason,
    }
    args.update(kw)
    return notification_send(**args)


# --- Sending ----------------------------------------------------------------------------------


def test_only_users_who_may_see_the_target_are_notified_and_only_once(case, clerk, bureau_user):
    outsider = UserFactory(username="outsider_clerk")
    Grant.objects.create(user=outsider, role=Role.STREET_CLERK, area_code="210204002")
    inactive = UserFactory(username="gone", is_active=False)
    Grant.objects.create(user=inactive, role=Role.BUREAU, area_code="210204")
    created = _send(case, [clerk, bureau_user.pk, outsider, inactive])
    assert sorted(n.recipient.username for n in created) == ["bureau", "street_clerk"]
    assert _send(case, [clerk, bureau_user]) == []  # same target, same reason: nothing new
    assert len(_send(case, [clerk], reason="other")) == 1  # another reason is another notice
    assert Notification.objects.count() == 3


def test_email_after_commit_exactly_once(
    case, clerk, celery_eager, django_capture_on_commit_callbacks
):
    clerk.email = "clerk@example.org"
    clerk.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        (n,) = _send(case, [clerk])
    assert n.email_wanted is True and n.sms_wanted is False
    assert [m.to for m in mail.outbox] == [["clerk@example.org"]]
    assert mail.outbox[0].subject == "【CivicGrid】到期提醒"
    n.refresh_from_db()
    assert n.emailed_at is not None
    # The task delivered twice (acks_late redelivery) sends nothing more.
    assert notification_deliver_task.delay([n.pk]).get() == {"email": 0, "sms": 0}
    assert len(mail.outbox) == 1


def test_no_email_address_no_email(case, clerk, celery_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (n,) = _send(case, [clerk])
    assert n.email_wanted is False and callbacks == [] and mail.outbox == []


def test_sms_through_the_configured_sender(case, clerk, sms_outbox):
    (n,) = _send(case, [clerk], sms=True)
    assert notification_deliver([n.pk]) == {"email": 0, "sms": 1}
    assert sms_outbox == [(clerk.pk, n.text)]
    assert notification_deliver([n.pk]) == {"email": 0, "sms": 0}
    assert len(sms_outbox) == 1


def test_default_sms_sender_only_logs(case, clerk, caplog):
    assert type(sms_sender()) is LoggingSmsSender
    (n,) = _send(case, [clerk], sms=True)
    with caplog.at_level(logging.INFO, logger="civicgrid.notifications.sms"):
        notification_deliver([n.pk])
    assert caplog.messages == [f"SMS to user {clerk.pk} (street_clerk): {n.text}"]


def test_sms_sender_must_implement_the_interface(settings):
    settings.NOTIFICATIONS_SMS_SENDER = "notifications.models.Notification"
    with pytest.raises(TypeError):
        sms_sender()
    with pytest.raises(TypeError):
        SmsSender()  # abstract


def test_failed_delivery_is_given_back_and_redelivered_by_the_sweep(case, clerk, settings):
    """A real SMTP connection to a closed port fails; the claim is returned; once mail works
    again, the sweep's redelivery sends it (once)."""
    clerk.email = "clerk@example.org"
    clerk.save(update_fields=["email"])
    (n,) = _send(case, [clerk], sms=True)
    settings.NOTIFICATIONS_SMS_SENDER = "tests.ops.conftest.FailingSmsSender"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 6391, 2
    with pytest.raises(OSError):
        notification_deliver([n.pk])
    n.refresh_from_db()
    assert (n.emailed_at, n.sms_sent_at) == (None, None)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFICATIONS_SMS_SENDER = "tests.ops.conftest.RecordingSmsSender"
    from tests.ops.conftest import RecordingSmsSender

    RecordingSmsSender.sent = []
    assert notification_deliver_pending(now=n.created_at + dt.timedelta(minutes=1)) == 0  # too soon
    assert notification_deliver_pending(now=n.created_at + dt.timedelta(minutes=6)) == 1
    assert len(mail.outbox) == 1 and RecordingSmsSender.sent == [(clerk.pk, n.text)]
    assert notification_deliver_pending(now=n.created_at + dt.timedelta(minutes=20)) == 0
    assert notification_deliver_pending(now=n.created_at + dt.timedelta(days=3)) == 0


# --- Reading: only what the user may still see --------------------------------------------------


def test_list_follows_the_users_current_grants(case, clerk):
    _send(case, [clerk])
    assert notification_unread_count(clerk) == 1
    Grant.objects.filter(user=clerk).delete()
    clerk = type(clerk).objects.get(pk=clerk.pk)  # grants are cached per user object
    assert list(notification_list(clerk)) == []
    assert notification_unread_count(clerk) == 0


def test_dispute_targets_use_the_mediation_scope(hierarchy, clerk, bureau_user):
    from mediation.services.screening import dispute_record

    cell = hierarchy["cells"]["210204001001001"]
    dispute = dispute_record(
        actor=clerk,
        category="neighbour",
        party_count=2,
        party_names=["王甲", "李乙"],
        description="楼上漏水，邻里争执",
        risk_level="general",
        location=cell.geom.centroid,
    )
    assert dispute.area_code == "210204001001001"
    outsider = UserFactory(username="far_clerk")
    Grant.objects.create(user=outsider, role=Role.STREET_CLERK, area_code="210204002")
    created = notification_send(
        recipients=[clerk, bureau_user, outsider],
        verb=Notification.Verb.REMINDER,
        text="纠纷待处理。",
        target_kind="dispute",
        target_id=dispute.pk,
        target_url=f"/mediation/disputes/{dispute.pk}/",
    )
    assert sorted(n.recipient.username for n in created) == ["bureau", "street_clerk"]
    assert [n.target_id for n in notification_list(clerk)] == [dispute.pk]
    assert list(notification_list(outsider)) == []


# --- Pages ------------------------------------------------------------------------------------


def test_bell_count_json(client, case, clerk):
    _send(case, [clerk], reason="a")
    _send(case, [clerk], reason="b")
    url = reverse("notifications:count")
    assert url == "/notifications/count/"
    assert client.get(url).status_code == 401
    client.force_login(clerk)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert json.loads(response.content) == {"unread": 2, "label": "2 条未读通知"}


def test_list_page_and_marking_read(
    client, case, clerk, bureau_user, django_assert_max_num_queries
):
    mine = _send(case, [clerk], reason="a")[0]
    _send(case, [clerk], reason="b")
    theirs = _send(case, [bureau_user], reason="c")[0]
    client.force_login(clerk)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("notifications:list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="notification notification--unread"') == 2
    assert f"notification-{theirs.pk}" not in html
    assert "2 条未读" in html
    # Open one: marked read, then on to the case.
    response = client.post(
        reverse("notifications:read", args=[mine.pk]), {"next": f"/petitions/{case.pk}/"}
    )
    assert response.status_code == 302 and response["Location"] == f"/petitions/{case.pk}/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert json.loads(client.get(reverse("notifications:count")).content)["unread"] == 1
    # Someone else's notice does not exist for this user; an outside `next` is ignored.
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("notifications:read-all"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notifications:list")
    assert notification_unread_count(clerk) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.get(reverse("notifications:read", args=[mine.pk])).status_code == 405
    unread_page = client.get(reverse("notifications:list") + "?unread=1").content.decode()
    assert "暂无通知。" in unread_page


def test_pages_need_login(client):
    response = client.get(reverse("notifications:list"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_mark_read_service_only_touches_own_visible_notices(case, clerk, bureau_user):
    _send(case, [clerk, bureau_user])
    assert notification_mark_read(user=clerk) == 1
    assert notification_mark_read(user=clerk) == 0
    assert Notification.objects.filter(read_at__isnull=True).get().recipient == bureau_user
    before = timezone.now()
    assert notification_mark_read(user=bureau_user, notification_ids=[]) == 0
    assert Notification.objects.filter(read_at__gte=before).count() == 0


def test_bell_script_is_a_static_file_without_inline_code():
    from django.contrib.staticfiles import finders

    path = finders.find("notifications/bell.js")
    assert path is not None
    with open(path, encoding="utf-8") as f:
        source = f.read()
    assert "data-notifications-url" in source and "data-notifications-count" in source
    with open(finders.find("notifications/notifications.css"), encoding="utf-8") as f:
        assert ".site-bell__count" in f.read()


def test_bell_fragment_template(rf, clerk):
    from django.template.loader import render_to_string

    html = render_to_string("notifications/bell.html")
    assert re.search(r'data-notifications-url="/notifications/count/"', html)
    assert 'href="/notifications/"' in html and "<script" not in html
