"""Return batch benchmarks (issue 3, issue 17): receiving 500 lines, the HQ list page and its
queue badges from 100k to 1M lines, each interleaved with its raw twin.
Run: .venv/bin/python bench/batches.py [--lines 1000000]"""
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

from dealers import queries, receiving, rules  # noqa: E402
from portal import auth, clock  # noqa: E402
from portal.db import count_queries, engine, start_pool  # noqa: E402

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 20, 10, 0, tzinfo=CHINA)


async def seed_network(conn) -> dict:
    """HQ, 400 offices, users, a catalogue; returns ids."""
    hq = await conn.fetchval("INSERT INTO organisation (name, name_en, kind, path, active, created_at) "
                             "VALUES ('总部', 'HQ', 'hq', '', true, now()) RETURNING id")
    await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE id = $1", hq)
    region = await conn.fetchval("SELECT id FROM region WHERE code = 'CN-JS'")
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, region, path, active, created_at) "
        "SELECT '办事处' || g, 'Office ' || g, 'office', $1, $2, '', true, now() "
        "FROM generate_series(1, 400) g", hq, region)
    await conn.execute("UPDATE organisation SET path = $2 || id::text || '.' WHERE parent = $1",
                       hq, f"{hq}.")
    category = await conn.fetchval(
        "INSERT INTO product_category (code, name_zh, name_en, warranty_months, is_cfl) "
        "VALUES ('cfl', '节能灯', 'CFL', 12, true) RETURNING id")
    await conn.execute(
        "INSERT INTO product (model, spec, name_zh, name_en, category, active) "
        "SELECT 'CFL-' || g, '', '节能灯', 'CFL', $1, true FROM generate_series(1, 50) g", category)
    pw = auth.hash_password("bench-password")
    users = {}
    for name, roles, org in (("cs", ["hq_cs"], hq), ("logistics", ["hq_logistics"], hq)):
        users[name] = await conn.fetchval(
            "INSERT INTO portal_user (username, display_name, email, password_hash, organisation, "
            "roles, locale, active, created_at) VALUES ($1, $1, '', $2, $3, $4, 'zh_CN', true, now()) "
            "RETURNING id", name, pw, org, roles)
    return {"hq": hq, "users": users}


OPEN_WORK = 2_000  # batches still in the flow; the rest of the history is decided and read


async def grow_lines(conn, total_lines: int, per_batch: int = 50) -> None:
    """Batches of 50 lines across the offices and months, in set-based inserts. As in a real
    network, history is mostly done: what was open is decided before the next batches arrive,
    and only the newest OPEN_WORK batches are in the flow (five states in turn)."""
    have = await conn.fetchval("SELECT count(*) FROM return_line")
    need = (total_lines - have) // per_batch
    if need <= 0:
        return
    # decided, and the receipt long read by its office (R13)
    await conn.execute("UPDATE return_batch SET status = 'dispositioned', "
                       "receipt_read_at = coalesce(receipt_read_at, now()) "
                       "WHERE (status <> 'dispositioned' OR receipt_read_at IS NULL) "
                       "AND number LIKE 'B%'")
    first = await conn.fetchval("SELECT coalesce(max(id), 0) FROM return_batch")
    user = await conn.fetchval("SELECT id FROM portal_user LIMIT 1")
    await conn.execute(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, created_at, "
        "refused_reason, disposal_evidence, carrier, waybill, company_bears_freight, arrived_at, "
        "receipt_read_at) "
        "SELECT 'B' || lpad((g + $1)::text, 10, '0'), o.id, "
        "  (DATE '2020-01-01' + ((g + $1) / 400) * interval '1 month')::date, 'regular', "
        "  CASE WHEN g > $3 - $4 THEN (ARRAY['submitted','received','signed','dispatched',"
        "  'draft'])[1 + (g % 5)] ELSE 'dispositioned' END, "
        "  $2, now(), '', '', '', '', true, "
        "  CASE WHEN g % 5 IN (0, 1) THEN now() - interval '5 days' END, "
        "  CASE WHEN g <= $3 - $4 THEN now() END "
        "FROM generate_series(1, $3) g "
        "JOIN LATERAL (SELECT id FROM organisation WHERE kind = 'office' "
        "              ORDER BY id OFFSET ((g + $1) % 400) LIMIT 1) o ON true",
        first, user, need, OPEN_WORK)
    products = await conn.fetchval("SELECT min(id) FROM product")
    await conn.execute(
        "INSERT INTO return_line (batch, line_no, product, quantity, reason_text, lights, "
        "tube_greyed, bridge_blackened, broken, extra, decision_note) "
        "SELECT b.id, n, $2 + (b.id + n) % 50, 1 + (n % 20), '', false, false, false, false, false, '' "
        "FROM return_batch b, generate_series(1, $3) n WHERE b.id > $1",
        first, products, per_batch)
    await conn.execute("ANALYZE return_batch; ANALYZE return_line")


