"""Who is told of what (portal/handoffs.py): the table walked row by row. For each event the
real action runs through its service on factory data; then exactly the intended people have one
inbox row each, with a link to where they act, in their own language (recipients include an
English and a Chinese reader) — never the actor, never a sibling office, never an inactive user
— and repeating the action, which a rule now refuses, tells nobody again. A row without a walk
here fails `test_every_row_is_walked`."""
from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

import pytest

from dealers import batch_lines, batches, queries, receiving, rollover, rules, special_cases
from portal import clock, handoffs, notify
from portal.db import count_queries, engine, raw_fetch
from portal.errors import PortalError, RuleViolation
from portal.handoffs import AUDIENCES, HANDOFFS, tell
from portal.tables import SparePart
from settlements import payouts, statements
from spares import applications, deposits, exchanges, oversight, stock
from spares.queries import deposit_status
from spares.tables import StockTemplate
from tests.dealers.factory import IN_WINDOW, catalogue, cfl_line, reason
from tests.helpers import actor_of, make_org, make_user
from tests.portal.test_notify import _zh_catalog, smtp  # noqa: F401  (smtp: aiosmtpd fixture)
from tests.settlements.statement_factory import DECEMBER, closed_month

# Rows declared in the table but still sent from their module (see Handoff.pending).
PENDING: set[str] = set()
RULE_ID = re.compile(r"\bR\d{1,2}\b")


# --- the world: an office with its people, a sibling office, a repair point, HQ -----------------

@dataclass
class World:
    orgs: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    actors: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)
    reason: int = 0

    def ids(self, *names: str) -> list[int]:
        return [self.users[n]["id"] for n in names]


async def _named(org: dict, zh: str, en: str) -> None:
    await raw_fetch("UPDATE organisation SET name = $2, name_en = $3 WHERE id = $1",
                    org["id"], zh, en)


async def world() -> World:
    w = World()
    hq = w.orgs["hq"] = await make_org("hq", region=None)
    office = w.orgs["office"] = await make_org("office", parent=hq, region="CN-JS")
    sibling = w.orgs["sibling"] = await make_org("office", parent=hq, region="CN-GD")
    await _named(office, "江苏办事处", "Jiangsu office")
    await _named(sibling, "广东办事处", "Guangdong office")
    people = {
        "clerk": (office, ["dealer_clerk"], "en"), "clerk2": (office, ["dealer_clerk"], "zh_CN"),
        "manager": (office, ["manager"], "zh_CN"),
        "gone": (office, ["dealer_clerk", "manager"], "en"),  # inactive: never told
        "rm": (hq, ["manager"], "en"), "cs": (hq, ["hq_cs"], "zh_CN"),
        "cs2": (hq, ["hq_cs"], "en"), "logistics": (hq, ["hq_logistics"], "zh_CN"),
        "logistics2": (hq, ["hq_logistics"], "en"), "tech": (hq, ["hq_tech"], "en"),
        "finance": (hq, ["hq_finance"], "zh_CN"), "admin": (hq, ["hq_admin"], "en"),
        "gd.clerk": (sibling, ["dealer_clerk"], "en"), "gd.manager": (sibling, ["manager"], "zh_CN"),
        "gd.rm": (hq, ["manager"], "zh_CN"),
    }
    for name, (org, roles, locale) in people.items():
        covers = [office] if name == "rm" else [sibling] if name == "gd.rm" else None
        w.users[name] = await make_user(org, roles, username=name, locale=locale, covers=covers,
                                        active=name != "gone")
    w.actors = {n: await actor_of(u) for n, u in w.users.items() if n != "gone"}
    w.products = await catalogue()
    w.reason = await reason()
    for code, zh, en, price in (("ELB-28", "电子镇流器", "Electronic ballast", 1850),
                                ("RT-32", "环形灯管", "Ring tube", 1200)):
        part = SparePart(code=code, name_zh=zh, name_en=en, unit_price_fen=price)
        await SparePart.insert(part)
        w.parts[code] = part.id
    await StockTemplate.insert(
        StockTemplate(sales_scale="small", spare_part=w.parts["ELB-28"], quantity=10),
        StockTemplate(sales_scale="small", spare_part=w.parts["RT-32"], quantity=5))
    for key, owner, staff in (("point", office, ("staff", "staff2")),
                              ("gd.point", sibling, ("gd.staff",))):
        proposer = w.actors["manager" if owner is office else "gd.manager"]
        application = await applications.propose_repair_point(
            actor=proposer, office_id=owner["id"], name=f"{key} 维修点", coverage_area="市区",
            sales_scale="small", address="灯具城", proposed_fee_fen=30000)
        point_id = await applications.decide_repair_point(actor=w.actors["cs"],
                                                     application_id=application, approve=True)
        w.orgs[key] = {"id": point_id, "parent": owner["id"]}
        for name, locale in zip(staff, ("en", "zh_CN"), strict=False):
            w.users[name] = await make_user(w.orgs[key], ["repair_staff"], username=name,
                                            locale=locale)
            w.actors[name] = await actor_of(w.users[name])
    await _named(w.orgs["point"], "南京灯具城维修点", "Nanjing lighting market repair point")
    await raw_fetch("DELETE FROM notification")  # what setting up told people is not under test
    return w


# --- what each walk returns, and the checks every row gets --------------------------------------

@dataclass
class Told:
    users: list[int]  # exactly these, one row each
    actor: int
    link: str
    again: Callable[[], Awaitable[object]] | None = None  # the same action, now refused


WALKS: dict[str, Callable[[], Awaitable[Told]]] = {}


def walk(*events: str):
    """Register `fn(event)` as the walk of these rows (one walk may serve sibling rows)."""
    def register(fn):
        for event in events:
            WALKS[event] = functools.partial(fn, event)
        return fn
    return register


def _rendered(template: str, text: str) -> bool:
    """`text` is `template` with its %(x)s parameters filled in."""
    pieces = re.split(r"(%\(\w+\)s)", template)
    pattern = "".join(".+?" if re.fullmatch(r"%\(\w+\)s", p) else re.escape(p) for p in pieces)
    return re.fullmatch(pattern, text, flags=re.S) is not None


async def _notices(event: str) -> list[dict]:
    return await raw_fetch(
        "SELECT n.\"user\", n.subject, n.body, n.link, u.locale FROM notification n "
        "JOIN portal_user u ON u.id = n.\"user\" WHERE n.kind = $1 ORDER BY n.\"user\"", event)


def _check_language(event: str, notice: dict) -> None:
    row = HANDOFFS[event]
    for template, text in ((row.subject, notice["subject"]), (row.body, notice["body"])):
        assert "%(" not in text and not RULE_ID.search(text), text
        if notice["locale"] == "en":
            assert _rendered(template, text), (template, text)
        else:
            chinese = _zh_catalog(template)
            assert chinese is not None, f"no zh translation of {template!r}"
            assert _rendered(chinese, text), (chinese, text)


