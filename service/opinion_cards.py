"""Opinion cards (R33): after each service the customer scores attitude, skill and punctuality
(1 to 5) and may comment — on the repair point's device, or on their own phone from a link or
QR code that works once and only for that service.

The link carries a random token; only its SHA-256 is stored (`opinion_card.token_hash`, as API
tokens and sessions in portal/auth.py), so the database never holds a working link. Handing the
card over again (a new link or the device mode) replaces the token: the older link stops
working. The public page shows the service (point, day, product) and nothing about the
customer; a filled card, a used link and an unknown one change nothing."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from portal import audit, clock
from portal.actor import Actor
from portal.auth import token_hash
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, NotFound, ValidationFailed
from service import call_queries, call_rules
from service.inputs import CardIn

CHANNELS = ("tablet", "link")
ALREADY_FILLED = "This opinion card has already been filled in. Thank you: nothing was changed."
UNKNOWN_LINK = "This opinion card link is not valid. Ask the repair point for a new one."

# Failed token lookups per client IP (portal/proxies.client_ip), kept in the database with
# the public forms' attempts (public_attempt, action "card_miss"), so every process counts the
# same: a guesser gets CARD_FAILURES_MAX wrong links per window, then waits. Tokens are 192
# random bits, so this only keeps the noise down.
CARD_FAILURES_MAX = 20
CARD_FAILURE_WINDOW = 600  # seconds
MISS = "card_miss"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def card_path(token: str) -> str:
    return f"/card/{token}"


async def lookups_blocked(ip: str) -> bool:
    """Too many unknown card links from this IP lately."""
    now = clock.now()
    rows = await raw_fetch(
        "SELECT count(*) AS n FROM public_attempt WHERE action = $1 AND ip = $2 AND at > $3",
        MISS, ip[:64], now - timedelta(seconds=CARD_FAILURE_WINDOW))
    return rows[0]["n"] >= CARD_FAILURES_MAX


async def note_failed_lookup(ip: str) -> None:
    await raw_fetch("INSERT INTO public_attempt (action, ip, at) VALUES ($1, $2, $3)",
                    MISS, ip[:64], clock.now())


async def issue_card(*, call_id: int, now: datetime) -> str:
    """R33: the card of a visited call, in the visit's transaction; returns its token."""
    token = new_token()
    await raw_fetch("INSERT INTO opinion_card (service_call, token_hash, issued_at, comments) "
                    "VALUES ($1, $2, $3, '')", call_id, token_hash(token), now)
    return token


@transactional
async def hand_over(*, actor: Actor, call_id: int, channel: str) -> str:
    """R33: a fresh one-time link for the call's card: shown as a link and a QR code for the
    customer's phone (`link`), or opened on the staff's device for the customer (`tablet`).
    The earlier link stops working. Refused once the card is filled in."""
    from service import calls  # calls issues cards: imported here, not at module level

    if channel not in CHANNELS:
        raise ValidationFailed({"channel": "Choose a link or this device."})
    call = await calls.locked_call(actor, call_id)
    calls.enforce(actor, call, "card")
    token = new_token()
    updated = await raw_fetch(
        "UPDATE opinion_card SET token_hash = $2, channel = $3, issued_at = $4 "
        "WHERE service_call = $1 AND submitted_at IS NULL RETURNING id",
        call_id, token_hash(token), channel, clock.now())
    if not updated:
        raise Conflict(ALREADY_FILLED)
    await audit.record(actor=actor, object_type="service_call", object_id=call_id,
                       action=f"card_{channel}", organisation_id=call["point_id"])
    return token


async def open_card(token: str) -> dict | None:
    """The card a link opens (None: no such link), with what its page may show."""
    if not token or len(token) > 100:
        return None
    return await call_queries.card_by_hash(token_hash(token))


@transactional
async def submit_card(*, token: str, data: CardIn) -> int:
    """R33: the customer's scores (1 to 5 each) and comments, once: a second submission (or
    the same link again) is refused and changes nothing. Returns the call's id."""
    rows = await raw_fetch(
        "SELECT oc.id, oc.service_call, oc.submitted_at, oc.channel, c.organisation "
        "FROM opinion_card oc JOIN service_call c ON c.id = oc.service_call "
        "WHERE oc.token_hash = $1 FOR UPDATE OF oc", token_hash(token or ""))
    if not rows:
        raise NotFound(UNKNOWN_LINK)
    card = rows[0]
    if card["submitted_at"] is not None:
        raise Conflict(ALREADY_FILLED)
    scores = {"attitude": data.attitude, "skill": data.skill, "punctuality": data.punctuality}
    errors = call_rules.score_problems(scores)
    if len(data.comments) > call_rules.CARD_COMMENTS_MAX:
        errors["comments"] = "At most 1,000 characters."
    if errors:
        raise ValidationFailed(errors)
    channel = card["channel"] or "link"
    await raw_fetch(
        "UPDATE opinion_card SET attitude = $2, skill = $3, punctuality = $4, comments = $5, "
        "channel = $6, submitted_at = $7 WHERE id = $1 AND submitted_at IS NULL",
        card["id"], data.attitude, data.skill, data.punctuality, data.comments.strip(),
        channel, clock.now())
    await audit.record(actor=None, object_type="service_call", object_id=card["service_call"],
                       action="card_filled", organisation_id=card["organisation"],
                       after={"channel": channel, **scores})
    return card["service_call"]
