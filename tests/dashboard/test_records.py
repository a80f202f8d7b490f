# ruff: noqa: F811 — the fixtures imported from test_report are redefined as arguments
"""Drill-down record lists: exactly the figure's records (numerator or denominator), within the
user's scope, without personal data for leaders, paginated."""

import re

import pytest
from django.urls import reverse

from dashboard import views_report
from dashboard.stats import Period, figure_records, figures_for_areas, figures_for_children
from tests.dashboard.conftest import A1, A2, A, B, D, bj
from tests.dashboard.test_report import (  # noqa: F401 — fixtures
    _granted,
    bureau_viewer,
    data,
    leader_viewer,
    no_report_users,
    street_a,
    street_b,
)

pytestmark = pytest.mark.django_db
MARCH = Period.month(2026, 3)
RECORDS = reverse("dashboard-report:records")


def records_page(client, user, **params):
    client.force_login(user)
    response = client.get(RECORDS, {"period": "2026-03", **params})
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    count = int(re.search(r'class="records-count" data-count="(\d+)"', html).group(1))
    return count, html


# (key, area, part) → the figure's numerator / denominator on the hand-built dataset.
CASES = [
    ("petitions_total", D, "numerator", 9),
    ("petitions_total", A, "numerator", 6),
    ("repeats", D, "numerator", 3),
    ("repeat_rate", D, "numerator", 3),
    ("repeat_rate", D, "denominator", 12),  # new cases + repeats: two record types
    ("timely_acceptance_rate", A1, "numerator", 3),
    ("timely_acceptance_rate", A1, "denominator", 4),
    ("closure_rate", D, "numerator", 2),
    ("closure_rate", D, "denominator", 6),
    ("closure_rate_ytd", A, "denominator", 5),
    ("on_time_closure_rate", D, "numerator", 5),
    ("on_time_closure_rate", D, "denominator", 7),
    ("satisfaction_rate", A, "denominator", 5),
    ("visits_batches", D, "numerator", 4),
    ("collective_visits", A, "numerator", 2),
    ("dispute_count", D, "numerator", 5),
    ("resolution_rate", D, "numerator", 2),
    ("resolution_rate", D, "denominator", 8),
    ("control_rate", A, "numerator", 4),
    ("mediation_success_rate", B, "numerator", 1),
    ("mediation_success_rate", B, "denominator", 2),
    ("agreement_performance_rate", D, "numerator", 1),
    ("agreement_performance_rate", D, "denominator", 3),
]


@pytest.mark.parametrize(("key", "area", "part", "expected"), CASES)
def test_the_list_counts_exactly_the_figures_records(
    client, data, bureau_viewer, key, area, part, expected
):
    figure = figures_for_areas(area_codes=[area], period=MARCH, keys=[key])[area][key]
    assert getattr(figure, part) == expected
    count, html = records_page(client, bureau_viewer, key=key, area=area, part=part)
    assert count == expected
    assert html.count('class="records-row"') == expected


def test_the_mixed_denominator_is_listed_per_record_type(client, data, bureau_viewer):
    count, html = records_page(client, bureau_viewer, key="repeat_rate", area=D, part="denominator")
    sections = dict(re.findall(r'data-part="(denominator\.\w+)" data-count="(\d+)"', html))
    assert sections == {"denominator.intake": "9", "denominator.repeats": "3"}
    assert count == 12
    assert "（重复）" in html


def test_sums_are_shown_where_a_figure_sums_its_records(client, data, bureau_viewer):
    # 来访人次: the visits (4 batches) and their headcounts (15).
    count, html = records_page(client, bureau_viewer, key="visits_persons", area=D)
    assert count == 4
    assert 'data-sum="15"' in html
    # per 1,000 residents: the cells and their residents.
    count, html = records_page(client, bureau_viewer, key="per_1000", area=A, part="denominator")
    assert count == 4
    assert 'data-sum="3200"' in html


