"""Review and approval of statements (R26): CS reviews the repair-fee lines, finance approves,
nobody approves what they prepared, a statement above the HQ-set amount needs a second finance
approver. On the final approval the statement is frozen (a trigger) and posted to the journal
in the same transaction. Each action locks the statement row (FOR UPDATE), so of two people
acting at once one wins and the other is told plainly."""
from __future__ import annotations

from portal import audit, clock, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation
from settlements import journal, notices, rules

_TAKEN = {  # why a statement in this status can no longer be reviewed or approved
    None: "This statement can no longer change.",
    "second_approval": "This statement is waiting for its second approval.",
    "approved": "This statement is already approved.",
    "paid": "This statement is already paid.",
}


async def _locked(statement_id: int) -> dict:
    rows = await raw_fetch("SELECT * FROM statement WHERE id = $1 FOR UPDATE", statement_id)
    if not rows:
        raise NotFound("Not found.")
    # Read after the lock (a new snapshot): a close that held the row may have added lines.
    rows[0]["has_fees"] = bool(await raw_fetch(
        "SELECT 1 FROM statement_line WHERE statement = $1 AND kind = 'repair_fee' LIMIT 1",
        statement_id))
    return rows[0]


def actions_for(actor: Actor, statement: dict) -> dict:
    """What `actor` may do with `statement` now (rules.statement_actions); `statement` needs
    `has_fees` (as `_locked` reads it, or the page's fee line count)."""
    return rules.statement_actions(
        status=statement["status"], has_fees=bool(statement["has_fees"]),
        fees_reviewed=statement["fees_reviewed_by"] is not None,
        is_preparer=statement["prepared_by"] == actor.user_id,
        is_first_approver=statement["approved_by"] == actor.user_id,
        is_cs=actor.has("hq_cs"), is_finance=actor.has("hq_finance"))


def enforce(actions: dict, action: str) -> None:
    refusal = actions.get(action)
    if refusal is not None:
        raise RuleViolation(refusal.message, **refusal.kwargs)


def _require_draft(statement: dict) -> None:
    if statement["status"] != "draft":
        raise Conflict(_TAKEN.get(statement["status"], _TAKEN[None]))


@transactional
async def review_fees(*, actor: Actor, statement_id: int) -> None:
    """R24/R26: CS confirms the repair-fee lines before finance may approve."""
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service reviews repair fees.")
    statement = await _locked(statement_id)
    _require_draft(statement)
    if not statement["has_fees"]:
        raise RuleViolation("This statement has no repair-fee lines to review.")
    if statement["fees_reviewed_by"] is not None:
        raise Conflict("The repair fees of this statement are already reviewed.")
    await raw_fetch("UPDATE statement SET fees_reviewed_by = $2, fees_reviewed_at = $3 "
                    "WHERE id = $1", statement_id, actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="statement", object_id=statement_id,
                       action="fees_reviewed", organisation_id=statement["dealer"])


@transactional
async def approve_statement(*, actor: Actor, statement_id: int) -> str:
    """R26: finance approves a draft it did not prepare, once CS reviewed its repair fees.
    Returns the new status: 'second_approval' when the total is above the HQ-set amount
    (policy second_approval_above_fen), else 'approved' (frozen and posted to the journal)."""
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")
    statement = await _locked(statement_id)
    _require_draft(statement)
    enforce(actions_for(actor, statement), "approve")  # R26: the page's own words
    limit = await policy.value_on("second_approval_above_fen", clock.china_today())
    status = "second_approval" if statement["total_fen"] > limit else "approved"
    await raw_fetch("UPDATE statement SET status = $2, approved_by = $3, approved_at = $4 "
                    "WHERE id = $1", statement_id, status, actor.user_id, clock.now())
    if status == "approved":
        await journal.post_statements([statement_id], actor=actor)
        await notices.tell_dealer(statement_id=statement_id, kind="statement_approved",
                                  amount_fen=statement["total_fen"])
    await audit.record(actor=actor, object_type="statement", object_id=statement_id,
                       action="approved" if status == "approved" else "first_approval",
                       organisation_id=statement["dealer"],
                       before={"status": "draft"},
                       after={"status": status, "total_fen": statement["total_fen"],
                              "second_approval_above_fen": limit})
    return status


@transactional
async def second_approve(*, actor: Actor, statement_id: int) -> None:
    """R26: a second finance user, neither the preparer nor the first approver, approves a
    statement above the HQ-set amount; it is then frozen and posted to the journal."""
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")
    statement = await _locked(statement_id)
    if statement["status"] != "second_approval":
        if statement["status"] == "draft":
            raise Conflict("This statement needs its first approval.")
        raise Conflict(_TAKEN.get(statement["status"], _TAKEN[None]))
    enforce(actions_for(actor, statement), "second-approval")  # R26
    await raw_fetch("UPDATE statement SET status = 'approved', second_approved_by = $2, "
                    "second_approved_at = $3 WHERE id = $1", statement_id, actor.user_id,
                    clock.now())
    await journal.post_statements([statement_id], actor=actor)
    await notices.tell_dealer(statement_id=statement_id, kind="statement_approved",
                              amount_fen=statement["total_fen"])
    await audit.record(actor=actor, object_type="statement", object_id=statement_id,
                       action="approved", organisation_id=statement["dealer"],
                       before={"status": "second_approval"},
                       after={"status": "approved", "total_fen": statement["total_fen"]})


async def statement_lines(statement_id: int) -> list[dict]:
    return await raw_fetch("SELECT * FROM statement_line WHERE statement = $1 ORDER BY kind, id",
                           statement_id)
