"""A month of old-for-new exchanges and consumer repairs for 5,000 repair points (issue 4),
through the services against a raw-SQL baseline doing the same writes in the same run, with
the query count of one operation at the first and at the last point (flat = no per-row work).
Run: .venv/bin/python bench/spares_month.py [--points 5000]"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import report, run, start_database  # noqa: E402

start_database()

import asyncpg  # noqa: E402

from portal import auth, clock  # noqa: E402
from portal.actor import Actor  # noqa: E402
from portal.db import count_queries, engine  # noqa: E402
from spares import exchanges, repairs  # noqa: E402

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def seed(conn, points: int) -> dict:
    hq = await conn.fetchval("INSERT INTO organisation (name, name_en, kind, path, active, created_at) "
                             "VALUES ('总部', 'HQ', 'hq', '', true, now()) RETURNING id")
    await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE id = $1", hq)
    offices = max(points // 10, 1)
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT '办事处' || g, 'Office', 'office', $1, '', true, now() FROM generate_series(1, $2) g",
        hq, offices)
    await conn.execute("UPDATE organisation SET path = $2 || id::text || '.' WHERE parent = $1",
                       hq, f"{hq}.")
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT '维修点' || g, 'Point', 'repair_point', o.id, o.path, true, now() "
        "FROM generate_series(1, $1) g JOIN LATERAL (SELECT id, path FROM organisation "
        "WHERE kind = 'office' ORDER BY id OFFSET (g % $2) LIMIT 1) o ON true", points, offices)
    await conn.execute("UPDATE organisation SET path = path || id::text || '.' WHERE kind = 'repair_point'")
    part = await conn.fetchval("INSERT INTO spare_part (code, name_zh, name_en, unit_price_fen, active) "
                               "VALUES ('ELB-28', '镇流器', 'Ballast', 1850, true) RETURNING id")
    category = await conn.fetchval("INSERT INTO product_category (code, name_zh, name_en, "
                                   "warranty_months, is_cfl) VALUES ('c', '吸顶灯', 'C', 12, false) RETURNING id")
    product = await conn.fetchval("INSERT INTO product (model, spec, name_zh, name_en, category, active) "
                                  "VALUES ('XD-1', '', '吸顶灯', 'C', $1, true) RETURNING id", category)
    # stock: every office 100 good, every point 10 good and 10 faulty
    await conn.execute(
        "INSERT INTO stock_movement (location, spare_part, condition, quantity, kind, reference, at) "
        "SELECT id, $1, c, CASE WHEN kind = 'office' THEN 100 ELSE 10 END, 'opening', '', now() "
        "FROM organisation, unnest(ARRAY['good', 'faulty']) c WHERE kind IN ('office', 'repair_point') "
        "AND (kind = 'repair_point' OR c = 'good')", part)
    rows = await conn.fetch("SELECT id, parent, path FROM organisation WHERE kind = 'repair_point' "
                            "ORDER BY id")
    office_rows = {r["id"]: r for r in await conn.fetch(
        "SELECT id, path FROM organisation WHERE kind = 'office'")}
    return {"part": part, "product": product, "points": rows, "offices": office_rows}


def actor(org: dict, kind: str, roles: set[str]) -> Actor:
    return Actor(user_id=1, username="bench", display_name="bench", organisation_id=org["id"],
                 organisation_path=org["path"], organisation_kind=kind, roles=frozenset(roles))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=5000)
    args = parser.parse_args()
    conn = await asyncpg.connect(engine().config["dsn"])
    await engine().start_connection_pool(min_size=1, max_size=4)
    await conn.execute("INSERT INTO organisation (name, name_en, kind, path, active, created_at) "
                       "VALUES ('x', 'x', 'hq', '0.', true, now())")  # keeps ids honest
    data = await seed(conn, args.points)
    await conn.execute(
        "INSERT INTO portal_user (id, username, display_name, email, password_hash, organisation, "
        "roles, locale, active, created_at) VALUES (1, 'bench', 'bench', '', $1, $2, "
        "ARRAY['repair_staff'], 'zh_CN', true, now()) ON CONFLICT DO NOTHING",
        auth.hash_password("bench-password"), data["points"][0]["id"])
    points, part = data["points"], data["part"]
    half = len(points) // 2
    service_points, raw_points = points[:half], points[half:]
    counts = {}
    with clock.frozen(NOW):
        async def exchange(p, note=None):
            staff = actor(dict(p), "repair_point", {"repair_staff"})
            office = actor(dict(data["offices"][p["parent"]]), "office", {"dealer_clerk"})
            with count_queries() as counter:
                ex = await exchanges.request_exchange(actor=staff, spare_part_id=part, quantity=1)
                await exchanges.complete_exchange(actor=office, exchange_id=ex)
            if note:
                counts[note] = counter.count

        async def repair(p, note=None):
            staff = actor(dict(p), "repair_point", {"repair_staff"})
            with count_queries() as counter:
                await repairs.record_repair(actor=staff, customer="顾客", phone="", proof="发票",
                                            product_id=data["product"], purchase_date=date(2026, 1, 1),
                                            spare_part_id=part, parts_quantity=1, on_the_spot=True)
            if note:
                counts[note] = counter.count

        start = time.perf_counter()
        for i, p in enumerate(service_points):
            await exchange(p, "exchange first" if i == 0 else "exchange last" if i == half - 1 else None)
            await repair(p, "repair first" if i == 0 else "repair last" if i == half - 1 else None)
        service_time = time.perf_counter() - start

        async def raw_exchange(p):
            async with conn.transaction():
                ex = await conn.fetchval(
                    "INSERT INTO exchange (repair_point, office, spare_part, quantity, status, "
                    "requested_by, requested_at) VALUES ($1, $2, $3, 1, 'requested', 1, now()) "
                    "RETURNING id", p["id"], p["parent"], part)
                await conn.execute("INSERT INTO audit_entry (at, actor, object_type, object_id, action, "
                                   "reason, request_id) VALUES (now(), 1, 'exchange', $1, 'requested', '', '')",
                                   str(ex))
            async with conn.transaction():
                await conn.fetchrow("SELECT * FROM exchange WHERE id = $1 FOR UPDATE", ex)
                await conn.fetchrow("SELECT id, path FROM organisation WHERE id = $1", p["parent"])
                await conn.execute(
                    "INSERT INTO stock_movement (location, spare_part, condition, quantity, kind, "
                    "reference, actor, at) SELECT l, $4, c, q, 'exchange', $5, 1, now() FROM "
                    "unnest($1::int[], $2::text[], $3::int[]) AS t(l, c, q)",
                    [p["parent"], p["id"], p["id"], p["parent"]], ["good", "good", "faulty", "faulty"],
                    [-1, 1, -1, 1], part, f"exchange-{ex}")
                await conn.execute("UPDATE exchange SET status = 'completed', completed_by = 1, "
                                   "completed_at = now() WHERE id = $1", ex)
                await conn.execute("INSERT INTO audit_entry (at, actor, object_type, object_id, action, "
                                   "reason, request_id) VALUES (now(), 1, 'exchange', $1, 'completed', '', '')",
                                   str(ex))

        async def raw_repair(p):
            async with conn.transaction():
                await conn.fetchrow("SELECT id FROM product WHERE id = $1", data["product"])
                await conn.fetchrow("SELECT unit_price_fen FROM spare_part WHERE id = $1", part)
                await conn.fetchval("SELECT value FROM policy_value WHERE key = 'x' LIMIT 1")
                rid = await conn.fetchval(
                    "INSERT INTO repair (repair_point, customer, phone, product, purchase_date, proof, "
                    "in_warranty, spare_part, parts_quantity, parts_fen, fee_fen, charge_fen, status, "
                    "recorded_by, recorded_at, completed_at) VALUES ($1, '顾客', '', $2, '2026-01-01', "
                    "'发票', 'yes', $3, 1, 0, 0, 0, 'repaired', 1, now(), now()) RETURNING id",
                    p["id"], data["product"], part)
                await conn.execute(
                    "INSERT INTO stock_movement (location, spare_part, condition, quantity, kind, "
                    "reference, actor, at) VALUES ($1, $2, 'good', -1, 'repair', $3, 1, now()), "
                    "($1, $2, 'faulty', 1, 'repair', $3, 1, now())", p["id"], part, f"repair-{rid}")
                await conn.execute("INSERT INTO audit_entry (at, actor, object_type, object_id, action, "
                                   "reason, request_id) VALUES (now(), 1, 'repair', $1, 'recorded', '', '')",
                                   str(rid))

        start = time.perf_counter()
        for p in raw_points:
            await raw_exchange(p)
            await raw_repair(p)
        raw_time = time.perf_counter() - start
    ops = half * 2
    print(f"{len(points):,} repair points; {ops:,} operations through the services and "
          f"{len(raw_points) * 2:,} through raw SQL")
    report("one exchange + one repair per point (per op)", service_time / ops,
           raw_time / (len(raw_points) * 2),
           f"exchange {counts['exchange first']}→{counts['exchange last']}, "
           f"repair {counts['repair first']}→{counts['repair last']}")
    await conn.close()
    await engine().close_connection_pool()


if __name__ == "__main__":
    run(main)