def test_the_unassigned_bucket_lists_the_records_under_no_child(client, data, bureau_viewer):
    children = figures_for_children(parent_code=A, level="community", period=MARCH)
    count, html = records_page(
        client, bureau_viewer, key="petitions_total", area=A, unassigned="community"
    )
    assert count == children["unassigned"]["petitions_total"].value == 1
    assert data.p[8].receipt_no in html
    count, _html = records_page(
        client, bureau_viewer, key="visits_batches", area=A, unassigned="community"
    )
    assert count == 2


def test_the_records_are_the_engines_records(client, data, bureau_viewer):
    expected = figure_records(key="closure_rate", area_code=D, period=MARCH, part="denominator")
    _count, html = records_page(
        client, bureau_viewer, key="closure_rate", area=D, part="denominator"
    )
    shown = set(re.findall(r"XF-\d{6}-\d{4}-\d{6}", html))
    assert shown == {p.receipt_no for p in expected}


def test_every_number_on_the_report_page_leads_to_as_many_records(client, data, bureau_viewer):
    """Follow the links of the street A report (communities) and count."""
    from tests.dashboard.test_report import get_table

    table, _html = get_table(client, bureau_viewer, area=A, level="community")
    checked = 0
    for (area, key, part), href in table.href.items():
        if part != "value" or key in ("visits_persons", "per_1000"):
            continue
        value = table.text[(area, key, part)]
        fraction = (area, key, part, "numerator") in table.frac
        expected = int(table.frac[(area, key, part, "numerator")] if fraction else value)
        html = client.get(href).content.decode()
        count = int(re.search(r'data-count="(\d+)"', html).group(1))
        assert count == expected, (area, key)
        if fraction:
            den_href = table.frac[(area, key, part, "denominator", "href")]
            html = client.get(den_href).content.decode()
            count = int(re.search(r'class="records-count" data-count="(\d+)"', html).group(1))
            assert count == int(table.frac[(area, key, part, "denominator")]), (area, key)
        checked += 1
    assert checked == 4 * 15  # A, A1, A2 and the unassigned row × 15 figures


def test_as_of_lists_what_was_counted_then(client, data, bureau_viewer):
    # As of the end of March p8 was closed (its review request came on 5 April).
    count, html = records_page(
        client, bureau_viewer, key="closure_rate", area=A, as_of="2026-03-31"
    )
    assert count == 2
    assert data.p[8].receipt_no in html
    count, html = records_page(client, bureau_viewer, key="closure_rate", area=A)
    assert count == 1
    assert data.p[8].receipt_no not in html


def test_leaders_get_the_list_without_personal_data_or_case_links(
    client, data, leader_viewer, bureau_viewer
):
    count, html = records_page(client, leader_viewer, key="petitions_total", area=D)
    assert count == 9
    assert "张三" not in html and "13812345678" not in html and "138****5678" not in html
    assert "11010519491231002X" not in html and "1101" not in html
    assert not re.search(r'href="/petitions/\d+/"', html)
    assert data.p[1].receipt_no in html
    _count, html = records_page(client, bureau_viewer, key="petitions_total", area=D)
    assert reverse("petitions:detail", args=[data.p[1].pk]) in html
    assert "张三" not in html  # the list never shows petitioners


def test_leaders_see_no_details_of_accusations(
    client, data, register, leader_viewer, bureau_viewer
):
    """检举控告: counted like any case, but a leader's list does not say what it is about."""
    accusation = register(
        case_type="accusation", summary="举报某单位", received_at=bj(2026, 3, 9, 10)
    ).petition
    count, html = records_page(client, leader_viewer, key="petitions_total", area=A)
    assert count == 7
    row = re.search(rf"{accusation.receipt_no}.*?</tr>", html, re.S).group(0)
    assert "检举控告类" in row and "物业" not in row
    _count, html = records_page(client, bureau_viewer, key="petitions_total", area=A)
    row = re.search(rf"{accusation.receipt_no}.*?</tr>", html, re.S).group(0)
    assert "物业管理 / 物业服务" in row