@pytest.mark.parametrize("event", sorted(set(HANDOFFS) - PENDING))
async def test_row(event):
    told = await WALKS[event]()
    notices = await _notices(event)
    assert [n["user"] for n in notices] == sorted(told.users), event  # exactly them, once each
    assert told.actor not in told.users
    for notice in notices:
        assert notice["link"] == told.link
        _check_language(event, notice)
    if len(notices) > 1:
        assert {n["locale"] for n in notices} == {"en", "zh_CN"}, "walk both languages"
    if told.again is not None:
        with pytest.raises(PortalError):
            await told.again()
        assert len(await _notices(event)) == len(notices)


def test_every_row_is_walked():
    assert set(WALKS) == set(HANDOFFS) - PENDING, "a row of HANDOFFS needs a walk here"
    assert {e for e, row in HANDOFFS.items() if row.pending} == PENDING
    for event, row in HANDOFFS.items():
        assert row.audience and set(row.audience) <= set(AUDIENCES), event
        assert row.link.startswith("/"), event
        assert len(event) <= 40, "notification.kind is 40 characters"


# --- return batches -----------------------------------------------------------------------------

async def _batch(w: World, upto: str, disposition: str = "return") -> dict:
    """A batch taken through the real services up to `upto` (clock frozen in the window)."""
    a = w.actors
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
                            lines=[cfl_line(w.__dict__, 10), cfl_line(w.__dict__, 5)])
    steps = [
        ("submitted", lambda: batches.submit_batch(actor=a["clerk"], batch_id=batch_id)),
        ("signed", lambda: batches.sign_batch(actor=a["manager"], batch_id=batch_id)),
        ("approved", lambda: batches.approve_batch(actor=a["cs"], batch_id=batch_id,
                                                   disposition=disposition)),
        ("dispatched", lambda: batches.dispatch_batch(
            actor=a["clerk"], batch_id=batch_id, carrier="德邦物流", waybill="DB123", packages=2,
            freight_fen=35000, dispatched_on=date(2026, 12, 9))),
        ("arrived", lambda: _arrive(w, batch_id)),
        ("received", lambda: _count(w, batch_id, short=1)),
        ("dispositioned", lambda: _decide(w, batch_id)),
    ]
    for status, step in steps:
        if status == upto:
            break
        await step()
    return {"id": batch_id, "number": await _number(batch_id), "link": f"/batches/{batch_id}"}


async def _arrive(w: World, batch_id: int) -> dict:
    return await receiving.arrive(actor=w.actors["logistics"], number=await _number(batch_id))


async def _number(batch_id: int) -> str:
    return (await raw_fetch("SELECT number FROM return_batch WHERE id = $1", batch_id))[0]["number"]


async def _count(w: World, batch_id: int, short: int = 0) -> list:
    lines = await queries.list_lines(batch_id)
    return await receiving.receive_batch(actor=w.actors["logistics"], batch_id=batch_id, counts=[
        receiving.Count(l["id"], l["quantity"] - (short if i == 0 else 0),
                        rules.Condition(cap_percent=90)) for i, l in enumerate(lines)])


async def _decide(w: World, batch_id: int) -> None:
    lines = await queries.list_lines(batch_id)
    await receiving.decide_batch(actor=w.actors["cs"], batch_id=batch_id, decisions=[
        receiving.Decision(l["id"], l["received_qty"], 0, 0) for l in lines])


def _in_window(fn):
    @functools.wraps(fn)
    async def run(event: str):
        with clock.frozen(IN_WINDOW):
            return await fn(event)
    return run


@walk("batch_submitted")
@_in_window
async def _submitted(event: str):
    w = await world()
    batch = await _batch(w, "submitted")
    await batches.submit_batch(actor=w.actors["clerk"], batch_id=batch["id"])
    return Told(w.ids("manager", "rm"), w.users["clerk"]["id"], batch["link"],
                again=lambda: batches.submit_batch(actor=w.actors["clerk"], batch_id=batch["id"]))


@walk("batch_sent_back")
@_in_window
async def _sent_back(event: str):
    w = await world()
    batch = await _batch(w, "signed")
    await batches.return_to_draft(actor=w.actors["manager"], batch_id=batch["id"],
                                  reason="第2行数量不对。")
    return Told(w.ids("clerk", "clerk2"), w.users["manager"]["id"], batch["link"],
                again=lambda: batches.return_to_draft(actor=w.actors["manager"],
                                                      batch_id=batch["id"], reason="x"))


@walk("batch_signed")
@_in_window
async def _signed(event: str):
    w = await world()
    batch = await _batch(w, "signed")
    await batches.sign_batch(actor=w.actors["rm"], batch_id=batch["id"])  # the RM may sign (R8)
    return Told(w.ids("cs", "cs2"), w.users["rm"]["id"], batch["link"],
                again=lambda: batches.sign_batch(actor=w.actors["manager"], batch_id=batch["id"]))


@walk("batch_approved", "batch_approved_dispose")
@_in_window
async def _approved(event: str):
    w = await world()
    batch = await _batch(w, "approved")
    await batches.approve_batch(actor=w.actors["cs2"], batch_id=batch["id"],
                                disposition="dispose" if event.endswith("dispose") else "return")
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["cs2"]["id"], batch["link"],
                again=lambda: batches.approve_batch(actor=w.actors["cs"], batch_id=batch["id"],
                                                    disposition="return"))


@walk("batch_refused")
@_in_window
async def _refused(event: str):
    w = await world()
    batch = await _batch(w, "approved")
    await batches.refuse_batch(actor=w.actors["cs"], batch_id=batch["id"],
                               reason="Date codes missing.")
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["cs"]["id"], batch["link"],
                again=lambda: batches.refuse_batch(actor=w.actors["cs"], batch_id=batch["id"],
                                                   reason="again"))


@walk("batch_dispatched")
@_in_window
async def _dispatched(event: str):
    w = await world()
    batch = await _batch(w, "dispatched")
    dispatch = lambda: batches.dispatch_batch(  # noqa: E731
        actor=w.actors["clerk2"], batch_id=batch["id"], carrier="SF", waybill="SF1", packages=3,
        freight_fen=1000, dispatched_on=date(2026, 12, 9))
    await dispatch()
    return Told(w.ids("logistics", "logistics2"), w.users["clerk2"]["id"], batch["link"],
                again=dispatch)


@walk("batch_arrived")
@_in_window
async def _arrived(event: str):
    w = await world()
    batch = await _batch(w, "arrived")
    await receiving.arrive(actor=w.actors["logistics"], number=batch["number"])
    await receiving.arrive(actor=w.actors["logistics"], number=batch["number"])  # scanned twice
    return Told(w.ids("clerk", "clerk2", "manager", "cs", "cs2"),
                w.users["logistics"]["id"], batch["link"])


@walk("count_difference")
@_in_window
async def _count_difference(event: str):
    w = await world()
    batch = await _batch(w, "received")
    assert len(await _count(w, batch["id"], short=2)) == 1
    return Told(w.ids("clerk", "clerk2", "manager", "cs", "cs2"),
                w.users["logistics"]["id"], batch["link"],
                again=lambda: _count(w, batch["id"]))


