"""The API docs page: Swagger UI from drf-spectacular-sidecar served from our own static files,
no inline script or style (the CSP allows none), and it renders in a real browser under the CSP
without loading anything from elsewhere."""

import re

import pytest
from django.contrib.staticfiles import finders
from playwright.sync_api import expect

pytest_plugins = ["tests.browser"]

DOCS = "/api/docs/"


def test_docs_page_uses_local_assets_and_no_inline_code(client, db):
    response = client.get(DOCS)
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 3
    assert all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert sorted(assets) == [
        "/static/api/docs.css",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    ]
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script=[^"]*)"', html).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in script.content.decode()


@pytest.mark.browser
def test_docs_page_renders_under_the_csp(transactional_db, browser_page):
    page = browser_page
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(DOCS)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CivicGrid API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert page.locator('.opblock-summary-path[data-path="/api/v1/petitions/"]').count() >= 1
    assert page.blocked_requests == []
    assert page.js_errors == []
    assert violations == []
