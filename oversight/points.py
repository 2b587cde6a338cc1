"""Care of repair points (R37, seed 003 §3 art. 3C–3E): the office's visits with the five topics
and the feedback heard, the point's management file gathered over time from the spares,
settlements and customer-service records, and its scorecard compared with its region.

Scope (R1): the point, the office above it and head office (and a regional manager covering the
office) see a point's visits, file and scorecard; a sibling gets 404 (locator.point_for)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from oversight import rules
from oversight.inputs import PointVisitIn
from oversight.locator import point_for
from oversight.tables import PointVisit
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, ValidationFailed

FILE_LIMIT = 300  # the newest entries of the file on one page
FILE_LABELS = {"complaint": "Complaint (quality or service issue)",
               "dispute": "Consumer dispute", "decision": "Decision",
               "repair": "Repair", "parts": "Parts movement", "fee": "Repair fee",
               "call": "Service call", "card": "Opinion card", "visit": "Office visit"}
MEASURE_LABELS = {"turnaround_hours": "Average hours from call to visit",
                  "promises_kept": "Repair promises kept (%)",
                  "first_time_fix": "Fixed at the first visit (%)",
                  "satisfaction": "Satisfied opinion cards (%)",
                  "disputes": "Consumer disputes", "complaints": "Complaints about the point",
                  "parts_used": "Spare parts used in repairs"}


def may_visit(actor: Actor) -> bool:
    """R37: the office (its manager or clerk) or a regional manager covering it records visits."""
    if actor.read_only:
        return False
    if actor.organisation_kind in ("office", "agent"):
        return actor.has("manager", "dealer_clerk")
    return actor.organisation_kind == "hq" and actor.has("manager") and bool(actor.covered_paths)


@transactional
async def record_visit(*, actor: Actor, point_id: int, data: PointVisitIn) -> int:
    await point_for(actor, point_id)  # R1: 404 for a point out of scope
    if not may_visit(actor) or actor.organisation_id == point_id:
        raise Forbidden("The office records its visits to its repair points.")
    errors = rules.visit_problems(
        {k: getattr(data, k) for k in (*rules.VISIT_TOPICS, "training_who", "training_what",
                                       "feedback", "training_on")},
        visited_on=data.visited_on, today=clock.china_today())
    if errors:
        raise ValidationFailed(errors)
    visit = PointVisit(repair_point=point_id, visited_on=data.visited_on,
                       parts_management=data.parts_management,
                       technique_guidance=data.technique_guidance,
                       returns_appraisal=data.returns_appraisal,
                       service_improvement=data.service_improvement,
                       training_who=data.training_who, training_what=data.training_what,
                       training_on=data.training_on, feedback=data.feedback,
                       recorded_by=actor.user_id, recorded_at=clock.now())
    await PointVisit.insert(visit)
    await audit.record(actor=actor, object_type="point_visit", object_id=visit.id,
                       action="create", after={"repair_point": point_id,
                                               "visited_on": data.visited_on},
                       organisation_id=point_id)
    return visit.id


async def visits(point_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT v.*, u.display_name AS recorded_by_name FROM point_visit v "
        "JOIN portal_user u ON u.id = v.recorded_by WHERE v.repair_point = $1 "
        "ORDER BY v.visited_on DESC, v.id DESC", point_id)


# --- the management file (R37, art. 3E): one statement, whatever the point's history ---------

_FILE = """
SELECT * FROM (
  SELECT c.recorded_at AS at, 'complaint' AS kind, c.description AS summary, c.status,
         NULL::bigint AS amount_fen, c.reference AS ref
  FROM complaint c WHERE c.about_org = $1
  UNION ALL
  SELECT c.closed_at, 'decision', c.resolution, c.status, NULL, c.reference
  FROM complaint c WHERE c.about_org = $1 AND c.closed_at IS NOT NULL AND c.resolution <> ''
  UNION ALL
  SELECT d.recorded_at, 'dispute', d.description, d.status, NULL, d.customer
  FROM consumer_dispute d WHERE d.repair_point = $1
  UNION ALL
  SELECT d.closed_at, 'decision', COALESCE(NULLIF(d.ruling, ''), d.mediation), d.status, NULL,
         d.customer
  FROM consumer_dispute d WHERE d.repair_point = $1 AND d.closed_at IS NOT NULL
  UNION ALL
  SELECT r.recorded_at, 'repair', p.model, r.status, r.charge_fen, r.in_warranty
  FROM repair r JOIN product p ON p.id = r.product WHERE r.repair_point = $1
  UNION ALL
  SELECT m.at, 'parts', sp.code || ' ' || m.condition, m.kind, NULL, m.quantity::text
  FROM stock_movement m JOIN spare_part sp ON sp.id = m.spare_part WHERE m.location = $1
  UNION ALL
  SELECT f.proposed_at, 'fee', f.reason, f.status, f.amount_fen, f.effective_from::text
  FROM repair_fee f WHERE f.repair_point = $1
  UNION ALL
  SELECT s.called_at, 'call', s.number, s.status, NULL,
         CASE WHEN s.first_time_fix THEN 'first_fix' ELSE COALESCE(s.outcome, '') END
  FROM service_call s WHERE s.organisation = $1
  UNION ALL
  SELECT o.submitted_at, 'card', o.comments, 'filled', NULL,
         o.attitude || '/' || o.skill || '/' || o.punctuality
  FROM opinion_card o JOIN service_call s ON s.id = o.service_call
  WHERE s.organisation = $1 AND o.submitted_at IS NOT NULL
  UNION ALL
  SELECT (v.visited_on::timestamp AT TIME ZONE 'Asia/Shanghai'), 'visit', v.feedback, 'visited',
         NULL, v.training_what
  FROM point_visit v WHERE v.repair_point = $1
) f ORDER BY at DESC LIMIT $2
"""


async def management_file(point_id: int) -> list[dict]:
    return await raw_fetch(_FILE, point_id, FILE_LIMIT)


# --- the scorecard, compared with the region (one statement for all of the region's points) ---

_SCORES = """
WITH pts AS (
  SELECT o.id FROM organisation o, organisation me
  WHERE me.id = $1 AND o.kind = 'repair_point'
    AND (o.region = me.region OR (o.region IS NULL AND me.region IS NULL))
)
SELECT pts.id AS point_id,
  (SELECT avg(extract(epoch FROM s.visited_at - s.called_at)) / 3600 FROM service_call s
   WHERE s.organisation = pts.id AND s.visited_at IS NOT NULL AND s.called_at >= $2
   AND s.called_at < $3) AS turnaround_hours,
  (SELECT count(*) FROM repair r WHERE r.repair_point = pts.id AND r.promised_by IS NOT NULL
   AND r.recorded_at >= $2 AND r.recorded_at < $3) AS promised,
  (SELECT count(*) FROM repair r WHERE r.repair_point = pts.id AND r.promised_by IS NOT NULL
   AND r.status = 'repaired' AND r.recorded_at >= $2 AND r.recorded_at < $3) AS kept,
  (SELECT count(*) FROM service_call s WHERE s.organisation = pts.id
   AND s.visited_at IS NOT NULL AND s.called_at >= $2 AND s.called_at < $3) AS visited,
  (SELECT count(*) FROM service_call s WHERE s.organisation = pts.id AND s.first_time_fix
   AND s.called_at >= $2 AND s.called_at < $3) AS fixed_first,
  (SELECT count(*) FROM opinion_card o JOIN service_call s ON s.id = o.service_call
   WHERE s.organisation = pts.id AND o.submitted_at >= $2 AND o.submitted_at < $3) AS cards,
  (SELECT count(*) FROM opinion_card o JOIN service_call s ON s.id = o.service_call
   WHERE s.organisation = pts.id AND o.submitted_at >= $2 AND o.submitted_at < $3
   AND o.attitude + o.skill + o.punctuality >= 12) AS satisfied,
  (SELECT count(*) FROM consumer_dispute d WHERE d.repair_point = pts.id
   AND d.recorded_at >= $2 AND d.recorded_at < $3) AS disputes,
  (SELECT count(*) FROM complaint c WHERE c.about_org = pts.id
   AND c.recorded_at >= $2 AND c.recorded_at < $3) AS complaints,
  (SELECT COALESCE(sum(r.parts_quantity), 0) FROM repair r WHERE r.repair_point = pts.id
   AND r.recorded_at >= $2 AND r.recorded_at < $3) AS parts_used
