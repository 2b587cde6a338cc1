"""Filing a return batch (issue 3): adding 2,000 lines through `batch_lines.add_lines` against a
raw-SQL baseline doing the same validation lookups and one executemany INSERT, in the same run
on the same database; query counts at 10, 200 and 2,000 lines.
Run: .venv/bin/python bench/filing_batch.py"""
from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import report, run, start_database, timed  # noqa: E402

start_database()

import asyncpg  # noqa: E402

from dealers import batch_lines, batches  # noqa: E402
from portal import auth, clock  # noqa: E402
from portal.db import count_queries, engine  # noqa: E402

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=CHINA)


async def setup(conn) -> tuple[int, list[int], int]:
    hq = await conn.fetchval("INSERT INTO organisation (name, name_en, kind, path, active, created_at) "
                             "VALUES ('总部', 'HQ', 'hq', '', true, now()) RETURNING id")
    await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE id = $1", hq)
    region = await conn.fetchval("SELECT id FROM region WHERE code = 'CN-JS'")
    office = await conn.fetchval(
        "INSERT INTO organisation (name, name_en, kind, parent, region, path, active, created_at) "
        "VALUES ('江苏办事处', 'Jiangsu', 'office', $1, $2, '', true, now()) RETURNING id", hq, region)
    await conn.execute("UPDATE organisation SET path = $2 || id::text || '.' WHERE id = $1",
                       office, f"{hq}.")
    category = await conn.fetchval(
        "INSERT INTO product_category (code, name_zh, name_en, warranty_months, is_cfl) "
        "VALUES ('cfl', '节能灯', 'CFL', 12, true) RETURNING id")
    products = [r["id"] for r in await conn.fetch(
        "INSERT INTO product (model, spec, name_zh, name_en, category, active) "
        "SELECT 'CFL-' || g, '', '节能灯', 'CFL', $1, true FROM generate_series(1, 40) g "
        "RETURNING id", category)]
    clerk = await conn.fetchval(
        "INSERT INTO portal_user (username, display_name, email, password_hash, organisation, roles, "
        "locale, active, created_at) VALUES ('clerk', 'clerk', '', $1, $2, ARRAY['dealer_clerk'], "
        "'zh_CN', true, now()) RETURNING id", auth.hash_password("bench-password"), office)
    reason = await conn.fetchval("SELECT id FROM reason_code WHERE code = 'NO_LIGHT'")
    return clerk, products, reason


def make_lines(products: list[int], reason: int, n: int) -> list[batch_lines.LineInput]:
    return [batch_lines.LineInput(product_id=products[i % len(products)], quantity=1 + i % 20,
                              reason_id=reason, date_code=date(2026, 3, 1), cap_percent=90)
            for i in range(n)]


async def main() -> None:
    conn = await asyncpg.connect(engine().config["dsn"])
    await engine().start_connection_pool(min_size=1, max_size=4)
    clerk_id, products, reason = await setup(conn)
    actor = await auth.load_actor(clerk_id)
    with clock.frozen(NOW):
        async def fresh() -> int:
            await conn.execute("DELETE FROM return_line")
            await conn.execute("UPDATE return_batch SET status = 'withdrawn' WHERE status = 'draft'")
            return await batches.create_draft(actor=actor)

        for n in (10, 200, 2000):
            batch_id = await fresh()
            with count_queries() as counter:
                await batch_lines.add_lines(actor=actor, batch_id=batch_id,
                                        lines=make_lines(products, reason, n))
            print(f"add_lines({n:>5} lines): {counter.count} queries", flush=True)

        lines = make_lines(products, reason, 2000)
        holder: dict[str, int] = {}

        async def service():
            await batch_lines.add_lines(actor=actor, batch_id=holder["batch"], lines=lines)

        async def raw():
            batch = holder["batch"]
            async with conn.transaction():
                await conn.fetch("SELECT p.id, c.warranty_months, c.is_cfl FROM product p JOIN "
                                 "product_category c ON c.id = p.category WHERE p.id = ANY($1::int[])",
                                 products)
                await conn.fetch("SELECT id FROM reason_code WHERE kind = 'defect' AND active")
                await conn.fetchrow("SELECT * FROM return_batch WHERE id = $1 FOR UPDATE", batch)
                await conn.executemany(
                    "INSERT INTO return_line (batch, line_no, product, quantity, reason, reason_text, "
                    "date_code, purchase_date, lights, cap_percent, tube_greyed, bridge_blackened, "
                    "broken, extra, decision_note) VALUES ($1, $2, $3, $4, $5, '', $6, NULL, false, "
                    "90, false, false, false, false, '')",
                    [(batch, i + 1, l.product_id, l.quantity, reason, l.date_code)
                     for i, l in enumerate(lines)])

        async def raw_unnest():
            """The same single-statement technique the service uses, written by hand."""
            batch = holder["batch"]
            async with conn.transaction():
                await conn.fetch("SELECT p.id, c.warranty_months, c.is_cfl FROM product p JOIN "
                                 "product_category c ON c.id = p.category WHERE p.id = ANY($1::int[])",
                                 products)
                await conn.fetchrow("SELECT * FROM return_batch WHERE id = $1 FOR UPDATE", batch)
                await conn.execute(
                    "INSERT INTO return_line (batch, line_no, product, quantity, reason, reason_text, "
                    "date_code, lights, cap_percent, tube_greyed, bridge_blackened, broken, extra, "
                    "decision_note) SELECT $1, t.ord, t.p, t.q, $2, '', t.d, false, 90, false, false, "
                    "false, false, '' FROM unnest($3::int[], $4::int[], $5::date[]) "
                    "WITH ORDINALITY AS t(p, q, d, ord)",
                    batch, reason, [l.product_id for l in lines], [l.quantity for l in lines],
                    [l.date_code for l in lines])

        times: dict[str, list[float]] = {"service": [], "raw": [], "raw_unnest": []}
        for _ in range(5):
            for name, fn in (("service", service), ("raw", raw), ("raw_unnest", raw_unnest)):
                holder["batch"] = await fresh()
                times[name].append(await timed(fn, 1))
        median = {name: sorted(values)[2] for name, values in times.items()}
        report("file 2,000 lines vs raw executemany", median["service"], median["raw"], 3)
        report("file 2,000 lines vs raw single INSERT", median["service"], median["raw_unnest"], 3)
    await conn.close()
    await engine().close_connection_pool()


if __name__ == "__main__":
    run(main)
