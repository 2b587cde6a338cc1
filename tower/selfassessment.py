"""GB/T 27922 self-assessment of head office (issue 15 §7; seed 004 §9-§10): a year is opened
with the standard's indicators and their points (tower/gbt27922.py, copied into the year's
items); live indicators are computed from the records (tower/selfassessment_live.py), evidence
indicators are scored by customer service or the HQ administrator from the files uploaded on
them (portal/attachments.py, subject `tower.gbt_item`), each score a new row with a note. The
total out of 100 is graded on the 70 / 80 / 90 / 95 scale (tower.rules.gbt_grade).

Only head office sees it (the manufacturer assesses itself); anyone else is refused (403), and a
file on it answers 404 outside head office as any record they may not see."""
from __future__ import annotations

from portal import attachments, audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from tower import gbt27922, rules
from tower.inputs import EvidenceScoreIn, SelfAssessmentIn
from tower.selfassessment_live import live_scores

SUBJECT = "tower.gbt_item"
FIRST_YEAR = 2000
NOTE_LIMIT = 1000
SOURCE_LABELS = {"live": "from the records", "evidence": "from evidence"}


def may_see(actor: Actor) -> bool:
    return actor.sees_everything


def may_score(actor: Actor) -> bool:
    """Seed 004 §9: the supervisor (CS at head office) scores; the HQ administrator too."""
    return actor.organisation_kind == "hq" and actor.has("hq_cs", "hq_admin")


def require_see(actor: Actor) -> None:
    if not may_see(actor):
        raise Forbidden("Only head office sees the GB/T 27922 self-assessment.")


def _require_score(actor: Actor) -> None:
    if not may_score(actor):
        raise Forbidden("Only customer service or the HQ administrator scores the "
                        "self-assessment.")


@transactional
async def open_year(*, actor: Actor, data: SelfAssessmentIn) -> int:
    """Open a year's self-assessment with today's indicator list and points."""
    _require_score(actor)
    if not FIRST_YEAR <= data.year <= clock.china_today().year:
        raise ValidationFailed({"year": "Enter a year from 2000 to this year."})
    if await raw_fetch("SELECT 1 FROM self_assessment WHERE year = $1", data.year):
        raise ValidationFailed({"year": "That year's self-assessment is already open."})
    new_id = (await raw_fetch(
        "INSERT INTO self_assessment (year, opened_by, opened_at) VALUES ($1, $2, $3) "
        "RETURNING id", data.year, actor.user_id, clock.now()))[0]["id"]
    items = gbt27922.INDICATORS
    await raw_fetch(
        "INSERT INTO self_assessment_item (assessment, code, max_points, source) "
        "SELECT $1, c, p, s FROM unnest($2::text[], $3::int[], $4::text[]) AS x(c, p, s)",
        new_id, [i.code for i in items], [i.max_points for i in items], [i.source for i in items])
    await audit.record(actor=actor, object_type="self_assessment", object_id=new_id,
                       action="open", after={"year": data.year, "indicators": len(items)})
    return int(new_id)


async def list_years(*, actor: Actor) -> list[dict]:
    require_see(actor)
    return await raw_fetch(
        "SELECT s.id, s.year, s.opened_at, u.display_name AS opened_by, "
        "(SELECT count(*) FROM self_assessment_item i WHERE i.assessment = s.id "
        " AND i.source = 'evidence' AND NOT EXISTS (SELECT 1 FROM self_assessment_score x "
        " WHERE x.item = i.id))::int AS unscored "
        "FROM self_assessment s JOIN portal_user u ON u.id = s.opened_by ORDER BY s.year DESC")


async def get_item(*, actor: Actor, item_id: int) -> dict:
    """One indicator of a year, for head office; NotFound for anyone else (its files too)."""
    rows = await raw_fetch(
        "SELECT i.id, i.assessment, i.code, i.max_points, i.source, s.year "
        "FROM self_assessment_item i JOIN self_assessment s ON s.id = i.assessment "
        "WHERE i.id = $1", item_id)
    if not rows or not may_see(actor):
        raise NotFound("Not found.")
    return _named(rows[0])


