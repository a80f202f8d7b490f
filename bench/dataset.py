#!/usr/bin/env python
"""A reproducible benchmark dataset on PostGIS: boundaries, petitions with their events, repeats,
visits, disputes with their events, mediation cases, agreements and follow-ups.

    .venv/bin/python bench/dataset.py --db postgis://postgres@127.0.0.1:5432/cg_bench \
        [--mode quick|default|scale] [--districts N] [--cells N] [--petitions N] [--disputes N]
        [--mediations N] [--months N] [--end YYYY-MM-DD] [--seed N] [--force] [--json]

Modes (explicit options override them):

    mode      districts  cells   petitions  disputes  mediations  months
    quick     10        20,000     100,000     20,000       5,000      24
    default   10        20,000   1,000,000    200,000      50,000      24
    scale     10        20,000   5,000,000  1,000,000     250,000      24

The default geography is the city of issue #9 (`--districts 10 --cells 20000`): ten synthetic
districts under the synthetic city prefix 2199 (219901 … 219910), each a copy of the demo
district's division tree (7 streets, 95 communities) with its own generated geometry, side by
side. `--districts 1` is one district with the real codes of 沙河口区 (210204) and the demo
geometry (grid.services.demo) with `--cells` cells.

Interface (stable; other benchmarks call it): the command exits 0 when the database holds exactly
the requested dataset, printing one JSON line with the spec and the counts when `--json` is given.
It is idempotent: the spec of the loaded dataset is kept in the table `bench_dataset`; the same
spec again is a no-op ("skipped"), a different spec (or `--force`) wipes the case tables (and the
boundaries when the grid part differs) and loads again. `--db` defaults to cg_bench (never to
DATABASE_URL), and a database holding petitions this generator did not write is refused unless
`--force` is given. Python callers may use
`ensure_dataset(spec) -> dict` after django.setup() with DATABASE_URL pointing at the database.

How it is generated: one set-based SQL statement per table (`INSERT … SELECT` over
`generate_series` and a table of random draws made once with `setseed`, parallelism off, so the
same seed gives the same rows), never a Python loop over records. Every case gets the events that
brought it to its current state, in the order the services write them (ids increase with time per
case), with `to_status` the status after the step — so the as-of statistics (which replay events)
and the current-state columns agree. About 1 % of events are recorded late (`recorded_at` days
after `at`, a late correction). The time window is the `--months` calendar months before `--end`
(default: the first day of the current month, Beijing time), so the last month is complete.
The project's bulk import (petitions/services/bulk.py) is not used: it validates, locates, encrypts
and numbers each row in Python (~460 rows/s into a million-case database: 36 minutes for 1,000,000
petitions, hours for 5,000,000, and events, disputes and mediation cases have no bulk path); the
ledger benchmark (bench/batch.py) measures it at its own size, 100,000 rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
# The project root instead of bench/ (a module there could shadow an installed package).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]
DEFAULT_URL = "postgis://postgres@127.0.0.1:5432/cg_bench"
TZ = ZoneInfo("Asia/Shanghai")

MODES = {
    "quick": {"petitions": 100_000, "disputes": 20_000, "mediations": 5_000},
    "default": {"petitions": 1_000_000, "disputes": 200_000, "mediations": 50_000},
    "scale": {"petitions": 5_000_000, "disputes": 1_000_000, "mediations": 250_000},
}
SPEC_VERSION = 1  # bump when the generator's output changes
CITY_PREFIX = "2199"
CASE_TABLES = [
    "petitions_visit_petitions",
    "petitions_visit",
    "petitions_repeatsubmission",
    "petitions_petitionevent",
    "petitions_document",
    "petitions_supervisionorder",
    "petitions_petitioner",
    "petitions_attachment",
    "mediation_followupvisit",
    "mediation_judicialconfirmation",
    "mediation_agreement",
    "mediation_mediationevent",
    "mediation_mediationsession",
    "mediation_mediationparty",
    "mediation_mediationcase_mediators",
    "mediation_mediationcase",
    "mediation_disputeevent",
    "mediation_dispute",
    "petitions_petition",
]


def default_end() -> dt.date:
    today = dt.datetime.now(TZ).date()
    return today.replace(day=1)


def build_spec(args: argparse.Namespace) -> dict:
    mode = MODES[args.mode]
    end = dt.date.fromisoformat(args.end) if args.end else default_end()
    return {
        "version": SPEC_VERSION,
        "seed": args.seed,
        "districts": args.districts,
        "cells": args.cells,
        "petitions": args.petitions if args.petitions is not None else mode["petitions"],
        "disputes": args.disputes if args.disputes is not None else mode["disputes"],
        "mediations": args.mediations if args.mediations is not None else mode["mediations"],
        "months": args.months,
        "end": end.isoformat(),
    }


def grid_part(spec: dict) -> dict:
    return {k: spec[k] for k in ("version", "seed", "districts", "cells")}


# --- database ------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    from bench.pg import ensure_database as create

    create(url, "bench/dataset.py")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory and slows each one down
    # Production settings refuse to start without keys; the bench data has no personal data.
    os.environ.setdefault("PERSONAL_DATA_KEYS", "YmVuY2gtb25seS1rZXktMDEyMzQ1Njc4OWFiY2RlZiE=")
    os.environ.setdefault("PERSONAL_DATA_INDEX_KEY", "bench-only-blind-index-key")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "0" * 40)
    import django

    ensure_database(url)
    django.setup()


def q(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params)
        if cur.description:
            return cur.fetchall()
    return None


def stored_spec() -> dict | None:
    q(
        "CREATE TABLE IF NOT EXISTS bench_dataset (id int PRIMARY KEY, spec jsonb NOT NULL, "
        "loaded_at timestamptz NOT NULL, timings jsonb NOT NULL DEFAULT '{}')"
    )
    rows = q("SELECT spec FROM bench_dataset WHERE id = 1")
    if not rows:
        return None
    spec = rows[0][0]
    return json.loads(spec) if isinstance(spec, str) else spec


# --- boundaries ----------------------------------------------------------------------------------


def synthetic_divisions(index: int, template: dict) -> dict:
    """The demo district's division tree under synthetic codes 2199NN (names say so)."""
    code = f"{CITY_PREFIX}{index + 1:02d}"
    district = {"level": "district", "code": code, "name": f"合成{index + 1}区", "parent_code": ""}
    streets, communities = [], {}
    for s in template["streets"]:
        scode = code + s["code"][6:]
        streets.append({**s, "code": scode, "name": f"{district['name']}{s['name']}"})
        communities[scode] = [
            {**c, "code": scode + c["code"][9:], "parent_code": scode}
            for c in template["communities"][s["code"]]
        ]
    return {"district": district, "streets": streets, "communities": communities}


