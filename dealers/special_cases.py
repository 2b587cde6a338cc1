"""Exceptions to the monthly routine: special approvals (R7), batch quality disputes (R16) and
transit claims (R15). The roll-over of drafts not submitted in time (R5) is dealers/rollover.py."""
from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from dealers import rules
from dealers.batches import get_batch, require_status
from dealers.tables import QualityDispute, SpecialApproval, TransitClaim
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from portal.network import DEALER_KINDS, get_organisation, scope_sql

DISPUTE_DAYS = 2  # R16: HQ tech verifies within 2 days of the request
DISPUTABLE = ("received", "dispositioned")  # R16: HQ holds the goods (counted, or decided)
MAX_CLAIM_FEN = 10_000_000_000


# --- R7 special approval ------------------------------------------------------------------------

@transactional
async def request_special_approval(*, actor: Actor, organisation_id: int, reason: str,
                                   quality_problem: bool) -> int:
    """R7: the office manager or a regional manager covering the office asks HQ CS."""
    org = await get_organisation(actor=actor, org_id=organisation_id)
    if not actor.has("manager") or org["kind"] not in DEALER_KINDS:
        raise Forbidden("Only the office manager or the regional manager may ask for a special approval.")
    if not reason.strip() or len(reason) > 1000:
        raise ValidationFailed({"reason": "Say why the exception is needed."})
    row = SpecialApproval(organisation=organisation_id, month=clock.china_today().replace(day=1),
                          quality_problem=quality_problem, reason=reason.strip(),
                          requested_by=actor.user_id, requested_at=clock.now())
    await SpecialApproval.insert(row)
    await audit.record(actor=actor, object_type="special_approval", object_id=row.id,
                       action="requested", organisation_id=organisation_id,
                       after={"quality_problem": quality_problem}, reason=reason.strip())
    await tell("special_requested", actor=actor, dedupe_key=str(row.id),
               params={"org": names(org), "reason": reason.strip()[:200]})
    return row.id


@transactional
async def decide_special_approval(*, actor: Actor, approval_id: int, approve: bool,
                                  reason: str) -> str:
    """R7: CS decides; a refusal says why; nobody decides their own request. Returns the
    approval's status now ("approved" or "refused")."""
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service may approve.")
    if not approve and not reason.strip():
        raise ValidationFailed({"reason": "Give the reason for refusing."})
    rows = await raw_fetch(
        "SELECT s.*, o.name AS org_name, o.name_en AS org_name_en FROM special_approval s "
        "JOIN organisation o ON o.id = s.organisation WHERE s.id = $1 FOR UPDATE OF s",
        approval_id)
    if not rows:
        raise NotFound("Not found.")
    row = rows[0]
    if row["status"] != "requested":
        raise Conflict("This request has already been decided.")
    if row["requested_by"] == actor.user_id:
        raise RuleViolation("Nobody approves their own submission: another customer service "
                            "colleague decides it.")  # R9
    status = "approved" if approve else "refused"
    await raw_fetch("UPDATE special_approval SET status = $2, decided_by = $3, decided_at = $4, "
                    "decision_reason = $5 WHERE id = $1", approval_id, status, actor.user_id,
                    clock.now(), reason.strip())
    await audit.record(actor=actor, object_type="special_approval", object_id=approval_id,
                       action=status, organisation_id=row["organisation"],
                       before={"status": "requested"}, after={"status": status},
                       reason=reason.strip())
    # issue 9 §7: the requester and the office's clerks are told; a granted approval can
    # then be used by the office's existing draft (batches.use_special_approval)
    await tell(f"special_{status}", actor=actor, org_id=row["organisation"],
               user_ids=[row["requested_by"]], dedupe_key=str(approval_id),
               params={"org": names(row, "org_name"), "month": row["month"].strftime("%Y-%m"),
                       "reason": reason.strip() or "—"})
    return status


async def list_special_approvals(*, actor: Actor) -> list[dict]:
    args: list = []
    where = f"WHERE {scope_sql(actor, 'o.path', args)}"
    return await raw_fetch(
        "SELECT s.*, o.name AS org_name, u.display_name AS requester, "
        "(SELECT b.id FROM return_batch b WHERE b.special_approval = s.id) AS batch_id "
        "FROM special_approval s JOIN organisation o ON o.id = s.organisation "
        f"JOIN portal_user u ON u.id = s.requested_by {where} ORDER BY s.id DESC LIMIT 200", *args)


