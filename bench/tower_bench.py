"""The control tower's HQ dashboard (R35) over a large network: repair points, a year of service
calls and opinion cards, purchases, and many return lines — through tower.kpis.dashboard against
a hand-written raw-SQL baseline computing the same measures (each pre-aggregated per
organisation and month, then rolled up over the path and region with GROUPING SETS, on one
asyncpg connection), interleaved
in the same run (bench/common.compare). Also the service's query count at the first size and
after the network grew tenfold (flat = no per-organisation work).

Run: .venv/bin/python bench/tower_bench.py [--points 5000] [--lines 10000000] [--repeat 7]
(the issue's scale; a smoke run: --points 30 --lines 3000 --repeat 2)"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import compare, report_pair, run, start_database  # noqa: E402

start_database()

import asyncpg  # noqa: E402

from portal import auth, clock  # noqa: E402
from portal.db import count_queries, engine  # noqa: E402
from tower import kpis, rules  # noqa: E402
from tower.kpi_queries import china_midnight  # noqa: E402

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

RAW = """
WITH calls AS (
  SELECT organisation AS org, date_trunc('month', called_at AT TIME ZONE 'Asia/Shanghai')::date AS m,
         count(*) FILTER (WHERE visited_at <= visit_by) AS on_time, count(*) AS n,
         count(*) FILTER (WHERE first_time_fix) AS ftf,
         count(*) FILTER (WHERE first_time_fix IS NOT NULL) AS ftf_n
    FROM service_call WHERE called_at >= $1 AND called_at < $2 AND status <> 'cancelled'
   GROUP BY 1, 2),
cards AS (
  SELECT c.organisation AS org, date_trunc('month', oc.submitted_at AT TIME ZONE 'Asia/Shanghai')::date AS m,
         count(*) FILTER (WHERE oc.attitude >= 4 AND oc.skill >= 4 AND oc.punctuality >= 4) AS ok,
         count(*) AS n
    FROM opinion_card oc JOIN service_call c ON c.id = oc.service_call
   WHERE oc.submitted_at >= $1 AND oc.submitted_at < $2 GROUP BY 1, 2),
sold AS (
  SELECT coalesce(cp.sold_by, cu.organisation) AS org, date_trunc('month', cp.purchased_on)::date AS m,
         sum(cp.quantity) AS units
    FROM customer_product cp JOIN customer cu ON cu.id = cp.customer
   WHERE cp.purchased_on >= $3 AND cp.purchased_on < $4 GROUP BY 1, 2),
back AS (
  SELECT b.organisation AS org, date_trunc('month', b.received_at AT TIME ZONE 'Asia/Shanghai')::date AS m,
         sum(l.received_qty) AS units
    FROM return_line l JOIN return_batch b ON b.id = l.batch
   WHERE b.received_at >= $1 AND b.received_at < $2 AND l.product IS NOT NULL GROUP BY 1, 2),
complaints AS (
  SELECT organisation AS org, date_trunc('month', recorded_at AT TIME ZONE 'Asia/Shanghai')::date AS m,
         count(*) AS n
    FROM complaint WHERE recorded_at >= $1 AND recorded_at < $2 AND kind = 'quality' GROUP BY 1, 2),
resolved AS (
  SELECT organisation AS org, date_trunc('month', closed_at AT TIME ZONE 'Asia/Shanghai')::date AS m,
         count(*) FILTER (WHERE told_at <= resolve_by) AS ok, count(*) AS n
    FROM complaint WHERE closed_at >= $1 AND closed_at < $2 AND kind IN ('quality', 'service')
   GROUP BY 1, 2),
answers AS (
  SELECT s.organisation AS org, date_trunc('month', a.recorded_at AT TIME ZONE 'Asia/Shanghai')::date AS m,
         count(*) FILTER (WHERE a.satisfied) AS ok, count(*) AS n
    FROM survey_answer a JOIN survey s ON s.id = a.survey
   WHERE a.recorded_at >= $1 AND a.recorded_at < $2 GROUP BY 1, 2),
repairs AS (
  SELECT r.repair_point AS org, date_trunc('month', r.recorded_at AT TIME ZONE 'Asia/Shanghai')::date AS m,
         count(*) FILTER (WHERE r.status = 'repaired' AND r.promised_by IS NULL) AS ftf, count(*) AS n
    FROM repair r WHERE r.recorded_at >= $1 AND r.recorded_at < $2
     AND NOT EXISTS (SELECT 1 FROM service_call c WHERE c.repair = r.id) GROUP BY 1, 2),
