"""Rejected goods (R13 receipt column; seed 004 §5.2.6): the office chooses per decided batch to
have its rejected goods sent back (at the freight HQ's policy sets) or scrapped; HQ logistics
sends them back, or scraps them by lot, per product category, with the recycler and its
certificate (a document attached); lamps containing mercury are flagged on the lot."""
from __future__ import annotations

from goods import rules
from goods.inputs import CategoryFlagIn, RejectedChoiceIn, RejectedSentIn, ScrapLotIn
from portal import attachments, audit, clock, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell

SUBJECT = "goods.scrap_lot"
REJECTED_STATUS_LABELS = {"to_return": "To be sent back", "returned": "Sent back",
                          "to_scrap": "To be scrapped", "scrapped": "Scrapped"}
CHOICE_LABELS = {"return": "Send them back to us", "scrap": "Scrap and recycle them at head office"}


def is_hq(actor: Actor, *roles: str) -> bool:
    return actor.organisation_kind == "hq" and actor.has(*roles)


async def batch_rejected(*, actor: Actor, batch_id: int) -> dict:
    """The batch (R1: NotFound outside scope) with its rejected total and the office's choice."""
    rows = await raw_fetch(
        "SELECT b.id, b.number, b.status, b.organisation, o.path AS org_path, o.name AS org_name, "
        "o.name_en AS org_name_en, (SELECT coalesce(sum(l.rejected_qty), 0) FROM return_line l "
        "WHERE l.batch = b.id)::int AS rejected, g.id AS choice_id, g.status AS choice_status, "
        "g.freight_fen, g.carrier, g.waybill, g.sent_on, g.chosen_at "
        "FROM return_batch b JOIN organisation o ON o.id = b.organisation "
        "LEFT JOIN goods_rejected g ON g.batch = b.id WHERE b.id = $1", batch_id)
    if not rows or not actor.can_see_path(rows[0]["org_path"]):
        raise NotFound("Not found.")
    return rows[0]


def rejected_actions(actor: Actor, row: dict) -> dict[str, rules.Refusal | None]:
    actions: dict[str, rules.Refusal | None] = {}
    decided = row["status"] in ("dispositioned", "closed") and row["rejected"] > 0
    if actor.organisation_id == row["organisation"] and actor.has("dealer_clerk", "manager"):
        actions["choose"] = None if decided and row["choice_status"] is None else rules.Refusal(
            "The choice is made once, after the decision, for rejected goods.")
    if is_hq(actor, "hq_logistics"):
        actions["send"] = None if row["choice_status"] == "to_return" else rules.Refusal(
            "Only goods the office asked back are sent back.")
    return actions


def _enforce(actions: dict, action: str, refused: Forbidden) -> None:
    if action not in actions:
        raise refused
    if actions[action] is not None:
        raise Conflict(actions[action].message, **actions[action].kwargs)


def _about(row: dict, **extra) -> dict:
    return {"number": row["number"], "batch_id": row["id"], "office": names(row, "org_name"),
            **extra}


@transactional
async def choose(*, actor: Actor, batch_id: int, data: RejectedChoiceIn) -> str:
    """The office's choice for its rejected goods, once (a unique batch in goods_rejected)."""
    await raw_fetch("SELECT id FROM return_batch WHERE id = $1 FOR UPDATE", batch_id)
    row = await batch_rejected(actor=actor, batch_id=batch_id)
    _enforce(rejected_actions(actor, row), "choose",
             Forbidden("Only the office's own clerks and managers choose for its rejected goods."))
    if data.choice not in rules.CHOICES:
        raise ValidationFailed({"choice": "Choose: sent back or scrapped."})
    freight = rules.return_freight(data.choice, await policy.value_on(
        "rejected_return_freight_fen", clock.china_today()))
    status = rules.rejected_status(data.choice)
    await raw_fetch(
        "INSERT INTO goods_rejected (batch, organisation, status, quantity, freight_fen, "
        "chosen_by, chosen_at, carrier, waybill) VALUES ($1, $2, $3, $4, $5, $6, $7, '', '')",
        batch_id, row["organisation"], status, row["rejected"], freight, actor.user_id,
        clock.now())
    await audit.record(actor=actor, object_type="goods_rejected", object_id=batch_id,
                       action=status, organisation_id=row["organisation"],
                       after={"quantity": row["rejected"], "freight_fen": freight})
    await tell("rejected_goods_chosen", actor=actor, org_id=row["organisation"],
               params=_about(row, quantity=row["rejected"],
                             choice={"zh_CN": "退回" if data.choice == "return" else "报废回收",
                                     "en": "sent back" if data.choice == "return"
                                     else "scrapped and recycled"}),
               dedupe_key=f"rejected-{batch_id}")
    return status