def grid_build(spec: dict) -> None:
    """One active generation with `districts` districts and about `cells` cells in all."""
    from django.db import transaction
    from django.utils import timezone

    from grid.models import Generation
    from grid.services import demo
    from grid.services.finalize import areas_finalize
    from grid.services.generations import generation_activate

    template = demo.divisions_load()
    per_district = max(1, round(spec["cells"] / spec["districts"]))
    bbox = demo.BBOX
    width = bbox[2] - bbox[0]
    saved = (demo.TARGET_CELLS, demo.BBOX, dict(demo.STREET_LAYOUT))
    try:
        demo.TARGET_CELLS = per_district
        # Synthetic streets sit where their demo originals sit in their own district.
        for i in range(spec["districts"]):
            code = f"{CITY_PREFIX}{i + 1:02d}"
            for real, where in saved[2].items():
                demo.STREET_LAYOUT[code + real[6:]] = where
        with transaction.atomic():
            Generation.objects.filter(status=Generation.Status.ACTIVE).update(
                status=Generation.Status.RETIRED, retired_at=timezone.now()
            )
            generation = Generation.objects.create(
                name=f"基准测试网格（{spec['districts']}个区，约{spec['cells']}个网格）",
                description="bench/dataset.py 生成的基准测试边界（非真实边界）。",
                is_demo=True,
            )
            for i in range(spec["districts"]):
                divisions = template if spec["districts"] == 1 else synthetic_divisions(i, template)
                # Districts side by side, west to east.
                demo.BBOX = (bbox[0] + i * width, bbox[1], bbox[2] + i * width, bbox[3])
                geo = demo.demo_geometry(spec["seed"] + 1000 * i, divisions)
                demo._hierarchy_write(generation, divisions, geo)
            areas_finalize(generation=generation)
            since = timezone.now() - dt.timedelta(days=(spec["months"] + 13) * 31)
            generation_activate(generation=generation, at=since)
    finally:
        demo.TARGET_CELLS, demo.BBOX = saved[:2]
        demo.STREET_LAYOUT.clear()
        demo.STREET_LAYOUT.update(saved[2])


def organizations_ensure() -> None:
    """A bureau per district, a street office and a mediation committee per street, handling units."""
    from grid.models import District, Generation, Street
    from petitions.models import Organization

    K = Organization.Kind
    active = Generation.Status.ACTIVE
    for d in District.objects.filter(generation__status=active):
        Organization.objects.get_or_create(
            name=f"{d.name}信访局（基准）", defaults={"kind": K.BUREAU, "area_code": d.code}
        )
    for s in Street.objects.filter(generation__status=active):
        for kind, suffix in ((K.STREET_OFFICE, "办事处"), (K.COMMITTEE, "人民调解委员会")):
            Organization.objects.get_or_create(
                name=f"{s.name}{suffix}（基准）", defaults={"kind": kind, "area_code": s.code}
            )
    for name in ("城建局", "人社局", "住建局", "生态环境局", "卫健局", "教育局"):
        Organization.objects.get_or_create(
            name=f"{name}（基准）", defaults={"kind": K.HANDLING_UNIT, "area_code": ""}
        )


# --- cases ---------------------------------------------------------------------------------------

PETITION_DRAWS = """
CREATE TEMP TABLE bd_p AS
SELECT g AS id, random() AS r_recv, random() AS r_cell, random() AS r_street, random() AS r_ch,
       random() AS r_src, random() AS r_type, random() AS r_cat, random() AS r_route,
       random() AS r_dec, random() AS r_unit, random() AS r_ext, random() AS r_reply,
       random() AS r_close, random() AS r_review, random() AS r_rereview, random() AS r_eval,
       random() AS r_evalv, random() AS r_rep, random() AS r_repd, random() AS r_late,
       random() AS r_lated, random() AS r_head, random() AS r_hour
FROM generate_series(1, %(n)s) g
"""