facts AS (
  SELECT org, m, on_time, n, ftf, ftf_n, 0 AS ok, 0 AS cards, 0 AS sold, 0 AS returned,
         0 AS quality, 0 AS res_ok, 0 AS res_n FROM calls
  UNION ALL SELECT org, m, 0, 0, 0, 0, ok, n, 0, 0, 0, 0, 0 FROM cards
  UNION ALL SELECT org, m, 0, 0, 0, 0, ok, n, 0, 0, 0, 0, 0 FROM answers
  UNION ALL SELECT org, m, 0, 0, ftf, n, 0, 0, 0, 0, 0, 0, 0 FROM repairs
  UNION ALL SELECT org, m, 0, 0, 0, 0, 0, 0, units, 0, 0, 0, 0 FROM sold
  UNION ALL SELECT org, m, 0, 0, 0, 0, 0, 0, 0, units, 0, 0, 0 FROM back
  UNION ALL SELECT org, m, 0, 0, 0, 0, 0, 0, 0, 0, n, 0, 0 FROM complaints
  UNION ALL SELECT org, m, 0, 0, 0, 0, 0, 0, 0, 0, 0, ok, n FROM resolved)
SELECT f.m, top.region, split_part(o.path, '.', 2) AS office,
       CASE WHEN o.kind = 'repair_point' THEN o.id END AS point,
       sum(on_time), sum(n), sum(ftf), sum(ftf_n), sum(ok), sum(cards), sum(sold), sum(returned),
       sum(quality), sum(res_ok), sum(res_n)
  FROM facts f JOIN organisation o ON o.id = f.org
  LEFT JOIN organisation top ON top.id = nullif(split_part(o.path, '.', 2), '')::int
 GROUP BY GROUPING SETS ((f.m), (f.m, top.region), (f.m, split_part(o.path, '.', 2)),
                         (f.m, CASE WHEN o.kind = 'repair_point' THEN o.id END))
