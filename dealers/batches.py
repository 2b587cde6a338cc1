"""Return batches from draft to dispatch: drafting, lines, submit (R5-R7), sign (R8),
approve or refuse (R9), dispatch (R11). Each write is one transaction with its audit row."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from dealers import rules
from dealers.calendar import week_for_region
from dealers.tables import ReturnBatch
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import china_day, names, tell
from portal.network import DEALER_KINDS

_BATCH_FIELDS = (
    "b.*, o.name AS org_name, o.name_en AS org_name_en, o.path AS org_path, o.region AS org_region, "
    "(SELECT count(*) FROM return_line l WHERE l.batch = b.id) AS line_count, "
    "(SELECT coalesce(max(line_no), 0) FROM return_line l WHERE l.batch = b.id) AS last_line_no")


async def get_batch(*, actor: Actor, batch_id: int, lock: bool = False) -> dict:
    """A batch the actor may see (R1), else NotFound. `lock` takes the row lock (FOR UPDATE)."""
    rows = await raw_fetch(
        f"SELECT {_BATCH_FIELDS} FROM return_batch b JOIN organisation o ON o.id = b.organisation "
        f"WHERE b.id = $1{' FOR UPDATE OF b' if lock else ''}", batch_id)
    if not rows or not actor.can_see_path(rows[0]["org_path"]):
        raise NotFound("Not found.")
    return rows[0]


async def get_batch_by_number(*, actor: Actor, number: str) -> dict | None:
    rows = await raw_fetch(
        f"SELECT {_BATCH_FIELDS} FROM return_batch b JOIN organisation o ON o.id = b.organisation "
        "WHERE b.number = $1", number.strip().upper()[:24])
    if not rows or not actor.can_see_path(rows[0]["org_path"]):
        return None
    return rows[0]


def is_staff_of(actor: Actor, batch: dict) -> bool:
    return actor.organisation_id == batch["organisation"] and actor.has("dealer_clerk", "manager")


def require_staff(actor: Actor, batch: dict) -> None:
    if not is_staff_of(actor, batch):
        raise Forbidden("Only the office's own clerks and managers may do this.")


def require_status(batch: dict, *statuses: str) -> None:
    if batch["status"] not in statuses:
        raise Conflict("This batch is %(status)s; the action is not possible now.",
                       status=batch["status"])


async def _move(actor: Actor, batch: dict, target: str, values: dict[str, Any],
                reason: str = "", noted: dict[str, Any] | None = None) -> None:
    """Change status (and fields) with an audit row; the caller holds the row lock. `noted`:
    figures the history keeps beside the change (a decision's totals), not columns."""
    if not rules.can_move(batch["status"], target):
        raise Conflict("This batch is %(status)s; the action is not possible now.",
                       status=batch["status"])
    columns = {"status": target, **values}
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(columns))
    await raw_fetch(f"UPDATE return_batch SET {assignments} WHERE id = $1",
                    batch["id"], *columns.values())
    await audit.record(actor=actor, object_type="return_batch", object_id=batch["id"],
                       action=target, organisation_id=batch["organisation"],
                       before={"status": batch["status"]},
                       after={k: v for k, v in columns.items() if k != "status"}
                       | (noted or {}) | {"status": target}, reason=reason)


async def actions_for(actor: Actor, batch: dict, now: datetime) -> dict:
    """What `actor` may do with `batch` now (rules.allowed_actions): the batch page shows it,
    the services enforce it through `_enforce`."""
    week = None
    if batch["status"] == "draft" and batch["kind"] == "regular" and batch["org_region"]:
        week = await week_for_region(batch["org_region"], clock.china_today(now))
    return rules.allowed_actions(
        status=batch["status"], kind=batch["kind"], month=batch["month"],
        line_count=batch["line_count"], is_staff=is_staff_of(actor, batch),
        is_manager=actor.has("manager"), is_cs=actor.has("hq_cs"),
        is_submitter=batch["submitted_by"] == actor.user_id,
        is_signer=batch["signed_by"] == actor.user_id, now=now, week=week)


def _enforce(actions: dict, action: str) -> None:
    refusal = actions.get(action)
    if refusal is not None:
        raise RuleViolation(refusal.message, **refusal.kwargs)


def _about(batch: dict, **extra: Any) -> dict:
    """Parameters of a batch's notices: its number, office (in each language) and page."""
    return {"number": batch["number"], "batch_id": batch["id"],
            "office": names(batch, "org_name"), **extra}


# --- drafting -------------------------------------------------------------------------------------

async def create_draft(*, actor: Actor, special_approval_id: int | None = None) -> int:
    """A clerk drafts the month's batch at any time (R5). One regular batch per office per
    month (R6, a unique index); a special batch rides on an approved special approval (R7)."""
    if actor.organisation_kind not in DEALER_KINDS or not actor.has("dealer_clerk", "manager"):
        raise Forbidden("Only offices and logistics agents file return batches.")
    try:
        return await _insert_draft(actor, special_approval_id)
    except asyncpg.exceptions.UniqueViolationError:
        # R6/R7 race: another request inserted the same month's (or approval's) batch between
        # our check and our insert; the unique index refused ours.
        if special_approval_id is not None:
            raise Conflict("A batch already uses this special approval.") from None
        raise Conflict("This month's return batch already exists (R6): add lines to it.") from None


