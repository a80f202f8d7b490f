"""Reads of the map dashboard, scoped to the user's grants (SPEC §6) and cached.

- `dashboard_scope(user)`: the area codes a user may see on the dashboard (an area grant covers
  the area and everything below it); anything else is answered with 404.
- `choropleth_get`: one level's areas (under a parent, or under the user's scope) with one figure
  for one period, as GeoJSON text. The figures come from the statistics engine (one query per
  figure family for all the areas); the FeatureCollection is assembled by the database on
  PostGIS (`string_agg` of `ST_AsGeoJSON`; building GeoJSON in Python cost 4–6×) and by
  splicing the database's geometry text on SpatiaLite. Query count does not depend on the number
  of areas.
- `area_panel_get`: one area's figures with 同比/环比 and a 12-month trend.
- `case_markers_get` / `heat_points_get`: located cases the user may see (no personal data).
- "History on today's boundaries" (`boundaries="today"`): every record with a location is placed
  into the cell of the *active* generation containing it, by a correlated `ST_Intersects`
  subquery inside the engine's set-based aggregate (never a per-record loop); records without a
  location keep their recorded area code. Figures whose records carry no location (visits,
  mediation cases, agreements) are not offered in that view.

Cached for CACHE_SECONDS per (scope, figure, period, level, parent, boundaries, language) under
a data version that changes on any write (the highest id of every case and event table), so a
new record shows at once and unchanged data is never recomputed.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import time
from dataclasses import dataclass
from json.encoder import encode_basestring
from urllib.parse import urlencode

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Polygon
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.scoping import area_codes, is_admin, sees_personal_data
from dashboard.stats import FIGURE_DEFS, LEVELS, Figure, Period, change, figures_for_areas
from dashboard.stats.engine import (
    Term,
    _columns,
    _defs,
    _resolve,
    _roll_up,
    area_q,
    display_of,
    family_buckets,
    family_sql,
    figure_filter,
    figure_parts,
    figure_value,
    make_ctx,
    make_figure,
)
from dashboard.stats.families import FAMILIES, Ctx, Family, family_get
from grid.models import Community, District, Generation, GenerationEvent, GridCell, Street
from mediation.models import Dispute, DisputeEvent, MediationCase, MediationEvent
from mediation.selectors import dispute_list
from petitions.models import Petition, PetitionEvent, RepeatSubmission, Visit
from petitions.selectors import petition_list

CACHE_SECONDS = 300
GEOJSON_PRECISION = 6  # decimal places, ~10 cm: plenty for a choropleth
CLASSES = 5
# ColorBrewer YlOrRd, 5 classes (sequential, colour-blind safe); no value: grey.
PALETTE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
NO_DATA_COLOR = "#d9d9d9"
# At most this many case markers / heat points per request (the rest: "truncated": true).
POINT_LIMIT = 5000

DASHBOARD_ROLES = {Role.BUREAU, Role.LEADER, Role.STREET_CLERK, Role.COMMUNITY_STAFF}
LEVEL_MODELS = {"district": District, "street": Street, "community": Community, "cell": GridCell}
LEVEL_ORDER = ["district", "street", "community", "cell"]
MAP_LEVELS = ["street", "community", "cell"]
PARENT_NAME = {"district": None, "street": "district", "community": "street", "cell": "community"}
BOUNDARIES = ("recorded", "today")
# The record list page of the monthly report (key, area, period, part): its URL name.
RECORDS_URL_NAMES = ("dashboard-report:records", "dashboard:records")

# Where each figure family's records keep their location, for re-placing them into today's
# boundaries ("cells" are today's cells already). Families missing here have no location.
LOCATION_PATHS = {
    "intake": "location",
    "routing": "location",
    "closure": "location",
    "on_time": "location",
    "evaluation": "location",
    "repeats": "petition__location",
    "disputes": "location",
    "disputes_found": "location",
}
TODAY_FAMILIES = {*LOCATION_PATHS, "cells"}
# Case markers: dispute figures show disputes, every other figure petitions.
DISPUTE_FAMILIES = {"disputes", "disputes_found", "mediation", "agreements"}


class DashboardError(ValueError):
    """A request the dashboard cannot answer (unknown figure, level not below the parent …)."""


# --- scope --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The areas a user may see on the dashboard: `roots` and everything below them."""

    roots: tuple[str, ...]
    personal_data: bool

    def covers(self, code: str) -> bool:
        return any(code.startswith(root) for root in self.roots)

    @property
    def key(self) -> str:
        return hashlib.sha256("|".join(self.roots).encode()).hexdigest()[:16]

    def level(self) -> str:
        """The level whose areas the map shows first: the one below the widest root."""
        shortest = min((len(r) for r in self.roots), default=6)
        return next((lv for lv in MAP_LEVELS if LEVELS[lv] > shortest), "cell")

    def levels(self) -> list[str]:
        """Map levels with areas in scope (a community grant has no street to show)."""
        shortest = min((len(r) for r in self.roots), default=6)
        return [lv for lv in MAP_LEVELS if LEVELS[lv] >= shortest]


