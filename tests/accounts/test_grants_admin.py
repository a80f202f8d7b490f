"""Admin screens for users and grants (SPEC §6): only the admin role manages them; a grant must
scope something real (an existing area, or an organisation of the right kind); every change is an
admin log entry that the audit page lists. The login log is read-only."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import AuthLog, Grant, Role
from petitions.models import Organization
from tests.factories import UserFactory

pytestmark = pytest.mark.urls("tests.accounts.urls")

User = get_user_model()


@pytest.fixture
def unit(db):
    return Organization.objects.create(name="区城建局", kind=Organization.Kind.HANDLING_UNIT)


@pytest.fixture
def committee(db):
    return Organization.objects.create(
        name="测试1街道北社区人民调解委员会",
        kind=Organization.Kind.COMMITTEE,
        area_code="210204001001",
    )


@pytest.fixture
def target(db):
    return UserFactory(username="new_clerk")


def _add(client, **data):
    return client.post(reverse("admin:accounts_grant_add"), data)


def _errors(response) -> dict[str, list[str]]:
    form = response.context["adminform"].form
    return {k: [str(m) for m in v] for k, v in form.errors.items()}


def test_the_admin_adds_an_area_grant_and_it_is_logged(admin_client, hierarchy, target):
    response = _add(admin_client, user=target.pk, role=Role.STREET_CLERK, area_code="210204001")
    assert response.status_code == 302
    grant = Grant.objects.get(user=target)
    assert (grant.role, grant.area_code, grant.organization) == ("street_clerk", "210204001", None)
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.object_id, entry.user.username) == (
        ADDITION,
        str(grant.pk),
        "admin_user",
    )
    # … and the audit page shows it.
    AuthLog.objects.all().delete()
    rows = admin_client.get(reverse("accounts:audit"), {"kind": "admin"}).context["rows"]
    assert [(r.user, r.action, r.object) for r in rows] == [
        ("admin_user", "新增", f"授权 · {grant}")
    ]


def test_changelist_shows_role_area_name_and_organisation(admin_client, hierarchy, unit, target):
    Grant.objects.create(user=target, role=Role.STREET_CLERK, area_code="210204001")
    Grant.objects.create(user=target, role=Role.HANDLING_UNIT, organization=unit)
    response = admin_client.get(reverse("admin:accounts_grant_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    street = hierarchy["streets"]["210204001"].name
    assert f'<td class="field-area">{street}</td>' in html
    assert '<td class="field-organization nowrap">区城建局</td>' in html
    assert html.count('class="field-role') == 2


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"role": "street_clerk"}, {"area_code": ["该角色须指定辖区代码。"]}),
        (
            {"role": "community_staff", "area_code": "210204009001"},
            {"area_code": ["没有代码为 210204009001 的区域。"]},
        ),
        ({"role": "leader", "area_code": "12345"}, {"area_code": ["没有代码为 12345 的区域。"]}),
        ({"role": "handling_unit"}, {"organization": ["该角色须指定所属单位。"]}),
        (
            {"role": "handling_unit", "org": "committee"},
            {"organization": ["所属单位应为承办单位。"]},
        ),
        ({"role": "mediator", "org": "unit"}, {"organization": ["所属单位应为人民调解委员会。"]}),
        (
            {"role": "admin", "area_code": "210204"},
            {"role": ["系统管理员的授权不限辖区，不填辖区代码和所属单位。"]},
        ),
    ],
    ids=[
        "no-area",
        "unknown-community",
        "bad-code",
        "no-unit",
        "unit-kind",
        "committee-kind",
        "admin",
    ],
)
def test_grants_that_scope_nothing_real_are_refused(
    admin_client, hierarchy, target, unit, committee, data, errors
):
    orgs = {"unit": unit.pk, "committee": committee.pk}
    post = {"user": target.pk, "role": data["role"], "area_code": data.get("area_code", "")}
    if "org" in data:
        post["organization"] = orgs[data["org"]]
    response = _add(admin_client, **post)
    assert response.status_code == 200
    assert _errors(response) == errors
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    ("role", "area_code", "org"),
    [
        ("bureau", "210204", None),
        ("community_staff", "210204001001", None),
        ("grid_worker", "210204001001001", None),
        ("mediator", "", "committee"),
        ("handling_unit", "", "unit"),
        ("admin", "", None),
    ],
)
def test_valid_grants_of_every_kind(
    admin_client, hierarchy, target, unit, committee, role, area_code, org
):
    orgs = {"unit": unit.pk, "committee": committee.pk}
    post = {"user": target.pk, "role": role, "area_code": area_code}
    if org:
        post["organization"] = orgs[org]
    assert _add(admin_client, **post).status_code == 302
    assert Grant.objects.get(user=target).role == role


def test_user_page_edits_grants_inline(admin_client, hierarchy, target):
    url = reverse("admin:auth_user_change", args=[target.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'id="grants-group"' in page.content.decode()
    response = admin_client.post(
        url,
        {
            "username": "new_clerk",
            "is_active": "on",
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
            "grants-TOTAL_FORMS": "2",
            "grants-INITIAL_FORMS": "0",
            "grants-MIN_NUM_FORMS": "0",
            "grants-MAX_NUM_FORMS": "1000",
            "grants-0-role": "street_clerk",
            "grants-0-area_code": "210204001",
            "grants-1-role": "community_staff",
            "grants-1-area_code": "210204009001",
        },
    )
    assert response.status_code == 200  # the second grant names no area: nothing is saved
    assert "没有代码为 210204009001 的区域。" in response.content.decode()
    assert not Grant.objects.exists()


def test_user_page_saves_a_valid_inline_grant(admin_client, hierarchy, target):
    url = reverse("admin:auth_user_change", args=[target.pk])
    response = admin_client.post(
        url,
        {
            "username": "new_clerk",
            "is_active": "on",
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
            "grants-TOTAL_FORMS": "1",
            "grants-INITIAL_FORMS": "0",
            "grants-MIN_NUM_FORMS": "0",
            "grants-MAX_NUM_FORMS": "1000",
            "grants-0-role": "street_clerk",
            "grants-0-area_code": "210204001",
        },
    )
    assert response.status_code == 302
    assert list(Grant.objects.values_list("user__username", "role", "area_code")) == [
        ("new_clerk", "street_clerk", "210204001")
    ]
    assert LogEntry.objects.get().action_flag == CHANGE
    changelist = admin_client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert '<td class="field-roles">街道信访接待员</td>' in changelist


@pytest.fixture
def staff_bureau(bureau):
    """A staff user with the bureau role and every model permission on users and grants."""
    Grant.objects.create(user=bureau, role=Role.BUREAU, area_code="210204")
    bureau.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["accounts", "auth"])
    )
    return bureau


def test_only_the_admin_role_manages_users_and_grants(client, staff_bureau, target):
    client.force_login(staff_bureau)
    for url in [
        reverse("admin:accounts_grant_changelist"),
        reverse("admin:accounts_grant_add"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[target.pk]),
    ]:
        assert client.get(url).status_code == 403, url
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:accounts_grant_changelist") not in index
    assert reverse("admin:auth_user_changelist") not in index


def test_a_staff_user_with_the_admin_role_manages_them(client, db, target):
    manager = UserFactory(username="manager", is_staff=True)
    Grant.objects.create(user=manager, role=Role.ADMIN)
    client.force_login(manager)
    assert client.get(reverse("admin:accounts_grant_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_change", args=[target.pk])).status_code == 200


def test_the_login_log_is_read_only(admin_client, client, staff_bureau):
    log = AuthLog.objects.create(username="someone", action="failed", ip="192.0.2.1")
    assert admin_client.get(reverse("admin:accounts_authlog_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_authlog_add")).status_code == 403
    change = admin_client.get(reverse("admin:accounts_authlog_change", args=[log.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    delete = admin_client.post(reverse("admin:accounts_authlog_delete", args=[log.pk]))
    assert delete.status_code == 403
    # The bureau reads it too.
    client.force_login(staff_bureau)
    assert client.get(reverse("admin:accounts_authlog_changelist")).status_code == 200
