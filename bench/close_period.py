"""Closing a month (issue 5, R26): 5,000 repair points and 2,000 dealers over 1,000,000 return
lines, through settlements' close_period against a hand-written raw-SQL pipeline that makes the
same statements and lines (rebate, repair fee, credit, freight, adjustments, carry) in one
transaction, timed in the same run on the same database. Also the service's query count at a
tenth of the dealers and at all of them (flat = no per-dealer work).

Between repetitions November's statements and lines are deleted (statement refuses DELETE by a
trigger, so the reset runs with session_replication_role = replica, which skips row triggers;
TRUNCATE cannot be used because October's approved statements, whose negative totals November
carries, must stay, and adjustment/payout reference statement).

Run: .venv/bin/python bench/close_period.py [--small] [--repeat 5] [--profile] [--explain]
(about 30 s on 2 cores; --small: 200 dealers, 500 points, 100,000 lines)"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import report, run, start_database  # noqa: E402

start_database()

import asyncpg  # noqa: E402

from bench import close_period_data as data  # noqa: E402
from portal import auth, clock  # noqa: E402
from portal.db import count_queries, engine  # noqa: E402
from settlements.close import close_period  # noqa: E402

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PERIOD = date(2026, 11, 1)
ENDS_AT = datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))

# The baseline: every line owed, then statements (total included) and their lines, in one
# statement; a source already in any statement is skipped, an approved statement is left alone.
RAW = """
WITH prices AS (
    SELECT product, price_fen, effective_from,
           lead(effective_from, 1, 'infinity') OVER (PARTITION BY product
                                                     ORDER BY effective_from) AS until
    FROM credit_price),
policy AS (SELECT tiers FROM rebate_policy WHERE effective_from <= $1
           ORDER BY effective_from DESC LIMIT 1),
credits AS (
    SELECT b.id, b.organisation, b.number, sum(l.qty * p.price_fen)::bigint AS amount
    FROM return_batch b
    JOIN (SELECT batch, product, sum(credited_qty) AS qty FROM return_line
          WHERE credited_qty > 0 GROUP BY batch, product) l ON l.batch = b.id
    JOIN prices p ON p.product = l.product
     AND (b.decided_at AT TIME ZONE 'Asia/Shanghai')::date >= p.effective_from
     AND (b.decided_at AT TIME ZONE 'Asia/Shanghai')::date < p.until
    WHERE b.status IN ('dispositioned', 'closed') AND b.decided_at < $2
      AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = 'return_credit'
                      AND x.source_id = b.id::text)
    GROUP BY b.id),
owed AS (
    SELECT v.dealer, 'rebate' AS kind, 'purchase_volume' AS source_type, v.id::text AS source_id,
           floor(v.amount_fen * r.bp / 10000.0 + 0.5)::bigint AS amount_fen,
           'rebate ' || (r.bp / 100.0)::text || '% of ' || v.amount_fen::text AS description,
           NULL::int AS repair_point
    FROM purchase_volume v CROSS JOIN policy p
    CROSS JOIN LATERAL (SELECT coalesce((SELECT (t->>'rate_bp')::int
                                         FROM jsonb_array_elements(p.tiers) t
                                         WHERE (t->>'from_fen')::bigint <= v.amount_fen
                                         ORDER BY (t->>'from_fen')::bigint DESC LIMIT 1), 0) AS bp) r
    WHERE v.period <= $1
      AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = 'purchase_volume'
                      AND x.source_id = v.id::text)
    UNION ALL
    SELECT coalesce(a.owner_store, a.office), 'repair_fee', 'repair_fee',
           a.repair_point::text || '-' || to_char($1::date, 'YYYY-MM'), f.amount_fen,
           'repair fee ' || o.name, a.repair_point
    FROM repair_point_application a
    JOIN organisation o ON o.id = a.repair_point AND o.active
    CROSS JOIN LATERAL (SELECT amount_fen FROM repair_fee f WHERE f.repair_point = a.repair_point
                        AND f.status = 'approved' AND f.effective_from <= $1
                        ORDER BY f.effective_from DESC, f.id DESC LIMIT 1) f
    WHERE a.status = 'approved' AND f.amount_fen > 0
      AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = 'repair_fee'
                      AND x.source_id = a.repair_point::text || '-' || to_char($1::date, 'YYYY-MM'))
    UNION ALL
    SELECT organisation, 'credit', 'return_credit', id::text, amount, 'credit ' || number, NULL
    FROM credits WHERE amount > 0
    UNION ALL
    SELECT b.organisation, 'freight', 'return_batch', b.id::text, b.freight_fen,
           'freight ' || b.number, NULL
    FROM return_batch b
    WHERE b.company_bears_freight AND b.freight_fen > 0 AND b.received_at < $2
      AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = 'return_batch'
                      AND x.source_id = b.id::text)
    UNION ALL
    SELECT a.dealer, a.kind, 'adjustment', a.id::text, a.amount_fen, left(a.reason, 200), NULL
    FROM adjustment a WHERE a.status = 'approved' AND a.decided_at < $2
      AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = 'adjustment'
                      AND x.source_id = a.id::text)
    UNION ALL
    SELECT s.dealer, 'carry', 'statement_carry', s.id::text, s.total_fen,
           'carried from ' || to_char(s.period, 'YYYY-MM'), NULL
    FROM statement s WHERE s.period < $1 AND s.status IN ('approved', 'paid') AND s.total_fen < 0
      AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = 'statement_carry'
                      AND x.source_id = s.id::text)),
