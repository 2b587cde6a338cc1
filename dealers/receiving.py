"""At head office: arrival at the dock (R10), counting and inspection (R12), the decision on
each line (R13, R14), and the receipt the office reads."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dealers import rules
from dealers.batches import (
    _about,
    _move,
    get_batch,
    get_batch_by_number,
    is_staff_of,
    require_status,
)
from dealers.queries import list_lines
from dealers.tables import DockRefusal, ReasonCode
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_executemany, raw_fetch, transactional
from portal.errors import Forbidden, RuleViolation, ValidationFailed
from portal.handoffs import china_day, tell

RECEIVABLE = ("approved", "dispatched")


def _require_logistics(actor: Actor) -> None:
    if not actor.has("hq_logistics"):
        raise Forbidden("Only HQ logistics receives goods.")


async def arrive(*, actor: Actor, number: str, note: str = "", cartons: int = 0) -> dict:
    """Goods at the dock, found by scanning the form's QR code or typing its number. Goods
    without an approved form are refused and the refusal recorded (R10). `cartons` is how many
    of the batch's packages arrive now (issue 12 §6; 0: all those still to come)."""
    _require_logistics(actor)
    arrived = await _record_arrival(actor, number, note, cartons)
    if arrived is None:  # committed, then reported: the refusal itself stays on record
        raise RuleViolation("Refused at the dock and recorded: goods need an approved "
                            "registration form, signed by the manager and approved by customer "
                            "service (R10).")
    return arrived


@transactional
async def _record_arrival(actor: Actor, number: str, note: str, cartons: int = 0) -> dict | None:
    reference = number.strip().upper()[:24]
    if not reference:
        raise ValidationFailed({"number": "Scan the QR code or type the batch number."})
    batch = await get_batch_by_number(actor=actor, number=reference)
    if batch is None:  # a typing slip is not goods refused: say so, record nothing
        raise ValidationFailed({"number": "No batch has this number. Check it and type it "
                                          "again, or scan the form's QR code."})
    if batch["status"] not in RECEIVABLE or batch["disposition"] != "return":
        reason = "The form is not approved by customer service and signed by the manager."
        await DockRefusal.insert(DockRefusal(
            reference=reference, batch=batch["id"],
            reason=f"{reason} {note}".strip(), refused_by=actor.user_id,
            refused_at=clock.now()))
        await audit.record(actor=actor, object_type="dock", object_id=reference,
                           action="refused", reason=reason)
        return None
    else:
        locked = await get_batch(actor=actor, batch_id=batch["id"], lock=True)
        came, declared = await cartons_of(locked)
        if cartons < 0 or cartons > declared - came:
            raise ValidationFailed({"cartons": "More cartons than the batch still expects."})
        now_arriving = cartons or declared - came
        if now_arriving:  # issue 12 §6: the cartons as they come, possibly on several days
            at = clock.now()
            await raw_executemany(
                "INSERT INTO dock_package (batch, package_no, arrived_at, arrived_by) "
                "VALUES ($1, $2, $3, $4)",
                [(batch["id"], came + i, at, actor.user_id) for i in range(1, now_arriving + 1)])
            if locked["arrived_at"] is not None:
                await audit.record(actor=actor, object_type="return_batch",
                                   object_id=batch["id"], action="cartons_arrived",
                                   organisation_id=batch["organisation"],
                                   after={"cartons": now_arriving, "of": declared}, reason=note)
        if locked["arrived_at"] is None:
            at = clock.now()
            await raw_fetch("UPDATE return_batch SET arrived_at = $2 WHERE id = $1",
                            batch["id"], at)
            await audit.record(actor=actor, object_type="return_batch", object_id=batch["id"],
                               action="arrived", organisation_id=batch["organisation"],
                               after={"arrived_at": at.isoformat()}, reason=note)
            # the deadlines end at midnight China time: people read the day before
            last_day = {name: china_day(deadline(at) - timedelta(seconds=1)) for name, deadline
                        in (("count_by", rules.receive_deadline),
                            ("decide_by", rules.decide_deadline))}
            await tell("batch_arrived", actor=actor, org_id=batch["organisation"],
                       params=_about(batch, date=china_day(at), **last_day),
                       dedupe_key=batch["number"])
        return await get_batch(actor=actor, batch_id=batch["id"])


async def cartons_of(batch: dict) -> tuple[int, int]:
    """(cartons arrived, cartons declared) of a batch (issue 12 §6). Declared: the packages
    given at dispatch, else one. A batch that arrived before cartons were recorded one by one
    counts as complete."""
    declared = max(batch["packages"] or 1, 1)
    came = (await raw_fetch("SELECT count(*) AS n FROM dock_package WHERE batch = $1",
                            batch["id"]))[0]["n"]
    if came == 0 and batch["arrived_at"] is not None:
        return declared, declared
    return int(came), declared