@transactional
async def _insert_draft(actor: Actor, special_approval_id: int | None) -> int:
    month = clock.china_today().replace(day=1)
    kind = "regular"
    if special_approval_id is not None:
        approval = await _usable_approval(special_approval_id, actor.organisation_id)
        kind, month = "special", approval["month"]
    elif await ReturnBatch.exists().where(
        (ReturnBatch.organisation == actor.organisation_id) & (ReturnBatch.month == month)
        & (ReturnBatch.kind == "regular") & (ReturnBatch.status != "withdrawn")
    ):
        raise Conflict("This month's return batch already exists (R6): add lines to it.")
    seq = (await raw_fetch("SELECT nextval('return_batch_number_seq') AS n"))[0]["n"]
    batch = ReturnBatch(number=f"RB{month:%Y%m}{seq:06d}", organisation=actor.organisation_id,
                        month=month, kind=kind, special_approval=special_approval_id,
                        created_by=actor.user_id, created_at=clock.now())
    await ReturnBatch.insert(batch)
    await audit.record(actor=actor, object_type="return_batch", object_id=batch.id,
                       action="draft", after={"number": batch.number, "kind": kind,
                                              "month": month.isoformat()})
    return batch.id


async def _usable_approval(approval_id: int, organisation_id: int) -> dict:
    """R7: the office's approved special approval that no batch uses yet, row-locked: the lock
    serialises two requests racing for it (one batch per approval)."""
    approval = next(iter(await raw_fetch(
        "SELECT * FROM special_approval WHERE id = $1 AND organisation = $2 FOR UPDATE",
        approval_id, organisation_id)), None)
    if approval is None or approval["status"] != "approved":
        raise RuleViolation("This special approval is not granted.")
    if await ReturnBatch.exists().where(ReturnBatch.special_approval == approval_id):
        raise Conflict("A batch already uses this special approval.")
    return approval


@transactional
async def use_special_approval(*, actor: Actor, batch_id: int, approval_id: int) -> dict:
    """R7, issue 9 §7: the office's existing regular draft uses a special approval granted
    after it was started. Its lines stay; it becomes the special batch of the approval's month,
    so it may be submitted outside the window and no longer counts as the month's one regular
    batch (R6: the office may start another). Returns the batch as it is now."""
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_staff(actor, batch)
    require_status(batch, "draft")
    if batch["kind"] != "regular":
        raise Conflict("This batch already uses a special approval.")
    approval = await _usable_approval(approval_id, batch["organisation"])
    await raw_fetch("UPDATE return_batch SET kind = 'special', special_approval = $2, "
                    "month = $3 WHERE id = $1", batch_id, approval_id, approval["month"])
    await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                       action="special_approval_used", organisation_id=batch["organisation"],
                       before={"kind": "regular", "month": batch["month"].isoformat()},
                       after={"kind": "special", "special_approval": approval_id,
                              "month": approval["month"].isoformat()})
    return {**batch, "kind": "special", "special_approval": approval_id,
            "month": approval["month"]}


# --- submit, sign, approve ------------------------------------------------------------------------

@transactional
async def submit_batch(*, actor: Actor, batch_id: int) -> None:
    """R5: a regular batch is submitted only inside its office's window (China time); a special
    batch (R7) at any time."""
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_staff(actor, batch)
    require_status(batch, "draft")
    now = clock.now()
    _enforce(await actions_for(actor, batch, now), "submit")  # R5, R7: the page's own words
    await _move(actor, batch, "submitted", {"submitted_by": actor.user_id, "submitted_at": now})
    await tell("batch_submitted", actor=actor, org_id=batch["organisation"],
               params=_about(batch, lines=batch["line_count"]),
               dedupe_key=f"{batch['number']}@{now.isoformat()}")


@transactional
async def sign_batch(*, actor: Actor, batch_id: int, note: str = "") -> None:
    """R8: the office manager or a regional manager covering the office appraises and signs;
    never the person who submitted it."""
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    if not actor.has("manager"):
        raise Forbidden("Only the office manager or the regional manager may sign.")
    require_status(batch, "submitted")
    _enforce(await actions_for(actor, batch, clock.now()), "sign")  # R8
    await _move(actor, batch, "signed", {"signed_by": actor.user_id,
                                         "signed_at": clock.now()}, reason=note[:500])
    await tell("batch_signed", actor=actor, org_id=batch["organisation"],
               params=_about(batch), dedupe_key=batch["number"])


