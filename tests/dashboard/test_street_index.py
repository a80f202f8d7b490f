# ruff: noqa: F811 — the fixtures imported from test_report are redefined as arguments
"""信访总量 in a street by the expression of the index petition_street_received (issue #9): the
intake family's rows under a street are filtered by `left(area_code, 9) = '<street>'` instead of
`LIKE '<street>%'` — the same rows — so that a street's month is one range of that index."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dashboard import views_report
from dashboard.stats import Period, figure_records, figures_for_areas
from dashboard.stats.engine import area_q
from dashboard.stats.families import FAMILIES
from petitions.models import Petition
from tests.dashboard.conftest import A1, A2, A, B, D
from tests.dashboard.test_report import bureau_viewer, data  # noqa: F401 — fixtures

MARCH = Period.month(2026, 3)


def _sql(q) -> str:
    return str(Petition.objects.filter(q).query)


def test_a_street_root_of_a_street_indexed_family_is_the_expression():
    street = _sql(area_q("area_code", [A], street_index=True))
    assert "LIKE" not in street
    assert f"= {A}" in street.replace("'", "")
    assert ('LEFT("petitions_petition"."area_code", 9)' in street) or (
        'SUBSTR("petitions_petition"."area_code", 1, 9)' in street  # SQLite
    )


@pytest.mark.parametrize(
    "codes",
    [[D], [A1], [A1, A2], [D, A, A1]],  # a district, a community, two, a street under its district
    ids=["district", "community", "communities", "nested"],
)
def test_other_roots_and_other_families_keep_the_prefix_match(codes):
    sql = _sql(area_q("area_code", codes, street_index=True))
    assert "LIKE" in sql and "LEFT(" not in sql and "SUBSTR(" not in sql
    assert _sql(area_q("area_code", codes)) == sql
    assert "LIKE" in _sql(area_q("area_code", [A]))  # without street_index


def test_only_the_intake_family_is_street_indexed():
    # Its rows are bounded by received_at, the index's second column; others measured slower by
    # it or have no such index (tables other than petitions).
    assert [f.name for f in FAMILIES.values() if f.street_index] == ["intake"]


@pytest.mark.django_db
def test_the_expression_and_the_prefix_match_the_same_petitions(data):
    # Edge cases: a case placed on the street itself (no cell), one with no area at all.
    on_street, *_rest = Petition.objects.filter(area_code__startswith=A1).order_by("pk")[:1]
    Petition.objects.filter(pk=on_street.pk).update(area_code=A)
    blank = Petition.objects.filter(area_code__startswith=B).order_by("pk").first()
    Petition.objects.filter(pk=blank.pk).update(area_code="")
    for street in (A, B, "210204099"):
        by_expression = set(
            Petition.objects.filter(area_q("area_code", [street], street_index=True)).values_list(
                "pk", flat=True
            )
        )
        by_prefix = set(
            Petition.objects.filter(area_code__startswith=street).values_list("pk", flat=True)
        )
        assert by_expression == by_prefix
    assert on_street.pk in set(
        Petition.objects.filter(area_q("area_code", [A], street_index=True)).values_list(
            "pk", flat=True
        )
    )


@pytest.mark.django_db
def test_a_streets_figures_and_records_are_those_of_the_prefix(data):
    s, e = MARCH.start_at, MARCH.end_before
    received = Petition.objects.filter(received_at__gte=s, received_at__lt=e)
    figures = figures_for_areas(area_codes=[A, A1, A2], period=MARCH, keys=["petitions_total"])
    for code in (A, A1, A2):
        want = received.filter(area_code__startswith=code).count()
        assert figures[code]["petitions_total"].numerator == want
    records = figure_records(key="petitions_total", area_code=A, period=MARCH)
    assert "LIKE" not in str(records.query)
    assert sorted(records.values_list("pk", flat=True)) == sorted(
        received.filter(area_code__startswith=A).values_list("pk", flat=True)
    )
    assert records.count() == 6  # test_records' CASES: petitions_total in A


@pytest.mark.postgis_only
@pytest.mark.django_db
def test_a_streets_drill_down_reads_the_index(data, bureau_viewer):
    """The statements the drill-down runs for a street use petition_street_received: the count
    an index-only scan of it, the page a scan of it in the list's order (no sort of the month).
    Sequential scans are off: the test tables are small enough to be read whole otherwise."""
    records = figure_records(key="petitions_total", area_code=A, period=MARCH)
    qs = views_report.scoped_records(bureau_viewer, records, area_code=A)
    with CaptureQueriesContext(connection) as ctx:
        page = views_report.record_page(qs, 1)
        assert page.paginator.count == 6 and len(page.object_list) == 6
    count_sql, page_sql = (q["sql"] for q in ctx.captured_queries)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = {}
        for name, sql in (("count", count_sql), ("page", page_sql)):
            cursor.execute("EXPLAIN " + sql)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using petition_street_received" in plans["count"], plans["count"]
    assert "Index Scan Backward using petition_street_received" in plans["page"], plans["page"]
    assert "Sort Key: petitions_petition.received_at" not in plans["page"], plans["page"]
