"""Model history where no workflow event exists (accounts/history.py): boundaries, users and
grants, each change with who, when and what changed; shown on the audit page with its filters."""

import datetime as dt
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.audit import history_changes
from accounts.models import AuthLog, Grant, HistoricalGrant, Role
from grid.models import (
    Generation,
    GridCell,
    HistoricalCommunity,
    HistoricalDistrict,
    HistoricalGeneration,
    HistoricalGridAssignment,
    HistoricalGridCell,
    HistoricalStreet,
)
from tests.factories import GenerationFactory, UserFactory, build_hierarchy

pytestmark = pytest.mark.urls("tests.accounts.urls")

User = get_user_model()
HistoricalUser = User.history.model
CELL = "210204001001001"
HISTORIES = [
    HistoricalGeneration,
    HistoricalDistrict,
    HistoricalStreet,
    HistoricalCommunity,
    HistoricalGridCell,
    HistoricalGridAssignment,
    HistoricalUser,
    HistoricalGrant,
]


def _clear_history() -> None:
    for model in HISTORIES:
        model.objects.all().delete()


def _audit(client, **params):
    AuthLog.objects.all().delete()
    return client.get(reverse("accounts:audit"), params)


def _cell_form(cell: GridCell, **changes) -> dict:
    data = {
        "generation": cell.generation_id,
        "community": cell.community_id,
        "code": cell.code,
        "name": cell.name,
        "geom": cell.geom.geojson,
        "households": str(cell.households),
        "residents": str(cell.residents),
    }
    data.update(changes)
    return data


# --- who, when, what: an admin edit ----------------------------------------------------------


def test_an_admin_edit_of_a_cell_is_a_history_row_with_user_and_diff(admin_client, hierarchy):
    cell = hierarchy["cells"][CELL]
    created = HistoricalGridCell.objects.get(id=cell.pk)  # written by the hierarchy's creation
    assert (created.history_type, created.history_user) == ("+", None)
    before = timezone.now()
    response = admin_client.post(
        reverse("admin:grid_gridcell_change", args=[cell.pk]),
        _cell_form(cell, name="中山网格", households="420"),
    )
    assert response.status_code == 302
    record = HistoricalGridCell.objects.get(id=cell.pk, history_type="~")
    assert (record.history_user.username, record.name, record.households) == (
        "admin_user",
        "中山网格",
        420,
    )
    assert record.history_date >= before
    record._previous = created
    assert history_changes(record) == ["名称：测试1街道北社区第1网格 → 中山网格", "户数：400 → 420"]
    rows = _audit(admin_client, kind="boundary", user="admin_user").context["rows"]
    assert [(r.kind, r.user, r.action, r.object, r.change) for r in rows] == [
        (
            "h_gridcell",
            "admin_user",
            "修改",
            "210204001001001 中山网格",
            "名称：测试1街道北社区第1网格 → 中山网格；户数：400 → 420",
        )
    ]
    assert rows[0].url == reverse("admin:grid_gridcell_change", args=[cell.pk])


def test_a_geometry_change_says_so_without_printing_it(admin_client, hierarchy):
    cell = hierarchy["cells"][CELL]
    moved = cell.geom.clone()
    moved.transform(3857)
    moved = moved.buffer(-10)
    moved.transform(4326)
    from django.contrib.gis.geos import MultiPolygon

    geom = moved if moved.geom_type == "MultiPolygon" else MultiPolygon(moved, srid=4326)
    response = admin_client.post(
        reverse("admin:grid_gridcell_change", args=[cell.pk]),
        _cell_form(cell, geom=geom.geojson),
    )
    assert response.status_code == 302
    rows = _audit(admin_client, kind="boundary", user="admin_user").context["rows"]
    assert [(r.kind, r.change) for r in rows] == [("h_gridcell", "边界已修改")]
    # The derived columns the admin recomputes (simplified copy, area) write no row of their own.
    assert HistoricalGridCell.objects.filter(id=cell.pk, history_user__isnull=False).count() == 1


# --- the import and activation services, the admin and management commands ------------------


