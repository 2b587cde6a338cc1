"""The customer archive's core (R34): finding or opening a customer's file. Complaints (R32)
and service calls (R33) attach to it; the archive pages (service/archive.py) read it."""
from __future__ import annotations

from datetime import date

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import ValidationFailed
from portal.network import get_organisation
from service import rules


async def open_customer(*, actor: Actor | None, organisation_id: int, name: str, phone: str,
                        address: str = "", area: str = "",
                        purchased_on: date | None = None) -> int:
    """The file of the customer with this phone number held by `organisation_id`, opened now
    if there is none; its last activity is now. Runs in the caller's transaction. `actor` None:
    a consumer on a public form (the organisation was chosen by the service, not by them)."""
    digits = rules.normalise_phone(phone)
    errors = {}
    if digits is None:
        errors["phone"] = "Enter a phone number of 5 to 20 digits."
    if not name.strip() or len(name.strip()) > 80:
        errors["name"] = "Enter the customer's name (up to 80 characters)."
    if len(address) > 200 or len(area) > 80:
        errors["address"] = "The address is too long."
    if errors:
        raise ValidationFailed(errors)
    if actor is not None:
        await get_organisation(actor=actor, org_id=organisation_id)  # 404 outside the scope (R1)
    now = clock.now()
    found = await raw_fetch(
        "UPDATE customer SET last_activity_at = $3, "
        "address = CASE WHEN $4 <> '' THEN $4 ELSE address END, "
        "area = CASE WHEN $5 <> '' THEN $5 ELSE area END, "
        "purchased_on = coalesce(purchased_on, $6) "
        "WHERE id = (SELECT id FROM customer WHERE organisation = $1 AND phone = $2 "
        "AND erased_at IS NULL ORDER BY id LIMIT 1) RETURNING id",
        organisation_id, digits, now, address.strip(), area.strip(), purchased_on)
    if found:
        return found[0]["id"]
    return (await raw_fetch(
        "INSERT INTO customer (organisation, name, phone, address, area, purchased_on, "
        "opened_by, opened_at, last_activity_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) "
        "RETURNING id", organisation_id, name.strip(), digits, address.strip(), area.strip(),
        purchased_on, actor.user_id if actor else None, now))[0]["id"]
