"""The SPEC §5 figures for any set of areas and any period, by set-based queries.

One query per figure family for all requested areas at once: rows are grouped by
`substr(area_code, 1, L)` with L the longest requested code, and each area sums the buckets its
code prefixes. Counts therefore add up over children by construction; rates are recomputed from
the summed counts at every level, never averaged.

Roll-ups: a record counts in every area whose code prefixes its `area_code`. A record attached only
at street level (no cell or community known) counts for its street and district but for no
community; figures_for_children reports such records in an UNASSIGNED bucket so the children plus
that bucket still add up to the parent.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Case, F, Max, Q, QuerySet, Value, When
from django.db.models.functions import Left, Substr
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.stats.families import FAMILIES, Ctx, Family, _flag, family_get
from dashboard.stats.periods import Period
from grid.models import Community, Generation, GridCell, Street
from mediation.models import DisputeEvent, MediationEvent
from petitions.models import PetitionEvent

UNASSIGNED = "unassigned"
LEVELS = {"district": 6, "street": 9, "community": 12, "cell": 15}
LEVEL_MODELS = {"street": Street, "community": Community, "cell": GridCell}
# Above this many disjoint requested areas, filter rows by their common prefix instead of an OR.
MAX_OR_PREFIXES = 32


Term = tuple[str, str]  # (family, count name)


@dataclass(frozen=True)
class FigureDef:
    key: str
    label: str
    unit: str
    kind: str  # "count" | "rate" (percent) | "per_1000"
    numerator: tuple[Term, ...]
    denominator: tuple[Term, ...] = ()
    description: str = ""

    def families(self) -> set[str]:
        return {f for f, _n in (*self.numerator, *self.denominator)}


def _d(*terms: Term) -> tuple[Term, ...]:
    return terms


FIGURE_DEFS: dict[str, FigureDef] = {
    d.key: d
    for d in [
        FigureDef(
            "petitions_total",
            _("信访总量"),
            _("件"),
            "count",
            _d(("intake", "new")),
            description=_("期内登记的信访事项（重复信访不计为新事项）"),
        ),
        FigureDef(
            "visits_batches",
            _("来访批次"),
            _("批"),
            "count",
            _d(("visits", "batches")),
            description=_("期内来访登记的批次"),
        ),
        FigureDef(
            "visits_persons",
            _("来访人次"),
            _("人次"),
            "count",
            _d(("visits", "persons")),
            description=_("期内来访批次的人数合计"),
        ),
        FigureDef(
            "collective_visits",
            _("集体访"),
            _("批"),
            "count",
            _d(("visits", "collective")),
            description=_("期内人数达5人及以上的来访批次"),
        ),
        FigureDef(
            "repeats",
            _("重复信访"),
            _("件"),
            "count",
            _d(("repeats", "repeats")),
            description=_("期内关联到已有事项的重复信访"),
        ),
        FigureDef(
            "repeat_rate",
            _("重复率"),
            "%",
            "rate",
            _d(("repeats", "repeats")),
            _d(("intake", "new"), ("repeats", "repeats")),
            description=_("重复信访 ÷（新信访事项 + 重复信访）"),
        ),
        FigureDef(
            "timely_acceptance_rate",
            _("及时受理率"),
            "%",
            "rate",
            _d(("routing", "timely")),
            _d(("routing", "due")),
            description=_("受理期限在期内且15日内作出处理决定的事项 ÷ 受理期限在期内的事项"),
        ),
        FigureDef(
            "closure_rate",
            _("结案率"),
            "%",
            "rate",
            _d(("closure", "closed")),
            _d(("closure", "accepted")),
            description=_("期内受理且截至报告日已办结的事项 ÷ 期内受理的事项"),
        ),
        FigureDef(
            "closure_rate_ytd",
            _("结案率（年度累计）"),
            "%",
            "rate",
            _d(("closure", "closed_ytd")),
            _d(("closure", "accepted_ytd")),
            description=_("1月1日至期末受理且截至报告日已办结的事项 ÷ 同期受理的事项"),
        ),
        FigureDef(
            "on_time_closure_rate",
            _("按期办结率"),
            "%",
            "rate",
            _d(("on_time", "on_time")),
            _d(("on_time", "closed")),
            description=_("期内办结且在办理期限（含批准延期）内办结的事项 ÷ 期内办结的事项"),
        ),
        FigureDef(
            "satisfaction_rate",
            _("满意率"),
            "%",
            "rate",
            _d(("evaluation", "satisfied")),
            _d(("evaluation", "evaluated")),
            description=_("（满意 + 基本满意）÷ 期内作出评价的事项"),
        ),
        FigureDef(
            "dispute_count",
            _("矛盾纠纷"),
            _("件"),
            "count",
            _d(("disputes_found", "found")),
            description=_("期内排查发现的矛盾纠纷"),
        ),
        FigureDef(
            "resolution_rate",
            _("化解率"),
            "%",
            "rate",
            _d(("disputes", "resolved")),
            _d(("disputes", "base")),
            description=_("期内化解的纠纷 ÷ 截至期末发现且期初未结或期内发现的纠纷"),
        ),
        FigureDef(
            "control_rate",
            _("调处稳控率"),
            "%",
            "rate",
            _d(("disputes", "controlled")),
            _d(("disputes", "base")),
            description=_("（期内化解 + 期末稳控）÷ 与化解率相同的基数"),
        ),
        FigureDef(
            "mediation_success_rate",
            _("调解成功率"),
            "%",
            "rate",
            _d(("mediation", "agreed")),
            _d(("mediation", "concluded")),
            description=_("期内结案且达成协议的调解案件 ÷ 期内结案的调解案件"),
        ),
        FigureDef(
            "agreement_performance_rate",
            _("协议履行率"),
            "%",
            "rate",
            _d(("agreements", "performed")),
            _d(("agreements", "followed_up")),
            description=_("期内回访且最近一次回访为已履行的协议 ÷ 期内回访的协议"),
        ),
        FigureDef(
            "per_1000",
            _("每千人信访量"),
            _("件/千人"),
            "per_1000",
            _d(("intake", "new")),
            _d(("cells", "residents")),
            description=_("信访总量 ÷ 辖区常住人口 × 1000"),
        ),
    ]
}
FIGURE_KEYS = list(FIGURE_DEFS)


@dataclass
class Figure:
    key: str
    label: str
    value: int | float | None  # None: the base is 0, shown as "—"
    numerator: int | None
    denominator: int | None
    unit: str
    filter: dict = field(default_factory=dict)

    @property
    def display(self) -> str:
        return display_of(self.value)

    def to_dict(self) -> dict:
        return {k: str(v) if k in ("label", "unit") else v for k, v in asdict(self).items()}


def display_of(value) -> str:
    """A figure's value as shown: "—" for no value (a zero base), rates with two decimals."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _ratio(numerator: int, denominator: int, scale: int) -> float | None:
    if not denominator:
        return None
    exact = Decimal(numerator) * scale / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def make_figure(
    defn: FigureDef, counts: dict[Term, int], filter: dict, texts: tuple[str, str] | None = None
) -> Figure:
    """A figure from summed counts (rates recomputed here, at each level). `texts`: the label
    and unit already translated (many areas at once: gettext once, not per area)."""
    num = sum(counts.get(t, 0) for t in defn.numerator)
    den = sum(counts.get(t, 0) for t in defn.denominator) if defn.denominator else None
    value = figure_value(defn, num, den)
    label, unit = texts or (str(defn.label), str(defn.unit))
    return Figure(defn.key, label, value, num, den, unit, filter)