@dataclass(frozen=True)
class Count:
    """HQ's count and inspection of one line (R12); HQ's count prevails."""

    line_id: int
    received_qty: int | None
    condition: rules.Condition


@dataclass(frozen=True)
class ExtraGoods:
    """Goods found in the packages that are not on the form (R12)."""

    product_id: int
    received_qty: int
    condition: rules.Condition


@transactional
async def receive_batch(*, actor: Actor, batch_id: int, counts: list[Count],
                        extras: Sequence[ExtraGoods] = (), short_reason: str = "") -> list[dict]:
    """R12: count and inspect every line. Differences are recorded and both CS and the office
    are told. Two clerks at once cannot double-count: the row lock and status check let one
    through. A batch whose cartons have not all arrived is counted when the last one has, or
    closed short with `short_reason` (issue 12 §6). Returns the differences."""
    _require_logistics(actor)
    errors = {}
    for count in counts:
        if count.received_qty is None or not 0 <= count.received_qty <= rules.MAX_LINE_QUANTITY:
            errors[f"received_{count.line_id}"] = "Enter the received quantity (0 to 100,000)."
    for extra in extras:
        if not 1 <= extra.received_qty <= rules.MAX_LINE_QUANTITY:
            errors["extra"] = "Extra goods need a quantity from 1 to 100,000."
    if errors:
        raise ValidationFailed(errors)
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_status(batch, *RECEIVABLE)
    if batch["arrived_at"] is None:
        raise RuleViolation("Record the arrival first (scan the form's QR code).")
    came, declared = await cartons_of(batch)
    if came < declared and not short_reason.strip():
        raise RuleViolation("%(n)s of the batch's cartons are still to come: count them when "
                            "they arrive, or close the batch short with a reason.",
                            n=declared - came)
    lines = {l["id"]: l for l in await raw_fetch(
        "SELECT id, line_no, product, quantity FROM return_line WHERE batch = $1", batch_id)}
    if {c.line_id for c in counts} != set(lines) or len(counts) != len(lines):
        raise ValidationFailed({"lines": "Count every line of the form, once."})
    await raw_executemany(
        "UPDATE return_line SET received_qty = $2, i_lights = $3, i_cap_percent = $4, "
        "i_tube_greyed = $5, i_bridge_blackened = $6, i_broken = $7 WHERE id = $1",
        [(c.line_id, c.received_qty, c.condition.lights, c.condition.cap_percent,
          c.condition.tube_greyed, c.condition.bridge_blackened, c.condition.broken)
         for c in counts])
    if extras:
        last = max((l["line_no"] for l in lines.values()), default=0)
        await raw_executemany(
            "INSERT INTO return_line (batch, line_no, product, quantity, extra, received_qty, "
            "i_lights, i_cap_percent, i_tube_greyed, i_bridge_blackened, i_broken, reason_text, "
            "decision_note, lights, tube_greyed, bridge_blackened, broken) "
            "VALUES ($1, $2, $3, 0, true, $4, $5, $6, $7, $8, $9, '', '', false, false, false, false)",
            [(batch_id, last + i, e.product_id, e.received_qty, e.condition.lights,
              e.condition.cap_percent, e.condition.tube_greyed, e.condition.bridge_blackened,
              e.condition.broken) for i, e in enumerate(extras, start=1)])
    differences = [
        {"line_no": lines[c.line_id]["line_no"], "filed": lines[c.line_id]["quantity"],
         "received": c.received_qty}
        for c in counts if c.received_qty != lines[c.line_id]["quantity"]
    ] + [{"line_no": None, "filed": 0, "received": e.received_qty, "product": e.product_id}
         for e in extras]
    now = clock.now()
    await _move(actor, batch, "received", {"received_by": actor.user_id, "received_at": now},
                reason=f"{len(differences)} differences" if differences else "")
    if came < declared:  # closed short by HQ logistics: the cartons missing and why (R20)
        await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                           action="closed_short", organisation_id=batch["organisation"],
                           after={"cartons": came, "of": declared},
                           reason=short_reason.strip()[:200])
    if differences:
        await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                           action="count_differences", organisation_id=batch["organisation"],
                           after={"differences": differences})
        # R12: the office and CS are told of the difference
        await tell("count_difference", actor=actor, org_id=batch["organisation"],
                   params=_about(batch, n=len(differences)), dedupe_key=batch["number"])
    return differences