@transactional
async def send_back(*, actor: Actor, batch_id: int, data: RejectedSentIn) -> None:
    await raw_fetch("SELECT id FROM goods_rejected WHERE batch = $1 FOR UPDATE", batch_id)
    row = await batch_rejected(actor=actor, batch_id=batch_id)
    _enforce(rejected_actions(actor, row), "send",
             Forbidden("Only HQ logistics sends rejected goods back."))
    errors = rules.check_shipping(carrier=data.carrier, waybill=data.waybill, packages=1,
                                  shipped_on=data.sent_on, today=clock.china_today())
    if errors:
        raise ValidationFailed({"sent_on" if k == "shipped_on" else k: v
                                for k, v in errors.items()})
    await raw_fetch(
        "UPDATE goods_rejected SET status = 'returned', carrier = $2, waybill = $3, sent_on = $4, "
        "sent_by = $5 WHERE batch = $1", batch_id, data.carrier.strip(), data.waybill.strip(),
        data.sent_on, actor.user_id)
    await audit.record(actor=actor, object_type="goods_rejected", object_id=batch_id,
                       action="returned", organisation_id=row["organisation"],
                       after={"carrier": data.carrier, "waybill": data.waybill})
    await tell("rejected_goods_sent", actor=actor, org_id=row["organisation"],
               params=_about(row, quantity=row["rejected"], carrier=data.carrier.strip(),
                             waybill=data.waybill.strip(), date=data.sent_on.isoformat()),
               dedupe_key=f"rejected-sent-{batch_id}")


# --- scrap lots ----------------------------------------------------------------------------------

WAITING = (  # rejected lines of batches to scrap, not yet in a lot, by category
    "SELECT l.id, l.rejected_qty, p.category FROM return_line l "
    "JOIN goods_rejected g ON g.batch = l.batch AND g.status = 'to_scrap' "
    "JOIN product p ON p.id = l.product "
    "WHERE l.rejected_qty > 0 AND NOT EXISTS (SELECT 1 FROM goods_scrap_item i "
    "WHERE i.return_line = l.id)")


async def waiting_by_category() -> list[dict]:
    """What waits to be scrapped, per category, with the mercury flag (one query)."""
    return await raw_fetch(
        f"SELECT c.id AS category_id, c.code, c.name_zh, c.name_en, "
        "coalesce(f.contains_mercury, c.is_cfl) AS contains_mercury, "
        "coalesce(sum(w.rejected_qty), 0)::int AS waiting FROM product_category c "
        f"LEFT JOIN ({WAITING}) w ON w.category = c.id "
        "LEFT JOIN goods_category_flag f ON f.category = c.id "
        "GROUP BY c.id, f.contains_mercury ORDER BY c.code")


def _require_logistics(actor: Actor) -> None:
    if not is_hq(actor, "hq_logistics"):
        raise Forbidden("Only HQ logistics scraps rejected goods.")


