"""A settlement network: the spares network (HQ, office with an approved repair point and its
decided fee, sibling office), a second finance user, an HQ admin, a rebate policy of 1 % from
¥100,000, and decided return batches written straight into the tables."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal import clock
from portal.db import raw_fetch
from portal.tables import Product
from settlements import rules, service
from spares import oversight
from tests.helpers import actor_of, make_user
from tests.spares.factory import network

CHINA = ZoneInfo("Asia/Shanghai")
OCTOBER_5 = datetime(2026, 10, 5, 10, tzinfo=CHINA)
DECEMBER_10 = datetime(2026, 12, 10, 10, tzinfo=CHINA)
JANUARY_5 = datetime(2027, 1, 5, 10, tzinfo=CHINA)
NOVEMBER = date(2026, 11, 1)
DECEMBER = date(2026, 12, 1)


async def settlement_network(*, fee_fen: int = 30000) -> dict:
    """The network plus actors finance2, finance3, admin; the point's fee applies from
    November (proposed and decided on 5 October)."""
    net = await network()
    for name, role in (("finance2", "hq_finance"), ("finance3", "hq_finance"),
                       ("admin", "hq_admin"), ("auditor", "auditor")):
        net["actors"][name] = await actor_of(await make_user(net["hq"], [role], username=name))
    with clock.frozen(OCTOBER_5):
        await service.set_rebate_policy(actor=net["actors"]["admin"], effective_from=NOVEMBER,
                                        reason="2027 terms",
                                        tiers=[rules.Tier(0, 0), rules.Tier(10_000_000, 100)])
        if fee_fen:
            fee = await oversight.propose_fee(actor=net["actors"]["manager"],
                                              point_id=net["point"]["id"], amount_fen=fee_fen,
                                              reason="")
            await oversight.decide_fee(actor=net["actors"]["cs"], fee_id=fee, approve=True)
    return net


async def product(model: str, net: dict) -> int:
    category = (await Product.select(Product.category).where(Product.id == net["product"])
                .first())["category"]
    row = Product(model=model, spec="", name_zh=model, name_en=model, category=category)
    await Product.insert(row)
    return row.id


async def decided_batch(net: dict, number: str, decided_at: datetime,
                        lines: list[tuple[int | None, int | None, int]], *,
                        organisation: int | None = None, status: str = "dispositioned",
                        freight_fen: int | None = None) -> int:
    """A return batch CS decided at `decided_at`; lines are (product, spare_part, credited).
    Specially approved (R7), so that an office may have several in a month."""
    organisation = organisation or net["office"]["id"]
    month = decided_at.date().replace(day=1)
    special = (await raw_fetch(
        "INSERT INTO special_approval (organisation, month, quality_problem, reason, status, "
        "requested_by, requested_at) VALUES ($1, $2, false, 'test', 'approved', $3, $4) "
        "RETURNING id", organisation, month, net["users"]["manager"]["id"], decided_at))[0]["id"]
    batch = (await raw_fetch(
        "INSERT INTO return_batch (number, organisation, month, kind, special_approval, status, "
        "created_by, created_at, refused_reason, disposal_evidence, carrier, waybill, "
        "freight_fen, received_at, decided_at, company_bears_freight) VALUES ($1, $2, $3, "
        "'special', $8, $4, $5, $6, '', '', 'SF', 'W1', $7, $6, $6, true) RETURNING id",
        number, organisation, month, status, net["users"]["clerk"]["id"], decided_at,
        freight_fen, special))[0]["id"]
    for line_no, (product_id, part_id, credited) in enumerate(lines, start=1):
        await raw_fetch(
            "INSERT INTO return_line (batch, line_no, product, spare_part, quantity, "
            "received_qty, exchanged_qty, credited_qty, rejected_qty) "
            "VALUES ($1, $2, $3, $4, $5, $5, 1, $6, 0)",
            batch, line_no, product_id, part_id, credited + 1, credited)
    return batch


async def lines_of(dealer_id: int, period: date) -> list[dict]:
    return await raw_fetch(
        "SELECT l.* FROM statement_line l JOIN statement s ON s.id = l.statement "
        "WHERE s.dealer = $1 AND s.period = $2 ORDER BY l.kind, l.id", dealer_id, period)


async def statement_of(dealer_id: int, period: date) -> dict | None:
    rows = await raw_fetch("SELECT * FROM statement WHERE dealer = $1 AND period = $2",
                           dealer_id, period)
    return rows[0] if rows else None
