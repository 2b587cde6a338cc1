"""A month of old-for-new exchanges and consumer repairs at N repair points (issues 4 and 17 §5):
each point makes one exchange (the point requests it, an office clerk completes it) and records
one repair, through the services or through a raw-SQL twin writing the same rows (exchange,
repair, stock movements, audit rows, the notices to the office's clerks and manager and to the
point's staff) in as few hand-written statements as a careful engineer would.

Interleaved (issue 17 §6): service and raw alternate, on different points, and which goes first
alternates too, so a change of machine load moves both alike. Printed per operation: median and
minimum of each side, both ratios, and the service's query count at the first and the last point
(flat = no per-row work).
Run: .venv/bin/python bench/spares_month.py [--points 5000]"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import report_pair, run, start_database  # noqa: E402

start_database()

import asyncpg  # noqa: E402

from portal import auth, clock, db  # noqa: E402
from portal.actor import Actor  # noqa: E402
from portal.db import count_queries, engine  # noqa: E402
from spares import exchanges, repairs  # noqa: E402

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BOUGHT = date(2025, 6, 1)  # out of warranty on NOW: the charge uses the part's price and the fee


async def seed(conn, points: int) -> dict:
    """HQ, an office per ten points, the points; a clerk and a manager per office, a repair
    staff per point; one part, one product; opening stock."""
    hq = await conn.fetchval("INSERT INTO organisation (name, name_en, kind, path, active, created_at) "
                             "VALUES ('总部', 'HQ', 'hq', '', true, now()) RETURNING id")
    await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE id = $1", hq)
    offices = max(points // 10, 1)
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT '办事处' || g, 'Office ' || g, 'office', $1, '', true, now() "
        "FROM generate_series(1, $2) g", hq, offices)
    await conn.execute("UPDATE organisation SET path = $2 || id::text || '.' WHERE parent = $1",
                       hq, f"{hq}.")
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT '维修点' || g, 'Point ' || g, 'repair_point', o.id, o.path, true, now() "
        "FROM generate_series(1, $1) g JOIN LATERAL (SELECT id, path FROM organisation "
        "WHERE kind = 'office' ORDER BY id OFFSET (g % $2) LIMIT 1) o ON true", points, offices)
    await conn.execute("UPDATE organisation SET path = path || id::text || '.' "
                       "WHERE kind = 'repair_point'")
    await conn.execute(
        "INSERT INTO portal_user (username, display_name, email, password_hash, organisation, "
        "roles, locale, active, created_at) SELECT r || o.id, r || o.id, '', $1, o.id, ARRAY[r], "
        "CASE r WHEN 'manager' THEN 'en' ELSE 'zh_CN' END, true, now() FROM organisation o, "
        "unnest(ARRAY['dealer_clerk', 'manager', 'repair_staff']) r "
        "WHERE (o.kind = 'office' AND r <> 'repair_staff') OR (o.kind = 'repair_point' "
        "AND r = 'repair_staff')", auth.hash_password("bench-password"))
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
    people = {(r["organisation"], r["roles"][0]): r["id"] for r in await conn.fetch(
        "SELECT id, organisation, roles FROM portal_user")}
    orgs = {r["id"]: dict(r) for r in await conn.fetch(
        "SELECT id, parent, path, kind FROM organisation WHERE kind IN ('office', 'repair_point')")}
    rows = [o for o in orgs.values() if o["kind"] == "repair_point"]
    return {"part": part, "product": product, "people": people, "orgs": orgs,
            "points": sorted(rows, key=lambda o: o["id"])}


def actor(data: dict, org_id: int, role: str) -> Actor:
    org = data["orgs"][org_id]
    return Actor(user_id=data["people"][org_id, role], username=role, display_name=role,
                 organisation_id=org_id, organisation_path=org["path"],
                 organisation_kind=org["kind"], roles=frozenset({role}))


class Service:
    """The portal's services, counting their queries at the points asked for."""

    def __init__(self, data: dict):
        self.data, self.counts = data, {}

    async def exchange(self, p: dict, note: str | None) -> None:
        staff = actor(self.data, p["id"], "repair_staff")
        clerk = actor(self.data, p["parent"], "dealer_clerk")
        with count_queries() as counter:
            ex = await exchanges.request_exchange(actor=staff, spare_part_id=self.data["part"],
                                                  quantity=1)
            await exchanges.complete_exchange(actor=clerk, exchange_id=ex)
        if note:
            self.counts["exchange", note] = counter.count

    async def repair(self, p: dict, note: str | None) -> None:
        staff = actor(self.data, p["id"], "repair_staff")
        with count_queries() as counter:
            await repairs.record_repair(actor=staff, customer="顾客", phone="", proof="发票",
                                        product_id=self.data["product"], purchase_date=BOUGHT,
                                        spare_part_id=self.data["part"], parts_quantity=1,
                                        on_the_spot=True)
        if note:
            self.counts["repair", note] = counter.count