# Cells with a cumulative weight (some cells busier than others) and a point inside.
CELLS = """
CREATE TEMP TABLE bd_cell AS
SELECT c.id, c.code, c.parent_code, substr(c.code, 1, 9) AS street, substr(c.code, 1, 6) AS district,
       ST_PointOnSurface(c.geom) AS pt,
       sum(0.2 + random()) OVER (ORDER BY c.code) AS cum
FROM grid_gridcell c JOIN grid_generation g ON g.id = c.generation_id AND g.status = 'active';
CREATE INDEX ON bd_cell (cum);
CREATE TEMP TABLE bd_street AS
SELECT s.code, row_number() OVER (ORDER BY s.code) - 1 AS i,
       (SELECT o.id FROM petitions_organization o
        WHERE o.kind = 'street_office' AND o.area_code = s.code ORDER BY o.id LIMIT 1) AS office,
       (SELECT o.id FROM petitions_organization o
        WHERE o.kind = 'committee' AND o.area_code = s.code ORDER BY o.id LIMIT 1) AS committee
FROM grid_street s JOIN grid_generation g ON g.id = s.generation_id AND g.status = 'active';
ANALYZE bd_cell; ANALYZE bd_street;
"""

# Per petition: where, what, and the time of each step (NULL: not reached by the end).
PETITION_PLAN = """
CREATE TEMP TABLE bd_pp AS
WITH base AS (
  SELECT d.*, %(start)s::timestamptz + d.r_recv * (%(end)s::timestamptz - %(start)s::timestamptz)
         AS received_at,
         c.id AS cell_id, c.code AS cell_code, c.pt,
         CASE WHEN d.r_street < 0.03 THEN NULL ELSE c.code END AS cell_ok
  FROM bd_p d
  CROSS JOIN LATERAL (SELECT * FROM bd_cell WHERE cum >= d.r_cell * (SELECT max(cum) FROM bd_cell)
                      ORDER BY cum LIMIT 1) c
), steps AS (
  SELECT b.*,
    CASE WHEN r_ch < 0.25 THEN 'letter' WHEN r_ch < 0.5 THEN 'visit' WHEN r_ch < 0.85 THEN 'online'
         WHEN r_ch < 0.97 THEN 'phone' ELSE 'fax' END AS channel,
    CASE WHEN r_src < 0.7 THEN 'own' WHEN r_src < 0.75 THEN 'leader_reception'
         WHEN r_src < 0.9 THEN 'higher_level' ELSE 'hotline' END AS source,
    CASE WHEN r_type < 0.2 THEN 'suggestion' WHEN r_type < 0.25 THEN 'accusation'
         ELSE 'appeal' END AS case_type,
    CASE WHEN r_dec < 0.06 THEN 'reject' WHEN r_dec < 0.56 THEN 'accept'
         WHEN r_dec < 0.8 THEN 'forward' ELSE 'assign' END AS decision,
    received_at + make_interval(days => 1 + floor(18 * r_route * r_route)::int,
                                hours => floor(8 * r_hour)::int) AS t_route0,
    r_ext < 0.06 AS extended,
    r_review < 0.08 AS reviewed,
    r_rereview < 0.02 AS rereviewed,
    r_eval < 0.65 AS evaluates
  FROM base b
), times AS (
  SELECT s.*,
    s.t_route0 + interval '45 days' AS t_ext0,
    s.t_route0 + make_interval(days => 10 + floor(70 * r_reply)::int) AS t_reply0
  FROM steps s
), times2 AS (
  SELECT t.*,
    CASE WHEN reviewed THEN t_reply0 + interval '12 days' END AS t_rreq0,
    CASE WHEN reviewed THEN t_reply0 + interval '32 days' END AS t_rans0,
    CASE WHEN reviewed THEN t_reply0 + interval '35 days'
         ELSE t_reply0 + make_interval(days => 5 + floor(25 * r_close)::int) END AS t_close0
  FROM times t
), times3 AS (
  SELECT t.*, t_close0 + interval '2 days' AS t_eval0,
    CASE WHEN rereviewed THEN t_close0 + interval '10 days' END AS t_rrreq0,
    CASE WHEN rereviewed THEN t_close0 + interval '35 days' END AS t_rrans0
  FROM times2 t
)
SELECT t.id, t.received_at, t.channel, t.source, t.case_type, t.decision, t.cell_ok, t.pt,
  t.cell_id, t.cell_code, t.r_cat, t.r_unit, t.r_evalv, t.r_rep, t.r_repd, t.r_late, t.r_lated,
  t.r_head, t.extended,
  CASE WHEN t_route0 < %(end)s THEN t_route0 END AS t_route,
  CASE WHEN decision <> 'reject' AND extended AND t_ext0 < %(end)s THEN t_ext0 END AS t_ext,
  CASE WHEN decision <> 'reject' AND t_reply0 < %(end)s THEN t_reply0 END AS t_reply,
  CASE WHEN decision <> 'reject' AND t_rreq0 < %(end)s THEN t_rreq0 END AS t_rreq,
  CASE WHEN decision <> 'reject' AND t_rans0 < %(end)s THEN t_rans0 END AS t_rans,
  CASE WHEN decision <> 'reject' AND t_close0 < %(end)s THEN t_close0 END AS t_close,
  CASE WHEN decision <> 'reject' AND evaluates AND t_eval0 < %(end)s THEN t_eval0 END AS t_eval,
  CASE WHEN decision <> 'reject' AND t_rrreq0 < %(end)s THEN t_rrreq0 END AS t_rrreq,
  CASE WHEN decision <> 'reject' AND t_rrans0 < %(end)s THEN t_rrans0 END AS t_rrans
FROM times3 t
"""