def test_records_are_scoped(client, data, street_a, street_b, no_report_users):
    count, _html = records_page(client, street_a, key="petitions_total", area=A)
    assert count == 6
    count, _html = records_page(client, street_b, key="dispute_count", area=B)
    assert count == 1
    client.force_login(street_a)
    for area in (B, D, B + "001001"):
        url = f"{RECORDS}?key=petitions_total&period=2026-03&area={area}"
        assert client.get(url).status_code == 404
    for user in no_report_users:
        client.force_login(user)
        url = f"{RECORDS}?key=dispute_count&period=2026-03&area={A1}001"
        assert client.get(url).status_code == 404


def test_the_list_is_the_intersection_with_the_users_scope(client, data):
    """A leader of community A1 who also serves a handling unit: the A1 list has A1's records,
    never the unit's cases elsewhere."""
    from accounts.models import Grant, Role

    user = _granted("a1_leader", Role.LEADER, A1)
    Grant.objects.create(user=user, role=Role.HANDLING_UNIT, organization=data.unit)
    count, _html = records_page(client, user, key="petitions_total", area=A1)
    assert count == 4
    client.force_login(user)
    assert client.get(f"{RECORDS}?key=petitions_total&period=2026-03&area={A2}").status_code == 404


def test_the_list_query_count_does_not_grow_with_records(
    client, data, bureau_viewer, django_assert_max_num_queries
):
    client.force_login(bureau_viewer)
    for key, part in (("petitions_total", "numerator"), ("repeat_rate", "denominator")):
        with django_assert_max_num_queries(12):
            response = client.get(
                RECORDS, {"period": "2026-03", "key": key, "area": D, "part": part}
            )
        assert response.status_code == 200


def test_the_list_is_paginated(client, data, bureau_viewer, monkeypatch):
    monkeypatch.setattr(views_report, "PAGE_SIZE", 4)
    count, html = records_page(client, bureau_viewer, key="petitions_total", area=D)
    assert count == 9
    assert html.count('class="records-row"') == 4
    assert "第 1 / 3 页" in html
    _count, html = records_page(client, bureau_viewer, key="petitions_total", area=D, page=3)
    assert html.count('class="records-row"') == 1


def test_bad_parameters(client, data, bureau_viewer):
    client.force_login(bureau_viewer)
    base = {"area": D, "period": "2026-03"}
    assert client.get(RECORDS, {**base, "key": "no_such_figure"}).status_code == 404
    assert (
        client.get(RECORDS, {**base, "key": "petitions_total", "part": "denominator"}).status_code
        == 404
    )
    assert client.get(RECORDS, {**base, "key": "closure_rate", "part": "bogus"}).status_code == 404
    assert (
        client.get(RECORDS, {**base, "key": "petitions_total", "unassigned": "x"}).status_code
        == 404
    )
    unassigned_above = {**base, "area": A1, "key": "petitions_total", "unassigned": "street"}
    assert client.get(RECORDS, unassigned_above).status_code == 404
    assert (
        client.get(RECORDS, {**base, "key": "petitions_total", "period": "13/2026"}).status_code
        == 400
    )


def _sql(qs) -> str:
    return str(qs.query)


def _area_filters(qs) -> int:
    """How many area conditions the statement has: `area_code LIKE` (PostgreSQL casts to text),
    or a district's or street's records of a family with prefix indexes by
    `LEFT(area_code, 6 or 9) =` (SUBSTR on SQLite)."""
    sql = _sql(qs)
    return len(re.findall(r'"area_code"(?:::text)? LIKE', sql)) + len(
        re.findall(r'(?:LEFT\(|SUBSTR\()"petitions_petition"\."area_code", (?:1, )?[69]\) =', sql)
    )


