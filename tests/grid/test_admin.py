"""The grid admin: every level renders with a Leaflet widget, reports read as a table, generations
are activated (plainly, refused, or forced with a reason), re-validated, and boundary files
uploaded through the importer."""

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grid.forms import upload_save
from grid.models import (
    Community,
    District,
    Generation,
    GenerationEvent,
    GridAssignment,
    GridCell,
    Street,
    ValidationReport,
)
from grid.services.validation import generation_validate
from tests.factories import (
    STEP,
    X0,
    Y0,
    GenerationFactory,
    UserFactory,
    build_hierarchy,
    square,
)

CELL = "210204001001001"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _seeded(hierarchy, model):
    """One stored object of each admin model, from the active `hierarchy` fixture."""
    if model is GridAssignment:
        return GridAssignment.objects.create(
            user=UserFactory(username="worker1"), cell=hierarchy["cells"][CELL], is_lead=True
        )
    return model.objects.order_by("pk").first()


AREA_MODELS = [District, Street, Community, GridCell]
OTHER_MODELS = [Generation, GenerationEvent, GridAssignment, ValidationReport]


@pytest.mark.parametrize("model", AREA_MODELS + OTHER_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_form_render(admin_client, hierarchy, model):
    obj = _seeded(hierarchy, model)
    name = model._meta.model_name
    listing = admin_client.get(reverse(f"admin:grid_{name}_changelist"))
    assert listing.status_code == 200
    page = admin_client.get(reverse(f"admin:grid_{name}_change", args=[obj.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    if model in AREA_MODELS:
        # django-leaflet's widget: its map div, its loader, and the assets served locally.
        assert '<div id="id_geom-map" class="leaflet-container-default"></div>' in html
        assert "L.Map.djangoMap('id_geom-map'" in html
        assert '<script src="/static/leaflet/leaflet.js"></script>' in html
        # The derived simplified copy is not an editable field.
        assert 'name="geom_simple"' not in html
        # parent_code and code are read-only once saved.
        assert 'name="code"' not in html
        assert 'name="parent_code"' not in html
        assert obj.code in html


def test_area_add_form_has_code_input_and_map(admin_client, hierarchy):
    page = admin_client.get(reverse("admin:grid_gridcell_add"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="code"' in html
    assert '<div id="id_geom-map" class="leaflet-container-default"></div>' in html
    assert 'name="parent_code"' not in html


def test_cell_changelist_search_and_filter(admin_client, hierarchy):
    url = reverse("admin:grid_gridcell_changelist")
    found = admin_client.get(url, {"q": CELL})
    assert [c.code for c in found.context["cl"].result_list] == [CELL]
    other = GenerationFactory()
    build_hierarchy(other)
    by_generation = admin_client.get(url, {"generation__id__exact": other.pk})
    assert by_generation.context["cl"].result_count == 8
    assert {c.generation_id for c in by_generation.context["cl"].result_list} == {other.pk}
    assert admin_client.get(url).context["cl"].result_count == 16


def test_admin_adds_a_cell_with_parent_code_and_area(admin_client):
    h = build_hierarchy(GenerationFactory())
    community = h["communities"]["210204001001"]
    geom = {
        "type": "MultiPolygon",
        "coordinates": [
            [
                [
                    [121.55, 38.905],
                    [121.555, 38.905],
                    [121.555, 38.91],
                    [121.55, 38.91],
                    [121.55, 38.905],
                ]
            ]
        ],
    }
    response = admin_client.post(
        reverse("admin:grid_gridcell_add"),
        {
            "generation": h["generation"].pk,
            "community": community.pk,
            "code": "210204001001009",
            "name": "新增网格",
            "geom": json.dumps(geom),
            "households": "120",
            "residents": "300",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    cell = GridCell.objects.get(generation=h["generation"], code="210204001001009")
    assert cell.parent_code == "210204001001"
    assert cell.community_id == community.pk
    # areas_finalize ran: a 0.005° × 0.005° square near 38.9°N is about 433 m × 555 m.
    assert cell.area_m2 == pytest.approx(240_000, rel=0.02)
    assert cell.geom_simple is not None


def test_admin_refuses_a_parent_from_another_generation(admin_client, hierarchy):
    other = GenerationFactory()
    geom = {
        "type": "MultiPolygon",
        "coordinates": [[[[121.55, 38.9], [121.56, 38.9], [121.56, 38.91], [121.55, 38.9]]]],
    }
    response = admin_client.post(
        reverse("admin:grid_gridcell_add"),
        {
            "generation": other.pk,
            "community": hierarchy["communities"]["210204001001"].pk,
            "code": "210204001001009",
            "name": "错版本网格",
            "geom": json.dumps(geom),
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["community"] == [
        "上级区域必须属于同一边界版本。"
    ]
    assert not GridCell.objects.filter(code="210204001001009").exists()


def test_validation_report_shows_findings_as_a_readonly_table(admin_client):
    report = ValidationReport.objects.create(
        generation=GenerationFactory(),
        error_count=1,
        warning_count=1,
        findings=[
            {
                "rule": "sibling_overlap",
                "level": "error",
                "code": "210204001001001",
                "message": "与 210204001001002 重叠",
                "area_m2": 1234.5,
            },
            {
                "rule": "coverage_gap",
                "level": "warning",
                "code": "210204001001",
                "message": "子区域未覆盖上级",
                "area_m2": None,
            },
        ],
    )
    page = admin_client.get(reverse("admin:grid_validationreport_change", args=[report.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<table class="validation-findings">' in html
    assert (
        '<tr class="finding finding--error"><td>同级重叠 <code>sibling_overlap</code></td>'
        "<td>错误</td><td>210204001001001</td><td>与 210204001001002 重叠</td>"
        "<td>1,234.5</td></tr>"
    ) in html
    assert "<td>警告</td><td>210204001001</td><td>子区域未覆盖上级</td><td>—</td>" in html
    # View-only: no save button, no add page.
    assert 'name="_save"' not in html
    assert admin_client.get(reverse("admin:grid_validationreport_add")).status_code == 403


def _act(client, action: str, generation: Generation, follow: bool = False):
    return client.post(
        reverse("admin:grid_generation_changelist"),
        {"action": action, "_selected_action": [generation.pk]},
        follow=follow,
    )


def _broken_generation(name: str) -> Generation:
    """A draft whose first cell overlaps its eastern sibling: one sibling_overlap error."""
    generation = GenerationFactory(name=name)
    h = build_hierarchy(generation)
    cell = h["cells"][CELL]
    cell.geom = square(X0, Y0 + STEP, X0 + 1.5 * STEP, Y0 + 2 * STEP)
    cell.save(update_fields=["geom"])
    return generation


def test_activate_action_activates_a_clean_generation(admin_client, admin_user, hierarchy):
    new = GenerationFactory(name="新版本")
    build_hierarchy(new)
    response = _act(admin_client, "activate", new)
    assert response.status_code == 302
    assert _messages(response) == ["版本“新版本”已生效。"]
    new.refresh_from_db()
    hierarchy["generation"].refresh_from_db()
    assert new.status == Generation.Status.ACTIVE
    assert hierarchy["generation"].status == Generation.Status.RETIRED
    event = GenerationEvent.objects.get(generation=new, action="activate")
    assert (event.actor, event.forced) == (admin_user, False)


def test_activate_action_refuses_a_generation_with_errors(admin_client, hierarchy):
    new = _broken_generation("有错版本")
    response = _act(admin_client, "activate", new)
    report = new.reports.get()
    assert [f["rule"] for f in report.findings] == ["sibling_overlap"]
    url = reverse("admin:grid_validationreport_change", args=[report.pk])
    assert _messages(response) == [
        "校验报告有 1 个错误，不能生效（可强制生效，将被记录）。 "
        f'<a href="{url}">1 个错误，0 个警告</a>'
    ]
    new.refresh_from_db()
    assert new.status == Generation.Status.DRAFT
    assert not GenerationEvent.objects.filter(generation=new).exists()


def test_activate_action_wants_exactly_one_generation(admin_client):
    a, b = GenerationFactory(), GenerationFactory()
    response = admin_client.post(
        reverse("admin:grid_generation_changelist"),
        {"action": "activate", "_selected_action": [a.pk, b.pk]},
    )
    assert _messages(response) == ["请只选择一个版本。"]
    assert Generation.objects.filter(status="active").count() == 0


def test_force_activate_action_leads_to_the_reason_page(admin_client):
    new = GenerationFactory()
    response = _act(admin_client, "force_activate", new)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:grid_generation_force_activate", args=[new.pk])


def test_forced_activation_needs_a_reason_and_is_logged(admin_client, admin_user, hierarchy):
    new = _broken_generation("强制版本")
    generation_validate(generation=new)
    url = reverse("admin:grid_generation_force_activate", args=[new.pk])

    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()
    assert "1 个错误，0 个警告" in page.content.decode()

    refused = admin_client.post(url, {"reason": ""})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"reason": ["该字段是必填项。"]}
    new.refresh_from_db()
    assert new.status == Generation.Status.DRAFT

    reason = "街道调整已经区政府批准，缺口待下一版修正"
    done = admin_client.post(url, {"reason": reason})
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:grid_generation_changelist")
    new.refresh_from_db()
    assert new.status == Generation.Status.ACTIVE
    event = GenerationEvent.objects.get(generation=new, action="activate")
    assert (event.forced, event.reason, event.actor) == (True, reason, admin_user)
    assert event.payload["errors"] == 1
    # The generation's page lists the event with its reason and actor.
    html = admin_client.get(reverse("admin:grid_generation_change", args=[new.pk])).content.decode()
    cells = dict(re.findall(r'<td class="field-(\w+)">\s*<p>(.*?)</p>\s*</td>', html))
    assert cells["reason"] == reason
    assert cells["actor_label"] == "admin_user"
    assert cells["action_label"] == "生效"


def test_force_activate_page_is_staff_only(client, street_clerk):
    new = GenerationFactory()
    client.force_login(street_clerk)
    url = reverse("admin:grid_generation_force_activate", args=[new.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_revalidate_action_stores_a_new_report(admin_client, hierarchy):
    generation = hierarchy["generation"]
    before = generation.reports.count()
    response = _act(admin_client, "revalidate", generation)
    assert response.status_code == 302
    assert generation.reports.count() == before + 1
    report = generation.reports.order_by("-created_at", "-pk").first()
    # The fixture's lattice nests exactly: no findings.
    assert (report.error_count, report.warning_count) == (0, 0)
    url = reverse("admin:grid_validationreport_change", args=[report.pk])
    assert _messages(response) == [f'{generation.name}：<a href="{url}">0 个错误，0 个警告</a>']


def test_generation_changelist_links_the_upload_page(admin_client):
    html = admin_client.get(reverse("admin:grid_generation_changelist")).content.decode()
    assert f'href="{reverse("admin:grid_generation_import")}"' in html


def test_active_generation_cannot_be_deleted(admin_client, hierarchy):
    url = reverse("admin:grid_generation_delete", args=[hierarchy["generation"].pk])
    assert admin_client.get(url).status_code == 403


# --- Boundary upload ----------------------------------------------------------------------------


def _district_geojson() -> bytes:
    ring = [[121.55, 38.90], [121.59, 38.90], [121.59, 38.92], [121.55, 38.92], [121.55, 38.90]]
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"dm": "210204", "mc": "沙河口区"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            ],
        }
    ).encode()


def _upload(client, **fields):
    data = {
        "file": SimpleUploadedFile("district.geojson", _district_geojson(), "application/geo+json"),
        "level": "district",
        "code_field": "dm",
        "name_field": "mc",
        "parent_field": "",
        "srid": "",
        "generation": "",
        "generation_name": "",
        **fields,
    }
    return client.post(reverse("admin:grid_generation_import"), data)


def test_upload_page_renders_for_staff_only(admin_client, client, street_clerk):
    url = reverse("admin:grid_generation_import")
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html
    for name in (
        "file",
        "level",
        "code_field",
        "name_field",
        "parent_field",
        "households_field",
        "residents_field",
        "srid",
        "fix_invalid",
        "generation",
        "generation_name",
        "commit",
    ):
        assert f'name="{name}"' in html
    client.force_login(street_clerk)
    assert client.get(url)["Location"].startswith(reverse("admin:login"))


def test_upload_dry_run_redirects_to_its_report(admin_client):
    response = _upload(admin_client)
    assert response.status_code == 302, response.context["form"].errors
    report = ValidationReport.objects.get()
    assert response["Location"] == reverse("admin:grid_validationreport_change", args=[report.pk])
    assert report.committed is False
    assert not District.objects.exists()
    assert _messages(response) == ["试导入：读取 1 个要素，未写入数据库；0 个错误，0 个警告。"]


def test_upload_commit_loads_a_new_draft_generation(admin_client):
    response = _upload(admin_client, commit="on", generation_name="2026 年普查边界")
    assert response.status_code == 302, response.context["form"].errors
    generation = Generation.objects.get(name="2026 年普查边界")
    assert generation.status == Generation.Status.DRAFT
    district = District.objects.get(generation=generation)
    assert (district.code, district.name) == ("210204", "沙河口区")
    report = ValidationReport.objects.get(generation=generation)
    assert report.committed is True
    assert response["Location"] == reverse("admin:grid_validationreport_change", args=[report.pk])
    assert _messages(response) == ["已读取 1 个要素，写入 1 个；0 个错误，0 个警告。"]


def test_upload_commit_into_an_existing_draft(admin_client):
    draft = GenerationFactory(name="草稿")
    response = _upload(admin_client, commit="on", generation=str(draft.pk))
    assert response.status_code == 302, response.context["form"].errors
    assert District.objects.get(generation=draft).code == "210204"
    assert ValidationReport.objects.get().generation == draft


def test_upload_shows_importer_refusals_on_the_form(admin_client):
    response = _upload(admin_client, code_field="no_such_field")
    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors()
    assert "no_such_field" in error
    assert not ValidationReport.objects.exists()


def test_upload_target_is_a_draft_or_a_new_name_not_both(admin_client):
    draft = GenerationFactory()
    response = _upload(admin_client, generation=str(draft.pk), generation_name="另一个")
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "generation_name": ["请选择已有草稿版本或填写新版本名称，不能同时填写。"]
    }


def test_upload_refuses_unknown_file_types(admin_client):
    response = _upload(
        admin_client, file=SimpleUploadedFile("boundaries.xlsx", b"PK\x03\x04", "application/zip")
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["file"]


def _zip(members: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return SimpleUploadedFile("streets.zip", buffer.getvalue(), "application/zip")


def test_upload_save_extracts_a_zipped_shapefile(tmp_path):
    upload = _zip(
        {
            "export/streets.SHP": b"shp",
            "export/streets.shx": b"shx",
            "export/streets.dbf": b"dbf",
            "export/streets.prj": b"prj",
            "../../escape.txt": b"x",
            "__MACOSX/._streets.shp": b"junk",
        }
    )
    source = upload_save(upload, tmp_path)
    assert source == tmp_path / "unzipped" / "streets.shp"
    assert sorted(p.name for p in source.parent.iterdir()) == [
        "streets.dbf",
        "streets.prj",
        "streets.shp",
        "streets.shx",
    ]
    assert not (tmp_path.parent / "escape.txt").exists()


def test_upload_save_keeps_plain_files(tmp_path):
    upload = SimpleUploadedFile("a.geojson", b"{}")
    assert upload_save(upload, tmp_path) == tmp_path / "a.geojson"
    assert Path(tmp_path / "a.geojson").read_bytes() == b"{}"


def test_upload_of_a_zip_without_a_shapefile_is_a_form_error(admin_client):
    response = _upload(admin_client, file=_zip({"readme.txt": b"no data"}))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "zip 文件中应恰好有一个 .shp（或一个 GeoJSON/GeoPackage/KML）文件，实际找到 0 个。"
    ]


def test_upload_of_a_zipped_geojson_is_imported(admin_client):
    response = _upload(admin_client, file=_zip({"data/district.geojson": _district_geojson()}))
    assert response.status_code == 302, response.context["form"].errors
    report = ValidationReport.objects.get()
    assert report.source.endswith("/unzipped/district.geojson")


def test_upload_of_a_zipped_shapefile_is_imported(admin_client, tmp_path):
    ogr2ogr = shutil.which("ogr2ogr")
    assert ogr2ogr, "gdal-bin (ogr2ogr) is needed to build the shapefile fixture"
    (tmp_path / "in.geojson").write_bytes(_district_geojson())
    subprocess.run(
        [
            ogr2ogr,
            "-f",
            "ESRI Shapefile",
            "-lco",
            "ENCODING=UTF-8",
            str(tmp_path / "qu.shp"),
            str(tmp_path / "in.geojson"),
        ],
        check=True,
    )
    parts = {f"qu/{p.name}": p.read_bytes() for p in tmp_path.glob("qu.*")}
    assert {".shp", ".shx", ".dbf", ".prj"} <= {Path(name).suffix for name in parts}
    response = _upload(admin_client, file=_zip(parts), commit="on", generation_name="shp")
    assert response.status_code == 302, response.context["form"].errors
    district = District.objects.get(generation__name="shp")
    assert (district.code, district.name) == ("210204", "沙河口区")