@transactional
async def return_to_draft(*, actor: Actor, batch_id: int, reason: str) -> None:
    """The manager sends a submitted batch back for corrections instead of signing it."""
    if not reason.strip():
        raise ValidationFailed({"reason": "Say what must be corrected."})
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    if not actor.has("manager"):
        raise Forbidden("Only the office manager or the regional manager may sign.")
    require_status(batch, "submitted")
    await _move(actor, batch, "draft", {"submitted_by": None, "submitted_at": None},
                reason=reason.strip())
    await tell("batch_sent_back", actor=actor, org_id=batch["organisation"],
               user_ids=[batch["submitted_by"]], params=_about(batch, reason=reason.strip()),
               dedupe_key=f"{batch['number']}@{clock.now().isoformat()}")


async def _locked_for_cs_decision(actor: Actor, batch_id: int) -> dict:
    """R9: a signed batch, locked, decided by CS, never by whoever submitted or signed it."""
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service may approve.")
    require_status(batch, "signed")
    _enforce(await actions_for(actor, batch, clock.now()), "approve")  # R9
    return batch


@transactional
async def approve_batch(*, actor: Actor, batch_id: int, disposition: str, note: str = "") -> None:
    """R9: CS approves: return to factory, or dispose locally (with evidence recorded after).
    Nobody approves what they submitted or signed. Concurrent approvals: one wins (row lock)."""
    if disposition not in ("return", "dispose"):
        raise ValidationFailed({"disposition": "Choose return to factory or dispose locally."})
    batch = await _locked_for_cs_decision(actor, batch_id)
    await _move(actor, batch, "approved", {"approved_by": actor.user_id,
                                           "approved_at": clock.now(),
                                           "disposition": disposition}, reason=note[:500])
    await tell("batch_approved" if disposition == "return" else "batch_approved_dispose",
               actor=actor, org_id=batch["organisation"], params=_about(batch),
               dedupe_key=batch["number"])


@transactional
async def refuse_batch(*, actor: Actor, batch_id: int, reason: str) -> None:
    if not reason.strip():
        raise ValidationFailed({"reason": "Give the reason for refusing."})
    batch = await _locked_for_cs_decision(actor, batch_id)
    await _move(actor, batch, "refused", {"refused_reason": reason.strip()[:500],
                                          "approved_by": actor.user_id,
                                          "approved_at": clock.now()}, reason=reason.strip())
    await tell("batch_refused", actor=actor, org_id=batch["organisation"],
               params=_about(batch, reason=reason.strip()[:500]), dedupe_key=batch["number"])


@transactional
async def withdraw_batch(*, actor: Actor, batch_id: int, reason: str = "") -> None:
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_staff(actor, batch)
    require_status(batch, "draft")
    await _move(actor, batch, "withdrawn", {}, reason=reason.strip()[:500])


@transactional
async def dispatch_batch(*, actor: Actor, batch_id: int, carrier: str, waybill: str,
                         packages: int | None, freight_fen: int | None,
                         dispatched_on: date | None) -> None:
    """R11: carrier, waybill, package count, freight cost (fen) and date."""
    errors: dict[str, str] = {}
    if not carrier.strip() or len(carrier) > 80:
        errors["carrier"] = "Enter the carrier."
    if not waybill.strip() or len(waybill) > 60:
        errors["waybill"] = "Enter the waybill number."
    if packages is None or not 1 <= packages <= 10_000:
        errors["packages"] = "Enter the number of packages (1 to 10,000)."
    if freight_fen is None or not 0 <= freight_fen <= 100_000_000:
        errors["freight"] = "Enter the freight cost, e.g. 350.00."
    if dispatched_on is None or dispatched_on > clock.china_today():
        errors["dispatched_on"] = "Enter the dispatch date (not in the future)."
    if errors or dispatched_on is None:
        raise ValidationFailed(errors)
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_staff(actor, batch)
    require_status(batch, "approved")
    if batch["disposition"] != "return":
        raise RuleViolation("This batch is to be disposed of locally, not shipped (R9).")
    await _move(actor, batch, "dispatched", {
        "carrier": carrier.strip(), "waybill": waybill.strip(), "packages": packages,
        "freight_fen": freight_fen, "dispatched_on": dispatched_on})
    await tell("batch_dispatched", actor=actor, org_id=batch["organisation"],
               params=_about(batch, packages=packages, carrier=carrier.strip(),
                             waybill=waybill.strip(), date=china_day(dispatched_on)),
               dedupe_key=batch["number"])


@transactional
async def record_disposal(*, actor: Actor, batch_id: int, evidence: str) -> None:
    """R9: goods disposed of locally, with the evidence (photos reference, witness, ...)."""
    if not evidence.strip():
        raise ValidationFailed({"evidence": "Describe the evidence of disposal."})
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_staff(actor, batch)
    require_status(batch, "approved")
    if batch["disposition"] != "dispose":
        raise RuleViolation("This batch is to be returned to the factory (R9).")
    await _move(actor, batch, "closed", {"disposal_evidence": evidence.strip()[:2000]})