"""


async def grow(conn, points: int, lines: int, calls_per_month: int) -> None:
    """Offices (one per ten points) with a store each, the points, a year of calls and cards,
    purchases, and `lines` return lines in batches of 500 lines spread over the year."""
    hq = await conn.fetchval("SELECT id FROM organisation WHERE kind = 'hq'")
    if hq is None:
        hq = await conn.fetchval("INSERT INTO organisation (name, name_en, kind, path, active, "
                                 "created_at) VALUES ('总部', 'HQ', 'hq', '', true, now()) RETURNING id")
        await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE id = $1", hq)
    offices = max(points // 10, 1)
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, region, path, active, created_at) "
        "SELECT '办事处' || g, 'Office', 'office', $1, (SELECT id FROM region ORDER BY id "
        "OFFSET g % 30 LIMIT 1), '', true, now() FROM generate_series(1, $2) g", hq, offices)
    await conn.execute("UPDATE organisation SET path = $2 || id::text || '.' WHERE parent = $1 "
                       "AND path = ''", hq, f"{hq}.")
    for kind, count in (("repair_point", points), ("store", offices)):
        await conn.execute(
            "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
            "SELECT $3 || g, $3, $3, o.id, o.path, true, now() FROM generate_series(1, $1) g "
            "JOIN LATERAL (SELECT id, path FROM organisation WHERE kind = 'office' "
            "ORDER BY id OFFSET (g % $2) LIMIT 1) o ON true", count, offices, kind)
    await conn.execute("UPDATE organisation SET path = path || id::text || '.' "
                       "WHERE kind IN ('repair_point', 'store') AND path NOT LIKE '%.' || id || '.'")
    user = await conn.fetchval("SELECT id FROM portal_user ORDER BY id LIMIT 1")
    start = china_midnight(rules.add_months(NOW.date().replace(day=1), -11))
    await conn.execute(
        "INSERT INTO customer (organisation, name, phone, opened_at, last_activity_at) "
        "SELECT id, 'c', '13900000000', now(), now() FROM organisation "
        "WHERE kind IN ('repair_point', 'store') AND id NOT IN (SELECT organisation FROM customer)")
    await conn.execute(
        "INSERT INTO service_call (number, organisation, customer, problem, address, called_at, "
        "visit_by, visited_at, first_time_fix, status, recorded_by, recorded_at) "
        "SELECT 'B' || o.id || '-' || g, o.id, cu.id, 'p', 'a', t, t + interval '24 hours', "
        "t + random() * 30 * interval '1 hour', random() < 0.9, 'closed', $2, t "
        "FROM organisation o JOIN customer cu ON cu.organisation = o.id "
        "CROSS JOIN generate_series(1, $3) g "
        "CROSS JOIN LATERAL (SELECT $1::timestamptz + random() * 330 * interval '1 day' AS t) x "
        "WHERE o.kind = 'repair_point' AND NOT EXISTS (SELECT 1 FROM service_call s "
        "WHERE s.organisation = o.id)", start, user, calls_per_month * 12)
    await conn.execute(
        "INSERT INTO opinion_card (service_call, token_hash, issued_at, attitude, skill, "
        "punctuality, channel, submitted_at) SELECT c.id, md5(c.id::text), c.visited_at, "
        "4 + (random() < 0.5)::int, 3 + (random() < 0.8)::int, 5, 'tablet', c.visited_at "
        "FROM service_call c WHERE NOT EXISTS (SELECT 1 FROM opinion_card x "
        "WHERE x.service_call = c.id) AND random() < 0.7")
    category = await conn.fetchval("SELECT id FROM product_category LIMIT 1") or \
        await conn.fetchval("INSERT INTO product_category (code, name_zh, name_en, "
                            "warranty_months, is_cfl) VALUES ('cfl', 'c', 'c', 12, true) RETURNING id")
    await conn.execute("INSERT INTO product (model, name_zh, name_en, category) SELECT 'M' || g, "
                       "'m', 'm', $1 FROM generate_series(1, 20) g ON CONFLICT DO NOTHING", category)
    await conn.execute(
        "INSERT INTO customer_product (customer, product, quantity, purchased_on, recorded_at) "
        "SELECT cu.id, (SELECT min(id) FROM product) + g % 20, 50, "
        "$1::date + (g % 330), now() FROM customer cu JOIN organisation o ON o.id = cu.organisation "
        "CROSS JOIN generate_series(1, 24) g WHERE o.kind = 'store'", start.date())
    batches = max(lines // 500, 1)
    await conn.execute(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
        "created_at, received_at) SELECT 'RB' || (g + $5) || '-' || o.id, o.id, "
        "date_trunc('month', $3::timestamptz + ((g % 330) || ' days')::interval)::date, 'special', "
        "'closed', $2, now(), $3::timestamptz + ((g % 330) || ' days')::interval "
        "FROM generate_series(1, $1) g JOIN LATERAL (SELECT id FROM organisation "
        "WHERE kind = 'office' ORDER BY id OFFSET (g % $4) LIMIT 1) o ON true",
        batches, user, start, offices,
        await conn.fetchval("SELECT count(*) FROM return_batch"))  # numbers unique across growths
    await conn.execute(
        "INSERT INTO return_line (batch, line_no, product, quantity, date_code, received_qty) "
        "SELECT b.id, g, (SELECT min(id) FROM product) + g % 20, 1 + g % 3, DATE '2026-01-01', "
        "1 + g % 3 FROM return_batch b CROSS JOIN generate_series(1, 500) g "
        "WHERE NOT EXISTS (SELECT 1 FROM return_line x WHERE x.batch = b.id)")
    await conn.execute("ANALYZE")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--calls", type=int, default=4, help="calls per point and month")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    url = engine().config["dsn"]
    conn = await asyncpg.connect(url)
    # the special batches' CHECK needs an approval: the bench drops it for its own database
    await conn.execute("ALTER TABLE return_batch DROP CONSTRAINT IF EXISTS special_needs_approval")
    await conn.execute("INSERT INTO organisation (name, name_en, kind, path, active, created_at) "
                       "VALUES ('总部', 'HQ', 'hq', '', true, now())")
    await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE kind = 'hq'")
    hq = await conn.fetchval("SELECT id FROM organisation WHERE kind = 'hq'")
    user_id = await conn.fetchval(
        "INSERT INTO portal_user (username, display_name, password_hash, organisation, roles, "
        "locale, active, created_at) VALUES ('cs', 'CS', 'x', $1, ARRAY['hq_cs'], 'en', true, now()) "
        "RETURNING id", hq)
    actor = await auth.load_actor(user_id)
    assert actor is not None
    with clock.frozen(NOW):
        await grow(conn, max(args.points // 10, 3), args.lines // 10, args.calls)
        with count_queries() as small:
            await kpis.dashboard(actor=actor)
        await grow(conn, args.points - max(args.points // 10, 3), args.lines - args.lines // 10,
                   args.calls)
        with count_queries() as large:
            await kpis.dashboard(actor=actor)
        months = rules.months_back(NOW.date(), 12)
        end = rules.add_months(months[-1], 1)
        raw_args = (china_midnight(months[0]), china_midnight(end), months[0], end)

        async def service() -> None:
            await kpis.dashboard(actor=actor)

        async def raw() -> None:
            await conn.fetch(RAW, *raw_args)

        pair = await compare(service, raw, repeat=args.repeat)
    n_lines = await conn.fetchval("SELECT count(*) FROM return_line")
    n_points = await conn.fetchval("SELECT count(*) FROM organisation WHERE kind = 'repair_point'")
    report_pair(f"HQ dashboard, {n_points:,} points, {n_lines:,} lines", pair,
                f"{small.count} at a tenth, {large.count} at all")
    await conn.close()


if __name__ == "__main__":
    run(main)
