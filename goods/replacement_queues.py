"""Home-page queues of replacement goods (R13): one aggregate statement per home, scoped (R1).
An office's clerks and managers: deliveries on their way to confirm, and replacements still
owed to them; HQ logistics: orders to ship and short deliveries to resolve (CS too)."""
from __future__ import annotations

from datetime import datetime

from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql
from portal.workbench import SECTIONS, Queue, sections_of

QUEUE_LABELS = {
    "goods_to_confirm": ("Replacement deliveries to confirm",
                         "Replacement goods head office ships to you appear here until you "
                         "confirm what arrived."),
    "goods_owed_to_office": ("Replacement goods still owed to you",
                             "Exchanged goods head office has not shipped yet appear here."),
    "goods_to_ship": ("Replacement orders to ship",
                      "Exchanges customer service decided appear here until head office ships "
                      "them or credits them instead."),
    "goods_in_transit": ("Replacement shipments in transit",
                         "Shipments the offices have not confirmed yet appear here."),
    "goods_shortfalls": ("Short replacement deliveries to resolve",
                         "A delivery an office found short appears here in red until it is "
                         "shipped again or credited."),
}
SECTION_QUEUES = {
    "dealer_clerk": ("goods_to_confirm", "goods_owed_to_office"),
    "manager": ("goods_to_confirm", "goods_owed_to_office"),
    "hq_logistics": ("goods_to_ship", "goods_in_transit", "goods_shortfalls"),
    "hq_cs": ("goods_shortfalls",),
}
LINKS = {"goods_to_confirm": "/goods/replacements?status=in_transit",
         "goods_owed_to_office": "/goods/replacements?status=owed",
         "goods_to_ship": "/goods/replacements?status=owed",
         "goods_in_transit": "/goods/replacements?status=in_transit",
         "goods_shortfalls": "/goods/replacements?status=short"}
KEYS = {"goods_to_confirm": "transit", "goods_owed_to_office": "owed", "goods_to_ship": "owed",
        "goods_in_transit": "transit", "goods_shortfalls": "short"}


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    mine = sections_of(actor)
    wanted = [(section, key) for section in SECTIONS if section in mine
              for key in SECTION_QUEUES.get(section, ())]
    if not wanted:
        return []
    args: list = []
    scope = scope_sql(actor, "o.path", args)
    row = (await raw_fetch(
        "WITH r AS (SELECT r.id, r.created_at FROM goods_replacement r "
        f"JOIN organisation o ON o.id = r.organisation WHERE {scope}), "
        "owed AS (SELECT r.id, r.created_at FROM r WHERE EXISTS (SELECT 1 FROM "
        "goods_replacement_line l WHERE l.replacement = r.id AND l.owed_qty > 0)), "
        "s AS (SELECT s.status, s.shipped_at, s.received_at FROM goods_shipment s "
        "WHERE s.replacement IN (SELECT id FROM r) AND s.status IN ('shipped', 'short')) "
        "SELECT (SELECT count(*) FROM owed) AS owed_n, (SELECT min(created_at) FROM owed) AS owed_at, "
        "count(*) FILTER (WHERE status = 'shipped') AS transit_n, "
        "min(shipped_at) FILTER (WHERE status = 'shipped') AS transit_at, "
        "count(*) FILTER (WHERE status = 'short') AS short_n, "
        "min(received_at) FILTER (WHERE status = 'short') AS short_at FROM s", *args))[0]
    result = []
    for section, key in wanted:
        title, empty = QUEUE_LABELS[key]
        count = row[f"{KEYS[key]}_n"]
        result.append(Queue(key, title, count, row[f"{KEYS[key]}_at"], LINKS[key], empty,
                            section, alarm=key == "goods_shortfalls" and count > 0))
    return result