def _outermost(codes: list[str]) -> tuple[str, ...]:
    wanted = set(codes)
    return tuple(sorted(c for c in wanted if not any(c[:n] in wanted for n in range(3, len(c), 3))))


def dashboard_scope(user) -> Scope:
    """The user's dashboard areas: every district for an admin, else the codes of their bureau,
    leader, street and community grants (others see no dashboard)."""
    if is_admin(user):
        codes = list(
            District.objects.filter(generation__status=Generation.Status.ACTIVE).values_list(
                "code", flat=True
            )
        )
    else:
        codes = area_codes(user, DASHBOARD_ROLES)
    return Scope(roots=_outermost(codes), personal_data=sees_personal_data(user))


def _require(scope: Scope, code: str | None = None) -> None:
    if not scope.roots or (code is not None and not scope.covers(code)):
        raise Http404(_("该区域不在您的辖区内。"))


def level_of(code: str) -> str:
    for level, length in LEVELS.items():
        if len(code) == length:
            return level
    raise Http404(_("区域代码无效。"))


def child_level(level: str) -> str | None:
    i = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[i + 1] if i + 1 < len(LEVEL_ORDER) else None


# --- cache --------------------------------------------------------------------------------------

VERSION_MODELS = [
    Petition,
    PetitionEvent,
    RepeatSubmission,
    Visit,
    Dispute,
    DisputeEvent,
    MediationCase,
    MediationEvent,
    GenerationEvent,
]


def data_version() -> str:
    """Changes on any write the dashboard shows: the highest id of every case and event table
    (one statement of primary-key lookups). Every workflow step writes an event row, and
    boundary activations a GenerationEvent."""
    qn = connection.ops.quote_name
    parts = ", ".join(
        f"(SELECT MAX({qn(m._meta.pk.column)}) FROM {qn(m._meta.db_table)})" for m in VERSION_MODELS
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts}")
        row = cursor.fetchone()
    return "-".join(str(v or 0) for v in row)


def _cache_key(kind: str, scope_key: str, version: str, *parts) -> str:
    text = ":".join(str(p) for p in (kind, scope_key, version, get_language(), *parts))
    return "dashboard:" + hashlib.sha256(text.encode()).hexdigest()


def cached(kind: str, scope_key: str, parts: tuple, build, *, version: str | None = None):
    """build(), cached per (kind, scope key, data version, language, parts) for CACHE_SECONDS:
    any write that data_version sees makes the next call build afresh. Also the monthly report
    page's (dashboard.views_report). `version`: data_version() when the caller has it already."""
    key = _cache_key(kind, scope_key, version or data_version(), *parts)
    found = cache.get(key)
    if found is None:
        found = _build_once(key, build)
    return found


# How long a request waits for another process building the same entry before building it itself.
BUILD_WAIT_SECONDS = 30
BUILD_POLL_SECONDS = 0.05


def _build_once(key: str, build):
    """Build a missing entry once, however many requests miss it together: the first takes a
    lock (cache.add is atomic on Redis), the others wait for its result instead of computing
    the same report side by side (ten clients opening a new month's report would otherwise each
    spend a second of CPU on it). A lock left by a dead process expires with the wait."""
    lock = f"{key}:building"
    if cache.add(lock, 1, BUILD_WAIT_SECONDS):
        try:
            return _build_and_store(key, build)
        finally:
            cache.delete(lock)
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(BUILD_POLL_SECONDS)
        found = cache.get(key)
        if found is not None:
            return found
        if cache.get(lock) is None:  # the builder failed: build it here
            break
    return _build_and_store(key, build)


