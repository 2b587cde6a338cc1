"""R36 appraisal scores: each office (or agent) and repair point scored out of 100 for a quarter
from its KPIs against the targets (tower.rules.measure_points: 100 when kept, else in proportion)
and, for an office, its latest audit result in the quarter (oversight.audit_results, R30), each
weighted by HQ's policies `appraisal_weight_*`. The score keeps its inputs; below 70 fails and
needs corrective and preventive actions, recorded here.

Computed once per unit and quarter (unique key): the statements are fixed in number whatever the
network's size (the KPI statement, the targets, the policies, the units, the audits, one insert)."""
from __future__ import annotations

import json
from datetime import date, timedelta

from oversight.audit_results import audit_scores
from portal import audit, clock, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.network import scope_sql
from tower import kpis, rules
from tower.inputs import AppraisalComputeIn, CorrectiveActionIn
from tower.kpi_queries import kpi_counts
from tower.targets import target_rows

FAIL_BELOW = 70
ACTION_KINDS = ("corrective", "preventive")
ACTION_LABELS = {"corrective": "corrective action", "preventive": "preventive action"}


async def weights(day: date) -> tuple[dict[str, int], int]:
    measures = {m: await policy.value_on(f"appraisal_weight_{m}_count", day)
                for m in rules.MEASURES}
    return measures, await policy.value_on("appraisal_weight_audit_count", day)


def _may_compute(actor: Actor) -> bool:
    return actor.organisation_kind == "hq" and actor.has("hq_cs", "hq_admin")


@transactional
async def compute(*, actor: Actor, data: AppraisalComputeIn) -> int:
    """Score every active office, agent and repair point for the quarter; returns how many
    scores were written (units already scored for it keep theirs)."""
    if not _may_compute(actor):
        raise Forbidden("Only customer service or the HQ administrator computes appraisals.")
    start = data.period_start
    if not rules.is_quarter_start(start):
        raise ValidationFailed({"period_start": "A target changes from a quarter's first day (R35)."})
    end = rules.add_months(start, 3)
    if end > clock.china_today():
        raise RuleViolation("A quarter is appraised once it has ended.")
    months = [rules.add_months(start, i) for i in range(3)]
    k = await kpi_counts(actor=actor, first=months[0], last=months[-1])
    targets = await target_rows(months[0], months[-1])
    th = await kpis.thresholds(months[-1])
    measure_weights, audit_weight = await weights(months[-1])
    audits = await audit_scores(start, end - timedelta(days=1))
    units = await raw_fetch("SELECT id, kind FROM organisation WHERE active AND kind IN "
                            "('office', 'agent', 'repair_point') ORDER BY id")
    rows = []
    for unit in units:
        level = "point" if unit["kind"] == "repair_point" else "office"
        figs = kpis.figures(k, level, unit["id"], months, targets, th)
        points = {m: rules.measure_points(f) for m, f in figs.items()}
        audit_score = audits.get(unit["id"]) if level == "office" else None
        score = rules.appraisal_score(points, measure_weights, audit_score, audit_weight)
        if score is None:
            continue
        inputs = {"measures": {m: {"num": f.num, "den": f.den, "value_bp": f.value_bp,
                                   "target_bp": f.target_bp, "status": f.status,
                                   "points": points[m], "weight": measure_weights[m]}
                               for m, f in figs.items()},
                  "audit": {"score": audit_score, "weight": audit_weight}}
        rows.append((unit["id"], score, json.dumps(inputs)))
    if not rows:
        return 0
    written = await raw_fetch(
        "INSERT INTO appraisal_score (organisation, period_start, score, inputs, computed_by, "
        "computed_at) SELECT o, $4, s, i::jsonb, $5, $6 FROM unnest($1::int[], $2::int[], "
        "$3::text[]) AS x(o, s, i) ON CONFLICT (organisation, period_start) DO NOTHING "
        "RETURNING id", [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], start,
        actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="appraisal", object_id=start.isoformat(),
                       action="compute", after={"scores": len(written)})
    return len(written)


_SELECT = ("SELECT a.id, a.organisation, a.period_start, a.score, a.inputs, a.computed_at, "
           "o.name, o.name_en, o.kind, o.path, "
           "(SELECT count(*) FROM corrective_action c WHERE c.appraisal = a.id "
           " AND c.kind = 'corrective')::int AS corrective, "
           "(SELECT count(*) FROM corrective_action c WHERE c.appraisal = a.id "
           " AND c.kind = 'preventive')::int AS preventive "
           "FROM appraisal_score a JOIN organisation o ON o.id = a.organisation")


def _decoded(row: dict) -> dict:
    if isinstance(row["inputs"], str):
        row["inputs"] = json.loads(row["inputs"])
    row["band"] = rules.band(row["score"])
    row["needs_actions"] = row["score"] < FAIL_BELOW and not (row["corrective"]
                                                              and row["preventive"])
    return row


async def list_scores(*, actor: Actor, period_start: date | None) -> list[dict]:
    """The scores the reader may see (R1), lowest first, for a quarter (the latest if none)."""
    args: list = [period_start]
    scope = scope_sql(actor, "o.path", args)
    rows = await raw_fetch(
        _SELECT + f" WHERE {scope} AND a.period_start = coalesce($1::date, "
        "(SELECT max(period_start) FROM appraisal_score)) ORDER BY a.score, a.id", *args)
    return [_decoded(r) for r in rows]


async def get_score(*, actor: Actor, appraisal_id: int) -> dict:
    rows = await raw_fetch(_SELECT + " WHERE a.id = $1", appraisal_id)
    if not rows or not actor.can_see_path(rows[0]["path"]):
        raise NotFound("Not found.")
    return _decoded(rows[0])


async def actions_of(appraisal_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT c.kind, c.action, c.recorded_at, u.display_name AS author FROM corrective_action c "
        "JOIN portal_user u ON u.id = c.recorded_by WHERE c.appraisal = $1 ORDER BY c.id",
        appraisal_id)


def may_record_action(actor: Actor, score: dict) -> bool:
    """CS, or the failing unit's own manager or repair-point staff (or the office above it)."""
    if actor.read_only or score["score"] >= FAIL_BELOW:
        return False
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs")
    return actor.has("manager", "repair_staff") and actor.can_see_path(score["path"])


@transactional
async def add_action(*, actor: Actor, appraisal_id: int, data: CorrectiveActionIn) -> None:
    """R36: a failing score's corrective or preventive action, with who and when."""
    score = await get_score(actor=actor, appraisal_id=appraisal_id)
    if score["score"] >= FAIL_BELOW:
        raise RuleViolation("Only a score below 70 needs corrective and preventive actions (R36).")
    if not may_record_action(actor, score):
        raise Forbidden("Your role may not do this.")
    errors = {}
    if data.kind not in ACTION_KINDS:
        errors["kind"] = "Choose corrective or preventive."
    if not data.action.strip() or len(data.action) > 2000:
        errors["action"] = "Describe the action."
    if errors:
        raise ValidationFailed(errors)
    await raw_fetch("INSERT INTO corrective_action (appraisal, kind, action, recorded_by, "
                    "recorded_at) VALUES ($1, $2, $3, $4, $5)", appraisal_id, data.kind,
                    data.action.strip(), actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="appraisal", object_id=appraisal_id,
                       action=data.kind, organisation_id=score["organisation"],
                       reason=data.action.strip())
