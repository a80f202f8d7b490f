"""Intake in a real browser: a clerk fills the form, clicks the map inside a cell, registers, and
sees the cell code (and the one-time receipt) on the case page. Screenshots are kept."""

import re

import pytest

from petitions.models import Petition
from tests.petitions.conftest import VALID_ID, bj

pytestmark = [pytest.mark.browser]
pytest_plugins = ["tests.browser"]

# The hierarchy fixture's north-west cell: x 121.55–121.56, y 38.91–38.92.
CELL = "210204001001001"
CELL_CENTRE = (38.915, 121.555)  # lat, lng


@pytest.fixture
def grid(hierarchy):
    """Boundaries in force since 2024: the form sends "now" to the minute, which may be a few
    seconds before the fixture activated the generation."""
    from grid.models import Generation

    Generation.objects.filter(pk=hierarchy["generation"].pk).update(activated_at=bj(2024, 1, 1))
    return hierarchy


def _click_map(page, lat: float, lng: float) -> None:
    """Click the map where (lat, lng) is drawn, computed by the page's own Leaflet map."""
    page.locator("#petitionmap").scroll_into_view_if_needed()
    x, y = page.evaluate(
        "([lat, lng]) => { const p = window.leafletmappetitionmap.latLngToContainerPoint([lat, lng]);"
        " return [p.x, p.y]; }",
        [lat, lng],
    )
    box = page.locator("#petitionmap").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_register_by_clicking_the_map_then_see_the_cell_on_the_case_page(
    transactional_db, browser_page, browser_login, browser_screenshot, grid, clerk, category
):
    page = browser_page
    browser_login(page, clerk)
    page.goto("/petitions/new/")
    page.wait_for_selector('#petitionmap[data-state="ready"]')
    assert page.get_attribute("#petitionmap", "data-features") == "8"

    page.select_option("#id_channel", "visit")
    page.select_option("#id_case_type", "appeal")
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_summary", "小区物业不履行维修义务")
    page.fill("#id_content", "楼顶漏水半年，物业公司拒不维修。")
    page.fill("#id_address", "测试1街道北社区5号楼")
    page.fill("#id_petitioners-0-name", "张三")
    page.fill("#id_petitioners-0-id_number", VALID_ID)
    page.fill("#id_petitioners-0-phone", "13812345678")

    _click_map(page, *CELL_CENTRE)
    page.wait_for_selector(f'#petitionmap[data-cell="{CELL}"]')
    assert page.text_content("#petitionmap-status") == f"所在网格：{CELL} 测试1街道北社区第1网格"
    assert float(page.input_value("#id_lng")) == pytest.approx(CELL_CENTRE[1], abs=5e-4)  # a pixel
    assert float(page.input_value("#id_lat")) == pytest.approx(CELL_CENTRE[0], abs=5e-4)  # a pixel
    assert page.locator("#petitionmap .leaflet-interactive").count() == 1  # the marker
    browser_screenshot(page, "petition_intake.png")

    page.click("#intake-submit")
    page.wait_for_url(re.compile(r"/petitions/\d+/$"))

    petition = Petition.objects.get()
    assert page.url.endswith(f"/petitions/{petition.pk}/")
    assert page.text_content("#petition-cell strong") == CELL
    assert page.text_content(".receipt__no") == petition.receipt_no
    assert re.fullmatch(r"[A-Z2-9]{8}", page.text_content("#query-code"))
    assert petition.cell.code == CELL
    assert petition.petitioners.get().name == "张三"
    assert page.is_visible("button[data-print]")
    path = browser_screenshot(page, "petition_case.png")
    assert path.stat().st_size > 10_000

    # Printed, the page is the receipt alone.
    page.emulate_media(media="print")
    assert page.is_visible("#receipt")
    assert not page.is_visible(".site-header")
    assert not page.is_visible("#timeline")
    assert not page.is_visible("button[data-print]")
    browser_screenshot(page, "petition_receipt_print.png")
    page.emulate_media(media="screen")

    # Back on the case page later: the query code is not shown again.
    page.reload()
    assert page.locator("#query-code").count() == 0
    assert page.text_content("#petition-cell strong") == CELL

    # On a phone: the list and the case page's action forms fit the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#action-route summary")
    page.wait_for_selector("#action-route form")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    browser_screenshot(page, "petition_case_phone.png")
    page.goto("/petitions/")
    assert page.text_content(".petition-table tbody a") == petition.receipt_no
    browser_screenshot(page, "petition_list_phone.png")

    assert page.blocked_requests == []
    assert page.js_errors == []


def test_home_page_loads_the_users_work(
    transactional_db, browser_page, browser_login, browser_screenshot, clerk, register
):
    import datetime as dt

    from django.utils import timezone

    overdue = register(received_at=timezone.now() - dt.timedelta(days=20)).petition
    register(received_at=timezone.now() - dt.timedelta(days=1))
    page = browser_page
    browser_login(page, clerk)
    page.goto("/")
    page.wait_for_selector('#petition-work[data-state="ready"]')
    assert page.text_content(".work--overdue .work__count") == "1"
    assert page.text_content(".work--waiting .work__count") == "2"
    assert page.text_content(".work--overdue .work__list a") == overdue.receipt_no
    assert page.is_visible(".work--overdue .deadline--overdue")
    browser_screenshot(page, "home_work.png")
    page.click(".work--overdue .work__list a")
    page.wait_for_url(f"**/petitions/{overdue.pk}/")
    assert page.blocked_requests == []
    assert page.js_errors == []