def _build_and_store(key: str, build):
    found = build()
    cache.set(key, found, CACHE_SECONDS)
    return found


def _cached(kind: str, scope: Scope, parts: tuple, build):
    return cached(kind, scope.key, parts, build)


# --- figures on today's boundaries --------------------------------------------------------------


def today_supported(key: str) -> bool:
    """Whether a figure's records all carry a location (so can be re-placed into today's cells)."""
    return FIGURE_DEFS[key].families() <= TODAY_FAMILIES


def _today_rows(family: Family, ctx: Ctx, generation_id: int, districts: list[str]) -> QuerySet:
    """The family's rows, each with `_area`: the code of the active generation's cell containing
    its location (lowest code on a shared edge, as grid_locate), else its recorded area code."""
    cell = (
        GridCell.objects.filter(
            generation_id=generation_id, geom__intersects=OuterRef(LOCATION_PATHS[family.name])
        )
        .order_by("code")
        .values("code")[:1]
    )
    # Records move between cells and streets, not districts: the district prefix bounds the rows.
    return (
        family.rows(ctx)
        .filter(area_q(family.area, districts))
        .annotate(_area=Coalesce(Subquery(cell), F(family.area)))
    )


def _today_buckets(family: Family, ctx: Ctx, codes: list[str], generation_id: int) -> dict:
    """engine.family_buckets on today's boundaries: ONE query grouping the family's counts by the
    prefix of each record's re-placed area code."""
    length = max(len(c) for c in codes)
    columns = _columns(family)
    districts = sorted({c[:6] for c in codes})
    inner = (
        _today_rows(family, ctx, generation_id, districts)
        .annotate(**columns)
        .order_by()
        .values("_area", *columns)
    )
    sql, params = inner.query.sql_with_params()
    q = connection.ops.quote_name
    bucket = f"SUBSTR(t.{q('_area')}, 1, {int(length)})"
    sums = ", ".join(f"SUM(t.{q(c)})" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {bucket}, {sums} FROM ({sql}) t GROUP BY {bucket}", params)
        found = cursor.fetchall()
    names = family.names()
    return {row[0]: {n: int(v or 0) for n, v in zip(names, row[1:], strict=True)} for row in found}


def figures_today(
    *, area_codes: list[str], period: Period, keys: list[str], as_of=None
) -> dict[str, dict[str, Figure]]:
    """figures_for_areas with every located record re-placed into today's active generation."""
    defs = _defs(keys)
    unsupported = [d.key for d in defs if not today_supported(d.key)]
    if unsupported:
        raise DashboardError(
            _("指标“%(keys)s”的记录没有位置，不能按现行边界回溯。")
            % {"keys": "、".join(unsupported)}
        )
    generation = Generation.objects.filter(status=Generation.Status.ACTIVE).first()
    if generation is None:
        raise DashboardError(_("没有生效的网格边界版本。"))
    ctx = Ctx(period, _resolve(as_of), generation.pk)
    codes = list(area_codes)
    counts: dict[str, dict[Term, int]] = {c: {} for c in codes}
    for name in sorted(set().union(*(d.families() for d in defs))):
        family = FAMILIES[name]
        if name == "cells":
            buckets = family_buckets(family, ctx, codes)
        else:
            buckets = _today_buckets(family, ctx, codes, generation.pk)
        totals = _roll_up(buckets, codes)
        for code in codes:
            for count_name in family.names():
                counts[code][(name, count_name)] = totals[code][count_name]
    out = {}
    for code in codes:
        out[code] = {}
        for d in defs:
            filt = figure_filter(d, area_code=code, period=period, as_of=as_of)
            out[code][d.key] = make_figure(d, counts[code], {**filt, "boundaries": "today"})
    return out


def _figures(codes: list[str], period: Period, keys: list[str], today: bool) -> dict:
    if not codes:
        return {}
    if today:
        return figures_today(area_codes=codes, period=period, keys=keys)
    return figures_for_areas(area_codes=codes, period=period, keys=keys)


# --- class breaks -------------------------------------------------------------------------------


def class_breaks(values: list[float], classes: int = CLASSES) -> list[float]:
    """Upper bounds of up to `classes` quantile classes over the values (nearest rank), taken one
    class at a time over the values left above the previous bound: ties never straddle a bound,
    and a value shared by many areas (typically 0) gets a class of its own while the remaining
    values are still split into the other classes. Fewer distinct values give fewer classes."""
    rest = sorted(values)
    bounds: list[float] = []
    for left in range(classes, 0, -1):
        if not rest:
            break
        bound = rest[math.ceil(len(rest) / left) - 1]
        bounds.append(bound)
        rest = rest[bisect.bisect_right(rest, bound) :]
    return bounds


def class_of(value, bounds: list[float]) -> int | None:
    """Index of the first class whose upper bound is ≥ value (None: no value)."""
    if value is None or not bounds:
        return None
    return min(bisect.bisect_left(bounds, value), len(bounds) - 1)


def _palette(count: int) -> list[str]:
    """`count` colours spread over the palette, light to dark."""
    if count <= 1:
        return PALETTE[2:3][:count]
    return [PALETTE[round(i * (len(PALETTE) - 1) / (count - 1))] for i in range(count)]


def _fmt(value, kind: str) -> str:
    if value is None:
        return "—"
    return str(int(value)) if kind == "count" else f"{value:.2f}"


def legend(values: list, kind: str) -> dict:
    """The legend: quantile classes (smallest and largest value, colour, count) and the
    no-value class."""
    present = [v for v in values if v is not None]
    bounds = class_breaks(present)
    colors = _palette(len(bounds))
    members: list[list] = [[] for _b in bounds]
    for v in present:
        members[class_of(v, bounds)].append(v)
    classes = []
    for i, upper in enumerate(bounds):
        # Labelled by the smallest and largest value in the class (bounds exclude the lower one).
        lower = min(members[i])
        label = (
            _fmt(upper, kind) if lower == upper else f"{_fmt(lower, kind)} – {_fmt(upper, kind)}"
        )
        classes.append(
            {
                "from": lower,
                "to": upper,
                "label": label,
                "color": colors[i],
                "count": len(members[i]),
            }
        )
    no_data = {
        "label": _("无数据（基数为0）"),
        "color": NO_DATA_COLOR,
        "count": len(values) - len(present),
    }
    return {
        "method": "quantile",
        "method_label": _("分位数分级"),
        "breaks": bounds,
        "classes": classes,
        "no_data": no_data,
    }


# --- choropleth ---------------------------------------------------------------------------------


def _level_areas(level: str, prefixes: list[str]) -> list[tuple]:
    """(id, code, name, parent_code, parent_name) of the active generation's areas of `level`
    under any prefix, ordered by code: one query."""
    model = LEVEL_MODELS[level]
    qs = model.objects.filter(generation__status=Generation.Status.ACTIVE)
    under = Q()
    for prefix in prefixes:
        under |= Q(code__startswith=prefix)
    qs = qs.filter(under).order_by("code")
    parent = PARENT_NAME[level]
    if parent is None:
        return [
            (pk, code, name, None, None) for pk, code, name in qs.values_list("id", "code", "name")
        ]
    return list(qs.values_list("id", "code", "name", "parent_code", f"{parent}__name"))


def area_get(code: str) -> tuple:
    """(id, code, name, parent_code, parent_name) of an area of the active generation, or 404."""
    level = level_of(code)
    found = [a for a in _level_areas(level, [code]) if a[1] == code]
    if not found:
        raise Http404(_("该区域不存在。"))
    return found[0]


def _feature_collection(level: str, members: dict, features: list[tuple[int, dict]]) -> str:
    """The FeatureCollection text: `members` (figure, legend …) and, per area (id, properties),
    its geometry, spliced by the database."""
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)[:-1]
    head += ',"features":['
    if not features:
        return head + "]}"
    model = LEVEL_MODELS[level]
    ids = [pk for pk, _props in features]
    if connection.vendor == "postgresql":
        # One statement: the database concatenates the features (geometry text never parsed).
        # The properties go in as one JSON array (one json.dumps, not one per area: 2,000 cells
        # cost 26 ms that way; json_build_object from one array per property cost 2× in the
        # database), matched to the ids by position.
        table = connection.ops.quote_name(model._meta.db_table)
        sql = f"""
            SELECT %s || string_agg(
                '{{"type":"Feature","id":' || a.id || ',"properties":' || p.props::text
                || ',"geometry":' || COALESCE(ST_AsGeoJSON(COALESCE(a.geom_simple, a.geom), %s),
                                              'null') || '}}',
                ',' ORDER BY a.code) || ']}}'
            FROM unnest(%s::bigint[]) WITH ORDINALITY AS i(id, n)
            JOIN json_array_elements(%s::json) WITH ORDINALITY AS p(props, n) ON p.n = i.n
            JOIN {table} a ON a.id = i.id
        """
        props = json.dumps([p for _i, p in features], ensure_ascii=False)
        with connection.cursor() as cursor:
            cursor.execute(sql, [head, GEOJSON_PRECISION, ids, props])
            return cursor.fetchone()[0]
    shape = Coalesce("geom_simple", "geom")
    geometry = dict(
        model.objects.filter(pk__in=ids)
        .annotate(gj=AsGeoJSON(shape, precision=GEOJSON_PRECISION))
        .values_list("id", "gj")
    )
    parts = [
        f'{{"type":"Feature","id":{pk:d},"properties":{json.dumps(props, ensure_ascii=False)},'
        f'"geometry":{geometry.get(pk) or "null"}}}'
        for pk, props in features
    ]
    return head + ",".join(parts) + "]}"


