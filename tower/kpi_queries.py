"""R35: the service targets computed from the records, per month, for the network, each region,
office (or logistics agent) and repair point — in ONE statement whatever the number of
organisations (GROUPING SETS over the organisation path), never a query per organisation.

Where each figure comes from (the records behind it; China months):
- on_site: service calls (service_call) called in the month, not cancelled and no longer
  waiting inside their 24 h; num = visited by `visit_by` (R33).
- complaint_rate: product-quality complaints (complaint.kind = 'quality') recorded in the month
  / units sold in the month.
- resolution: complaints (quality or service) closed in the month; num = the customer was told
  the answer by its `resolve_by` deadline (R32).
- satisfaction: opinion cards filled in during the month (satisfied: every score at least 4,
  service.rules.PRAISE_MIN_SCORE) and survey answers recorded in it (their own yes/no).
- first_time_fix: service calls visited in the month with the outcome recorded (num: fixed at
  the first visit) and repairs at the point recorded in the month that no call links to (num:
  repaired on the spot, no promise, R19).
- return_rate: units HQ received (return_line.received_qty, R12, products only, not spare
  parts) in batches received in the month / units sold in the month.
- units sold: the customer archive's purchases (customer_product.quantity by purchased_on),
  counted for the organisation that sold them (`sold_by`, else the customer file's holder).
  The portal holds no other unit count: purchase volumes (settlements) are money.

Each record counts for its organisation, that organisation's office or agent (the second id of
its path, under HQ), the office's region, and — for records held by a repair point — the point."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql
from tower import rules

SATISFIED_MIN = 4  # service.rules.PRAISE_MIN_SCORE: every score at least this

FACTS = """
SELECT 'on_site' AS measure, c.organisation AS org, {month_call} AS month,
       (c.visited_at IS NOT NULL AND c.visited_at <= c.visit_by)::int AS num, 1 AS den
  FROM service_call c
 WHERE c.called_at >= $1 AND c.called_at < $2 AND c.status <> 'cancelled'
   AND (c.visited_at IS NOT NULL OR c.visit_by <= $3)
UNION ALL
SELECT 'complaint_rate', k.organisation, {month_complaint}, 1, 0
  FROM complaint k WHERE k.recorded_at >= $1 AND k.recorded_at < $2 AND k.kind = 'quality'
UNION ALL
SELECT m.measure, coalesce(cp.sold_by, cu.organisation), date_trunc('month', cp.purchased_on)::date,
       0, cp.quantity
  FROM customer_product cp JOIN customer cu ON cu.id = cp.customer
 CROSS JOIN (VALUES ('complaint_rate'), ('return_rate')) AS m(measure)
 WHERE cp.purchased_on >= $4 AND cp.purchased_on < $5
UNION ALL
SELECT 'resolution', k.organisation, {month_closed},
       (k.told_at IS NOT NULL AND k.told_at <= k.resolve_by)::int, 1
  FROM complaint k WHERE k.closed_at >= $1 AND k.closed_at < $2 AND k.kind IN ('quality', 'service')
UNION ALL
SELECT 'satisfaction', c.organisation, {month_card},
       (oc.attitude >= {sat} AND oc.skill >= {sat} AND oc.punctuality >= {sat})::int, 1
  FROM opinion_card oc JOIN service_call c ON c.id = oc.service_call
 WHERE oc.submitted_at >= $1 AND oc.submitted_at < $2
UNION ALL
SELECT 'satisfaction', s.organisation, {month_answer}, a.satisfied::int, 1
  FROM survey_answer a JOIN survey s ON s.id = a.survey
 WHERE a.recorded_at >= $1 AND a.recorded_at < $2
UNION ALL
SELECT 'first_time_fix', c.organisation, {month_visit}, c.first_time_fix::int, 1
  FROM service_call c
 WHERE c.visited_at >= $1 AND c.visited_at < $2 AND c.first_time_fix IS NOT NULL
UNION ALL
SELECT 'first_time_fix', r.repair_point, {month_repair},
       (r.status = 'repaired' AND r.promised_by IS NULL)::int, 1
  FROM repair r
 WHERE r.recorded_at >= $1 AND r.recorded_at < $2
   AND NOT EXISTS (SELECT 1 FROM service_call c WHERE c.repair = r.id)