@walk("receipt_ready")
@_in_window
async def _receipt_ready(event: str):
    w = await world()
    batch = await _batch(w, "dispositioned")
    await _decide(w, batch["id"])
    return Told(w.ids("clerk", "clerk2", "manager", "cs2"), w.users["cs"]["id"], batch["link"],
                again=lambda: _decide(w, batch["id"]))


# --- repair points, deposits, exchanges ---------------------------------------------------------

async def _propose(w: World, by: str = "manager") -> int:
    return await applications.propose_repair_point(
        actor=w.actors[by], office_id=w.orgs["office"]["id"], name="苏州维修点",
        coverage_area="苏州", sales_scale="small", address="苏州灯具城", proposed_fee_fen=25000)


@walk("repair_point_proposed")
async def _point_proposed(event: str):
    w = await world()
    await _propose(w)
    return Told(w.ids("cs", "cs2"), w.users["manager"]["id"], "/repair-points?waiting=proposed")


@walk("repair_point_approved")
async def _point_approved(event: str):
    w = await world()
    application = await _propose(w)
    decide = lambda: applications.decide_repair_point(  # noqa: E731
        actor=w.actors["cs"], application_id=application, approve=True)
    point = await decide()
    return Told(w.ids("manager"), w.users["cs"]["id"], f"/repair-points/{point}", again=decide)


@walk("repair_point_refused")
async def _point_refused(event: str):
    w = await world()
    application = await _propose(w, by="rm")  # a regional manager proposes (R21)
    decide = lambda: applications.decide_repair_point(  # noqa: E731
        actor=w.actors["cs"], application_id=application, approve=False, reason="Too close.")
    await decide()
    return Told(w.ids("rm"), w.users["cs"]["id"], "/repair-points", again=decide)


async def _due(w: World) -> int:
    status = await deposit_status(w.orgs["point"]["id"])
    return status["required_fen"] - status["balance_fen"]


@walk("deposit_credited")
async def _deposit_credited(event: str):
    w = await world()
    pay = lambda: deposits.record_bank_transfer(  # noqa: E731
        actor=w.actors["finance"], point_id=w.orgs["point"]["id"], amount_fen=100,
        reference="ICBC-1")
    await pay()
    assert await _notices("deposit_paid") == []  # not paid in full yet: nothing to ship
    return Told(w.ids("staff", "staff2"), w.users["finance"]["id"],
                f"/repair-points/{w.orgs['point']['id']}", again=pay)


@walk("deposit_paid")
async def _deposit_paid(event: str):
    w = await world()
    point = w.orgs["point"]["id"]
    await deposits.record_bank_transfer(actor=w.actors["finance"], point_id=point,
                                       amount_fen=100, reference="ICBC-1")
    await deposits.record_bank_transfer(actor=w.actors["finance"], point_id=point,
                                       amount_fen=await _due(w), reference="ICBC-2")
    await deposits.record_bank_transfer(actor=w.actors["finance"], point_id=point,
                                       amount_fen=100, reference="ICBC-3")  # overpaid: once only
    assert len(await _notices("deposit_credited")) == 3 * 2
    return Told(w.ids("logistics", "logistics2"), w.users["finance"]["id"],
                f"/repair-points/{point}")


async def _stocked(w: World) -> None:
    part, office, point = w.parts["ELB-28"], w.orgs["office"]["id"], w.orgs["point"]["id"]
    await stock.move_stock([(office, part, "good", 5), (point, part, "faulty", 5)],
                             kind="adjustment", reference="opening", actor=None)


@walk("exchange_requested")
async def _exchange_requested(event: str):
    w = await world()
    await exchanges.request_exchange(actor=w.actors["staff"], spare_part_id=w.parts["ELB-28"],
                                   quantity=2)
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["staff"]["id"],
                "/repair-points/exchanges?status=requested")


@walk("exchange_completed")
async def _exchange_completed(event: str):
    w = await world()
    await _stocked(w)
    exchange = await exchanges.request_exchange(actor=w.actors["staff"],
                                              spare_part_id=w.parts["ELB-28"], quantity=2)
    complete = lambda: exchanges.complete_exchange(actor=w.actors["clerk"],  # noqa: E731
                                                 exchange_id=exchange)
    await complete()
    return Told(w.ids("staff", "staff2"), w.users["clerk"]["id"],
                f"/repair-points/{w.orgs['point']['id']}", again=complete)


# --- repair fees and consumer disputes ----------------------------------------------------------

@walk("fee_proposed")
async def _fee_proposed(event: str):
    w = await world()
    point = w.orgs["point"]["id"]
    await oversight.propose_fee(actor=w.actors["manager"], point_id=point, amount_fen=32000,
                                reason="")
    return Told(w.ids("cs", "cs2"), w.users["manager"]["id"], f"/repair-points/{point}")


@walk("fee_approved", "fee_refused")
async def _fee_decided(event: str):
    w = await world()
    point = w.orgs["point"]["id"]
    fee = await oversight.propose_fee(actor=w.actors["manager"], point_id=point,
                                      amount_fen=32000, reason="")
    approve = event == "fee_approved"
    decide = lambda: oversight.decide_fee(actor=w.actors["cs"], fee_id=fee,  # noqa: E731
                                          approve=approve, reason="" if approve else "Too high.")
    await decide()
    return Told(w.ids("manager", "staff", "staff2"), w.users["cs"]["id"],
                f"/repair-points/{point}", again=decide)


async def _dispute(w: World) -> int:
    return await oversight.record_dispute(actor=w.actors["staff"],
                                          point_id=w.orgs["point"]["id"],
                                          customer="张女士", description="维修后仍不亮。")


@walk("dispute_recorded")
async def _dispute_recorded(event: str):
    w = await world()
    await _dispute(w)
    return Told(w.ids("manager", "rm"), w.users["staff"]["id"],
                f"/repair-points/{w.orgs['point']['id']}")


@walk("dispute_settled", "dispute_escalated")
async def _dispute_mediated(event: str):
    w = await world()
    dispute = await _dispute(w)
    settled = event == "dispute_settled"
    mediate = lambda: oversight.mediate_dispute(  # noqa: E731
        actor=w.actors["rm"], dispute_id=dispute, settled=settled, notes="双方同意免费换新。")
    await mediate()
    users = w.ids("staff", "staff2") if settled else w.ids("cs", "cs2")
    return Told(users, w.users["rm"]["id"], f"/repair-points/{w.orgs['point']['id']}",
                again=mediate)


@walk("dispute_ruled")
async def _dispute_ruled(event: str):
    w = await world()
    dispute = await _dispute(w)
    await oversight.mediate_dispute(actor=w.actors["manager"], dispute_id=dispute,
                                    settled=False, notes="责任难以界定。")
    rule = lambda: oversight.rule_dispute(actor=w.actors["cs"], dispute_id=dispute,  # noqa: E731
                                          ruling="为顾客免费换新。")
    await rule()
    return Told(w.ids("staff", "staff2", "manager"), w.users["cs"]["id"],
                f"/repair-points/{w.orgs['point']['id']}", again=rule)


# --- special approvals, roll-over, batch quality disputes (dealers/special_cases.py) -------------