PETITION_INSERT = """
INSERT INTO petitions_petition (
  id, receipt_no, district_code, year, seq, query_code_hash, channel, source, received_at,
  case_type, summary, content, anonymous, location, address, cell_override_reason, area_code,
  status, routing, routing_reason, route_due, notify_due, handle_due, routed_at, accepted_at,
  extension_days, extension_reason, replied_at, outcome, reply_text, review_requested_at,
  reviewed_at, review_outcome, rereview_requested_at, hearing_days, rereviewed_at,
  rereview_outcome, is_final, closed_at, evaluation, evaluated_at, version, created_at, updated_at,
  category_id, cell_id, handling_unit_id, registered_by_org_id)
SELECT p.id,
  'XF-' || x.district || '-' || x.yr || '-' || lpad(x.seq::text, 6, '0'),
  x.district, x.yr, x.seq, 'bench', p.channel, p.source, p.received_at, p.case_type,
  '基准测试信访事项 ' || p.id, '', false, CASE WHEN p.cell_ok IS NOT NULL THEN p.pt END, '', '',
  COALESCE(p.cell_ok, substr(p.cell_code, 1, 9)),
  CASE WHEN p.t_rrans IS NOT NULL THEN 'closed' WHEN p.t_rrreq IS NOT NULL THEN 'rereview_requested'
       WHEN p.t_close IS NOT NULL THEN 'closed' WHEN p.t_rans IS NOT NULL THEN 'reviewed'
       WHEN p.t_rreq IS NOT NULL THEN 'review_requested' WHEN p.t_reply IS NOT NULL THEN 'replied'
       WHEN p.t_route IS NOT NULL AND p.decision = 'reject' THEN 'not_accepted'
       WHEN p.t_route IS NOT NULL THEN 'handling' ELSE 'registered' END,
  CASE WHEN p.t_route IS NOT NULL THEN p.decision ELSE '' END, '',
  (p.received_at AT TIME ZONE 'Asia/Shanghai')::date + 15,
  (p.received_at AT TIME ZONE 'Asia/Shanghai')::date + 15,
  CASE WHEN p.t_route IS NOT NULL AND p.decision <> 'reject' THEN
    (p.t_route AT TIME ZONE 'Asia/Shanghai')::date + 60
    + CASE WHEN p.t_ext IS NOT NULL THEN 30 ELSE 0 END END,
  p.t_route,
  CASE WHEN p.decision <> 'reject' THEN p.t_route END,
  CASE WHEN p.t_ext IS NOT NULL THEN 30 ELSE 0 END,
  CASE WHEN p.t_ext IS NOT NULL THEN '调查取证需要' ELSE '' END,
  p.t_reply, CASE WHEN p.t_reply IS NOT NULL THEN 'explain' ELSE '' END, '',
  p.t_rreq, p.t_rans, CASE WHEN p.t_rans IS NOT NULL THEN 'explain' ELSE '' END,
  p.t_rrreq, 0, p.t_rrans, CASE WHEN p.t_rrans IS NOT NULL THEN 'explain' ELSE '' END,
  p.t_rrans IS NOT NULL,
  CASE WHEN p.t_rrreq IS NOT NULL AND p.t_rrans IS NULL THEN NULL
       WHEN p.t_rrans IS NOT NULL THEN p.t_rrans WHEN p.t_close IS NOT NULL THEN p.t_close
       WHEN p.t_route IS NOT NULL AND p.decision = 'reject' THEN p.t_route END,
  CASE WHEN p.t_eval IS NULL THEN '' WHEN p.r_evalv < 0.7 THEN 'satisfied'
       WHEN p.r_evalv < 0.94 THEN 'basic' ELSE 'unsatisfied' END,
  p.t_eval, 0, p.received_at, p.received_at,
  (SELECT array_agg(id ORDER BY id) FROM petitions_category WHERE parent_id IS NOT NULL)
    [1 + floor(p.r_cat * (SELECT count(*) FROM petitions_category WHERE parent_id IS NOT NULL))::int],
  CASE WHEN p.cell_ok IS NOT NULL THEN p.cell_id END,
  CASE WHEN p.t_route IS NULL OR p.decision = 'reject' THEN NULL
       WHEN p.decision = 'accept' THEN st.office
       ELSE (SELECT array_agg(id ORDER BY id) FROM petitions_organization
             WHERE kind = 'handling_unit')[1 + floor(p.r_unit * 6)::int] END,
  st.office
FROM bd_pp p
JOIN bd_street st ON st.code = substr(p.cell_code, 1, 9)
JOIN (SELECT id, substr(cell_code, 1, 6) AS district,
             extract(year FROM received_at AT TIME ZONE 'Asia/Shanghai')::int AS yr,
             row_number() OVER (PARTITION BY substr(cell_code, 1, 6),
                                extract(year FROM received_at AT TIME ZONE 'Asia/Shanghai')
                                ORDER BY received_at, id) AS seq
      FROM bd_pp) x ON x.id = p.id
ORDER BY p.id
"""