made AS (
    INSERT INTO statement (dealer, period, status, total_fen, prepared_by, created_at)
    SELECT dealer, $1, 'draft', sum(amount_fen), $3, $4 FROM owed GROUP BY dealer
    ON CONFLICT (dealer, period) DO UPDATE SET total_fen = statement.total_fen + EXCLUDED.total_fen
    WHERE statement.status = 'draft'
    RETURNING id, dealer)
INSERT INTO statement_line (statement, kind, source_type, source_id, amount_fen, description,
                            repair_point)
SELECT made.id, o.kind, o.source_type, o.source_id, o.amount_fen, o.description, o.repair_point
FROM owed o JOIN made USING (dealer)
"""

# What both runs must agree on (descriptions are wording, left out).
FINGERPRINT = """
SELECT count(DISTINCT s.id) AS statements, count(l.id) AS lines,
       coalesce(sum(l.amount_fen), 0) AS total, md5(string_agg(
         concat_ws('|', s.dealer, s.total_fen, l.kind, l.source_type, l.source_id, l.amount_fen,
                   l.repair_point), ',' ORDER BY l.source_type, l.source_id)) AS digest
FROM statement s LEFT JOIN statement_line l ON l.statement = s.id WHERE s.period = $1
"""
BY_KIND = """SELECT l.kind, count(*) AS n, sum(l.amount_fen) AS fen FROM statement_line l
JOIN statement s ON s.id = l.statement WHERE s.period = $1 GROUP BY l.kind ORDER BY l.kind"""


async def raw_close(conn, user_id: int) -> int:
    async with conn.transaction():
        await conn.execute(RAW, PERIOD, ENDS_AT, user_id, clock.now())
        count = await conn.fetchval("SELECT count(*) FROM statement WHERE period = $1 "
                                    "AND status = 'draft'", PERIOD)
        await conn.execute(
            "INSERT INTO audit_entry (at, actor, object_type, object_id, action, to_state, reason, "
            "request_id) VALUES ($1, $2, 'period', $3, 'closed', $4::jsonb, '', '')",
            clock.now(), user_id, PERIOD.isoformat(), f'{{"draft_statements": {count}}}')
    return count


async def reset(conn) -> None:
    """Forget November's statements (see the module docstring for why not TRUNCATE)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("DELETE FROM statement_line USING statement s WHERE s.id = "
                           "statement_line.statement AND s.period = $1", PERIOD)
        await conn.execute("DELETE FROM statement WHERE period = $1", PERIOD)
        await conn.execute("DELETE FROM period_close WHERE period = $1", PERIOD)
    await conn.execute("VACUUM ANALYZE statement, statement_line")


async def service_close(actor) -> int:
    return await close_period(actor=actor, period=PERIOD)


def profile_service(calls: list) -> dict:
    """Time each SQL statement the service runs (wraps raw_fetch in the settlements modules);
    `calls` receives each (sql, args) in order."""
    import settlements

    times: dict[str, list[float]] = {}
    for name in ("close", "service", "close_lines", "close_sql"):
        module = sys.modules.get(f"settlements.{name}") or getattr(settlements, name, None)
        if module is None or not hasattr(module, "raw_fetch"):
            continue
        original = module.raw_fetch

        async def timed_fetch(sql, *args, _original=original):
            calls.append((sql, args))
            start = time.perf_counter()
            try:
                return await _original(sql, *args)
            finally:
                key = " ".join(sql.split())
                times.setdefault(key, []).append(time.perf_counter() - start)

        module.raw_fetch = timed_fetch
    return times