def figure_value(defn: FigureDef, num: int, den: int | None) -> int | float | None:
    """The figure's value from its summed numerator and denominator (rates rounded half up)."""
    if defn.kind == "count":
        return num
    return _ratio(num, den or 0, 100 if defn.kind == "rate" else 1000)


# --- the set-based aggregate ----------------------------------------------------------------


def _roots(codes: list[str]) -> list[str]:
    """The requested codes no other requested code prefixes (codes nest by 3-digit steps)."""
    wanted = set(codes)
    if len({len(c) for c in wanted}) == 1:  # one level (a choropleth): none prefixes another
        return sorted(wanted)
    return sorted(c for c in wanted if not any(c[:n] in wanted for n in range(len(c) - 3, 0, -3)))


def area_q(path: str, codes: list[str], *, prefix_indexes: tuple[int, ...] = ()) -> Q:
    """Rows under any of `codes` (a prefix match per root; their common prefix when many).
    `prefix_indexes` (Family.prefix_indexes): the code lengths whose rows are read by
    `left(path, n) = '<code>'`, the expression an index of the rows leads with, instead of
    `LIKE '<code>%'`: the same rows, one range of that index per period, and PostgreSQL
    estimates their number from its statistics (a street's month at 5,000,000 cases: 3,259
    estimated for 3,204; the LIKE's histogram said 2,120, and the page's plan turned on it)."""
    roots = _roots(codes)
    if len(roots) > MAX_OR_PREFIXES:
        roots = [os.path.commonprefix(roots)]
    q = Q()
    for root in roots:
        if len(root) in prefix_indexes:
            q |= Q(Exact(Left(path, len(root)), root))
        elif root:
            q |= Q(**{f"{path}__startswith": root})
    return q


