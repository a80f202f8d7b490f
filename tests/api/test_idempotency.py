"""Idempotency-Key on every /api/v1/ POST: a replay answers the first response (marked with
Idempotent-Replayed), the same key on another request is a 422, keys are per user, failed
answers are not kept, keys expire after 24 hours (swept hourly), and two concurrent requests
with one key create one record."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from api.idempotency import REPLAY_HEADER
from api.models import IdempotencyRecord
from api.services import api_token_issue, idempotency_sweep
from api.tasks import idempotency_sweep_task
from mediation.models import Dispute
from petitions.models import Petition
from tests.api.conftest import token_client
from tests.api.shapes import error
from tests.mediation.conftest import INSIDE

pytestmark = pytest.mark.django_db

DISPUTES = reverse("mediation-api:dispute-list")
DISPUTE = {
    "category": "neighbour",
    "party_count": 2,
    "description": "楼上漏水",
    "risk_level": "general",
    "lng": INSIDE[0],
    "lat": INSIDE[1],
}


def post(client, url, body, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, format="json", **extra)


@pytest.fixture
def bureau_client(bureau_token, hierarchy):
    return token_client(bureau_token)


def test_replay_returns_the_first_response(bureau_client):
    first = post(bureau_client, DISPUTES, DISPUTE, "d-1")
    assert first.status_code == 201
    assert REPLAY_HEADER not in first
    again = post(bureau_client, DISPUTES, DISPUTE, "d-1")
    assert again.status_code == 201
    assert again[REPLAY_HEADER] == "true"
    assert again.json() == first.json()
    assert Dispute.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.method, record.path, record.status_code) == (
        "d-1",
        "POST",
        DISPUTES,
        201,
    )
    # JSON key order is not part of the request's identity
    reordered = dict(reversed(list(DISPUTE.items())))
    assert post(bureau_client, DISPUTES, reordered, "d-1")[REPLAY_HEADER] == "true"


def test_without_a_key_every_post_creates(bureau_client):
    assert post(bureau_client, DISPUTES, DISPUTE).status_code == 201
    assert post(bureau_client, DISPUTES, DISPUTE).status_code == 201
    assert Dispute.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_petition_replay_never_shows_the_query_code_again(seeded, clerk, category):
    client = token_client(api_token_issue(user=clerk, name="街道")[1])
    body = {
        "channel": "letter",
        "case_type": "appeal",
        "category": category.pk,
        "summary": "路灯不亮",
        "content": "小区路灯坏了一个月",
        "anonymous": True,
        "lng": INSIDE[0],
        "lat": INSIDE[1],
    }
    first = post(client, reverse("petitions-api:register"), body, "p-1")
    assert first.status_code == 201, first.content
    assert set(first.json()) == {"id", "receipt_no", "query_code"}
    again = post(client, reverse("petitions-api:register"), body, "p-1")
    assert again.status_code == 200
    assert again[REPLAY_HEADER] == "true"
    assert again.json() == {"id": first.json()["id"], "receipt_no": first.json()["receipt_no"]}
    assert first.json()["query_code"] not in IdempotencyRecord.objects.get().body
    assert Petition.objects.filter(summary="路灯不亮").count() == 1


def test_same_key_on_another_path_or_body_is_422(bureau_client, bureau_user):
    assert post(bureau_client, DISPUTES, DISPUTE, "k").status_code == 201
    changed = post(bureau_client, DISPUTES, {**DISPUTE, "party_count": 3}, "k")
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_mismatch"
    body = {
        "name": "三月排查",
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "area_code": "210204",
    }
    other_path = post(bureau_client, reverse("mediation-api:round-list"), body, "k")
    assert other_path.status_code == 422
    assert Dispute.objects.count() == 1


def test_keys_are_per_user(bureau_client, worker):
    worker_client = token_client(api_token_issue(user=worker, name="网格员")[1])
    assert post(bureau_client, DISPUTES, DISPUTE, "shared").status_code == 201
    theirs = post(worker_client, DISPUTES, DISPUTE, "shared")
    assert theirs.status_code == 201
    assert REPLAY_HEADER not in theirs
    assert Dispute.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 2


def test_failed_answers_are_not_kept(bureau_client):
    bad = post(bureau_client, DISPUTES, {**DISPUTE, "risk_level": "huge"}, "fix-me")
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    fixed = post(bureau_client, DISPUTES, DISPUTE, "fix-me")
    assert fixed.status_code == 201
    assert REPLAY_HEADER not in fixed


@pytest.mark.parametrize("key", ["", "x" * 256, "中文标识", "has space"])
def test_invalid_keys_are_400(bureau_client, key):
    response = post(bureau_client, DISPUTES, DISPUTE, key)
    assert response.status_code == 400
    assert response.json() == error(
        "validation_error",
        "防重复提交标识无效。",
        {"Idempotency-Key": ["防重复提交标识应为1至255个可见 ASCII 字符。"]},
    )
    assert not Dispute.objects.exists()


def test_keys_expire_after_24_hours_and_are_swept(bureau_client, settings):
    assert settings.CELERY_BEAT_SCHEDULE["api-idempotency-sweep"]["task"] == (
        "api.tasks.idempotency_sweep_task"
    )
    assert post(bureau_client, DISPUTES, DISPUTE, "old").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=24, seconds=1))
    # An expired key is a new request, even when it is not swept yet.
    reused = post(bureau_client, DISPUTES, {**DISPUTE, "party_count": 5}, "old")
    assert reused.status_code == 201
    assert REPLAY_HEADER not in reused
    assert Dispute.objects.count() == 2
    assert post(bureau_client, DISPUTES, DISPUTE, "fresh").status_code == 201
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert idempotency_sweep() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    assert idempotency_sweep_task.apply().get() == 1
    assert not IdempotencyRecord.objects.exists()


def _api_views(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None:
                yield route, view_class


def test_every_post_under_api_v1_is_idempotent():
    posts = [(route, cls) for route, cls in _api_views() if hasattr(cls, "post")]
    assert len(posts) >= 30
    missing = [route for route, cls in posts if not getattr(cls.post, "idempotent", False)]
    assert missing == []


@pytest.mark.postgis_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_record(hierarchy, bureau_user, monkeypatch):
    """Two threads, two connections: the second blocks on the key's row until the first commits,
    then replays its answer."""
    from accounts.models import Grant, Role
    from mediation.services import screening

    Grant.objects.get_or_create(user=bureau_user, role=Role.BUREAU, area_code="210204")
    _token, key = api_token_issue(user=bureau_user, name="并发")
    entered = threading.Event()
    real_record = screening.dispute_record

    def slow_record(**kwargs):
        entered.set()
        time.sleep(0.5)  # hold the transaction open while the second request arrives
        return real_record(**kwargs)

    monkeypatch.setattr("mediation.api.views.dispute_record", slow_record)
    responses = {}

    def call(name):
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
            responses[name] = client.post(
                DISPUTES,
                DISPUTE,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="same",
            )
        finally:
            connection.close()

    first = threading.Thread(target=call, args=("first",))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=call, args=("second",))
    second.start()
    first.join(20)
    second.join(20)
    assert responses["first"].status_code == responses["second"].status_code == 201
    assert REPLAY_HEADER not in responses["first"]
    assert responses["second"][REPLAY_HEADER] == "true"
    assert responses["second"].json() == responses["first"].json()
    assert Dispute.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
