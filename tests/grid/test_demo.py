"""The demo district: real codes and names, nested generated geometry, cells, and demo logins.

The demo is built once for the module (it takes seconds) and removed afterwards, so that other
modules see an empty database.
"""

import csv
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count, Sum
from django.test import override_settings

from grid.models import Community, District, Generation, GridAssignment, GridCell, Street
from grid.services.demo import BBOX, demo_users_create, grid_demo_build
from grid.services.generator import RESIDENTS_PER_HOUSEHOLD

CSV = Path(__file__).resolve().parents[2] / "grid" / "data" / "shahekou_divisions.csv"
ROLES = [
    "admin", "bureau", "street_clerk", "community_staff", "grid_worker", "mediator",
    "handling_unit", "leader",
]  # fmt: skip


def csv_rows(level: str) -> list[tuple[str, str, str]]:
    with CSV.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["level"] == level]
    return sorted((r["code"], r["name"], r["parent_code"]) for r in rows)


# PBKDF2 costs ~0.6 s per password; the demo sets eight of them.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_hashers(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        generation = grid_demo_build()
        logins = demo_users_create()
    yield {"generation": generation, "logins": logins}
    with django_db_blocker.unblock():
        Generation.objects.filter(pk=generation.pk).delete()
        get_user_model().objects.filter(username__in=ROLES).delete()
        Group.objects.filter(name__in=ROLES).delete()


@pytest.mark.django_db
def test_demo_generation_is_active_and_labelled(demo):
    generation = Generation.objects.get(pk=demo["generation"].pk)
    assert generation.status == Generation.Status.ACTIVE
    assert generation.is_demo
    assert "演示用生成边界，非真实行政区划边界" in generation.description
    report = generation.reports.order_by("-created_at", "-pk").first()
    assert report is not None
    assert report.error_count == 0
    assert [f for f in report.findings if f["level"] == "error"] == []


@pytest.mark.django_db
def test_demo_uses_the_published_codes_and_names(demo):
    gen = demo["generation"]
    district = District.objects.get(generation=gen)
    assert (district.code, district.name) == ("210204", "沙河口区")
    streets = Street.objects.filter(generation=gen).values_list("code", "name", "parent_code")
    assert sorted(streets) == csv_rows("street")
    assert len(streets) == 7
    communities = Community.objects.filter(generation=gen).values_list(
        "code", "name", "parent_code"
    )
    assert sorted(communities) == csv_rows("community")
    assert len(communities) == 94
    assert Community.objects.filter(generation=gen, name="幸福ｅ家社区居委会").exists()


@pytest.mark.django_db
def test_demo_cells_are_coded_under_their_community(demo):
    gen = demo["generation"]
    cells = list(
        GridCell.objects.filter(generation=gen).values_list(
            "code", "parent_code", "community__code"
        )
    )
    assert 1_000 <= len(cells) <= 2_000
    by_community: dict[str, list[str]] = {}
    for code, parent_code, community_code in cells:
        assert parent_code == community_code and code.startswith(community_code)
        by_community.setdefault(community_code, []).append(code)
    assert len(by_community) == 94
    for community_code, codes in by_community.items():
        expected = [f"{community_code}{i:03d}" for i in range(1, len(codes) + 1)]
        assert sorted(codes) == expected


@pytest.mark.django_db
def test_demo_levels_nest(demo):
    gen = demo["generation"]
    district = District.objects.get(generation=gen)
    xmin, ymin, xmax, ymax = district.geom.extent
    assert BBOX[0] <= xmin and ymin >= BBOX[1] and xmax <= BBOX[2] and ymax <= BBOX[3]
    assert district.geom.valid and district.geom.num_coords > 20  # an outline, not the box
    assert district.area_m2 < 0.9 * district.geom.envelope.transform(4549, True).area

    levels = [
        (Street, "district__code", District),
        (Community, "street__code", Street),
        (GridCell, "community__code", Community),
    ]
    for child, parent_key, parent in levels:
        totals = dict(
            child.objects.filter(generation=gen)
            .values(parent_key)
            .annotate(total=Sum("area_m2"))
            .values_list(parent_key, "total")
        )
        areas = dict(parent.objects.filter(generation=gen).values_list("code", "area_m2"))
        assert totals.keys() == areas.keys()
        for code, total in totals.items():
            assert total == pytest.approx(areas[code], rel=1e-3), (child.__name__, code)


@pytest.mark.django_db
def test_demo_households_are_realistic(demo):
    cells = GridCell.objects.filter(generation=demo["generation"])
    totals = cells.aggregate(households=Sum("households"), n=Count("pk"))
    assert 300 <= totals["households"] / totals["n"] <= 500
    assert not cells.filter(households__isnull=True).exists()
    for households, residents in cells.values_list("households", "residents")[:50]:
        assert residents == round(households * RESIDENTS_PER_HOUSEHOLD)


@pytest.mark.django_db
def test_demo_users_exist_with_their_groups(demo):
    logins = demo["logins"]
    assert [username for username, _p, _r in logins] == ROLES
    users = get_user_model().objects
    for username, password, _role in logins:
        user = users.get(username=username)
        assert password == f"demo-{username}-2026"
        assert user.check_password(password)
        assert list(user.groups.values_list("name", flat=True)) == [username]
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert not users.get(username="leader").is_staff
    assignments = GridAssignment.objects.filter(user__username="grid_worker")
    assert assignments.count() == 3
    assert assignments.filter(is_lead=True).count() == 1
    assert {a.cell.generation_id for a in assignments} == {demo["generation"].pk}
    assert all(a.cell.code.startswith("210204017") for a in assignments)


@pytest.mark.django_db
def test_grid_demo_does_nothing_while_a_demo_is_active(demo, capsys):
    cells = GridCell.objects.count()

    call_command("grid_demo")

    out = capsys.readouterr().out
    assert "演示版本已生效" in out
    assert "demo-admin-2026" in out and "demo-grid_worker-2026" in out
    assert Generation.objects.count() == 1
    assert GridCell.objects.count() == cells
    # Running it again keeps one login per role and the worker's three cells.
    assert get_user_model().objects.filter(username__in=ROLES).count() == 8
    assert GridAssignment.objects.filter(user__username="grid_worker").count() == 3