@pytest.mark.parametrize("who", ["bureau", "street_a", "leader"])
def test_an_area_the_grants_cover_lists_the_same_rows_without_the_scope_filter(
    data, bureau_viewer, street_a, leader_viewer, who
):
    """Records all under an area the user's grants cover are all in their petition scope: the
    list drops the scope's own area filter, and its rows are those of the scoped list."""
    from petitions.models import Petition

    user, area = {"bureau": (bureau_viewer, D), "street_a": (street_a, A),
                  "leader": (leader_viewer, D)}[who]  # fmt: skip
    records = figure_records(key="petitions_total", area_code=area, period=MARCH)
    covered = views_report.scoped_records(user, records, area_code=area)
    scoped = views_report.scoped_records(user, records)
    assert _area_filters(covered) == 1
    assert _area_filters(scoped) == 2
    rows = views_report.record_rows(views_report.record_list_rows(covered), user)
    assert rows == views_report.record_rows(views_report.record_list_rows(scoped), user)
    assert len(rows) == {D: 9, A: 6}[area]
    # The rows (values) are the rows of the model instances, category path and all.
    by_instance = views_report.record_rows(
        Petition.objects.filter(pk__in=[r["pk"] for r in covered]).order_by("-received_at", "-pk"),
        user,
    )
    assert rows == by_instance


def test_a_page_joins_the_category_names_and_its_count_does_not(data, bureau_viewer, monkeypatch):
    """The list's two statements: the count over the records alone, the page's rows with the
    names of their category and its parent (as Category's str)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from petitions.models import Petition

    monkeypatch.setattr(views_report, "PAGE_SIZE", 4)
    records = figure_records(key="petitions_total", area_code=D, period=MARCH)
    qs = views_report.scoped_records(bureau_viewer, records, area_code=D)
    with CaptureQueriesContext(connection) as ctx:
        page = views_report.record_page(qs, 2)
        rows = views_report.record_rows(page, bureau_viewer)
    count_sql, page_sql = (q["sql"] for q in ctx.captured_queries)
    assert "COUNT(*)" in count_sql and "petitions_category" not in count_sql
    assert "petitions_category" in page_sql and "LIMIT 4 OFFSET 4" in page_sql
    assert page.paginator.count == 9 and page.paginator.num_pages == 3
    pks = [r["pk"] for r in page]
    expected = Petition.objects.filter(pk__in=[r["pk"] for r in qs]).order_by(
        "-received_at", "-pk"
    )[4:8]
    assert pks == [p.pk for p in expected]
    assert [r["category"] for r in rows] == [str(p.category) for p in expected]
    assert any(" / " in r["category"] for r in rows)  # a category with its parent


def test_an_area_outside_the_grants_keeps_the_scope_filter(data, street_a):
    records = figure_records(key="petitions_total", area_code=D, period=MARCH)
    listed = views_report.scoped_records(street_a, records, area_code=D)
    assert _area_filters(listed) == 2
    assert {r["area_code"][:9] for r in listed} == {A}
    assert len(listed) == 6


def test_as_of_now_leaves_out_the_creation_cut_and_counts_the_same(data):
    import datetime as dt

    from django.utils import timezone

    now = figure_records(key="petitions_total", area_code=D, period=MARCH)
    cut = figure_records(key="petitions_total", area_code=D, period=MARCH, as_of=timezone.now())
    assert '"created_at" <=' not in _sql(now)
    assert '"created_at" <=' in _sql(cut)
    assert sorted(now.values_list("pk", flat=True)) == sorted(cut.values_list("pk", flat=True))
    before = timezone.now() - dt.timedelta(days=3650)
    assert not figure_records(key="petitions_total", area_code=D, period=MARCH, as_of=before)
    live = figures_for_areas(area_codes=[D, A, B], period=MARCH)
    then = figures_for_areas(area_codes=[D, A, B], period=MARCH, as_of=timezone.now())
    for code, figures in live.items():
        for key, fig in figures.items():
            other = then[code][key]
            assert (fig.numerator, fig.denominator) == (other.numerator, other.denominator), key
