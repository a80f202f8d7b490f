# ruff: noqa: F811 — the fixtures imported from test_report are redefined as arguments
"""The monthly report page's CPU cost (issue #9): its ~90,000 record links (at cell level) are
built without a reverse() and urlencode() per link yet are the same text, and the computed
report is cached under the data version, so that a repeat costs no engine run and any write
shows at once."""

import datetime as dt
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Grant, Role
from dashboard import exports
from dashboard.selectors import data_version
from dashboard.stats import FIGURE_DEFS, TZ, Period
from dashboard.views_report import RecordLinks, records_url
from grid.models import GridCell
from tests.dashboard.conftest import A, A1a, B, B2b, D, bj
from tests.dashboard.test_report import (  # noqa: F401 — fixtures
    REPORT,
    _granted,
    _late_close,
    bureau_viewer,
    data,
    get_table,
)

pytestmark = pytest.mark.django_db
MARCH = Period.month(2026, 3)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
# Statements of the engine: every family query groups its records.
ENGINE = re.compile(r"\bGROUP BY\b")


# --- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of",
    [
        None,
        dt.datetime(2026, 4, 1, tzinfo=TZ),
        dt.datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=dt.UTC),
    ],
)
@pytest.mark.parametrize("unassigned", [None, "community", "cell"])
@pytest.mark.parametrize("part", ["numerator", "denominator", "denominator.petitions"])
def test_record_links_are_records_url_byte_for_byte(db, as_of, unassigned, part):
    links = RecordLinks(as_of)
    for key, area, period in (
        ("petitions_total", D, MARCH),
        ("closure_rate", A1a, Period.parse("2026-Q1")),
        ("per_1000", "210204001001001", Period.parse("2025-03-01..2026-02-28")),
        ("odd key&=/ +é", "a b&c", MARCH.same_last_year()),  # quoted like urlencode quotes
    ):
        for _twice in range(2):  # the second time from the quoted-value memo
            assert links(
                key=key, area=area, period_key=period.key(), part=part, unassigned=unassigned
            ) == records_url(
                key=key, area=area, period=period, part=part, unassigned=unassigned, as_of=as_of
            )


@pytest.mark.parametrize(
    ("params", "as_of"),
    [
        ({"level": "street"}, None),
        (
            {"area": A, "level": "community", "as_of": "2026-03-31"},
            dt.datetime(2026, 4, 1, tzinfo=TZ),
        ),
    ],
)
def test_every_link_of_the_page_is_records_url_of_its_figure(
    client, data, bureau_viewer, params, as_of
):
    table, html = get_table(client, bureau_viewer, **params)
    area = params.get("area", D)
    report = exports.report_build(area_code=area, period=MARCH, level=params["level"], as_of=as_of)
    expected = {}
    for row in report.rows:
        name = "unassigned" if row.unassigned_level else row.code
        for col in exports.columns():
            period = {
                "value": MARCH,
                "yoy": MARCH.same_last_year(),
                "mom": MARCH.previous(),
            }[col.part]
            common = {"key": col.key, "area": row.code, "period": period, "as_of": as_of}
            common["unassigned"] = row.unassigned_level
            expected[(name, col.key, col.part)] = records_url(**common)
            if col.part == "value" and FIGURE_DEFS[col.key].denominator:
                den = records_url(**common, part="denominator")
                assert table.frac[(name, col.key, "value", "denominator", "href")] == den
    assert table.href == expected
    assert len(expected) == len(report.rows) * len(exports.columns())
    # The HTML carries each href attribute-escaped, as before.
    some = next(iter(expected.values()))
    assert f'href="{some.replace("&", "&amp;")}"' in html and unescape(some) == some


# --- cache ------------------------------------------------------------------------------------


def _get(client, params: dict) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(REPORT, {"period": "2026-03", **params})
    assert response.status_code == 200
    return CSRF.sub("", response.content.decode()), [q["sql"] for q in ctx.captured_queries]


def test_a_hit_returns_the_same_page_without_an_engine_run(client, data, bureau_viewer):
    client.force_login(bureau_viewer)
    params = {"level": "street"}
    first, miss = _get(client, params)
    second, hit = _get(client, params)
    assert second == first
    assert [q for q in miss if ENGINE.search(q)], "the miss runs the engine"
    assert [q for q in hit if ENGINE.search(q)] == []
    assert len(hit) < len(miss)
    # Another level, period or as-of instant is another entry.
    _html, other = _get(client, {"level": "community", "area": A})
    assert [q for q in other if ENGINE.search(q)]
    _html, dated = _get(client, {"level": "street", "as_of": "2026-03-31"})
    assert [q for q in dated if ENGINE.search(q)]


def test_a_new_petition_in_scope_shows_on_the_next_request(client, data, bureau_viewer, register):
    table, _html = get_table(client, bureau_viewer, level="street")
    assert [table.text[(c, "petitions_total", "value")] for c in (D, A, B)] == ["9", "6", "3"]
    before = data_version()
    cell = GridCell.objects.get(code=B2b, generation__status="active").geom.centroid
    register(received_at=bj(2026, 3, 20, 10), location=(cell.x, cell.y))
    assert data_version() != before
    table, _html = get_table(client, bureau_viewer, level="street")
    assert [table.text[(c, "petitions_total", "value")] for c in (D, A, B)] == ["10", "6", "4"]
    assert table.text[(D, "petitions_total", "mom")] == "400.00"  # (10 − 2) ÷ 2


def test_a_workflow_step_on_an_old_petition_shows_on_the_next_request(client, data, bureau_viewer):
    table, _html = get_table(client, bureau_viewer, level="street")
    assert table.text[(D, "closure_rate", "value")] == "33.33"  # 2 of 6
    _late_close(data)  # events only: no new case
    table, _html = get_table(client, bureau_viewer, level="street")
    assert table.text[(D, "closure_rate", "value")] == "50.00"  # 3 of 6
    assert table.title[(D, "closure_rate", "value")].endswith("：3 ÷ 6")


def test_users_of_the_same_scope_share_an_entry_with_their_own_maker(client, data, bureau_viewer):
    client.force_login(bureau_viewer)
    first, miss = _get(client, {"level": "street"})
    assert [q for q in miss if ENGINE.search(q)]
    assert "制表单位：沙河口区<" in first  # works for no office: the report's area
    # Another bureau user of the district who also works for the construction bureau.
    other = _granted("bureau_two", Role.BUREAU, D)
    Grant.objects.create(user=other, role=Role.HANDLING_UNIT, organization=data.unit)
    client.force_login(other)
    page, hit = _get(client, {"level": "street"})
    assert [q for q in hit if ENGINE.search(q)] == []
    assert "制表单位：区城建局<" in page  # 制表单位 is the user's own, never the cached one's
    mine = page.replace("区城建局", "沙河口区").replace("bureau_two", "bureau_viewer")
    assert mine == first  # and the rest is the same page
    # A street clerk (another scope) has an entry of their own.
    client.force_login(data.clerk)
    _page, theirs = _get(client, {"area": A, "level": "street"})
    assert [q for q in theirs if ENGINE.search(q)]
