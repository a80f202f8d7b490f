"""The audit page (SPEC §7): every log in one newest-first list with filters, for the bureau and
administrators only (anyone else: 404, the page's existence is not disclosed)."""

import datetime as dt

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.audit import audit_list, auth_log_write
from accounts.models import AccessLog, AuthLog, Grant, Role
from grid.models import GenerationEvent
from mediation.models import DisputeEvent, MediationEvent
from petitions.models import PetitionEvent
from tests.accounts.test_history import _clear_history
from tests.factories import UserFactory
from tests.mediation.conftest import *  # noqa: F403 — register, record, open_case, bureau_user, …
from tests.petitions.conftest import bj

pytestmark = pytest.mark.urls("tests.accounts.urls")


@pytest.fixture
def trail(hierarchy, register, record, open_case, bureau_user, admin_user):
    """One entry of every kind, each on its own day of March 2026 (Beijing time)."""
    petition = register().petition
    dispute = record()
    case = open_case()
    auth_log_write(action="failed", username="street_clerk")
    AuthLog.objects.update(at=bj(2026, 3, 1, 8, 0), ip="192.0.2.1", user_agent="TestBrowser")
    AccessLog.objects.create(
        user=bureau_user,
        username="bureau",
        action="reveal",
        label=petition.receipt_no,
        reason="核实信访人身份",
        ip="192.0.2.2",
        at=bj(2026, 3, 2, 9, 0),
    )
    PetitionEvent.objects.update(recorded_at=bj(2026, 3, 2, 10, 5))
    DisputeEvent.objects.update(recorded_at=bj(2026, 3, 3, 11, 0), at=bj(2026, 3, 3, 11, 0))
    MediationEvent.objects.update(recorded_at=bj(2026, 3, 5, 9, 1), at=bj(2026, 3, 5, 9, 0))
    GenerationEvent.objects.update(at=bj(2026, 3, 6, 12, 0))
    grant = Grant.objects.get(user=bureau_user)
    LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(Grant),
        object_id=str(grant.pk),
        object_repr=str(grant),
        action_flag=ADDITION,
        change_message='[{"added": {}}]',
        action_time=bj(2026, 3, 7, 15, 0),
    )
    _clear_history()  # the model histories have their own tests (test_history.py)
    return {
        "petition": petition,
        "dispute": dispute,
        "case": case,
        "grant": grant,
        "generation": hierarchy["generation"],
    }


def _rows(response) -> list[tuple]:
    return [(r.kind, r.user, r.action, r.object) for r in response.context["rows"]]


def _get(client, viewer, **params):
    client.force_login(viewer)
    AuthLog.objects.filter(action="login").delete()  # the test's own sign-in
    return client.get(reverse("accounts:audit"), params)


def test_audit_url():
    assert reverse("accounts:audit") == "/audit/"


def test_the_bureau_sees_every_log_newest_first(client, trail, bureau_user, worker, mediator):
    response = _get(client, bureau_user)
    assert response.status_code == 200
    petition, dispute, case = trail["petition"], trail["dispute"], trail["case"]
    assert _rows(response) == [
        ("admin", "admin_user", "新增", f"授权 · {trail['grant']}"),
        ("generation", "", "生效", trail["generation"].name),
        ("mediation", "mediator", "受理调解", case.case_no),
        ("dispute", "grid_worker", "登记纠纷", str(dispute)),
        ("petition", "street_clerk", "登记", petition.receipt_no),
        ("access", "bureau", "查看完整个人信息", petition.receipt_no),
        ("auth", "street_clerk", "登录失败", ""),
    ]
    rows = {r.kind: r for r in response.context["rows"]}
    assert rows["petition"].url == reverse("petitions:detail", args=[petition.pk])
    assert rows["petition"].change == "— → 已登记"
    assert rows["petition"].detail == "办理时间 2026-03-02 10:00"
    assert rows["dispute"].url == reverse("mediation:dispute-detail", args=[dispute.pk])
    assert rows["dispute"].detail == ""
    assert rows["mediation"].url == reverse("mediation:case-detail", args=[case.pk])
    assert (rows["access"].ip, rows["access"].detail) == ("192.0.2.2", "核实信访人身份")
    assert (rows["auth"].ip, rows["auth"].detail) == ("192.0.2.1", "TestBrowser")
    html = response.content.decode()
    assert "共 7 条记录" in html
    assert f'<a href="{rows["petition"].url}">{petition.receipt_no}</a>' in html
    assert '<td class="nowrap">2026-03-01 08:00:00</td>' in html  # shown in Beijing time