def figure_meta(key: str) -> dict:
    d = FIGURE_DEFS[key]
    return {
        "key": d.key,
        "label": str(d.label),
        "unit": str(d.unit),
        "kind": d.kind,
        "description": str(d.description),
        "today": today_supported(d.key),
    }


def choropleth_get(
    *,
    user,
    figure: str,
    period: Period,
    level: str,
    parent: str | None = None,
    boundaries: str = "recorded",
) -> str:
    """GeoJSON text: the areas of `level` under `parent` (default: the user's scope) with the
    figure's value, numerator, denominator and class; out-of-scope parent → 404."""
    _check(figure, level, boundaries)
    scope = dashboard_scope(user)
    _require(scope, parent)
    if parent is not None and LEVELS[level] <= len(parent):
        raise DashboardError(_("层级必须低于上级区域。"))
    prefixes = [parent] if parent else list(scope.roots)
    return _cached(
        "choropleth",
        scope,
        (figure, period.key(), level, parent, boundaries),
        lambda: _choropleth(figure, period, level, parent, prefixes, boundaries == "today"),
    )


def _check(figure: str, level: str, boundaries: str) -> None:
    if figure not in FIGURE_DEFS:
        raise DashboardError(_("未知的指标“%(key)s”。") % {"key": figure})
    if level not in MAP_LEVELS:
        raise DashboardError(_("未知的层级“%(level)s”。") % {"level": level})
    if boundaries not in BOUNDARIES:
        raise DashboardError(_("边界口径只能是 recorded 或 today。"))
    if boundaries == "today" and not today_supported(figure):
        raise DashboardError(
            _("指标“%(label)s”的记录没有位置，不能按现行边界回溯。")
            % {"label": FIGURE_DEFS[figure].label}
        )