def _columns(family: Family) -> dict:
    """Per-record 0/1 flags (counts) and values (sums), one column each."""
    cols = {}
    for i, cond in enumerate(family.counts.values()):
        cols[f"_n{i}"] = Value(1) if cond is None else _flag(cond)
    for i, (column, cond) in enumerate(family.sums.values()):
        value = F(column)
        cols[f"_s{i}"] = value if cond is None else Case(When(cond, then=value), default=Value(0))
    return cols


def family_sql(family: Family, ctx: Ctx, codes: list[str], length: int) -> tuple[str, tuple]:
    """The statement of family_buckets: the family's rows under `codes`, their counts grouped
    by substr(area, 1, length); columns `_b` (the bucket), then one per count name in order
    (`_c0`, `_c1` …). The family's rows (one per record, state as per-record aggregates) are its
    derived table: the ORM has no derived tables, so the outer statement is written here around
    the ORM's compiled SQL (portable: SUBSTR, SUM, GROUP BY work alike on PostgreSQL and
    SQLite)."""
    columns = _columns(family)
    inner = (
        family.rows(ctx)
        .filter(area_q(family.area, codes, prefix_indexes=family.prefix_indexes))
        .annotate(_area=F(family.area), **columns)
        .order_by()
        .values("_area", *columns)
    )
    sql, params = inner.query.sql_with_params()
    q = connection.ops.quote_name
    bucket = f"SUBSTR(t.{q('_area')}, 1, {int(length)})"
    sums = ", ".join(f"SUM(t.{q(c)}) AS {q(f'_c{i}')}" for i, c in enumerate(columns))
    return (
        f"SELECT {bucket} AS {q('_b')}, {sums} FROM ({sql}) t GROUP BY {bucket}",
        tuple(params),
    )


def family_buckets(family: Family, ctx: Ctx, codes: list[str]) -> dict[str, dict[str, int]]:
    """ONE query: the family's counts grouped by the area-code prefix of the longest code."""
    sql, params = family_sql(family, ctx, codes, max(len(c) for c in codes))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    names = family.names()
    return {row[0]: {n: int(v or 0) for n, v in zip(names, row[1:], strict=True)} for row in found}