def test_admins_see_the_page_too(client, trail, admin_user):
    assert _get(client, admin_user).status_code == 200


@pytest.mark.parametrize("role", ["street_clerk", "leader", "grid_worker", "community_staff"])
def test_other_roles_get_404(client, db, role):
    user = UserFactory(username=f"u_{role}")
    Grant.objects.create(user=user, role=role, area_code="210204001")
    client.force_login(user)
    assert client.get(reverse("accounts:audit")).status_code == 404


def test_staff_without_a_grant_gets_404(client, bureau):
    client.force_login(bureau)  # is_staff, but no bureau grant
    assert client.get(reverse("accounts:audit")).status_code == 404


def test_anonymous_users_are_sent_to_the_login_page(client, db):
    url = reverse("accounts:audit")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('grid:login')}?next={url}"


def test_audit_list_refuses_other_roles(clerk):
    from django.http import Http404

    with pytest.raises(Http404):
        audit_list(clerk)


@pytest.mark.parametrize(
    ("params", "kinds"),
    [
        ({"kind": "petition"}, ["petition"]),
        ({"kind": "auth"}, ["auth"]),
        ({"user": "GRID_WORKER"}, ["dispute"]),  # case-insensitive
        ({"user": "street_clerk"}, ["petition", "auth"]),
        ({"action": "failed"}, ["auth"]),
        ({"action": "add"}, ["admin"]),
        ({"action": "register"}, ["petition"]),
        ({"action": "reveal", "user": "bureau"}, ["access"]),
        ({"date_from": "2026-03-02", "date_to": "2026-03-03"}, ["dispute", "petition", "access"]),
        ({"date_from": "2026-03-06"}, ["admin", "generation"]),
        ({"date_to": "2026-03-01"}, ["auth"]),
        ({"kind": "petition", "action": "failed"}, []),
    ],
)
def test_filters(client, trail, bureau_user, params, kinds):
    response = _get(client, bureau_user, **params)
    assert response.status_code == 200
    assert [r.kind for r in response.context["rows"]] == kinds
    if not kinds:
        assert "没有符合条件的记录。" in response.content.decode()


def test_an_inverted_date_range_is_an_error_and_the_other_filters_still_apply(
    client, trail, bureau_user
):
    response = _get(
        client, bureau_user, kind="petition", date_from="2026-03-02", date_to="2026-03-01"
    )
    assert "截止日期不能早于起始日期。" in response.content.decode()
    assert [r.kind for r in response.context["rows"]] == ["petition"]


def test_a_bureau_sees_case_events_of_its_own_district_only(client, trail):
    other = UserFactory(username="other_bureau")
    Grant.objects.create(user=other, role=Role.BUREAU, area_code="210211")
    _clear_history()
    response = _get(client, other)
    assert [r.kind for r in response.context["rows"]] == ["admin", "generation", "access", "auth"]


def test_pages_of_fifty_in_a_bounded_number_of_queries(
    client, bureau_user, django_assert_max_num_queries
):
    start = bj(2026, 1, 1, 0, 0)
    AuthLog.objects.bulk_create(
        AuthLog(username=f"user{i}", action="failed", ip="192.0.2.9") for i in range(120)
    )
    for i, pk in enumerate(AuthLog.objects.order_by("pk").values_list("pk", flat=True)):
        AuthLog.objects.filter(pk=pk).update(at=start + dt.timedelta(minutes=i))
    client.force_login(bureau_user)
    AuthLog.objects.filter(action="login").delete()
    _clear_history()
    url = reverse("accounts:audit")
    with django_assert_max_num_queries(10):
        first = client.get(url)
    assert [r.user for r in first.context["rows"]] == [f"user{i}" for i in range(119, 69, -1)]
    last = client.get(url, {"page": 3})
    assert [r.user for r in last.context["rows"]] == [f"user{i}" for i in range(19, -1, -1)]
    html = last.content.decode()
    assert "第 3 / 3 页" in html
    assert '<a href="?page=2">上一页</a>' in html
    filtered = client.get(url, {"kind": "auth", "page": 2})
    assert '<a href="?kind=auth&amp;page=1">上一页</a>' in filtered.content.decode()


def test_logins_on_the_site_show_up(client, street_clerk, bureau_user):
    client.post(reverse("grid:login"), {"username": "street_clerk", "password": "bad"})
    response = _get(client, bureau_user, kind="auth")
    assert _rows(response) == [("auth", "street_clerk", "登录失败", "")]
    assert response.context["rows"][0].ip == "127.0.0.1"