def _named(item: dict) -> dict:
    spec = gbt27922.BY_CODE.get(item["code"])
    item["name_zh"] = spec.name_zh if spec else item["code"]
    item["name_en"] = spec.name_en if spec else item["code"]
    return item


async def evidence_owner(actor: Actor, item_id: int) -> int:
    """The attachments' rule: evidence belongs to head office and only head office sees it."""
    await get_item(actor=actor, item_id=item_id)
    return actor.organisation_id


async def may_add_evidence(actor: Actor, item_id: int) -> None:
    item = await get_item(actor=actor, item_id=item_id)
    _require_score(actor)
    if item["source"] != "evidence":
        raise RuleViolation("This indicator is computed from the records; it takes no evidence.")


@transactional
async def score_evidence(*, actor: Actor, item_id: int, data: EvidenceScoreIn) -> dict:
    """HQ scores an evidence indicator, 0 to its points, with a note; a new row each time."""
    item = await get_item(actor=actor, item_id=item_id)
    _require_score(actor)
    if item["source"] != "evidence":
        raise RuleViolation("This indicator is computed from the records; it takes no score.")
    errors = {}
    if not 0 <= data.points <= item["max_points"]:
        errors["points"] = "Enter whole points from 0 to the indicator's maximum."
    if len(data.note) > NOTE_LIMIT:
        errors["note"] = "Keep the note under 1,000 characters."
    if errors:
        raise ValidationFailed(errors)
    await raw_fetch(
        "INSERT INTO self_assessment_score (item, points, note, scored_by, scored_at) "
        "VALUES ($1, $2, $3, $4, $5)", item_id, data.points, data.note.strip(), actor.user_id,
        clock.now())
    await audit.record(actor=actor, object_type="self_assessment", object_id=item["assessment"],
                       action="score", after={"indicator": item["code"], "points": data.points},
                       reason=data.note.strip())
    return item


async def score_history(item_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT x.points, x.note, x.scored_at, u.display_name AS scored_by "
        "FROM self_assessment_score x JOIN portal_user u ON u.id = x.scored_by "
        "WHERE x.item = $1 ORDER BY x.id DESC", item_id)


_ITEMS = """
SELECT i.id, i.code, i.max_points, i.source, x.points, x.note, x.scored_at,
       u.display_name AS scored_by
  FROM self_assessment_item i
  LEFT JOIN LATERAL (SELECT points, note, scored_at, scored_by FROM self_assessment_score
                      WHERE item = i.id ORDER BY id DESC LIMIT 1) x ON TRUE
  LEFT JOIN portal_user u ON u.id = x.scored_by
 WHERE i.assessment = $1 ORDER BY i.id
"""


async def view(*, actor: Actor, assessment_id: int) -> dict:
    """A year's indicators with their points (live: computed now, with the figures behind
    them; evidence: the latest score and the files), the total and its grade. A fixed number
    of statements: the year, its items, the files, the live figures."""
    require_see(actor)
    years = await raw_fetch("SELECT id, year, opened_at FROM self_assessment WHERE id = $1",
                            assessment_id)
    if not years:
        raise NotFound("Not found.")
    items = [_named(r) for r in await raw_fetch(_ITEMS, assessment_id)]
    live = await live_scores(actor=actor, year=years[0]["year"], max_points={
        i["code"]: i["max_points"] for i in items if i["source"] == "live"})
    files = await attachments.list_for_many(
        SUBJECT, [i["id"] for i in items if i["source"] == "evidence"])
    for item in items:
        item["live"] = live.get(item["code"])
        item["files"] = files.get(item["id"], [])
        if item["source"] == "live":
            item["points"] = item["live"]["points"] if item["live"] else 0
    total = sum(i["points"] or 0 for i in items)
    return {"assessment": years[0], "items": items, "total": total,
            "grade": rules.gbt_grade(total),
            "max_total": sum(i["max_points"] for i in items),
            "unscored": sum(1 for i in items if i["source"] == "evidence" and i["points"] is None)}
