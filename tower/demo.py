"""Control-tower demo (R35, R16): twelve months of history behind the dashboard, so head office
sees trends, red/amber/green figures and an early warning on any day.

Written in bulk (a few statements per month, `unnest`), not played through the services: it is
history the other demos never had — service calls with their visits and opinion cards at every
repair point, purchases in the stores' customer files (units sold), quality complaints, and a
closed regular return batch per office for each month before the last two (those belong to the
return-batch demo), received units by reason and date code, decisions left empty so no queue,
replacement or credit follows. Three months ago Sichuan returned 40 CFLs of one date code (about
one a month is usual): the early warning, run for that month, raises it.
Skipped once its first call (number TWD…) exists."""
from __future__ import annotations

import random
from datetime import date, timedelta

from portal import clock
from portal.db import raw_fetch
from tower import alerts, rules, selfassessment_demo
from tower.kpi_queries import china_midnight

MONTHS = 12
SPIKE_REGION = "CN-SC"
SPIKE_BACK = 3  # months before this one


async def load() -> bool:
    if await raw_fetch("SELECT 1 FROM service_call WHERE number LIKE 'TWD%' LIMIT 1"):
        return False
    points = await raw_fetch("SELECT o.id FROM organisation o WHERE o.kind = 'repair_point' "
                             "AND o.active ORDER BY o.id")
    stores = await raw_fetch("SELECT id FROM organisation WHERE kind = 'store' AND active "
                             "ORDER BY id")
    offices = await raw_fetch("SELECT o.id, r.code FROM organisation o JOIN region r "
                              "ON r.id = o.region WHERE o.kind IN ('office', 'agent') AND o.active "
                              "ORDER BY o.id")
    products = await raw_fetch("SELECT p.id, p.model, c.is_cfl FROM product p JOIN "
                               "product_category c ON c.id = p.category WHERE p.active ORDER BY p.id")
    reasons = [r["id"] for r in await raw_fetch(
        "SELECT id FROM reason_code WHERE kind = 'defect' AND active ORDER BY id")]
    staff = await raw_fetch("SELECT id FROM portal_user ORDER BY id LIMIT 1")
    if not (points and stores and offices and products and reasons and staff):
        return False
    rng = random.Random(35)
    user = staff[0]["id"]
    today = clock.china_today()
    this_month = today.replace(day=1)
    quality = {p["id"]: rng.choice((0.95, 0.9, 0.8, 0.7, 0.98)) for p in points}
    for back in range(MONTHS - 1, -1, -1):
        month = rules.add_months(this_month, -back)
        days = (rules.add_months(month, 1) - month).days if back else today.day
        await _calls(rng, points, quality, month, days, user, back)
        await _sales_and_complaints(rng, stores, products, month, days, back)
    await _returns(rng, offices, products, reasons, this_month, user)
    await alerts.watch_batch_quality(clock.now(), window_start=rules.add_months(
        this_month, -SPIKE_BACK))  # Sichuan's spike
    await selfassessment_demo.load()  # GB/T 27922, last year's and this year's (issue 15 §7)
    return True


async def _customers(org_ids: list[int], when) -> list[int]:
    rows = await raw_fetch(
        "INSERT INTO customer (organisation, name, phone, area, opened_at, last_activity_at) "
        "SELECT o, '顾客', '1390000' || lpad((n % 10000)::text, 4, '0'), '市区', $2, $2 "
        "FROM unnest($1::int[]) WITH ORDINALITY AS x(o, n) RETURNING id", org_ids, when)
    return [r["id"] for r in rows]


async def _calls(rng: random.Random, points: list[dict], quality: dict, month: date, days: int,
                 user: int, back: int) -> None:
    """Each point's calls of the month: visited within 24 h at the point's own rate, fixed at
    the first visit mostly, an opinion card for most."""
    calls = []
    for p in points:
        for _ in range(rng.randint(18, 30) if back else rng.randint(4, 10)):
            called = china_midnight(month + timedelta(days=rng.randrange(days))) + timedelta(
                hours=rng.randint(8, 19))
            on_time = rng.random() < quality[p["id"]]
            visited = called + timedelta(hours=rng.randint(2, 20) if on_time else
                                         rng.randint(25, 40))
            if visited > clock.now():
                continue
            calls.append((p["id"], called, visited, rng.random() < quality[p["id"]] - 0.03))
    if not calls:
        return
    customers = await _customers([c[0] for c in calls], calls[0][1])
    rows = await raw_fetch(
        "INSERT INTO service_call (number, organisation, customer, problem, address, called_at, "
        "visit_by, visited_at, outcome, first_time_fix, status, recorded_by, recorded_at, "
        "visited_by) SELECT 'TWD' || to_char($7::date, 'YYMM') || lpad(n::text, 5, '0'), o, c, "
        "'灯具不亮', '市区灯饰市场附近小区', called, called + interval '24 hours', visited, "
        "CASE WHEN ftf THEN 'fixed' ELSE 'parts' END, ftf, 'closed', $6, called, $6 "
        "FROM unnest($1::int[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::bool[]) "
        "WITH ORDINALITY AS x(o, c, called, visited, ftf, n) RETURNING id, organisation, visited_at",
        [c[0] for c in calls], customers, [c[1] for c in calls], [c[2] for c in calls],
        [c[3] for c in calls], user, month)
    cards = []
    for r in rows:
        if rng.random() < 0.7:
            good = rng.random() < quality[r["organisation"]] + 0.02
            scores = (rng.randint(4, 5), rng.randint(4, 5), rng.randint(4, 5)) if good else \
                (rng.randint(2, 4), rng.randint(1, 3), rng.randint(2, 5))
            cards.append((r["id"], r["visited_at"] + timedelta(hours=1), *scores))
    if cards:
        await raw_fetch(
            "INSERT INTO opinion_card (service_call, token_hash, issued_at, attitude, skill, "
            "punctuality, channel, submitted_at) SELECT c, md5('twd' || c::text), at, a, s, p, "
            "'tablet', at FROM unnest($1::int[], $2::timestamptz[], $3::int[], $4::int[], "
            "$5::int[]) AS x(c, at, a, s, p)", *[list(col) for col in zip(*cards, strict=True)])


