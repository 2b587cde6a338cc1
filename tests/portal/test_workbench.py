"""Workbenches and navigation (issue 9 §1-2): each role's home shows the queues waiting for it
with the right count and a link that lists exactly those items; empty queues explain
themselves; an office never counts a sibling's items and a regional manager only their
offices'; every home is flat in queries (10 vs 1,000 items); the navigation shows only links
the role may open, marks the current page and counts unread notifications."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dealers import workbench as dealers_wb
from portal import clock, i18n, workbench
from portal.db import count_queries, raw_fetch
from portal.notify import notify
from settlements import workbench as settlements_wb
from spares import applications
from spares import workbench as spares_wb
from tests.helpers import actor_of, client, login, make_org, make_user
from tests.settlements.statement_factory import closed_month

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 10, 10, tzinfo=CHINA)  # Jiangsu's return week (days 8-14)
T = "timestamptz '2026-12-10 10:00+08'"  # NOW, in the SQL that fills the queues
ROWS = [  # (link prefix, the rows of that list)
    ("/batches", r'<tr id="batch-\d+"'),
    ("/statements", r'<tr id="statement-\d+"'),
    ("/repair-points/exchanges", r'<tr id="exchange-\d+"'),
    ("/repair-points?", r'<tr id="application-\d+"'),
    ("/special-approvals", r'<tr id="special-\d+"'),
    ("/settlements/repair-points/", r'<tr id="fee-line-\d+"'),
    ("/network?", r'<tr id="org-\d+"'),
]


@pytest.fixture(autouse=True)
def frozen_clock():
    """Every test signs in and reads its homes on NOW (sessions would expire across a jump)."""
    with clock.frozen(NOW):
        yield


ROLES = ["clerk", "manager", "regional", "gd.manager", "store", "staff", "cs", "logistics",
         "tech", "finance", "admin", "auditor"]


async def _batch(org: int, user: int, status: str, n: int = 1, **cols) -> list[int]:
    """n return batches in a state, by one statement; `cols` are SQL expressions."""
    names = ", ".join(cols)
    values = ", ".join(cols.values())
    rows = await raw_fetch(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
        f"created_at, refused_reason, disposal_evidence, carrier, waybill{', ' + names if cols else ''}) "
        "SELECT 'W' || substr(md5(random()::text), 1, 20), $1, "
        # one regular batch per office and month (R6): drafts this month, the others earlier
        "CASE WHEN $3 = 'draft' THEN date '2026-12-01' ELSE (date '2026-11-01' - ((SELECT "
        "count(*) FROM return_batch) + g) * interval '1 month')::date END, "
        f"'regular', $3, $2, {T}, '', '', '', ''"
        f"{', ' + values if cols else ''} FROM generate_series(1, $4) g RETURNING id",
        org, user, status, n)
    return [r["id"] for r in rows]


async def world() -> dict:
    """The closed November of tests/settlements/statement_factory.py (office JS with its repair
    point, sibling GD), plus a regional manager covering JS, HQ tech, a store with its clerk, a
    sibling repair point, and items in every queue."""
    net = await closed_month()
    office, sibling, hq = net["office"], net["sibling"], net["hq"]
    users = net["users"]
    users["regional"] = await make_user(hq, ["manager"], username="regional", covers=[office])
    users["tech"] = await make_user(hq, ["hq_tech"], username="tech")
    users["gd.manager"] = users["gd"]
    store = await make_org("store", parent=office, name="南京门店")
    users["store"] = await make_user(store, ["dealer_clerk"], username="store")
    actors = net["actors"]
    with clock.frozen(NOW - timedelta(days=30)):
        application = await applications.propose_repair_point(
            actor=actors["gd"], office_id=sibling["id"], name="古镇维修点", coverage_area="x",
            sales_scale="small", address="古镇灯饰城", proposed_fee_fen=100)
        point = await applications.decide_repair_point(actor=actors["cs"], application_id=application,
                                                  approve=True)
    net["sibling_point"] = {"id": point}
    net["store"] = store
    await grow(net, 1)
    return net


async def grow(net: dict, n: int) -> None:
    """n more items in every queue, for the office, its point and the sibling (one statement
    per table whatever n)."""
    office, sibling = net["office"]["id"], net["sibling"]["id"]
    point, sibling_point = net["point"]["id"], net["sibling_point"]["id"]
    clerk, gd = net["users"]["clerk"]["id"], net["users"]["gd"]["id"]
    staff = net["users"]["staff"]["id"]
    arrived = f"{T} - interval '3 days'"
    for org, user in ((office, clerk), (sibling, gd)):
        await _batch(org, user, "submitted", n, submitted_at=f"{T} - interval '2 days'")
        await _batch(org, user, "signed", n, signed_at=f"{T} - interval '1 day'")
        if not await raw_fetch("SELECT 1 FROM return_batch WHERE organisation = $1 AND "
                               "status = 'draft'", org):
            await _batch(org, user, "draft")  # this month's one draft (R6)
        await _batch(org, user, "dispositioned", n, decided_at=f"{T} - interval '5 hours'")
        await _batch(org, user, "dispatched", n, dispatched_on="'2026-12-05'")
        await _batch(org, user, "approved", n, arrived_at=arrived)
        await _batch(org, user, "approved", n, approved_at=f"{T} - interval '6 hours'")  # to send
        disputed = await _batch(org, user, "received", n, arrived_at=arrived, received_at=arrived)
        await raw_fetch("INSERT INTO quality_dispute (batch, description, raised_by, raised_at, "
                        "due_at, findings) SELECT b, 'flicker', $2, $3::timestamptz - interval '1 day', "
                        "$3::timestamptz + interval '1 day', '' FROM unnest($1::int[]) b",
                        disputed, user, NOW)
        await raw_fetch("INSERT INTO special_approval (organisation, month, quality_problem, "
                        "reason, status, requested_by, requested_at, decision_reason) "
                        "SELECT $1, '2026-12-01', false, 'late', 'requested', $2, $4, '' "
                        "FROM generate_series(1, $3)", org, user, n, NOW)
    parts = list(net["parts"].values())
    for p, o in ((point, office), (sibling_point, sibling)):
        await raw_fetch("INSERT INTO exchange (repair_point, office, spare_part, quantity, status, "
                        "requested_by, requested_at) SELECT $1, $2, $3, 1, 'requested', $4, $6 "
                        "FROM generate_series(1, $5)", p, o, parts[0], staff, n, NOW)
        for status in ("open", "escalated"):
            await raw_fetch("INSERT INTO consumer_dispute (repair_point, customer, description, "
                            "status, recorded_by, recorded_at, mediation, ruling) SELECT $1, 'x', "
                            "'x', $2, $3, $5, '', '' FROM generate_series(1, $4)",
                            p, status, staff, n, NOW)
        await raw_fetch("INSERT INTO repair_fee (repair_point, amount_fen, effective_from, status, "
                        "proposed_by, proposed_at, reason, decision_reason) SELECT $1, 100, "
                        "'2027-01-01', 'proposed', $2, $4, '', '' FROM generate_series(1, $3)",
                        p, staff, n, NOW)
    for promised in ("2026-12-09", "2026-12-12"):  # one overdue (before NOW's day), one not
        await raw_fetch(
            "INSERT INTO repair (repair_point, customer, phone, product, purchase_date, proof, "
            "in_warranty, parts_quantity, parts_fen, fee_fen, charge_fen, status, promised_by, "
            "recorded_by, recorded_at) SELECT $1, 'c', '', $2, '2026-06-01', 'r', 'yes', 0, 0, 0, "
            "0, 'promised', $3::date, $4, $6::timestamptz - interval '2 days' "
            "FROM generate_series(1, $5)",
            point, net["product"], datetime.fromisoformat(promised).date(), staff, n, NOW)
    manager = await actor_of(net["users"]["manager"])
    with clock.frozen(NOW):
        for _ in range(min(n, 3)):  # applications go through the service (a few are enough)
            await applications.propose_repair_point(
                actor=manager, office_id=office, name="新维修点", coverage_area="x",
                sales_scale="small", address="x", proposed_fee_fen=100)
    # drafts of statements for earlier months, with a repair fee line (waiting for CS's review)
    await raw_fetch(
        "WITH s AS (INSERT INTO statement (dealer, period, status, total_fen, created_at) "
        "SELECT $1, (date '1900-01-01' + (g + (SELECT max(id) FROM statement)) * interval "
        "'1 month')::date, 'draft', 100, $4 FROM generate_series(1, $2) g RETURNING id) "
        "INSERT INTO statement_line (statement, kind, source_type, source_id, amount_fen, "
        "description, repair_point) SELECT id, 'repair_fee', 'test', 'wb-' || id, 100, 'fee', $3 "
        "FROM s", office, n, point, NOW)


def _count(html: str, key: str) -> int:
    match = re.search(rf'id="count-{key}">(\d+)<', html)
    assert match, f"no queue {key}"
    return int(match.group(1))


def _link(html: str, key: str) -> str | None:
    match = re.search(rf'href="([^"]+)" class="title" id="link-{key}"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def _queues(html: str) -> list[str]:
    return re.findall(r'<li class="queue[^"]*" id="queue-([a-z_]+)"', html)


async def _home(c) -> str:
    with clock.frozen(NOW):
        page = await c.get("/")
    assert page.status_code == 200
    return page.text


async def _rows(c, link: str) -> int | None:
    for prefix, pattern in ROWS:
        if link.startswith(prefix):
            with clock.frozen(NOW):
                page = await c.get(link)
            assert page.status_code == 200, link
            return len(re.findall(pattern, page.text))
    return None


EXPECTED = {  # role: {queue: count}; the world has one item of each kind per office
    "clerk": {"drafts": 1, "to_dispatch": 1, "decided": 1, "exchanges": 1, "approved": 0},
    "manager": {"to_sign": 1, "disputes": 1, "exchanges": 1, "points": 1, "drafts": None},
    "regional": {"to_sign": 1, "disputes": 1, "points": 1},
    "gd.manager": {"to_sign": 1, "disputes": 1, "exchanges": 1, "points": 1},
    "store": {"approved": 0, "run_points": 0},
    "staff": {"deposit": 1, "below_template": 2, "promised": 2, "overdue": 1, "my_exchanges": 1,
              "fees_unpaid": 2},
    "cs": {"to_approve": 2, "special": 2, "to_decide": 3, "breaching": 2, "applications": 1,
           "fees": 2, "escalated": 2, "fee_review": 2},
    "logistics": {"in_transit": 2, "to_receive": 2, "breaching": 2, "to_ship": 0},
    "tech": {"to_verify": 2},
    "finance": {"approval": 1, "second_approval": 0, "payment": 0, "reconciliation": 0,
                "adjustments": 0, "deposits": 2},
    "admin": {"no_window": 0, "no_credit_price": 1},
    "auditor": {"to_sign": 2, "to_approve": 2, "in_transit": 2, "approval": 1},
}


@pytest.mark.parametrize("role", ROLES)
async def test_each_home_counts_its_queues_and_links_to_exactly_those_items(role):
    net = await world()
    async with client() as c:
        await login(c, net["users"][role]["username"])
        html = await _home(c)
        shown = _queues(html)
        for key, expected in EXPECTED[role].items():
            if expected is None:
                assert key not in shown, f"{role} should not see {key}"
                continue
            assert _count(html, key) == expected, (role, key, _count(html, key))
        assert shown, role
        for key in shown:  # every link lists exactly what its count says
            link = _link(html, key)
            rows = await _rows(c, link) if link else None
            if rows is not None:
                assert rows == _count(html, key), (role, key, link, rows)


async def test_empty_queues_say_what_will_appear_and_why():
    await world()
    async with client() as c:
        await login(c, "store")
        html = await _home(c)
    for key in ("approved", "run_points"):
        item = re.search(rf'<li class="queue empty" id="queue-{key}">(.*?)</li>', html, re.S)
        assert item, key
        explanation = next(wb.QUEUE_LABELS[key][1] for wb in (settlements_wb, spares_wb)
                           if key in wb.QUEUE_LABELS)
        assert i18n.translate(explanation, "zh_CN") in item.group(1)


async def test_sibling_isolation_and_regional_scope():
    """The office counts its own items only; the regional manager those of the offices covered;
    HQ (the auditor) all of them."""
    net = await world()
    await grow(net, 4)  # now 5 items of each kind per office
    counts = {}
    for user in ("manager", "gd.manager", "regional", "auditor"):
        async with client() as c:
            await login(c, user)
            html = await _home(c)
            counts[user] = _count(html, "to_sign")
            if user != "auditor":
                counts[user, "disputes"] = _count(html, "disputes")
    assert counts["manager"] == counts["gd.manager"] == counts["regional"] == 5
    assert counts["auditor"] == 10
    assert counts["manager", "disputes"] == counts["regional", "disputes"] == 5
    uncovered = await make_org("office", parent=net["hq"], region="CN-ZJ", name="浙江办事处")
    await _batch(uncovered["id"], net["users"]["cs"]["id"], "submitted", 3, submitted_at=T)
    async with client() as c:
        await login(c, "regional")
        assert _count(await _home(c), "to_sign") == 5


async def test_age_of_the_oldest_item_in_china_time():
    net = await world()
    async with client() as c:
        await login(c, "manager")
        html = await _home(c)
    age = re.search(r'id="age-to_sign">([^<]+)<', html).group(1)
    submitted = (await raw_fetch("SELECT min(submitted_at) AS t FROM return_batch b JOIN "
                                 "organisation o ON o.id = b.organisation WHERE o.id = $1 AND "
                                 "status = 'submitted'", net["office"]["id"]))[0]["t"]
    assert submitted.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") in age
    assert "UTC" not in html


@pytest.mark.parametrize("role", ROLES)
async def test_home_query_count_is_flat_at_10_and_1000_items(role):
    net = await world()
    await grow(net, 9)
    username = net["users"][role]["username"]

    async def queries() -> int:
        async with client() as c:
            await login(c, username)
            await _home(c)  # warm-up
            with count_queries() as counter:
                await _home(c)
            return counter.count

    small = await queries()
    await grow(net, 990)
    large = await queries()
    print(f"home of {role}: {small} queries at 10 items, {large} at 1,000")
    assert small == large, f"{role}: {small} queries at 10 items, {large} at 1,000"
    # the page's own (identity, window, unread notices) and one statement per domain whose
    # queues the home gathers: a new domain may add its one, no more (issue 17 §3)
    assert small <= 5 + len(workbench._providers), (role, small)


NAV = re.compile(r'<nav class="main-nav"[^>]*>(.*?)</nav>', re.S)


@pytest.mark.parametrize("role", ROLES)
async def test_nav_shows_only_links_the_role_may_open(role):
    net = await world()
    async with client() as c:
        await login(c, net["users"][role]["username"])
        html = await _home(c)
        nav = NAV.search(html).group(1)
        links = re.findall(r'href="([^"]+)"', nav)
        assert links[0] == "/" and 'aria-current="page"' in nav.split("</a>")[0]
        menu = re.search(r'<details class="nav-menu">.*?<nav[^>]*>(.*?)</nav>', html, re.S).group(1)
        assert re.findall(r'href="([^"]+)"', menu) == links  # the phone menu: the same links
        for link in links:
            with clock.frozen(NOW):
                page = await c.get(link)
            assert page.status_code == 200, (role, link, page.status_code)
            current = re.findall(r'<a href="([^"]+)" id="nav-[^"]+" aria-current="page"',
                                 page.text)
            assert current == [link], (role, link, current)
    if role == "staff":
        assert f"/repair-points/{net['point']['id']}" in links
    if role in ("clerk", "manager"):
        assert "/repair-points/exchanges" in links
    if role in ("staff", "store"):
        assert "/batches" not in links and "/admin/users" not in links


async def test_inbox_badge_counts_unread_notifications():
    net = await world()
    user = net["users"]["clerk"]
    async with client() as c:
        await login(c, "clerk")
        assert 'id="nav-unread"' not in await _home(c)
        await notify(user_ids=[user["id"]], kind="test", dedupe_key="1", subject="Hello",
                     body="x", link="/")
        await notify(user_ids=[user["id"]], kind="test", dedupe_key="2", subject="Hello",
                     body="x", link="/")
        html = await _home(c)
        assert re.search(r'id="nav-unread"[^>]*>2<', html)
        # an htmx fragment skips the count (and the page around it)
        with count_queries() as counter:
            await c.get("/batches", headers={"HX-Request": "true"})
        fragment = counter.count
        with count_queries() as counter:
            await c.get("/batches")
        assert counter.count == fragment + 1


async def test_a_user_with_two_roles_sees_both_sections():
    net = await world()
    await make_user(net["hq"], ["hq_cs", "hq_logistics"], username="both")
    async with client() as c:
        await login(c, "both")
        html = await _home(c)
    assert 'id="section-hq_cs"' in html and 'id="section-hq_logistics"' in html
    assert _queues(html).count("breaching") == 1  # a shared queue is shown once


def test_every_queue_has_a_title_and_an_explanation_translated():
    for wb in (dealers_wb, spares_wb, settlements_wb):
        for key, (title, empty) in wb.QUEUE_LABELS.items():
            for message in (title, empty):
                assert i18n.translate(message, "zh_CN") != message, (key, message)
                assert not re.search(r"\bR\d+\b", message), message


async def test_home_batch_queues_ignore_closed_history_but_keep_every_open_dispute():
    """Issue 17 §3: the batch queues read live batches only, so closed history changes no
    count; an open quality dispute still waits for HQ tech whatever its batch's status (R16)."""
    net = await world()
    tech, clerk = await actor_of(net["users"]["tech"]), await actor_of(net["users"]["clerk"])
    before = {q.key: q.count for q in await dealers_wb.queues(tech, NOW)}
    mine = {q.key: q.count for q in await dealers_wb.queues(clerk, NOW)}
    office = clerk.organisation_id
    await _batch(office, clerk.user_id, "closed", 30, decided_at=f"{T} - interval '40 days'")
    await raw_fetch("UPDATE return_batch SET status = 'closed' WHERE id IN "
                    "(SELECT batch FROM quality_dispute LIMIT 1)")
    assert {q.key: q.count for q in await dealers_wb.queues(tech, NOW)} == before
    assert before["to_verify"] == 2
    assert {q.key: q.count for q in await dealers_wb.queues(clerk, NOW)} == mine


