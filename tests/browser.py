"""Browser-test helpers: Debian's Chromium driven by Playwright (sync API) against live_server.

Use from a test module with

    pytestmark = [pytest.mark.browser]
    pytest_plugins = ["tests.browser"]

and request `browser_page` (a fresh page on its own context, base URL = the live server, which
also makes the database transactional), `browser_login(page, user)` (signs the page in by
injecting a session cookie) and `browser_screenshot(page, "name.png")`. The browser never touches the
network: requests to any host other than the live server are aborted and recorded in
`page.blocked_requests`, and page errors in `page.js_errors`, so a test can assert both are empty.

Never downloads a browser: /usr/bin/chromium missing is a loud failure (`make test` installs it).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium shared by one test module."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, and Django refuses ORM
    # calls from a thread with a running loop unless told this is deliberate.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium, live_server):
    """A page in a fresh browser context (own cookies) whose base URL is the live server."""
    context = chromium.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport={"width": 1280, "height": 800},
    )
    page = context.new_page()
    page.blocked_requests = []
    page.js_errors = []
    host = urlsplit(live_server.url).netloc

    def only_live_server(route):
        url = route.request.url
        if urlsplit(url).netloc == host or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.blocked_requests.append(url)
            route.abort()

    context.route("**/*", only_live_server)
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def browser_login(live_server):
    """login(page, user): sign the page's context in with a session made by the test client."""
    from django.test import Client

    def login(page, user) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )

    return login


@pytest.fixture
def browser_screenshot():
    """screenshot(page, name): save a full-page screenshot under var/screenshots/, return the path."""

    def screenshot(page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return screenshot