RAW_LIST = """
SELECT b.id, b.number, b.month, b.status, o.name FROM return_batch b
JOIN organisation o ON o.id = b.organisation WHERE b.status = 'received'
ORDER BY b.id DESC LIMIT 50"""
RAW_COUNTS = """SELECT count(*) FILTER (WHERE b.status = 'submitted'),
  count(*) FILTER (WHERE b.status = 'signed'),
  count(*) FILTER (WHERE b.status = 'approved' AND b.arrived_at IS NULL),
  count(*) FILTER (WHERE b.status = 'dispatched' AND b.arrived_at IS NULL),
  count(*) FILTER (WHERE b.status IN ('approved', 'dispatched') AND b.arrived_at IS NOT NULL),
  count(*) FILTER (WHERE b.status = 'received'),
  count(*) FILTER (WHERE (b.arrived_at IS NOT NULL AND b.received_at IS NULL
    AND $1 >= b.arrived_at + interval '2 days') OR (b.status = 'received'
    AND $1 >= b.arrived_at + interval '4 days')),
  (SELECT count(*) FROM quality_dispute d WHERE d.verified_at IS NULL)
FROM return_batch b WHERE b.status = ANY($2::varchar[])"""
RAW_TOTALS = """SELECT batch, count(*), sum(quantity), sum(received_qty) FROM return_line
WHERE batch = ANY($1::int[]) GROUP BY batch"""


async def bench_list(conn, actor, lines: int) -> None:
    async def service():
        return await queries.list_batches(actor=actor, now=NOW, queue="to_decide")

    async def raw():
        rows = await conn.fetch(RAW_LIST)
        await conn.fetch(RAW_TOTALS, [r["id"] for r in rows])

    with count_queries() as counter:
        await service()
    report_pair(f"HQ list page (to decide), {lines:,} lines", await compare(service, raw),
                counter.count)

    async def counts():
        return await queries.queue_counts(actor=actor, now=NOW)

    async def raw_counts():  # the same scan of the open rows, hand-written
        await conn.fetch(RAW_COUNTS, NOW, list(queries.OPEN_STATUSES))

    with count_queries() as counter:
        await counts()
    report_pair(f"HQ queue badges, {lines:,} lines", await compare(counts, raw_counts),
                counter.count)

    product = await conn.fetchval("SELECT min(id) FROM product")

    async def by_product():
        return await queries.list_batches(actor=actor, now=NOW, product_id=product)

    async def raw_by_product():
        rows = await conn.fetch(
            "SELECT b.id FROM return_batch b WHERE EXISTS (SELECT 1 FROM return_line l "
            "WHERE l.batch = b.id AND l.product = $1) ORDER BY b.id DESC LIMIT 50", product)
        await conn.fetch(RAW_TOTALS, [r["id"] for r in rows])

    with count_queries() as counter:
        await by_product()
    report_pair(f"HQ list filtered by product, {lines:,} lines",
                await compare(by_product, raw_by_product), counter.count)