def _roll_up(buckets: dict[str, dict[str, int]], codes: list[str]) -> dict[str, dict[str, int]]:
    """Sum the buckets each code prefixes (bucket = area_code cut to the longest code)."""
    lengths = sorted({len(c) for c in codes})
    if lengths == [len(next(iter(buckets), ""))]:
        # One level, cut at its own length (a choropleth): each bucket is one code's counts.
        return {c: defaultdict(int, buckets.get(c, {})) for c in codes}
    totals: dict[str, dict[str, int]] = {c: defaultdict(int) for c in codes}
    for bucket, counts in buckets.items():
        for length in lengths:
            if len(bucket) >= length and (target := totals.get(bucket[:length])) is not None:
                for name, n in counts.items():
                    target[name] += n
    return totals


def _resolve(as_of: dt.datetime | None) -> dt.datetime:
    if as_of is not None and timezone.is_naive(as_of):
        raise ValueError("as_of must be timezone-aware")
    return as_of or timezone.now()


EVENT_MODELS = (PetitionEvent, DisputeEvent, MediationEvent)


def last_write() -> dt.datetime | None:
    """When the latest event was written (each on the event tables' recorded_at index)."""
    found = [m.objects.aggregate(m=Max("recorded_at"))["m"] for m in EVENT_MODELS]
    return max((f for f in found if f is not None), default=None)


def make_ctx(
    period: Period,
    as_of: dt.datetime | None,
    generation_id: int | None = None,
    *,
    replay: bool = False,
) -> Ctx:
    """The families' context. The fast path (current columns) applies when as_of is now, or when
    nothing was written after as_of; `replay=True` forces the event replay (tests, benchmarks)."""
    moment = _resolve(as_of)
    current = False
    if not replay:
        if as_of is None:
            current = True
        else:
            latest = last_write()
            current = latest is None or moment >= latest
    return Ctx(period, moment, generation_id, current, live=current and as_of is None)


def _defs(keys: list[str] | None) -> list[FigureDef]:
    if keys is None:
        return list(FIGURE_DEFS.values())
    unknown = [k for k in keys if k not in FIGURE_DEFS]
    if unknown:
        raise KeyError(f"unknown figure(s): {', '.join(unknown)}")
    return [FIGURE_DEFS[k] for k in keys]


def raw_counts(
    *,
    codes: list[str],
    period: Period,
    as_of: dt.datetime | None = None,
    families: set[str],
    generation_id: int | None = None,
    replay: bool = False,
) -> dict[str, dict[Term, int]]:
    """Every named count of the given families for every code: one query per family."""
    ctx = make_ctx(period, as_of, generation_id, replay=replay)
    out: dict[str, dict[Term, int]] = {c: {} for c in codes}
    for name in sorted(families):
        family = family_get(name, ctx)
        totals = _roll_up(family_buckets(family, ctx, codes), codes)
        names = family.names()
        for code in codes:
            own, counts = out[code], totals[code]
            for count_name in names:
                own[(name, count_name)] = counts[count_name]
    return out


def figure_filter(
    defn: FigureDef,
    *,
    area_code: str,
    period: Period,
    as_of: dt.datetime | None,
    generation_id: int | None = None,
    unassigned_level: str | None = None,
) -> dict:
    """The machine-readable description of a figure's records (figure_records takes it as is)."""

    def parts(terms: tuple[Term, ...], side: str) -> list[dict]:
        return [
            {"family": f, "count": n, "model": FAMILIES[f].label, "part": part_name(side, terms, f)}
            for f, n in terms
        ]

    return {
        "figure": defn.key,
        "area_code": area_code,
        "period": period.key(),
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "as_of": as_of.isoformat() if as_of else None,
        "generation": generation_id,
        "unassigned_level": unassigned_level,
        "numerator": parts(defn.numerator, "numerator"),
        "denominator": parts(defn.denominator, "denominator"),
    }


def part_name(side: str, terms: tuple[Term, ...], family: str) -> str:
    """The figure_records part of a term: "numerator" / "denominator", or "<side>.<family>"
    when that side sums counts of several record types (e.g. repeat_rate's denominator)."""
    return side if len(terms) == 1 else f"{side}.{family}"


