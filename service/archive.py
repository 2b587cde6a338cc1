"""The customer archive (R34): one file per customer from the day of purchase, with what they
bought, their repairs (R19), service calls and opinion cards (R33), complaints and praise (R32),
and return visits. Seen by the organisation holding the file and those above it, never by a
sibling (R1: 404); name, phone and address in full only to those who need them (the holding
organisation and HQ customer service), masked for everyone else. The owner may have their data
exported (audited with the request's reference), and a file idle longer than HQ's retention
setting loses its personal data (`erase_expired_customers`), keeping its facts."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from portal import audit, clock, policy
from portal.actor import Actor
from portal.clock import CHINA
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.listing import like_pattern
from portal.network import get_organisation
from service import archive_queries, archive_rules
from service.customers import open_customer
from service.inputs import CustomerIn, PurchaseIn

RETENTION_KEY = "customer_retention_months"


def check_archive(actor: Actor) -> None:
    if not archive_rules.may_open_archive(actor):
        raise Forbidden("Your role does not use the customer archive.")


def shown(row: dict, actor: Actor) -> dict:
    """A customer row as this reader may read it: contact masked unless they need it (R34)."""
    full = archive_rules.sees_personal_data(actor, row["organisation"])
    return {**row, **archive_rules.contact(row, full), "full": full}


async def get_customer(*, actor: Actor, customer_id: int) -> dict:
    """The file as this reader may see it; NotFound outside their scope (R1)."""
    check_archive(actor)
    row = await archive_queries.customer_row(customer_id)
    if row is None or not actor.can_see_path(row["org_path"]):
        raise NotFound("Not found.")
    return {**shown(row, actor), "digits": row["phone"]}


async def customer_file(*, actor: Actor, customer_id: int) -> dict:
    """Everything the file keeps (a fixed number of queries whatever it holds)."""
    customer = await get_customer(actor=actor, customer_id=customer_id)
    calls = await archive_queries.customer_calls(customer_id)
    complaints = await archive_queries.customer_complaints(customer_id)
    praise = [{"kind": "card", "at": c["submitted_at"], "text": c["card_comments"], "ref": c["number"]}
              for c in calls if c["submitted_at"]
              and archive_rules.is_praise(c["attitude"], c["skill"], c["punctuality"])]
    praise += [{"kind": "suggestion", "at": c["recorded_at"], "text": c["description"],
                "ref": c["reference"]} for c in complaints if c["kind"] == "suggestion"]
    return {
        "customer": customer,
        "products": await archive_queries.customer_products(customer_id),
        "repairs": await archive_queries.customer_repairs(actor=actor, phone=customer["digits"]),
        "calls": calls, "complaints": complaints,
        "praise": sorted(praise, key=lambda p: p["at"], reverse=True),
        "visits": await archive_queries.customer_visits(customer_id),
        "answers": await archive_queries.customer_survey_answers(customer_id),
    }


async def list_customers(*, actor: Actor, name: str | None = None, phone: str | None = None,
                         organisation_id: int | None = None, after_id: int | None = None,
                         limit: int = archive_queries.ARCHIVE_PAGE) -> list[dict]:
    """The files in scope, searched by name or phone digits, masked per reader (R34)."""
    check_archive(actor)
    digits = "".join(ch for ch in phone or "" if ch.isdigit()) or None
    rows = await archive_queries.list_customers(
        actor=actor, name=like_pattern(name) if name else None, phone=digits,
        organisation_id=organisation_id, after_id=after_id, limit=limit)
    return [shown(r, actor) for r in rows]


def _writer(actor: Actor, customer: dict) -> None:
    """Who writes into a file: its holder's people and HQ customer service (R34)."""
    if actor.read_only or not customer["full"]:
        raise Forbidden("Only the organisation holding the file or head office customer "
                        "service may do this.")


@transactional
async def open_file(*, actor: Actor, data: CustomerIn) -> int:
    """Open the customer's file at the reader's organisation (HQ customer service: at the
    organisation named), or find it by phone there; the file starts on the day of purchase."""
    check_archive(actor)
    org_id = data.organisation_id or actor.organisation_id
    if actor.organisation_kind == "hq":
        if not actor.has("hq_cs"):
            raise Forbidden("Only the organisation holding the file or head office customer "
                            "service may do this.")
        if not data.organisation_id:
            raise ValidationFailed({"organisation_id": "Choose the organisation holding the file."})
    elif org_id != actor.organisation_id or actor.read_only:
        raise Forbidden("Only the organisation holding the file or head office customer "
                        "service may do this.")
    org = await get_organisation(actor=actor, org_id=org_id)
    if org["kind"] not in archive_rules.ARCHIVE_ORG_KINDS:
        raise ValidationFailed({"organisation_id": "Customer files are held by stores, offices "
                                                   "and repair points."})
    if data.purchased_on and data.purchased_on > clock.china_today():
        raise ValidationFailed({"purchased_on": "The purchase date cannot be in the future."})
    customer_id = await open_customer(actor=actor, organisation_id=org_id, name=data.name,
                                      phone=data.phone, address=data.address, area=data.area,
                                      purchased_on=data.purchased_on)
    await audit.record(actor=actor, object_type="customer", object_id=customer_id,
                       action="open", organisation_id=org_id,
                       after={"purchased_on": data.purchased_on})
    return customer_id