# The events in the order the services write them (per petition, ids increase with time);
# ~1 % recorded late. `lateness` is per petition, applied to its steps after the first.
PETITION_EVENTS = """
INSERT INTO petitions_petitionevent (petition_id, at, recorded_at, action, from_status,
                                     to_status, payload)
SELECT p.id, e.at,
  CASE WHEN e.step > 1 AND p.r_late < 0.01
       THEN LEAST(e.at + make_interval(days => 3 + floor(37 * p.r_lated)::int),
                  %(end)s::timestamptz)
       ELSE e.at END,
  e.action, e.from_status, e.to_status, e.payload
FROM bd_pp p
CROSS JOIN LATERAL (VALUES
  (1, p.received_at, 'register', '', 'registered', jsonb_build_object('channel', p.channel)),
  (2, p.t_route, 'route_' || p.decision, 'registered',
      CASE WHEN p.decision = 'reject' THEN 'not_accepted' ELSE 'handling' END,
      jsonb_build_object('on_time', (p.t_route AT TIME ZONE 'Asia/Shanghai')::date
                                    <= (p.received_at AT TIME ZONE 'Asia/Shanghai')::date + 15)),
  (3, p.t_ext, 'extend', 'handling', 'handling', '{"days": 30}'::jsonb),
  (4, p.t_reply, 'reply', 'handling', 'replied', '{"outcome": "explain"}'::jsonb),
  (5, p.t_rreq, 'review_request', 'replied', 'review_requested', '{}'::jsonb),
  (6, p.t_rans, 'review_answer', 'review_requested', 'reviewed', '{}'::jsonb),
  (7, p.t_close, 'close', CASE WHEN p.t_rans IS NOT NULL THEN 'reviewed' ELSE 'replied' END,
      'closed', '{}'::jsonb),
  (8, p.t_eval, 'evaluate', 'closed', 'closed',
      jsonb_build_object('evaluation', CASE WHEN p.r_evalv < 0.7 THEN 'satisfied'
                                            WHEN p.r_evalv < 0.94 THEN 'basic'
                                            ELSE 'unsatisfied' END)),
  (9, p.t_rrreq, 'rereview_request', 'closed', 'rereview_requested', '{}'::jsonb),
  (10, p.t_rrans, 'rereview_answer', 'rereview_requested', 'closed', '{}'::jsonb)
) AS e(step, at, action, from_status, to_status, payload)
WHERE e.at IS NOT NULL
ORDER BY p.id, e.step
"""

REPEATS = """
INSERT INTO petitions_repeatsubmission (petition_id, received_at, channel, summary, area_code,
                                        created_at)
SELECT p.id, p.received_at + make_interval(days => 5 + floor(45 * p.r_repd)::int), p.channel,
       '重复来信来访', pe.area_code, p.received_at + make_interval(days => 5 + floor(45 * p.r_repd)::int)
FROM bd_pp p JOIN petitions_petition pe ON pe.id = p.id
WHERE p.r_rep < 0.08
  AND p.received_at + make_interval(days => 5 + floor(45 * p.r_repd)::int) < %(end)s
ORDER BY p.id
"""

VISITS = """
INSERT INTO petitions_visit (id, received_at, area_code, headcount, representatives,
                             answered_on_spot, resolved, notes, organization_id, created_at)
SELECT p.id, p.received_at, pe.area_code, 1 + floor(14 * power(p.r_head, 6))::int, '[]'::jsonb,
       p.r_head < 0.3, false, '', pe.registered_by_org_id, p.received_at
FROM bd_pp p JOIN petitions_petition pe ON pe.id = p.id
WHERE p.channel = 'visit'
ORDER BY p.id;
INSERT INTO petitions_visit_petitions (visit_id, petition_id)
SELECT id, id FROM bd_pp WHERE channel = 'visit' ORDER BY id;
"""

DISPUTE_PLAN = """
CREATE TEMP TABLE bd_d AS
WITH d AS (
  SELECT g AS id, random() AS r_found, random() AS r_cell, random() AS r_cat, random() AS r_med,
         random() AS r_out, random() AS r_outd, random() AS r_stab, random() AS r_reopen,
         random() AS r_late, random() AS r_risk, random() AS r_party
  FROM generate_series(1, %(n)s) g
), b AS (
  SELECT d.*, %(start)s::timestamptz + d.r_found * (%(end)s::timestamptz - %(start)s::timestamptz)
         AS found_at, c.id AS cell_id, c.code AS cell_code, c.pt
  FROM d CROSS JOIN LATERAL (SELECT * FROM bd_cell WHERE cum >= d.r_cell * (SELECT max(cum)
                             FROM bd_cell) ORDER BY cum LIMIT 1) c
), o AS (
  SELECT b.*,
    CASE WHEN r_out < 0.6 THEN 'resolve' WHEN r_out < 0.75 THEN 'stabilise'
         WHEN r_out < 0.8 THEN 'fail' WHEN r_out < 0.85 THEN 'divert' END AS outcome,
    CASE WHEN r_med < 0.25 THEN found_at + make_interval(days => 2 + floor(8 * r_med * 4)::int) END
      AS t_med0,
    found_at + make_interval(days => 12 + floor(80 * r_outd * r_outd)::int, hours => 3) AS t_out0
  FROM b
)
SELECT o.*,
  CASE WHEN t_med0 < %(end)s THEN t_med0 END AS t_med,
  CASE WHEN outcome IS NOT NULL AND t_out0 < %(end)s THEN t_out0 END AS t_out,
  CASE WHEN outcome = 'stabilise' AND r_stab < 0.4 AND t_out0 + interval '45 days' < %(end)s
       THEN t_out0 + interval '45 days' END AS t_stab_res,
  CASE WHEN outcome = 'resolve' AND r_reopen < 0.02 AND t_out0 + interval '30 days' < %(end)s
       THEN t_out0 + interval '30 days' END AS t_reopen,
  CASE WHEN outcome = 'resolve' AND r_reopen < 0.014 AND t_out0 + interval '50 days' < %(end)s
       THEN t_out0 + interval '50 days' END AS t_reres
FROM o
"""