async def explain_slowest(conn, actor, calls: list, times: dict) -> None:
    """EXPLAIN ANALYZE the service's slowest statement, after replaying the ones before it in
    the same transaction (rolled back), so it sees what it sees in a real close."""
    await reset(conn)
    calls.clear()
    await service_close(actor)
    await reset(conn)
    slowest = max(times, key=lambda k: statistics.median(times[k]))
    transaction = conn.transaction()
    await transaction.start()
    try:
        for sql, params in calls:
            if " ".join(sql.split()) == slowest:
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
                print("\n".join(r[0] for r in plan))
                break
            await conn.execute(sql, *params)
    finally:
        await transaction.rollback()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="200 dealers, 100,000 lines")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="time each service statement")
    parser.add_argument("--explain", action="store_true",
                        help="with --profile: EXPLAIN ANALYZE the slowest one")
    args = parser.parse_args()
    dealers = 200 if args.small else 2000
    lines_per_batch = 500  # 2,000 dealers x one batch a month x 500 lines = 1,000,000 lines
    conn = await asyncpg.connect(engine().config["dsn"])
    await engine().start_connection_pool(min_size=1, max_size=4)
    ref = await data.seed_reference(conn)
    actor = await auth.load_actor(ref["users"]["finance"])
    counts = {}
    with clock.frozen(NOW):
        for n in (dealers // 10, dealers):
            started = time.perf_counter()
            await data.grow(conn, ref, n, lines_per_batch)
            print(f"data for {n:,} dealers in {time.perf_counter() - started:.1f} s", flush=True)
            await reset(conn)
            with count_queries() as counter:
                await service_close(actor)
            counts[n] = counter.count
        sizes = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM organisation WHERE kind = 'office') AS dealers, "
            "(SELECT count(*) FROM organisation WHERE kind = 'repair_point') AS points, "
            "(SELECT count(*) FROM return_line) AS lines")
        service_fp = await conn.fetchrow(FINGERPRINT, PERIOD)
        service_kinds = await conn.fetch(BY_KIND, PERIOD)
        await reset(conn)
        await raw_close(conn, ref["users"]["finance"])
        raw_fp = await conn.fetchrow(FINGERPRINT, PERIOD)
        raw_kinds = await conn.fetch(BY_KIND, PERIOD)
        calls: list = []
        times = profile_service(calls) if args.profile or args.explain else {}
        samples: dict[str, list[float]] = {"service": [], "raw": []}
        for _ in range(args.repeat):  # alternate, so both see the same cache and bloat
            for name, fn in (("service", lambda: service_close(actor)),
                             ("raw", lambda: raw_close(conn, ref["users"]["finance"]))):
                await reset(conn)
                started = time.perf_counter()
                await fn()
                samples[name].append(time.perf_counter() - started)
        if args.explain:
            await explain_slowest(conn, actor, calls, times)
    await conn.close()
    await engine().close_connection_pool()
    _print(args, sizes, counts, service_fp, raw_fp, service_kinds, raw_kinds, samples, times)


def _print(args, sizes, counts, service_fp, raw_fp, service_kinds, raw_kinds, samples, times):
    print(f"\n{sizes['dealers']:,} dealers, {sizes['points']:,} repair points, "
          f"{sizes['lines']:,} return lines; median of {args.repeat}")
    same = dict(service_fp) == dict(raw_fp)
    print(f"same statements and lines as raw: {'yes' if same else 'NO'} "
          f"({service_fp['statements']:,} statements, {service_fp['lines']:,} lines)")
    if not same:
        print("  service by kind:", [tuple(r) for r in service_kinds])
        print("  raw by kind:    ", [tuple(r) for r in raw_kinds])
    service, raw = statistics.median(samples["service"]), statistics.median(samples["raw"])
    low, high = sorted(counts)
    queries = f"{counts[low]} at {low:,} dealers, {counts[high]} at {high:,}"
    report("close a month", service, raw, queries)
    for key, spent in sorted(times.items(), key=lambda kv: -sum(kv[1]))[:8]:
        print(f"  {statistics.median(spent) * 1000:8.1f} ms  {key[:60]} … {key[150:210]}")
    print("\n| scenario | service | raw SQL | ratio | queries |\n|---|---|---|---|---|")
    print(f"| close a month (`bench/close_period.py`): {sizes['dealers']:,} dealers, "
          f"{sizes['points']:,} repair points, {sizes['lines']:,} return lines → "
          f"{service_fp['statements']:,} statements, {service_fp['lines']:,} lines (rebate, repair "
          f"fee, credit, freight, adjustment, carry) | {service * 1000:,.0f} ms | "
          f"{raw * 1000:,.0f} ms | {service / raw:.2f}× | {queries} |")


if __name__ == "__main__":
    run(main)
