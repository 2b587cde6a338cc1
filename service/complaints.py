"""Complaints (R32): recorded by staff from any channel or by a consumer on the public form; the
SLA clocks (HQ's policy) set at recording, and `escalate_overdue_complaints`, the periodic job
that tells CS (and the vice-president, for a major one) of breaches. The consumer's side (no
account): `record_public_complaint`, `public_status` and the rate limit
`admit_public_attempt`, kept in the database so it holds across processes.

The eight steps after recording are service/complaint_steps.py."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from portal import audit, clock, policy
from portal.actor import Actor
from portal.db import in_transaction, raw_executemany, raw_fetch, transactional
from portal.errors import Conflict, Forbidden, ValidationFailed
from portal.handoffs import names, tell
from portal.i18n import translate
from service import complaint_queries, complaint_rules, rules
from service.customers import open_customer
from service.inputs import ComplaintIn, PublicComplaintIn

ASKS_MAX = 2000


async def get_complaint(*, actor: Actor, complaint_id: int, lock: bool = False) -> dict:
    return await complaint_queries.get_complaint_row(actor=actor, complaint_id=complaint_id, lock=lock)


def text_field(errors: dict, field: str, value: str, *, required: str | None = None,
          limit: int = complaint_rules.COMPLAINT_TEXT_MAX) -> str:
    """A text field stripped; `required` is the message when it is empty."""
    value = (value or "").strip()
    if required and not value:
        errors[field] = required
    elif len(value) > limit:
        errors[field] = "This is too long: shorten it, please."
    return value


# --- step 1: record -------------------------------------------------------------------------

async def _check_subject(errors: dict, about: str, product: int | None, org: int | None,
                         person: str) -> tuple[int | None, int | None, str]:
    """What the complaint is about, checked: a product of the catalogue, an active repair point
    or office of the network, a person's name, or other."""
    if about not in complaint_rules.COMPLAINT_ABOUT:
        errors["about"] = "Choose what the complaint is about."
        return None, None, ""
    if about == "product":
        found = product is not None and await raw_fetch(
            "SELECT 1 FROM product WHERE id = $1 AND active", product)
        if not found:
            errors["about_product"] = "Choose the product from the catalogue."
        return product, None, ""
    if about in ("repair_point", "office"):
        kinds = ["repair_point"] if about == "repair_point" else ["office", "agent"]
        found = org is not None and await raw_fetch(
            "SELECT 1 FROM organisation WHERE id = $1 AND active AND kind = ANY($2::text[])",
            org, kinds)
        if not found:
            errors["about_org"] = "Choose the repair point or office from the list."
        return None, org, ""
    if about == "person":
        person = text_field(errors, "about_person", person, limit=80,
                       required="Name the person (or their role) the complaint is about.")
    return None, None, person if about == "person" else ""


