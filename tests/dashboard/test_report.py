"""The monthly report page (the SPEC §5 table with 同比/环比, every number linking to its records),
who may see it, and the snapshot pages (a late correction shows up as a difference)."""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db.models import F
from django.urls import reverse

from accounts.models import Grant, Role
from dashboard.exports import COMPARED, columns, percent_change
from dashboard.models import ReportSnapshot
from dashboard.services import snapshot_freeze
from dashboard.stats import (
    FIGURE_DEFS,
    FIGURE_KEYS,
    UNASSIGNED,
    Period,
    figures_for_areas,
    figures_for_children,
)
from petitions.models import Petition, Visit
from petitions.services import workflow as wf
from tests.dashboard.conftest import A1, A2, AFTER_ALL, A, B, D, bj
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.browser"]
MARCH = Period.month(2026, 3)
REPORT = reverse("dashboard-report:monthly")
TITLE = "沙河口区信访与矛盾纠纷化解工作统计月报（2026年3月）"


# --- fixtures shared with test_records.py and test_exports.py ----------------------------------


@pytest.fixture
def data(dataset):
    # The dataset fixture predates Visit.created_at: pretend visits were logged when they came,
    # like every other record (else "as of" a date in 2026 would leave them all out).
    Visit.objects.update(created_at=F("received_at"))
    return dataset


def _granted(username: str, role: str, area: str = "", organization=None):
    user = UserFactory(username=username)
    Grant.objects.create(user=user, role=role, area_code=area, organization=organization)
    return user


@pytest.fixture
def bureau_viewer(db):
    return _granted("bureau_viewer", Role.BUREAU, D)


@pytest.fixture
def leader_viewer(db):
    return _granted("leader_viewer", Role.LEADER, D)


@pytest.fixture
def street_a(data):
    return data.clerk  # street clerk of 210204001 (the dataset's clerk)


@pytest.fixture
def street_b(db):
    return _granted("street_b", Role.STREET_CLERK, B)


@pytest.fixture
def no_report_users(data):
    """Roles without reports: a handling unit, a grid worker, a mediator."""
    committee = data.m[1].committee
    return [
        _granted("unit_viewer", Role.HANDLING_UNIT, organization=data.unit),
        _granted("grid_viewer", Role.GRID_WORKER, A1 + "001"),
        _granted("mediator_viewer", Role.MEDIATOR, organization=committee),
    ]


class ReportTable(HTMLParser):
    """The report table as {(area, key, part): text}, with the hrefs and the rate fractions."""

    def __init__(self, html: str):
        super().__init__()
        self.text, self.href, self.title, self.frac = {}, {}, {}, {}
        self.areas, self.names = [], {}
        self._area = self._cell = self._link = None
        self._in_name = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-area" in a:
            self._area = a["data-area"]
            self.areas.append(self._area)
        elif tag == "th" and self._area and "report-area" in (a.get("class") or ""):
            self._in_name = True
        elif tag == "td" and "data-key" in a:
            self._cell = (self._area, a["data-key"], a["data-part"])
        elif tag == "a" and self._cell:
            self._link = a.get("data-frac", "value")
            if self._link == "value":
                self.href[self._cell] = a["href"]
                self.title[self._cell] = a.get("title", "")
            else:
                self.frac[(*self._cell, self._link, "href")] = a["href"]
        elif tag == "a":
            self._in_name = False

    def handle_data(self, data):
        if self._cell and self._link == "value":
            self.text[self._cell] = self.text.get(self._cell, "") + data.strip()
        elif self._cell and self._link:
            key = (*self._cell, self._link)
            self.frac[key] = self.frac.get(key, "") + data.strip()
        elif self._in_name and data.strip():
            self.names[self._area] = self.names.get(self._area, "") + data.strip()

    def handle_endtag(self, tag):
        if tag == "a":
            self._link = None
        elif tag == "td":
            self._cell = None
        elif tag == "th":
            self._in_name = False