async def usable_approvals(organisation_id: int) -> list[dict]:
    """R7: the office's granted special approvals no batch uses yet (newest first)."""
    return await raw_fetch(
        "SELECT s.id, s.month, s.quality_problem FROM special_approval s "
        "WHERE s.organisation = $1 AND s.status = 'approved' AND NOT EXISTS "
        "(SELECT 1 FROM return_batch b WHERE b.special_approval = s.id) ORDER BY s.id DESC",
        organisation_id)


async def regular_drafts(organisation_id: int) -> list[dict]:
    """The office's regular drafts, which a granted special approval can be used for."""
    return await raw_fetch(
        "SELECT b.id, b.number, b.month, (SELECT count(*) FROM return_line l "
        "WHERE l.batch = b.id) AS line_count FROM return_batch b WHERE b.organisation = $1 "
        "AND b.status = 'draft' AND b.kind = 'regular' ORDER BY b.id", organisation_id)


# --- R5 roll-over -----------------------------------------------------------------------------------

# --- R16 batch quality dispute ------------------------------------------------------------------------

async def raise_quality_dispute(*, actor: Actor, batch_id: int, description: str) -> int:
    """R16: the office disputes the quality of goods HQ has received, at most one open
    (unverified) dispute per batch; HQ tech then has 2 days to verify on site."""
    if not description.strip() or len(description) > 2000:
        raise ValidationFailed({"description": "Describe the quality problem."})
    try:
        return await _insert_dispute(actor, batch_id, description)
    except asyncpg.exceptions.UniqueViolationError:  # quality_dispute_one_open: a race lost
        raise RuleViolation("A quality dispute is already open on this batch; wait for HQ's "
                            "verification.") from None


