"""Monthly report snapshots: freeze a period's official figures; compare a frozen report with a
fresh as-of run (late corrections are shown as differences, never applied silently)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.routers import use_primary
from dashboard.models import ReportSnapshot
from dashboard.stats import (
    FIGURE_DEFS,
    Figure,
    Period,
    active_generation,
    figure_parts,
    figure_records,
    figures_for_areas,
)
from grid.models import Community, District, GridCell, Street

AREA_MODELS = {6: District, 9: Street, 12: Community, 15: GridCell}


def default_report_areas(generation=None) -> list[str]:
    """The official report's areas: the district(s) and every street of the active generation."""
    gen = generation or active_generation()
    if gen is None:
        return []
    districts = District.objects.filter(generation=gen).order_by("code")
    streets = Street.objects.filter(generation=gen).order_by("code")
    return [*districts.values_list("code", flat=True), *streets.values_list("code", flat=True)]


def _area_names(codes: list[str], generation) -> dict[str, str]:
    names: dict[str, str] = {}
    for length, model in AREA_MODELS.items():
        wanted = [c for c in codes if len(c) == length]
        if wanted:
            qs = model.objects.filter(code__in=wanted)
            if generation is not None:
                qs = qs.filter(generation=generation)
            names.update(qs.values_list("code", "name"))
    return names


def _frozen(figure: Figure) -> dict:
    data = figure.to_dict()
    data.pop("filter")
    return data


@use_primary()  # reads back what it just wrote: never from a lagging replica
def snapshot_freeze(
    *,
    period: Period,
    area_codes: list[str] | None = None,
    as_of: dt.datetime | None = None,
) -> list[ReportSnapshot]:
    """Freeze the official report of a period for each area (district + streets by default), as
    of `as_of` (now). An area already frozen for the period keeps its first snapshot."""
    as_of = as_of or timezone.now()
    generation = active_generation()
    codes = list(area_codes) if area_codes is not None else default_report_areas(generation)
    existing = {
        s.area_code: s
        for s in ReportSnapshot.objects.filter(
            period_start=period.start, period_end=period.end, area_code__in=codes
        )
    }
    missing = [c for c in codes if c not in existing]
    if missing:
        figures = figures_for_areas(
            area_codes=missing, period=period, as_of=as_of, generation=generation
        )
        names = _area_names(missing, generation)
        rows = [
            ReportSnapshot(
                period_start=period.start,
                period_end=period.end,
                area_code=code,
                area_name=names.get(code, ""),
                generation=generation,
                as_of=as_of,
                figures={key: _frozen(f) for key, f in figures[code].items()},
            )
            for code in missing
        ]
        try:
            with transaction.atomic():
                ReportSnapshot.objects.bulk_create(rows)
        except IntegrityError:
            # Another run froze some of them first: its snapshots stand.
            pass
        existing = {
            s.area_code: s
            for s in ReportSnapshot.objects.filter(
                period_start=period.start, period_end=period.end, area_code__in=codes
            )
        }
    return [existing[c] for c in codes]


def _delta(fresh, frozen):
    """fresh − frozen (rates to 2 places); None when either side is "—"."""
    if fresh is None or frozen is None:
        return None
    if isinstance(fresh, float) or isinstance(frozen, float):
        return round(fresh - frozen, 2)
    return fresh - frozen


def snapshot_compare(
    snapshot: ReportSnapshot, as_of: dt.datetime | None = None, *, changed_only: bool = True
) -> list[dict]:
    """Differences between a frozen report and a fresh run as of `as_of` (now), figure by figure:
    [{key, label, unit, frozen: {value, numerator, denominator}, fresh: {…}, delta, delta_numerator,
    delta_denominator}]. Only the figures that differ, unless changed_only=False."""
    # In the SPEC's order (jsonb does not keep the keys' order).
    keys = [k for k in FIGURE_DEFS if k in snapshot.figures]
    fresh = figures_for_areas(
        area_codes=[snapshot.area_code],
        period=snapshot.period,
        as_of=as_of,
        keys=keys,
        generation=snapshot.generation_id,
    )[snapshot.area_code]
    out = []
    for key in keys:
        old, new = snapshot.figures[key], fresh[key]
        parts = ("value", "numerator", "denominator")
        changed = any(old.get(p) != getattr(new, p) for p in parts)
        if changed_only and not changed:
            continue
        out.append(
            {
                "key": key,
                "label": new.label,
                "unit": new.unit,
                "frozen": {p: old.get(p) for p in parts},
                "fresh": {p: getattr(new, p) for p in parts},
                "delta": _delta(new.value, old.get("value")),
                "delta_numerator": _delta(new.numerator, old.get("numerator")),
                "delta_denominator": _delta(new.denominator, old.get("denominator")),
                "changed": changed,
            }
        )
    return out


def snapshot_changed_records(
    snapshot: ReportSnapshot, key: str, as_of: dt.datetime | None = None
) -> dict[str, dict[str, list[int]]]:
    """Which records make a figure differ: the records counted as of the freeze (regenerated from
    the event history) against those counted now → {part: {"added": [pk…], "removed": [pk…]}}."""
    out = {}
    for part in figure_parts(key):
        common = {
            "key": key,
            "area_code": snapshot.area_code,
            "period": snapshot.period,
            "part": part,
            "generation": snapshot.generation_id,
        }
        then = set(figure_records(**common, as_of=snapshot.as_of).values_list("pk", flat=True))
        now = set(figure_records(**common, as_of=as_of).values_list("pk", flat=True))
        out[part] = {"added": sorted(now - then), "removed": sorted(then - now)}
    return out