def figures_for_areas(
    *,
    area_codes: list[str],
    period: Period,
    as_of: dt.datetime | None = None,
    keys: list[str] | None = None,
    generation: Generation | int | None = None,
    replay: bool = False,
) -> dict[str, dict[str, Figure]]:
    """The figures of several areas (any levels) for one period: one query per figure family
    for all the areas together. Residents (per 1,000) come from the active generation unless a
    generation is given. `replay=True` forces the event replay where the fast path applies."""
    defs = _defs(keys)
    gen_id = getattr(generation, "pk", generation)
    counts = raw_counts(
        codes=list(area_codes),
        period=period,
        as_of=as_of,
        families=set().union(*(d.families() for d in defs)),
        generation_id=gen_id,
        replay=replay,
    )
    # Per figure once (not per area): the translated texts and the filter, the area filled in.
    texts = {d.key: (str(d.label), str(d.unit)) for d in defs}
    filters = {
        d.key: figure_filter(d, area_code="", period=period, as_of=as_of, generation_id=gen_id)
        for d in defs
    }
    return {
        code: {
            d.key: make_figure(d, counts[code], {**filters[d.key], "area_code": code}, texts[d.key])
            for d in defs
        }
        for code in area_codes
    }


def active_generation() -> Generation | None:
    return Generation.objects.filter(status=Generation.Status.ACTIVE).first()


def child_codes(parent_code: str, level: str, generation: Generation | int) -> list[str]:
    """Codes of the areas at `level` under `parent_code` in a generation."""
    if level not in LEVEL_MODELS or LEVELS[level] <= len(parent_code):
        raise ValueError(f"level {level!r} is not below area {parent_code!r}")
    gen_id = getattr(generation, "pk", generation)
    return list(
        LEVEL_MODELS[level]
        .objects.filter(generation_id=gen_id, code__startswith=parent_code)
        .order_by("code")
        .values_list("code", flat=True)
    )


def figures_for_children(
    *,
    parent_code: str,
    level: str,
    period: Period,
    as_of: dt.datetime | None = None,
    generation: Generation | int | None = None,
    keys: list[str] | None = None,
    replay: bool = False,
) -> dict[str, dict[str, Figure]]:
    """The figures of every area at `level` (street | community | cell) under a parent, zeros for
    children without records, plus UNASSIGNED: the parent's records under no child (attached
    above that level, or to codes of another generation), so the children and UNASSIGNED add up
    to the parent. The number of queries does not depend on the number of children."""
    gen = generation if generation is not None else active_generation()
    if gen is None:
        raise ValueError("no active boundary generation")
    gen_id = getattr(gen, "pk", gen)
    codes = child_codes(parent_code, level, gen_id)
    defs = _defs(keys)
    counts = raw_counts(
        codes=[parent_code, *codes],
        period=period,
        as_of=as_of,
        families=set().union(*(d.families() for d in defs)),
        generation_id=gen_id,
        replay=replay,
    )
    parent = counts[parent_code]
    unassigned = {t: n - sum(counts[c].get(t, 0) for c in codes) for t, n in parent.items()}
    out: dict[str, dict[str, Figure]] = {}
    for code in [*codes, UNASSIGNED]:
        own = unassigned if code == UNASSIGNED else counts[code]
        out[code] = {
            d.key: make_figure(
                d,
                own,
                figure_filter(
                    d,
                    area_code=parent_code if code == UNASSIGNED else code,
                    period=period,
                    as_of=as_of,
                    generation_id=gen_id,
                    unassigned_level=level if code == UNASSIGNED else None,
                ),
            )
            for d in defs
        }
    return out


# --- drill-down -----------------------------------------------------------------------------


def figure_parts(key: str) -> list[str]:
    """The drill-down parts of a figure, for figure_records: ["numerator"], plus "denominator"
    (or "denominator.<family>" for each record type of a mixed denominator, e.g. repeat_rate's
    new cases and repeats)."""
    defn = FIGURE_DEFS[key]
    parts = ["numerator"]
    if len(defn.denominator) == 1:
        parts.append("denominator")
    else:
        parts += [f"denominator.{f}" for f, _n in defn.denominator]
    return parts