@transactional
async def record_purchase(*, actor: Actor, customer_id: int, data: PurchaseIn) -> int:
    """R34: a product the customer bought (quantity, date, proof, the selling organisation)."""
    customer = await get_customer(actor=actor, customer_id=customer_id)
    _writer(actor, customer)
    if customer["erased_at"]:
        raise RuleViolation("This file's personal data was erased: open a new file for the "
                            "customer.")
    errors: dict[str, str] = {}
    if not 1 <= data.quantity <= 10_000:
        errors["quantity"] = "Enter a quantity from 1 to 10,000."
    if data.purchased_on > clock.china_today():
        errors["purchased_on"] = "The purchase date cannot be in the future."
    if len(data.proof) > 120:
        errors["proof"] = "At most 120 characters."
    if not await raw_fetch("SELECT 1 FROM product WHERE id = $1", data.product_id):
        errors["product_id"] = "Choose a product from the catalogue."
    sold_by = data.sold_by_id or customer["organisation"]
    if data.sold_by_id:
        try:
            await get_organisation(actor=actor, org_id=data.sold_by_id)
        except NotFound:
            errors["sold_by_id"] = "Choose an organisation you can see."
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    purchase_id = (await raw_fetch(
        "WITH p AS (INSERT INTO customer_product (customer, product, quantity, purchased_on, "
        "proof, sold_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id) "
        "UPDATE customer SET last_activity_at = $7, purchased_on = "
        "least(coalesce(purchased_on, $4), $4) WHERE id = $1 RETURNING (SELECT id FROM p)",
        customer_id, data.product_id, data.quantity, data.purchased_on, data.proof.strip(),
        sold_by, now))[0]["id"]
    await audit.record(actor=actor, object_type="customer", object_id=customer_id,
                       action="purchase", organisation_id=customer["organisation"],
                       after={"product": data.product_id, "quantity": data.quantity,
                              "purchased_on": data.purchased_on})
    return purchase_id


def _plain(value: Any) -> Any:
    """JSON and spreadsheets: instants in China time without zone, dates as ISO text."""
    if isinstance(value, datetime):
        return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


OWNER_SECTIONS = {  # section -> the fields given to the owner (R34 export on request)
    "products": ("model", "product_name", "quantity", "purchased_on", "proof", "sold_by_name"),
    "repairs": ("point_name", "model", "product_name", "purchase_date", "status", "in_warranty",
                "part_name", "parts_quantity", "charge_fen", "recorded_at", "completed_at"),
    "calls": ("number", "status", "problem", "called_at", "visited_at", "outcome", "attitude",
              "skill", "punctuality", "card_comments"),
    "complaints": ("reference", "kind", "status", "description", "recorded_at", "closed_at"),
    "visits": ("year", "visited_at", "satisfied", "findings"),
    "answers": ("year", "title", "satisfied", "problem", "comments", "recorded_at"),
}


@transactional
async def export_for_owner(*, actor: Actor, customer_id: int, reference: str) -> dict:
    """R34: the customer's own complete data, on their request; who exported and why (the
    request's reference) is kept (R20). Only the holder and HQ customer service."""
    customer = await get_customer(actor=actor, customer_id=customer_id)
    _writer(actor, customer)
    reference = reference.strip()
    if not reference or len(reference) > 120:
        raise ValidationFailed({"reference": "Enter the request's reference (up to 120 "
                                             "characters)."})
    file = await customer_file(actor=actor, customer_id=customer_id)
    data: dict[str, Any] = {"customer": {
        "id": customer_id, "name": customer["name"], "phone": customer["phone"],
        "address": customer["address"], "area": customer["area"],
        "organisation": customer["org_name"], "purchased_on": _plain(customer["purchased_on"]),
        "opened_at": _plain(customer["opened_at"]),
        "erased_at": _plain(customer["erased_at"])}}
    for section, fields in OWNER_SECTIONS.items():
        data[section] = [{f: _plain(row.get(f)) for f in fields} for row in file[section]]
    await audit.record(actor=actor, object_type="customer", object_id=customer_id,
                       action="owner_export", organisation_id=customer["organisation"],
                       reason=reference)
    return data


def owner_xlsx(data: dict) -> bytes:
    """The owner's export as a workbook: one sheet per section (run on a worker thread)."""
    import io

    from openpyxl import Workbook

    from portal.spreadsheets import append_row

    book = Workbook()
    sheet = book.active
    sheet.title = "customer"
    for key, value in data["customer"].items():
        append_row(sheet, [key, value])
    for section in OWNER_SECTIONS:
        sheet = book.create_sheet(section)
        append_row(sheet, list(OWNER_SECTIONS[section]))
        for row in data[section]:
            append_row(sheet, list(row.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def retention_months(today: date) -> int:
    return await policy.value_on(RETENTION_KEY, today)


async def erase_expired_customers(now: datetime) -> int:
    """R34 retention: blank the name, phone and address of every file with no activity for
    HQ's retention period and mark it erased — and the copies its complaints (name, phone) and
    service calls (address) keep — in one statement (which also writes each erasure's audit
    row); products, visits, complaints' and calls' facts and counts stay. Returns how many
    files were erased."""
    months = await retention_months(clock.china_today(now))
    cutoff = archive_rules.retention_cutoff(now.astimezone(CHINA), months)
    rows = await raw_fetch(
        "WITH erased AS (UPDATE customer SET name = '', phone = '', address = '', "
        "erased_at = $1 WHERE erased_at IS NULL AND last_activity_at < $2 "
        "RETURNING id, organisation), "
        "complaints AS (UPDATE complaint c SET name = '', phone = '' FROM erased e "
        "WHERE c.customer = e.id RETURNING c.id), "
        "calls AS (UPDATE service_call s SET address = '' FROM erased e "
        "WHERE s.customer = e.id RETURNING s.id) "
        f"INSERT INTO audit_entry ({audit.COLUMNS}) SELECT $1, NULL, organisation, 'customer', "
        "id::text, 'erase', NULL, NULL, $3, '' FROM erased RETURNING object_id",
        now, cutoff, f"retention: {months} months without activity")
    return len(rows)
