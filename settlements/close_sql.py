"""The set-based statements of a period close (R13, R26), one per kind of line.

Each `*_SOURCE` selects the items of one kind still in no statement, for every dealer at once,
as (dealer, kind, source_type, source_id, amount_fen, description, repair_point). `STEP` wraps a
source: it creates the missing draft statements of the month for the dealers concerned and
inserts the lines into the month's draft statements. A dealer whose statement of the month is
no longer a draft gets nothing now: its items stay unattached and go to the next period.

Parameters: $1 the period (first of month), $2 the actor's user id, $3 now; the sources that
need them also use $4 the end of the period (an instant, exclusive) and $5 today (China date).
"""
from __future__ import annotations

STEP = """
WITH src AS ({source}),
made AS (
    INSERT INTO statement (dealer, period, status, total_fen, prepared_by, created_at)
    SELECT DISTINCT dealer, $1::date, 'draft', 0, $2::int, $3::timestamptz FROM src
    ORDER BY dealer  -- new statements numbered in the dealers' order, the same at every run
    ON CONFLICT (dealer, period) DO NOTHING
    RETURNING id, dealer),
open AS (
    SELECT id, dealer FROM made
    UNION ALL SELECT id, dealer FROM statement WHERE period = $1::date AND status = 'draft')
INSERT INTO statement_line (statement, kind, source_type, source_id, amount_fen, description,
                            repair_point)
SELECT open.id, src.kind, src.source_type, src.source_id, src.amount_fen,
       left(src.description, 200), src.repair_point
FROM src JOIN open ON open.dealer = src.dealer
"""


def _unattached(source_type: str, source_id: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = '{source_type}' "
            f"AND x.source_id = {source_id})")


# Rebate: the tiered rate of the policy in force for the volume's own month (none: 0 %),
# on the whole amount, rounded half up to the fen (the one rounding rule, rules.round_half_up).
# This statement is where production computes the rebate; settlements.rules.rebate_exact and
# round_half_up are its written-out spec, and tests/settlements/test_rebate_sql.py runs this
# very statement over random tier tables and volumes and asserts it equals them. Change both
# together, or that test fails.
REBATE_SOURCE = f"""
SELECT v.dealer, 'rebate' AS kind, 'purchase_volume' AS source_type, v.id::text AS source_id,
       floor(v.amount_fen * coalesce(rate.bp, 0) / 10000.0 + 0.5)::bigint AS amount_fen,
       'rebate ' || to_char(coalesce(rate.bp, 0) / 100.0, 'FM990.00') || '% of '
           || to_char(v.period, 'YYYY-MM') || ' purchases ' || v.amount_fen::text AS description,
       NULL::int AS repair_point
FROM purchase_volume v
LEFT JOIN LATERAL (
    SELECT (SELECT (t->>'rate_bp')::int FROM jsonb_array_elements(p.tiers) t
            WHERE (t->>'from_fen')::bigint <= v.amount_fen
            ORDER BY (t->>'from_fen')::bigint DESC LIMIT 1) AS bp
    FROM rebate_policy p WHERE p.effective_from <= v.period
    ORDER BY p.effective_from DESC LIMIT 1) rate ON true
WHERE v.period <= $1::date AND {_unattached('purchase_volume', 'v.id::text')}
"""

# R24: the decided fee of each approved point for this month, paid to the store that runs it
# (or its office); the line names the point, so the point sees its own fee lines.
FEE_SOURCE = f"""
SELECT coalesce(a.owner_store, a.office) AS dealer, 'repair_fee' AS kind,
       'repair_fee' AS source_type,
       a.repair_point::text || '-' || to_char($1::date, 'YYYY-MM') AS source_id,
       fee.amount_fen, 'repair fee ' || o.name AS description, a.repair_point
FROM repair_point_application a
JOIN organisation o ON o.id = a.repair_point AND o.active
CROSS JOIN LATERAL (SELECT f.amount_fen FROM repair_fee f WHERE f.repair_point = a.repair_point
                    AND f.status = 'approved' AND f.effective_from <= $1::date
                    ORDER BY f.effective_from DESC, f.id DESC LIMIT 1) fee
WHERE a.status = 'approved' AND fee.amount_fen > 0
  AND {_unattached('repair_fee', "a.repair_point::text || '-' || to_char($1::date, 'YYYY-MM')")}
"""