def get_table(client, user, **params) -> tuple[ReportTable, str]:
    client.force_login(user)
    response = client.get(REPORT, {"period": "2026-03", **params})
    assert response.status_code == 200
    html = response.content.decode()
    return ReportTable(html), html


# --- the table ------------------------------------------------------------------------------


def test_the_report_shows_the_engines_figures_for_the_district_and_each_street(
    client, data, bureau_viewer
):
    table, html = get_table(client, bureau_viewer, level="street")
    assert TITLE in html
    assert table.areas == [D, A, B]  # every street's records are in a street: no unassigned row
    assert table.names == {D: "沙河口区", A: "测试1街道", B: "测试2街道"}
    engine = figures_for_areas(area_codes=[D, A, B], period=MARCH)
    for code in (D, A, B):
        for key in FIGURE_KEYS:
            figure = engine[code][key]
            assert table.text[(code, key, "value")] == figure.display, (code, key)
            if FIGURE_DEFS[key].denominator:
                assert table.frac[(code, key, "value", "numerator")] == str(figure.numerator)
                assert table.frac[(code, key, "value", "denominator")] == str(figure.denominator)
    # A few by hand (tests/dashboard/test_stats.py has the whole story).
    assert [table.text[(c, "petitions_total", "value")] for c in (D, A, B)] == ["9", "6", "3"]
    assert table.text[(D, "closure_rate", "value")] == "33.33"
    assert table.title[(D, "closure_rate", "value")].endswith("：2 ÷ 6")
    assert table.text[(D, "visits_persons", "value")] == "15"


def test_zero_bases_are_shown_as_a_dash(client, data, bureau_viewer):
    table, _html = get_table(client, bureau_viewer, level="street")
    # Nothing evaluated in street B in March; no petitions there in February or March 2025.
    assert table.text[(B, "satisfaction_rate", "value")] == "—"
    assert table.frac[(B, "satisfaction_rate", "value", "denominator")] == "0"
    assert table.text[(B, "petitions_total", "yoy")] == "—"
    assert table.text[(B, "petitions_total", "mom")] == "—"
    assert table.text[(D, "visits_batches", "mom")] == "—"  # no visits in February


def test_yoy_and_mom_columns_for_the_main_counts(client, data, bureau_viewer):
    table, _html = get_table(client, bureau_viewer, level="street")
    assert {(c.key, c.part) for c in columns() if c.part != "value"} == {
        (k, p) for k in COMPARED for p in ("yoy", "mom")
    }
    assert COMPARED == ["petitions_total", "visits_batches", "visits_persons", "dispute_count"]
    # Petitions: March 2026 D 9 / A 6; March 2025 p12 (A); February 2026 p11, p13 (A).
    assert table.text[(D, "petitions_total", "yoy")] == "800.00"  # (9 − 1) ÷ 1
    assert table.text[(A, "petitions_total", "yoy")] == "500.00"  # (6 − 1) ÷ 1
    assert table.text[(D, "petitions_total", "mom")] == "350.00"  # (9 − 2) ÷ 2
    assert table.text[(A, "petitions_total", "mom")] == "200.00"  # (6 − 2) ÷ 2
    # Disputes found: March A 4, B 1; February d1 d2 (A), d7 (B); none in March 2025.
    assert table.text[(A, "dispute_count", "mom")] == "100.00"
    assert table.text[(B, "dispute_count", "mom")] == "0.00"
    assert table.text[(D, "dispute_count", "mom")] == "66.67"  # (5 − 3) ÷ 3
    assert table.text[(D, "dispute_count", "yoy")] == "—"
    # … and every comparison is the engine's.
    now = figures_for_areas(area_codes=[D, A, B], period=MARCH, keys=COMPARED)
    prev = figures_for_areas(area_codes=[D, A, B], period=MARCH.previous(), keys=COMPARED)
    year = figures_for_areas(area_codes=[D, A, B], period=MARCH.same_last_year(), keys=COMPARED)
    for code in (D, A, B):
        for key in COMPARED:
            for part, base in (("yoy", year), ("mom", prev)):
                value = percent_change(now[code][key].value, base[code][key].value)
                assert table.text[(code, key, part)] == ("—" if value is None else f"{value:.2f}")


