"""Monthly snapshots: freezing, as-of regeneration from the event history, and late corrections
shown as differences between a frozen report and a fresh run — never as a silent change."""

import datetime as dt

import pytest
from django.utils import timezone

from dashboard.models import ReportSnapshot
from dashboard.services import snapshot_changed_records, snapshot_compare, snapshot_freeze
from dashboard.stats import FIGURE_KEYS, Period, figures_for_areas
from dashboard.tasks import last_month, monthly_snapshot_task
from petitions.models import Petition
from petitions.services import workflow as wf
from tests.dashboard.conftest import AFTER_ALL, FREEZE, A, A1b, B, D, bj

MARCH = Period.month(2026, 3)
pytestmark = pytest.mark.django_db


def _values(figures: dict) -> dict:
    return {k: (f["value"], f["numerator"], f["denominator"]) for k, f in figures.items()}


def _fresh(code, as_of):
    figures = figures_for_areas(area_codes=[code], period=MARCH, as_of=as_of)[code]
    return {k: (f.value, f.numerator, f.denominator) for k, f in figures.items()}


def test_freeze_stores_the_report_of_the_district_and_every_street(dataset):
    snaps = snapshot_freeze(period=MARCH, as_of=AFTER_ALL)
    assert [(s.area_code, s.area_name) for s in snaps] == [
        (D, "沙河口区"),
        (A, "测试1街道"),
        (B, "测试2街道"),
    ]
    district = snaps[0]
    assert (district.period_start, district.period_end) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 31),
    )
    assert district.as_of == AFTER_ALL
    assert district.generation == dataset.h["generation"]
    assert set(district.figures) == set(FIGURE_KEYS)
    assert district.figures["closure_rate"] == {
        "key": "closure_rate",
        "label": "结案率",
        "value": 33.33,
        "numerator": 2,
        "denominator": 6,
        "unit": "%",
    }
    for snap in snaps:
        assert _values(snap.figures) == _fresh(snap.area_code, AFTER_ALL)


def test_as_of_regeneration_equals_the_frozen_report_when_nothing_changed(dataset):
    snaps = snapshot_freeze(period=MARCH, as_of=AFTER_ALL)
    for snap in snaps:
        assert snapshot_compare(snap) == []  # a fresh run now
        assert snapshot_compare(snap, as_of=AFTER_ALL) == []
        full = snapshot_compare(snap, changed_only=False)
        assert [row["key"] for row in full] == FIGURE_KEYS
        assert not any(row["changed"] for row in full)


def test_a_late_correction_differs_by_exactly_that_case(dataset):
    snaps = {s.area_code: s for s in snapshot_freeze(period=MARCH, as_of=AFTER_ALL)}
    frozen_before = {code: dict(s.figures) for code, s in snaps.items()}
    # Recorded today (after the freeze): p2 (A1a) was replied to and closed on 30 March.
    p2 = Petition.objects.get(pk=dataset.p[2].pk)
    p2 = wf.petition_reply(
        petition=p2, actor=dataset.clerk, outcome="support", text="已解决", now=bj(2026, 3, 30, 9)
    )
    wf.petition_close(petition=p2, actor=dataset.clerk, now=bj(2026, 3, 30, 10))

    diff = snapshot_compare(snaps[D])
    assert [(r["key"], r["frozen"], r["fresh"], r["delta"], r["delta_numerator"], r["delta_denominator"]) for r in diff] == [
        # p2 was accepted in March and is now closed: the cohort's closed count grows by one …
        ("closure_rate", {"value": 33.33, "numerator": 2, "denominator": 6},
         {"value": 50.0, "numerator": 3, "denominator": 6}, 16.67, 1, 0),
        ("closure_rate_ytd", {"value": 50.0, "numerator": 4, "denominator": 8},
         {"value": 62.5, "numerator": 5, "denominator": 8}, 12.5, 1, 0),
        # … and it was closed in March, on time (handle_due 24 May): one more closed, on time.
        ("on_time_closure_rate", {"value": 71.43, "numerator": 5, "denominator": 7},
         {"value": 75.0, "numerator": 6, "denominator": 8}, 3.57, 1, 1),
    ]  # fmt: skip
    assert [r["key"] for r in snapshot_compare(snaps[A])] == [
        "closure_rate",
        "closure_rate_ytd",
        "on_time_closure_rate",
    ]
    assert snapshot_compare(snaps[B]) == []  # nothing changed in street B
    assert snapshot_changed_records(snaps[D], "closure_rate") == {
        "numerator": {"added": [p2.pk], "removed": []},
        "denominator": {"added": [], "removed": []},
    }
    assert snapshot_changed_records(snaps[A], "on_time_closure_rate") == {
        "numerator": {"added": [p2.pk], "removed": []},
        "denominator": {"added": [p2.pk], "removed": []},
    }
    # The frozen rows did not change, and a run as of the freeze still reproduces them.
    for code, snap in snaps.items():
        snap.refresh_from_db()
        assert snap.figures == frozen_before[code]
        assert snapshot_compare(snap, as_of=AFTER_ALL) == []