# R13: credited quantities of product lines per decided batch, each with the product's credit
# price in force on the China date of the decision. A product that had no price at all on that
# day takes its first price once one is in force (prices are never back-dated, so a batch
# decided before HQ priced a product would otherwise wait forever). Spare-part lines are
# replaced old-for-new (R23), never credited. {ends} and {today} are parameter numbers.
# Price periods are joined once (lead() over credit_price), not looked up per (batch, product):
# the correlated form cost 2.8x the raw pipeline at 1M lines (bench/close_period.py).
CREDIT_ITEMS = """
SELECT b.id AS batch, b.number, b.organisation AS dealer, b.decided_at, q.product, q.qty,
       coalesce(p.price_fen, f.price_fen) AS price_fen
FROM return_batch b
JOIN (SELECT l.batch, l.product, sum(l.credited_qty)::bigint AS qty FROM return_line l
      WHERE l.product IS NOT NULL AND l.credited_qty > 0 GROUP BY l.batch, l.product) q
  ON q.batch = b.id
LEFT JOIN (SELECT product, price_fen, effective_from,
                  lead(effective_from, 1, 'infinity') OVER (PARTITION BY product
                                                           ORDER BY effective_from) AS until
           FROM credit_price) p
  ON p.product = q.product
 AND (b.decided_at AT TIME ZONE 'Asia/Shanghai')::date >= p.effective_from
 AND (b.decided_at AT TIME ZONE 'Asia/Shanghai')::date < p.until
LEFT JOIN (SELECT DISTINCT ON (product) product, price_fen, effective_from FROM credit_price
           ORDER BY product, effective_from) f
  ON f.product = q.product AND f.effective_from <= ${today}::date
WHERE b.status IN ('dispositioned', 'closed') AND b.decided_at < ${ends}::timestamptz
  AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = 'return_credit'
                  AND x.source_id = b.id::text)
"""

# One line per batch, and only once every credited product of it has a price (no half credit).
CREDIT_SOURCE = f"""
SELECT i.dealer, 'credit' AS kind, 'return_credit' AS source_type, i.batch::text AS source_id,
       sum(i.qty * i.price_fen)::bigint AS amount_fen, 'credit ' || i.number AS description,
       NULL::int AS repair_point
FROM ({CREDIT_ITEMS.format(ends=4, today=5)}) i
GROUP BY i.dealer, i.batch, i.number
HAVING bool_and(i.price_fen IS NOT NULL)
"""



def _waiting(ends: int, today: int) -> str:
    """Decided batches that wait for a credit price: finance sees them, nothing is lost."""
    return f"""
SELECT i.batch, i.number, i.dealer, o.name AS dealer_name, i.decided_at,
       array_agg(p.model ORDER BY p.model) FILTER (WHERE i.price_fen IS NULL) AS unpriced_models
FROM ({CREDIT_ITEMS.format(ends=ends, today=today)}) i
JOIN organisation o ON o.id = i.dealer
JOIN product p ON p.id = i.product
GROUP BY i.batch, i.number, i.dealer, o.name, i.decided_at
HAVING NOT bool_and(i.price_fen IS NOT NULL)
ORDER BY i.decided_at, i.batch
"""


CREDITS_WAITING = _waiting(1, 2)  # $1 the end of the period (exclusive), $2 today

# R11: freight the company bears, reimbursed once the goods were received.
FREIGHT_SOURCE = f"""
SELECT b.organisation AS dealer, 'freight' AS kind, 'return_batch' AS source_type,
       b.id::text AS source_id, b.freight_fen AS amount_fen, 'freight ' || b.number AS description,
       NULL::int AS repair_point
FROM return_batch b
WHERE b.company_bears_freight AND b.freight_fen > 0 AND b.received_at < $4::timestamptz
  AND {_unattached('return_batch', 'b.id::text')}
"""