@dataclass(frozen=True)
class Decision:
    line_id: int
    exchanged: int
    credited: int
    rejected: int
    reject_reason_id: int | None = None
    note: str = ""


async def proposals(batch_id: int) -> dict[int, tuple[int, int, int, str | None]]:
    """R13/R18: the rules' proposal for each received line from its inspected condition."""
    result: dict[int, tuple[int, int, int, str | None]] = {}
    today = clock.china_today()
    for line in await list_lines(batch_id):
        if line["received_qty"] is None:
            continue
        if line["spare_part"] is not None:  # R23: faulty spares are exchanged one for one
            result[line["id"]] = (line["received_qty"], 0, 0, None)
            continue
        condition = rules.Condition(bool(line["i_lights"]), line["i_cap_percent"],
                                    bool(line["i_tube_greyed"]), bool(line["i_bridge_blackened"]),
                                    bool(line["i_broken"]))
        verdict = rules.expected_verdict(
            rules.CategoryTerms(line["warranty_months"], line["is_cfl"]), condition, on=today,
            date_code=line["date_code"], purchase_date=line["purchase_date"])
        e, c, r = rules.propose_decision(line["received_qty"], verdict)
        result[line["id"]] = (e, c, r, verdict.reasons[0] if verdict.reasons else None)
    return result


@transactional
async def decide_batch(*, actor: Actor, batch_id: int, decisions: list[Decision]) -> None:
    """R13: exchange, credit or reject each received line, quantities adding up to the count;
    R14: within 3 days of arrival (a late decision is allowed and shown as a breach)."""
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service decides returned goods.")
    reject_ids = {r["id"] for r in await ReasonCode.select(ReasonCode.id).where(
        ReasonCode.kind == "reject")}
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_status(batch, "received")
    received = {l["id"]: l["received_qty"] for l in await raw_fetch(
        "SELECT id, received_qty FROM return_line WHERE batch = $1", batch_id)}
    if {d.line_id for d in decisions} != set(received) or len(decisions) != len(received):
        raise ValidationFailed({"lines": "Decide every received line, once."})
    errors = {}
    for d in decisions:
        reason = d.reject_reason_id if d.reject_reason_id in reject_ids else None
        for field, message in rules.check_decision(received[d.line_id], d.exchanged,
                                                   d.credited, d.rejected, reason).items():
            errors[f"{field}_{d.line_id}"] = message
    if errors:
        raise ValidationFailed(errors)
    await raw_executemany(
        "UPDATE return_line SET exchanged_qty = $2, credited_qty = $3, rejected_qty = $4, "
        "reject_reason = $5, decision_note = $6 WHERE id = $1",
        [(d.line_id, d.exchanged, d.credited, d.rejected,
          d.reject_reason_id if d.rejected else None, d.note[:200]) for d in decisions])
    now = clock.now()
    totals = {"exchanged": sum(d.exchanged for d in decisions),
              "credited": sum(d.credited for d in decisions),
              "rejected": sum(d.rejected for d in decisions)}
    await _move(actor, batch, "dispositioned", {"decided_by": actor.user_id,
                                                "decided_at": now}, noted=totals)
    await tell("receipt_ready", actor=actor, org_id=batch["organisation"],
               params=_about(batch, **totals), dedupe_key=batch["number"])


async def receipt_opened(*, actor: Actor, batch: dict, now: datetime) -> bool:
    """R13: the office has its feedback once one of its own opens the decided batch; its home
    then stops listing the receipt. Only the first opening counts (one statement, so two
    colleagues opening it at once record one instant). True when this opening was the first."""
    if batch["status"] != "dispositioned" or batch["receipt_read_at"] is not None \
            or not is_staff_of(actor, batch):
        return False
    return bool(await raw_fetch(
        "UPDATE return_batch SET receipt_read_at = $2 WHERE id = $1 AND status = 'dispositioned' "
        "AND receipt_read_at IS NULL RETURNING id", batch["id"], now))


def deadlines(batch: dict, now: datetime) -> dict:
    """R12/R14 deadlines of a batch that has arrived, and whether each is breached."""
    if batch["arrived_at"] is None:
        return {}
    receive_by = rules.receive_deadline(batch["arrived_at"])
    decide_by = rules.decide_deadline(batch["arrived_at"])
    return {"receive_by": receive_by, "decide_by": decide_by,
            "receive_breached": rules.breached(receive_by, batch["received_at"], now),
            "decide_breached": rules.breached(decide_by, batch["decided_at"], now)}