def test_communities_on_demand_with_the_records_attached_to_the_street_only(
    client, data, bureau_viewer
):
    table, html = get_table(client, bureau_viewer, area=A, level="community")
    assert "沙河口区测试1街道信访与矛盾纠纷化解工作统计月报（2026年3月）" in html
    assert table.areas == [A, A1, A2, "unassigned"]
    assert table.names["unassigned"] == "未定位到社区的记录"
    engine = figures_for_children(parent_code=A, level="community", period=MARCH)
    for key in FIGURE_KEYS:
        for code, area in ((A1, A1), (A2, A2), (UNASSIGNED, "unassigned")):
            assert table.text[(area, key, "value")] == engine[code][key].display, (area, key)
    # p8, v1, v2 and d9 were recorded for street A without a community.
    assert table.text[("unassigned", "petitions_total", "value")] == "1"
    assert table.text[("unassigned", "visits_batches", "value")] == "2"
    assert table.text[("unassigned", "dispute_count", "value")] == "1"
    # Counts add up: the communities plus the unassigned row make the street.
    for key in ("petitions_total", "visits_persons", "repeats", "dispute_count"):
        parts = [int(table.text[(a, key, "value")]) for a in (A1, A2, "unassigned")]
        assert sum(parts) == int(table.text[(A, key, "value")])


def test_every_number_links_to_its_records(client, data, bureau_viewer):
    table, _html = get_table(client, bureau_viewer, level="street")
    records = reverse("dashboard-report:records")

    def query(href):
        url = urlsplit(href)
        assert url.path == records
        return {k: v[0] for k, v in parse_qs(url.query).items()}

    for (area, key, part), href in table.href.items():
        expected = {
            "key": key,
            "area": area,
            "period": {"value": "2026-03", "yoy": "2025-03", "mom": "2026-02"}[part],
            "part": "numerator",
        }
        assert query(href) == expected
    assert len(table.href) == 3 * len(columns())
    assert query(table.frac[(B, "closure_rate", "value", "denominator", "href")]) == {
        "key": "closure_rate",
        "area": B,
        "period": "2026-03",
        "part": "denominator",
    }


def test_the_street_drills_down_to_its_communities(client, data, bureau_viewer):
    client.force_login(bureau_viewer)
    html = client.get(REPORT, {"period": "2026-03"}).content.decode()
    assert f"?period=2026-03&amp;area={A}&amp;level=community" in html


# --- who sees what ----------------------------------------------------------------------------


def test_leaders_and_street_staff_see_their_areas_only(client, data, leader_viewer, street_a):
    table, _html = get_table(client, leader_viewer)
    assert table.areas == [D, A, B]
    table, _html = get_table(client, street_a)  # their street and its communities by default
    assert table.areas == [A, A1, A2, "unassigned"]
    client.force_login(street_a)
    for area in (B, D, B + "001", "999999"):
        assert client.get(REPORT, {"period": "2026-03", "area": area}).status_code == 404


def test_roles_without_reports_get_404(client, no_report_users):
    urls = [
        REPORT,
        reverse("dashboard-report:records") + f"?key=petitions_total&area={D}&period=2026-03",
        reverse("dashboard-report:export", kwargs={"fmt": "csv"}) + "?period=2026-03",
        reverse("dashboard-report:snapshots"),
    ]
    for user in no_report_users:
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user.username, url)


def test_anonymous_users_are_sent_to_the_login(client, db):
    response = client.get(REPORT)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_bad_parameters(client, data, bureau_viewer):
    client.force_login(bureau_viewer)
    assert client.get(REPORT, {"period": "März"}).status_code == 400
    assert client.get(REPORT, {"period": "2026-03", "level": "planet"}).status_code == 400
    assert client.get(REPORT, {"period": "2026-03", "as_of": "yesterday"}).status_code == 400


