"""The map page in a real browser: layers draw from the API, the level switcher works, hover and
click show a cell's details, nothing is fetched from outside the site, and a screenshot is kept."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]
pytest_plugins = ["tests.browser"]

# The hierarchy fixture's north-west cell: x 121.55–121.56, y 38.91–38.92.
CELL = "210204001001001"
CELL_CENTRE = (38.915, 121.555)  # lat, lng


def _wait_for_layer(page, level: str) -> int:
    """Wait until map.js has drawn `level`; return the number of features it drew."""
    page.wait_for_selector(f'#gridmap[data-state="ready"][data-level="{level}"]')
    return int(page.get_attribute("#gridmap", "data-features"))


def _paths(page) -> int:
    return page.locator("#gridmap .leaflet-overlay-pane path").count()


def test_map_draws_levels_and_shows_cell_details(
    transactional_db, browser_page, browser_login, browser_screenshot, hierarchy, street_clerk
):
    page = browser_page
    browser_login(page, street_clerk)
    page.goto("/map/")

    assert _wait_for_layer(page, "street") == 2
    assert _paths(page) == 2

    page.check('input[name="level"][value="community"]')
    assert _wait_for_layer(page, "community") == 4
    assert _paths(page) == 4

    page.check('input[name="level"][value="cell"]')
    assert _wait_for_layer(page, "cell") == 8
    assert _paths(page) == 8
    assert page.text_content("#gridmap-status") == "已显示 8 个区域"

    # Point at the cell's centre: the tooltip names it, a click opens its details.
    x, y = page.evaluate(
        "([lat, lng]) => { const p = window.leafletmapgridmap.latLngToContainerPoint([lat, lng]);"
        " return [p.x, p.y]; }",
        list(CELL_CENTRE),
    )
    box = page.locator("#gridmap").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert tooltip.text_content() == f"{CELL} 测试1街道北社区第1网格"
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".leaflet-popup-content .gridmap-details")
    popup.wait_for()
    rows = popup.locator("tr").evaluate_all(
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])"
    )
    assert rows[:5] == [
        ["代码", CELL],
        ["名称", "测试1街道北社区第1网格"],
        ["上级", "210204001001 测试1街道北社区"],
        ["户数", "400"],
        ["人口", "800"],
    ]

    # Let the popup finish fading in before the picture is taken.
    # expect() polls without eval, which the CSP (no 'unsafe-eval') would block.
    expect(page.locator(".leaflet-popup")).to_have_css("opacity", "1")
    path = browser_screenshot(page, "map.png")
    assert path.stat().st_size > 10_000
    assert page.blocked_requests == []
    assert page.js_errors == []