def _part_terms(defn: FigureDef, part: str) -> list[Term]:
    if part == "numerator":
        return list(defn.numerator)
    if part == "denominator":
        if len(defn.denominator) != 1:
            raise ValueError(
                f"{defn.key}: the denominator spans several record types; ask for "
                + " / ".join(f"denominator.{f}" for f, _n in defn.denominator)
            )
        return list(defn.denominator)
    side, _dot, family = part.partition(".")
    if family and side in ("numerator", "denominator"):
        terms = [t for t in getattr(defn, side) if t[0] == family]
        if terms:
            return terms
    raise ValueError(f"{defn.key} has no part {part!r}")


def figure_records(
    *,
    key: str,
    area_code: str,
    period: Period,
    as_of: dt.datetime | None = None,
    part: str = "numerator",
    generation: Generation | int | None = None,
    unassigned_level: str | None = None,
    replay: bool = False,
) -> QuerySet:
    """Exactly the records a figure counts (its numerator, or its denominator) in an area: the
    same row set and condition as the aggregate. For visits_persons the records are the visits
    (the figure is the sum of their headcounts); for per_1000's denominator, the cells (the sum
    of their residents). With `unassigned_level`, the parent's records under no child of that
    level (the UNASSIGNED bucket of figures_for_children)."""
    defn = FIGURE_DEFS[key]
    ((family_name, count_name),) = _part_terms(defn, part)
    gen_id = getattr(generation, "pk", generation)
    ctx = make_ctx(period, as_of, gen_id, replay=replay)
    family = family_get(family_name, ctx)
    rows = family.rows(ctx).filter(
        area_q(family.area, [area_code], prefix_indexes=family.prefix_indexes)
    )
    cond = family.condition(count_name)
    if cond is not None:
        rows = rows.filter(cond)
    if unassigned_level:
        if gen_id is None:
            gen_id = getattr(active_generation(), "pk", None)
        codes = child_codes(area_code, unassigned_level, gen_id)
        length = LEVELS[unassigned_level]
        rows = rows.annotate(_child=Substr(family.area, 1, length)).exclude(_child__in=codes)
    if not is_grouped(rows):
        # Already one plain row per record: returned as is, so a list of it is one statement
        # over the indexed columns (a pk__in wrapper made PostgreSQL count a month's petitions
        # by a semi-join over the whole table: 1 s instead of 20 ms at a million petitions).
        return rows
    # A plain queryset of the records (no per-record aggregates): free to order, page, filter.
    return family.model.objects.filter(pk__in=rows.order_by().values("pk"))


def is_grouped(qs: QuerySet) -> bool:
    """Whether a queryset groups its rows (per-record aggregates over a join)."""
    return qs.query.group_by is not None or any(
        getattr(a, "contains_aggregate", False) for a in qs.query.annotations.values()
    )


def records_from_filter(filter: dict, part: str = "numerator") -> QuerySet:
    """figure_records for a Figure's `filter` dict (what a UI link carries)."""
    as_of = filter.get("as_of")
    return figure_records(
        key=filter["figure"],
        area_code=filter["area_code"],
        period=Period(dt.date.fromisoformat(filter["start"]), dt.date.fromisoformat(filter["end"])),
        as_of=dt.datetime.fromisoformat(as_of) if as_of else None,
        part=part,
        generation=filter.get("generation"),
        unassigned_level=filter.get("unassigned_level"),
    )


def trend(
    *,
    key: str,
    area_code: str,
    end_period: Period,
    months: int = 12,
    as_of: dt.datetime | None = None,
) -> list[tuple[Period, Figure]]:
    """The figure for each of the `months` months ending with end_period's month, oldest first."""
    as_of = _resolve(as_of)
    out = []
    for month in end_period.months_back(months):
        figures = figures_for_areas(area_codes=[area_code], period=month, as_of=as_of, keys=[key])
        out.append((month, figures[area_code][key]))
    return out