@walk("special_requested")
async def _special_requested(event: str):
    w = await world()
    await special_cases.request_special_approval(
        actor=w.actors["manager"], organisation_id=w.orgs["office"]["id"],
        reason="灯管批量发黑，需要本月额外返厂。", quality_problem=True)
    return Told(w.ids("cs", "cs2"), w.users["manager"]["id"], "/special-approvals")


@walk("special_approved", "special_refused")
async def _special_decided(event: str):
    w = await world()
    approval = await special_cases.request_special_approval(
        actor=w.actors["manager"], organisation_id=w.orgs["office"]["id"],
        reason="灯管批量发黑。", quality_problem=True)
    decide = lambda: special_cases.decide_special_approval(  # noqa: E731
        actor=w.actors["cs"], approval_id=approval, approve=event == "special_approved",
        reason="" if event == "special_approved" else "下月窗口内返厂即可。")
    await decide()
    # the requester (named) and the office's clerks
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["cs"]["id"], "/special-approvals",
                again=decide)


@walk("rolled_over")
async def _rolled_over(event: str):
    w = await world()
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=w.actors["clerk"])
    after_window = IN_WINDOW.replace(day=15)  # week 2 closed at the end of the 14th (R5)
    assert await rollover.roll_over_unsubmitted(after_window) == 1
    assert await rollover.roll_over_unsubmitted(after_window) == 0  # told once
    return Told(w.ids("clerk", "clerk2", "manager"), 0, f"/batches/{batch_id}")


@walk("rollover_blocked")
async def _rollover_blocked(event: str):
    w = await world()
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=w.actors["clerk"])
    january = IN_WINDOW.replace(year=2027, month=1, day=3)
    with clock.frozen(january):
        await batches.create_draft(actor=w.actors["clerk2"])  # January's batch exists already
        assert await rollover.roll_over_unsubmitted(january) == 0
    return Told(w.ids("clerk", "clerk2", "manager"), 0, f"/batches/{batch_id}")


@walk("quality_dispute")
@_in_window
async def _quality_dispute(event: str):
    w = await world()
    batch = await _batch(w, "dispositioned")  # counted: the goods are back at HQ
    raise_it = lambda: special_cases.raise_quality_dispute(  # noqa: E731
        actor=w.actors["clerk"], batch_id=batch["id"], description="整批灯管发黑。")
    await raise_it()
    return Told(w.ids("cs", "cs2", "tech"), w.users["clerk"]["id"], batch["link"],
                again=raise_it)  # one open dispute per batch


@walk("quality_confirmed", "quality_not_confirmed")
@_in_window
async def _quality_verified(event: str):
    w = await world()
    batch = await _batch(w, "dispositioned")
    dispute = await special_cases.raise_quality_dispute(
        actor=w.actors["clerk"], batch_id=batch["id"], description="整批灯管发黑。")
    verify = lambda: special_cases.verify_quality_dispute(  # noqa: E731
        actor=w.actors["tech"], dispute_id=dispute, confirmed=event == "quality_confirmed",
        findings="抽检20只，14只发黑。")
    await verify()
    return Told(w.ids("clerk", "clerk2", "manager", "cs", "cs2"), w.users["tech"]["id"],
                batch["link"], again=verify)


# --- statements -----------------------------------------------------------------------------------

async def _statement_world() -> dict:
    net = await closed_month()
    await raw_fetch("UPDATE portal_user SET locale = 'en' WHERE id = $1",
                    net["users"]["manager"]["id"])
    await raw_fetch("DELETE FROM notification")
    return net


@walk("statement_approved")
async def _statement_approved(event: str):
    net = await _statement_world()
    statement, a = net["office_statement"], net["actors"]
    with clock.frozen(DECEMBER):
        await statements.review_fees(actor=a["cs"], statement_id=statement)
        await statements.approve_statement(actor=a["finance2"], statement_id=statement)
    office = [net["users"][k]["id"] for k in ("manager", "clerk")]
    return Told(office, net["users"]["finance2"]["id"], f"/statements/{statement}",
                again=lambda: statements.approve_statement(actor=a["finance2"],
                                                           statement_id=statement))


@walk("statement_paid")
async def _statement_paid(event: str):
    net = await _statement_world()
    statement, a = net["office_statement"], net["actors"]
    with clock.frozen(DECEMBER):
        await statements.review_fees(actor=a["cs"], statement_id=statement)
        await statements.approve_statement(actor=a["finance2"], statement_id=statement)
        await payouts.record_bank_payment(actor=a["finance"], statement_id=statement,
                                          reference="ICBC-1")
    office = [net["users"][k]["id"] for k in ("manager", "clerk")]
    return Told(office, net["users"]["finance"]["id"], f"/statements/{statement}",
                again=lambda: payouts.record_bank_payment(actor=a["finance"],
                                                          statement_id=statement,
                                                          reference="ICBC-2"))


# --- customer service: complaints (service/complaints.py, service/complaint_steps.py, R32) -------

async def _complaint(w: World, upto: str = "recorded", *, by: str = "clerk", major: bool = False,
                     assigned_to: str = "unit") -> dict:
    """A complaint taken through the real services up to `upto`; the marketing vice-presidents
    (one reading English, one Chinese) join HQ first; what setting up told is forgotten."""
    from service import complaint_steps, complaints
    from service.inputs import (
        ComplaintApproveIn,
        ComplaintAssignIn,
        ComplaintIn,
        ComplaintInvestigateIn,
        ComplaintJudgeIn,
        ComplaintProposeIn,
        ComplaintTellIn,
    )

    for name, locale in (("vp", "en"), ("vp2", "zh_CN")):
        if name not in w.users:
            w.users[name] = await make_user(w.orgs["hq"], ["vice_president"], username=name,
                                            locale=locale)
            w.actors[name] = await actor_of(w.users[name])
    a = w.actors
    saved = await complaints.record_complaint(actor=a[by], data=ComplaintIn(
        name="张女士", phone="13812345678", channel="phone", about="repair_point",
        about_org=w.orgs["point"]["id"], description="维修后仍不亮。", asks="换新。"))
    cid = saved["id"]
    unit = {"unit": "staff", "hq_tech": "tech"}[assigned_to]
    steps = {
        "judged": lambda: complaint_steps.judge_complaint(actor=a["cs"], complaint_id=cid,
                                                          data=ComplaintJudgeIn(True, "service",
                                                                                major)),
        "assigned": lambda: complaint_steps.assign_complaint(
            actor=a["cs"], complaint_id=cid, data=ComplaintAssignIn(
                assigned_to, w.orgs["point"]["id"] if assigned_to == "unit" else None)),
        "investigated": lambda: complaint_steps.investigate_complaint(
            actor=a[unit], complaint_id=cid, data=ComplaintInvestigateIn("虚焊。", "维修员")),
        "proposed": lambda: complaint_steps.propose_resolution(
            actor=a[unit], complaint_id=cid, data=ComplaintProposeIn("免费换新。")),
        "approved": lambda: complaint_steps.approve_resolution(
            actor=a["vp" if major else "cs2"], complaint_id=cid, data=ComplaintApproveIn(True)),
        "told": lambda: complaint_steps.tell_customer(
            actor=a["cs" if by == "cs" else by], complaint_id=cid,
            data=ComplaintTellIn("电话告知。")),
    }
    for status, step in steps.items():
        if upto == "recorded":
            break
        await step()
        if status == upto:
            break
    await raw_fetch("DELETE FROM notification")
    return {"id": cid, "reference": saved["reference"], "link": f"/complaints/{cid}"}