async def test_a_decided_batch_waits_on_its_office_home_until_one_of_its_own_opens_it():
    """R13: the receipt is fed back to the office: the batch waits in the clerk's "decided"
    queue, and its link lists it, until someone at the office opens the batch; head office
    opening it, or the list, does not count. Receipts read before are history the queue's
    statement no longer reads (issue 17 §3)."""
    net = await world()
    office, clerk = net["office"]["id"], net["users"]["clerk"]["id"]
    [unread] = await _batch(office, clerk, "dispositioned", decided_at=f"{T} - interval '2 hours'")
    await _batch(office, clerk, "dispositioned", 40, decided_at=f"{T} - interval '90 days'",
                 receipt_read_at=f"{T} - interval '80 days'")
    async with client() as c:
        await login(c, "clerk")
        html = await _home(c)
        assert _count(html, "decided") == 2  # world()'s one and this one; none of the 40 read
        link = _link(html, "decided")
        assert link == "/batches?queue=to_read" and await _rows(c, link) == 2
        await c.get("/batches")  # the list is not the receipt
        assert _count(await _home(c), "decided") == 2
    async with client() as hq:
        await login(hq, "cs")
        assert (await hq.get(f"/batches/{unread}")).status_code == 200
    async with client() as c:
        await login(c, "clerk")
        assert _count(await _home(c), "decided") == 2  # head office reading it changes nothing
        assert (await c.get(f"/batches/{unread}")).status_code == 200
        assert _count(await _home(c), "decided") == 1
        page = await c.get("/batches?queue=to_read")
        assert re.search(r'id="queue-note">仅显示：待阅回执。', page.text)  # says what is listed
        assert f'id="batch-{unread}"' not in page.text
        assert len(re.findall(r'<tr id="batch-\d+"', page.text)) == 1
    [read_at] = await raw_fetch("SELECT receipt_read_at FROM return_batch WHERE id = $1", unread)
    assert read_at["receipt_read_at"] == NOW
    async with client() as c:  # opened again: the first instant stands
        await login(c, "clerk")
        with clock.frozen(NOW + timedelta(hours=1)):
            await c.get(f"/batches/{unread}")
    assert (await raw_fetch("SELECT receipt_read_at FROM return_batch WHERE id = $1",
                            unread))[0]["receipt_read_at"] == NOW


async def test_two_colleagues_opening_a_receipt_at_once_record_one_instant():
    """R13: the first opening is recorded once, however many open it together."""
    import asyncio

    from dealers import batches, receiving

    net = await world()
    office, clerk = net["office"]["id"], net["users"]["clerk"]["id"]
    [batch_id] = await _batch(office, clerk, "dispositioned", decided_at=f"{T} - interval '1 hour'")
    actor = await actor_of(net["users"]["clerk"])
    batch = await batches.get_batch(actor=actor, batch_id=batch_id)
    firsts = await asyncio.gather(*(receiving.receipt_opened(actor=actor, batch=batch, now=NOW)
                                    for _ in range(5)))
    assert sorted(firsts) == [False, False, False, False, True]