def test_as_of_regenerates_the_report_from_the_event_history(client, data, bureau_viewer):
    # As of the end of 31 March, p6 (closed 12 April) and p8's review (5 April) lie ahead.
    table, html = get_table(client, bureau_viewer, level="street", as_of="2026-03-31")
    assert table.text[(A, "closure_rate", "value")] == "66.67"  # p1, p8 closed of 3
    assert table.text[(B, "closure_rate", "value")] == "0.00"
    assert "数据截至：2026-04-01 00:00" in html
    assert 'name="as_of" value="2026-03-31"' in html
    assert "as_of=2026-04-01T00%3A00%3A00%2B08%3A00" in table.href[(A, "closure_rate", "value")]


def test_the_report_page_query_count_does_not_grow_with_areas(
    client, data, bureau_viewer, django_assert_max_num_queries
):
    client.force_login(bureau_viewer)
    client.get(REPORT, {"period": "2026-03", "level": "street"})  # warm caches (content types)
    with django_assert_max_num_queries(40):
        client.get(REPORT, {"period": "2026-03", "level": "cell"})


# --- snapshots --------------------------------------------------------------------------------


def _late_close(data):
    """Recorded now, after the freeze: p2 (A1a) was replied to and closed on 30 March."""
    p2 = Petition.objects.get(pk=data.p[2].pk)
    p2 = wf.petition_reply(
        petition=p2, actor=data.clerk, outcome="support", text="已解决", now=bj(2026, 3, 30, 9)
    )
    return wf.petition_close(petition=p2, actor=data.clerk, now=bj(2026, 3, 30, 10))


def _snapshot_rows(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'data-key="([a-z_0-9]+)" data-changed="([01])"', html))


def test_a_late_close_shows_up_as_a_difference_never_a_silent_change(client, data, bureau_viewer):
    snaps = {s.area_code: s for s in snapshot_freeze(period=MARCH, as_of=AFTER_ALL)}
    client.force_login(bureau_viewer)
    url = reverse("dashboard-report:snapshot", args=[snaps[D].pk])
    html = client.get(url).content.decode()
    assert set(_snapshot_rows(html).values()) == {"0"}
    assert 'data-changed="0"' in html and "当前数据与冻结月报一致" in html

    p2 = _late_close(data)
    html = client.get(url).content.decode()
    changed = {k for k, v in _snapshot_rows(html).items() if v == "1"}
    assert changed == {"closure_rate", "closure_rate_ytd", "on_time_closure_rate"}
    assert 'data-changed="3"' in html
    assert 'data-delta="16.67"' in html  # 结案率 33.33 → 50.00
    # The changed records are named and linked: p2 now counts where it did not (结案率 and its
    # year to date: numerator; 按期办结率: numerator and denominator).
    assert html.count(p2.receipt_no) == 4
    assert reverse("petitions:detail", args=[p2.pk]) in html
    # The frozen row did not change; the report page points at the difference.
    snaps[D].refresh_from_db()
    assert snaps[D].figures["closure_rate"]["numerator"] == 2
    page = client.get(REPORT, {"period": "2026-03"}).content.decode()
    assert url in page
    # Street B's snapshot has no difference.
    html_b = client.get(reverse("dashboard-report:snapshot", args=[snaps[B].pk])).content.decode()
    assert set(_snapshot_rows(html_b).values()) == {"0"}


