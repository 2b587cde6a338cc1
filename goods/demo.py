"""Goods demo (loaded after the other domains' demo, relative to now): HQ's stock for
replacements (one model at none, so part of an order is credited instead), the replacement
orders of the demo's decided batches with one shipped and one found short by the office (for
HQ to resolve), mercury flagged on CFLs and tubes, the rejected goods of one batch to be
scrapped and another's already in a scrap lot with its certificate, two component suppliers
with last month's claims rolled up, and the repeat claims among the batches at head office.
Skipped once HQ stock exists."""
from __future__ import annotations

from datetime import timedelta

from goods import deliveries, rejected, repeats, replacements, suppliers
from goods.inputs import (
    CategoryFlagIn,
    ClaimMonthIn,
    ProductSupplierIn,
    ReasonAttributionIn,
    ReceiptIn,
    ReceivedLineIn,
    RejectedChoiceIn,
    ScrapLotIn,
    ShipIn,
    StockIn,
    SupplierIn,
)
from portal import clock
from portal.db import raw_fetch
from portal.demo import actors

# a minimal valid PDF: the recycler's certificate of the demo's scrap lot
CERTIFICATE = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages"
               b"/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


async def load_goods_demo() -> bool:
    if await raw_fetch("SELECT 1 FROM goods_hq_stock LIMIT 1"):
        return False
    people = await actors()
    if "hq.logistics" not in people:
        return False
    logistics, cs = people["hq.logistics"], people["hq.cs"]
    products = await raw_fetch("SELECT id, model FROM product WHERE active ORDER BY model")
    if not products:
        return False
    for n, p in enumerate(products):  # the last model is out of stock at HQ
        await replacements.set_stock(actor=logistics, data=StockIn(
            p["id"], 0 if n == len(products) - 1 else 500))
    for c in await raw_fetch("SELECT id, is_cfl, code FROM product_category"):
        if c["is_cfl"] or "tube" in c["code"]:
            await rejected.set_category_flag(actor=logistics, data=CategoryFlagIn(c["id"], True))
    opened = await replacements.open_replacements()
    today = clock.china_today()
    for n, rid in enumerate(opened[:2]):
        row = await replacements.get_replacement(actor=logistics, replacement_id=rid)
        if not row["owed"]:
            continue
        shipment = await replacements.ship(actor=logistics, replacement_id=rid, data=ShipIn(
            "顺丰速运", f"SF10{rid:04d}", 2, today - timedelta(days=1)))
        if n == 1:  # the office found one item short: head office resolves it
            office = next((a for name, a in people.items() if name.endswith(".clerk")
                           and a.organisation_id == row["organisation"]), None)
            sent = await replacements.get_shipment(actor=logistics, shipment_id=shipment)
            if office is not None:
                await deliveries.confirm_receipt(actor=office, shipment_id=shipment,
                                                 data=ReceiptIn([ReceivedLineIn(
                                                     l["id"], l["quantity"] - (i == 0))
                                                     for i, l in enumerate(sent["lines"])],
                                                     note="一箱破损，少一件"))
    await _rejected(people)
    await _suppliers(cs, products)
    await repeats.flag_waiting()
    return True


async def _rejected(people) -> None:
    batches = await raw_fetch(
        "SELECT b.id, b.organisation FROM return_batch b WHERE b.status IN "
        "('dispositioned', 'closed') AND EXISTS (SELECT 1 FROM return_line l WHERE "
        "l.batch = b.id AND l.rejected_qty > 0) ORDER BY b.id LIMIT 2")
    for n, b in enumerate(batches):
        office = next((a for name, a in people.items() if name.endswith(".clerk")
                       and a.organisation_id == b["organisation"]), None)
        if office is None:
            continue
        await rejected.choose(actor=office, batch_id=b["id"], data=RejectedChoiceIn("scrap"))
        if n == 0:
            waiting = [c for c in await rejected.waiting_by_category() if c["waiting"]]
            if waiting:
                await rejected.record_scrap_lot(
                    actor=people["hq.logistics"], data=ScrapLotIn(
                        waiting[0]["category_id"], "苏州市绿色照明回收有限公司", "HW-32-2026-0118",
                        clock.china_today()), certificate=("回收证明.pdf", CERTIFICATE))


async def _suppliers(cs, products) -> None:
    ballast = await suppliers.save_supplier(actor=cs, data=SupplierIn(
        "BAL-NB", "宁波镇流器电子有限公司", "Ningbo Ballast Electronics"))
    tubes = await suppliers.save_supplier(actor=cs, data=SupplierIn(
        "TUB-YZ", "扬州灯管厂", "Yangzhou Tube Works"))
    for n, p in enumerate(products):
        await suppliers.map_product(actor=cs, data=ProductSupplierIn(
            p["id"], ballast if n % 2 == 0 else tubes, "镇流器" if n % 2 == 0 else "灯管"))
    for r in await raw_fetch("SELECT id, code FROM reason_code WHERE kind = 'defect'"):
        await suppliers.attribute_reason(actor=cs, data=ReasonAttributionIn(
            r["id"], r["code"] in ("NO_LIGHT", "FLICKER", "BALLAST", "BROKEN_TUBE")))
    last_month = (clock.china_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    await suppliers.roll_up(actor=cs, data=ClaimMonthIn(last_month))