DISPUTE_INSERT = """
INSERT INTO mediation_dispute (id, source, category, party_count, party_names, description,
  risk_level, location, address, area_code, status, diverted_to, found_at, closed_at, version,
  created_at, cell_id)
SELECT d.id, 'screening',
  (ARRAY['marriage_family','neighbour','property_mgmt','labour','land','traffic','medical',
         'consumer','demolition','housing','environment','other'])[1 + floor(12 * d.r_cat)::int],
  2 + floor(4 * d.r_party)::int, '[]'::jsonb, '基准测试矛盾纠纷 ' || d.id,
  CASE WHEN d.r_risk < 0.8 THEN 'general' WHEN d.r_risk < 0.97 THEN 'major' ELSE 'serious' END,
  d.pt, '', d.cell_code,
  CASE WHEN d.t_reres IS NOT NULL THEN 'resolved' WHEN d.t_reopen IS NOT NULL THEN 'found'
       WHEN d.t_stab_res IS NOT NULL THEN 'resolved'
       WHEN d.t_out IS NOT NULL THEN
         CASE d.outcome WHEN 'resolve' THEN 'resolved' WHEN 'stabilise' THEN 'stabilised'
                        WHEN 'fail' THEN 'unresolved' ELSE 'diverted' END
       WHEN d.t_med IS NOT NULL THEN 'in_mediation' ELSE 'found' END,
  CASE WHEN d.t_out IS NOT NULL AND d.outcome = 'divert' THEN 'litigation' ELSE '' END,
  d.found_at,
  CASE WHEN d.t_reres IS NOT NULL THEN d.t_reres WHEN d.t_reopen IS NOT NULL THEN NULL
       WHEN d.t_stab_res IS NOT NULL THEN d.t_stab_res
       WHEN d.t_out IS NOT NULL AND d.outcome IN ('resolve', 'divert') THEN d.t_out END,
  0, d.found_at, d.cell_id
FROM bd_d d ORDER BY d.id
"""

DISPUTE_EVENTS = """
INSERT INTO mediation_disputeevent (dispute_id, at, recorded_at, action, from_status, to_status,
                                    payload)
SELECT d.id, e.at,
  CASE WHEN e.step > 1 AND d.r_late < 0.01 THEN LEAST(e.at + interval '20 days', %(end)s::timestamptz)
       ELSE e.at END,
  e.action, e.from_status, e.to_status, '{}'::jsonb
FROM bd_d d
CROSS JOIN LATERAL (SELECT CASE d.outcome WHEN 'resolve' THEN 'resolved'
                            WHEN 'stabilise' THEN 'stabilised' WHEN 'fail' THEN 'unresolved'
                            ELSE 'diverted' END AS out_status,
                           CASE WHEN d.t_med IS NOT NULL AND d.t_med < d.t_out0
                                THEN 'in_mediation' ELSE 'found' END AS before_out) s
CROSS JOIN LATERAL (VALUES
  (1, d.found_at, 'record', '', 'found'),
  (2, CASE WHEN d.t_med < d.t_out0 THEN d.t_med END, 'mediate', 'found', 'in_mediation'),
  (3, d.t_out, d.outcome, s.before_out, s.out_status),
  (4, d.t_stab_res, 'resolve', 'stabilised', 'resolved'),
  (5, d.t_reopen, 'reopen', 'resolved', 'found'),
  (6, d.t_reres, 'resolve', 'found', 'resolved')
) AS e(step, at, action, from_status, to_status)
WHERE e.at IS NOT NULL
ORDER BY d.id, e.step
"""

MEDIATION_PLAN = """
CREATE TEMP TABLE bd_m AS
WITH m AS (
  SELECT g AS id, random() AS r_acc, random() AS r_cell, random() AS r_type, random() AS r_sess,
         random() AS r_out, random() AS r_outd, random() AS r_form, random() AS r_fu,
         random() AS r_fu2, random() AS r_perf, random() AS r_perf2
  FROM generate_series(1, %(n)s) g
), b AS (
  SELECT m.*, %(start)s::timestamptz + m.r_acc * (%(end)s::timestamptz - %(start)s::timestamptz)
         AS accepted_at, c.code AS cell_code
  FROM m CROSS JOIN LATERAL (SELECT * FROM bd_cell WHERE cum >= m.r_cell * (SELECT max(cum)
                             FROM bd_cell) ORDER BY cum LIMIT 1) c
), t AS (
  SELECT b.*,
    CASE WHEN r_out < 0.7 THEN 'agree' WHEN r_out < 0.95 THEN 'terminate' ELSE 'refuse' END
      AS outcome,
    accepted_at + interval '3 days' AS t_sess0,
    accepted_at + make_interval(days => 5 + floor(40 * r_outd)::int, hours => 2) AS t_out0
  FROM b
)
SELECT t.*,
  CASE WHEN r_sess < 0.8 AND t_sess0 < %(end)s THEN t_sess0 END AS t_sess,
  CASE WHEN t_out0 < %(end)s THEN t_out0 END AS t_out,
  CASE WHEN outcome = 'agree' AND r_fu < 0.6 AND t_out0 + make_interval(days => 20 + floor(40 * r_fu)::int) < %(end)s
       THEN t_out0 + make_interval(days => 20 + floor(40 * r_fu)::int) END AS t_fu1,
  CASE WHEN outcome = 'agree' AND r_fu < 0.6 AND r_fu2 < 0.3
        AND t_out0 + make_interval(days => 50 + floor(40 * r_fu)::int) < %(end)s
       THEN t_out0 + make_interval(days => 50 + floor(40 * r_fu)::int) END AS t_fu2,
  CASE WHEN r_perf < 0.75 THEN 'full' WHEN r_perf < 0.9 THEN 'partial' ELSE 'none' END AS perf1,
  CASE WHEN r_perf2 < 0.85 THEN 'full' WHEN r_perf2 < 0.95 THEN 'partial' ELSE 'none' END AS perf2
FROM t
"""