# R26: approved corrections and charges (decided before the period ended).
ADJUSTMENT_SOURCE = f"""
SELECT a.dealer, a.kind, 'adjustment' AS source_type, a.id::text AS source_id, a.amount_fen,
       a.kind || ': ' || a.reason AS description, NULL::int AS repair_point
FROM adjustment a
WHERE a.status = 'approved' AND a.decided_at < $4::timestamptz
  AND {_unattached('adjustment', 'a.id::text')}
"""

# A negative total of an earlier approved statement (the dealer owed HQ) is brought forward
# once, into the dealer's next draft statement.
CARRY_SOURCE = f"""
SELECT s.dealer, 'carry' AS kind, 'statement_carry' AS source_type, s.id::text AS source_id,
       s.total_fen AS amount_fen, 'carried from ' || to_char(s.period, 'YYYY-MM') AS description,
       NULL::int AS repair_point
FROM statement s
WHERE s.period < $1::date AND s.status IN ('approved', 'paid') AND s.total_fen < 0
  AND {_unattached('statement_carry', 's.id::text')}
"""

# (name, SQL, how many parameters) in the order the close runs them.
STEPS = [
    ("rebates", STEP.format(source=REBATE_SOURCE), 3),
    ("repair_fees", STEP.format(source=FEE_SOURCE), 3),
    ("credits", STEP.format(source=CREDIT_SOURCE), 5),
    ("freight", STEP.format(source=FREIGHT_SOURCE), 4),
    ("adjustments", STEP.format(source=ADJUSTMENT_SOURCE), 4),
    ("carries", STEP.format(source=CARRY_SOURCE), 3),
]


def register_source(name: str, source: str, params: int) -> None:
    """A kind of statement line owed to a package above settlements (layering: settlements
    imports none of them), e.g. goods' return freight of rejected goods. The composition root
    (portal/app.py) registers it, as it registers the home pages' queues. `source` selects the
    same columns as the sources above, each item once (its own `NOT EXISTS` on
    statement_line, and the unique (source_type, source_id) behind it); it runs with the
    others, before the carries. Registering a name twice changes nothing."""
    if any(step[0] == name for step in STEPS):
        return
    STEPS.insert(len(STEPS) - 1, (name, STEP.format(source=source), params))

# Draft statements of the month are locked for the whole close, so an approval waits for the
# close to commit instead of approving a statement whose lines are still being added.
LOCK_DRAFTS = """
WITH locked AS (SELECT id FROM statement WHERE period = $1 AND status = 'draft' FOR UPDATE)
SELECT (SELECT count(*) FROM locked) AS drafts,
       (SELECT coalesce(max(id), 0) FROM statement_line) AS mark
"""

# Totals of the month's drafts. A draft that gained lines in this run was prepared (also) by
# this actor, who may then not approve it (R26); new repair-fee lines need CS's review again.
TOTALS = """
UPDATE statement s SET
    total_fen = t.total,
    prepared_by = CASE WHEN t.new_lines THEN $2 ELSE s.prepared_by END,
    fees_reviewed_by = CASE WHEN t.new_fees THEN NULL ELSE s.fees_reviewed_by END,
    fees_reviewed_at = CASE WHEN t.new_fees THEN NULL ELSE s.fees_reviewed_at END
FROM (SELECT l.statement, sum(l.amount_fen) AS total, bool_or(l.id > $3) AS new_lines,
             bool_or(l.id > $3 AND l.kind = 'repair_fee') AS new_fees
      FROM statement_line l JOIN statement d ON d.id = l.statement
      WHERE d.period = $1 AND d.status = 'draft' GROUP BY l.statement) t
WHERE s.id = t.statement
"""

SUMMARY = f"""
SELECT (SELECT count(*) FROM statement WHERE period = $1 AND status = 'draft') AS drafts,
       (SELECT coalesce(array_agg(w.batch), '{{}}') FROM ({_waiting(2, 3)}) w) AS waiting
"""
