"""A closed month to read: the network of tests/spares/factory.py, a rebate policy, an approved
repair fee, purchase volumes, a return batch whose freight the company bears, then November
closed — the office's statement has rebate, repair-fee and freight lines, the sibling's one."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal import clock
from portal.db import raw_fetch
from settlements import close, rules, service
from spares import oversight
from tests.helpers import actor_of, make_org, make_user
from tests.spares.factory import network

CHINA = ZoneInfo("Asia/Shanghai")
DECEMBER = datetime(2026, 12, 10, 10, tzinfo=CHINA)
NOVEMBER = date(2026, 11, 1)


async def _freight_batch(net: dict, freight_fen: int) -> int:
    return (await raw_fetch(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
        "created_at, refused_reason, disposal_evidence, carrier, waybill, freight_fen, "
        "received_at, company_bears_freight) VALUES ('RB-FREIGHT', $1, '2026-11-01', 'regular', "
        "'received', $2, now(), '', '', 'SF', 'W1', $3, '2026-11-20 02:00+00', true) "
        "RETURNING id", net["office"]["id"], net["users"]["clerk"]["id"], freight_fen))[0]["id"]


async def closed_month(*, volume_fen: int = 12_345_678, extra_dealers: int = 0,
                       close_it: bool = True) -> dict:
    """Returns the network plus finance2, admin, the batch id and the statements by dealer."""
    net = await network()
    hq = net["hq"]
    for key, roles in (("finance2", ["hq_finance"]), ("finance3", ["hq_finance"]),
                       ("admin", ["hq_admin"]), ("auditor", ["auditor"])):
        net["users"][key] = await make_user(hq, roles, username=key)
        net["actors"][key] = await actor_of(net["users"][key])
    actors = net["actors"]
    with clock.frozen(datetime(2026, 10, 5, 10, tzinfo=CHINA)):
        await service.set_rebate_policy(actor=actors["admin"], effective_from=NOVEMBER,
                                        reason="2027 terms",
                                        tiers=[rules.Tier(0, 0), rules.Tier(10_000_000, 100)])
        fee = await oversight.propose_fee(actor=actors["manager"], point_id=net["point"]["id"],
                                          amount_fen=30000, reason="")
        await oversight.decide_fee(actor=actors["cs"], fee_id=fee, approve=True)
    finance = actors["finance"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["office"]["id"],
                                amount_fen=volume_fen)
    await service.record_volume(actor=finance, period=NOVEMBER,
                                dealer_id=net["sibling"]["id"], amount_fen=20_000_000)
    for n in range(extra_dealers):
        dealer = await make_org("office", parent=hq, region="CN-ZJ", name=f"浙江经销商{n}")
        await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=dealer["id"],
                                    amount_fen=11_000_000 + n)
    net["batch"] = await _freight_batch(net, 4500)
    if close_it:
        with clock.frozen(DECEMBER):
            await close.close_period(actor=finance, period=NOVEMBER)
    net["statements"] = {r["dealer"]: r["id"] for r in await raw_fetch(
        "SELECT id, dealer FROM statement")}
    net["office_statement"] = net["statements"].get(net["office"]["id"])
    net["sibling_statement"] = net["statements"].get(net["sibling"]["id"])
    return net
