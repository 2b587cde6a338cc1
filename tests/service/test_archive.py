"""The customer archive (R34, with R1): who sees a file, who reads the contact in full, search
and export masked the same way, the owner's export (exactly their data, audited), retention at
its boundary, and flat query counts."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal import clock
from portal.db import count_queries, in_transaction, raw_fetch
from portal.errors import Forbidden, NotFound
from service import archive, archive_rules, rules
from service.customers import open_customer
from service.inputs import PurchaseIn
from tests.dealers.factory import catalogue
from tests.helpers import actor_of, api_token, client, login, make_org, make_user

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, tzinfo=CHINA)
PHONE = "13800138000"


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


async def world() -> dict:
    """HQ; office A with store A1 and repair point RA; sibling office B with store B1; their
    people; a customer at A1 with two purchases and one at B1."""
    hq = await make_org("hq", region=None)
    a = await make_org("office", parent=hq, region="CN-JS", name="办事处-A")
    a1 = await make_org("store", parent=a, name="门店-A1")
    ra = await make_org("repair_point", parent=a, name="维修点-RA")
    b = await make_org("office", parent=hq, region="CN-GD", name="办事处-B")
    b1 = await make_org("store", parent=b, name="门店-B1")
    orgs = {"hq": hq, "a": a, "a1": a1, "ra": ra, "b": b, "b1": b1}
    users = {
        "store": await make_user(a1, ["dealer_clerk"], username="store"),
        "manager": await make_user(a, ["manager"], username="manager"),
        "clerk": await make_user(a, ["dealer_clerk"], username="clerk"),
        "staff": await make_user(ra, ["repair_staff"], username="staff"),
        "gd.manager": await make_user(b, ["manager"], username="gd.manager"),
        "gd.store": await make_user(b1, ["dealer_clerk"], username="gd.store"),
        "regional": await make_user(hq, ["manager"], username="regional", covers=[a]),
        "cs": await make_user(hq, ["hq_cs"], username="cs"),
        "auditor": await make_user(hq, ["auditor"], username="auditor"),
        "logistics": await make_user(hq, ["hq_logistics"], username="logistics"),
    }
    actors = {k: await actor_of(u) for k, u in users.items()}
    products = await catalogue()
    w = {"orgs": orgs, "users": users, "actors": actors, "products": products}
    w["customer"] = await customer(w, "store", "张三丰", PHONE, address="南京市玄武区中山路1号")
    for product, quantity in (("ceiling", 2), ("cfl", 5)):
        await archive.record_purchase(actor=actors["store"], customer_id=w["customer"],
                                      data=PurchaseIn(products[product], date(2026, 10, 1),
                                                      quantity, "发票 001"))
    w["other"] = await customer(w, "gd.store", "李四光", "13900139000", address="广州市")
    await archive.record_purchase(actor=actors["gd.store"], customer_id=w["other"],
                                  data=PurchaseIn(products["tube"], date(2026, 9, 1), 1))
    return w


async def customer(w: dict, who: str, name: str, phone: str, address: str = "") -> int:
    actor = w["actors"][who]
    return await in_transaction(lambda: open_customer(
        actor=actor, organisation_id=actor.organisation_id, name=name, phone=phone,
        address=address, purchased_on=date(2026, 10, 1)))


# --- who sees the file, and how much of it (R1, R34) ---------------------------------------------

VIEWERS = [  # viewer, what they get: full, masked or 404 (403: not an archive role)
    ("store", "full"), ("manager", "masked"), ("clerk", "masked"), ("regional", "masked"),
    ("cs", "full"), ("auditor", "masked"), ("gd.manager", 404), ("gd.store", 404),
    ("staff", 404), ("logistics", 403),
]


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS)
async def test_r34_masking_per_viewer_on_the_file_page_and_api(viewer, expected):
    w = await world()
    token = await api_token(w["users"][viewer])
    async with client() as c:
        await login(c, viewer)
        page = await c.get(f"/customers/{w['customer']}")
        api = await c.get(f"/api/v1/customers/{w['customer']}",
                          headers={"Authorization": f"Bearer {token}"})
    if expected in (403, 404):
        assert (page.status_code, api.status_code) == (expected, expected)
        assert "张三丰" not in page.text and "张*" not in page.text and PHONE not in api.text
        return
    assert page.status_code == api.status_code == 200
    body = api.json()
    if expected == "full":
        assert "张三丰" in page.text and PHONE in page.text and "中山路" in page.text
        assert (body["name"], body["phone"], body["full"]) == ("张三丰", PHONE, True)
    else:
        assert "张三丰" not in page.text and PHONE not in page.text and "中山路" not in page.text
        assert rules.mask_name("张三丰") in page.text and "138****8000" in page.text
        assert (body["name"], body["phone"], body["full"]) == ("张**", "138****8000", False)
        assert "中山路" not in api.text
    assert [p["quantity"] for p in body["products"]] == [2, 5] or \
        sorted(p["quantity"] for p in body["products"]) == [2, 5]


@pytest.mark.parametrize(("viewer", "shown"), [("store", "张三丰"), ("manager", "张**"),
                                               ("cs", "张三丰"), ("auditor", "张**"),
                                               ("gd.manager", None)])
async def test_r34_search_by_phone_digits_and_name_masked_the_same_way(viewer, shown):
    w = await world()
    token = await api_token(w["users"][viewer])
    async with client() as c:
        await login(c, viewer)
        for query in ("phone=138+0013", "phone=8000", "name=%E4%B8%89%E4%B8%B0"):  # 三丰
            page = await c.get(f"/customers?{query}")
            api = await c.get(f"/api/v1/customers?{query}",
                              headers={"Authorization": f"Bearer {token}"})
            assert page.status_code == api.status_code == 200
            ids = [r["id"] for r in api.json()]
            if shown is None:
                assert ids == [] and "customer-" not in page.text.split('id="customer-rows"')[1]
            else:
                assert ids == [w["customer"]], query
                assert api.json()[0]["name"] == shown and shown in page.text
            assert "李四光" not in page.text and "13900139000" not in api.text


@pytest.mark.parametrize(("viewer", "name", "phone"), [
    ("store", "张三丰", PHONE), ("manager", "张**", "138****8000"),
    ("cs", "张三丰", PHONE), ("auditor", "张**", "138****8000")])
async def test_r34_export_masks_as_the_list_and_never_shows_a_sibling(viewer, name, phone):
    await world()
    async with client() as c:
        await login(c, viewer)
        r = await c.get("/customers/export?format=csv")
        x = await c.get("/customers/export?format=xlsx")
    assert r.status_code == x.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    mine = [row for row in rows[1:] if row[0] == name]
    assert len(mine) == 1 and mine[0][1] == phone and mine[0][5] == "7"
    shown = {row[0] for row in rows[1:]}
    assert ("李四光" in shown) == (viewer in ("cs",)) and ("李**" in shown) == (viewer == "auditor")
    if viewer != "cs":
        assert "李四光" not in r.text


async def test_r1_sibling_lists_and_exports_hold_nothing_of_ours():
    w = await world()
    token = await api_token(w["users"]["gd.manager"])
    async with client() as c:
        await login(c, "gd.manager")
        for url in ("/customers", "/customers/export?format=csv", "/customers?phone=13800",
                    f"/customers/{w['customer']}/history"):
            r = await c.get(url)
            assert "张" not in r.text and PHONE not in r.text, url
        api = await c.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
        assert [r["id"] for r in api.json()] == [w["other"]]
        r = await c.get(f"/customers/{w['customer']}/history")
        assert r.status_code == 404


# --- writing into a file ---------------------------------------------------------------------------

async def test_r34_purchases_are_recorded_by_the_holder_and_hq_cs_only():
    w = await world()
    data = PurchaseIn(w["products"]["tube"], date(2026, 11, 1), 3, "小票")
    for who in ("manager", "regional"):  # above the store: they read it masked, do not write
        with pytest.raises(Forbidden):
            await archive.record_purchase(actor=w["actors"][who], customer_id=w["customer"],
                                          data=data)
    with pytest.raises(NotFound):
        await archive.record_purchase(actor=w["actors"]["gd.manager"], customer_id=w["customer"],
                                      data=data)
    with clock.frozen(NOW + timedelta(days=3)):
        await archive.record_purchase(actor=w["actors"]["cs"], customer_id=w["customer"],
                                      data=data)
    row = (await raw_fetch("SELECT last_activity_at, purchased_on FROM customer WHERE id = $1",
                           w["customer"]))[0]
    assert row["last_activity_at"] == NOW + timedelta(days=3)
    assert row["purchased_on"] == date(2026, 10, 1)  # the file still starts on the first purchase


async def test_a_purchase_form_error_is_shown_beside_its_field():
    w = await world()
    async with client() as c:
        csrf = await login(c, "store")
        r = await c.post(f"/customers/{w['customer']}/purchases",
                         data={"_csrf": csrf, "product_id": w["products"]["tube"],
                               "quantity": "0", "purchased_on": "2026-11-01"})
        assert r.status_code == 422 and 'id="error-quantity"' in r.text
        r = await c.post(f"/customers/{w['customer']}/purchases",
                         data={"_csrf": csrf, "product_id": w["products"]["tube"],
                               "quantity": "2", "purchased_on": "2026-11-01"})
        assert r.status_code == 303


async def test_opening_a_file_finds_the_same_phone_at_the_same_store():
    w = await world()
    async with client() as c:
        csrf = await login(c, "store")
        r = await c.post("/customers", data={"_csrf": csrf, "name": "张三丰",
                                             "phone": "138-0013-8000"})
        assert r.status_code == 303 and r.headers["location"] == f"/customers/{w['customer']}"
        r = await c.post("/customers", data={"_csrf": csrf, "name": "", "phone": "12"})
        assert r.status_code == 422 and 'id="error-phone"' in r.text


# --- the owner's export (R34, R20) ----------------------------------------------------------------

async def test_r34_owner_export_holds_exactly_that_customers_data_and_is_audited():
    w = await world()
    await customer(w, "store", "王五", "13700137000")  # another customer of the same store
    token = await api_token(w["users"]["store"])
    async with client() as c:
        csrf = await login(c, "store")
        r = await c.post(f"/customers/{w['customer']}/owner-export",
                         data={"_csrf": csrf, "reference": "REQ-2026-17", "format": "json"})
        x = await c.post(f"/customers/{w['customer']}/owner-export",
                         data={"_csrf": csrf, "reference": "REQ-2026-18", "format": "xlsx"})
        api = await c.post(f"/api/v1/customers/{w['customer']}/owner-export",
                           json={"reference": "REQ-2026-19"},
                           headers={"Authorization": f"Bearer {token}"})
        missing = await c.post(f"/customers/{w['customer']}/owner-export",
                               data={"_csrf": csrf, "reference": ""})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = json.loads(r.content)
    assert data["customer"]["name"] == "张三丰" and data["customer"]["phone"] == PHONE
    assert sorted(p["quantity"] for p in data["products"]) == [2, 5]
    assert "王五" not in r.text and "李四光" not in r.text and "13700137000" not in r.text
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert api.status_code == 200 and api.json()["customer"]["id"] == w["customer"]
    assert missing.status_code == 422 and 'id="error-reference"' in missing.text
    audited = await raw_fetch("SELECT actor, reason FROM audit_entry WHERE object_type = "
                              "'customer' AND action = 'owner_export' ORDER BY id")
    assert [(a["actor"], a["reason"]) for a in audited] == [
        (w["users"]["store"]["id"], f"REQ-2026-{n}") for n in (17, 18, 19)]


@pytest.mark.parametrize(("who", "status"), [("manager", 403), ("auditor", 403),
                                             ("gd.manager", 404), ("cs", 200)])
async def test_r34_owner_export_only_for_the_holder_and_hq_cs(who, status):
    w = await world()
    async with client() as c:
        csrf = await login(c, who)
        r = await c.post(f"/customers/{w['customer']}/owner-export",
                         data={"_csrf": csrf, "reference": "REQ-1", "format": "json"})
    assert r.status_code == status
    assert (PHONE in r.text) == (status == 200)


# --- retention (R34) --------------------------------------------------------------------------------

@pytest.mark.parametrize(("idle", "erased"), [
    (timedelta(days=0), False),
    (timedelta(days=36 * 30), False),  # about 35.5 months
    (None, False),  # exactly 36 months to the minute: not yet "longer than"
    (-timedelta(days=1), False),  # one day before the boundary
    (timedelta(days=1), True),  # one day after it
])
async def test_r34_retention_erases_at_the_boundary_and_keeps_the_facts(idle, erased):
    w = await world()
    boundary = archive_rules.retention_cutoff(NOW, 36)
    assert boundary == datetime(2023, 11, 20, 10, tzinfo=CHINA)
    if idle in (timedelta(days=0), timedelta(days=36 * 30)):
        last = NOW - idle
    else:
        last = boundary - (idle or timedelta(0))
    await raw_fetch("UPDATE customer SET last_activity_at = $2 WHERE id = $1", w["customer"], last)
    assert await archive.erase_expired_customers(NOW) == (1 if erased else 0)
    row = (await raw_fetch("SELECT name, phone, address, erased_at, (SELECT sum(quantity) FROM "
                           "customer_product WHERE customer = c.id) AS units FROM customer c "
                           "WHERE id = $1", w["customer"]))[0]
    assert row["units"] == 7  # the facts stay
    if erased:
        assert (row["name"], row["phone"], row["address"]) == ("", "", "")
        assert row["erased_at"] == NOW
        async with client() as c:
            await login(c, "store")
            page = await c.get(f"/customers/{w['customer']}")
        assert "2026-11-20" in page.text and "张三丰" not in page.text
        assert (await raw_fetch("SELECT count(*) AS n FROM audit_entry WHERE action = 'erase'"))[
            0]["n"] == 1
    else:
        assert row["name"] == "张三丰" and row["erased_at"] is None


async def test_r34_retention_follows_hqs_policy_with_history():
    w = await world()
    await raw_fetch("UPDATE customer SET last_activity_at = $1", NOW - timedelta(days=800))
    assert await archive.erase_expired_customers(NOW) == 0  # 36 months by default
    admin = await make_user(w["orgs"]["hq"], ["hq_admin"], username="admin")
    from portal import policy

    with clock.frozen(NOW - timedelta(days=2)):
        await policy.change(actor=await actor_of(admin), key=archive.RETENTION_KEY, value=24,
                            effective_from=NOW.date() - timedelta(days=1), reason="PIPL review")
    assert policy.shown(archive.RETENTION_KEY, 24) == "24 个月"
    assert await archive.erase_expired_customers(NOW) == 2
    assert await archive.erase_expired_customers(NOW) == 0  # once


def test_r34_retention_cutoff_clamps_to_the_months_end():
    at = datetime(2026, 5, 31, 12, tzinfo=CHINA)
    assert archive_rules.retention_cutoff(at, 3) == datetime(2026, 2, 28, 12, tzinfo=CHINA)
    assert archive_rules.retention_cutoff(at, 12) == datetime(2025, 5, 31, 12, tzinfo=CHINA)
    assert archive_rules.retention_cutoff(datetime(2028, 3, 30, tzinfo=CHINA), 1) == \
        datetime(2028, 2, 29, tzinfo=CHINA)


# --- query counts -------------------------------------------------------------------------------------

async def _grow(w: dict, n: int) -> None:
    """n more customers at store A1 (one statement), each with a purchase, a repair-like
    history left out; and n more products on the main file."""
    await raw_fetch(
        "INSERT INTO customer (organisation, name, phone, opened_at, last_activity_at) "
        "SELECT $1, '客户' || g, '1500000' || lpad(g::text, 4, '0'), $2, $2 "
        "FROM generate_series(1, $3) g", w["orgs"]["a1"]["id"], NOW, n)
    await raw_fetch(
        "INSERT INTO customer_product (customer, product, quantity, purchased_on, recorded_at) "
        "SELECT $1, $2, 1, date '2026-10-01', $3 FROM generate_series(1, $4)",
        w["customer"], w["products"]["tube"], NOW, n)


@pytest.mark.parametrize("viewer", ["store", "manager", "cs"])
async def test_query_counts_are_flat_for_list_file_and_home(viewer):
    w = await world()

    async def count() -> tuple[int, int, int]:
        async with client() as c:
            await login(c, viewer)
            found = []
            for url in ("/customers", f"/customers/{w['customer']}", "/"):
                await c.get(url)
                with count_queries() as counter:
                    r = await c.get(url)
                assert r.status_code == 200, url
                found.append(counter.count)
            return tuple(found)

    await _grow(w, 10)
    small = await count()
    await _grow(w, 90)
    large = await count()
    assert small == large, (small, large)


async def test_r34_retention_also_erases_the_copies_on_complaints_and_service_calls():
    """Personal data is kept no longer than HQ's setting wherever it was copied: a complaint
    keeps the complainant's name and phone, a service call the visit's address."""
    w = await world()
    cust = w["customer"]
    holder = (await raw_fetch("SELECT organisation FROM customer WHERE id = $1", cust))[0]
    await raw_fetch(
        "INSERT INTO complaint (reference, organisation, customer, name, phone, channel, about, "
        "description, recorded_at, acknowledge_by, resolve_by) VALUES ('TSRETAIN1', $1, $2, "
        "'张三丰', '13800008000', 'phone', 'other', '灯不亮', $3, $3, $3)",
        holder["organisation"], cust, NOW - timedelta(days=2000))
    user = (await raw_fetch("SELECT id FROM portal_user LIMIT 1"))[0]["id"]
    await raw_fetch(
        "INSERT INTO service_call (number, organisation, customer, problem, address, called_at, "
        "visit_by, recorded_by, recorded_at) VALUES ('BXRETAIN1', $1, $2, '不亮', '玄武区 1 号', "
        "$3, $3, $4, $3)", holder["organisation"], cust, NOW - timedelta(days=2000), user)
    await raw_fetch("UPDATE customer SET last_activity_at = $2 WHERE id = $1", cust,
                    NOW - timedelta(days=2000))
    assert await archive.erase_expired_customers(NOW) == 1
    complaint = (await raw_fetch("SELECT name, phone, description FROM complaint"))[0]
    call = (await raw_fetch("SELECT address, problem FROM service_call"))[0]
    assert (complaint["name"], complaint["phone"], complaint["description"]) == ("", "", "灯不亮")
    assert (call["address"], call["problem"]) == ("", "不亮")