def _choropleth(figure, period, level, parent, prefixes, today) -> str:
    if connection.vendor == "postgresql" and not today:
        return _choropleth_one_statement(figure, period, level, parent, prefixes)
    return _choropleth_portable(figure, period, level, parent, prefixes, today)


def _choropleth_portable(figure, period, level, parent, prefixes, today) -> str:
    """The areas, figures_for_areas (or figures_today), then the geometry: any database."""
    areas = _level_areas(level, prefixes)
    if parent and not areas:
        area_get(parent)  # 404 for a parent that does not exist
    values = _figures([a[1] for a in areas], period, [figure], today)
    defn = FIGURE_DEFS[figure]
    figs = [values[a[1]][figure] for a in areas]
    key = legend([f.value for f in figs], defn.kind)
    below = child_level(level)
    features = []
    for (pk, code, name, parent_code, parent_name), fig in zip(areas, figs, strict=True):
        props = {
            "code": code,
            "name": name,
            "level": level,
            "parent_code": parent_code,
            "parent_name": parent_name,
            "child_level": below,
            "value": fig.value,
            "display": fig.display,
            "numerator": fig.numerator,
            "denominator": fig.denominator,
            "class": class_of(fig.value, key["breaks"]),
        }
        features.append((pk, props))
    members = {
        "figure": figure_meta(figure),
        "period": {"key": period.key(), "label": period.label()},
        "level": level,
        "parent": parent,
        "boundaries": "today" if today else "recorded",
        "legend": key,
    }
    return _feature_collection(level, members, features)


