"""The home and map pages: login required, local assets only, basemap from settings, the demo
notice, and configuration handed to map.js without inline code."""

import json
import re

import pytest
from django.conf import settings
from django.urls import reverse

from grid.models import Generation

OWN_ASSETS = [
    settings.BASE_DIR / "grid/static/grid/map.js",
    settings.BASE_DIR / "grid/static/grid/map.css",
    settings.BASE_DIR / "static/css/site.css",
    settings.BASE_DIR / "static/css/admin.css",
    settings.BASE_DIR / "templates/base.html",
    settings.BASE_DIR / "templates/registration/login.html",
    settings.BASE_DIR / "grid/templates/grid/map.html",
    settings.BASE_DIR / "grid/templates/grid/home.html",
]


def _config(response) -> dict:
    match = re.search(
        r'<script id="gridmap-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the map configuration element is missing"
    return json.loads(match.group(1))


@pytest.fixture
def clerk_client(client, street_clerk):
    client.force_login(street_clerk)
    return client


@pytest.mark.parametrize("name", ["grid:home", "grid:map"])
def test_pages_redirect_anonymous_users_to_login(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('grid:login')}?next={url}"


def test_login_form_signs_in_a_non_staff_user(client, street_clerk):
    page = client.get(reverse("grid:login"))
    assert page.status_code == 200
    response = client.post(
        reverse("grid:login"),
        {"username": "street_clerk", "password": "pw-for-tests-1", "next": reverse("grid:map")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("grid:map")
    assert client.get(reverse("grid:map")).status_code == 200


def test_map_page_renders_for_a_logged_in_user(clerk_client, hierarchy):
    response = clerk_client.get(reverse("grid:map"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "CivicGrid" in html and "网格化信访与矛盾纠纷管理" in html
    assert '<div id="gridmap" class="leaflet-container-default"></div>' in html
    assert '<script src="/static/grid/map.js"></script>' in html
    assert '<link rel="stylesheet" href="/static/grid/map.css">' in html
    assert f'action="{reverse("set_language")}"' in html
    levels = re.findall(r'<input type="radio" name="level" value="(\w+)"', html)
    assert levels == ["street", "community", "cell"]
    config = _config(response)
    assert config["layerUrl"] == "/api/v1/grid/layers/LEVEL/"
    assert config["levels"] == ["street", "community", "cell"]
    assert config["initialLevel"] == "street"
    assert config["hasGeneration"] is True
    assert config["extent"] == pytest.approx([121.55, 38.90, 121.59, 38.92])
    assert config["basemap"] == []
    assert config["strings"]["households"] == "户数"
    assert "演示用生成边界" not in html


def test_map_page_has_no_external_assets(clerk_client, hierarchy):
    html = clerk_client.get(reverse("grid:map")).content.decode()
    assert "http://" not in html
    assert "https://" not in html
    assets = re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
    assert assets, "no assets found"
    assert [a for a in assets if not a.startswith("/static/")] == []
    # Only one script without src: django-leaflet's loader (it takes the CSP nonce if any);
    # the rest is JSON data, which a CSP does not execute.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    [loader] = [attrs for attrs in inline if "application/json" not in attrs]
    # …and it carries the CSP nonce of this response (no 'unsafe-inline' needed).
    assert re.fullmatch(r' nonce="[A-Za-z0-9+/=]{16,}"', loader)


@pytest.mark.parametrize("path", OWN_ASSETS, ids=lambda p: p.name)
def test_own_templates_and_static_files_name_no_external_url(path):
    text = path.read_text(encoding="utf-8")
    assert "http://" not in text
    assert "https://" not in text
    assert re.search(r"""(src|href|url\()\s*=?\s*["']?//""", text) is None


def test_map_page_shows_the_demo_notice(clerk_client, hierarchy):
    Generation.objects.filter(pk=hierarchy["generation"].pk).update(is_demo=True)
    html = clerk_client.get(reverse("grid:map")).content.decode()
    assert (
        '<p class="notice notice--warning map-notice">演示用生成边界，非真实行政区划边界</p>'
        in html
    )


def test_map_page_without_an_active_generation(clerk_client):
    response = clerk_client.get(reverse("grid:map"))
    assert response.status_code == 200
    assert "尚无生效的边界版本，地图上没有边界可显示。" in response.content.decode()
    config = _config(response)
    assert (config["hasGeneration"], config["extent"]) == (False, None)


def test_tianditu_basemap_from_settings(clerk_client, hierarchy, settings):
    settings.MAP_BASEMAP = "tianditu"
    settings.MAP_TIANDITU_KEY = "k3y"
    vec, cva = _config(clerk_client.get(reverse("grid:map")))["basemap"]
    assert vec["url"] == (
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk=k3y"
    )
    assert cva["url"] == vec["url"].replace("vec", "cva")
    assert vec["options"]["subdomains"] == cva["options"]["subdomains"] == "01234567"


def test_tianditu_without_a_key_falls_back_to_plain_background(clerk_client, hierarchy, settings):
    settings.MAP_BASEMAP = "tianditu"
    settings.MAP_TIANDITU_KEY = ""
    assert _config(clerk_client.get(reverse("grid:map")))["basemap"] == []


def test_xyz_basemap_from_settings(clerk_client, hierarchy, settings):
    settings.MAP_BASEMAP = "xyz"
    settings.MAP_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "区测绘院"
    [layer] = _config(clerk_client.get(reverse("grid:map")))["basemap"]
    assert layer["url"] == "/tiles/{z}/{x}/{y}.png"
    assert layer["options"]["attribution"] == "区测绘院"


def test_admin_map_widget_uses_the_configured_basemap(admin_client, hierarchy, settings):
    settings.MAP_BASEMAP = "xyz"
    settings.MAP_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    cell = hierarchy["cells"]["210204001001001"]
    html = admin_client.get(reverse("admin:grid_gridcell_change", args=[cell.pk])).content.decode()
    assert '"layers": [["\\u5e95\\u56fe", "/tiles/{z}/{x}/{y}.png"' in html  # 底图


def test_home_page_links_map_and_admin_for_staff(admin_client, hierarchy):
    html = admin_client.get(reverse("grid:home")).content.decode()
    assert f'href="{reverse("grid:map")}"' in html
    assert f'href="{reverse("admin:index")}"' in html
    assert f"当前生效的边界版本：{hierarchy['generation'].name}" in html


def test_home_page_hides_admin_from_non_staff(clerk_client, hierarchy):
    html = clerk_client.get(reverse("grid:home")).content.decode()
    assert f'href="{reverse("grid:map")}"' in html
    assert f'href="{reverse("admin:index")}"' not in html