UNION ALL
SELECT 'return_rate', b.organisation, {month_received}, coalesce(l.received_qty, 0), 0
  FROM return_line l JOIN return_batch b ON b.id = l.batch
 WHERE b.received_at >= $1 AND b.received_at < $2 AND l.product IS NOT NULL
"""


def _month(column: str) -> str:
    return f"date_trunc('month', {column} AT TIME ZONE 'Asia/Shanghai')::date"


FACTS_SQL = FACTS.format(
    month_call=_month("c.called_at"), month_complaint=_month("k.recorded_at"),
    month_closed=_month("k.closed_at"), month_card=_month("oc.submitted_at"),
    month_answer=_month("a.recorded_at"), month_visit=_month("c.visited_at"),
    month_repair=_month("r.recorded_at"), month_received=_month("b.received_at"),
    sat=SATISFIED_MIN)

# GROUPING(...) bits: 0 = the level's key is grouped. Levels: network, region, office, point.
KPI_SQL = """
WITH f AS ({facts}),
per_org AS (  -- summed per organisation and month first: the join below then meets a few
              -- rows per organisation, not one per record (10M return lines)
  SELECT measure, org, month, sum(num) AS num, sum(den) AS den FROM f GROUP BY measure, org, month
),
tagged AS (
  SELECT f.measure, f.month, f.num, f.den,
         nullif(split_part(o.path, '.', 2), '')::int AS office,
         CASE WHEN o.kind = 'repair_point' THEN o.id END AS point,
         top.region AS region
    FROM per_org f JOIN organisation o ON o.id = f.org
    LEFT JOIN organisation top ON top.id = nullif(split_part(o.path, '.', 2), '')::int
   WHERE {scope} AND o.path LIKE $6
)
SELECT measure, month,
       CASE WHEN GROUPING(region) = 0 THEN 'region' WHEN GROUPING(office) = 0 THEN 'office'
            WHEN GROUPING(point) = 0 THEN 'point' ELSE 'network' END AS level,
       coalesce(region, office, point) AS key, sum(num)::bigint AS num, sum(den)::bigint AS den
  FROM tagged
 GROUP BY GROUPING SETS ((measure, month), (measure, month, region), (measure, month, office),
                         (measure, month, point))
"""


def china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), clock.CHINA)


@dataclass
class Kpis:
    """Counts by level ('network', 'region', 'office', 'point') -> key (id; 0 for the network)
    -> measure -> month -> (num, den)."""
    months: list[date]
    counts: dict[str, dict[int, dict[str, dict[date, tuple[int, int]]]]] = field(
        default_factory=dict)

    def pair(self, level: str, key: int, measure: str, months: list[date]) -> tuple[int, int]:
        cells = self.counts.get(level, {}).get(key, {}).get(measure, {})
        num = sum(cells.get(m, (0, 0))[0] for m in months)
        den = sum(cells.get(m, (0, 0))[1] for m in months)
        return num, den

    def keys(self, level: str) -> list[int]:
        return sorted(k for k in self.counts.get(level, {}) if k is not None)


async def kpi_counts(*, actor: Actor, first: date, last: date, within: str = "",
                     now: datetime | None = None) -> Kpis:
    """R35: every measure's counts for the months first..last (first days of months), for every
    level the actor may see (R1), optionally only under the organisation path `within`.
    One statement."""
    end = rules.add_months(last, 1)
    args: list = [china_midnight(first), china_midnight(end), now or clock.now(), first, end,
                  (within or "") + "%"]
    scope = scope_sql(actor, "o.path", args)
    sql = KPI_SQL.format(facts=FACTS_SQL, scope=scope)
    rows = await raw_fetch(sql, *args)
    result = Kpis(months=rules.months_back(last, (end.year - first.year) * 12
                                           + end.month - first.month))
    for row in rows:
        key = 0 if row["level"] == "network" else row["key"]
        if key is None:  # records of HQ itself: network only
            continue
        cell = result.counts.setdefault(row["level"], {}).setdefault(key, {}).setdefault(
            row["measure"], {})
        cell[row["month"]] = (int(row["num"]), int(row["den"]))
    return result