@walk("complaint_recorded")
async def _complaint_recorded(event: str):
    from service import complaints
    from service.inputs import ComplaintIn

    w = await world()
    await complaints.record_complaint(actor=w.actors["clerk"], data=ComplaintIn(
        name="张女士", phone="13812345678", channel="letter", about="other", description="x"))
    cid = (await raw_fetch("SELECT id FROM complaint"))[0]["id"]
    return Told(w.ids("cs", "cs2"), w.users["clerk"]["id"], f"/complaints/{cid}")


@walk("complaint_major", "complaint_not_standing")
async def _complaint_judged(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintJudgeIn

    w = await world()
    c = await _complaint(w)
    stands = event == "complaint_major"
    judge = lambda: complaint_steps.judge_complaint(  # noqa: E731
        actor=w.actors["cs"], complaint_id=c["id"], data=ComplaintJudgeIn(
            stands, "service", major=stands, reason="" if stands else "已过保修期且人为损坏。",
            told_how="" if stands else "电话答复。"))
    await judge()
    told = w.ids("vp", "vp2") if stands else w.ids("clerk", "clerk2", "manager")  # the office
    return Told(told, w.users["cs"]["id"], c["link"], again=judge)


@walk("complaint_assigned")
async def _complaint_assigned(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintAssignIn

    w = await world()
    c = await _complaint(w, "judged")
    assign = lambda: complaint_steps.assign_complaint(  # noqa: E731
        actor=w.actors["cs"], complaint_id=c["id"],
        data=ComplaintAssignIn("unit", w.orgs["point"]["id"]))
    await assign()
    return Told(w.ids("staff", "staff2"), w.users["cs"]["id"], c["link"], again=assign)


@walk("complaint_investigated")
async def _complaint_investigated(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintInvestigateIn

    w = await world()
    c = await _complaint(w, "assigned")
    investigate = lambda: complaint_steps.investigate_complaint(  # noqa: E731
        actor=w.actors["staff"], complaint_id=c["id"],
        data=ComplaintInvestigateIn("镇流器虚焊。", "维修员"))
    await investigate()
    return Told(w.ids("cs", "cs2"), w.users["staff"]["id"], c["link"], again=investigate)


@walk("complaint_proposed", "complaint_proposed_major")
async def _complaint_proposed(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintProposeIn

    w = await world()
    major = event == "complaint_proposed_major"
    c = await _complaint(w, "investigated", major=major)
    propose = lambda: complaint_steps.propose_resolution(  # noqa: E731
        actor=w.actors["staff"], complaint_id=c["id"], data=ComplaintProposeIn("免费换新。"))
    await propose()
    return Told(w.ids("vp", "vp2") if major else w.ids("cs", "cs2"), w.users["staff"]["id"],
                c["link"], again=propose)


@walk("complaint_refused")
async def _complaint_refused(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintApproveIn

    w = await world()
    c = await _complaint(w, "proposed")
    refuse = lambda: complaint_steps.approve_resolution(  # noqa: E731
        actor=w.actors["cs"], complaint_id=c["id"],
        data=ComplaintApproveIn(False, "请写明更换时间。"))
    await refuse()
    return Told(w.ids("staff"), w.users["cs"]["id"], c["link"], again=refuse)  # the proposer


@walk("complaint_approved", "complaint_approved_hq")
async def _complaint_approved(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintApproveIn

    w = await world()
    held_by_hq = event == "complaint_approved_hq"  # recorded by CS: CS tells the customer
    c = await _complaint(w, "proposed", by="cs" if held_by_hq else "clerk")
    approve = lambda: complaint_steps.approve_resolution(  # noqa: E731
        actor=w.actors["cs2"], complaint_id=c["id"], data=ComplaintApproveIn(True))
    await approve()
    told = w.ids("cs") if held_by_hq else w.ids("clerk", "clerk2", "manager")
    return Told(told, w.users["cs2"]["id"], c["link"], again=approve)


@walk("complaint_told")
async def _complaint_told(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintTellIn

    w = await world()
    c = await _complaint(w, "approved")
    tell_them = lambda: complaint_steps.tell_customer(  # noqa: E731
        actor=w.actors["clerk"], complaint_id=c["id"], data=ComplaintTellIn("上门致歉并换新。"))
    await tell_them()
    return Told(w.ids("cs", "cs2"), w.users["clerk"]["id"], c["link"], again=tell_them)


@walk("complaint_major_closed")
async def _complaint_major_closed(event: str):
    from service import complaint_steps
    from service.inputs import ComplaintCloseIn

    w = await world()
    c = await _complaint(w, "told", major=True)
    close = lambda: complaint_steps.close_complaint(  # noqa: E731
        actor=w.actors["manager"], complaint_id=c["id"], data=ComplaintCloseIn(
            "维修员扣奖金。", "焊接培训。", "每周抽检镇流器。"))
    await close()
    return Told(w.ids("vp", "vp2"), w.users["manager"]["id"], c["link"], again=close)


@walk("complaint_overdue", "complaint_overdue_major")
async def _complaint_overdue(event: str):
    from datetime import timedelta

    from service import complaints

    w = await world()
    major = event == "complaint_overdue_major"
    c = await _complaint(w, "judged" if major else "recorded", major=major)
    await raw_fetch("DELETE FROM notification")
    later = clock.now() + timedelta(days=8)  # past both deadlines: escalated once, for the later
    assert await complaints.escalate_overdue_complaints(later) == 1
    assert await complaints.escalate_overdue_complaints(later) == 0  # never twice
    told = w.ids("cs", "cs2", "vp", "vp2") if major else w.ids("cs", "cs2")
    return Told(told, 0, c["link"])


# --- customer service: service calls and opinion cards (service/calls.py, R33) -------------------

async def _service_call(w: World) -> int:
    from service import calls
    from service.inputs import CallIn

    return await calls.record_call(actor=w.actors["clerk"], data=CallIn(
        name="张先生", phone="138 1234 5678", problem="吸顶灯不亮。", area="市区"))


@walk("call_recorded")
async def _call_recorded(event: str):
    w = await world()
    call_id = await _service_call(w)  # routed by its area to the office's point
    return Told(w.ids("staff", "staff2"), w.users["clerk"]["id"], f"/service-calls/{call_id}")


@walk("call_cancelled")
async def _call_cancelled(event: str):
    from service import calls
    from service.inputs import CallCancelIn

    w = await world()
    call_id = await _service_call(w)
    await raw_fetch("DELETE FROM notification")
    cancel = lambda: calls.cancel_call(  # noqa: E731
        actor=w.actors["cs"], call_id=call_id, data=CallCancelIn(reason="顾客已自行修好。"))
    await cancel()
    return Told(w.ids("staff", "staff2", "clerk"), w.users["cs"]["id"],
                f"/service-calls/{call_id}", again=cancel)


# --- customer service: return visits and surveys (service/visits.py, service/surveys.py, R34) ----

async def _office_customer(w: World) -> int:
    from service.customers import open_customer

    async with engine().transaction():
        return await open_customer(actor=w.actors["cs"], organisation_id=w.orgs["office"]["id"],
                                   name="张女士", phone="13800138000",
                                   purchased_on=clock.china_today())


@walk("return_visit_plan_drawn")
async def _return_visit_plan_drawn(event: str):
    from service.inputs import PlanIn
    from service.visits import draw_plan

    w = await world()
    await _office_customer(w)
    data = PlanIn(clock.china_today().year, 1, w.orgs["office"]["id"])
    plan = await draw_plan(actor=w.actors["cs"], data=data)
    return Told(w.ids("manager"), w.users["cs"]["id"], f"/return-visits/{plan}",
                again=lambda: draw_plan(actor=w.actors["cs"], data=data))


@walk("survey_action_owned")
async def _survey_action_owned(event: str):
    from service import surveys
    from service.inputs import ActionIn, AnswerIn, SurveyIn

    w = await world()
    survey = await surveys.open_survey(actor=w.actors["manager"],
                                       data=SurveyIn(clock.china_today().year, "满意度调查"))
    await surveys.record_answer(actor=w.actors["manager"], survey_id=survey,
                                data=AnswerIn(False, "price"))
    await surveys.analyse_survey(actor=w.actors["manager"], survey_id=survey)
    problem = (await raw_fetch("SELECT id FROM survey_problem"))[0]["id"]
    data = ActionIn("corrective", "Publish the repair prices.", w.users["cs2"]["id"],
                    clock.china_today())
    act = lambda: surveys.record_action(actor=w.actors["manager"],  # noqa: E731
                                        survey_id=survey, problem_id=problem, data=data)
    await act()
    return Told(w.ids("cs2"), w.users["manager"]["id"], f"/surveys/{survey}", again=act)


# --- in the caller's transaction, one query, e-mail -------------------------------------------------

async def test_a_refused_action_tells_nobody():
    w = await world()
    with clock.frozen(IN_WINDOW.replace(day=20)):  # outside Jiangsu's window (week 2)
        batch = await batches.create_draft(actor=w.actors["clerk"])
        await batch_lines.add_lines(actor=w.actors["clerk"], batch_id=batch, lines=[cfl_line(w.__dict__)])
        with pytest.raises(RuleViolation):
            await batches.submit_batch(actor=w.actors["clerk"], batch_id=batch)
    assert await raw_fetch("SELECT * FROM notification") == []


async def test_a_rolled_back_change_leaves_no_notice():
    """The notice is written in the transaction of the change: if anything after it fails, the
    notice goes with the change."""
    w = await world()
    with clock.frozen(IN_WINDOW):
        batch = await _batch(w, "approved")

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with engine().transaction():
                await batches.approve_batch(actor=w.actors["cs"], batch_id=batch["id"],
                                            disposition="return")
                assert len(await _notices("batch_approved")) == 3  # there, uncommitted
                raise Boom
    assert await _notices("batch_approved") == []
    status = await raw_fetch("SELECT status FROM return_batch WHERE id = $1", batch["id"])
    assert status[0]["status"] == "signed"


async def test_tell_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError):
        await tell("batch_signed", actor=None, org_id=1, params={"number": "x", "batch_id": 1,
                                                                 "office": "x"}, dedupe_key="x")


async def test_one_query_per_hand_off_whatever_the_audience():
    w = await world()
    for n in range(20):  # more CS users: still one statement
        await make_user(w.orgs["hq"], ["hq_cs"], username=f"cs.extra{n}")
    params = {"number": "RB1", "batch_id": 1, "office": handoffs.names({"name": "江苏办事处"})}
    with count_queries() as counter:
        async with engine().transaction():
            told = await tell("batch_signed", actor=w.actors["cs"], org_id=w.orgs["office"]["id"],
                              params=params, dedupe_key="RB1")
    assert len(told) == 21 and w.users["cs"]["id"] not in told
    assert counter.count == 1
    async with engine().transaction():  # the same event and key again: nobody twice
        assert await tell("batch_signed", actor=None, org_id=w.orgs["office"]["id"],
                          params=params, dedupe_key="RB1") == [w.users["cs"]["id"]]


async def test_a_batch_sent_back_and_submitted_again_asks_for_a_signature_again():
    w = await world()
    with clock.frozen(IN_WINDOW):
        batch = await _batch(w, "submitted")
        await batches.submit_batch(actor=w.actors["clerk"], batch_id=batch["id"])
        await batches.return_to_draft(actor=w.actors["manager"], batch_id=batch["id"],
                                      reason="数量不对。")
    with clock.frozen(IN_WINDOW.replace(hour=15)):
        await batches.submit_batch(actor=w.actors["clerk2"], batch_id=batch["id"])
    asked = [n["user"] for n in await _notices("batch_submitted")]
    assert sorted(asked) == sorted(w.ids("manager", "manager", "rm", "rm"))  # once each time


async def test_email_goes_out_in_each_readers_language(smtp):  # noqa: F811
    w = await world()
    with clock.frozen(IN_WINDOW):
        batch = await _batch(w, "submitted")
        await batches.submit_batch(actor=w.actors["clerk"], batch_id=batch["id"])
    assert await notify.send_pending_emails(smtp.settings()) == 2
    mails = {m["to"]: m for m in smtp.handler.received}
    emails = {r["username"]: r["email"] for r in await raw_fetch(
        "SELECT username, email FROM portal_user")}
    english, chinese = mails[emails["rm"]], mails[emails["manager"]]
    assert english["subject"] == f"Return batch {batch['number']} waits for your signature"
    assert "Jiangsu office submitted" in english["body"]
    assert chinese["subject"] == f"返厂单 {batch['number']} 待您签字"
    assert "江苏办事处 已提交" in chinese["body"]
    for mail in (english, chinese):
        assert mail["body"].rstrip().endswith(f"{smtp.settings().base_url}{batch['link']}")


# --- goods after the decision: replacements (goods/replacements.py, R13) -----------------------

async def _replacement(w: World, on_hand: int = 10) -> int:
    from goods import replacements
    from tests.goods.factory import decided, stock

    await stock(w.__dict__, on_hand=on_hand)
    await decided(w.__dict__, [(6, 0, 0)])
    with clock.frozen(IN_WINDOW):
        return (await replacements.open_replacements())[0]


async def _shipped(w: World) -> tuple[int, int]:
    from goods import replacements
    from goods.inputs import ShipIn

    rid = await _replacement(w)
    with clock.frozen(IN_WINDOW):
        shipment = await replacements.ship(actor=w.actors["logistics"], replacement_id=rid,
                                           data=ShipIn("顺丰", "SF1", 1, date(2026, 12, 9)))
    return rid, shipment


async def _short(w: World) -> tuple[int, int]:
    from goods import deliveries, queries
    from goods.inputs import ReceiptIn, ReceivedLineIn

    rid, shipment = await _shipped(w)
    line = (await queries.shipment(shipment))["lines"][0]["id"]
    await deliveries.confirm_receipt(actor=w.actors["clerk"], shipment_id=shipment,
                                     data=ReceiptIn([ReceivedLineIn(line, 4)]))
    return rid, shipment


@walk("replacement_opened")
async def _replacement_opened(event: str):
    w = await world()
    rid = await _replacement(w)
    return Told(w.ids("clerk", "clerk2", "manager", "logistics", "logistics2"),
                w.users["cs"]["id"], f"/goods/replacements/{rid}")


@walk("replacement_shipped")
async def _replacement_shipped(event: str):
    from goods import replacements
    from goods.inputs import ShipIn

    w = await world()
    rid = await _replacement(w)
    await raw_fetch("DELETE FROM notification")
    ship = lambda: replacements.ship(  # noqa: E731
        actor=w.actors["logistics"], replacement_id=rid,
        data=ShipIn("顺丰", "SF1", 1, clock.china_today()))
    await ship()
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["logistics"]["id"],
                f"/goods/replacements/{rid}", again=ship)


@walk("replacement_credited")
async def _replacement_credited(event: str):
    from goods import replacements
    from goods.inputs import CreditInsteadIn

    w = await world()
    rid = await _replacement(w)
    line = (await raw_fetch("SELECT id FROM goods_replacement_line"))[0]["id"]
    await raw_fetch("DELETE FROM notification")
    credit = lambda: replacements.credit_instead(  # noqa: E731
        actor=w.actors["cs"], replacement_id=rid, data=CreditInsteadIn(line, "型号停产"))
    await credit()
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["cs"]["id"],
                f"/goods/replacements/{rid}", again=credit)


@walk("replacement_short")
async def _replacement_short(event: str):
    from goods import deliveries
    from goods.inputs import ReceiptIn

    w = await world()
    rid, shipment = await _short(w)
    again = lambda: deliveries.confirm_receipt(  # noqa: E731
        actor=w.actors["clerk"], shipment_id=shipment, data=ReceiptIn([]))
    return Told(w.ids("logistics", "logistics2", "cs", "cs2"), w.users["clerk"]["id"],
                f"/goods/replacements/{rid}", again=again)


@walk("replacement_short_resolved")
async def _replacement_short_resolved(event: str):
    from goods import deliveries
    from goods.inputs import ResolveIn

    w = await world()
    rid, shipment = await _short(w)
    resolve = lambda: deliveries.resolve_shortfall(  # noqa: E731
        actor=w.actors["logistics"], shipment_id=shipment, data=ResolveIn("credit", "丢失"))
    await resolve()
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["logistics"]["id"],
                f"/goods/replacements/{rid}", again=resolve)


async def _rejected(w: World) -> int:
    from tests.goods.factory import decided

    return await decided(w.__dict__, [(0, 0, 4)])


@walk("rejected_goods_chosen")
async def _rejected_goods_chosen(event: str):
    from goods import rejected
    from goods.inputs import RejectedChoiceIn

    w = await world()
    batch_id = await _rejected(w)
    await raw_fetch("DELETE FROM notification")
    choose = lambda: rejected.choose(  # noqa: E731
        actor=w.actors["clerk"], batch_id=batch_id, data=RejectedChoiceIn("return"))
    await choose()
    return Told(w.ids("logistics", "logistics2"), w.users["clerk"]["id"],
                f"/goods/batches/{batch_id}/rejected", again=choose)


@walk("rejected_goods_sent")
async def _rejected_goods_sent(event: str):
    from goods import rejected
    from goods.inputs import RejectedChoiceIn, RejectedSentIn

    w = await world()
    batch_id = await _rejected(w)
    await rejected.choose(actor=w.actors["clerk"], batch_id=batch_id,
                          data=RejectedChoiceIn("return"))
    await raw_fetch("DELETE FROM notification")
    send = lambda: rejected.send_back(  # noqa: E731
        actor=w.actors["logistics"], batch_id=batch_id,
        data=RejectedSentIn("德邦", "DB77", clock.china_today()))
    await send()
    return Told(w.ids("clerk", "clerk2", "manager"), w.users["logistics"]["id"],
                f"/goods/batches/{batch_id}/rejected", again=send)


# --- goods after the decision: supplier claims (goods/suppliers.py, R13, R16) ------------------

async def _claim(w: World, upto: str) -> int:
    """A supplier answering for the CFL's ballast, December's decided exchange rolled up in
    January by CS into one draft claim, taken on by CS up to (not including) `upto`."""
    from goods import suppliers
    from goods.inputs import (
        ClaimAnswerIn,
        ClaimMonthIn,
        ProductSupplierIn,
        ReasonAttributionIn,
        SupplierIn,
    )
    from tests.goods.factory import decided

    cs = w.actors["cs"]
    supplier = await suppliers.save_supplier(actor=cs, data=SupplierIn("BAL", "镇流器厂",
                                                                       "Ballast Co"))
    await suppliers.map_product(actor=cs, data=ProductSupplierIn(w.products["cfl"], supplier))
    await suppliers.attribute_reason(actor=cs, data=ReasonAttributionIn(w.reason, True))
    await raw_fetch("INSERT INTO credit_price (product, price_fen, effective_from, reason, "
                    "created_at) VALUES ($1, 250, '2026-01-01', 't', now())", w.products["cfl"])
    await decided(w.__dict__, [(6, 0, 0)])  # 6 x 250 fen claimed
    steps = [("drawn_up", lambda: suppliers.roll_up(actor=cs, data=ClaimMonthIn(
                 date(2026, 12, 1)))),
             ("sent", lambda: suppliers.send_claim(actor=cs, claim_id=claim)),
             ("answered", lambda: suppliers.answer_claim(actor=cs, claim_id=claim,
                                                         data=ClaimAnswerIn(0, "不接受")))]
    claim = 0
    for step, run in steps:
        if step == upto:
            break
        await run()
        claim = claim or (await raw_fetch("SELECT id FROM goods_supplier_claim"))[0]["id"]
    await raw_fetch("DELETE FROM notification")
    return claim


@walk("supplier_claims_drawn_up", "supplier_claim_sent", "supplier_claim_answered",
      "supplier_claim_settled")
async def _supplier_claim(event: str):
    from goods import suppliers
    from goods.inputs import ClaimAnswerIn, ClaimMonthIn, ClaimSettleIn

    w = await world()
    step = event.removeprefix("supplier_claim_").removeprefix("supplier_claims_")
    with clock.frozen(IN_WINDOW.replace(year=2027, month=1)):
        claim = await _claim(w, step)
        link = f"/goods/supplier-claims/{claim}"
        if step == "drawn_up":
            await suppliers.roll_up(actor=w.actors["cs"], data=ClaimMonthIn(date(2026, 12, 1)))
            return Told(w.ids("tech"), w.users["cs"]["id"], "/goods/suppliers")
        runs = {
            "sent": ("cs", ("finance",), lambda: suppliers.send_claim(
                actor=w.actors["cs"], claim_id=claim)),
            "answered": ("cs2", ("finance",), lambda: suppliers.answer_claim(
                actor=w.actors["cs2"], claim_id=claim, data=ClaimAnswerIn(900, "接受 6 只"))),
            "settled": ("finance", ("tech",), lambda: suppliers.settle_claim(
                actor=w.actors["finance"], claim_id=claim, data=ClaimSettleIn(0))),
        }
        actor, told, run = runs[step]
        await run()
    return Told(w.ids(*told), w.users[actor]["id"], link,
                again=lambda: _frozen_january(run))


async def _frozen_january(run):
    with clock.frozen(IN_WINDOW.replace(year=2027, month=1)):
        return await run()


# --- audits of offices (oversight/audits.py, R30) ---------------------------------------------

async def _audit_world():
    """The world plus two vice-presidents (zh, en) and an announced audit plan of the office by
    CS (cs leads, cs2 is a member), taken no further."""
    from oversight import audits
    from oversight.inputs import AuditPlanIn

    w = await world()
    for name, locale in (("vp", "zh_CN"), ("vp2", "en")):
        w.users[name] = await make_user(w.orgs["hq"], ["vice_president"], username=name,
                                        locale=locale)
        w.actors[name] = await actor_of(w.users[name])
    audit_id = await audits.plan_audit(actor=w.actors["cs"], data=AuditPlanIn(
        office_id=w.orgs["office"]["id"], kind="periodic", scope="账册", method="现场",
        deadline=clock.china_today(), announced=True, members=[w.users["cs2"]["id"]]))
    return w, audit_id


async def _audit_to(w, audit_id: int, status: str) -> int | None:
    """Take the audit on to `status`; from "instructed" on, returns the order's id."""
    from oversight import audits, rectification
    from oversight.inputs import (
        AnswerOrderIn,
        AuditDecisionIn,
        AuditReportIn,
        AuditVisitIn,
        InstructIn,
        IssueOrderIn,
    )
    from portal import attachments

    steps = ["approved", "visited", "reported", "instructed", "issued", "answered"]
    order_id = None
    for step in steps[:steps.index(status) + 1]:
        if step == "approved":
            await audits.decide(actor=w.actors["vp"], audit_id=audit_id, approve=True,
                                data=AuditDecisionIn())
        elif step == "visited":
            await audits.record_visit(actor=w.actors["cs"], audit_id=audit_id,
                                      data=AuditVisitIn())
        elif step == "reported":
            await audits.file_report(actor=w.actors["cs"], audit_id=audit_id,
                                     data=AuditReportIn(findings="f", report="r", score=75))
        elif step == "instructed":
            order_id = await audits.instruct(actor=w.actors["vp"], audit_id=audit_id,
                                             data=InstructIn(instruction="整改"))
        elif step == "issued":
            await rectification.issue_order(actor=w.actors["rm"], order_id=order_id, data=IssueOrderIn(
                requirement="补台账", due=clock.china_today()))
        else:
            await attachments.attach(actor=w.actors["manager"], subject_name=rectification.EVIDENCE,
                                     subject_id=order_id, filename="e.pdf",
                                     data=b"%PDF-1.4\n%%EOF\n")
            await rectification.answer_order(actor=w.actors["manager"], order_id=order_id,
                                      data=AnswerOrderIn(answer="已补"))
    await raw_fetch("DELETE FROM notification")
    return order_id


@walk("audit_plan_submitted")
async def _audit_plan_submitted(event: str):
    w, audit_id = await _audit_world()
    return Told(w.ids("vp", "vp2"), w.users["cs"]["id"], f"/audits/{audit_id}")


@walk("audit_plan_returned", "audit_plan_approved", "audit_announced")
async def _audit_plan_decided(event: str):
    from oversight import audits
    from oversight.inputs import AuditDecisionIn

    w, audit_id = await _audit_world()
    await raw_fetch("DELETE FROM notification")
    approve = event != "audit_plan_returned"
    decide = lambda: audits.decide(  # noqa: E731
        actor=w.actors["vp"], audit_id=audit_id, approve=approve,
        data=AuditDecisionIn(note="范围太宽"))
    await decide()
    told = {"audit_plan_returned": ("cs",), "audit_plan_approved": ("cs", "cs2"),
            "audit_announced": ("manager",)}[event]
    return Told(w.ids(*told), w.users["vp"]["id"], f"/audits/{audit_id}", again=decide)


@walk("audit_reported")
async def _audit_reported(event: str):
    from oversight import audits
    from oversight.inputs import AuditReportIn

    w, audit_id = await _audit_world()
    await _audit_to(w, audit_id, "visited")
    report = lambda: audits.file_report(  # noqa: E731
        actor=w.actors["cs2"], audit_id=audit_id,
        data=AuditReportIn(findings="f", report="r", score=80))
    await report()
    return Told(w.ids("vp", "vp2"), w.users["cs2"]["id"], f"/audits/{audit_id}", again=report)


@walk("rectification_instructed")
async def _rectification_instructed(event: str):
    w, audit_id = await _audit_world()
    await _audit_to(w, audit_id, "reported")
    from oversight import audits
    from oversight.inputs import InstructIn

    await audits.instruct(actor=w.actors["vp"], audit_id=audit_id,
                          data=InstructIn(instruction="整改"))
    return Told(w.ids("rm"), w.users["vp"]["id"], f"/audits/{audit_id}")


@walk("rectification_issued", "rectification_answered", "rectification_closed",
      "rectification_reopened")
async def _rectification_steps(event: str):
    from oversight import rectification
    from oversight.inputs import AnswerOrderIn, CloseOrderIn, IssueOrderIn

    w, audit_id = await _audit_world()
    before = {"rectification_issued": "instructed", "rectification_answered": "issued"}.get(
        event, "answered")
    order_id = await _audit_to(w, audit_id, before)
    assert order_id is not None
    if event == "rectification_issued":
        actor, told = "rm", ("manager",)
        step = lambda: rectification.issue_order(  # noqa: E731
            actor=w.actors["rm"], order_id=order_id,
            data=IssueOrderIn(requirement="补台账", due=clock.china_today()))
    elif event == "rectification_answered":
        from portal import attachments

        await attachments.attach(actor=w.actors["manager"], subject_name=rectification.EVIDENCE,
                                 subject_id=order_id, filename="e.pdf", data=b"%PDF-1.4\n%%EOF\n")
        actor, told = "manager", ("rm",)
        step = lambda: rectification.answer_order(  # noqa: E731
            actor=w.actors["manager"], order_id=order_id, data=AnswerOrderIn(answer="已补"))
    else:
        accept = event == "rectification_closed"
        actor, told = "rm", ("manager",)
        step = lambda: rectification.close_order(  # noqa: E731
            actor=w.actors["rm"], order_id=order_id, data=CloseOrderIn(note="缺签字"),
            accept=accept)
    await step()
    return Told(w.ids(*told), w.users[actor]["id"], f"/audits/{audit_id}", again=step)