MEDIATION_INSERT = """
INSERT INTO mediation_mediationcase (id, case_no, type, source, summary, area_code, accepted_at,
  target_due, status, concluded_at, termination_reason, other_routes, refused_by, version,
  created_at, committee_id)
SELECT m.id,
  'TJ-' || substr(m.cell_code, 1, 6) || '-'
    || extract(year FROM m.accepted_at AT TIME ZONE 'Asia/Shanghai')::int || '-'
    || lpad(row_number() OVER (PARTITION BY substr(m.cell_code, 1, 6),
                               extract(year FROM m.accepted_at AT TIME ZONE 'Asia/Shanghai')
                               ORDER BY m.accepted_at, m.id)::text, 6, '0'),
  CASE WHEN m.r_type < 0.8 THEN 'people' WHEN m.r_type < 0.93 THEN 'administrative'
       ELSE 'judicial' END,
  'application', '基准测试调解案件 ' || m.id, m.cell_code, m.accepted_at,
  ((m.accepted_at AT TIME ZONE 'Asia/Shanghai')::date + interval '1 month')::date,
  CASE WHEN m.t_out IS NOT NULL THEN
         CASE m.outcome WHEN 'agree' THEN 'agreed' WHEN 'terminate' THEN 'terminated'
                        ELSE 'refused' END
       WHEN m.t_sess IS NOT NULL THEN 'in_progress' ELSE 'accepted' END,
  m.t_out, '', '[]'::jsonb, '', 0, m.accepted_at, st.committee
FROM bd_m m JOIN bd_street st ON st.code = substr(m.cell_code, 1, 9)
ORDER BY m.id
"""

MEDIATION_EVENTS = """
INSERT INTO mediation_mediationevent (case_id, at, recorded_at, action, from_status, to_status,
                                      payload)
SELECT m.id, e.at, e.at, e.action, e.from_status, e.to_status, e.payload
FROM bd_m m
CROSS JOIN LATERAL (VALUES
  (1, m.accepted_at, 'open', '', 'accepted', '{}'::jsonb),
  (2, m.t_sess, 'session', 'accepted', 'in_progress', '{}'::jsonb),
  (3, m.t_out, m.outcome, CASE WHEN m.t_sess IS NOT NULL THEN 'in_progress' ELSE 'accepted' END,
      CASE m.outcome WHEN 'agree' THEN 'agreed' WHEN 'terminate' THEN 'terminated'
                     ELSE 'refused' END, '{}'::jsonb),
  (4, m.t_fu1, 'follow_up', 'agreed', 'agreed', jsonb_build_object('performance', m.perf1)),
  (5, m.t_fu2, 'follow_up', 'agreed', 'agreed', jsonb_build_object('performance', m.perf2))
) AS e(step, at, action, from_status, to_status, payload)
WHERE e.at IS NOT NULL
ORDER BY m.id, e.step
"""

AGREEMENTS = """
INSERT INTO mediation_agreement (id, case_id, form, facts, terms, performance_manner,
  reached_at, signed_by, effective_at)
SELECT m.id, m.id, CASE WHEN m.r_form < 0.7 THEN 'written' ELSE 'oral' END, '事实', '条款',
       '一次性履行', m.t_out, '[]'::jsonb, m.t_out
FROM bd_m m WHERE m.outcome = 'agree' AND m.t_out IS NOT NULL ORDER BY m.id;
INSERT INTO mediation_followupvisit (agreement_id, visited_at, performance, notes)
SELECT m.id, f.at, f.perf, ''
FROM bd_m m CROSS JOIN LATERAL (VALUES (1, m.t_fu1, m.perf1), (2, m.t_fu2, m.perf2))
  AS f(step, at, perf)
WHERE f.at IS NOT NULL ORDER BY m.id, f.step;
"""

COUNTERS = """
INSERT INTO petitions_receiptcounter (district_code, year, last)
SELECT district_code, year, max(seq) FROM petitions_petition GROUP BY 1, 2
ON CONFLICT (district_code, year) DO UPDATE SET last = GREATEST(petitions_receiptcounter.last,
                                                               EXCLUDED.last)
"""

SEQUENCES = [
    "petitions_petition",
    "petitions_visit",
    "mediation_dispute",
    "mediation_mediationcase",
    "mediation_agreement",
]


SECONDARY_INDEXES = """
SELECT ic.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
WHERE tc.relname = ANY(%s) AND tc.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY tc.relname, ic.relname
"""


def drop_secondary_indexes() -> list[tuple[str, str]]:
    """Drop the case tables' indexes that back no constraint; returns (name, definition) to
    recreate them. Filling a table and then building each index once is several times faster
    than keeping 28 indexes of the petition table up to date row by row once they no longer fit
    in memory (the 5,000,000 mode). Primary keys and unique constraints stay."""
    indexes = [(name, ddl) for name, ddl in q(SECONDARY_INDEXES, [CASE_TABLES + SEQUENCES])]
    for name, _ddl in indexes:
        q(f'DROP INDEX "{name}"')
    return indexes


