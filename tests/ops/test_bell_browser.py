"""The bell in a real browser (strict CSP, no inline script): the unread count appears in the
header, opening a notice marks it read and leads to the case, and the count goes down."""

import pytest

from notifications.services import notification_send

pytestmark = [pytest.mark.browser]
pytest_plugins = ["tests.browser"]


def test_bell_shows_the_unread_count_and_follows_the_notice(
    transactional_db, browser_page, browser_login, browser_screenshot, register, clerk
):
    p = register().petition
    for reason in ("a", "b"):
        notification_send(
            recipients=[clerk],
            verb="reminder",
            text=f"信访事项{p.receipt_no}的受理期限即将届满（{reason}）。",
            target_kind="petition",
            target_id=p.pk,
            target_url=f"/petitions/{p.pk}/",
            reason=reason,
        )
    page = browser_page
    browser_login(page, clerk)
    page.goto("/")
    page.wait_for_selector("[data-notifications-count]:not([hidden])")
    assert page.text_content("[data-notifications-count]") == "2"
    assert page.get_attribute("[data-notifications-url]", "aria-label") == "2 条未读通知"
    browser_screenshot(page, "notifications_bell.png")

    page.click("[data-notifications-url]")
    page.wait_for_url("**/notifications/")
    assert page.locator(".notification--unread").count() == 2
    browser_screenshot(page, "notifications_list.png")
    page.locator(".notification").first.get_by_role("button", name="查看").click()
    page.wait_for_url(f"**/petitions/{p.pk}/")
    page.wait_for_selector("[data-notifications-count]:not([hidden])")
    assert page.text_content("[data-notifications-count]") == "1"

    page.goto("/notifications/")
    page.get_by_role("button", name="全部标为已读").click()
    page.wait_for_url("**/notifications/")
    page.wait_for_selector("[data-notifications-count][hidden]", state="attached")
    assert page.locator(".notification--unread").count() == 0
    assert page.blocked_requests == []
    assert page.js_errors == []