def _areas_with_counts(defn, period: Period, level: str, prefixes: list[str]) -> list[tuple]:
    """PostgreSQL, ONE statement: the active generation's areas of `level` under the prefixes,
    ordered by code, each as (id, code, name, parent_code, parent_name, GeoJSON geometry text,
    then every count of the figure's families in order). The families' statements are those of
    figures_for_areas (engine.family_sql, fast path or replay as it decides), as CTEs grouped
    at the level's code length and joined to the areas by code: on one level a bucket is one
    area's counts, as engine._roll_up sums them."""
    ctx = make_ctx(period, None)
    length = LEVELS[level]
    qn = connection.ops.quote_name
    ctes, columns, joins, params = [], [], [], []
    for i, name in enumerate(sorted(defn.families())):
        family = family_get(name, ctx)
        sql, found = family_sql(family, ctx, prefixes, length)
        ctes.append(f"f{i} AS ({sql})")
        params.extend(found)
        columns += [f"f{i}.{qn(f'_c{j}')}" for j in range(len(family.names()))]
        joins.append(f"LEFT JOIN f{i} ON f{i}.{qn('_b')} = t.{qn('a_code')}")
    model = LEVEL_MODELS[level]
    under = Q()
    for prefix in prefixes:
        under |= Q(code__startswith=prefix)
    parent = PARENT_NAME[level]
    areas = (
        model.objects.filter(generation__status=Generation.Status.ACTIVE)
        .filter(under)
        .order_by()
        .values(
            a_id=F("id"),
            a_code=F("code"),
            a_name=F("name"),
            a_parent=F("parent_code") if parent else Value(None, output_field=CharField()),
            p_name=F(f"{parent}__name") if parent else Value(None, output_field=CharField()),
            a_geometry=Func(
                Coalesce("geom_simple", "geom"),
                Value(GEOJSON_PRECISION),
                function="ST_AsGeoJSON",
                output_field=TextField(),
            ),
        )
    )
    sql, found = areas.query.sql_with_params()
    out = ", ".join(
        f"t.{qn(c)}" for c in ("a_id", "a_code", "a_name", "a_parent", "p_name", "a_geometry")
    )
    statement = (
        f"{'WITH ' + ', '.join(ctes) if ctes else ''} SELECT {out}"
        f"{''.join(', ' + c for c in columns)} FROM ({sql}) t {' '.join(joins)}"
        f" ORDER BY t.{qn('a_code')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, *found])
        return cursor.fetchall()


def _choropleth_one_statement(figure, period, level, parent, prefixes) -> str:
    """_choropleth on PostgreSQL (recorded boundaries): one statement returns the areas, their
    counts and their geometry text; the values, legend and classes are computed from the counts
    as make_figure does, and the FeatureCollection is joined as text (no Figure or feature dict
    per area)."""
    defn = FIGURE_DEFS[figure]
    rows = _areas_with_counts(defn, period, level, prefixes)
    if parent and not rows:
        area_get(parent)  # 404 for a parent that does not exist
    # Position of each term's count in the row (after the 6 area columns), families in order.
    offset, index = 6, {}
    for name in sorted(defn.families()):
        for count_name in FAMILIES[name].names():
            index[(name, count_name)] = offset
            offset += 1
    num_at = [index[t] for t in defn.numerator]
    den_at = [index[t] for t in defn.denominator] if defn.denominator else None
    numbers = []
    for row in rows:
        num = sum(int(row[i] or 0) for i in num_at)
        den = sum(int(row[i] or 0) for i in den_at) if den_at is not None else None
        numbers.append((num, den, figure_value(defn, num, den)))
    key = legend([n[2] for n in numbers], defn.kind)
    breaks = key["breaks"]
    members = {
        "figure": figure_meta(figure),
        "period": {"key": period.key(), "label": period.label()},
        "level": level,
        "parent": parent,
        "boundaries": "recorded",
        "legend": key,
    }
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)[:-1]
    text = encode_basestring
    fixed = f',"level":{text(level)},'
    below = json.dumps(child_level(level))
    parts = []
    for row, (num, den, value) in zip(rows, numbers, strict=True):
        pk, code, name, parent_code, parent_name, geometry = row[:6]
        cls = class_of(value, breaks)
        parts.append(
            f'{{"type":"Feature","id":{pk:d},"properties":{{"code":{text(code)},'
            f'"name":{text(name)}{fixed}'
            f'"parent_code":{"null" if parent_code is None else text(parent_code)},'
            f'"parent_name":{"null" if parent_name is None else text(parent_name)},'
            f'"child_level":{below},"value":{json.dumps(value)},'
            f'"display":{text(display_of(value))},"numerator":{num:d},'
            f'"denominator":{"null" if den is None else f"{den:d}"},'
            f'"class":{"null" if cls is None else f"{cls:d}"}}},'
            f'"geometry":{geometry or "null"}}}'
        )
    return head + ',"features":[' + ",".join(parts) + "]}"


