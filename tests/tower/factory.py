"""A network for control-tower tests (R35): HQ; offices A and B in Jiangsu, C in Guangdong
(A's sibling); a store and a repair point under each; HQ people, A's manager and clerk, a
point's staff, a regional manager covering A and B. Records are inserted directly (the tower
only reads them): the factories below write exactly the columns the KPIs read."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.db import raw_fetch
from tests.dealers.factory import catalogue, reason
from tests.helpers import actor_of, make_org, make_user

CHINA = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)


@dataclass
class World:
    orgs: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    actors: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)
    reason: int = 0


async def world(extra_offices: int = 0) -> World:
    w = World()
    hq = w.orgs["hq"] = await make_org("hq", region=None, name="总部")
    for key, region in (("a", "CN-JS"), ("b", "CN-JS"), ("c", "CN-GD")):
        office = w.orgs[key] = await make_org("office", parent=hq, region=region,
                                              name=f"办事处{key.upper()}")
        w.orgs[f"{key}_store"] = await make_org("store", parent=office, region=region,
                                                name=f"门店{key.upper()}")
        w.orgs[f"{key}_point"] = await make_org("repair_point", parent=office, region=region,
                                                name=f"维修点{key.upper()}")
    for i in range(extra_offices):
        office = await make_org("office", parent=hq, region="CN-ZJ", name=f"extra{i}")
        w.orgs[f"x{i}"] = office
        w.orgs[f"x{i}_point"] = await make_org("repair_point", parent=office, region="CN-ZJ",
                                               name=f"extra-point{i}")
    people = {
        "admin": ("hq", ["hq_admin"], []), "cs": ("hq", ["hq_cs"], []),
        "tech": ("hq", ["hq_tech"], []), "auditor": ("hq", ["auditor"], []),
        "regional": ("hq", ["manager"], ["a", "b"]),
        "manager": ("a", ["manager"], []), "clerk": ("a", ["dealer_clerk"], []),
        "staff": ("a_point", ["repair_staff"], []), "c_manager": ("c", ["manager"], []),
    }
    for name, (org, roles, covers) in people.items():
        w.users[name] = await make_user(w.orgs[org], roles, username=name,
                                        covers=[w.orgs[c] for c in covers], locale="en")
        w.actors[name] = await actor_of(w.users[name])
    w.products = await catalogue()
    w.reason = await reason()
    return w


async def customer(w: World, org: str) -> int:
    rows = await raw_fetch(
        "INSERT INTO customer (organisation, name, phone, opened_at, last_activity_at) "
        "VALUES ($1, '顾客', '13800000000', now(), now()) RETURNING id", w.orgs[org]["id"])
    return rows[0]["id"]


async def sold(w: World, org: str, quantity: int, day: date, product: str = "cfl") -> None:
    """Units sold (R35): a purchase in the customer archive of a customer held by `org`."""
    cust = await customer(w, org)
    await raw_fetch(
        "INSERT INTO customer_product (customer, product, quantity, purchased_on, recorded_at) "
        "VALUES ($1, $2, $3, $4, now())", cust, w.products[product], quantity, day)


async def call(w: World, point: str, called: datetime, *, visited: datetime | None = None,
               first_time_fix: bool | None = None, status: str | None = None,
               repair: int | None = None) -> int:
    cust = await customer(w, point)
    status = status or ("visited" if visited else "open")
    rows = await raw_fetch(
        "INSERT INTO service_call (number, organisation, customer, problem, address, called_at, "
        "visit_by, visited_at, first_time_fix, status, recorded_by, recorded_at, repair) "
        "VALUES ($1, $2, $3, 'broken', 'addr', $4, $5, $6, $7, $8, $9, $4, $10) RETURNING id",
        f"C{next(_seq)}", w.orgs[point]["id"], cust, called, called + timedelta(hours=24),
        visited, first_time_fix, status, w.users["staff"]["id"], repair)
    return rows[0]["id"]


async def card(call_id: int, scores: tuple[int, int, int], submitted: datetime) -> None:
    await raw_fetch(
        "INSERT INTO opinion_card (service_call, token_hash, issued_at, attitude, skill, "
        "punctuality, channel, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, 'tablet', $3)",
        call_id, f"hash{next(_seq)}", submitted, *scores)


async def answers(w: World, org: str, year: int, recorded: datetime, satisfied: int,
                  unsatisfied: int) -> None:
    survey = (await raw_fetch(
        "INSERT INTO survey (organisation, year, title, created_by, created_at) "
        "VALUES ($1, $2, 'survey', $3, now()) RETURNING id", w.orgs[org]["id"], year,
        w.users["manager"]["id"]))[0]["id"]
    for ok in [True] * satisfied + [False] * unsatisfied:
        await raw_fetch(
            "INSERT INTO survey_answer (survey, satisfied, recorded_by, recorded_at) "
            "VALUES ($1, $2, $3, $4)", survey, ok, w.users["manager"]["id"], recorded)


async def complaint(w: World, org: str, recorded: datetime, *, kind: str = "quality",
                    closed: datetime | None = None, told_late: bool = False) -> int:
    resolve_by = recorded + timedelta(days=7)
    told = None
    if closed is not None:
        told = resolve_by + timedelta(days=1) if told_late else closed - timedelta(hours=1)
    rows = await raw_fetch(
        "INSERT INTO complaint (reference, organisation, name, phone, channel, about, "
        "description, kind, status, recorded_at, acknowledge_by, resolve_by, told_at, closed_at, "
        "accountability, improvement) VALUES ($1, $2, '张', '13800000000', 'phone', 'product', "
        "'坏了', $3, $4, $5, $6, $7, $8, $9, 'x', 'y') RETURNING id",
        f"K{next(_seq)}", w.orgs[org]["id"], kind, "closed" if closed else "recorded",
        recorded, recorded + timedelta(hours=24), resolve_by, told, closed)
    return rows[0]["id"]


async def repair(w: World, point: str, recorded: datetime, *, on_the_spot: bool) -> int:
    rows = await raw_fetch(
        "INSERT INTO repair (repair_point, customer, product, purchase_date, proof, in_warranty, "
        "status, promised_by, recorded_by, recorded_at) VALUES ($1, '顾客', $2, $3, 'receipt', "
        "'yes', $4, $5, $6, $7) RETURNING id",
        w.orgs[point]["id"], w.products["cfl"], recorded.date(),
        "repaired" if on_the_spot else "promised",
        None if on_the_spot else recorded.date() + timedelta(days=3),
        w.users["staff"]["id"], recorded)
    return rows[0]["id"]


async def batch(w: World, org: str, month: date, received: datetime | None) -> int:
    rows = await raw_fetch(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
        "created_at, received_at) VALUES ($1, $2, $3, 'regular', $4, $5, now(), $6) RETURNING id",
        f"B{next(_seq)}", w.orgs[org]["id"], month, "received" if received else "approved",
        w.users["clerk"]["id"], received)
    return rows[0]["id"]


async def line(w: World, batch_id: int, quantity: int, received: int | None, *,
               product: str = "cfl", date_code: date | None = None,
               reason_id: int | None = None) -> None:
    n = (await raw_fetch("SELECT count(*) AS n FROM return_line WHERE batch = $1",
                         batch_id))[0]["n"]
    await raw_fetch(
        "INSERT INTO return_line (batch, line_no, product, quantity, reason, date_code, "
        "received_qty) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        batch_id, n + 1, w.products[product], quantity, reason_id or w.reason, date_code, received)