def test_the_official_report_frozen_at_month_close_and_what_happened_after(dataset):
    """Frozen at 01:00 on 1 April: p8 was closed (its review request came on 5 April) and p6 was
    not yet (closed 12 April). Both streets change; the district's counts do not."""
    snaps = {s.area_code: s for s in snapshot_freeze(period=MARCH, as_of=FREEZE)}
    assert _values(snaps[A].figures)["closure_rate"] == (66.67, 2, 3)
    assert _values(snaps[A].figures)["closure_rate_ytd"] == (80.0, 4, 5)
    assert _values(snaps[B].figures)["closure_rate"] == (0.0, 0, 3)
    assert _values(snaps[D].figures)["closure_rate"] == (33.33, 2, 6)

    def brief(rows):
        return [(r["key"], r["frozen"]["value"], r["fresh"]["value"]) for r in rows]

    assert brief(snapshot_compare(snaps[A])) == [
        ("closure_rate", 66.67, 33.33),
        ("closure_rate_ytd", 80.0, 60.0),
    ]
    assert brief(snapshot_compare(snaps[B])) == [
        ("closure_rate", 0.0, 33.33),
        ("closure_rate_ytd", 0.0, 33.33),
    ]
    assert snapshot_compare(snaps[D]) == []  # p8 out, p6 in: same counts
    assert snapshot_changed_records(snaps[A], "closure_rate")["numerator"] == {
        "added": [],
        "removed": [dataset.p[8].pk],
    }
    assert snapshot_changed_records(snaps[B], "closure_rate")["numerator"] == {
        "added": [dataset.p[6].pk],
        "removed": [],
    }
    assert snapshot_changed_records(snaps[D], "closure_rate")["numerator"] == {
        "added": [dataset.p[6].pk],
        "removed": [dataset.p[8].pk],
    }


def test_any_moment_can_be_regenerated_from_the_event_history(dataset):
    # d5 (A1b) was resolved on 20 March and reopened on 25 March: as known on 22 March, March's
    # resolution rate in A1b was 1/1; as known now, 0/1.
    assert _fresh(A1b, bj(2026, 3, 22))["resolution_rate"] == (100.0, 1, 1)
    assert _fresh(A1b, None)["resolution_rate"] == (0.0, 0, 1)
    # p8 (street A) closed 26 March, review requested 5 April.
    assert _fresh(A, bj(2026, 4, 4))["closure_rate"] == (66.67, 2, 3)
    assert _fresh(A, bj(2026, 4, 6))["closure_rate"] == (33.33, 1, 3)
    # Before anything of March was written, March is empty.
    before = _fresh(D, bj(2026, 2, 28))
    assert before["petitions_total"] == (0, 0, None)
    assert before["closure_rate"] == (None, 0, 0)


def test_freezing_again_keeps_the_first_snapshot(dataset):
    first = snapshot_freeze(period=MARCH, as_of=FREEZE)
    again = snapshot_freeze(period=MARCH, as_of=AFTER_ALL)
    assert [s.pk for s in again] == [s.pk for s in first]
    assert {s.as_of for s in again} == {FREEZE}
    assert ReportSnapshot.objects.count() == 3
    # A new area is added beside the existing ones.
    more = snapshot_freeze(period=MARCH, area_codes=[D, A1b], as_of=AFTER_ALL)
    assert more[0].pk == first[0].pk and more[1].as_of == AFTER_ALL
    assert ReportSnapshot.objects.count() == 4


def test_last_month_is_in_beijing_time():
    assert last_month(FREEZE) == MARCH
    assert last_month(bj(2026, 1, 1, 1)) == Period.month(2025, 12)
    # 17:00 UTC on 31 March is 01:00 on 1 April in Beijing.
    assert last_month(dt.datetime(2026, 3, 31, 17, tzinfo=dt.UTC)) == MARCH


def test_monthly_task_freezes_last_month_once(dataset, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: FREEZE)
    ids = monthly_snapshot_task()
    assert monthly_snapshot_task() == ids  # safe to run twice
    snaps = list(ReportSnapshot.objects.filter(pk__in=ids).order_by("area_code"))
    assert [(s.area_code, s.period, s.as_of) for s in snaps] == [
        (D, MARCH, FREEZE),
        (A, MARCH, FREEZE),
        (B, MARCH, FREEZE),
    ]
    assert _values(snaps[1].figures)["closure_rate"] == (66.67, 2, 3)