AUDIT = ("INSERT INTO audit_entry (at, actor, organisation, object_type, object_id, action, "
         "to_state, reason, request_id) ")
NOTICE = ("INSERT INTO notification (\"user\", kind, dedupe_key, subject, body, link, created_at) "
          "SELECT u.id, {kind}, {key}, CASE WHEN u.locale = 'en' THEN {en} ELSE {zh} END, "
          "CASE WHEN u.locale = 'en' THEN {en_body} ELSE {zh_body} END, {link}, {at} "
          "FROM {source}portal_user u JOIN organisation uo ON uo.id = u.organisation "
          "WHERE u.active AND uo.active AND u.id <> {actor} AND {who} "
          "ON CONFLICT (\"user\", kind, dedupe_key) DO NOTHING")

REQUEST = (
    "WITH ex AS (INSERT INTO exchange (repair_point, office, spare_part, quantity, status, "
    "requested_by, requested_at) VALUES ($1, $2, $3, 1, 'requested', $4, $5) RETURNING id), "
    "au AS (" + AUDIT + "SELECT $5, $4, $1, 'exchange', ex.id::text, 'requested', $6::jsonb, '', '' "
    "FROM ex), n AS (" + NOTICE.format(
        kind="'exchange_requested'", key="ex.id::text", zh="$7", zh_body="$8", en="$9",
        en_body="$10", link="'/repair-points/exchanges?status=requested'", at="$5", actor="$4",
        who="u.organisation = $2 AND u.roles && ARRAY['dealer_clerk', 'manager']::varchar[]",
        source="ex, ") + ") SELECT id FROM ex")
COMPLETE = (
    "WITH mv AS (INSERT INTO stock_movement (location, spare_part, condition, quantity, kind, "
    "reference, actor, at) SELECT l, $3, c, q, 'exchange', 'exchange-' || $1::int, $4, $5 FROM "
    "unnest(ARRAY[$2, $6, $6, $2]::int[], ARRAY['good', 'good', 'faulty', 'faulty'], "
    "ARRAY[-$7::int, $7, -$7, $7]) AS t(l, c, q)), "
    "up AS (UPDATE exchange SET status = 'completed', completed_by = $4, completed_at = $5 "
    "WHERE id = $1), au AS (" + AUDIT + "VALUES ($5, $4, $2, 'exchange', $1::text, 'completed', "
    "$8::jsonb, '', '')) " + NOTICE.format(
        kind="'exchange_completed'", key="$1::text", zh="$9", zh_body="$10", en="$11",
        en_body="$12", link="'/repair-points/' || $6", at="$5", actor="$4",
        who="u.organisation = $6 AND 'repair_staff' = ANY(u.roles)", source=""))
LOCK = ("SELECT e.*, o.name, o.name_en, (SELECT quantity FROM stock_balance WHERE location = "
        "e.office AND spare_part = e.spare_part AND condition = 'good') AS office_good, "
        "(SELECT quantity FROM stock_balance WHERE location = e.repair_point AND spare_part = "
        "e.spare_part AND condition = 'faulty') AS point_faulty FROM exchange e "
        "JOIN organisation o ON o.id = e.office WHERE e.id = $1 FOR UPDATE OF e")
LOOKUP = ("SELECT c.warranty_months, s.unit_price_fen, (SELECT value FROM policy_value WHERE "
          "key = 'out_of_warranty_fee_bp' AND effective_from <= $3 ORDER BY effective_from DESC "
          "LIMIT 1) AS rate FROM product p JOIN product_category c ON c.id = p.category, "
          "spare_part s WHERE p.id = $1 AND s.id = $2")
REPAIR = (
    "WITH r AS (INSERT INTO repair (repair_point, customer, phone, product, purchase_date, proof, "
    "in_warranty, spare_part, parts_quantity, parts_fen, fee_fen, charge_fen, status, "
    "recorded_by, recorded_at, completed_at) VALUES ($1, '顾客', '', $2, $3, '发票', $4, $5, 1, "
    "$6, $7, $6::bigint + $7::bigint, 'repaired', $8, $9, $9) RETURNING id), "
    "mv AS (INSERT INTO stock_movement (location, spare_part, condition, quantity, kind, "
    "reference, actor, at) SELECT $1, $5, c, q, 'repair', 'repair-' || r.id, $8, $9 FROM r, "
    "unnest(ARRAY['good', 'faulty'], ARRAY[-1, 1]) AS t(c, q)) "
    + AUDIT + "SELECT $9, $8, $1, 'repair', r.id::text, 'recorded', $10::jsonb, '', '' FROM r")