FROM pts
"""


def _measures(row: dict) -> dict:
    """A point's (or the region's summed) figures as the scorecard shows them: a percentage
    only with enough cases (R35), else None."""
    hours = row["turnaround_hours"]
    return {
        "turnaround_hours": None if hours is None else round(float(hours), 1),
        "promises_kept": rules.ratio(row["kept"], row["promised"]),
        "first_time_fix": rules.ratio(row["fixed_first"], row["visited"]),
        "satisfaction": rules.ratio(row["satisfied"], row["cards"]),
        "disputes": row["disputes"], "complaints": row["complaints"],
        "parts_used": int(row["parts_used"])}


async def scorecard(point_id: int, start: date, end: date) -> dict:
    """The point's measures for China dates start..end and its region's: counts per point on
    average, rates over the region's cases."""
    since = datetime.combine(start, datetime.min.time(), clock.CHINA)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), clock.CHINA)
    rows = await raw_fetch(_SCORES, point_id, since, until)
    mine = next(r for r in rows if r["point_id"] == point_id)
    total = {k: sum(int(r[k] or 0) for r in rows) for k in (
        "promised", "kept", "visited", "fixed_first", "cards", "satisfied", "disputes",
        "complaints", "parts_used")}
    hours = [float(r["turnaround_hours"]) for r in rows if r["turnaround_hours"] is not None]
    region = _measures({**total, "turnaround_hours": sum(hours) / len(hours) if hours else None})
    for key in ("disputes", "complaints", "parts_used"):
        region[key] = round(total[key] / len(rows), 1)
    return {"point": _measures(mine), "region": region, "points_in_region": len(rows),
            "start": start, "end": end}
