"""Settlement policies and inputs: rebate policies (R26) and credit prices (R13), both HQ data
with history (a change is a new row from a date on), and purchase volumes. The period close is
in settlements/close.py, review and approval in settlements/statements.py."""
from __future__ import annotations

import json
from datetime import date

import asyncpg

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from settlements import rules

MAX_CREDIT_PRICE_FEN = 100_000_000  # ¥1,000,000 a unit: anything above is a typing error


def _finance(actor: Actor) -> None:
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")


async def set_rebate_policy(*, actor: Actor, effective_from: date, tiers: list[rules.Tier],
                            reason: str) -> None:
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    errors = rules.check_tiers(tiers)
    if effective_from.day != 1 or effective_from <= clock.china_today():
        errors["effective_from"] = "A change takes effect from the first of a future month."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if errors:
        raise ValidationFailed(errors)
    try:
        await _insert_rebate_policy(actor, effective_from, tiers, reason.strip())
    except asyncpg.exceptions.UniqueViolationError:  # rebate_policy_once: rows are never edited
        raise ValidationFailed({"effective_from": "A policy from that month is already set; "
                                                  "choose another month."}) from None


@transactional
async def _insert_rebate_policy(actor: Actor, effective_from: date, tiers: list[rules.Tier],
                                reason: str) -> None:
    await raw_fetch("INSERT INTO rebate_policy (effective_from, tiers, reason, created_by, "
                    "created_at) VALUES ($1, $2::jsonb, $3, $4, $5)", effective_from,
                    json.dumps([{"from_fen": t.from_fen, "rate_bp": t.rate_bp} for t in tiers]),
                    reason, actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="rebate_policy",
                       object_id=effective_from.isoformat(), action="set",
                       after={"tiers": [(t.from_fen, t.rate_bp) for t in tiers]},
                       reason=reason)


async def record_volume(*, actor: Actor, period: date, dealer_id: int, amount_fen: int) -> None:
    """One dealer's purchases of a month (a file of them: settlements.volume_import)."""
    _finance(actor)
    if amount_fen < 0:
        raise ValidationFailed({"amount": "Enter the amount received, e.g. 1200.00."})
    try:
        await _insert_volume(actor, period.replace(day=1), dealer_id, amount_fen)
    except asyncpg.exceptions.UniqueViolationError:
        raise ValidationFailed({"dealer": "This dealer's purchases are already imported for "
                                          "this month."}) from None


@transactional
async def _insert_volume(actor: Actor, period: date, dealer_id: int, amount_fen: int) -> None:
    await raw_fetch("INSERT INTO purchase_volume (period, dealer, amount_fen, imported_by, "
                    "imported_at) VALUES ($1, $2, $3, $4, $5)", period, dealer_id, amount_fen,
                    actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="purchase_volume",
                       object_id=period.isoformat(), action="recorded",
                       organisation_id=dealer_id, after={"amount_fen": amount_fen})


async def set_credit_price(*, actor: Actor, product_id: int, price_fen: int | None,
                           effective_from: date, reason: str) -> None:
    """R13: what one credited unit of a product is worth, from a date on (today or later: the
    past is never repriced); a batch is credited at the price of the day CS decided it."""
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    errors: dict[str, str] = {}
    if price_fen is None or not 0 <= price_fen <= MAX_CREDIT_PRICE_FEN:
        errors["price"] = "Enter the credit price of one unit, e.g. 35.00."
    if effective_from < clock.china_today():
        errors["effective_from"] = "A price takes effect from today or a later date."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if errors or price_fen is None:
        raise ValidationFailed(errors)
    product = await raw_fetch("SELECT id, model FROM product WHERE id = $1", product_id)
    if not product:
        raise NotFound("Not found.")
    try:
        await _insert_credit_price(actor, product[0], price_fen, effective_from, reason.strip())
    except asyncpg.exceptions.UniqueViolationError:
        raise ValidationFailed(
            {"effective_from": "A price from that date already exists."}) from None


@transactional
async def _insert_credit_price(actor: Actor, product: dict, price_fen: int, effective_from: date,
                               reason: str) -> None:
    before = await raw_fetch(
        "SELECT price_fen FROM credit_price WHERE product = $1 AND effective_from <= $2 "
        "ORDER BY effective_from DESC LIMIT 1", product["id"], effective_from)
    await raw_fetch("INSERT INTO credit_price (product, price_fen, effective_from, reason, "
                    "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)", product["id"],
                    price_fen, effective_from, reason, actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="credit_price", object_id=product["id"],
                       action="set", reason=reason,
                       before={"price_fen": before[0]["price_fen"]} if before else None,
                       after={"price_fen": price_fen, "model": product["model"],
                              "from": effective_from.isoformat()})


async def credit_price_history(product_id: int) -> list[dict]:
    """Every credit price of a product, newest first (the rows are the history)."""
    return await raw_fetch("SELECT c.*, u.display_name AS author FROM credit_price c "
                           "LEFT JOIN portal_user u ON u.id = c.created_by WHERE c.product = $1 "
                           "ORDER BY c.effective_from DESC", product_id)
