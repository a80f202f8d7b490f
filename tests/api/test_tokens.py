"""Token authentication: Token and Bearer keys act as their user with exactly that user's grants;
revoked or expired tokens, inactive users, unknown keys and malformed headers are 401 in the
error shape; other schemes fall through to the session, which keeps its CSRF check. Tokens are
issued and revoked by command and in the admin, and only a hash of the key is stored."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Grant, Role
from api.models import ApiToken
from api.services import api_token_issue, api_token_revoke, key_hash
from tests.api.conftest import token_client
from tests.api.shapes import error
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PETITIONS = reverse("petitions-api:list")
DISPUTES = reverse("mediation-api:dispute-list")


def detail(pk: int) -> str:
    return reverse("petitions-api:detail", kwargs={"pk": pk})


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_a_token_acts_as_its_user(seeded, bureau_user, bureau_token, scheme):
    client = token_client(bureau_token, scheme)
    expected = sorted(p.pk for p in seeded["petitions"])
    assert sorted(ids(client.get(PETITIONS))) == expected
    assert client.get(detail(seeded["petitions"][0].pk)).json()["id"] == seeded["petitions"][0].pk
    token = ApiToken.objects.get()
    assert token.user == bureau_user
    assert token.last_used_at is not None


def test_token_scoping_is_the_users_own(seeded, register, hierarchy):
    """A street clerk of street 002 sees through a token exactly what the session shows: none
    of street 001's petitions, and their details are 404."""
    clerk2 = UserFactory(username="clerk2")
    Grant.objects.create(user=clerk2, role=Role.STREET_CLERK, area_code="210204002")
    _token, key = api_token_issue(user=clerk2, name="街道2")
    by_token = token_client(key)
    by_session = APIClient()
    by_session.force_login(clerk2)
    for url in (PETITIONS, DISPUTES, reverse("mediation-api:case-list")):
        assert ids(by_token.get(url)) == ids(by_session.get(url)) == []
    out_of_scope = detail(seeded["petitions"][0].pk)
    assert by_token.get(out_of_scope).status_code == by_session.get(out_of_scope).status_code
    assert by_token.get(out_of_scope).json() == error("not_found", "未找到。")


def test_only_a_hash_of_the_key_is_stored(bureau_user):
    token, key = api_token_issue(user=bureau_user, name="对接")
    assert key.startswith("cg_") and len(key) == 43
    assert token.prefix == key[:10]
    assert token.key_hash == key_hash(key) != key
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(key not in str(value) for value in row.values())


def _challenge(response, message: str, code: str = "authentication_failed"):
    assert response.status_code == 401
    assert response.json() == error(code, message)
    assert response["WWW-Authenticate"] == 'Token realm="api"'


def test_revoked_token_is_401(bureau_user, bureau_office):
    token, key = api_token_issue(user=bureau_user, name="对接")
    assert token_client(key).get(PETITIONS).status_code == 200
    api_token_revoke(token=token)
    _challenge(token_client(key).get(PETITIONS), "令牌已被吊销。")


def test_expired_token_is_401(bureau_user):
    _token, key = api_token_issue(
        user=bureau_user, name="对接", expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    _challenge(token_client(key).get(PETITIONS), "令牌已过期。")


def test_token_of_an_inactive_user_is_401(bureau_user):
    _token, key = api_token_issue(user=bureau_user, name="对接")
    bureau_user.is_active = False
    bureau_user.save(update_fields=["is_active"])
    _challenge(token_client(key).get(PETITIONS), "该用户已停用。")


def test_unknown_and_malformed_keys_are_401(bureau_token):
    _challenge(token_client("cg_" + "x" * 40).get(PETITIONS), "令牌无效。")
    _challenge(token_client(bureau_token[:-1]).get(PETITIONS), "令牌无效。")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {bureau_token} extra")
    _challenge(client.get(PETITIONS), "令牌格式无效：应为 “Token <令牌>” 或 “Bearer <令牌>”。")
    client.credentials(HTTP_AUTHORIZATION="Token")
    _challenge(client.get(PETITIONS), "令牌格式无效：应为 “Token <令牌>” 或 “Bearer <令牌>”。")


def test_another_scheme_is_not_signed_in(bureau_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {bureau_token}")
    _challenge(client.get(PETITIONS), "身份认证信息未提供。", code="not_authenticated")


def test_session_keeps_csrf_and_tokens_need_none(bureau_user, bureau_token, hierarchy):
    body = {
        "name": "三月排查",
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "area_code": "210204",
    }
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(bureau_user)
    refused = session.post(reverse("mediation-api:round-list"), body, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert refused.json()["error"]["message"].startswith("CSRF Failed")
    by_token = token_client(bureau_token).post(
        reverse("mediation-api:round-list"), body, format="json"
    )
    assert by_token.status_code == 201, by_token.content


def test_issue_and_revoke_commands(bureau_user, bureau_office):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "api_token_issue", "bureau", "--name", "区平台", "--days", "30", stdout=out, stderr=err
    )
    key = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert token.key_hash == key_hash(key)
    assert token.name == "区平台"
    assert (
        dt.timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    )
    assert f"#{token.pk}（区平台）" in err.getvalue()
    assert token_client(key).get(PETITIONS).status_code == 200
    call_command("api_token_revoke", token.prefix, stdout=io.StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get(PETITIONS).status_code == 401


def test_issue_command_errors(bureau_user):
    with pytest.raises(CommandError, match="用户“nobody”不存在。"):
        call_command("api_token_issue", "nobody", "--name", "x")
    with pytest.raises(CommandError, match="--days 必须是正整数。"):
        call_command("api_token_issue", "bureau", "--name", "x", "--days", "0")
    bureau_user.is_active = False
    bureau_user.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="已停用"):
        call_command("api_token_issue", "bureau", "--name", "x")
    with pytest.raises(CommandError, match="找不到唯一的令牌“cg_nothing”（找到 0 个）。"):
        call_command("api_token_revoke", "cg_nothing")
    assert not ApiToken.objects.exists()


def test_admin_issues_shows_the_key_once_and_revokes(admin_user, bureau_user):
    client = APIClient()
    client.force_login(admin_user)
    add = reverse("admin:api_apitoken_add")
    response = client.post(
        add,
        {"user": bureau_user.pk, "name": "区平台", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 2  # "added" and the key
    shown = next(m for m in messages if "不会再次显示" in m)
    key = shown.rsplit("：", 1)[1]
    assert token.key_hash == key_hash(key)
    assert token.created_by == admin_user
    assert token_client(key).get(PETITIONS).status_code == 200
    change = client.get(reverse("admin:api_apitoken_change", args=[token.pk]))
    assert key not in change.content.decode()
    client.post(
        reverse("admin:api_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get(PETITIONS).status_code == 401


def test_schema_documents_the_token_scheme(client):
    schema = client.get("/api/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    operation = schema["paths"]["/api/v1/petitions/"]["get"]
    assert {"tokenAuth": []} in operation["security"]
    assert {"cookieAuth": []} in operation["security"]