# --- area panel ---------------------------------------------------------------------------------


def records_url(key: str, area: str, period: Period, part: str) -> str | None:
    """The drill-down record list of one number (the report pages' record list)."""
    for name in RECORDS_URL_NAMES:
        try:
            base = reverse(name)
            break
        except NoReverseMatch:
            continue
    else:
        return None
    return base + "?" + urlencode({"key": key, "area": area, "period": period.key(), "part": part})


def _links(key: str, area: str, period: Period, today: bool) -> dict:
    # The record lists follow the recorded boundaries: on today's boundaries no link is given
    # rather than one to a different set of records.
    if today:
        return {}
    return {part: records_url(key, area, period, part) for part in figure_parts(key)}


def _breadcrumb(scope: Scope, code: str) -> list[dict]:
    """The in-scope ancestors of an area and the area itself, outermost first (one query per
    level, at most four)."""
    crumbs = []
    for level, length in LEVELS.items():
        if length > len(code):
            break
        prefix = code[:length]
        if not scope.covers(prefix):
            continue
        found = [a for a in _level_areas(level, [prefix]) if a[1] == prefix]
        if found:
            crumbs.append({"code": prefix, "name": found[0][2], "level": level})
    return crumbs


def area_panel_get(
    *,
    user,
    code: str,
    period: Period,
    figure: str,
    boundaries: str = "recorded",
) -> dict:
    """One area's figures for the period with 同比/环比 (`yoy`/`mom`, fractions or None), links
    to their records, the breadcrumb, and the 12-month trend of `figure`."""
    _check(figure, "cell", boundaries)
    scope = dashboard_scope(user)
    _require(scope, code)
    return _cached(
        "panel",
        scope,
        (code, period.key(), figure, boundaries),
        lambda: _panel(scope, code, period, figure, boundaries == "today"),
    )


def _panel(scope: Scope, code: str, period: Period, figure: str, today: bool) -> dict:
    _pk, code, name, parent_code, parent_name = area_get(code)
    keys = [k for k in FIGURE_DEFS if not today or today_supported(k)]
    now = _figures([code], period, keys, today)[code]
    previous = _figures([code], period.previous(), keys, today)[code]
    last_year = _figures([code], period.same_last_year(), keys, today)[code]
    rows = []
    for key in keys:
        fig = now[key]
        rows.append(
            {
                **figure_meta(key),
                "value": fig.value,
                "display": fig.display,
                "numerator": fig.numerator,
                "denominator": fig.denominator,
                "mom": change(fig, previous[key]),
                "yoy": change(fig, last_year[key]),
                "previous": previous[key].display,
                "last_year": last_year[key].display,
                "links": _links(key, code, period, today),
            }
        )
    months = period.months_back(12)
    trend = [_figures([code], m, [figure], today)[code][figure] for m in months]
    return {
        "code": code,
        "name": name,
        "level": level_of(code),
        "child_level": child_level(level_of(code)),
        "parent": {"code": parent_code, "name": parent_name} if scope.covers(parent_code or "")
        else None,
        "breadcrumb": _breadcrumb(scope, code),
        "period": {"key": period.key(), "label": period.label()},
        "boundaries": "today" if today else "recorded",
        "figures": rows,
        "trend": {
            "figure": figure_meta(figure),
            "labels": [m.key() for m in months],
            "values": [f.value for f in trend],
            "displays": [f.display for f in trend],
        },
    }  # fmt: skip


