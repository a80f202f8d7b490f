"""A grid worker records a dispute on a phone-sized screen: the phone's position fills the form,
a click on the map inside their cell moves it, the page says which cell that is, and the saved
dispute shows the cell. Nothing is fetched from outside the site; screenshots are kept."""

import pytest
from playwright.sync_api import expect

from accounts.models import Grant, Role
from grid.models import GridAssignment
from mediation.models import Dispute

pytestmark = [pytest.mark.browser]
pytest_plugins = ["tests.browser"]

CELL = "210204001001001"  # x 121.55–121.56, y 38.91–38.92 in the hierarchy fixture
CELL_NAME = "测试1街道北社区第1网格"
PHONE_POSITION = (38.912, 121.552)  # lat, lng (WGS-84, as browsers report it)
CLICK = (38.917, 121.557)


@pytest.fixture
def worker(transactional_db, grid_worker, hierarchy):
    Grant.objects.create(user=grid_worker, role=Role.GRID_WORKER, area_code=CELL)
    GridAssignment.objects.create(user=grid_worker, cell=hierarchy["cells"][CELL], is_lead=True)
    return grid_worker


def _click_map(page, lat: float, lng: float) -> None:
    page.locator("#pickmap").scroll_into_view_if_needed()
    x, y = page.evaluate(
        "([lat, lng]) => { const p = window.leafletmappickmap.latLngToContainerPoint([lat, lng]);"
        " return [p.x, p.y]; }",
        [lat, lng],
    )
    box = page.locator("#pickmap").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_grid_worker_records_a_dispute_on_the_map(
    browser_page, browser_login, browser_screenshot, worker
):
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": PHONE_POSITION[0], "longitude": PHONE_POSITION[1]})
    browser_login(page, worker)
    page.goto("/mediation/disputes/new/")
    page.wait_for_selector('#pickmap[data-state="ready"]')
    # The worker's cell is drawn.
    assert page.locator("#pickmap .leaflet-overlay-pane path").count() == 1

    page.select_option("#id_category", "neighbour")
    page.check('input[name="risk_level"][value="major"]')
    page.fill("#id_party_count", "2")
    page.fill("#id_party_names", "张三\n李四")
    page.fill("#id_description", "楼上漏水，邻里争执")
    page.fill("#id_address", "中山路1号")

    # The phone's position (WGS-84) fills the coordinates and names the cell.
    page.check('input[name="crs"][value="gcj02"]')
    page.click("#use-location")
    page.wait_for_selector(f'#pickmap[data-cell="{CELL}"]')
    assert page.input_value("#id_lng") == "121.552000"
    assert page.input_value("#id_lat") == "38.912000"
    assert page.is_checked('input[name="crs"][value="wgs84"]')
    assert page.text_content("#pick-cell") == f"所在网格：{CELL} {CELL_NAME}"

    # A click on the map moves the point (still inside the cell).
    _click_map(page, *CLICK)
    expect(page.locator("#id_lng")).not_to_have_value("121.552000")
    assert float(page.input_value("#id_lng")) == pytest.approx(CLICK[1], abs=1e-4)
    assert float(page.input_value("#id_lat")) == pytest.approx(CLICK[0], abs=1e-4)
    page.wait_for_selector(f'#pickmap[data-cell="{CELL}"]')
    assert page.text_content("#pick-status") == "已在地图上选定位置"
    browser_screenshot(page, "mediation_dispute_form.png")

    page.click('#dispute-form button[type="submit"]')
    page.wait_for_selector("#dispute-cell")
    assert page.text_content("#dispute-cell") == f"{CELL} {CELL_NAME}"
    dispute = Dispute.objects.get()
    assert page.url.endswith(f"/mediation/disputes/{dispute.pk}/")
    assert dispute.cell.code == CELL
    assert dispute.recorded_by == worker
    assert dispute.party_names == ["张三", "李四"]
    assert dispute.risk_level == "major"
    # The click is accurate to the map's pixel (~3e-5° at this zoom).
    assert dispute.location.x == pytest.approx(CLICK[1], abs=1e-4)
    assert dispute.location.y == pytest.approx(CLICK[0], abs=1e-4)
    page.wait_for_selector('#disputemap[data-state="ready"]')
    path = browser_screenshot(page, "mediation_dispute_detail.png")
    assert path.stat().st_size > 10_000
    assert page.blocked_requests == []
    assert page.js_errors == []
