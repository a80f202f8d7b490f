# ruff: noqa: F811 — the fixtures imported from test_report are redefined as arguments
"""信访总量 in a district or a street by the expression of its index (issue #9): the intake
family's rows under a district or a street are filtered by `left(area_code, 6 or 9) = '<code>'`
instead of `LIKE '<code>%'` — the same rows — so that the area's month is one range of
petition_district_received or petition_street_received."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dashboard import views_report
from dashboard.stats import Period, figure_records, figures_for_areas
from dashboard.stats.engine import LEVELS, area_q
from dashboard.stats.families import FAMILIES
from petitions.models import AREA_PREFIX_LENGTHS, Petition
from tests.dashboard.conftest import A1, A2, A, B, D
from tests.dashboard.test_report import bureau_viewer, data  # noqa: F401 — fixtures

MARCH = Period.month(2026, 3)
PREFIXES = FAMILIES["intake"].prefix_indexes
INDEX = {D: "petition_district_received", A: "petition_street_received"}


def _sql(q) -> str:
    return str(Petition.objects.filter(q).query)


@pytest.mark.parametrize("code", [D, A], ids=["district", "street"])
def test_a_district_or_street_root_of_an_indexed_family_is_the_expression(code):
    sql = _sql(area_q("area_code", [code], prefix_indexes=PREFIXES))
    n = len(code)
    assert "LIKE" not in sql
    assert f"= {code}" in sql.replace("'", "")
    assert (f'LEFT("petitions_petition"."area_code", {n})' in sql) or (
        f'SUBSTR("petitions_petition"."area_code", 1, {n})' in sql  # SQLite
    )


@pytest.mark.parametrize(
    "codes",
    [["2102"], [A1], [A1, A2], [A + "001001"]],  # a city, a community, two, a cell
    ids=["city", "community", "communities", "cell"],
)
def test_other_roots_and_other_families_keep_the_prefix_match(codes):
    sql = _sql(area_q("area_code", codes, prefix_indexes=PREFIXES))
    assert "LIKE" in sql and "LEFT(" not in sql and "SUBSTR(" not in sql
    assert _sql(area_q("area_code", codes)) == sql
    assert "LIKE" in _sql(area_q("area_code", [A]))  # without prefix lengths
    assert "LIKE" in _sql(area_q("area_code", [D]))


def test_a_street_under_its_district_is_read_by_the_district():
    # Nested roots: the district's rows include the street's; one condition, the district's.
    sql = _sql(area_q("area_code", [D, A, A1], prefix_indexes=PREFIXES))
    assert sql.count("LEFT(") + sql.count("SUBSTR(") == 1
    assert f"= {D}" in sql.replace("'", "")


def test_two_streets_are_two_ranges():
    sql = _sql(area_q("area_code", [A, B], prefix_indexes=PREFIXES))
    assert sql.count("LEFT(") + sql.count("SUBSTR(") == 2 and " OR " in sql


def test_only_the_intake_family_has_prefix_indexes():
    # Its rows are bounded by received_at, the indexes' second column; others measured slower
    # read in that order, or live in tables without such indexes.
    assert [f.name for f in FAMILIES.values() if f.prefix_indexes] == ["intake"]
    # A district's and a street's code, as the hierarchy has them; each with its index.
    assert {k: LEVELS[k] for k in ("district", "street")} == AREA_PREFIX_LENGTHS
    assert PREFIXES == (6, 9)
    names = {i.name for i in Petition._meta.indexes}
    assert {f"petition_{level}_received" for level in AREA_PREFIX_LENGTHS} <= names


@pytest.mark.django_db
def test_the_expression_and_the_prefix_match_the_same_petitions(data):
    # Edge cases: a case placed on the street itself (no cell), one with no area at all.
    on_street = Petition.objects.filter(area_code__startswith=A1).order_by("pk").first()
    Petition.objects.filter(pk=on_street.pk).update(area_code=A)
    blank = Petition.objects.filter(area_code__startswith=B).order_by("pk").first()
    Petition.objects.filter(pk=blank.pk).update(area_code="")
    for code in (D, A, B, "210204099", "210299"):
        by_expression = set(
            Petition.objects.filter(
                area_q("area_code", [code], prefix_indexes=PREFIXES)
            ).values_list("pk", flat=True)
        )
        by_prefix = set(
            Petition.objects.filter(area_code__startswith=code).values_list("pk", flat=True)
        )
        assert by_expression == by_prefix
    for code in (D, A):
        assert on_street.pk in set(
            Petition.objects.filter(
                area_q("area_code", [code], prefix_indexes=PREFIXES)
            ).values_list("pk", flat=True)
        )


@pytest.mark.django_db
def test_the_areas_figures_and_records_are_those_of_the_prefix(data):
    s, e = MARCH.start_at, MARCH.end_before
    received = Petition.objects.filter(received_at__gte=s, received_at__lt=e)
    codes = [D, A, B, A1, A2]
    figures = figures_for_areas(area_codes=codes, period=MARCH, keys=["petitions_total"])
    for code in codes:
        want = received.filter(area_code__startswith=code).count()
        assert figures[code]["petitions_total"].numerator == want
    for code, n in ((D, 9), (A, 6)):  # test_records' CASES: petitions_total in D and in A
        records = figure_records(key="petitions_total", area_code=code, period=MARCH)
        assert "LIKE" not in str(records.query)
        assert sorted(records.values_list("pk", flat=True)) == sorted(
            received.filter(area_code__startswith=code).values_list("pk", flat=True)
        )
        assert records.count() == n


@pytest.mark.postgis_only
@pytest.mark.django_db
@pytest.mark.parametrize("code", [D, A], ids=["district", "street"])
def test_the_drill_down_reads_the_areas_index(data, bureau_viewer, code):
    """The statements the drill-down runs for a district or a street use its index: the count
    an index-only scan of it, the page a scan of it in the list's order (no sort of the month).
    Sequential scans are off: the test tables are small enough to be read whole otherwise."""
    records = figure_records(key="petitions_total", area_code=code, period=MARCH)
    qs = views_report.scoped_records(bureau_viewer, records, area_code=code)
    with CaptureQueriesContext(connection) as ctx:
        page = views_report.record_page(qs, 1)
        assert page.paginator.count == len(page.object_list) == {D: 9, A: 6}[code]
    count_sql, page_sql = (q["sql"] for q in ctx.captured_queries)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = {}
        for name, sql in (("count", count_sql), ("page", page_sql)):
            cursor.execute("EXPLAIN " + sql)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    index = INDEX[code]
    assert f"Index Only Scan using {index}" in plans["count"], plans["count"]
    assert f"Index Scan Backward using {index}" in plans["page"], plans["page"]
    assert "Sort Key: petitions_petition.received_at" not in plans["page"], plans["page"]