async def bench_receive(conn, ids: dict) -> None:
    """Count 500 lines through receive_batch vs the same writes in raw SQL."""
    actor = await auth.load_actor(ids["users"]["logistics"])

    # special batches need an approval row: create one shared approval for the bench
    approval = await conn.fetchval(
        "INSERT INTO special_approval (organisation, month, quality_problem, reason, status, "
        "requested_by, requested_at, decision_reason) SELECT min(id), DATE '2026-12-01', false, "
        "'bench', 'approved', $1, now(), '' FROM organisation WHERE kind = 'office' RETURNING id",
        ids["users"]["cs"])

    async def fresh_batch() -> tuple[int, list[int]]:
        batch = await conn.fetchval(
            "INSERT INTO return_batch (number, organisation, month, kind, special_approval, status, "
            "created_by, created_at, refused_reason, disposal_evidence, carrier, waybill, "
            "company_bears_freight, disposition, arrived_at) "
            "SELECT 'R' || nextval('return_batch_number_seq'), min(id), DATE '2026-12-01', "
            "'special', $2, 'dispatched', $1, now(), '', '', '', '', true, 'return', now() "
            "FROM organisation WHERE kind = 'office' RETURNING id", ids["users"]["cs"], approval)
        product = await conn.fetchval("SELECT min(id) FROM product")
        line_ids = await conn.fetch(
            "INSERT INTO return_line (batch, line_no, product, quantity, reason_text, lights, "
            "tube_greyed, bridge_blackened, broken, extra, decision_note) "
            "SELECT $1, n, $2, 10, '', false, false, false, false, false, '' "
            "FROM generate_series(1, 500) n RETURNING id", batch, product)
        return batch, [r["id"] for r in line_ids]

    counts_used = []

    async def service(prepared):
        batch, line_ids = prepared
        counts = [receiving.Count(i, 9, rules.Condition(cap_percent=90)) for i in line_ids]
        with count_queries() as counter:
            await receiving.receive_batch(actor=actor, batch_id=batch, counts=counts)
        counts_used.append(counter.count)

    async def raw(prepared):
        batch, line_ids = prepared
        async with conn.transaction():
            await conn.fetchrow("SELECT * FROM return_batch WHERE id = $1 FOR UPDATE", batch)
            await conn.fetch("SELECT id, line_no, product, quantity FROM return_line WHERE batch = $1",
                             batch)
            await conn.executemany(
                "UPDATE return_line SET received_qty = $2, i_lights = false, i_cap_percent = 90, "
                "i_tube_greyed = false, i_bridge_blackened = false, i_broken = false WHERE id = $1",
                [(i, 9) for i in line_ids])
            await conn.execute("UPDATE return_batch SET status = 'received', received_at = now() "
                               "WHERE id = $1", batch)
            await conn.execute("INSERT INTO audit_entry (at, object_type, object_id, action, reason, "
                               "request_id) VALUES (now(), 'return_batch', $1, 'received', '', '')",
                               str(batch))

    # each run gets its own fresh batch, made untimed just before it
    report_pair("receive 500 lines", await compare(service, raw, repeat=5, setup=fresh_batch),
                counts_used[-1])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    dsn = engine().config["dsn"]
    conn = await asyncpg.connect(dsn)
    await start_pool(min_size=1, max_size=4)
    ids = await seed_network(conn)
    with clock.frozen(NOW):
        await bench_receive(conn, ids)
        actor = await auth.load_actor(ids["users"]["cs"])
        for lines in sorted({100_000, args.lines}):
            await grow_lines(conn, lines)
            await bench_list(conn, actor, lines)
    await conn.close()
    await engine().close_connection_pool()


if __name__ == "__main__":
    run(main)
