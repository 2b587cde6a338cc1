"""What goods charge on an office's monthly statement (R13, seed 004 §5.2.6): the return freight
of rejected goods head office sent back at the office's request (`goods_rejected.freight_fen`,
HQ's policy `rejected_return_freight_fen` when the office chose). One 'charge' line per batch,
negative (the office owes it), in the first close of a month on or after the one the goods were
sent back in.

settlements may not import goods (layering), so this is a source the composition root registers
with `settlements.close_sql.register_source`; the close runs it set-based with its own steps.
Once only: the item's `NOT EXISTS` below and the unique (source_type, source_id) of
statement_line. The source id is the batch's id (one rejected-goods record per batch), so the
statement's drill-down links the line to its return batch.

Parameters: $1 the period (first of month), $2 the actor's user id, $3 now (close_sql.STEP)."""
from __future__ import annotations

NAME = "rejected_return_freight"
SOURCE_TYPE = "goods_rejected"
REJECTED_FREIGHT_SOURCE = f"""
SELECT g.organisation AS dealer, 'charge' AS kind, '{SOURCE_TYPE}' AS source_type,
       g.batch::text AS source_id, -g.freight_fen AS amount_fen,
       'return freight of rejected goods ' || b.number AS description, NULL::int AS repair_point
FROM goods_rejected g JOIN return_batch b ON b.id = g.batch
WHERE g.status = 'returned' AND g.freight_fen > 0
  AND g.sent_on < ($1::date + interval '1 month')::date
  AND NOT EXISTS (SELECT 1 FROM statement_line x WHERE x.source_type = '{SOURCE_TYPE}'
                  AND x.source_id = g.batch::text)
"""
PARAMS = 3
