"""Repeat-claim detection (issue 13, R18): flagging one batch's lines claimed before, among
BENCH_LINES return lines (default 10,000,000; set fewer for a smoke run) of thousands of batches
and offices, through `goods.repeats.flag_batches` (the portal's engine, transaction and audit-free
set-based statement) against a raw-SQL twin on a plain asyncpg connection (a DISTINCT ON join),
timed interleaved in the same run on the same database (bench/common.compare); the query count
of the service at 10 and 500 lines per batch (flat: one statement per batch).
Run: BENCH_LINES=20000 .venv/bin/python bench/repeat_claims.py"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import compare, report_pair, run, start_database  # noqa: E402

start_database()

import asyncpg  # noqa: E402

from goods import repeats  # noqa: E402
from portal.db import count_queries, engine  # noqa: E402

LINES = int(os.environ.get("BENCH_LINES", "10000000"))
PER_BATCH = 50
OFFICES = 2000
PRODUCTS = 400
MONTHS = 36  # date codes spread over three years

RAW = (
    "INSERT INTO goods_repeat_flag (return_line, earlier_line, flagged_at) "
    "SELECT DISTINCT ON (l.id) l.id, e.id, now() FROM return_line l "
    "JOIN return_batch lb ON lb.id = l.batch "
    "JOIN return_line e ON e.product = l.product AND e.date_code = l.date_code "
    "AND e.batch <> l.batch JOIN return_batch eb ON eb.id = e.batch "
    "WHERE l.batch = $1 AND eb.status NOT IN ('draft', 'withdrawn', 'refused') "
    "AND (e.purchase_date IS NULL OR l.purchase_date IS NULL OR e.purchase_date = l.purchase_date) "
    "AND (coalesce(eb.submitted_at, eb.created_at), e.id) "
    "< (coalesce(lb.submitted_at, lb.created_at), l.id) "
    "ORDER BY l.id, coalesce(eb.submitted_at, eb.created_at), e.id "
    "ON CONFLICT (return_line) DO NOTHING")


async def setup(conn) -> None:
    hq = await conn.fetchval("INSERT INTO organisation (name, name_en, kind, path, active, "
                             "created_at) VALUES ('总部', 'HQ', 'hq', '', true, now()) RETURNING id")
    await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE id = $1", hq)
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT '办事处' || g, 'office ' || g, 'office', $1, '', true, now() "
        "FROM generate_series(1, $2) g", hq, OFFICES)
    await conn.execute("UPDATE organisation SET path = $1 || id::text || '.' WHERE kind = 'office'",
                       f"{hq}.")
    user = await conn.fetchval(
        "INSERT INTO portal_user (username, display_name, email, password_hash, organisation, "
        "roles, locale, active, created_at) VALUES ('bench', 'bench', '', 'x', $1, "
        "ARRAY['hq_cs'], 'zh_CN', true, now()) RETURNING id", hq)
    category = await conn.fetchval(
        "INSERT INTO product_category (code, name_zh, name_en, warranty_months, is_cfl) "
        "VALUES ('cfl', '节能灯', 'CFL', 12, true) RETURNING id")
    await conn.execute(
        "INSERT INTO product (model, spec, name_zh, name_en, category, active) "
        "SELECT 'CFL-' || g, '', '节能灯', 'CFL', $1, true FROM generate_series(1, $2) g",
        category, PRODUCTS)
    batches = max(LINES // PER_BATCH, 2)
    await conn.execute(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
        "created_at, submitted_at) SELECT 'RB' || lpad(g::text, 12, '0'), "
        "(SELECT min(id) FROM organisation WHERE kind = 'office') + g % $2, "
        "DATE '2000-01-01' + ((g / $2) || ' months')::interval, 'regular', 'dispositioned', $3, now() - (g || ' minutes')::interval, "
        "now() - (g || ' minutes')::interval FROM generate_series(1, $1) g",
        batches, OFFICES, user)
    first_product = await conn.fetchval("SELECT min(id) FROM product")
    for start in range(0, batches, 20000):  # in slices: one statement each
        await conn.execute(
            "INSERT INTO return_line (batch, line_no, product, quantity, date_code, reason_text, "
            "decision_note, lights, tube_greyed, bridge_blackened, broken, extra) "
            "SELECT b.id, n, $3 + (b.id * 7 + n * 13) % $4, 1, "
            "DATE '2024-01-01' + (((b.id + n) % $5) || ' months')::interval, '', '', false, "
            "false, false, false, false FROM return_batch b, generate_series(1, $6) n "
            "WHERE b.id > $1 AND b.id <= $2", start, start + 20000, first_product, PRODUCTS,
            MONTHS, PER_BATCH)
    await conn.execute("ANALYZE return_line; ANALYZE return_batch")


_SEQUENCE = iter(range(1000))


async def batch_of(conn, lines: int) -> int:
    """A new batch at head office (received) whose lines repeat earlier claims."""
    office = await conn.fetchval("SELECT min(id) FROM organisation WHERE kind = 'office'")
    user = await conn.fetchval("SELECT id FROM portal_user LIMIT 1")
    batch = await conn.fetchval(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
        "created_at, submitted_at) VALUES ('NEW' || $1::text || '-' || (random() * 1e9)::int, "
        "$2, DATE '2100-01-01' + ($4 || ' months')::interval, 'regular', 'received', $3, now(), "
        "now()) RETURNING id", str(lines), office, user, str(next(_SEQUENCE)))
    await conn.execute(
        "INSERT INTO return_line (batch, line_no, product, quantity, date_code, reason_text, "
        "decision_note, lights, tube_greyed, bridge_blackened, broken, extra) "
        "SELECT $1, n, (SELECT min(id) FROM product) + n % $3, 1, "
        "DATE '2024-01-01' + ((n % $4) || ' months')::interval, '', '', false, false, false, "
        "false, false FROM generate_series(1, $2) n", batch, lines, PRODUCTS, MONTHS)
    return batch


async def main() -> None:
    conn = await asyncpg.connect(engine().config["dsn"])
    await engine().start_connection_pool(min_size=1, max_size=4)
    try:
        print(f"loading {LINES:,} return lines ...", flush=True)
        await setup(conn)
        target = await batch_of(conn, PER_BATCH)

        async def clear() -> None:
            await conn.execute("DELETE FROM goods_repeat_flag")

        async def raw(_) -> None:  # the same unit of work: one transaction, one statement
            async with conn.transaction():
                await conn.execute(RAW, target)

        pair = await compare(lambda _: repeats.flag_batches([target]), raw, setup=clear)
        counts = []
        for size in (10, 500):
            batch = await batch_of(conn, size)
            with count_queries() as counter:
                await repeats.flag_batches([batch])
            counts.append(counter.count)
        flagged = await conn.fetchval("SELECT count(*) FROM goods_repeat_flag")
        report_pair(f"flag one batch of {PER_BATCH} lines among {LINES:,}", pair,
                    f"{counts[0]} at 10 lines, {counts[1]} at 500 (flagged {flagged})")
    finally:
        await conn.close()
        await engine().close_connection_pool()


if __name__ == "__main__":
    run(main)
