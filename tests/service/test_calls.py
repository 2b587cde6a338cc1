"""Service calls through their services (R33): recorded by a point, an office or HQ; routed by
the customer's area (one match, several, none); the 24-hour visit at its edges in China time;
the visit with its outcome and repair record (R19); close and cancel with reasons (R20); who
is told; one winner when two act at once. `call_world` is shared by the other call tests."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from portal import clock
from portal.clock import CHINA
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from service import call_queries, calls
from service.inputs import CallCancelIn, CallCloseIn, CallIn, CallVisitIn
from tests.dealers.factory import catalogue
from tests.helpers import actor_of, make_org, make_user

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=CHINA)
NAMES = {"a": "办事处-A", "a1": "维修点-A1", "a2": "维修点-A2", "b": "办事处-B", "b1": "维修点-B1"}
COVERAGE = {"a1": "南京市玄武区、鼓楼区", "a2": "南京市鼓楼区、秦淮区", "b1": "广州市海珠区、鼓楼区"}


@dataclass
class CallWorld:
    orgs: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    actors: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)

    def point(self, key: str) -> int:
        return self.orgs[key]["id"]


async def call_world() -> CallWorld:
    """HQ; office A with points A1 and A2; sibling office B with point B1 (which also covers
    "鼓楼区": an office never routes to a sibling's point); their people."""
    w = CallWorld()
    hq = w.orgs["hq"] = await make_org("hq", region=None, name="总部-HQ")
    w.orgs["a"] = await make_org("office", parent=hq, region="CN-JS", name=NAMES["a"])
    w.orgs["b"] = await make_org("office", parent=hq, region="CN-GD", name=NAMES["b"])
    people = {"clerk_a": ("a", ["dealer_clerk"], "zh_CN"), "manager_a": ("a", ["manager"], "en"),
              "clerk_b": ("b", ["dealer_clerk"], "zh_CN"), "cs": ("hq", ["hq_cs"], "zh_CN"),
              "auditor": ("hq", ["auditor"], "zh_CN")}
    for name, (org, roles, locale) in people.items():
        w.users[name] = await make_user(w.orgs[org], roles, username=name, locale=locale)
    w.users["regional"] = await make_user(hq, ["manager"], username="regional",
                                          covers=[w.orgs["a"]])
    for key, office in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        w.orgs[key] = await make_org("repair_point", parent=w.orgs[office], name=NAMES[key])
        await raw_fetch(
            "INSERT INTO repair_point_application (office, name, coverage_area, sales_scale, "
            "address, proposed_fee_fen, status, proposed_by, proposed_at, decision_reason, "
            "repair_point) VALUES ($1, $2, $3, 'small', 'x', 100, 'approved', $4, $5, '', $6)",
            w.orgs[office]["id"], NAMES[key], COVERAGE[key], w.users["cs"]["id"], NOW,
            w.orgs[key]["id"])
    for name, point, locale in (("staff_a1", "a1", "en"), ("staff_a1b", "a1", "zh_CN"),
                                ("staff_a2", "a2", "zh_CN"), ("staff_b1", "b1", "zh_CN")):
        w.users[name] = await make_user(w.orgs[point], ["repair_staff"], username=name,
                                        locale=locale)
    w.actors = {n: await actor_of(u) for n, u in w.users.items()}
    w.products = await catalogue()
    return w


def call_in(**overrides) -> CallIn:
    values = dict(name="张先生", phone="138 1234 5678", problem="吸顶灯不亮", area="玄武区",
                  address="中山路 1 号")
    values.update(overrides)
    return CallIn(**values)


async def record(w: CallWorld, who: str = "clerk_a", at: datetime = NOW, **overrides) -> int:
    with clock.frozen(at):
        return await calls.record_call(actor=w.actors[who], data=call_in(**overrides))


async def visit(w: CallWorld, call_id: int, at: datetime, who: str = "staff_a1",
                **overrides) -> str:
    data = CallVisitIn(**{"outcome": "fixed", "first_time_fix": True, **overrides})
    with clock.frozen(at):
        return await calls.record_visit(actor=w.actors[who], call_id=call_id, data=data)


async def call_of(call_id: int) -> dict:
    return (await raw_fetch("SELECT * FROM service_call WHERE id = $1", call_id))[0]


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


# --- recording and routing ---------------------------------------------------------------------

async def test_r33_a_call_keeps_the_customer_problem_instant_and_the_visit_due_in_24_hours():
    w = await call_world()
    called = NOW - timedelta(hours=2)
    call_id = await record(w, called_at=called.strftime("%Y-%m-%dT%H:%M"),
                           product_id=w.products["ceiling"])
    call = await call_of(call_id)
    assert call["called_at"] == called and call["visit_by"] == called + timedelta(hours=24)
    assert call["status"] == "open" and call["organisation"] == w.point("a1")
    assert call["number"] == f"SC261202-{call_id}" and call["product"] == w.products["ceiling"]
    customer = (await raw_fetch("SELECT * FROM customer WHERE id = $1", call["customer"]))[0]
    # R34: the file is held by the repair point that serves the customer
    assert (customer["organisation"], customer["phone"], customer["area"]) == (
        w.point("a1"), "13812345678", "玄武区")
    entry = (await raw_fetch("SELECT * FROM audit_entry WHERE object_type = 'service_call'"))[0]
    assert (entry["action"], entry["actor"]) == ("recorded", w.users["clerk_a"]["id"])


async def test_r33_a_call_recorded_by_a_point_is_its_own_whatever_the_area():
    w = await call_world()
    call_id = await record(w, "staff_a2", area="玄武区", point_id=w.point("a1"))
    assert (await call_of(call_id))["organisation"] == w.point("a2")


@pytest.mark.parametrize("who, area, expected", [
    ("clerk_a", "玄武区", "a1"),     # one of the office's points covers it
    ("clerk_a", "秦淮区", "a2"),
    ("clerk_a", "鼓楼区", "a2"),     # both do: the one with fewer open calls (A1 has one)
    ("clerk_b", "鼓楼区", "b1"),     # the sibling office's own point, never office A's
    ("cs", "海珠区", "b1"),          # HQ routes across the network
])
async def test_r33_routing_by_area(who, area, expected):
    w = await call_world()
    await record(w, "staff_a1")  # A1 has an open call
    call_id = await record(w, who, area=area)
    assert (await call_of(call_id))["organisation"] == w.point(expected)


async def test_r33_several_matches_go_to_the_point_with_fewest_open_calls_then_even_out():
    w = await call_world()
    served = [(await call_of(await record(w, area="鼓楼区")))["organisation"] for _ in range(4)]
    assert served == [w.point("a1"), w.point("a2"), w.point("a1"), w.point("a2")]


async def test_r33_no_match_asks_the_recorder_to_choose_from_their_points():
    w = await call_world()
    with pytest.raises(ValidationFailed) as refused:
        await record(w, area="浦东新区")
    assert "point_id" in refused.value.errors
    assert await raw_fetch("SELECT * FROM service_call") == []
    assert await raw_fetch("SELECT * FROM customer") == []  # nothing half-written
    choices = [p["id"] for p in await call_queries.call_points(w.actors["clerk_a"])]
    assert choices == [w.point("a1"), w.point("a2")]  # never the sibling's point
    call_id = await record(w, area="浦东新区", point_id=w.point("a2"))
    assert (await call_of(call_id))["organisation"] == w.point("a2")
    with pytest.raises(ValidationFailed) as sibling:
        await record(w, area="浦东新区", point_id=w.point("b1"))
    assert "point_id" in sibling.value.errors


async def test_r33_inactive_or_unapproved_points_are_not_routed_to():
    w = await call_world()
    await raw_fetch("UPDATE organisation SET active = false WHERE id = $1", w.point("a1"))
    assert (await call_of(await record(w, area="鼓楼区")))["organisation"] == w.point("a2")
    await raw_fetch("UPDATE repair_point_application SET status = 'proposed' "
                    "WHERE repair_point = $1", w.point("a2"))
    with pytest.raises(ValidationFailed):
        await record(w, area="鼓楼区")


@pytest.mark.parametrize("who", ["auditor", "regional"])
async def test_r33_roles_that_do_not_record_calls(who):
    w = await call_world()
    with pytest.raises(Forbidden):
        await record(w, who)


@pytest.mark.parametrize("overrides, field_name", [
    ({"problem": " "}, "problem"), ({"phone": "12"}, "phone"), ({"name": ""}, "name"),
    ({"called_at": "yesterday"}, "called_at"), ({"called_at": "2026-12-02T10:06"}, "called_at"),
    ({"called_at": "2026-11-01T10:00"}, "called_at"), ({"product_id": 999999}, "product_id"),
])
async def test_r33_a_call_with_a_wrong_field_is_refused_beside_it(overrides, field_name):
    w = await call_world()
    with pytest.raises(ValidationFailed) as refused:
        await record(w, **overrides)
    assert field_name in refused.value.errors


async def test_r33_an_instant_with_an_offset_is_that_instant():
    w = await call_world()
    call_id = await record(w, called_at="2026-12-02T01:30:00Z")
    assert (await call_of(call_id))["called_at"] == datetime(2026, 12, 2, 9, 30, tzinfo=CHINA)


async def test_r33_the_point_staff_are_told_of_a_new_call_not_the_recorder():
    w = await call_world()
    call_id = await record(w, "staff_a1b", area="")
    told = await raw_fetch("SELECT \"user\", link FROM notification WHERE kind = 'call_recorded'")
    assert [t["user"] for t in told] == [w.users["staff_a1"]["id"]]
    assert told[0]["link"] == f"/service-calls/{call_id}"


# --- the visit: 24 hours across midnight and month end in China time ---------------------------

MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize("called", [datetime(2026, 11, 30, 23, 50, tzinfo=CHINA),
                                    datetime(2026, 12, 31, 23, 59, tzinfo=CHINA),
                                    datetime(2027, 1, 31, 0, 0, tzinfo=CHINA)])
@pytest.mark.parametrize("offset, late", [(-MINUTE, False), (MINUTE, True)])
async def test_r33_a_visit_later_than_24_hours_is_a_breach(called, offset, late):
    w = await call_world()
    call_id = await record(w, at=called)
    visited = called + timedelta(hours=24) + offset
    with clock.frozen(visited - 2 * MINUTE):  # not visited, not late yet
        assert not (await calls.get_call(actor=w.actors["cs"], call_id=call_id))["breaching"]
    with clock.frozen(visited):  # not visited: late exactly when a visit now would be
        assert (await calls.get_call(actor=w.actors["cs"], call_id=call_id))["breaching"] is late
    await visit(w, call_id, visited)
    later = visited + timedelta(days=40)
    with clock.frozen(later):
        call = await calls.get_call(actor=w.actors["cs"], call_id=call_id)
        assert call["breaching"] is late  # kept after the visit, counted in lists
        rows = await call_queries.list_calls(actor=w.actors["cs"], now=later, breaching=True)
        assert [r["id"] for r in rows] == ([call_id] if late else [])
    entry = (await raw_fetch("SELECT to_state FROM audit_entry WHERE action = 'visited'"))[0]
    assert f'"late": {"true" if late else "false"}' in entry["to_state"]


async def test_r33_the_visit_records_outcome_first_time_fix_notes_and_the_repair_record():
    w = await call_world()
    call_id = await record(w)
    repair = await _repair(w, "a1")
    other = await _repair(w, "a2")
    with pytest.raises(ValidationFailed) as wrong:  # another point's repair record
        await visit(w, call_id, NOW + timedelta(hours=3), repair_id=other)
    assert "repair_id" in wrong.value.errors
    token = await visit(w, call_id, NOW + timedelta(hours=3), outcome="parts",
                        first_time_fix=False, notes="换镇流器", repair_id=repair)
    call = await call_of(call_id)
    assert (call["status"], call["outcome"], call["first_time_fix"], call["notes"],
            call["repair"], call["visited_by"]) == (
        "visited", "parts", False, "换镇流器", repair, w.users["staff_a1"]["id"])
    card = (await raw_fetch("SELECT * FROM opinion_card WHERE service_call = $1", call_id))[0]
    assert len(token) >= 32 and token not in card["token_hash"] and card["submitted_at"] is None


async def _repair(w: CallWorld, point: str) -> int:
    return (await raw_fetch(
        "INSERT INTO repair (repair_point, customer, phone, product, purchase_date, proof, "
        "in_warranty, status, recorded_by, recorded_at) VALUES ($1, 'c', '', $2, "
        "'2026-06-01', 'r', 'yes', 'repaired', $3, $4) RETURNING id", w.point(point),
        w.products["ceiling"], w.users["staff_a1"]["id"], NOW))[0]["id"]


@pytest.mark.parametrize("overrides, field_name", [
    ({"outcome": "magic"}, "outcome"),
    ({"visited_at": "2026-12-02T09:00"}, "visited_at"),  # before the call
    ({"visited_at": "2026-12-03T10:00"}, "visited_at"),  # in the future
])
async def test_r33_a_visit_with_a_wrong_field_is_refused(overrides, field_name):
    w = await call_world()
    call_id = await record(w)
    with pytest.raises(ValidationFailed) as refused:
        await visit(w, call_id, NOW + timedelta(hours=1), **overrides)
    assert field_name in refused.value.errors
    assert (await call_of(call_id))["status"] == "open"


@pytest.mark.parametrize("who, error", [("clerk_a", RuleViolation), ("cs", RuleViolation),
                                        ("staff_a2", NotFound), ("staff_b1", NotFound),
                                        ("auditor", Forbidden)])
async def test_r33_only_the_serving_points_staff_record_the_visit(who, error):
    w = await call_world()
    call_id = await record(w)
    with pytest.raises(error):
        await visit(w, call_id, NOW + timedelta(hours=1), who=who)


async def test_r33_two_visits_at_once_one_wins_the_other_is_told():
    w = await call_world()
    call_id = await record(w)
    results = await asyncio.gather(visit(w, call_id, NOW, "staff_a1"),
                                   visit(w, call_id, NOW, "staff_a1b"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "str"]
    assert len(await raw_fetch("SELECT * FROM opinion_card")) == 1


# --- close and cancel ---------------------------------------------------------------------------

async def test_r33_close_after_the_visit_only():
    w = await call_world()
    call_id = await record(w)
    with pytest.raises(RuleViolation):
        await calls.close_call(actor=w.actors["staff_a1"], call_id=call_id, data=CallCloseIn())
    await visit(w, call_id, NOW)
    await calls.close_call(actor=w.actors["clerk_a"], call_id=call_id,
                           data=CallCloseIn(note="顾客满意"))
    assert (await call_of(call_id))["status"] == "closed"
    with pytest.raises(Conflict):
        await calls.close_call(actor=w.actors["staff_a1"], call_id=call_id, data=CallCloseIn())
    entry = (await raw_fetch("SELECT reason FROM audit_entry WHERE action = 'closed'"))[0]
    assert entry["reason"] == "顾客满意"


async def test_r33_cancel_needs_a_reason_and_tells_the_point_and_the_recorder():
    w = await call_world()
    call_id = await record(w, "clerk_a")
    with pytest.raises(ValidationFailed) as refused:
        await calls.cancel_call(actor=w.actors["cs"], call_id=call_id, data=CallCancelIn())
    assert "reason" in refused.value.errors
    await calls.cancel_call(actor=w.actors["cs"], call_id=call_id,
                            data=CallCancelIn(reason="顾客已自行修好"))
    assert (await call_of(call_id))["status"] == "cancelled"
    told = await raw_fetch("SELECT \"user\" FROM notification WHERE kind = 'call_cancelled' "
                           "ORDER BY \"user\"")
    assert [t["user"] for t in told] == sorted(
        w.users[n]["id"] for n in ("clerk_a", "staff_a1", "staff_a1b"))
    with pytest.raises(Conflict):
        await visit(w, call_id, NOW)


async def test_r33_a_visited_call_is_closed_not_cancelled():
    w = await call_world()
    call_id = await record(w)
    await visit(w, call_id, NOW)
    with pytest.raises(RuleViolation):
        await calls.cancel_call(actor=w.actors["clerk_a"], call_id=call_id,
                                data=CallCancelIn(reason="x"))


# --- lists: scope and search -------------------------------------------------------------------

async def test_r1_lists_are_scoped_and_searchable():
    w = await call_world()
    a1 = await record(w, area="玄武区", phone="13900000001")
    a2 = await record(w, area="秦淮区", phone="13900000002")
    b1 = await record(w, "clerk_b", area="海珠区", phone="13900000003")

    async def ids(who: str, **filters) -> list[int]:
        return [r["id"] for r in await call_queries.list_calls(actor=w.actors[who], now=NOW,
                                                          **filters)]
    assert await ids("staff_a1") == [a1]
    assert await ids("staff_b1") == [b1]
    assert await ids("clerk_a") == await ids("regional") == [a2, a1]
    assert await ids("clerk_b") == [b1]
    assert await ids("cs") == await ids("auditor") == [b1, a2, a1]
    assert await ids("clerk_a", phone="13900000003") == []  # a sibling's customer: nothing
    assert await ids("cs", phone="13900000003") == [b1]
    number = (await call_of(a2))["number"]
    assert await ids("clerk_a", number=number) == [a2]
    assert await ids("clerk_a", number=number.lower()[:4]) == [a2, a1]
    assert await ids("clerk_a", status="visited") == []
    assert await ids("clerk_a", after_id=a2) == [a1]
