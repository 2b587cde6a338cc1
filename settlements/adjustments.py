"""Manual amounts on a dealer's next statement (R20, R26): a correction of an approved
statement ('adjustment', signed, pointing at what it corrects) or a 'charge' (negative). Each
needs a reason and a second finance user's decision; the next period close picks up the
approved ones (source_type 'adjustment')."""
from __future__ import annotations

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from settlements.rules import DEALER_KINDS

KINDS = ("adjustment", "charge")
MAX_FEN = 10_000_000_000  # ¥100,000,000: anything above is a typing error


def _finance(actor: Actor) -> None:
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")


def _check(kind: str, amount_fen: int | None, reason: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = "Choose an adjustment or a charge."
    if amount_fen is None or amount_fen == 0 or abs(amount_fen) > MAX_FEN:
        errors["amount"] = "Enter an amount other than zero, e.g. -120.00."
    elif kind == "charge" and amount_fen > 0:
        errors["amount"] = "A charge is what the dealer owes: enter it as a negative amount."
    if not reason.strip():
        errors["reason"] = "Say why."
    return errors


@transactional
async def request_adjustment(*, actor: Actor, dealer_id: int, kind: str, amount_fen: int | None,
                             reason: str, corrects_statement_id: int | None = None) -> int:
    """Request a correction or charge for the dealer's next statement; returns its id."""
    _finance(actor)
    errors = _check(kind, amount_fen, reason)
    if errors:
        raise ValidationFailed(errors)
    dealer = await raw_fetch("SELECT id, kind FROM organisation WHERE id = $1", dealer_id)
    if not dealer:
        raise NotFound("Not found.")
    if dealer[0]["kind"] not in DEALER_KINDS:
        raise RuleViolation("Only a dealer customer has statements.")
    if corrects_statement_id is not None:
        corrected = await raw_fetch("SELECT dealer, status FROM statement WHERE id = $1",
                                    corrects_statement_id)
        if not corrected or corrected[0]["dealer"] != dealer_id:
            raise ValidationFailed({"corrects": "Choose a statement of this dealer."})
        if corrected[0]["status"] == "draft":
            # R26: only a frozen statement is corrected by an adjustment; a draft is closed again
            raise RuleViolation("A draft statement is not corrected: it is still open.")
    row = (await raw_fetch(
        "INSERT INTO adjustment (dealer, kind, amount_fen, reason, corrects, status, "
        "requested_by, requested_at) VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7) "
        "RETURNING id", dealer_id, kind, amount_fen, reason.strip(), corrects_statement_id,
        actor.user_id, clock.now()))[0]
    await audit.record(actor=actor, object_type="adjustment", object_id=row["id"],
                       action="requested", organisation_id=dealer_id, reason=reason.strip(),
                       after={"kind": kind, "amount_fen": amount_fen,
                              "corrects": corrects_statement_id})
    return row["id"]


@transactional
async def decide_adjustment(*, actor: Actor, adjustment_id: int, approve: bool,
                            reason: str = "") -> None:
    """A second finance user approves or refuses (with a reason) a requested adjustment."""
    _finance(actor)
    if not approve and not reason.strip():
        raise ValidationFailed({"reason": "Give the reason for refusing."})
    rows = await raw_fetch("SELECT * FROM adjustment WHERE id = $1 FOR UPDATE", adjustment_id)
    if not rows:
        raise NotFound("Not found.")
    adjustment = rows[0]
    if adjustment["status"] != "requested":
        raise Conflict("This request has already been decided.")
    if adjustment["requested_by"] == actor.user_id:
        raise RuleViolation("A second person decides an adjustment, not its requester (R26).")
    status = "approved" if approve else "refused"
    await raw_fetch("UPDATE adjustment SET status = $2, decided_by = $3, decided_at = $4, "
                    "decision_reason = $5 WHERE id = $1", adjustment_id, status,
                    actor.user_id, clock.now(), reason.strip())
    await audit.record(actor=actor, object_type="adjustment", object_id=adjustment_id,
                       action=status, organisation_id=adjustment["dealer"],
                       before={"status": "requested"}, after={"status": status},
                       reason=reason.strip())


async def list_adjustments(*, dealer_id: int | None = None,
                           status: str | None = None) -> list[dict]:
    """Adjustments, newest first, with the statement line that carried each (if any yet)."""
    return await raw_fetch(
        "SELECT a.*, l.statement AS in_statement FROM adjustment a LEFT JOIN statement_line l "
        "ON l.source_type = 'adjustment' AND l.source_id = a.id::text "
        "WHERE ($1::int IS NULL OR a.dealer = $1) AND ($2::text IS NULL OR a.status = $2) "
        "ORDER BY a.id DESC", dealer_id, status)