@transactional
async def record_scrap_lot(*, actor: Actor, data: ScrapLotIn,
                           certificate: tuple[str, bytes] | None = None) -> int:
    """Everything of the category waiting to be scrapped becomes one lot (one statement), with
    the recycler and its certificate number; the certificate document is attached to the lot."""
    _require_logistics(actor)
    errors = {}
    if not data.recycler.strip() or len(data.recycler) > 120:
        errors["recycler"] = "Name the recycler (at most 120 characters)."
    if not data.certificate_no.strip() or len(data.certificate_no) > 60:
        errors["certificate_no"] = "Enter the recycling certificate's number (at most 60 characters)."
    today = clock.china_today()
    if data.scrapped_on > today or data.scrapped_on < today - rules.SHIP_BACKDATE:
        errors["scrapped_on"] = "The date is today or within the last 30 days."
    category = await raw_fetch(
        "SELECT c.code, coalesce(f.contains_mercury, c.is_cfl) AS mercury FROM product_category c "
        "LEFT JOIN goods_category_flag f ON f.category = c.id WHERE c.id = $1", data.category_id)
    if not category:
        errors["category_id"] = "Choose a product category."
    if errors:
        raise ValidationFailed(errors)
    await raw_fetch("SELECT pg_advisory_xact_lock(7131, $1)", data.category_id)
    sequence = (await raw_fetch("SELECT count(*)::int + 1 AS n FROM goods_scrap_lot "
                                "WHERE scrapped_on = $1", data.scrapped_on))[0]["n"]
    lot = await raw_fetch(
        f"WITH w AS ({WAITING} AND p.category = $1), "
        "lot AS (INSERT INTO goods_scrap_lot (number, category, quantity, contains_mercury, "
        "recycler, certificate_no, scrapped_on, recorded_by, recorded_at) "
        "SELECT $2, $1, sum(rejected_qty), $3, $4, $5, $6, $7, $8 FROM w HAVING count(*) > 0 "
        "RETURNING id), items AS (INSERT INTO goods_scrap_item (lot, return_line, quantity) "
        "SELECT lot.id, w.id, w.rejected_qty FROM lot, w RETURNING return_line) "
        "SELECT lot.id, (SELECT count(*) FROM items) AS n FROM lot",
        data.category_id, rules.lot_number(category[0]["code"], data.scrapped_on, sequence),
        category[0]["mercury"], data.recycler.strip(), data.certificate_no.strip(),
        data.scrapped_on, actor.user_id, clock.now())
    if not lot:
        raise RuleViolation("Nothing of this category waits to be scrapped.")
    lot_id = lot[0]["id"]
    # a batch whose rejected goods are all in lots now is scrapped
    await raw_fetch(
        "UPDATE goods_rejected g SET status = 'scrapped' WHERE g.status = 'to_scrap' "
        "AND NOT EXISTS (SELECT 1 FROM return_line l WHERE l.batch = g.batch "
        "AND l.rejected_qty > 0 AND NOT EXISTS (SELECT 1 FROM goods_scrap_item i "
        "WHERE i.return_line = l.id))")
    await audit.record(actor=actor, object_type="goods_scrap_lot", object_id=lot_id,
                       action="scrapped", after={"category": data.category_id,
                                                 "recycler": data.recycler,
                                                 "certificate_no": data.certificate_no,
                                                 "mercury": category[0]["mercury"]})
    if certificate is not None:
        await attachments.attach(actor=actor, subject_name=SUBJECT, subject_id=lot_id,
                                 filename=certificate[0], data=certificate[1])
    return int(lot_id)


async def get_lot(*, actor: Actor, lot_id: int) -> dict:
    """A scrap lot: head office's record (offices read their batches' state on the batch)."""
    if actor.organisation_kind != "hq":
        raise NotFound("Not found.")
    rows = await raw_fetch(
        "SELECT s.*, c.code, c.name_zh, c.name_en, u.display_name AS recorded_by_name "
        "FROM goods_scrap_lot s JOIN product_category c ON c.id = s.category "
        "JOIN portal_user u ON u.id = s.recorded_by WHERE s.id = $1", lot_id)
    if not rows:
        raise NotFound("Not found.")
    lot = rows[0]
    lot["items"] = await raw_fetch(
        "SELECT i.quantity, l.line_no, b.id AS batch_id, b.number, p.model FROM goods_scrap_item i "
        "JOIN return_line l ON l.id = i.return_line JOIN return_batch b ON b.id = l.batch "
        "JOIN product p ON p.id = l.product WHERE i.lot = $1 ORDER BY b.number, l.line_no", lot_id)
    return lot


async def lot_owner(actor: Actor, lot_id: int) -> int:
    """attachments: a lot belongs to head office (the recorder's organisation)."""
    lot = await get_lot(actor=actor, lot_id=lot_id)
    return int((await raw_fetch("SELECT organisation FROM portal_user WHERE id = $1",
                                lot["recorded_by"]))[0]["organisation"])


async def may_attach_certificate(actor: Actor, lot_id: int) -> None:
    _require_logistics(actor)


async def list_lots() -> list[dict]:
    return await raw_fetch(
        "SELECT s.id, s.number, s.quantity, s.contains_mercury, s.recycler, s.certificate_no, "
        "s.scrapped_on, c.name_zh, c.name_en, (SELECT count(*) FROM attachment a "
        "WHERE a.subject = $1 AND a.subject_id = s.id)::int AS documents "
        "FROM goods_scrap_lot s JOIN product_category c ON c.id = s.category "
        "ORDER BY s.id DESC LIMIT 200", SUBJECT)


@transactional
async def set_category_flag(*, actor: Actor, data: CategoryFlagIn) -> None:
    if not is_hq(actor, "hq_logistics", "hq_admin"):
        raise Forbidden("Only HQ logistics or the administrator flags categories.")
    if not await raw_fetch("SELECT 1 FROM product_category WHERE id = $1", data.category_id):
        raise ValidationFailed({"category_id": "Choose a product category."})
    await raw_fetch(
        "INSERT INTO goods_category_flag (category, contains_mercury) VALUES ($1, $2) "
        "ON CONFLICT (category) DO UPDATE SET contains_mercury = $2",
        data.category_id, data.contains_mercury)
    await audit.record(actor=actor, object_type="goods_category_flag",
                       object_id=data.category_id, action="mercury_flag",
                       after={"contains_mercury": data.contains_mercury})