@transactional
async def _insert_dispute(actor: Actor, batch_id: int, description: str) -> int:
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    if actor.organisation_id != batch["organisation"] or not actor.has("dealer_clerk", "manager"):
        raise Forbidden("Only the office's own clerks and managers may do this.")
    if batch["status"] not in DISPUTABLE:  # R16: only on goods that have come back
        raise RuleViolation("A quality dispute can be raised only once the goods have come "
                            "back to HQ; this batch is %(status)s.", status=batch["status"])
    if await raw_fetch("SELECT 1 FROM quality_dispute WHERE batch = $1 "
                       "AND verified_at IS NULL", batch_id):
        raise RuleViolation("A quality dispute is already open on this batch; wait for "
                            "HQ's verification.")
    now = clock.now()
    row = QualityDispute(batch=batch_id, description=description.strip(),
                         raised_by=actor.user_id, raised_at=now,
                         due_at=now + timedelta(days=DISPUTE_DAYS))
    await QualityDispute.insert(row)
    await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                       action="quality_dispute", organisation_id=batch["organisation"],
                       reason=description.strip())
    await tell("quality_dispute", actor=actor, dedupe_key=str(row.id),
               params={"number": batch["number"], "batch_id": batch_id,
                       "office": names(batch, "org_name"),
                       "due": row.due_at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")})
    return row.id


@transactional
async def verify_quality_dispute(*, actor: Actor, dispute_id: int, confirmed: bool,
                                 findings: str) -> None:
    """R16: HQ tech verifies on site; if confirmed, the company takes the whole batch back and
    bears all freight."""
    if not actor.has("hq_tech"):
        raise Forbidden("Only HQ tech verifies quality disputes.")
    if not findings.strip():
        raise ValidationFailed({"findings": "Record what was found on site."})
    rows = await raw_fetch("SELECT * FROM quality_dispute WHERE id = $1 FOR UPDATE", dispute_id)
    if not rows:
        raise NotFound("Not found.")
    dispute = rows[0]
    if dispute["verified_at"] is not None:
        raise Conflict("This dispute has already been verified.")
    batch = await get_batch(actor=actor, batch_id=dispute["batch"], lock=True)
    await raw_fetch("UPDATE quality_dispute SET verified_by = $2, verified_at = $3, "
                    "confirmed = $4, findings = $5 WHERE id = $1", dispute_id, actor.user_id,
                    clock.now(), confirmed, findings.strip())
    if confirmed:
        await raw_fetch("UPDATE return_batch SET company_bears_freight = true WHERE id = $1",
                        batch["id"])
    await audit.record(actor=actor, object_type="return_batch", object_id=batch["id"],
                       action="quality_confirmed" if confirmed else "quality_not_confirmed",
                       organisation_id=batch["organisation"], reason=findings.strip(),
                       after={"whole_batch_back_freight_by_company": confirmed})
    await tell("quality_confirmed" if confirmed else "quality_not_confirmed", actor=actor,
               org_id=batch["organisation"], dedupe_key=str(dispute_id),
               params={"number": batch["number"], "batch_id": batch["id"],
                       "findings": findings.strip()[:200]})

async def disputes_for(batch_id: int, now: datetime) -> list[dict]:
    rows = await raw_fetch("SELECT d.*, u.display_name AS raised_by_name FROM quality_dispute d "
                           "JOIN portal_user u ON u.id = d.raised_by WHERE d.batch = $1 ORDER BY d.id",
                           batch_id)
    for row in rows:
        row["breached"] = rules.breached(row["due_at"], row["verified_at"], now)
    return rows


# --- R15 transit claims -----------------------------------------------------------------------------

@transactional
async def open_transit_claim(*, actor: Actor, batch_id: int, carrier: str, lost_qty: int,
                             damaged_qty: int, claimed_fen: int, note: str = "") -> int:
    if not actor.has("hq_cs", "hq_logistics"):
        raise Forbidden("Only HQ customer service or logistics handle carrier claims.")
    errors: dict[str, str] = {}
    if not carrier.strip():
        errors["carrier"] = "Enter the carrier."
    if min(lost_qty, damaged_qty) < 0 or lost_qty + damaged_qty == 0 \
            or max(lost_qty, damaged_qty) > rules.MAX_LINE_QUANTITY * 100:
        errors["quantity"] = "Enter the lost or damaged quantities."
    if not 0 < claimed_fen <= MAX_CLAIM_FEN:
        errors["amount"] = "Enter the amount claimed, e.g. 350.00."
    if errors:
        raise ValidationFailed(errors)
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_status(batch, "dispatched", "received", "dispositioned", "closed")
    row = TransitClaim(batch=batch_id, carrier=carrier.strip()[:80], lost_qty=lost_qty,
                       damaged_qty=damaged_qty, claimed_fen=claimed_fen, note=note.strip(),
                       opened_by=actor.user_id, opened_at=clock.now())
    await TransitClaim.insert(row)
    await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                       action="transit_claim", organisation_id=batch["organisation"],
                       after={"lost": lost_qty, "damaged": damaged_qty,
                              "claimed_fen": claimed_fen}, reason=note.strip())
    return row.id


@transactional
async def close_transit_claim(*, actor: Actor, claim_id: int, recovered_fen: int,
                              note: str) -> None:
    if not actor.has("hq_cs", "hq_logistics"):
        raise Forbidden("Only HQ customer service or logistics handle carrier claims.")
    if not 0 <= recovered_fen <= MAX_CLAIM_FEN:
        raise ValidationFailed({"recovered": "Enter the amount recovered, e.g. 300.00."})
    rows = await raw_fetch("SELECT * FROM transit_claim WHERE id = $1 FOR UPDATE", claim_id)
    if not rows:
        raise NotFound("Not found.")
    claim = rows[0]
    batch = await get_batch(actor=actor, batch_id=claim["batch"])
    if claim["status"] != "open":
        raise Conflict("This claim is already closed.")
    await raw_fetch("UPDATE transit_claim SET status = 'closed', recovered_fen = $2, "
                    "closed_by = $3, closed_at = $4, note = note || $5 WHERE id = $1",
                    claim_id, recovered_fen, actor.user_id, clock.now(),
                    ("\n" + note.strip()) if note.strip() else "")
    await audit.record(actor=actor, object_type="return_batch", object_id=batch["id"],
                       action="transit_claim_closed", organisation_id=batch["organisation"],
                       after={"claim": claim_id, "recovered_fen": recovered_fen},
                       reason=note.strip())


async def claims_for(batch_id: int) -> list[dict]:
    return await raw_fetch("SELECT * FROM transit_claim WHERE batch = $1 ORDER BY id", batch_id)
