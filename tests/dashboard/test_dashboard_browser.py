"""The map dashboard in a real browser: the choropleth draws from the API, the figure and level
switch, a click on a street drills into its communities and fills the panel (name, figures,
trend chart), markers and heat load, nothing is fetched from outside, screenshots are kept."""

import pytest

from accounts.models import Grant, Role
from tests.factories import UserFactory
from tests.petitions.conftest import bj

pytestmark = [pytest.mark.browser]
pytest_plugins = ["tests.browser"]

A = "210204001"
# Street A's communities, north then south (tests/factories.build_hierarchy).
A1, A2 = A + "001", A + "002"
CELLS = {  # code → number of petitions registered there in March 2026
    A1 + "001": 3,
    A1 + "002": 1,
    A2 + "001": 2,
    "210204002001001": 1,
    "210204002002002": 2,
}


def _wait_for_map(page, **attrs) -> int:
    """Wait until dashboard.js has drawn the choropleth matching the attributes (level, figure,
    parent …); return its number of features."""
    selector = '#dashmap[data-state="ready"]' + "".join(
        f'[data-{k}="{v}"]' for k, v in attrs.items()
    )
    page.wait_for_selector(selector)
    return int(page.get_attribute("#dashmap", "data-features"))


def _paths(page) -> int:
    return page.locator("#dashmap .leaflet-choropleth-pane path").count()


@pytest.fixture
def petitions(hierarchy, register):
    cells = hierarchy["cells"]
    made = []
    for code, n in CELLS.items():
        c = cells[code].geom.centroid
        for i in range(n):
            made.append(register(received_at=bj(2026, 3, 2 + i, 10), location=(c.x, c.y)))
    register(received_at=bj(2026, 2, 10, 10), location=(121.555, 38.915))
    return made


def test_dashboard_figure_level_drill_down_and_panel(
    transactional_db, browser_page, browser_login, browser_screenshot, petitions
):
    bureau = UserFactory(username="dash_browser_bureau")
    Grant.objects.create(user=bureau, role=Role.BUREAU, area_code="210204")
    page = browser_page
    browser_login(page, bureau)
    page.goto("/dashboard/?period=2026-03")

    assert _wait_for_map(page, level="street", figure="petitions_total") == 2
    assert _paths(page) == 2
    # The district's panel opens with the page (the bureau's one area).
    page.wait_for_selector('#dash-panel[data-state="ready"][data-code="210204"]')
    assert page.text_content("#dash-panel-title") == "沙河口区"
    legend = page.locator("#dash-legend")
    assert legend.locator("li").count() == 2  # two streets: 6 and 3 petitions, two classes
    assert "信访总量（件）" in legend.text_content()
    browser_screenshot(page, "dashboard_streets.png")

    page.select_option("#dash-figure", "per_1000")
    assert _wait_for_map(page, level="street", figure="per_1000") == 2
    page.check('input[name="level"][value="cell"]')
    assert _wait_for_map(page, level="cell", figure="per_1000") == 8
    assert _paths(page) == 8
    assert page.text_content("#dash-status") == "已显示 8 个区域"
    browser_screenshot(page, "dashboard_cells.png")

    page.select_option("#dash-figure", "petitions_total")
    page.check('input[name="level"][value="street"]')
    assert _wait_for_map(page, level="street", figure="petitions_total") == 2
    # Street A is the first feature (ordered by code): click into it.
    page.locator("#dashmap .leaflet-choropleth-pane path").first.click()
    assert _wait_for_map(page, level="community", parent=A) == 2
    page.wait_for_selector(f'#dash-panel[data-state="ready"][data-code="{A}"]')
    assert page.text_content("#dash-panel-title") == "测试1街道"
    assert page.is_checked('input[name="level"][value="community"]')
    crumbs = page.locator("#dash-breadcrumb li").all_text_contents()
    assert crumbs == ["沙河口区", "测试1街道"]
    row = page.locator('#dash-figures tr[data-figure="petitions_total"]')
    assert row.locator("th").text_content() == "信访总量"
    # 6 in March against 1 in February: 环比 +500%; every count links to its records.
    assert row.locator("td.dash-value a").text_content() == "6"
    assert "part=numerator" in row.locator("td.dash-value a").get_attribute("href")
    assert row.locator("td.dash-change").first.text_content() == "▲ +500.0%"
    canvas = page.locator("canvas#dash-trend")
    assert canvas.count() == 1
    assert page.evaluate("Chart.getChart('dash-trend').data.datasets[0].data.slice(-2)") == [1, 6]

    page.check("#dash-markers")
    page.wait_for_selector('#dashmap[data-markers="6"]')
    page.check("#dash-heat")
    page.wait_for_selector('#dashmap[data-heat="6"]')
    browser_screenshot(page, "dashboard_street.png")

    # Back up via the breadcrumb.
    page.locator("#dash-breadcrumb a").first.click()
    assert _wait_for_map(page, level="street", parent="") == 2

    # History on today's boundaries: visits cannot be re-placed, so they are not offered.
    page.check("#dash-today")
    assert _wait_for_map(page, level="street", boundaries="today") == 2
    assert page.is_disabled('#dash-figure option[value="visits_batches"]')
    assert page.is_visible("#dash-today-note")
    page.wait_for_selector('#dash-panel[data-state="ready"][data-boundaries="today"]')
    assert page.locator('#dash-figures tr[data-figure="visits_batches"]').count() == 0
    row = page.locator('#dash-figures tr[data-figure="petitions_total"]')
    assert row.locator("td.dash-value").text_content() == "9 件"  # not linked on this view
    assert row.locator("td.dash-value a").count() == 0
    page.wait_for_selector('#dashmap[data-markers="9"][data-heat="9"]')
    browser_screenshot(page, "dashboard_today.png")

    assert page.blocked_requests == []
    assert page.js_errors == []
