"""The fast path (figures from the current case columns) equals the event replay: every figure,
every area, several periods, the same records — on the hand-built dataset, after a late
correction, and for a case closed twice in one month. And when each path applies."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.stats import (
    FIGURE_KEYS,
    Period,
    figure_parts,
    figure_records,
    figures_for_areas,
    figures_for_children,
)
from dashboard.stats.engine import make_ctx
from petitions.models import PetitionEvent
from petitions.services import workflow as wf
from tests.dashboard.conftest import A1, A2, B1, A, A1a, B, D, bj

pytestmark = pytest.mark.django_db

AREAS = [D, A, B, A1, A2, B1, A1a]
PERIODS = [
    Period.month(2026, 3),
    Period.month(2026, 2),
    Period.month(2026, 4),
    Period.month(2025, 3),
    Period.quarter(2026, 1),
    Period.year(2026),
    Period.parse("2026-03-10..2026-03-25"),
]


def numbers(figures: dict) -> dict:
    return {
        code: {k: (f.value, f.numerator, f.denominator) for k, f in figs.items()}
        for code, figs in figures.items()
    }


def assert_same_figures(period: Period, as_of=None) -> dict:
    fast = figures_for_areas(area_codes=AREAS, period=period, as_of=as_of)
    replay = figures_for_areas(area_codes=AREAS, period=period, as_of=as_of, replay=True)
    assert numbers(fast) == numbers(replay), period
    return numbers(fast)


def record_ids(key: str, area: str, period: Period, part: str, replay: bool) -> set[int]:
    qs = figure_records(key=key, area_code=area, period=period, part=part, replay=replay)
    return set(qs.values_list("pk", flat=True))


def test_which_path_applies(dataset):
    march = Period.month(2026, 3)
    # As of now (no as_of), or as of an instant after the last write: the current columns.
    assert make_ctx(march, None).current
    assert make_ctx(march, bj(2026, 6, 1)).current
    # As of an instant before some write (the last one: p6 evaluated 13 April): the events.
    assert not make_ctx(march, bj(2026, 4, 12)).current
    # Asked for explicitly: the events.
    assert not make_ctx(march, None, replay=True).current


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_every_figure_of_every_area_is_the_same_either_way(dataset, period):
    assert_same_figures(period)


def test_the_fast_path_gives_the_hand_computed_march_figures(dataset):
    got = assert_same_figures(Period.month(2026, 3))[D]
    # A few of the hand-computed figures (tests/dashboard/test_stats.py checks all of them).
    assert got["petitions_total"] == (9, 9, None)
    assert got["closure_rate"][1:] == (2, 6)
    assert got["on_time_closure_rate"][1:] == (5, 7)
    assert got["resolution_rate"][1:] == (2, 8)
    assert got["agreement_performance_rate"][1:] == (1, 3)


def test_children_and_unassigned_are_the_same_either_way(dataset):
    march = Period.month(2026, 3)
    fast = figures_for_children(parent_code=D, level="community", period=march)
    replay = figures_for_children(parent_code=D, level="community", period=march, replay=True)
    assert numbers(fast) == numbers(replay)


@pytest.mark.parametrize("key", FIGURE_KEYS)
def test_every_figures_records_are_the_same_either_way(dataset, key):
    march = Period.month(2026, 3)
    for part in figure_parts(key):
        for area in (D, A, B1):
            fast = record_ids(key, area, march, part, replay=False)
            assert fast == record_ids(key, area, march, part, replay=True), (key, part, area)


def test_after_a_late_correction_both_paths_move_together(dataset):
    march = Period.month(2026, 3)
    before = assert_same_figures(march)
    # p2 (accepted 25 March) is replied and closed today, a late entry.
    p2 = dataset.p[2]
    wf.petition_reply(petition=p2, actor=dataset.clerk, outcome="explain", text="答复")
    wf.petition_close(petition=p2, actor=dataset.clerk)
    after = assert_same_figures(march)
    assert after[D]["closure_rate"][1:] == (before[D]["closure_rate"][1] + 1, 6)
    # As of before the correction (the replay path, chosen by itself) the figure is unchanged.
    written = PetitionEvent.objects.filter(petition=p2, action="close").get().recorded_at
    earlier = written - dt.timedelta(seconds=1)
    assert not make_ctx(march, earlier).current
    then = figures_for_areas(area_codes=[D], period=march, as_of=earlier)
    assert then[D]["closure_rate"].numerator == before[D]["closure_rate"][1]


def test_a_case_closed_twice_in_the_month_counts_once_either_way(dataset):
    """Closed, 复查 requested and answered, closed again, all in one month: one case closed in
    that month, on time if either closing was within the deadline."""
    clerk = dataset.clerk
    pk = dataset.p[11].pk  # closed 2 March (after a February acceptance), within its deadline

    def fresh():
        return dataset.p[11].__class__.objects.get(pk=pk)

    wf.petition_review_request(petition=fresh(), actor=clerk, now=bj(2026, 3, 5, 9))
    wf.petition_review_answer(
        petition=fresh(), actor=clerk, outcome="explain", text="复查意见", now=bj(2026, 3, 12, 9)
    )
    wf.petition_close(petition=fresh(), actor=clerk, now=bj(2026, 3, 15, 9))
    assert PetitionEvent.objects.filter(petition_id=pk, action="close").count() == 2
    march = Period.month(2026, 3)
    got = assert_same_figures(march)
    assert got[D]["on_time_closure_rate"][1:] == (5, 7)  # unchanged: still one case
    ids = record_ids("on_time_closure_rate", D, march, "denominator", replay=False)
    assert pk in ids and len(ids) == 7


def test_record_lists_are_one_statement_over_the_columns_where_no_replay_is_needed(dataset):
    """A plain row set is returned as is (no `pk IN (subquery)` wrapper), so its list and count
    are single statements; grouped row sets keep the wrapper."""
    march = Period.month(2026, 3)
    plain = figure_records(key="closure_rate", area_code=D, period=march, part="denominator")
    assert " IN (SELECT" not in str(plain.query)
    grouped = figure_records(key="resolution_rate", area_code=D, period=march, part="denominator")
    assert " IN (SELECT" in str(grouped.query)
    replayed = figure_records(
        key="closure_rate", area_code=D, period=march, part="denominator", replay=True
    )
    assert " IN (SELECT" in str(replayed.query)


# --- query counts: no N+1 ---------------------------------------------------------------------


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


@pytest.mark.parametrize("key", FIGURE_KEYS)
def test_a_record_lists_query_count_does_not_depend_on_its_rows(
    client, dataset, bureau, key, monkeypatch
):
    """A page of every record of the district takes as many queries as a page of one."""
    from accounts.models import Grant, Role
    from dashboard import views_report

    Grant.objects.create(user=bureau, role=Role.BUREAU, area_code=D)
    client.force_login(bureau)
    url = reverse("dashboard-report:records")
    for part in ("numerator", "denominator") if len(figure_parts(key)) > 1 else ("numerator",):
        params = {"key": key, "period": "2026-03", "part": part, "area": D}
        many = _queries(client, url, params)
        monkeypatch.setattr(views_report, "PAGE_SIZE", 1)
        one = _queries(client, url, params)
        monkeypatch.setattr(views_report, "PAGE_SIZE", 50)
        assert many == one, (key, part, many, one)
        assert many <= 14, (key, part, many)


def test_the_choropleth_query_count_does_not_depend_on_areas_or_figure(client, dataset, bureau):
    from django.core.cache import cache

    from accounts.models import Grant, Role

    Grant.objects.create(user=bureau, role=Role.BUREAU, area_code=D)
    client.force_login(bureau)
    url = reverse("dashboard-api:choropleth")
    client.get(url, {"period": "2026-03"})  # the session's first request writes to it
    seen = {}
    for level in ("street", "community", "cell"):
        for key in ("petitions_total", "on_time_closure_rate", "resolution_rate"):
            cache.clear()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url, {"figure": key, "level": level, "period": "2026-03"})
            assert response.status_code == 200
            seen[(level, key)] = [q["sql"][:80] for q in ctx.captured_queries]
    # Each of these figures reads one family: the same statements for 2, 4 or 8 areas.
    counts = {k: len(v) for k, v in seen.items()}
    assert len(set(counts.values())) == 1, (counts, seen)
