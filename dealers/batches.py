"""Return batches from draft to dispatch: drafting, lines, submit (R5-R7), sign (R8),
approve or refuse (R9), dispatch (R11). Each write is one transaction with its audit row."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from dealers import rules
from dealers.calendar import week_for_region
from dealers.tables import ReasonCode, ReturnBatch, ReturnLine
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import china_day, names, tell
from portal.network import DEALER_KINDS
from portal.tables import Product

MAX_LINES = 2000
_BATCH_FIELDS = (
    "b.*, o.name AS org_name, o.name_en AS org_name_en, o.path AS org_path, o.region AS org_region, "
    "(SELECT count(*) FROM return_line l WHERE l.batch = b.id) AS line_count, "
    "(SELECT coalesce(max(line_no), 0) FROM return_line l WHERE l.batch = b.id) AS last_line_no")


@dataclass(frozen=True)
class LineInput:
    """One line as typed or imported, already parsed; validated by `check_line`."""

    product_id: int | None
    quantity: int | None
    reason_id: int | None = None
    reason_text: str = ""
    date_code: date | None = None
    purchase_date: date | None = None
    lights: bool = False
    cap_percent: int | None = None
    tube_greyed: bool = False
    bridge_blackened: bool = False
    broken: bool = False

    @property
    def condition(self) -> rules.Condition:
        return rules.Condition(self.lights, self.cap_percent, self.tube_greyed,
                               self.bridge_blackened, self.broken)


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


def _is_staff_of(actor: Actor, batch: dict) -> bool:
    return actor.organisation_id == batch["organisation"] and actor.has("dealer_clerk", "manager")


def _require_staff(actor: Actor, batch: dict) -> None:
    if not _is_staff_of(actor, batch):
        raise Forbidden("Only the office's own clerks and managers may do this.")


def _require_status(batch: dict, *statuses: str) -> None:
    if batch["status"] not in statuses:
        raise Conflict("This batch is %(status)s; the action is not possible now.",
                       status=batch["status"])


async def _move(actor: Actor, batch: dict, target: str, values: dict[str, Any],
                reason: str = "") -> None:
    """Change status (and fields) with an audit row; the caller holds the row lock."""
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
                       after={k: v for k, v in columns.items() if k != "status"} | {"status": target},
                       reason=reason)


async def actions_for(actor: Actor, batch: dict, now: datetime) -> dict:
    """What `actor` may do with `batch` now (rules.allowed_actions): the batch page shows it,
    the services enforce it through `_enforce`."""
    week = None
    if batch["status"] == "draft" and batch["kind"] == "regular" and batch["org_region"]:
        week = await week_for_region(batch["org_region"], clock.china_today(now))
    return rules.allowed_actions(
        status=batch["status"], kind=batch["kind"], month=batch["month"],
        line_count=batch["line_count"], is_staff=_is_staff_of(actor, batch),
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


async def _insert_draft(actor: Actor, special_approval_id: int | None) -> int:
    month = clock.china_today().replace(day=1)
    kind = "regular"
    async with ReturnBatch._meta.db.transaction():
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


async def use_special_approval(*, actor: Actor, batch_id: int, approval_id: int) -> dict:
    """R7, issue 9 §7: the office's existing regular draft uses a special approval granted
    after it was started. Its lines stay; it becomes the special batch of the approval's month,
    so it may be submitted outside the window and no longer counts as the month's one regular
    batch (R6: the office may start another). Returns the batch as it is now."""
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        _require_staff(actor, batch)
        _require_status(batch, "draft")
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


async def category_terms(product_ids: list[int]) -> dict[int, tuple[str, rules.CategoryTerms]]:
    """product id -> (model, warranty terms), one query for any number of products."""
    terms, _ = await validation_data(product_ids)
    return terms


async def validation_data(product_ids: list[int]) -> tuple[dict, set[int]]:
    """What line validation needs, in one query: the products' warranty terms and the active
    defect reason ids."""
    rows = await raw_fetch(
        "SELECT 'p' AS what, p.id, p.model, c.warranty_months, c.is_cfl FROM product p "
        "JOIN product_category c ON c.id = p.category WHERE p.active AND p.id = ANY($1::int[]) "
        "UNION ALL SELECT 'r', id, '', 0, false FROM reason_code WHERE kind = 'defect' AND active",
        product_ids)
    terms = {r["id"]: (r["model"], rules.CategoryTerms(r["warranty_months"], r["is_cfl"]))
             for r in rows if r["what"] == "p"}
    return terms, {r["id"] for r in rows if r["what"] == "r"}


def check_line(line: LineInput, terms: rules.CategoryTerms | None,
               reason_ids: set[int]) -> dict[str, str]:
    """Field errors of one line (R8: product, quantity, reason; CFLs also the date code)."""
    errors: dict[str, str] = {}
    if line.product_id is None or terms is None:
        errors["product"] = "Unknown product: choose a model from the catalogue."
    if line.quantity is None or not 1 <= line.quantity <= rules.MAX_LINE_QUANTITY:
        errors["quantity"] = "Quantity must be a whole number from 1 to 100,000."
    if line.reason_id is None or line.reason_id not in reason_ids:
        errors["reason"] = "Choose a defect reason."
    if len(line.reason_text) > 200:
        errors["reason_text"] = "Up to 200 characters."
    if terms is not None and terms.is_cfl and line.date_code is None:
        errors["date_code"] = "CFLs need the printed date code, e.g. 20250315 (R18d)."
    if line.cap_percent is not None and not 0 <= line.cap_percent <= 100:
        errors["cap_percent"] = "Between 0 and 100."
    today = clock.china_today()
    for name, value in (("date_code", line.date_code), ("purchase_date", line.purchase_date)):
        if value is not None and value > today:
            errors[name] = "This date is in the future."
    return errors


async def defect_reason_ids() -> set[int]:
    return {r["id"] for r in await ReasonCode.select(ReasonCode.id).where(
        (ReasonCode.kind == "defect") & (ReasonCode.active == True))}  # noqa: E712


async def preview_line(line: LineInput) -> tuple[dict[str, str], rules.Verdict | None]:
    """The expected verdict shown while the dealer types (R17, R18): errors, or the verdict."""
    terms = (await category_terms([line.product_id] if line.product_id else [])).get(
        line.product_id or 0)
    errors = check_line(line, terms[1] if terms else None, await defect_reason_ids())
    errors.pop("reason", None)  # not needed to show a verdict
    if terms is None or "date_code" in errors:
        return errors, None
    return errors, rules.expected_verdict(terms[1], line.condition, on=clock.china_today(),
                                          date_code=line.date_code,
                                          purchase_date=line.purchase_date)


async def add_lines(*, actor: Actor, batch_id: int, lines: list[LineInput]) -> int:
    """Add lines to a draft, all or nothing: every bad line is reported by its position and
    nothing is written until all are clean. Bulk insert: a fixed number of queries at any size."""
    if not lines:
        raise ValidationFailed({"lines": "No lines to add."})
    if len(lines) > MAX_LINES:
        raise ValidationFailed({"lines": "At most 2,000 lines per batch."})
    terms, reasons = await validation_data(sorted({l.product_id for l in lines if l.product_id}))
    problems = {}
    for index, line in enumerate(lines, start=1):
        errors = check_line(line, terms.get(line.product_id or 0, (None, None))[1], reasons)
        if errors:
            problems[index] = errors
    if problems:
        raise LineErrors(problems)
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        _require_staff(actor, batch)
        _require_status(batch, "draft")
        if batch["line_count"] + len(lines) > MAX_LINES:
            raise ValidationFailed({"lines": "At most 2,000 lines per batch."})
        await _insert_lines(batch, lines, audit.entry(
            actor=actor, object_type="return_batch", object_id=batch_id, action="add_lines",
            organisation_id=batch["organisation"],
            after={"lines": len(lines), "quantity": sum(l.quantity or 0 for l in lines)}))
    return len(lines)


_LINE_FIELDS = ("product", "quantity", "reason", "reason_text", "date_code", "purchase_date",
                "lights", "cap_percent", "tube_greyed", "bridge_blackened", "broken")
_LINE_TYPES = ("int", "int", "int", "text", "date", "date", "bool", "int", "bool", "bool", "bool")


async def _insert_lines(batch: dict, lines: list[LineInput], audit_row: tuple) -> None:
    """All lines and their audit row in one statement (unnest of column arrays): the number of
    round trips does not grow with the number of lines."""
    columns = [[l.product_id for l in lines], [l.quantity for l in lines],
               [l.reason_id for l in lines], [l.reason_text for l in lines],
               [l.date_code for l in lines], [l.purchase_date for l in lines],
               [l.lights for l in lines], [l.cap_percent for l in lines],
               [l.tube_greyed for l in lines], [l.bridge_blackened for l in lines],
               [l.broken for l in lines]]
    arrays = ", ".join(f"${i + 3}::{t}[]" for i, t in enumerate(_LINE_TYPES))
    first = 3 + len(columns)
    audit_params = audit.placeholders_from(first)
    fields = ", ".join(_LINE_FIELDS)
    await raw_fetch(
        f"WITH added AS (INSERT INTO return_line (batch, line_no, {fields}, extra, decision_note) "
        f"SELECT $1, $2 + t.ord, {', '.join('t.' + f for f in _LINE_FIELDS)}, false, '' "
        f"FROM unnest({arrays}) WITH ORDINALITY AS t({fields}, ord) RETURNING 1) "
        f"INSERT INTO audit_entry ({audit.COLUMNS}) VALUES ({audit_params})",
        batch["id"], batch["last_line_no"], *columns, *audit_row)


class LineErrors(ValidationFailed):
    """Errors per line number (row number of an import)."""

    def __init__(self, problems: dict[int, dict[str, str]]):
        super().__init__({f"line {n}": next(iter(e.values())) for n, e in problems.items()})
        self.problems = problems


async def remove_line(*, actor: Actor, batch_id: int, line_id: int) -> None:
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        _require_staff(actor, batch)
        _require_status(batch, "draft")
        removed = await ReturnLine.delete().where(
            (ReturnLine.id == line_id) & (ReturnLine.batch == batch_id)).returning(
            ReturnLine.line_no, ReturnLine.product, ReturnLine.quantity)
        if not removed:
            raise NotFound("Not found.")
        await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                           action="remove_line", organisation_id=batch["organisation"],
                           before=removed[0])


async def list_lines(batch_id: int) -> list[dict]:
    """Lines with their product or spare part (R23: faulty spares travel in the batch too)."""
    return await raw_fetch(
        "SELECT l.*, coalesce(p.model, s.code) AS model, coalesce(p.spec, '') AS spec, "
        "coalesce(p.name_zh, s.name_zh) AS name_zh, coalesce(p.name_en, s.name_en) AS name_en, "
        "c.warranty_months, c.is_cfl, "
        "r.name_zh AS reason_zh, r.name_en AS reason_en, "
        "rr.name_zh AS reject_zh, rr.name_en AS reject_en, rr.code AS reject_code "
        "FROM return_line l LEFT JOIN product p ON p.id = l.product "
        "LEFT JOIN product_category c ON c.id = p.category "
        "LEFT JOIN spare_part s ON s.id = l.spare_part "
        "LEFT JOIN reason_code r ON r.id = l.reason LEFT JOIN reason_code rr ON rr.id = l.reject_reason "
        "WHERE l.batch = $1 ORDER BY l.line_no", batch_id)


# --- submit, sign, approve ------------------------------------------------------------------------

async def submit_batch(*, actor: Actor, batch_id: int) -> None:
    """R5: a regular batch is submitted only inside its office's window (China time); a special
    batch (R7) at any time."""
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        _require_staff(actor, batch)
        _require_status(batch, "draft")
        now = clock.now()
        _enforce(await actions_for(actor, batch, now), "submit")  # R5, R7: the page's own words
        await _move(actor, batch, "submitted", {"submitted_by": actor.user_id, "submitted_at": now})
        await tell("batch_submitted", actor=actor, org_id=batch["organisation"],
                   params=_about(batch, lines=batch["line_count"]),
                   dedupe_key=f"{batch['number']}@{now.isoformat()}")


async def sign_batch(*, actor: Actor, batch_id: int, note: str = "") -> None:
    """R8: the office manager or a regional manager covering the office appraises and signs;
    never the person who submitted it."""
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        if not actor.has("manager"):
            raise Forbidden("Only the office manager or the regional manager may sign.")
        _require_status(batch, "submitted")
        _enforce(await actions_for(actor, batch, clock.now()), "sign")  # R8
        await _move(actor, batch, "signed", {"signed_by": actor.user_id,
                                             "signed_at": clock.now()}, reason=note[:500])
        await tell("batch_signed", actor=actor, org_id=batch["organisation"],
                   params=_about(batch), dedupe_key=batch["number"])


async def return_to_draft(*, actor: Actor, batch_id: int, reason: str) -> None:
    """The manager sends a submitted batch back for corrections instead of signing it."""
    if not reason.strip():
        raise ValidationFailed({"reason": "Say what must be corrected."})
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        if not actor.has("manager"):
            raise Forbidden("Only the office manager or the regional manager may sign.")
        _require_status(batch, "submitted")
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
    _require_status(batch, "signed")
    _enforce(await actions_for(actor, batch, clock.now()), "approve")  # R9
    return batch


async def approve_batch(*, actor: Actor, batch_id: int, disposition: str, note: str = "") -> None:
    """R9: CS approves: return to factory, or dispose locally (with evidence recorded after).
    Nobody approves what they submitted or signed. Concurrent approvals: one wins (row lock)."""
    if disposition not in ("return", "dispose"):
        raise ValidationFailed({"disposition": "Choose return to factory or dispose locally."})
    async with ReturnBatch._meta.db.transaction():
        batch = await _locked_for_cs_decision(actor, batch_id)
        await _move(actor, batch, "approved", {"approved_by": actor.user_id,
                                               "approved_at": clock.now(),
                                               "disposition": disposition}, reason=note[:500])
        await tell("batch_approved" if disposition == "return" else "batch_approved_dispose",
                   actor=actor, org_id=batch["organisation"], params=_about(batch),
                   dedupe_key=batch["number"])


async def refuse_batch(*, actor: Actor, batch_id: int, reason: str) -> None:
    if not reason.strip():
        raise ValidationFailed({"reason": "Give the reason for refusing."})
    async with ReturnBatch._meta.db.transaction():
        batch = await _locked_for_cs_decision(actor, batch_id)
        await _move(actor, batch, "refused", {"refused_reason": reason.strip()[:500],
                                              "approved_by": actor.user_id,
                                              "approved_at": clock.now()}, reason=reason.strip())
        await tell("batch_refused", actor=actor, org_id=batch["organisation"],
                   params=_about(batch, reason=reason.strip()[:500]), dedupe_key=batch["number"])


async def withdraw_batch(*, actor: Actor, batch_id: int, reason: str = "") -> None:
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        _require_staff(actor, batch)
        _require_status(batch, "draft")
        await _move(actor, batch, "withdrawn", {}, reason=reason.strip()[:500])


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
    if errors:
        raise ValidationFailed(errors)
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        _require_staff(actor, batch)
        _require_status(batch, "approved")
        if batch["disposition"] != "return":
            raise RuleViolation("This batch is to be disposed of locally, not shipped (R9).")
        await _move(actor, batch, "dispatched", {
            "carrier": carrier.strip(), "waybill": waybill.strip(), "packages": packages,
            "freight_fen": freight_fen, "dispatched_on": dispatched_on})
        await tell("batch_dispatched", actor=actor, org_id=batch["organisation"],
                   params=_about(batch, packages=packages, carrier=carrier.strip(),
                                 waybill=waybill.strip(), date=china_day(dispatched_on)),
                   dedupe_key=batch["number"])


async def record_disposal(*, actor: Actor, batch_id: int, evidence: str) -> None:
    """R9: goods disposed of locally, with the evidence (photos reference, witness, ...)."""
    if not evidence.strip():
        raise ValidationFailed({"evidence": "Describe the evidence of disposal."})
    async with ReturnBatch._meta.db.transaction():
        batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
        _require_staff(actor, batch)
        _require_status(batch, "approved")
        if batch["disposition"] != "dispose":
            raise RuleViolation("This batch is to be returned to the factory (R9).")
        await _move(actor, batch, "closed", {"disposal_evidence": evidence.strip()[:2000]})




def _condition(line: dict, prefix: str = "") -> rules.Condition:
    return rules.Condition(bool(line[prefix + "lights"]), line[prefix + "cap_percent"],
                           bool(line[prefix + "tube_greyed"]),
                           bool(line[prefix + "bridge_blackened"]), bool(line[prefix + "broken"]))


async def lines_with_verdicts(batch_id: int) -> list[dict]:
    """Each line with its expected verdict as filed (R17, R18; judged today) and, once HQ has
    inspected it, the verdict of the inspection, which is the one that decides."""
    today = clock.china_today()
    lines = await list_lines(batch_id)
    for line in lines:
        if line["spare_part"] is not None:  # R23: faulty spares are exchanged one for one
            line["verdict"] = line["inspected"] = rules.Verdict(True, ())
            continue
        terms = rules.CategoryTerms(line["warranty_months"], line["is_cfl"])
        dates = {"date_code": line["date_code"], "purchase_date": line["purchase_date"]}
        line["verdict"] = None if line["extra"] else rules.expected_verdict(
            terms, _condition(line), on=today, **dates)
        line["inspected"] = None if line["i_lights"] is None else rules.expected_verdict(
            terms, _condition(line, "i_"), on=today, **dates)
    return lines


async def list_products() -> list[dict]:
    return await Product.select(Product.id, Product.model, Product.spec, Product.name_zh,
                                Product.name_en).where(Product.active == True).order_by(  # noqa: E712
        Product.model)


async def reason_codes(kind: str) -> list[dict]:
    return await ReasonCode.select().where(
        (ReasonCode.kind == kind) & (ReasonCode.active == True)).order_by(ReasonCode.id)  # noqa: E712
