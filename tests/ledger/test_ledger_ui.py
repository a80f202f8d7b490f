"""The ledger pages with the clerk: upload → column mapping → dry run → commit, the progress JSON
the page polls, the error report (masked) and its CSV; scope and rights; and, in a real browser,
the progress bar following a run and the page showing the report when it ends."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Grant, Role
from ledger import services
from ledger.models import LedgerImport
from petitions.masking import mask_id_number
from petitions.models import Petition
from tests.ledger.test_ledger import BAD_CHECK, EXPECTED_ERRORS, MAPPING, ROWS, csv_bytes, row

pytest_plugins = ["tests.browser"]

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")


@pytest.fixture
def web(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def grid(hierarchy):
    return hierarchy


def _selected(html: str, name: str) -> str | None:
    """The selected option of the <select name=…> in a page."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    found = re.search(r'<option value="([^"]*)"[^>]*\bselected\b', select[1])
    return found[1] if found else None


def _upload(web, office, content=None, name="台账.csv"):
    return web.post(
        "/ledger/",
        {
            "file": SimpleUploadedFile(name, content or csv_bytes(ROWS), "text/csv"),
            "organization": office.pk,
            "crs": "wgs84",
        },
    )


@pytest.mark.django_db
def test_upload_mapping_dry_run_commit_and_progress(
    web, office, unit, grid, django_capture_on_commit_callbacks
):
    page = web.get("/ledger/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="file"' in html and f'<option value="{office.pk}" selected>' in html

    response = _upload(web, office)
    imp = LedgerImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/ledger/{imp.pk}/mapping/"
    assert (imp.organization, imp.created_by.username) == (office, "street_clerk")

    html = web.get(f"/ledger/{imp.pk}/mapping/").content.decode()
    assert {key: _selected(html, key) for key in MAPPING} == MAPPING  # suggested
    assert _selected(html, "content") == ""  # （不导入）
    response = web.post(f"/ledger/{imp.pk}/mapping/", {**MAPPING, "crs": "wgs84"})
    assert response.status_code == 302 and response["Location"] == f"/ledger/{imp.pk}/"

    # Dry run: queued (the page shows a running bar and polls), then run by the worker.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert web.post(f"/ledger/{imp.pk}/dry-run/").status_code == 302
    running = web.get(f"/ledger/{imp.pk}/progress/").json()
    assert (running["status"], running["running"], running["processed_rows"]) == (
        "running",
        True,
        0,
    )
    html = web.get(f"/ledger/{imp.pk}/").content.decode()
    assert 'data-status="running"' in html and '<progress id="ledger-progress-bar"' in html
    assert '<script src="/static/ledger/ledger.js" defer></script>' in html
    assert INLINE_SCRIPT.findall(html) == []
    assert len(queued) == 1
    queued[0]()

    progress = web.get(f"/ledger/{imp.pk}/progress/").json()
    assert {k: progress[k] for k in progress if k not in ("heartbeat_at", "finished_at")} == {
        "id": imp.pk,
        "status": "dry_run_done",
        "status_display": "已试导入",
        "phase": "dry_run",
        "phase_display": "试导入",
        "total_rows": 19,
        "processed_rows": 19,
        "percent": 100,
        "created": 5,
        "skipped": 0,
        "errors": 13,
        "running": False,
        "failure": "",
    }
    assert Petition.objects.count() == 0
    html = web.get(f"/ledger/{imp.pk}/").content.decode()
    report = re.findall(
        r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", html
    )
    assert [(int(r), reason) for r, _f, reason, _v in report] == [
        (r, reason) for r, _f, reason in EXPECTED_ERRORS
    ]
    assert ("7", "身份证号", "身份证号校验位不正确，请核对。", mask_id_number(BAD_CHECK)) in report
    assert BAD_CHECK not in html
    assert f'action="/ledger/{imp.pk}/commit/"' in html

    with django_capture_on_commit_callbacks(execute=True):
        assert web.post(f"/ledger/{imp.pk}/commit/").status_code == 302
    progress = web.get(f"/ledger/{imp.pk}/progress/").json()
    assert (progress["status"], progress["phase"], progress["created"], progress["errors"]) == (
        "done",
        "commit",
        5,
        13,
    )
    assert Petition.objects.count() == 5
    html = web.get(f"/ledger/{imp.pk}/").content.decode()
    assert "有错误的行未导入。改正台账后重新上传即可：已导入的行会被跳过。" in html
    assert f'action="/ledger/{imp.pk}/commit/"' not in html  # done: nothing more to start

    listing = web.get("/ledger/").content.decode()
    assert f'href="/ledger/{imp.pk}/">台账.csv</a>' in listing

    csv_response = web.get(f"/ledger/{imp.pk}/errors.csv")
    text = b"".join(csv_response.streaming_content).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "\ufeff行号,字段,原因"
    assert lines[1:4] == [
        "5,登记日期,登记日期无法识别（应为如 2024-05-06 的日期）。",
        "6,信访形式,未知的信访形式“飞鸽传书”。",
        "7,身份证号,身份证号校验位不正确，请核对。",
    ]
    assert len(lines) == 1 + len(EXPECTED_ERRORS)


@pytest.mark.django_db
def test_mapping_errors_are_shown_on_the_form(web, office, grid):
    _upload(web, office)
    imp = LedgerImport.objects.get()
    response = web.post(f"/ledger/{imp.pk}/mapping/", {**MAPPING, "category": "", "crs": "wgs84"})
    assert response.status_code == 200
    assert '<ul class="errorlist" id="id_category_error"><li>该字段是必填项。</li></ul>' in (
        response.content.decode()
    )
    response = web.post(
        f"/ledger/{imp.pk}/mapping/", {**MAPPING, "phone": "信访人", "crs": "wgs84"}
    )
    assert response.status_code == 200
    assert "<li>“信访人”已对应到“联系电话”。</li>" in response.content.decode()
    imp.refresh_from_db()
    assert imp.status == LedgerImport.Status.UPLOADED


@pytest.mark.django_db
def test_a_bad_file_is_refused_on_the_upload_form(web, office, grid):
    response = _upload(web, office, content=b"\xd0\xcf\x11\xe0" + b"\0" * 64, name="old.xls")
    assert response.status_code == 200
    assert "旧版 .xls 文件无法读取，请在 Excel 中另存为 .xlsx 或 CSV 后再上传。" in (
        response.content.decode()
    )
    assert not LedgerImport.objects.exists()


@pytest.mark.django_db
def test_only_the_users_offices_can_be_chosen(web, office, unit, grid):
    response = web.post(
        "/ledger/",
        {
            "file": SimpleUploadedFile("台账.csv", csv_bytes(ROWS)),
            "organization": unit.pk,
            "crs": "wgs84",
        },
    )
    assert response.status_code == 200
    assert not LedgerImport.objects.exists()


@pytest.mark.django_db
def test_other_offices_imports_are_404_and_other_roles_403(
    client, web, office, grid, outsider, grid_worker
):
    _upload(web, office)
    imp = LedgerImport.objects.get()
    Grant.objects.create(user=outsider, role=Role.STREET_CLERK, area_code="210204002")
    client.force_login(outsider)
    for url in ("", "mapping/", "progress/", "errors.csv"):
        assert client.get(f"/ledger/{imp.pk}/{url}").status_code == 404
    assert client.post(f"/ledger/{imp.pk}/commit/").status_code == 404
    assert imp.pk not in [i.pk for i in client.get("/ledger/").context["imports"]]

    Grant.objects.create(user=grid_worker, role=Role.GRID_WORKER, area_code="210204001")
    client.force_login(grid_worker)
    assert client.get("/ledger/").status_code == 403
    assert client.get(f"/ledger/{imp.pk}/progress/").status_code == 403

    client.logout()
    assert client.get(f"/ledger/{imp.pk}/progress/").status_code == 302


@pytest.mark.django_db
def test_commit_needs_a_dry_run_first(web, office, grid):
    _upload(web, office)
    imp = LedgerImport.objects.get()
    web.post(f"/ledger/{imp.pk}/mapping/", {**MAPPING, "crs": "wgs84"})
    html = web.get(f"/ledger/{imp.pk}/").content.decode()
    assert f'action="/ledger/{imp.pk}/commit/"' not in html
    response = web.post(f"/ledger/{imp.pk}/commit/", follow=True)
    assert "请先试导入，检查无误后再正式导入。" in response.content.decode()
    imp.refresh_from_db()
    assert imp.status == LedgerImport.Status.MAPPED


@pytest.mark.browser
def test_the_progress_bar_follows_the_run_in_a_browser(
    transactional_db, browser_page, browser_login, browser_screenshot, clerk, office, unit, grid
):
    imp = services.ledger_upload(
        organization=office,
        upload=SimpleUploadedFile("台账.csv", csv_bytes([*ROWS, row(external_ref="X")])),
        actor=clerk,
    )
    imp = services.ledger_map(ledger_import=imp, mapping=MAPPING)
    imp = services.ledger_dry_run_start(ledger_import=imp, enqueue=False)  # queued, not yet run

    page = browser_page
    browser_login(page, clerk)
    page.goto(f"/ledger/{imp.pk}/")
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => e.name.includes('/progress/'))"
    )
    assert page.locator("#ledger-progress-bar").evaluate("el => el.value") == 0
    assert page.locator("#ledger-progress").get_attribute("data-status") == "running"

    services.ledger_run(imp.pk)  # the worker runs it; the page notices and reloads
    page.wait_for_selector("#ledger-errors", timeout=20_000)
    assert page.locator("#ledger-progress-bar").evaluate("el => el.value") == 100
    assert page.locator('[data-key="status_display"]').inner_text() == "已试导入"
    assert page.locator("#ledger-errors tbody tr").count() == len(EXPECTED_ERRORS)
    browser_screenshot(page, "ledger-dry-run.png")
    assert page.js_errors == [] and page.blocked_requests == []


@pytest.mark.django_db
def test_a_large_upload_is_analysed_from_its_temporary_file(web, office, grid, tmp_path):
    """Uploads over 2.5 MB arrive as temporary files (TemporaryUploadedFile), not in memory."""
    from bench.ledger_rows import write_csv

    path = write_csv(tmp_path / "20k.csv", 20_000, encoding="gb18030")
    assert path.stat().st_size > 3 * 2**20
    with open(path, "rb") as f:
        response = web.post("/ledger/", {"file": f, "organization": office.pk, "crs": "wgs84"})
    imp = LedgerImport.objects.get()
    assert response.status_code == 302
    assert (imp.encoding, imp.total_rows, imp.header_row) == ("gb18030", 20_000, 1)
    assert imp.file.size == path.stat().st_size
