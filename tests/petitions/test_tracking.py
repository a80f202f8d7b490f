"""Petitioner tracking (/track/ and /track/api/): status and deadline, nothing personal, only
"received" for 检举控告, one generic error, the one-time rating, the per-IP rate limit."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from petitions import deadlines, tracking
from petitions.models import Petition, PetitionEvent
from petitions.services import workflow as wf
from tests.petitions.conftest import VALID_ID, bj

pytestmark = pytest.mark.django_db

LOOKUP = reverse("track:lookup")
RATE = reverse("track:rate")
API = reverse("track:api")
GENERIC = "编号或查询码不正确"
PERSON = {
    "name": "张三丰",
    "id_number": VALID_ID,
    "phone": "13812345678",
    "address": "幸福小区3号楼2单元",
}
CONTENT = "楼道漏水多年无人维修，物业拒不处理"
# Nothing of these may ever appear on the public page or in the public API.
SECRETS = [
    "张三丰",
    VALID_ID,
    "1101",
    "13812345678",
    "138****",
    "幸福小区",
    "小区物业不履行维修义务",  # the summary
    CONTENT,
    "121.5",  # location
]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def registered(register):
    return register(petitioners=[PERSON], content=CONTENT, address="幸福小区3号楼")


@pytest.fixture
def replied(registered, clerk):
    p = registered.petition
    wf.petition_route(petition=p, actor=clerk, decision="accept", now=bj(2026, 3, 5, 10))
    wf.petition_reply(
        petition=p, actor=clerk, outcome="support", text="张三丰反映属实", now=bj(2026, 3, 20, 10)
    )
    return registered


def _lookup(client, r, **extra):
    return client.post(
        LOOKUP, {"receipt_no": r.petition.receipt_no, "query_code": r.query_code}, **extra
    )


def _no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_lookup_form(client):
    response = client.get(LOOKUP)
    assert response.status_code == 200
    text = response.content.decode()
    assert "信访事项办理进度查询" in text
    assert 'name="receipt_no"' in text and 'name="query_code"' in text


def test_normal_case_shows_status_and_deadline(client, registered):
    response = _lookup(client, registered)
    assert response.status_code == 200
    text = response.content.decode()
    overdue = -deadlines.days_left(dt.date(2026, 3, 17))
    assert registered.petition.receipt_no in text
    assert "已登记" in text
    assert "受理期限 2026-03-17" in text
    assert f"（已超期 {overdue} 天）" in text
    assert "尚未答复" in text
    assert 'name="evaluation"' not in text
    _no_secrets(text)


def test_lookup_is_case_and_space_tolerant(client, registered):
    response = client.post(
        LOOKUP,
        {
            "receipt_no": f" {registered.petition.receipt_no.lower()} ",
            "query_code": registered.query_code.lower(),
        },
    )
    assert "已登记" in response.content.decode()


def test_api_payload(client, registered):
    response = client.get(
        API,
        {"receipt_no": registered.petition.receipt_no, "query_code": registered.query_code},
    )
    assert response.status_code == 200
    assert response.json() == {
        "receipt_no": registered.petition.receipt_no,
        "received_on": "2026-03-02",
        "status": "registered",
        "status_label": "已登记",
        "next_deadline": {
            "key": "route_due",
            "label": "受理期限",
            "date": "2026-03-17",
            "days_left": deadlines.days_left(dt.date(2026, 3, 17)),
        },
        "replied_at": None,
        "outcome": None,
        "outcome_label": None,
        "evaluated": False,
    }
    assert response["Cache-Control"] == "no-store"
    _no_secrets(response.content.decode())


def test_replied_case_api(client, replied):
    response = client.get(
        API, {"receipt_no": replied.petition.receipt_no, "query_code": replied.query_code}
    )
    body = response.json()
    assert body["status"] == "replied"
    assert body["status_label"] == "已答复"
    assert body["replied_at"] == "2026-03-20T10:00:00+08:00"
    assert (body["outcome"], body["outcome_label"]) == ("support", "支持")
    assert body["next_deadline"] == {
        "key": "review_request_due",
        "label": "复查申请期限",
        "date": "2026-04-19",
        "days_left": deadlines.days_left(dt.date(2026, 4, 19)),
    }
    _no_secrets(response.content.decode())


def test_accusation_shows_only_received(client, register, clerk, discipline):
    r = register(case_type="accusation", petitioners=[PERSON], content=CONTENT)
    p = r.petition
    wf.petition_route(
        petition=p, actor=clerk, decision="forward", unit=discipline, now=bj(2026, 3, 5, 10)
    )
    Petition.objects.filter(pk=p.pk).update(status="replied", replied_at=bj(2026, 3, 20, 10))
    text = _lookup(client, r).content.decode()
    assert "已收到" in text
    assert "2026-03-02" in text
    for shown_elsewhere in (
        "已答复",
        "办理中",
        "期限",
        "答复日期",
        "处理意见",
        "评价",
        "区纪委监委",
    ):
        assert shown_elsewhere not in text, shown_elsewhere
    _no_secrets(text)
    body = client.get(API, {"receipt_no": p.receipt_no, "query_code": r.query_code}).json()
    assert body == {
        "receipt_no": p.receipt_no,
        "received_on": "2026-03-02",
        "status": "received",
        "status_label": "已收到",
        "next_deadline": None,
        "replied_at": None,
        "outcome": None,
        "outcome_label": None,
        "evaluated": None,
    }
    # No rating either, even when posted directly.
    client.post(
        RATE, {"receipt_no": p.receipt_no, "query_code": r.query_code, "evaluation": "satisfied"}
    )
    assert Petition.objects.get(pk=p.pk).evaluation == ""


def _normalised(response, receipt: str) -> str:
    """The page without the echoed receipt number and the per-render CSRF token."""
    text = response.content.decode().replace(receipt, "RECEIPT")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


def test_wrong_code_and_unknown_number_get_the_same_answer(client, registered):
    receipt = registered.petition.receipt_no
    wrong = client.post(LOOKUP, {"receipt_no": receipt, "query_code": "AAAAAAAA"})
    unknown = client.post(LOOKUP, {"receipt_no": "XF-210204-2026-999999", "query_code": "AAAAAAAA"})
    for response in (wrong, unknown):
        assert response.status_code == 200
        text = response.content.decode()
        assert GENERIC in text
        assert "办理进度</h2>" not in text and "已登记" not in text
    assert _normalised(wrong, receipt) == _normalised(unknown, "XF-210204-2026-999999")
    api_wrong = client.get(API, {"receipt_no": receipt, "query_code": "AAAAAAAA"})
    api_unknown = client.get(API, {"receipt_no": "XF-210204-2026-999999", "query_code": "A"})
    assert api_wrong.status_code == api_unknown.status_code == 404
    assert api_wrong.json() == api_unknown.json() == {"errors": {"non_field_errors": [GENERIC]}}


def test_api_requires_both_parameters(client):
    response = client.get(API, {"receipt_no": "XF-210204-2026-000001"})
    assert response.status_code == 400
    assert response.json() == {"errors": {"query_code": ["该字段是必填项。"]}}


def test_rating_once_then_the_form_is_gone(client, replied):
    p = replied.petition
    text = _lookup(client, replied).content.decode()
    assert 'name="evaluation"' in text
    assert "（剩余" in text or "（已超期" in text or "（今天到期）" in text
    _no_secrets(text)

    form = {"receipt_no": p.receipt_no, "query_code": replied.query_code}
    response = client.post(RATE, {**form, "evaluation": "satisfied"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "感谢您的评价。" in text
    assert 'name="evaluation"' not in text
    p.refresh_from_db()
    assert p.evaluation == "satisfied"
    event = PetitionEvent.objects.get(petition=p, action="evaluate")
    assert event.actor is None and event.payload == {"evaluation": "satisfied"}

    again = client.post(RATE, {**form, "evaluation": "unsatisfied"}).content.decode()
    assert "该事项目前不能评价或已经评价过。" in again
    p.refresh_from_db()
    assert p.evaluation == "satisfied"
    text = _lookup(client, replied).content.decode()
    assert 'name="evaluation"' not in text
    assert "已评价" in text


def test_rating_needs_the_right_code(client, replied):
    p = replied.petition
    body = {"receipt_no": p.receipt_no, "query_code": "AAAAAAAA", "evaluation": "unsatisfied"}
    response = client.post(RATE, body)
    assert GENERIC in response.content.decode()
    assert Petition.objects.get(pk=p.pk).evaluation == ""


def test_rating_without_a_choice(client, replied):
    p = replied.petition
    response = client.post(RATE, {"receipt_no": p.receipt_no, "query_code": replied.query_code})
    assert "请选择评价。" in response.content.decode()
    assert Petition.objects.get(pk=p.pk).evaluation == ""


def test_rate_limit_per_ip(client, registered, monkeypatch):
    monkeypatch.setattr(tracking, "TRACK_RATE_LIMIT", 3)
    for _i in range(2):
        assert _lookup(client, registered).status_code == 200
    query = {"receipt_no": registered.petition.receipt_no, "query_code": registered.query_code}
    assert client.get(API, query).status_code == 200
    limited = _lookup(client, registered)
    assert limited.status_code == 429
    assert limited["Retry-After"] == str(tracking.TRACK_RATE_WINDOW)
    text = limited.content.decode()
    assert "查询过于频繁，请稍后再试。" in text and "已登记" not in text
    api = client.get(API, query)
    assert api.status_code == 429
    assert api.json() == {"errors": {"non_field_errors": ["查询过于频繁，请稍后再试。"]}}
    rate = client.post(RATE, {**query, "evaluation": "satisfied"})
    assert rate.status_code == 429
    # Another address is not affected; showing the empty form is not a lookup.
    assert _lookup(client, registered, REMOTE_ADDR="10.0.0.2").status_code == 200
    assert client.get(LOOKUP).status_code == 200


def test_default_limit_is_ten_in_ten_minutes(client):
    assert (tracking.TRACK_RATE_LIMIT, tracking.TRACK_RATE_WINDOW) == (10, 600)
    for _i in range(10):
        assert client.post(LOOKUP, {"receipt_no": "x", "query_code": "y"}).status_code == 200
    assert client.post(LOOKUP, {"receipt_no": "x", "query_code": "y"}).status_code == 429


def test_tracking_lookup_service(registered):
    p = registered.petition
    assert tracking.tracking_lookup(p.receipt_no, registered.query_code) == p
    assert tracking.tracking_lookup(p.receipt_no, "WRONG") is None
    assert tracking.tracking_lookup("XF-000000-2026-000001", registered.query_code) is None
    assert tracking.tracking_lookup("", "") is None