def cases_load(spec: dict) -> dict:
    """Every case table, one statement each; returns seconds per step."""
    from django.db import connection, transaction

    end = dt.datetime.combine(dt.date.fromisoformat(spec["end"]), dt.time(), tzinfo=TZ)
    y, m = end.year, end.month - spec["months"]
    while m < 1:
        y, m = y - 1, m + 12
    start = dt.datetime(y, m, 1, tzinfo=TZ)
    params = {"start": start, "end": end}
    timings: dict[str, float] = {}

    def step(name: str, sql: str, **extra) -> None:
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(sql, {**params, **extra})
        timings[name] = round(time.perf_counter() - t0, 2)
        print(f"  {name}: {timings[name]:.1f} s", file=sys.stderr)

    with transaction.atomic():
        # The same seed gives the same draws only in one backend, in one order: no parallel plans.
        q("SET LOCAL max_parallel_workers_per_gather = 0")
        q("SET LOCAL work_mem = '256MB'")
        q("SELECT setseed(%s)", [(spec["seed"] % 1000) / 1000.0])
        t0 = time.perf_counter()
        indexes = drop_secondary_indexes()
        timings["drop indexes"] = round(time.perf_counter() - t0, 2)
        step("cells", CELLS)
        step("petition draws", PETITION_DRAWS, n=spec["petitions"])
        step("petition plan", PETITION_PLAN)
        step("petitions", PETITION_INSERT)
        step("petition events", PETITION_EVENTS)
        step("repeats", REPEATS)
        step("visits", VISITS)
        step("dispute plan", DISPUTE_PLAN, n=spec["disputes"])
        step("disputes", DISPUTE_INSERT)
        step("dispute events", DISPUTE_EVENTS)
        step("mediation plan", MEDIATION_PLAN, n=spec["mediations"])
        step("mediation cases", MEDIATION_INSERT)
        step("mediation events", MEDIATION_EVENTS)
        step("agreements", AGREEMENTS)
        step("counters", COUNTERS)
        for table in SEQUENCES:
            q(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        for tmp in ("bd_p", "bd_pp", "bd_d", "bd_m", "bd_cell", "bd_street"):
            q(f"DROP TABLE IF EXISTS {tmp}")
        # The same definitions, built once over the full tables (a unique one also checks the
        # generated rows against its rule).
        t0 = time.perf_counter()
        # Django's foreign keys are deferred; their checks run now (an index cannot be built on a
        # table with pending trigger events).
        q("SET CONSTRAINTS ALL IMMEDIATE")
        q("SET LOCAL maintenance_work_mem = '512MB'")
        for _name, ddl in indexes:
            q(ddl)
        timings["indexes"] = round(time.perf_counter() - t0, 2)
        print(f"  indexes ({len(indexes)}): {timings['indexes']:.1f} s", file=sys.stderr)
    t0 = time.perf_counter()
    connection.cursor().execute("VACUUM ANALYZE")
    timings["vacuum analyze"] = round(time.perf_counter() - t0, 2)
    return timings


def wipe_cases() -> None:
    existing = {r[0] for r in q("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    tables = [t for t in CASE_TABLES if t in existing]
    q(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    q("DELETE FROM petitions_receiptcounter")


def counts() -> dict:
    out = {}
    for name, table in [
        ("cells", "grid_gridcell c JOIN grid_generation g ON g.id = c.generation_id "
                  "AND g.status = 'active'"),
        ("petitions", "petitions_petition"),
        ("petition_events", "petitions_petitionevent"),
        ("repeats", "petitions_repeatsubmission"),
        ("visits", "petitions_visit"),
        ("disputes", "mediation_dispute"),
        ("dispute_events", "mediation_disputeevent"),
        ("mediations", "mediation_mediationcase"),
        ("mediation_events", "mediation_mediationevent"),
        ("agreements", "mediation_agreement"),
    ]:  # fmt: skip
        out[name] = q(f"SELECT count(*) FROM {table}")[0][0]
    return out


def ensure_dataset(spec: dict, *, force: bool = False) -> dict:
    """Load the dataset `spec` describes unless it is already loaded (django must be set up)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    old = stored_spec()
    if old == spec and not force:
        return {"status": "skipped", "spec": spec, "counts": counts()}
    if old is None and q("SELECT EXISTS (SELECT 1 FROM petitions_petition)")[0][0] and not force:
        # Never wipe a database whose cases this generator did not write (a wrong --db).
        sys.exit(
            "bench/dataset.py: the database holds petitions it did not generate; "
            "use an empty database (or --force to replace them)"
        )
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    q("DELETE FROM bench_dataset")
    wipe_cases()
    if force or old is None or grid_part(old) != grid_part(spec):
        t = time.perf_counter()
        grid_build(spec)
        timings["grid"] = round(time.perf_counter() - t, 2)
    organizations_ensure()
    timings.update(cases_load(spec))
    timings["total"] = round(time.perf_counter() - t0, 2)
    q(
        "INSERT INTO bench_dataset (id, spec, loaded_at, timings) VALUES (1, %s, now(), %s)",
        [json.dumps(spec), json.dumps(timings)],
    )
    return {"status": "loaded", "spec": spec, "timings": timings, "counts": counts()}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Not DATABASE_URL: a benchmark database is named explicitly (it may be wiped and reloaded).
    p.add_argument("--db", default=DEFAULT_URL)
    p.add_argument("--mode", choices=sorted(MODES), default="default")
    p.add_argument("--districts", type=int, default=10)
    p.add_argument("--cells", type=int, default=20000)
    p.add_argument("--petitions", type=int)
    p.add_argument("--disputes", type=int)
    p.add_argument("--mediations", type=int)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--end", help="first day after the data (default: 1st of this month)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--force", action="store_true", help="reload even if the spec is loaded")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    return p


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    if not 1 <= args.districts <= 99 or args.cells < args.districts or args.months < 1:
        sys.exit("bench/dataset.py: districts 1..99, cells ≥ districts, months ≥ 1")
    spec = build_spec(args)
    setup_django(args.db)
    result = ensure_dataset(spec, force=args.force)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{result['status']}: {json.dumps(result['counts'])}")
        if "timings" in result:
            print(f"timings (s): {json.dumps(result['timings'])}")
    return result


if __name__ == "__main__":
    main()
