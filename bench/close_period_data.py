"""Generated data for bench/close_period.py: dealers, their repair points with approved fees,
purchase volumes, a rebate policy, credit prices, one decided return batch per dealer with its
lines (credited quantities, freight), adjustments, and October statements that carry a negative
total. Everything is set-based (generate_series) and grows incrementally: grow(conn, 200) then
grow(conn, 2000) adds the other 1,800 dealers."""
from __future__ import annotations

PERIOD = "2026-11-01"  # the month being closed
PRODUCTS = 50


async def seed_reference(conn) -> dict:
    """HQ, the finance users, products with credit prices, a rebate policy."""
    hq = await conn.fetchval("INSERT INTO organisation (name, name_en, kind, path, active, created_at) "
                             "VALUES ('总部', 'HQ', 'hq', '', true, now()) RETURNING id")
    await conn.execute("UPDATE organisation SET path = id::text || '.' WHERE id = $1", hq)
    users = {}
    for name, roles in (("finance", ["hq_finance"]), ("finance2", ["hq_finance"]),
                        ("cs", ["hq_cs"]), ("admin", ["hq_admin"])):
        users[name] = await conn.fetchval(
            "INSERT INTO portal_user (username, display_name, email, password_hash, organisation, "
            "roles, locale, active, created_at) VALUES ($1, $1, '', 'x', $2, $3, 'zh_CN', true, "
            "now()) RETURNING id", name, hq, roles)
    category = await conn.fetchval(
        "INSERT INTO product_category (code, name_zh, name_en, warranty_months, is_cfl) "
        "VALUES ('cfl', '节能灯', 'CFL', 12, true) RETURNING id")
    await conn.execute(
        "INSERT INTO product (model, spec, name_zh, name_en, category, active) "
        "SELECT 'CFL-' || g, '', '节能灯', 'CFL', $1, true FROM generate_series(1, $2) g",
        category, PRODUCTS)
    # R13: two prices per product; batches decided before/after 15 November get different ones
    await conn.execute(
        "INSERT INTO credit_price (product, price_fen, effective_from, reason, created_by, created_at) "
        "SELECT p.id, base + (p.id % 17) * 10, day, 'bench', $1, now() FROM product p, "
        "(VALUES (500, DATE '2026-01-01'), (640, DATE '2026-11-15')) AS v(base, day)", users["admin"])
    await conn.execute(
        "INSERT INTO rebate_policy (effective_from, tiers, reason, created_by, created_at) VALUES "
        "('2026-01-01', '[{\"from_fen\": 0, \"rate_bp\": 0}, {\"from_fen\": 10000000, \"rate_bp\": 100},"
        " {\"from_fen\": 50000000, \"rate_bp\": 250}]', 'bench', $1, now())", users["admin"])
    return {"hq": hq, "users": users}


async def grow(conn, ref: dict, dealers: int, lines_per_batch: int) -> None:
    """Add dealers up to `dealers`, with everything a month close reads."""
    have = await conn.fetchval("SELECT count(*) FROM organisation WHERE kind = 'office'")
    if dealers <= have:
        return
    hq, u = ref["hq"], ref["users"]
    last_org = await conn.fetchval("SELECT max(id) FROM organisation")
    last_batch = await conn.fetchval("SELECT coalesce(max(id), 0) FROM return_batch")
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT '经销商' || g, 'Dealer ' || g, 'office', $1, '', true, now() "
        "FROM generate_series($2::int, $3::int) g", hq, have + 1, dealers)
    await conn.execute("UPDATE organisation SET path = $1 || id::text || '.' "
                       "WHERE kind = 'office' AND path = ''", f"{hq}.")
    new_dealers = f"SELECT id, path FROM organisation WHERE kind = 'office' AND id > {last_org}"
    # 2 or 3 repair points per dealer: 5,000 for 2,000 dealers
    await conn.execute(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT '维修点' || d.id || '-' || n, 'Point', 'repair_point', d.id, d.path, true, now() "
        f"FROM ({new_dealers}) d, generate_series(1, 2 + d.id % 2) n")
    await conn.execute("UPDATE organisation SET path = path || id::text || '.' "
                       "WHERE kind = 'repair_point' AND id > $1", last_org)
    await conn.execute(
        "INSERT INTO repair_point_application (office, name, coverage_area, sales_scale, address, "
        "proposed_fee_fen, status, proposed_by, proposed_at, decided_by, decided_at, "
        "decision_reason, repair_point) SELECT parent, name, '', 'small', '', 30000, 'approved', "
        "$2, now(), $3, now(), '', id FROM organisation WHERE kind = 'repair_point' AND id > $1",
        last_org, u["finance"], u["cs"])
    await conn.execute(
        "INSERT INTO repair_fee (repair_point, amount_fen, effective_from, status, proposed_by, "
        "proposed_at, reason, decided_by, decided_at, decision_reason) "
        "SELECT id, 20000 + (id % 10) * 1000, '2026-01-01', 'approved', $2, now(), '', $3, now(), '' "
        "FROM organisation WHERE kind = 'repair_point' AND id > $1", last_org, u["finance"], u["cs"])
    await conn.execute(
        "INSERT INTO purchase_volume (period, dealer, amount_fen, imported_by, imported_at) "
        f"SELECT '{PERIOD}', id, 1000000 + (id::bigint * 1234567) % 90000000, $1, now() FROM ({new_dealers}) d",
        u["finance"])
    await _batches(conn, new_dealers, u, last_batch, lines_per_batch)
    await _adjustments_and_history(conn, new_dealers, u)
    await conn.execute("ANALYZE")