# --- case markers and heat points ---------------------------------------------------------------


def marker_kind(figure: str) -> str:
    """Which cases a figure's map shows: disputes for dispute and mediation figures."""
    return "disputes" if FIGURE_DEFS[figure].families() & DISPUTE_FAMILIES else "petitions"


def _box(bbox) -> Polygon:
    box = Polygon.from_bbox(bbox)
    box.srid = 4326
    return box


def _located(user, scope: Scope, kind: str, period: Period, area: str | None, bbox):
    """The located cases of `kind` the user may see, in the period, under `area` (or the scope)."""
    under = area_q("area_code", [area] if area else list(scope.roots))
    if kind == "disputes":
        qs = dispute_list(user).filter(
            under, found_at__gte=period.start_at, found_at__lt=period.end_before
        )
    else:
        qs = petition_list(user).filter(
            under, received_at__gte=period.start_at, received_at__lt=period.end_before
        )
        # 检举控告 cases only for roles that see personal data (never for leaders).
        if not scope.personal_data:
            qs = qs.exclude(case_type=Petition.CaseType.ACCUSATION)
    qs = qs.filter(location__isnull=False)
    if bbox is not None:
        qs = qs.filter(location__intersects=_box(bbox))
    return qs.annotate(gj=AsGeoJSON("location", precision=GEOJSON_PRECISION)).order_by("pk")


def _points(user, kind, period, area, bbox):
    if kind not in ("petitions", "disputes"):
        raise DashboardError(_("未知的案件类型“%(kind)s”。") % {"kind": kind})
    scope = dashboard_scope(user)
    _require(scope, area)
    return _located(user, scope, kind, period, area, bbox)


def _collection(features: list[str], truncated: bool, kind: str) -> str:
    head = f'{{"type":"FeatureCollection","kind":"{kind}","truncated":{json.dumps(truncated)},'
    return head + '"features":[' + ",".join(features) + "]}"


def case_markers_get(
    *, user, period: Period, kind: str = "petitions", area: str | None = None, bbox=None
) -> str:
    """GeoJSON text of located cases (id, receipt number or category, status — no personal
    data), at most POINT_LIMIT."""
    qs = _points(user, kind, period, area, bbox)
    if kind == "disputes":
        labels = dict(Dispute.Status.choices)
        categories = dict(Dispute.Category.choices)
        rows = qs.values_list("id", "category", "status", "gj")[: POINT_LIMIT + 1]
        props = [
            (pk, {"id": pk, "label": str(categories.get(cat, cat)), "status": st,
                  "status_label": str(labels.get(st, st))}, gj)
            for pk, cat, st, gj in rows
        ]  # fmt: skip
    else:
        labels = dict(Petition.Status.choices)
        rows = qs.values_list("id", "receipt_no", "status", "gj")[: POINT_LIMIT + 1]
        props = [
            (pk, {"id": pk, "receipt_no": no, "label": no, "status": st,
                  "status_label": str(labels.get(st, st))}, gj)
            for pk, no, st, gj in rows
        ]  # fmt: skip
    features = [
        f'{{"type":"Feature","id":{pk:d},"properties":{json.dumps(p, ensure_ascii=False)},'
        f'"geometry":{gj}}}'
        for pk, p, gj in props[:POINT_LIMIT]
    ]
    return _collection(features, len(props) > POINT_LIMIT, kind)


def heat_points_get(
    *, user, period: Period, kind: str = "petitions", area: str | None = None, bbox=None
) -> str:
    """GeoJSON text of the same cases as bare points (no properties), for the heat layer."""
    qs = _points(user, kind, period, area, bbox)
    rows = list(qs.values_list("gj", flat=True)[: POINT_LIMIT + 1])
    features = [
        f'{{"type":"Feature","properties":{{}},"geometry":{gj}}}' for gj in rows[:POINT_LIMIT]
    ]
    return _collection(features, len(rows) > POINT_LIMIT, kind)