async def _sales_and_complaints(rng: random.Random, stores: list[dict], products: list[dict],
                                month: date, days: int, back: int) -> None:
    """Units sold in each store's customer files, and quality complaints near 1 % of them."""
    sales, complaints = [], []
    for s in stores:
        for p in products:
            units = rng.randint(20, 90) if back else rng.randint(5, 30)
            sales.append((s["id"], p["id"], units,
                          month + timedelta(days=rng.randrange(days))))
            for _ in range(sum(rng.random() < 0.009 for _ in range(units))):
                complaints.append((s["id"], p["id"], china_midnight(
                    month + timedelta(days=rng.randrange(days))) + timedelta(hours=11)))
    customers = await _customers([s[0] for s in sales], china_midnight(month))
    await raw_fetch(
        "INSERT INTO customer_product (customer, product, quantity, purchased_on, proof, "
        "sold_by, recorded_at) SELECT c, p, q, d, '发票', o, now() FROM unnest($1::int[], "
        "$2::int[], $3::int[], $4::date[], $5::int[]) AS x(c, p, q, d, o)",
        customers, [s[1] for s in sales], [s[2] for s in sales], [s[3] for s in sales],
        [s[0] for s in sales])
    if not complaints:
        return
    now = clock.now()
    await raw_fetch(
        "INSERT INTO complaint (reference, organisation, name, phone, channel, about, "
        "about_product, description, kind, status, judgement, recorded_at, acknowledge_by, "
        "resolve_by, judged_at, told_at, closed_at, told_how, accountability, improvement, "
        "resolution) SELECT 'TWD' || to_char($4::date, 'YYMM') || lpad(n::text, 4, '0'), o, '顾客', "
        "'13900000000', 'phone', 'product', p, '灯管使用不久即发黑', 'quality', "
        "CASE WHEN r + interval '7 days' < $5 THEN 'closed' ELSE 'judged' END, '属实', r, "
        "r + interval '24 hours', r + interval '7 days', r + interval '3 hours', "
        "CASE WHEN r + interval '7 days' < $5 THEN r + interval '5 days' END, "
        "CASE WHEN r + interval '7 days' < $5 THEN r + interval '6 days' END, '电话', "
        "'门店', '加强进货检验', '换新' "
        "FROM unnest($1::int[], $2::int[], $3::timestamptz[]) WITH ORDINALITY AS x(o, p, r, n) "
        # history only: a complaint of the last week would wait in CS's queues beside the
        # customer-service demo's own stories
        "WHERE r + interval '7 days' < $5",
        [c[0] for c in complaints], [c[1] for c in complaints], [c[2] for c in complaints],
        month, now)


async def _returns(rng: random.Random, offices: list[dict], products: list[dict],
                   reasons: list[int], this_month: date, user: int) -> None:
    """A closed regular batch per office for each past month without one, received units by
    reason and date code; last month Sichuan returns one CFL date code at twice the rate."""
    cfl = next((p for p in products if p["is_cfl"]), products[0])
    spike_code = rules.add_months(this_month, -SPIKE_BACK - 6)
    for back in range(MONTHS - 1, 2, -1):
        month = rules.add_months(this_month, -back)
        received = china_midnight(month + timedelta(days=17)) + timedelta(hours=10)
        batches = await raw_fetch(
            "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
            "created_at, received_by, received_at, arrived_at, decided_at, disposition) "
            "SELECT 'TWD' || to_char($2::date, 'YYMM') || '-' || o, o, $2, 'regular', 'closed', "
            "$3, $4, $3, $4, $4, $4, 'return' FROM unnest($1::int[]) AS x(o) "
            "WHERE NOT EXISTS (SELECT 1 FROM return_batch b WHERE b.organisation = x.o "
            "AND b.month = $2 AND b.kind = 'regular' AND b.status <> 'withdrawn') "
            "RETURNING id, organisation", [o["id"] for o in offices], month, user, received)
        region = {o["id"]: o["code"] for o in offices}
        lines = []
        for b in batches:
            n = 0
            for p in products:
                for code_back in range(1, 13):
                    dc = rules.add_months(month, -code_back)
                    lam = 0.5 if p["id"] == cfl["id"] else 0.15
                    units = _poisson(rng, lam)
                    if p["id"] == cfl["id"] and dc == spike_code and back == SPIKE_BACK \
                            and region[b["organisation"]] == SPIKE_REGION:
                        units = 40  # a bad lot
                    if units:
                        n += 1
                        lines.append((b["id"], n, p["id"], units, rng.choice(reasons), dc))
        if lines:
            await raw_fetch(
                "INSERT INTO return_line (batch, line_no, product, quantity, reason, date_code, "
                "received_qty) SELECT b, n, p, q, r, d, q FROM unnest($1::int[], $2::int[], "
                "$3::int[], $4::int[], $5::int[], $6::date[]) AS x(b, n, p, q, r, d)",
                *[list(col) for col in zip(*lines, strict=True)])


def _poisson(rng: random.Random, lam: float) -> int:
    import math
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
