"""Issue 17 §5: an old-for-new exchange (R23) and a consumer repair (R19) cost a fixed number of
statements, whatever the size of the network, its history or the number of people told."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal import clock
from portal.db import count_queries, raw_fetch
from spares import exchanges, repairs, stock
from tests.spares.factory import network

NOW = datetime(2026, 12, 9, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
# request: scope + part read while the exchange and its audit row are written; the notice.
# complete: lock + read; movements, status and audit row; the notice.
# repair: product, part and fee rate; the repair, its movements and its audit row.
EXPECTED = {"request": 2, "complete": 3, "repair": 2}


async def _one_of_each(net: dict) -> dict[str, int]:
    a, part = net["actors"], net["parts"]["ELB-28"]
    counts = {}
    with clock.frozen(NOW):
        with count_queries() as counter:
            ex = await exchanges.request_exchange(actor=a["staff"], spare_part_id=part, quantity=1)
        counts["request"] = counter.count
        with count_queries() as counter:
            await exchanges.complete_exchange(actor=a["clerk"], exchange_id=ex)
        counts["complete"] = counter.count
        with count_queries() as counter:
            await repairs.record_repair(
                actor=a["staff"], customer="王先生", phone="", product_id=net["product"],
                purchase_date=date(2025, 1, 1), proof="发票", spare_part_id=part,
                parts_quantity=1, on_the_spot=True)
        counts["repair"] = counter.count
    return counts


async def _grow(net: dict, offices: int, points: int, clerks: int) -> None:
    """More offices and points, more clerks in the office, and a history of movements."""
    hq = net["hq"]["id"]
    await raw_fetch(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT 'o' || g, 'o', 'office', $1, '', true, now() FROM generate_series(1, $2) g",
        hq, offices)
    await raw_fetch("UPDATE organisation SET path = $2 || id || '.' WHERE parent = $1 "
                    "AND path = ''", hq, net["hq"]["path"])
    await raw_fetch(
        "INSERT INTO organisation (name, name_en, kind, parent, path, active, created_at) "
        "SELECT 'p' || g, 'p', 'repair_point', o.id, o.path, true, now() "
        "FROM generate_series(1, $1) g, organisation o WHERE o.name = 'o' || (g % $2 + 1)",
        points, offices)
    await raw_fetch("UPDATE organisation SET path = path || id || '.' WHERE name LIKE 'p%' "
                    "AND kind = 'repair_point'")
    await raw_fetch(
        "INSERT INTO portal_user (username, display_name, email, password_hash, organisation, "
        "roles, locale, active, created_at) SELECT 'c' || g, 'c', '', 'x', $1, "
        "ARRAY['dealer_clerk'], CASE WHEN g % 2 = 0 THEN 'en' ELSE 'zh_CN' END, true, now() "
        "FROM generate_series(1, $2) g", net["office"]["id"], clerks)
    locations = [r["id"] for r in await raw_fetch(
        "SELECT id FROM organisation WHERE kind IN ('office', 'repair_point')")]
    await stock.move_stock([(loc, net["parts"]["ELB-28"], c, 5) for loc in locations
                            for c in ("good", "faulty")], kind="adjustment", reference="opening",
                           actor=None)


async def test_exchange_and_repair_statements_are_flat_as_the_network_grows():
    net = await network()
    await stock.move_stock([(net["office"]["id"], net["parts"]["ELB-28"], "good", 10),
                            (net["point"]["id"], net["parts"]["ELB-28"], "good", 10),
                            (net["point"]["id"], net["parts"]["ELB-28"], "faulty", 10)],
                           kind="adjustment", reference="opening", actor=None)
    assert await _one_of_each(net) == EXPECTED
    await _grow(net, offices=40, points=400, clerks=30)
    told_before = await raw_fetch("SELECT count(*) AS n FROM notification")
    assert await _one_of_each(net) == EXPECTED
    told = (await raw_fetch("SELECT count(*) AS n FROM notification"))[0]["n"] - told_before[0]["n"]
    # the office's manager and its 31 clerks of the request, the point's staff of the completion
    assert told == 1 + 31 + 1
    audit = await raw_fetch("SELECT object_type, action, count(*) AS n FROM audit_entry "
                            "WHERE object_type IN ('exchange', 'repair') GROUP BY 1, 2 ORDER BY 1, 2")
    assert [(r["object_type"], r["action"], r["n"]) for r in audit] == [
        ("exchange", "completed", 2), ("exchange", "requested", 2), ("repair", "recorded", 2)]