async def _record(*, actor: Actor | None, organisation_id: int, channel: str,
                  data: ComplaintIn | PublicComplaintIn) -> dict:
    errors: dict[str, str] = {}
    name = text_field(errors, "name", data.name, limit=80, required="Enter the customer's name.")
    phone = rules.normalise_phone(data.phone)
    if phone is None:
        errors["phone"] = "Enter a phone number of 5 to 20 digits."
    if channel not in complaint_rules.COMPLAINT_CHANNELS:
        errors["channel"] = "Choose how the complaint came in."
    product, org, person = await _check_subject(errors, data.about, data.about_product,
                                                data.about_org, data.about_person)
    description = text_field(errors, "description", data.description,
                        required="Describe what the complaint is about.")
    asks = text_field(errors, "asks", data.asks, limit=ASKS_MAX)
    if errors:
        raise ValidationFailed(errors)
    customer = await open_customer(actor=actor, organisation_id=organisation_id, name=name,
                                   phone=phone or "")
    now = clock.now()
    today = clock.china_today(now)
    acknowledge_by, resolve_by = complaint_rules.complaint_deadlines(
        now, await policy.value_on("complaint_acknowledge_hours", today),
        await policy.value_on("complaint_resolve_days", today))
    for _ in range(5):  # a reference already taken (about 1 in 10^12) draws another
        reference = "TS" + "".join(secrets.choice(complaint_rules.REFERENCE_ALPHABET)
                                   for _ in range(complaint_rules.REFERENCE_LENGTH))
        rows = await raw_fetch(
            "INSERT INTO complaint (reference, organisation, customer, name, phone, channel, "
            "about, about_org, about_product, about_person, description, asks, status, "
            "recorded_by, recorded_at, acknowledge_by, resolve_by) VALUES ($1, $2, $3, $4, $5, "
            "$6, $7, $8, $9, $10, $11, $12, 'recorded', $13, $14, $15, $16) "
            "ON CONFLICT (reference) DO NOTHING RETURNING id",
            reference, organisation_id, customer, name, phone, channel, data.about, org, product,
            person, description, asks, actor.user_id if actor else None, now, acknowledge_by,
            resolve_by)
        if rows:
            break
    else:
        raise Conflict("Please try again.")
    complaint_id = rows[0]["id"]
    await audit.record(actor=actor, object_type="complaint", object_id=complaint_id,
                       action="recorded", organisation_id=organisation_id,
                       after={"reference": reference, "channel": channel, "about": data.about,
                              "acknowledge_by": acknowledge_by, "resolve_by": resolve_by})
    org_row = (await raw_fetch("SELECT name AS org_name, name_en AS org_name_en FROM organisation "
                               "WHERE id = $1", organisation_id))[0]
    await tell("complaint_recorded", actor=actor, dedupe_key=reference, params={
        "reference": reference, "complaint_id": complaint_id, "org": names(org_row, "org_name"),
        "due": acknowledge_by.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")})
    return {"id": complaint_id, "reference": reference, "acknowledge_by": acknowledge_by,
            "resolve_by": resolve_by}


@transactional
async def record_complaint(*, actor: Actor, data: ComplaintIn) -> dict:
    """R32: staff record a complaint from any channel; it belongs to their organisation."""
    if not complaint_rules.may_record_complaint(actor):
        raise Forbidden("Repair-point staff, store and office clerks and managers, and customer "
                        "service record complaints (R32).")
    return await _record(actor=actor, organisation_id=actor.organisation_id,
                         channel=data.channel, data=data)


@transactional
async def record_public_complaint(*, data: PublicComplaintIn) -> dict:
    """R32: a consumer's complaint from the public form; head office holds it (CS triages)."""
    hq = await raw_fetch("SELECT id FROM organisation WHERE kind = 'hq' AND active "
                         "ORDER BY id LIMIT 1")
    if not hq:
        raise Conflict("Complaints cannot be received at the moment. Please call us.")
    return await _record(actor=None, organisation_id=hq[0]["id"], channel="web", data=data)


# --- SLA escalation (a periodic job) --------------------------------------------------------

_ESCALATE = f"""
WITH due AS (
  SELECT c.id, (c.judged_at IS NULL AND c.acknowledge_by < $1 AND c.escalated_at IS NULL) AS ack,
         (c.told_at IS NULL AND c.resolve_by < $1 AND c.resolve_escalated_at IS NULL) AS late
  FROM complaint c
  WHERE {complaint_queries.COMPLAINT_BREACHING} AND ((c.judged_at IS NULL AND c.escalated_at IS NULL
        AND c.acknowledge_by < $1) OR (c.told_at IS NULL AND c.resolve_escalated_at IS NULL
        AND c.resolve_by < $1))
  ORDER BY c.id FOR UPDATE OF c SKIP LOCKED)
UPDATE complaint c SET
  escalated_at = CASE WHEN due.ack THEN $1 ELSE c.escalated_at END,
  resolve_escalated_at = CASE WHEN due.late THEN $1 ELSE c.resolve_escalated_at END
FROM due WHERE c.id = due.id
RETURNING c.id, c.reference, c.major, c.status, c.organisation, c.acknowledge_by, c.resolve_by,
          due.ack, due.late
"""
LATE_LABELS = {  # what is late, in the notice (msgids)
    "ack": "not judged in time",
    "late": "not answered in time: the customer has not been told",
}


@transactional
async def escalate_overdue_complaints(now: datetime) -> int:
    """R32: every complaint past a deadline and not yet escalated for it is marked and its
    escalation recorded, set-based (one statement finds and marks them, one writes their audit
    rows), then CS is told once per complaint (and the vice-president of a major one); never
    twice for the same deadline. Also forgets public-form attempts older than a day."""
    rows = await raw_fetch(_ESCALATE, now)
    await raw_fetch("DELETE FROM public_attempt WHERE at < $1", now - timedelta(days=1))
    if not rows:
        return 0
    await raw_executemany(
        f"INSERT INTO audit_entry ({audit.COLUMNS}) VALUES ({audit.PLACEHOLDERS})",
        [audit.entry(actor=None, object_type="complaint", object_id=r["id"], action="escalated",
                     organisation_id=r["organisation"],
                     after={"escalated": "late" if r["late"] else "ack"},
                     reason=LATE_LABELS["late" if r["late"] else "ack"]) for r in rows])
    for r in rows:
        which = "late" if r["late"] else "ack"
        due = r["resolve_by"] if which == "late" else r["acknowledge_by"]
        await tell("complaint_overdue_major" if r["major"] else "complaint_overdue", actor=None,
                   dedupe_key=f"{r['reference']}:{which}", params={
                       "reference": r["reference"], "complaint_id": r["id"],
                       "what": {loc: translate(LATE_LABELS[which], loc) for loc in ("zh_CN", "en")},
                       "due": due.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")})
    return len(rows)


# --- the consumer's side: rate limit and status ---------------------------------------------

async def admit_public_attempt(action: str, ip: str, now: datetime | None = None) -> bool:
    """One atomic decision per request to a public form: under an advisory lock on the action
    and the IP, count that IP's recent requests and record this one if under the limit
    (service.rules.PUBLIC_LIMITS). Its own transaction: a refused or failed form still counts."""
    limit, seconds = complaint_rules.PUBLIC_LIMITS[action]
    at = now or clock.now()

    async def decide() -> bool:
        await raw_fetch("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
                        "public:" + action, ip[:64])
        rows = await raw_fetch(
            "INSERT INTO public_attempt (action, ip, at) SELECT $1::varchar, $2::varchar, $3 "
            "WHERE (SELECT count(*) FROM public_attempt WHERE action = $1::varchar "
            "AND ip = $2::varchar AND at > $4) < $5 RETURNING id",
            action, ip[:64], at, at - timedelta(seconds=seconds), limit)
        return bool(rows)

    return await in_transaction(decide)


async def public_status(*, reference: str, phone: str) -> dict | None:
    """R32: the complaint with this reference AND this phone number, or None: a wrong
    reference and a wrong phone get the same None (one query either way), so a reference never
    reveals whether it exists or whose it is."""
    ref, digits = complaint_rules.normalise_reference(reference), rules.normalise_phone(phone)
    rows = await raw_fetch(
        "SELECT reference, status, recorded_at, judgement, resolution, told_at, closed_at "
        "FROM complaint WHERE reference = $1 AND phone = $2",
        ref if complaint_rules.is_reference(ref) else "", digits or "")
    return rows[0] if rows else None

