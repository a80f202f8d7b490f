"""The statistics engine on the hand-built dataset (tests/dashboard/conftest.py): every SPEC §5
figure at cell, community, street and district level, roll-ups, zero bases, 同比/环比, trend,
drill-down and query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.stats import (
    FIGURE_DEFS,
    FIGURE_KEYS,
    UNASSIGNED,
    Period,
    change,
    figure_parts,
    figure_records,
    figures_for_areas,
    figures_for_children,
    records_from_filter,
    trend,
)
from dashboard.stats.families import FAMILIES
from tests.dashboard.conftest import (
    A1,
    A2,
    B1,
    B2,
    A,
    A1a,
    A1b,
    A2a,
    A2b,
    B,
    B1a,
    B1b,
    B2a,
    B2b,
    D,
)

MARCH = Period.month(2026, 3)
pytestmark = pytest.mark.django_db

N = None  # a zero base: the value is None, shown as "—"

# key → area → (value, numerator, denominator); computed by hand from the dataset's story.
EXPECTED = {
    # p1 p2 p3 (A1a), p4 (A1b), p5 (A2a), p6 p7 (B1a), p8 (street A only), p9 (B2a, 23:30 on
    # 31 March); p10 (00:30 on 1 April Beijing time = 31 March UTC) is April.
    "petitions_total": {
        A1a: (3, 3, N), A1b: (1, 1, N), A2a: (1, 1, N), A2b: (0, 0, N),
        B1a: (2, 2, N), B1b: (0, 0, N), B2a: (1, 1, N), B2b: (0, 0, N),
        A1: (4, 4, N), A2: (1, 1, N), B1: (2, 2, N), B2: (1, 1, N),
        A: (6, 6, N), B: (3, 3, N), D: (9, 9, N),
    },
    # v1 ×1, v2 ×7 at street A's office; v3 ×5 at community A1; v4 ×2 at street B (v5 is April).
    "visits_batches": {A1a: (0, 0, N), A1: (1, 1, N), A2: (0, 0, N), A: (3, 3, N), B: (1, 1, N), D: (4, 4, N)},
    "visits_persons": {A1a: (0, 0, N), A1: (5, 5, N), A: (13, 13, N), B: (2, 2, N), D: (15, 15, N)},
    # headcount ≥ 5: v2 (7) and v3 (5).
    "collective_visits": {A1a: (0, 0, N), A1: (1, 1, N), A: (2, 2, N), B: (0, 0, N), D: (2, 2, N)},
    # r1, r2 → p2 (A1a); r3 → p7 (B1a); r4 is April.
    "repeats": {A1a: (2, 2, N), A1b: (0, 0, N), B1a: (1, 1, N), A1: (2, 2, N), A: (2, 2, N), B: (1, 1, N), D: (3, 3, N)},
    # repeats ÷ (new + repeats): A1a 2/(3+2); A1 2/(4+2); A 2/(6+2); B 1/(3+1); D 3/(9+3).
    "repeat_rate": {
        A1a: (40.0, 2, 5), A1b: (0.0, 0, 1), A2a: (0.0, 0, 1), A2b: (N, 0, 0), B1a: (33.33, 1, 3),
        A1: (33.33, 2, 6), A2: (0.0, 0, 1), A: (25.0, 2, 8), B: (25.0, 1, 4), D: (25.0, 3, 12),
    },
    # route_due in March = received 14 Feb..16 March: p1 ✓(03-05 ≤ 03-17), p2 ✗(03-25 > 03-18),
    # p4 ✓ (rejected 03-10 ≤ 03-16), p5 ✗ (not routed), p6 ✓ (03-20 23:30 ≤ 03-20),
    # p7 ✗ (03-21 00:30 > 03-20, though 03-20 in UTC), p8 ✓, p13 ✓ (02-25 ≤ 03-07).
    "timely_acceptance_rate": {
        A1a: (50.0, 1, 2), A1b: (100.0, 2, 2), A2a: (0.0, 0, 1), A2b: (N, 0, 0), B1a: (50.0, 1, 2),
        B2a: (N, 0, 0), A1: (75.0, 3, 4), A2: (0.0, 0, 1), B1: (50.0, 1, 2), B2: (N, 0, 0),
        A: (66.67, 4, 6), B: (50.0, 1, 2), D: (62.5, 5, 8),
    },
    # Accepted in March (the decision in force): p1 (closed), p2, p6 (closed 04-12), p7,
    # p8 (closed 03-26 but reopened by a review request 04-05: not closed now), p9 (23:50 on
    # 31 March). p3's assignment of 03-22 was undone by the upheld objection; accepted 04-02.
    "closure_rate": {
        A1a: (50.0, 1, 2), A1b: (N, 0, 0), A2a: (N, 0, 0), B1a: (50.0, 1, 2), B2a: (0.0, 0, 1),
        A1: (50.0, 1, 2), A2: (N, 0, 0), B1: (50.0, 1, 2), B2: (0.0, 0, 1),
        A: (33.33, 1, 3), B: (33.33, 1, 3), D: (33.33, 2, 6),
    },
    # … plus accepted Jan–Feb 2026: p11 (A1a, closed), p13 (A1b, closed).
    "closure_rate_ytd": {
        A1a: (66.67, 2, 3), A1b: (100.0, 1, 1), A2a: (N, 0, 0), B1a: (50.0, 1, 2),
        A1: (75.0, 3, 4), A2: (N, 0, 0), A: (60.0, 3, 5), B: (33.33, 1, 3), D: (50.0, 4, 8),
    },
    # Closed in March: p1 ✓, p11 ✓ (A1a); p13 ✓ (A1b); p14 ✗ (03-04 > 03-02, its due date with a
    # 10-day extension) (A2a); p15 ✓ (03-19 ≤ 03-22 thanks to a 30-day extension) (A2b);
    # p8 ✓ (street A); p16 ✗ (closed by the 复核 answer 03-05, due 2025-12-09) (B1b).
    "on_time_closure_rate": {
        A1a: (100.0, 2, 2), A1b: (100.0, 1, 1), A2a: (0.0, 0, 1), A2b: (100.0, 1, 1),
        B1a: (N, 0, 0), B1b: (0.0, 0, 1), A1: (100.0, 3, 3), A2: (50.0, 1, 2), B1: (0.0, 0, 1),
        B2: (N, 0, 0), A: (83.33, 5, 6), B: (0.0, 0, 1), D: (71.43, 5, 7),
    },
    # Evaluated in March: p1 满意, p11 基本满意 (A1a); p13 不满意 (A1b); p15 满意 (A2b);
    # p8 不满意 (street A). p6's evaluation is April.
    "satisfaction_rate": {
        A1a: (100.0, 2, 2), A1b: (0.0, 0, 1), A2a: (N, 0, 0), A2b: (100.0, 1, 1),
        A1: (66.67, 2, 3), A2: (100.0, 1, 1), A: (60.0, 3, 5), B: (N, 0, 0), D: (60.0, 3, 5),
    },
    # Found in March: d3 (A1a), d5 (A1b), d10 (A2a, 23:00 on 31 March), d6 (B1a), d9 (street A).
    "dispute_count": {
        A1a: (1, 1, N), A1b: (1, 1, N), A2a: (1, 1, N), B1a: (1, 1, N), B2a: (0, 0, N),
        A1: (2, 2, N), A2: (1, 1, N), A: (4, 4, N), B: (1, 1, N), D: (5, 5, N),
    },
    # Base: open on 1 March or found in March: d1 d2 d3 (A1a), d5 (A1b), d10 (A2a), d6 d7 (B1a),
    # d9 (street A); not d4 (resolved in January) nor d8 (April). Resolved at the end of March:
    # d1, d10 (d5 was reopened, d7 resolved only in April).
    "resolution_rate": {
        A1a: (33.33, 1, 3), A1b: (0.0, 0, 1), A2a: (100.0, 1, 1), B1a: (0.0, 0, 2), B2a: (N, 0, 0),
        A1: (25.0, 1, 4), A2: (100.0, 1, 1), A: (33.33, 2, 6), B: (0.0, 0, 2), D: (25.0, 2, 8),
    },
    # … resolved or stabilised at the end of March: + d2 (A1a), d9 (street A).
    "control_rate": {
        A1a: (66.67, 2, 3), A1b: (0.0, 0, 1), A2a: (100.0, 1, 1), B1a: (0.0, 0, 2),
        A1: (50.0, 2, 4), A2: (100.0, 1, 1), A: (66.67, 4, 6), B: (0.0, 0, 2), D: (50.0, 4, 8),
    },
    # Concluded in March: m1 agreed, m2 terminated (A1a); m3 refused, m4 agreed (B1a).
    "mediation_success_rate": {
        A1a: (50.0, 1, 2), A1b: (N, 0, 0), A2a: (N, 0, 0), B1a: (50.0, 1, 2),
        A1: (50.0, 1, 2), A: (50.0, 1, 2), B: (50.0, 1, 2), D: (50.0, 2, 4),
    },
    # Latest follow-up in March: m1 none (A1a), m6 full (A1b), m4 partial (B1a).
    "agreement_performance_rate": {
        A1a: (0.0, 0, 1), A1b: (100.0, 1, 1), B1a: (0.0, 0, 1), A1: (50.0, 1, 2),
        A2: (N, 0, 0), A: (50.0, 1, 2), B: (0.0, 0, 1), D: (33.33, 1, 3),
    },
    # petitions ÷ residents × 1000, 800 residents a cell: 3/800, 4/1600, 1/1600 = 0.625,
    # 6/3200 = 1.875, 3/3200 = 0.9375, 9/6400 = 1.40625 (rounded half up to 2 places).
    "per_1000": {
        A1a: (3.75, 3, 800), A1b: (1.25, 1, 800), A2b: (0.0, 0, 800), B1a: (2.5, 2, 800),
        A1: (2.5, 4, 1600), A2: (0.63, 1, 1600), A: (1.88, 6, 3200), B: (0.94, 3, 3200),
        D: (1.41, 9, 6400),
    },
}  # fmt: skip
AREAS = sorted({code for table in EXPECTED.values() for code in table}, key=lambda c: (len(c), c))


def test_every_figure_has_a_hand_computed_expectation():
    assert set(EXPECTED) == set(FIGURE_KEYS)
    for table in EXPECTED.values():
        assert {len(c) for c in table} == {6, 9, 12, 15}  # district, street, community, cell


def test_every_figure_at_every_level(dataset):
    figures = figures_for_areas(area_codes=AREAS, period=MARCH)
    got = {
        key: {
            code: (figures[code][key].value, figures[code][key].numerator, figures[code][key].denominator)
            for code in table
        }
        for key, table in EXPECTED.items()
    }  # fmt: skip
    assert got == EXPECTED
    f = figures[D]["closure_rate"]
    assert (f.label, f.unit, f.display) == ("结案率", "%", "33.33")
    assert figures[D]["per_1000"].unit == "件/千人"


def test_a_single_area_gets_the_same_figures(dataset):
    alone = figures_for_areas(area_codes=[A1a], period=MARCH)[A1a]
    assert {k: (f.value, f.numerator, f.denominator) for k, f in alone.items() if A1a in EXPECTED[k]} == {
        k: table[A1a] for k, table in EXPECTED.items() if A1a in table
    }  # fmt: skip


def test_a_cell_without_records_has_zero_counts_and_dash_rates(dataset):
    cell = figures_for_areas(area_codes=[B2b], period=MARCH)[B2b]
    for key, f in cell.items():
        if FIGURE_DEFS[key].kind == "rate":
            assert (f.value, f.numerator, f.denominator, f.display) == (None, 0, 0, "—"), key
        elif key == "per_1000":
            assert (f.value, f.numerator, f.denominator) == (0.0, 0, 800)
        else:
            assert (f.value, f.numerator, f.denominator, f.display) == (0, 0, None, "0"), key


def _counts(figures: dict) -> dict:
    return {k: (f.numerator, f.denominator) for k, f in figures.items()}


@pytest.mark.parametrize(
    "parent, level, children",
    [
        (D, "street", [A, B]),
        (D, "community", [A1, A2, B1, B2]),
        (D, "cell", [A1a, A1b, A2a, A2b, B1a, B1b, B2a, B2b]),
        (A, "community", [A1, A2]),
        (A, "cell", [A1a, A1b, A2a, A2b]),
        (A1, "cell", [A1a, A1b]),
    ],
)
def test_children_and_unassigned_add_up_to_the_parent(dataset, parent, level, children):
    got = figures_for_children(parent_code=parent, level=level, period=MARCH)
    assert list(got) == [*children, UNASSIGNED]
    whole = figures_for_areas(area_codes=[parent], period=MARCH)[parent]
    for key, f in whole.items():
        num = sum(got[c][key].numerator for c in got)
        assert num == f.numerator, key
        if f.denominator is not None:
            assert sum(got[c][key].denominator for c in got) == f.denominator, key
    # Each child equals its own figures computed directly (rates recomputed, never averaged).
    direct = figures_for_areas(area_codes=children, period=MARCH)
    for code in children:
        assert _counts(got[code]) == _counts(direct[code])
        assert {k: f.value for k, f in got[code].items()} == {
            k: f.value for k, f in direct[code].items()
        }


def test_records_attached_above_the_level_are_unassigned(dataset):
    """p8, v1, v2 and d9 belong to street A but to no community; v4 to street B only."""
    got = figures_for_children(parent_code=A, level="community", period=MARCH)[UNASSIGNED]
    assert got["petitions_total"].value == 1
    assert (got["visits_batches"].value, got["visits_persons"].value) == (2, 8)
    assert got["collective_visits"].value == 1
    assert (got["control_rate"].numerator, got["control_rate"].denominator) == (1, 1)
    assert (got["timely_acceptance_rate"].value, got["closure_rate"].value) == (100.0, 0.0)
    assert got["per_1000"].value is None  # no residents outside the communities: "—"
    assert got["per_1000"].display == "—"
    records = records_from_filter(got["petitions_total"].filter)
    assert list(records) == [dataset.p[8]]
    visits = records_from_filter(got["visits_persons"].filter)
    assert {v.pk for v in visits} == {dataset.v[1].pk, dataset.v[2].pk}
    by_street = figures_for_children(parent_code=D, level="street", period=MARCH)[UNASSIGNED]
    assert all(f.numerator == 0 for f in by_street.values())


def test_query_count_does_not_grow_with_the_number_of_children(dataset):
    families = len(FAMILIES)
    counts = {}
    for level in ("street", "community", "cell"):
        with CaptureQueriesContext(connection) as ctx:
            figures_for_children(parent_code=D, level=level, period=MARCH)
        counts[level] = len(ctx.captured_queries)
    # the active generation, the children's codes, then one query per figure family
    assert counts == {"street": families + 2, "community": families + 2, "cell": families + 2}


def test_figures_for_areas_is_one_query_per_family(dataset, django_assert_max_num_queries):
    with django_assert_max_num_queries(len(FAMILIES)):
        figures_for_areas(area_codes=AREAS, period=MARCH)
    with django_assert_max_num_queries(1):
        figures_for_areas(area_codes=AREAS, period=MARCH, keys=["petitions_total"])


# --- drill-down -------------------------------------------------------------------------------


def _size(key: str, records) -> int:
    if key == "visits_persons":
        return sum(v.headcount for v in records)
    if key == "per_1000" and records.model._meta.model_name == "gridcell":
        return sum(c.residents for c in records)
    return records.count()


@pytest.mark.parametrize("code", [A1a, A1, A, D])
def test_drill_down_lists_exactly_the_counted_records(dataset, code):
    figures = figures_for_areas(area_codes=[code], period=MARCH)[code]
    for key, f in figures.items():
        num = figure_records(key=key, area_code=code, period=MARCH)
        assert _size(key, num) == f.numerator, key
        assert _size(key, records_from_filter(f.filter)) == f.numerator, key
        if key == "repeat_rate":
            new = figure_records(key=key, area_code=code, period=MARCH, part="denominator.intake")
            rep = figure_records(key=key, area_code=code, period=MARCH, part="denominator.repeats")
            assert new.count() + rep.count() == f.denominator
            with pytest.raises(ValueError):
                figure_records(key=key, area_code=code, period=MARCH, part="denominator")
        elif f.denominator is not None:
            den = records_from_filter(f.filter, part="denominator")
            assert _size(key, den) == f.denominator, key
            if key == "per_1000":  # petitions over cells' residents
                continue
            # the numerator's records are among the denominator's
            assert set(num.values_list("pk", flat=True)) <= set(den.values_list("pk", flat=True))


def test_figure_parts():
    assert figure_parts("petitions_total") == ["numerator"]
    assert figure_parts("closure_rate") == ["numerator", "denominator"]
    assert figure_parts("repeat_rate") == ["numerator", "denominator.intake", "denominator.repeats"]


def test_drill_down_names_the_cases(dataset):
    p, d, m = dataset.p, dataset.d, dataset.m

    def pks(key, code=D, part="numerator"):
        return set(
            figure_records(key=key, area_code=code, period=MARCH, part=part).values_list(
                "pk", flat=True
            )
        )

    assert pks("petitions_total") == {p[i].pk for i in (1, 2, 3, 4, 5, 6, 7, 8, 9)}
    assert pks("closure_rate") == {p[1].pk, p[6].pk}
    assert pks("closure_rate", part="denominator") == {p[i].pk for i in (1, 2, 6, 7, 8, 9)}
    assert pks("on_time_closure_rate", A, "denominator") == {
        p[i].pk for i in (1, 8, 11, 13, 14, 15)
    }
    assert pks("timely_acceptance_rate") == {p[i].pk for i in (1, 4, 6, 8, 13)}
    assert pks("resolution_rate") == {d[1].pk, d[10].pk}
    assert pks("control_rate", part="denominator") == {d[i].pk for i in (1, 2, 3, 5, 6, 7, 9, 10)}
    assert pks("mediation_success_rate") == {m[1].pk, m[4].pk}
    assert pks("agreement_performance_rate") == {dataset.agreements[6].pk}
    figure = figures_for_areas(area_codes=[A], period=MARCH, keys=["repeat_rate"])[A]["repeat_rate"]
    assert figure.filter["denominator"] == [
        {"family": "intake", "count": "new", "model": "petitions.petition", "part": "denominator.intake"},
        {"family": "repeats", "count": "repeats", "model": "petitions.repeatsubmission", "part": "denominator.repeats"},
    ]  # fmt: skip
    assert figure.filter["area_code"] == A and figure.filter["period"] == "2026-03"


# --- periods, 同比 / 环比, trend ------------------------------------------------------------------


def test_change_year_on_year_and_month_on_month(dataset):
    # District: 9 in March 2026, 2 in February (p11, p13), 1 in March 2025 (p12).
    now = figures_for_areas(area_codes=[D, A2a], period=MARCH)
    prev = figures_for_areas(area_codes=[D, A2a], period=MARCH.previous())
    last_year = figures_for_areas(area_codes=[D, A2a], period=MARCH.same_last_year())
    assert prev[D]["petitions_total"].value == 2
    assert last_year[D]["petitions_total"].value == 1
    assert change(now[D]["petitions_total"], prev[D]["petitions_total"]) == 3.5
    assert change(now[D]["petitions_total"], last_year[D]["petitions_total"]) == 8.0
    # A2a had nothing in February: "—".
    assert change(now[A2a]["petitions_total"], prev[A2a]["petitions_total"]) is None
    # A rate against a zero-base rate: "—" too.
    assert change(now[D]["satisfaction_rate"], prev[D]["satisfaction_rate"]) is None


def test_change_arithmetic():
    assert change(150, 100) == 0.5
    assert change(75, 100) == -0.25
    assert change(5, 0) is None
    assert change(None, 3) is None
    assert change(3, None) is None


def test_trend_is_monthly_and_oldest_first(dataset):
    got = trend(key="petitions_total", area_code=D, end_period=MARCH, months=3)
    assert [(str(p), f.value) for p, f in got] == [("2026-01", 0), ("2026-02", 2), ("2026-03", 9)]
    rates = trend(key="closure_rate_ytd", area_code=A1a, end_period=MARCH, months=2)
    # February: p11 accepted in February, closed on 2 March (closed by now) → 1/1.
    assert [(f.numerator, f.denominator) for _p, f in rates] == [(1, 1), (2, 3)]


def test_periods():
    assert Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)) == MARCH
    assert Period.month(2026, 1).previous() == Period.month(2025, 12)
    assert Period.month(2024, 2).same_last_year() == Period(
        dt.date(2023, 2, 1), dt.date(2023, 2, 28)
    )
    assert Period.quarter(2026, 1) == Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert Period.quarter(2026, 1).previous() == Period.quarter(2025, 4)
    assert Period.year(2026).previous() == Period.year(2025)
    custom = Period(dt.date(2026, 3, 10), dt.date(2026, 3, 19))
    assert custom.previous() == Period(dt.date(2026, 2, 28), dt.date(2026, 3, 9))
    assert Period(dt.date(2024, 2, 29), dt.date(2024, 3, 5)).same_last_year() == Period(
        dt.date(2023, 2, 28), dt.date(2023, 3, 5)
    )
    for p in (MARCH, Period.quarter(2026, 2), Period.year(2026), custom):
        assert Period.parse(p.key()) == p
    assert [p.kind for p in (MARCH, Period.quarter(2026, 2), Period.year(2026), custom)] == [
        "month", "quarter", "year", "range",
    ]  # fmt: skip
    assert MARCH.start_at.isoformat() == "2026-03-01T00:00:00+08:00"
    assert MARCH.end_before.isoformat() == "2026-04-01T00:00:00+08:00"
    assert MARCH.year_to_date() == Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert [str(p) for p in MARCH.months_back(3)] == ["2026-01", "2026-02", "2026-03"]
    assert MARCH.label() == "2026年3月"
    with pytest.raises(ValueError):
        Period(dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def test_quarter_and_year_figures(dataset):
    q1 = figures_for_areas(area_codes=[D], period=Period.quarter(2026, 1))[D]
    # Q1 2026 received: 9 in March + p11, p13 in February.
    assert q1["petitions_total"].value == 11
    # Accepted in Q1: March's six + p11, p13 = the year to date at the end of March.
    assert (q1["closure_rate"].numerator, q1["closure_rate"].denominator) == (4, 8)
    year = figures_for_areas(area_codes=[D], period=Period.year(2025))[D]
    assert year["petitions_total"].value == 4  # p12, p14, p15, p16


def test_unknown_figure_and_bad_level_fail_loudly(dataset):
    with pytest.raises(KeyError):
        figures_for_areas(area_codes=[D], period=MARCH, keys=["nope"])
    with pytest.raises(ValueError):
        figures_for_children(parent_code=A1, level="street", period=MARCH)
    with pytest.raises(ValueError):
        figures_for_areas(area_codes=[D], period=MARCH, as_of=dt.datetime(2026, 4, 1))