def _district_geojson() -> bytes:
    ring = [[121.55, 38.90], [121.59, 38.90], [121.59, 38.92], [121.55, 38.92], [121.55, 38.90]]
    feature = {
        "type": "Feature",
        "properties": {"dm": "210204", "mc": "沙河口区"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def test_an_admin_import_and_activation_are_recorded_with_the_user(admin_client, db):
    response = admin_client.post(
        reverse("admin:grid_generation_import"),
        {
            "file": SimpleUploadedFile("d.geojson", _district_geojson(), "application/geo+json"),
            "level": "district",
            "code_field": "dm",
            "name_field": "mc",
            "parent_field": "",
            "srid": "",
            "generation": "",
            "generation_name": "2027年区划",
            "commit": "on",
        },
    )
    assert response.status_code == 302
    generation = Generation.objects.get(name="2027年区划")
    # The bulk insert of the areas writes one history row per area, with the request's user.
    district = HistoricalDistrict.objects.get()
    assert (district.history_type, district.code, district.history_user.username) == (
        "+",
        "210204",
        "admin_user",
    )
    assert HistoricalGeneration.objects.get(history_type="+").history_user.username == (
        "admin_user"
    )
    response = admin_client.post(
        reverse("admin:grid_generation_changelist"),
        {"action": "activate", "_selected_action": [generation.pk]},
    )
    assert response.status_code == 302
    generation.refresh_from_db()
    assert generation.status == "active"
    change = HistoricalGeneration.objects.get(history_type="~")
    assert change.history_user.username == "admin_user"
    rows = _audit(admin_client, kind="boundary", action="change").context["rows"]
    assert len(rows) == 1
    assert (rows[0].kind, rows[0].user, rows[0].object) == (
        "h_generation",
        "admin_user",
        str(generation),
    )
    assert rows[0].change.startswith("状态：草稿 → 生效；生效时间：— → ")


def test_a_management_command_import_is_recorded_without_a_user(tmp_path, admin_client):
    source = tmp_path / "district.geojson"
    source.write_bytes(_district_geojson())
    call_command(
        "grid_import",
        str(source),
        "--level",
        "district",
        "--code-field",
        "dm",
        "--name-field",
        "mc",
        "--commit",
        stdout=io.StringIO(),
    )
    district = HistoricalDistrict.objects.get()
    assert (district.history_type, district.code, district.history_user) == ("+", "210204", None)
    rows = _audit(admin_client, kind="boundary", object="210204").context["rows"]
    assert [(r.kind, r.user, r.action, r.detail) for r in rows] == [
        ("h_district", "", "新增", "命令行或系统任务")
    ]
    assert "代码：210204" in rows[0].change


def test_the_cell_generator_writes_bulk_history_rows(db):
    from grid.services.generator import grid_generate

    h = build_hierarchy(GenerationFactory())
    community = h["communities"]["210204001001"]
    _clear_history()
    cells = grid_generate(community=community, target_area_m2=200_000, seed=1)
    created = HistoricalGridCell.objects.filter(history_type="+")
    deleted = HistoricalGridCell.objects.filter(history_type="-")
    assert created.count() == len(cells)
    assert sorted(created.values_list("code", flat=True)) == sorted(c.code for c in cells)
    assert deleted.count() == 2  # the two cells the community had before


# --- users and grants ----------------------------------------------------------------------------


def test_a_grant_change_in_the_admin_is_recorded_with_user_and_diff(admin_client, hierarchy):
    target = UserFactory(username="new_clerk")
    grant = Grant.objects.create(user=target, role=Role.STREET_CLERK, area_code="210204001")
    response = admin_client.post(
        reverse("admin:accounts_grant_change", args=[grant.pk]),
        {"user": target.pk, "role": Role.STREET_CLERK, "area_code": "210204002"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    record = HistoricalGrant.objects.get(history_type="~")
    assert (record.history_type, record.history_user.username, record.area_code) == (
        "~",
        "admin_user",
        "210204002",
    )
    rows = _audit(admin_client, kind="grant", user="admin_user").context["rows"]
    assert [(r.user, r.action, r.change) for r in rows] == [
        ("admin_user", "修改", "辖区代码：210204001 → 210204002")
    ]
    admin_client.post(reverse("admin:accounts_grant_delete", args=[grant.pk]), {"post": "yes"})
    rows = _audit(admin_client, kind="grant", action="delete").context["rows"]
    assert [(r.user, r.action, r.object) for r in rows] == [
        ("admin_user", "删除", f"授权 {grant.pk}")
    ]


def test_a_password_change_is_recorded_without_the_hash(admin_client, db):
    target = UserFactory(username="new_clerk")
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[target.pk]),
        {"password1": "Gz-2026-new-password", "password2": "Gz-2026-new-password"},
    )
    assert response.status_code == 302
    record = HistoricalUser.objects.get(id=target.pk, history_type="~")
    assert (record.history_user.username, record.password_changed) == ("admin_user", True)
    assert not hasattr(record, "password")
    rows = _audit(admin_client, kind="user", user="admin_user").context["rows"]
    assert [(r.action, r.object, r.change) for r in rows] == [("修改", "new_clerk", "修改了密码")]


def test_signing_in_writes_no_user_history(client, db):
    UserFactory(username="clerk_a", password="pw-for-tests-1")
    _clear_history()
    response = client.post(
        reverse("grid:login"), {"username": "clerk_a", "password": "pw-for-tests-1"}
    )
    assert response.status_code == 302
    assert User.objects.get(username="clerk_a").last_login is not None
    assert not HistoricalUser.objects.exists()


def test_a_new_user_and_its_assignment_are_recorded(admin_client, hierarchy):
    from grid.models import GridAssignment

    worker = UserFactory(username="gw_new")
    GridAssignment.objects.create(user=worker, cell=hierarchy["cells"][CELL])
    rows = _audit(admin_client, object="gw_new").context["rows"]
    assert [(r.kind, r.action) for r in rows] == [("h_gridassignment", "新增"), ("h_user", "新增")]
    assert rows[1].change.startswith("超级用户状态：否；用户名：gw_new；")


# --- the audit page's filters over the histories ---------------------------------------------


@pytest.fixture
def histories(admin_client, hierarchy, admin_user):
    """Three changes on three days: a cell (admin), a grant (admin), a user (a command)."""
    cell = hierarchy["cells"][CELL]
    admin_client.post(
        reverse("admin:grid_gridcell_change", args=[cell.pk]), _cell_form(cell, name="甲网格")
    )
    target = UserFactory(username="new_clerk")
    grant = Grant.objects.create(user=target, role=Role.STREET_CLERK, area_code="210204001")
    HistoricalGrant.objects.filter(id=grant.pk).update(history_user=admin_user)
    # Everything else (the hierarchy's and the users' creation) happened long before.
    for model in HISTORIES:
        model.objects.update(history_date=timezone.make_aware(dt.datetime(2020, 1, 1)))
    cells = HistoricalGridCell.objects.filter(id=cell.pk, history_type="~")
    grants = HistoricalGrant.objects.filter(id=grant.pk)
    users = HistoricalUser.objects.filter(id=target.pk)
    for rows, day in ((cells, 1), (grants, 2), (users, 3)):
        assert rows.update(history_date=timezone.make_aware(dt.datetime(2026, 3, day, 10))) == 1


@pytest.mark.parametrize(
    ("params", "kinds"),
    [
        ({}, ["h_user", "h_grant", "h_gridcell"]),
        ({"kind": "boundary"}, ["h_gridcell"]),
        ({"kind": "grant"}, ["h_grant"]),
        ({"kind": "user"}, ["h_user"]),
        ({"user": "ADMIN_USER"}, ["h_grant", "h_gridcell"]),
        ({"object": "new_clerk"}, ["h_user", "h_grant"]),
        ({"object": "210204001001001"}, ["h_gridcell"]),
        ({"action": "add"}, ["h_user", "h_grant"]),
        ({"action": "change"}, ["h_gridcell"]),
        ({"date_to": "2026-03-02"}, ["h_grant", "h_gridcell"]),
        ({"date_to": "2026-03-01"}, ["h_gridcell"]),
        ({"kind": "grant", "object": "甲网格"}, []),
    ],
)
def test_history_filters(admin_client, histories, params, kinds):
    response = _audit(admin_client, date_from="2026-03-01", **params)
    assert response.status_code == 200
    # The admin's own log (its cell edit) is another kind of row: only the histories here.
    assert [r.kind for r in response.context["rows"] if r.kind.startswith("h_")] == kinds


def test_the_bureau_sees_the_histories_too(client, histories):
    bureau = UserFactory(username="bureau_b")
    Grant.objects.create(user=bureau, role=Role.BUREAU, area_code="210204")
    client.force_login(bureau)
    rows = _audit(client, kind="boundary", date_from="2026-03-01").context["rows"]
    assert [(r.kind, r.user, r.change) for r in rows] == [
        ("h_gridcell", "admin_user", "名称：测试1街道北社区第1网格 → 甲网格")
    ]


# --- the header's link --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.ADMIN, True),
        (Role.BUREAU, True),
        (Role.STREET_CLERK, False),
        (Role.COMMUNITY_STAFF, False),
        (Role.GRID_WORKER, False),
        (Role.LEADER, False),
    ],
)
def test_the_audit_link_is_in_the_header_for_bureau_and_admin_only(client, db, role, shown):
    user = UserFactory(username=f"nav_{role}")
    Grant.objects.create(user=user, role=role, area_code="" if role == Role.ADMIN else "210204")
    client.force_login(user)
    html = client.get(reverse("petitions:list")).content.decode()
    link = f'<a href="{reverse("accounts:audit")}" id="nav-audit">审计</a>'
    assert (link in html) is shown


def test_no_audit_link_for_visitors(client, db):
    assert 'id="nav-audit"' not in client.get(reverse("grid:login")).content.decode()