async def _batches(conn, new_dealers: str, u: dict, last_batch: int, lines: int) -> None:
    """One regular November batch per dealer: 1 in 20 still undecided, 1 in 20 decided in
    December (next period's credit), the rest decided in November on one of 29 days; freight
    borne by the company on 6 in 7."""
    await conn.execute(
        "INSERT INTO return_batch (number, organisation, month, kind, status, disposition, "
        "created_by, created_at, refused_reason, disposal_evidence, carrier, waybill, packages, "
        "freight_fen, company_bears_freight, arrived_at, received_by, received_at, decided_by, "
        "decided_at) "
        f"SELECT 'N' || d.id, d.id, '{PERIOD}', 'regular', "
        "  CASE WHEN d.id % 20 = 0 THEN 'received' ELSE 'dispositioned' END, "
        "  CASE WHEN d.id % 20 = 0 THEN NULL ELSE 'return' END, $1, now(), '', '', 'SF', 'W' || d.id, "
        "  3, CASE WHEN d.id % 7 = 0 THEN NULL ELSE 1000 + (d.id % 50) * 100 END, d.id % 7 <> 0, "
        "  day - interval '1 day', $2, day, "
        "  CASE WHEN d.id % 20 = 0 THEN NULL ELSE $2::int END, "
        "  CASE d.id % 20 WHEN 0 THEN NULL WHEN 1 THEN TIMESTAMPTZ '2026-12-02 10:00+08' "
        "       ELSE day + interval '2 hours' END "
        f"FROM ({new_dealers}) d, "
        "LATERAL (SELECT TIMESTAMPTZ '2026-11-01 09:00+08' + (d.id % 29) * interval '1 day' AS day) t",
        u["finance"], u["cs"])
    first_product = await conn.fetchval("SELECT min(id) FROM product")
    # quantity 1..20; credited half (rounded down), one line in five rejects the rest
    await conn.execute(
        "INSERT INTO return_line (batch, line_no, product, quantity, reason_text, lights, "
        "tube_greyed, bridge_blackened, broken, extra, decision_note, received_qty, "
        "exchanged_qty, credited_qty, rejected_qty) "
        "SELECT b.id, n, $2 + (b.id + n) % $4, q, '', false, false, false, false, false, '', q, "
        "  CASE WHEN decided THEN q - q / 2 - CASE WHEN n % 5 = 0 THEN q - q / 2 ELSE 0 END END, "
        "  CASE WHEN decided THEN q / 2 END, "
        "  CASE WHEN decided THEN CASE WHEN n % 5 = 0 THEN q - q / 2 ELSE 0 END END "
        "FROM return_batch b, generate_series(1, $3) n, "
        "LATERAL (SELECT 1 + n % 20 AS q, b.decided_at IS NOT NULL AS decided) x WHERE b.id > $1",
        last_batch, first_product, lines, PRODUCTS)


async def _adjustments_and_history(conn, new_dealers: str, u: dict) -> None:
    """Approved adjustments and charges (1 in 10 dealers each), requested and refused ones that
    must not appear, and 1 in 10 dealers with an approved October statement whose total is
    negative (a charge), which November carries."""
    adj = ("INSERT INTO adjustment (dealer, kind, amount_fen, reason, status, requested_by, "
           "requested_at, decided_by, decided_at, decision_reason) "
           "SELECT id, {kind}, {amount}, 'bench', {status}, $1, {at}, $2, {at}, '' "
           f"FROM ({new_dealers}) d WHERE id % 10 = {{rest}}")
    nov = "TIMESTAMPTZ '2026-11-20 10:00+08'"
    for rest, kind, amount, status in ((3, "'adjustment'", "1000 + id % 900", "'approved'"),
                                       (4, "'charge'", "-(500 + id % 400)", "'approved'"),
                                       (5, "'adjustment'", "777", "'requested'"),
                                       (6, "'adjustment'", "888", "'refused'")):
        await conn.execute(adj.format(kind=kind, amount=amount, status=status, at=nov, rest=rest),
                           u["finance"], u["finance2"])
    await conn.execute(adj.format(kind="'charge'", amount="-(80000 + id % 1000)", status="'approved'",
                                  at="TIMESTAMPTZ '2026-10-20 10:00+08'", rest=7),
                       u["finance"], u["finance2"])
    await conn.execute(
        "INSERT INTO statement (dealer, period, status, total_fen, prepared_by, created_at) "
        "SELECT dealer, '2026-10-01', 'draft', amount_fen, $1, '2026-11-02 10:00+08' FROM adjustment "
        "WHERE requested_at < '2026-11-01' AND NOT EXISTS (SELECT 1 FROM statement s "
        "WHERE s.dealer = adjustment.dealer AND s.period = '2026-10-01')", u["finance"])
    await conn.execute(
        "INSERT INTO statement_line (statement, kind, source_type, source_id, amount_fen, description) "
        "SELECT s.id, 'charge', 'adjustment', a.id::text, a.amount_fen, 'charge' FROM adjustment a "
        "JOIN statement s ON s.dealer = a.dealer AND s.period = '2026-10-01' AND s.status = 'draft' "
        "WHERE a.requested_at < '2026-11-01'")
    await conn.execute("UPDATE statement SET status = 'approved', approved_by = $1, approved_at = now() "
                       "WHERE period = '2026-10-01' AND status = 'draft'", u["finance2"])