def test_snapshots_are_listed_within_the_users_areas(client, data, street_b, bureau_viewer):
    snaps = {s.area_code: s for s in snapshot_freeze(period=MARCH, as_of=AFTER_ALL)}
    client.force_login(street_b)
    html = client.get(reverse("dashboard-report:snapshots")).content.decode()
    assert f'data-snapshot="{snaps[B].pk}"' in html
    assert f'data-snapshot="{snaps[A].pk}"' not in html
    assert f'data-snapshot="{snaps[D].pk}"' not in html
    assert client.get(reverse("dashboard-report:snapshot", args=[snaps[D].pk])).status_code == 404
    assert client.get(reverse("dashboard-report:snapshot", args=[snaps[B].pk])).status_code == 200
    client.force_login(bureau_viewer)
    html = client.get(reverse("dashboard-report:snapshots")).content.decode()
    assert all(f'data-snapshot="{s.pk}"' in html for s in snaps.values())


def test_the_bureau_freezes_a_past_month_now(client, data, bureau_viewer, leader_viewer):
    freeze = reverse("dashboard-report:snapshot-freeze")
    client.force_login(leader_viewer)
    assert client.post(freeze, {"period": "2026-02"}).status_code == 403
    client.force_login(bureau_viewer)
    response = client.post(freeze, {"period": "2099-01"})  # not over yet
    assert response.status_code == 302
    assert not ReportSnapshot.objects.exists()
    response = client.post(freeze, {"period": "2026-02"})
    assert response.status_code == 302
    frozen = ReportSnapshot.objects.order_by("area_code")
    assert [(s.area_code, s.period.key()) for s in frozen] == [
        (D, "2026-02"),
        (A, "2026-02"),
        (B, "2026-02"),
    ]
    # February: p11 (A1a) and p13 (A1b) registered.
    assert frozen[0].figures["petitions_total"]["value"] == 2
    again = client.post(freeze, {"period": "2026-02"})  # keeps the first snapshots
    assert again.status_code == 302
    assert ReportSnapshot.objects.count() == 3


# --- in a browser -----------------------------------------------------------------------------


@pytest.mark.browser
def test_the_report_in_a_browser(
    browser_page, browser_login, browser_screenshot, data, bureau_viewer
):
    import io
    from pathlib import Path

    import openpyxl

    page = browser_page
    browser_login(page, bureau_viewer)
    page.goto(f"{REPORT}?period=2026-03")
    assert page.locator("h1.report-title").inner_text() == TITLE
    assert page.locator("tr[data-area]").count() == 3  # the district and its streets
    browser_screenshot(page, "report_district.png")

    # Into street A: its communities and the records attached to the street only.
    page.locator(f'tr[data-area="{A}"] a.report-drill').click()
    page.wait_for_url(f"**area={A}**")
    areas = page.locator("tr[data-area]")
    assert [areas.nth(i).get_attribute("data-area") for i in range(4)] == [
        A,
        A1,
        A2,
        "unassigned",
    ]
    browser_screenshot(page, "report_street.png")

    # A number leads to exactly its records.
    cell = page.locator(f'tr[data-area="{A}"] td[data-key="closure_rate"][data-part="value"]')
    assert "1 ÷ 3" in cell.locator("a").first.get_attribute("title")
    cell.locator('a[data-frac="denominator"]').click()
    page.wait_for_url("**/records/**")
    assert page.locator(".records-count").get_attribute("data-count") == "3"
    assert page.locator(".records-row").count() == 3
    browser_screenshot(page, "report_records.png")

    # The export buttons download the same report.
    page.goto(f"{REPORT}?period=2026-03")
    with page.expect_download() as download:
        page.locator('a[data-export="xlsx"]').click()
    assert download.value.suggested_filename == f"{TITLE}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert sheet["A1"].value == TITLE
    assert sheet["C6"].value == 9

    # The snapshot page after a late correction.
    snaps = {s.area_code: s for s in snapshot_freeze(period=MARCH, as_of=AFTER_ALL)}
    _late_close(data)
    page.goto(reverse("dashboard-report:snapshot", args=[snaps[A].pk]))
    assert page.locator("tr.snapshot-figure--changed").count() == 3
    browser_screenshot(page, "report_snapshot.png")
    assert page.js_errors == [] and page.blocked_requests == []
