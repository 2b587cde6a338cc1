"""Period close (R26): one statement per dealer customer with its rebate, the repair fees of the
points it runs, and freight reimbursements, computed with set-based statements (a fixed number
of queries however many dealers). Running it twice changes nothing; items that come after a
statement is approved go to the next period."""
from __future__ import annotations

import json
from datetime import date, datetime, time

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from settlements import rules
from settlements.tables import RebatePolicy, Statement


def _finance(actor: Actor) -> None:
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")


async def set_rebate_policy(*, actor: Actor, effective_from: date, tiers: list[rules.Tier],
                            reason: str) -> None:
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    errors = rules.check_tiers(tiers)
    if effective_from.day != 1 or effective_from <= clock.china_today():
        errors["effective_from"] = "A change takes effect from the first of a future month."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if errors:
        raise ValidationFailed(errors)
    async with RebatePolicy._meta.db.transaction():
        await raw_fetch("INSERT INTO rebate_policy (effective_from, tiers, reason, created_by, "
                        "created_at) VALUES ($1, $2::jsonb, $3, $4, $5)", effective_from,
                        json.dumps([{"from_fen": t.from_fen, "rate_bp": t.rate_bp} for t in tiers]),
                        reason.strip(), actor.user_id, clock.now())
        await audit.record(actor=actor, object_type="rebate_policy",
                           object_id=effective_from.isoformat(), action="set",
                           after={"tiers": [(t.from_fen, t.rate_bp) for t in tiers]},
                           reason=reason.strip())


async def record_volume(*, actor: Actor, period: date, dealer_id: int, amount_fen: int) -> None:
    _finance(actor)
    if amount_fen < 0:
        raise ValidationFailed({"amount": "Enter the amount received, e.g. 1200.00."})
    await raw_fetch("INSERT INTO purchase_volume (period, dealer, amount_fen, imported_by, "
                    "imported_at) VALUES ($1, $2, $3, $4, $5)", period.replace(day=1), dealer_id,
                    amount_fen, actor.user_id, clock.now())


# Each kind of line is one INSERT .. SELECT over every dealer at once; only into statements still
# in draft; a source already in a statement (any period) is skipped, which makes re-runs no-ops.
_REBATES = """
INSERT INTO statement_line (statement, kind, source_type, source_id, amount_fen, description)
SELECT s.id, 'rebate', 'purchase_volume', v.id::text,
       floor(v.amount_fen * rate.bp / 10000.0 + 0.5)::bigint,
       'rebate ' || (rate.bp / 100.0)::text || '% of ' || v.amount_fen::text
FROM purchase_volume v
JOIN statement s ON s.dealer = v.dealer AND s.period = $1 AND s.status = 'draft'
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT (t->>'rate_bp')::int FROM jsonb_array_elements(p.tiers) t
                     WHERE (t->>'from_fen')::bigint <= v.amount_fen
                     ORDER BY (t->>'from_fen')::bigint DESC LIMIT 1), 0) AS bp
    FROM (SELECT tiers FROM rebate_policy WHERE effective_from <= $1
          ORDER BY effective_from DESC LIMIT 1) p) rate
WHERE v.period <= $1
  AND NOT EXISTS (SELECT 1 FROM statement_line l WHERE l.source_type = 'purchase_volume'
                  AND l.source_id = v.id::text)
"""
_FEES = """
INSERT INTO statement_line (statement, kind, source_type, source_id, amount_fen, description)
SELECT s.id, 'repair_fee', 'repair_fee', a.repair_point::text || '-' || to_char($1::date, 'YYYY-MM'),
       fee.amount_fen, 'repair fee ' || o.name
FROM repair_point_application a
JOIN organisation o ON o.id = a.repair_point AND o.active
JOIN statement s ON s.dealer = coalesce(a.owner_store, a.office) AND s.period = $1
     AND s.status = 'draft'
CROSS JOIN LATERAL (SELECT f.amount_fen FROM repair_fee f WHERE f.repair_point = a.repair_point
                    AND f.status = 'approved' AND f.effective_from <= $1
                    ORDER BY f.effective_from DESC, f.id DESC LIMIT 1) fee
WHERE a.status = 'approved' AND fee.amount_fen > 0
ON CONFLICT (source_type, source_id) DO NOTHING
"""
_FREIGHT = """
INSERT INTO statement_line (statement, kind, source_type, source_id, amount_fen, description)
SELECT s.id, 'freight', 'return_batch', b.id::text, b.freight_fen, 'freight ' || b.number
FROM return_batch b
JOIN statement s ON s.dealer = b.organisation AND s.period = $1 AND s.status = 'draft'
WHERE b.company_bears_freight AND b.freight_fen > 0 AND b.received_at < $2
  AND NOT EXISTS (SELECT 1 FROM statement_line l WHERE l.source_type = 'return_batch'
                  AND l.source_id = b.id::text)
"""
# Dealers owed something this period get a statement (one per dealer and period: a constraint).
_STATEMENTS = """
INSERT INTO statement (dealer, period, status, total_fen, prepared_by, created_at)
SELECT dealer, $1, 'draft', 0, $3, $4 FROM (
    SELECT v.dealer FROM purchase_volume v WHERE v.period <= $1
      AND NOT EXISTS (SELECT 1 FROM statement_line l WHERE l.source_type = 'purchase_volume'
                      AND l.source_id = v.id::text)
    UNION SELECT coalesce(a.owner_store, a.office) FROM repair_point_application a
      JOIN repair_fee f ON f.repair_point = a.repair_point AND f.status = 'approved'
      AND f.effective_from <= $1 WHERE a.status = 'approved'
    UNION SELECT b.organisation FROM return_batch b WHERE b.company_bears_freight
      AND b.freight_fen > 0 AND b.received_at < $2
      AND NOT EXISTS (SELECT 1 FROM statement_line l WHERE l.source_type = 'return_batch'
                      AND l.source_id = b.id::text)
) owed
ON CONFLICT (dealer, period) DO NOTHING
"""
_TOTALS = """
UPDATE statement s SET total_fen = coalesce((SELECT sum(amount_fen) FROM statement_line l
                                             WHERE l.statement = s.id), 0)
WHERE s.period = $1 AND s.status = 'draft'
"""


