"""R35: the service targets of R31 as HQ data with history. A revision is a new row from a
quarter's first day; the quarter in force and the past stay as they were."""
from __future__ import annotations

from datetime import date

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.money import parse_percent
from tower import rules
from tower.inputs import TargetIn
from tower.tables import ServiceTarget


async def targets_on(day: date) -> dict[str, int]:
    """Each measure's target (bp) in force on `day`: one query for all measures; the
    manuals' value (rules.MEASURES) where HQ never set one."""
    rows = await raw_fetch(
        "SELECT DISTINCT ON (measure) measure, value_bp FROM service_target "
        "WHERE effective_from <= $1 ORDER BY measure, effective_from DESC", day)
    found = {r["measure"]: r["value_bp"] for r in rows}
    return {m: found.get(m, default) for m, (_, default) in rules.MEASURES.items()}


async def target_rows(first: date, last: date) -> list[dict]:
    """Every row that applies somewhere in [first, last]: the one in force on `first` per
    measure and those starting after it (for the charts' target lines). One query."""
    return await raw_fetch(
        "SELECT measure, value_bp, effective_from FROM service_target t WHERE effective_from <= $2 "
        "AND effective_from >= coalesce((SELECT max(effective_from) FROM service_target s "
        "WHERE s.measure = t.measure AND s.effective_from <= $1), DATE '0001-01-01') "
        "ORDER BY measure, effective_from", first, last)


def target_in(rows: list[dict], measure: str, month: date) -> int:
    """The target of `measure` on `month` from `target_rows`' answer."""
    value = rules.MEASURES[measure][1]
    for row in rows:
        if row["measure"] == measure and row["effective_from"] <= month:
            value = row["value_bp"]
    return value


async def history() -> list[dict]:
    return await ServiceTarget.select(
        ServiceTarget.id, ServiceTarget.measure, ServiceTarget.value_bp,
        ServiceTarget.effective_from, ServiceTarget.reason, ServiceTarget.created_at,
        ServiceTarget.created_by.display_name.as_alias("author"),
    ).order_by(ServiceTarget.effective_from, ascending=False).order_by(ServiceTarget.measure)


@transactional
async def revise(*, actor: Actor, measure: str, value_bp: int, effective_from: date,
                 reason: str) -> int:
    """R35: HQ revises a target from a coming quarter's first day; never in place."""
    if not (actor.organisation_kind == "hq" and actor.has("hq_admin")):
        raise Forbidden("Only the HQ administrator may do this.")
    if measure not in rules.MEASURES:
        raise NotFound("Not found.")
    errors: dict[str, str] = {}
    if not 0 <= value_bp <= 10000:
        errors["value"] = "Enter a percentage between 0 and 100."
    if not rules.is_quarter_start(effective_from):
        errors["effective_from"] = "A target changes from a quarter's first day (R35)."
    elif effective_from <= clock.china_today():
        errors["effective_from"] = "A change takes effect from a future date."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if not errors and await ServiceTarget.exists().where(
            (ServiceTarget.measure == measure) & (ServiceTarget.effective_from == effective_from)):
        errors["effective_from"] = "A change from that date already exists."
    if errors:
        raise ValidationFailed(errors)
    before = (await targets_on(effective_from))[measure]
    row = ServiceTarget(measure=measure, value_bp=value_bp, effective_from=effective_from,
                        reason=reason.strip(), created_by=actor.user_id, created_at=clock.now())
    await ServiceTarget.insert(row)
    await audit.record(actor=actor, object_type="service_target", object_id=measure,
                       action="revise", before={"value_bp": before},
                       after={"value_bp": value_bp, "from": effective_from.isoformat()},
                       reason=reason.strip())
    return row.id


async def revise_target(*, actor: Actor, data: TargetIn) -> int:
    """The form's and the API's reading of a revision: the percentage as typed."""
    value = parse_percent(data.value.strip())
    if value is None:
        raise ValidationFailed({"value": "Enter a percentage with at most two decimals."})
    return await revise(actor=actor, measure=data.measure, value_bp=value,
                        effective_from=data.effective_from, reason=data.reason)
