"""A decided return batch through the real dealers' services, for goods tests."""
from __future__ import annotations

from datetime import date

from dealers import batch_lines, batches, queries, receiving, rules
from dealers.tables import ReturnBatch
from goods import replacements
from goods.inputs import StockIn
from portal import clock
from tests.dealers.factory import IN_WINDOW, cfl_line, network, reason  # noqa: F401


async def received(net: dict, quantities: list[int], *, clerk: str = "clerk",
                   manager: str = "manager", lines=None, count: bool = True) -> int:
    """A batch of the clerk's office with one CFL line per quantity, approved, dispatched and
    counted as filed at HQ (status received; `count=False`: arrived at the dock, to count);
    returns its id."""
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=a[clerk])
        await batch_lines.add_lines(actor=a[clerk], batch_id=batch_id, lines=lines or [
            cfl_line(net, q) for q in quantities])
        await batches.submit_batch(actor=a[clerk], batch_id=batch_id)
        await batches.sign_batch(actor=a[manager], batch_id=batch_id)
        await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
        await batches.dispatch_batch(actor=a[clerk], batch_id=batch_id, carrier="德邦物流",
                                     waybill=f"DB{batch_id}", packages=1, freight_fen=1000,
                                     dispatched_on=date(2026, 12, 9))
        number = (await ReturnBatch.select(ReturnBatch.number).where(
            ReturnBatch.id == batch_id).first())["number"]
        await receiving.arrive(actor=a["logistics"], number=number)
        if not count:
            return batch_id
        lines_ = await queries.list_lines(batch_id)
        await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id, counts=[
            receiving.Count(l["id"], l["quantity"], rules.Condition(cap_percent=90))
            for l in lines_])
    return batch_id


async def decided(net: dict, decisions: list[tuple[int, int, int]], *, clerk: str = "clerk",
                  manager: str = "manager", lines=None) -> int:
    """A batch with one line per (exchanged, credited, rejected), received as filed and decided
    so; returns its id."""
    batch_id = await received(net, [e + c + r for e, c, r in decisions], clerk=clerk,
                              manager=manager, lines=lines)
    with clock.frozen(IN_WINDOW):
        lines_ = await queries.list_lines(batch_id)
        reject = await reason("LIGHTS", "reject")
        await receiving.decide_batch(actor=net["actors"]["cs"], batch_id=batch_id, decisions=[
            receiving.Decision(l["id"], e, c, r, reject if r else None)
            for l, (e, c, r) in zip(lines_, decisions, strict=True)])
    return batch_id


async def stock(net: dict, product: str = "cfl", on_hand: int = 100) -> None:
    await replacements.set_stock(actor=net["actors"]["logistics"], data=StockIn(
        product_id=net["products"][product], on_hand=on_hand))


async def another_office(net: dict, key: str) -> None:
    """One more office in the same return week (CN-JS), with `<key>.clerk` and `<key>.manager`
    in net["actors"]/net["users"]: one regular batch per office and month (R6)."""
    from tests.helpers import actor_of, make_org, make_user

    office = await make_org("office", parent=net["hq"], region="CN-JS", name=f"{key}办事处")
    net[key] = office
    for role in ("clerk", "manager"):
        user = await make_user(office, ["dealer_clerk" if role == "clerk" else "manager"],
                               username=f"{key}.{role}")
        net["users"][f"{key}.{role}"] = user
        net["actors"][f"{key}.{role}"] = await actor_of(user)
