"""One error shape for every /api/v1/ endpoint and status, messages in Chinese by default (and
in the request's language), and the shape documented for every operation in the schema."""

import logging

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import token_client
from tests.api.shapes import conflict, error, invalid

pytestmark = pytest.mark.django_db

PETITIONS = reverse("petitions-api:list")


@pytest.fixture
def bureau_client(bureau_token):
    return token_client(bureau_token)


def test_400_lists_fields_and_reasons(bureau_client):
    response = bureau_client.get(PETITIONS, {"due_within": "abc", "ordering": "summary"})
    assert response.status_code == 400
    assert response.json() == invalid(
        {"due_within": ["请填写合法的整数值。"], "ordering": ["不支持按“summary”排序。"]}
    )


def test_400_nested_fields_are_flat_keys(bureau_client, hierarchy):
    body = {
        "type": "people",
        "source": "application",
        "committee": 999999,
        "summary": "x",
        "parties": [{"role": "boss", "name": "王甲"}],
    }
    response = bureau_client.post(reverse("mediation-api:case-list"), body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["parties[0].role"] == ["“boss” 不是合法选项。"]


def test_400_unparsable_json(bureau_client):
    response = bureau_client.post(PETITIONS, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert response.json()["error"]["message"].startswith("JSON parse error")


def test_401_when_not_signed_in():
    response = APIClient().get(PETITIONS)
    assert response.status_code == 401
    assert response.json() == error("not_authenticated", "身份认证信息未提供。")


def test_403_role_without_the_right(seeded, district_leader_token):
    response = token_client(district_leader_token).post(
        reverse("mediation-api:round-list"), {}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == error("permission_denied", "您的角色无权执行此操作。")


def test_a_django_permission_denied_keeps_its_reason_or_gets_the_default():
    """Shared checks (e.g. mediation.rights.role_require, used by the pages too) raise Django's
    PermissionDenied: its reason reaches the API client; without one, DRF's default message."""
    from django.core.exceptions import PermissionDenied
    from django.utils import translation

    from api.exceptions import exception_handler

    with translation.override("zh-hans"):
        reasoned = exception_handler(PermissionDenied("您的角色无权执行此操作。"), {})
        bare = exception_handler(PermissionDenied(), {})
    assert (reasoned.status_code, reasoned.data) == (
        403,
        error("permission_denied", "您的角色无权执行此操作。"),
    )
    assert (bare.status_code, bare.data) == (
        403,
        error("permission_denied", "您没有执行该操作的权限。"),
    )


def test_404_out_of_scope_unknown_page_and_unknown_url(bureau_client, seeded):
    assert bureau_client.get(reverse("petitions-api:detail", args=[999999])).json() == error(
        "not_found", "未找到。"
    )
    page = bureau_client.get(PETITIONS, {"page": 9})
    assert page.status_code == 404
    assert page.json() == error("not_found", "页码无效：该页不存在。")
    unknown = bureau_client.get("/api/v1/nothing/here/")
    assert unknown.status_code == 404
    assert unknown.json() == error("not_found", "未找到该接口。")


def test_405_method_not_allowed(bureau_client):
    response = bureau_client.delete(PETITIONS)
    assert response.status_code == 405
    assert response.json() == error("method_not_allowed", "方法 “DELETE” 不被允许。")


def test_409_step_not_allowed_now(bureau_client, seeded):
    petition = seeded["petitions"][0]
    url = reverse("petitions-api:action", kwargs={"pk": petition.pk, "action": "close"})
    response = bureau_client.post(url, {}, format="json")
    assert response.status_code == 409
    assert response.json() == conflict("当前状态“已登记”下不能执行此操作。")


def test_415_unsupported_body(bureau_client):
    response = bureau_client.post(PETITIONS, "summary=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == error(
        "unsupported_media_type", "不支持请求中的媒体类型 “text/plain”。"
    )


def test_422_idempotency_key_reused_for_another_request(bureau_client, hierarchy):
    url = reverse("mediation-api:round-list")
    body = {
        "name": "三月排查",
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "area_code": "210204",
    }
    assert (
        bureau_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    )
    other = bureau_client.post(
        url, {**body, "name": "四月排查"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert other.status_code == 422
    assert other.json() == error(
        "idempotency_key_mismatch",
        "该防重复提交标识已用于另一个请求（方法、路径或内容不同），请换一个标识。",
    )


@pytest.mark.urls("tests.api.urls")
def test_412_precondition_failed():
    response = APIClient().get("/api/v1/test/precondition/")
    assert response.status_code == 412
    assert response.json() == error("precondition_failed", "版本已变化。")


@pytest.mark.urls("tests.api.urls")
def test_429_throttled_with_retry_after():
    cache.clear()
    client = APIClient()
    assert client.get("/api/v1/test/throttled/").status_code == 200
    response = client.get("/api/v1/test/throttled/")
    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "throttled"
    wait = int(response["Retry-After"])
    assert body["message"] == f"请求已被限流。 预计 {wait} 秒后可用。"
    assert body["fields"] == {}
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.urls("tests.api.urls")
def test_500_is_logged_and_answered_in_the_shape(caplog):
    with caplog.at_level(logging.ERROR, logger="api"):
        response = APIClient().get("/api/v1/test/broken/")
    assert response.status_code == 500
    assert response.json() == error("server_error", "服务器内部错误，已记录，请稍后重试。")
    record = next(r for r in caplog.records if r.name == "api")
    assert record.getMessage() == "Unhandled error in GET /api/v1/test/broken/"
    assert "boom: a bug" in str(record.exc_info[1])


def test_messages_follow_the_request_language(bureau_client):
    response = bureau_client.get(
        reverse("petitions-api:detail", args=[999999]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.json() == error("not_found", "Not found.")


def test_schema_documents_the_error_shape_on_every_operation(client):
    schema = client.get("/api/schema/?format=json").json()
    component = schema["components"]["schemas"]["Error"]
    assert component["required"] == ["error"]
    assert component["properties"]["error"]["required"] == ["code", "message", "fields"]
    ref = {"$ref": "#/components/schemas/Error"}
    operations = [
        (path, method, op)
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in ops.items()
    ]
    assert len(operations) >= 55
    for path, method, op in operations:
        expected = {"400", "401", "403", "404", "405", "406", "500"}
        if method == "post":
            expected |= {"409", "415", "422"}
        for status in expected:
            content = op["responses"][status]["content"]["application/json"]
            assert content["schema"] == ref, (path, method, status)