async def close_period(*, actor: Actor, period: date) -> int:
    """Close a month for every dealer at once. Returns the number of draft statements."""
    _finance(actor)
    period = period.replace(day=1)
    if period >= clock.china_today().replace(day=1):
        raise RuleViolation("Only a past month can be closed.")
    ends_at = datetime.combine(clock.next_month(period), time(0), clock.CHINA)
    async with Statement._meta.db.transaction():
        await raw_fetch(_STATEMENTS, period, ends_at, actor.user_id, clock.now())
        await raw_fetch(_REBATES, period)
        await raw_fetch(_FEES, period)
        await raw_fetch(_FREIGHT, period, ends_at)
        await raw_fetch(_TOTALS, period)
        count = (await raw_fetch("SELECT count(*) AS n FROM statement WHERE period = $1 "
                                 "AND status = 'draft'", period))[0]["n"]
        await audit.record(actor=actor, object_type="period", object_id=period.isoformat(),
                           action="closed", after={"draft_statements": count})
    return count


async def approve_statement(*, actor: Actor, statement_id: int) -> None:
    """R26: finance approves; nobody approves what they prepared; then it is frozen."""
    _finance(actor)
    async with Statement._meta.db.transaction():
        rows = await raw_fetch("SELECT * FROM statement WHERE id = $1 FOR UPDATE", statement_id)
        if not rows:
            raise NotFound("Not found.")
        statement = rows[0]
        if statement["status"] != "draft":
            raise Conflict("This statement is already approved.")
        if statement["prepared_by"] == actor.user_id:
            raise RuleViolation("Nobody approves what they prepared (R26).")
        await raw_fetch("UPDATE statement SET status = 'approved', approved_by = $2, "
                        "approved_at = $3 WHERE id = $1", statement_id, actor.user_id, clock.now())
        await audit.record(actor=actor, object_type="statement", object_id=statement_id,
                           action="approved", organisation_id=statement["dealer"],
                           after={"total_fen": statement["total_fen"]})


async def statement_lines(statement_id: int) -> list[dict]:
    return await raw_fetch("SELECT * FROM statement_line WHERE statement = $1 ORDER BY kind, id",
                           statement_id)