class Raw:
    """The same rows by hand on one asyncpg connection: exchange 4 statements, repair 2."""

    def __init__(self, data: dict, conn):
        self.data, self.conn = data, conn

    async def exchange(self, p: dict) -> None:
        conn, part, now = self.conn, self.data["part"], clock.now()
        staff, clerk = self.data["people"][p["id"], "repair_staff"], \
            self.data["people"][p["parent"], "dealer_clerk"]
        async with conn.transaction():
            names = await conn.fetchrow(
                "SELECT o.name, o.name_en, s.code, s.name_zh, s.name_en AS part_en FROM "
                "organisation o, spare_part s WHERE o.id = $1 AND o.path LIKE $3 AND s.id = $2",
                p["id"], part, p["path"] + "%")
            zh, en = f"{names['name_zh']} ({names['code']})", f"{names['part_en']} ({names['code']})"
            ex = await conn.fetchval(
                REQUEST, p["id"], p["parent"], part, staff, now, json.dumps({"part": part, "qty": 1}),
                f"{names['name']}申请以旧换新", f"{names['name']}申请以旧换新 1 × {zh}。",
                f"{names['name_en']} asks for an old-for-new exchange",
                f"{names['name_en']} asks to exchange 1 × {en}.")
        async with conn.transaction():
            e = await conn.fetchrow(LOCK, ex)
            if e["status"] != "requested" or (e["office_good"] or 0) < 1 or (e["point_faulty"] or 0) < 1:
                raise AssertionError("the twin refuses what the service would")
            await conn.execute(
                COMPLETE, ex, p["parent"], part, clerk, now, p["id"], e["quantity"],
                json.dumps({"part": part, "qty": 1}), f"换新完成：1 × {zh}",
                f"{e['name']}已交付 1 个良品{zh}。", f"Exchange completed: 1 × {en}",
                f"{e['name_en']} handed over 1 good {en}.")

    async def repair(self, p: dict) -> None:
        conn, part, now, today = self.conn, self.data["part"], clock.now(), clock.china_today()
        staff = self.data["people"][p["id"], "repair_staff"]
        async with conn.transaction():
            row = await conn.fetchrow(LOOKUP, self.data["product"], part, today)
            warranty = today < BOUGHT.replace(year=BOUGHT.year + row["warranty_months"] // 12)
            parts = 0 if warranty else row["unit_price_fen"]
            fee = 0 if warranty else (parts * (row["rate"] or 1000) + 5000) // 10000
            await conn.execute(REPAIR, p["id"], self.data["product"], BOUGHT,
                               "yes" if warranty else "no", part, parts, fee, staff, now,
                               json.dumps({"warranty": warranty, "charge_fen": parts + fee}))


async def interleaved(data: dict, conn) -> tuple[dict, dict]:
    """Points in pairs: one to the service, the next to the raw twin; who goes first alternates."""
    service, raw = Service(data), Raw(data, conn)
    samples: dict[str, dict[str, list[float]]] = {
        op: {"service": [], "raw": []} for op in ("exchange", "repair")}
    pairs = len(data["points"]) // 2
    for i in range(pairs):
        sp, rp = data["points"][2 * i], data["points"][2 * i + 1]
        note = "first" if i == 0 else "last" if i == pairs - 1 else None
        for op in ("exchange", "repair"):
            runs = [("service", getattr(service, op), (sp, note)), ("raw", getattr(raw, op), (rp,))]
            for name, fn, fn_args in (runs if i % 2 == 0 else runs[::-1]):
                start = time.perf_counter()
                await fn(*fn_args)
                samples[op][name].append(time.perf_counter() - start)
    return ({op: {side: {"min": min(v), "median": statistics.median(v)}
                  for side, v in sides.items()} for op, sides in samples.items()},
            service.counts)


async def check_same_rows(conn) -> None:
    """The twin wrote what the services wrote: rows of each kind per operation."""
    counts = await conn.fetch(
        "SELECT 'audit ' || object_type || ' ' || action AS k, count(*) AS n FROM audit_entry "
        "GROUP BY 1 UNION ALL SELECT 'notice ' || kind, count(*) FROM notification GROUP BY 1 "
        "UNION ALL SELECT 'movement ' || kind, count(*) FROM stock_movement GROUP BY 1 ORDER BY 1")
    print("rows written (service and raw together):",
          ", ".join(f"{r['k']} {r['n']:,}" for r in counts))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=5000)
    args = parser.parse_args()
    conn = await asyncpg.connect(engine().config["dsn"])
    await db.start_pool(min_size=1, max_size=4)  # as `portal serve` does
    data = await seed(conn, args.points)
    with clock.frozen(NOW):
        pairs, counts = await interleaved(data, conn)
    half = len(data["points"]) // 2
    print(f"{len(data['points']):,} repair points: {half:,} through the services, {half:,} "
          "through raw SQL, interleaved")
    await check_same_rows(conn)
    report_pair("exchange (request + complete)", pairs["exchange"],
                f"{counts['exchange', 'first']}→{counts['exchange', 'last']} (raw 4)")
    report_pair("consumer repair with a part", pairs["repair"],
                f"{counts['repair', 'first']}→{counts['repair', 'last']} (raw 2)")
    await conn.close()
    await engine().close_connection_pool()


if __name__ == "__main__":
    run(main)
