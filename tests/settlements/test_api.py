"""/api/v1 twins of the statement actions (issue 5 §7): bearer token, the same services, rules
and messages as the pages, scoped reads (R1), 422 with field messages and nothing changed."""
import asyncio
import csv
import html
import io
import re
from datetime import date

import pytest

from portal import clock
from portal.db import raw_fetch
from settlements import payouts, rules
from tests.conftest import _reset
from tests.helpers import api_token, client, login
from tests.settlements.fake_connect import FakeConnect
from tests.settlements.statement_factory import DECEMBER, closed_month

EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def december():
    with clock.frozen(DECEMBER):
        yield


async def _headers(net, user: str) -> dict:
    return {"Authorization": f"Bearer {await api_token(net['users'][user])}", **EN}


async def _status(statement_id: int) -> str:
    return (await raw_fetch("SELECT status FROM statement WHERE id = $1", statement_id))[0][
        "status"]


async def test_r1_list_and_detail_are_scoped_and_lines_carry_their_sources():
    net = await closed_month()
    clerk = await _headers(net, "clerk")
    async with client() as c:
        assert (await c.get("/api/v1/statements")).status_code == 401
        rows = (await c.get("/api/v1/statements", headers=clerk)).json()
        assert [r["id"] for r in rows] == [net["office_statement"]]
        assert (await c.get(f"/api/v1/statements/{net['sibling_statement']}",
                            headers=clerk)).status_code == 404
        body = (await c.get(f"/api/v1/statements/{net['office_statement']}",
                            headers=clerk)).json()
        assert body["total_fen"] == sum(l["amount_fen"] for l in body["lines"]) == 157_957
        by_kind = {l["kind"]: l for l in body["lines"]}
        assert by_kind["freight"]["link"] == f"/batches/{net['batch']}"
        assert by_kind["repair_fee"]["repair_point_id"] == net["point"]["id"]
        assert by_kind["rebate"]["purchase_volume_fen"] == 12_345_678
        assert body["balance_fen"] == 0  # nothing posted before approval
        finance = await _headers(net, "finance")
        all_rows = (await c.get("/api/v1/statements?status=draft", headers=finance)).json()
        assert len(all_rows) == 2
        assert (await c.get("/api/v1/statements/totals?period=2026-11-01",
                            headers=clerk)).status_code == 403
        totals = (await c.get("/api/v1/statements/totals?period=2026-11-01",
                              headers=finance)).json()
        assert totals["statements"] == 2 and totals["total_fen"] == 157_957 + 200_000
        assert totals["kind"]["repair_fee"] == {"count": 1, "fen": 30_000}


async def test_r26_review_approve_and_second_approval_with_the_pages_messages():
    net = await closed_month(volume_fen=2_000_000_000)
    sid = net["office_statement"]
    async with client() as c:
        finance2 = await _headers(net, "finance2")
        early = await c.post(f"/api/v1/statements/{sid}/approve", headers=finance2)
        assert early.status_code == 422
        assert early.json()["error"] == "Customer service must review the repair fees first."
        cs = await _headers(net, "cs")
        assert (await c.post(f"/api/v1/statements/{sid}/review", headers=cs)).status_code == 200
        own = await c.post(f"/api/v1/statements/{sid}/approve",
                           headers=await _headers(net, "finance"))
        assert own.status_code == 422 and "Nobody approves" in own.json()["error"]
        first = await c.post(f"/api/v1/statements/{sid}/approve", headers=finance2)
        assert first.status_code == 200 and first.json()["status"] == "second_approval"
        again = await c.post(f"/api/v1/statements/{sid}/second-approval", headers=finance2)
        assert again.status_code == 422 and await _status(sid) == "second_approval"
        done = await c.post(f"/api/v1/statements/{sid}/second-approval",
                            headers=await _headers(net, "finance3"))
        assert done.status_code == 200 and done.json()["status"] == "approved"
        body = (await c.get(f"/api/v1/statements/{sid}", headers=finance2)).json()
        assert body["balance_fen"] == body["total_fen"]  # posted to the journal (R26)


async def test_r27_bank_payment_needs_a_reference_and_pays_once():
    net = await closed_month()
    sid = net["office_statement"]
    await raw_fetch("UPDATE statement SET status = 'approved', approved_by = $2, "
                    "fees_reviewed_by = $3 WHERE id = $1", sid, net["users"]["finance2"]["id"],
                    net["users"]["cs"]["id"])
    async with client() as c:
        finance = await _headers(net, "finance")
        empty = await c.post(f"/api/v1/statements/{sid}/bank-payment", headers=finance,
                             json={"reference": " "})
        assert empty.status_code == 422 and "reference" in empty.json()["fields"]
        assert await raw_fetch("SELECT id FROM payout") == []
        clerk = await _headers(net, "clerk")
        assert (await c.post(f"/api/v1/statements/{sid}/bank-payment", headers=clerk,
                             json={"reference": "X"})).status_code == 403
        paid = await c.post(f"/api/v1/statements/{sid}/bank-payment", headers=finance,
                            json={"reference": "ICBC-77"})
        assert paid.status_code == 200 and paid.json()["status"] == "paid"
        twice = await c.post(f"/api/v1/statements/{sid}/bank-payment", headers=finance,
                             json={"reference": "ICBC-78"})
        assert twice.status_code == 409
    assert len(await raw_fetch("SELECT id FROM payout")) == 1


async def test_r27_pay_by_stripe_connect_transfer():
    fake = FakeConnect(timeout_sleep=0.8).start()
    try:
        fake.add_account("acct_1Office")
        net = await closed_month()
        sid = net["office_statement"]
        await raw_fetch("UPDATE statement SET status = 'approved', approved_by = $2, "
                        "fees_reviewed_by = $3 WHERE id = $1", sid,
                        net["users"]["finance2"]["id"], net["users"]["cs"]["id"])
        await payouts.set_payout_account(actor=net["actors"]["finance"],
                                         dealer_id=net["office"]["id"],
                                         stripe_account="acct_1Office")
        async with client(stripe_secret_key="sk_test_portal", stripe_api_base=fake.url) as c:
            r = await c.post(f"/api/v1/statements/{sid}/pay",
                             headers=await _headers(net, "finance"))
            assert r.status_code == 200, r.text
            assert r.json()["payout"]["status"] == "paid" and r.json()["status"] == "paid"
        assert [t["amount"] for t in fake.transfers.values()] == [157_957]
    finally:
        fake.stop()


async def test_close_and_its_progress():
    net = await closed_month(close_it=False)
    async with client() as c:
        finance = await _headers(net, "finance")
        bad = await c.post("/api/v1/statements/close", headers=finance, json={"period": "soon"})
        assert bad.status_code == 422 and "period" in bad.json()["fields"]  # issue 10: field named
        assert await raw_fetch("SELECT id FROM period_close") == []
        future = await c.post("/api/v1/statements/close", headers=finance,
                              json={"period": "2026-12-01"})
        assert future.status_code == 422 and future.json()["error"] == \
            "Only a past month can be closed."
        started = await c.post("/api/v1/statements/close", headers=finance,
                               json={"period": "2026-11-15"})
        assert started.status_code == 202
        url = started.json()["progress"]
        for _ in range(100):
            progress = (await c.get(url, headers=finance)).json()
            if progress["status"] != "running":
                break
            await asyncio.sleep(0.1)
        assert progress["status"] == "done" and progress["statements"] == 2
        assert (await c.get(url, headers=await _headers(net, "clerk"))).status_code == 403


async def test_one_route_per_action_and_the_correction_twin_of_the_statement_page():
    """issue 11 §5: each action is its own route (an unknown one is simply not routed); the
    statement page's "ask for a correction" has its twin, with the same input model
    (settlements.inputs.CorrectionIn) and the service's messages."""
    net = await closed_month()
    sid = await _approved_office(net)
    async with client() as c:
        finance = await _headers(net, "finance")
        csrf = await login(c, "finance")
        assert (await c.post(f"/statements/{sid}/archive", data={"_csrf": csrf})).status_code \
            in (404, 405)
        assert (await c.post(f"/api/v1/statements/{sid}/archive", headers=finance,
                             json={})).status_code in (404, 405)
        empty = await c.post(f"/api/v1/statements/{sid}/adjustment", headers=finance, json={})
        assert empty.status_code == 422
        assert set(empty.json()["fields"]) == {"amount", "reason"}
        charge = await c.post(f"/api/v1/statements/{sid}/adjustment", headers=finance,
                              json={"kind": "charge", "amount_fen": 500, "reason": "late"})
        assert charge.status_code == 422 and "amount" in charge.json()["fields"]
        sibling = await c.post(f"/api/v1/statements/{net['sibling_statement']}/adjustment",
                               headers=await _headers(net, "clerk"),
                               json={"amount_fen": -500, "reason": "late"})
        assert sibling.status_code == 404  # R1: not found before any rule
        assert await raw_fetch("SELECT id FROM adjustment") == []
        made = await c.post(f"/api/v1/statements/{sid}/adjustment", headers=finance,
                            json={"kind": "charge", "amount_fen": -500, "reason": "late form"})
        assert made.status_code == 201, made.text
    rows = await raw_fetch("SELECT id, dealer, corrects, amount_fen, status FROM adjustment")
    assert rows == [{"id": made.json()["adjustment_id"], "dealer": net["office"]["id"],
                     "corrects": sid, "amount_fen": -500, "status": "requested"}]


async def _approved_office(net) -> int:
    sid = net["office_statement"]
    await raw_fetch("UPDATE statement SET status = 'approved', approved_by = $2, "
                    "fees_reviewed_by = $3 WHERE id = $1", sid, net["users"]["finance2"]["id"],
                    net["users"]["cs"]["id"])
    return sid


async def test_download_through_the_api_in_english():
    net = await closed_month()
    async with client() as c:
        r = await c.get(f"/api/v1/statements/{net['office_statement']}/download?format=csv"
                        "&lang=en", headers=await _headers(net, "clerk"))
        assert r.status_code == 200
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[-1] == ["Total", "", "1579.57"]
        sibling = await c.get(f"/api/v1/statements/{net['sibling_statement']}/download",
                              headers=await _headers(net, "clerk"))
        assert sibling.status_code == 404


async def test_adjustments_volumes_prices_accounts_and_fee_lines():
    net = await closed_month(close_it=False)
    office = net["office"]["id"]
    async with client() as c:
        finance = await _headers(net, "finance")
        bad = await c.post("/api/v1/settlements/adjustments", headers=finance, json={
            "dealer_id": office, "kind": "charge", "amount_fen": 500, "reason": "late"})
        assert bad.status_code == 422 and "amount" in bad.json()["fields"]
        made = await c.post("/api/v1/settlements/adjustments", headers=finance, json={
            "dealer_id": office, "kind": "charge", "amount_fen": -500, "reason": "late form"})
        assert made.status_code == 201
        adjustment = made.json()["adjustment_id"]
        assert (await c.post(f"/api/v1/settlements/adjustments/{adjustment}/decide",
                             headers=finance, json={"approve": True})).status_code == 422
        assert (await c.post(f"/api/v1/settlements/adjustments/{adjustment}/decide",
                             headers=await _headers(net, "finance2"),
                             json={"approve": True})).status_code == 200
        listed = (await c.get("/api/v1/settlements/adjustments", headers=finance)).json()
        assert [(a["id"], a["status"]) for a in listed] == [(adjustment, "approved")]

        rows = f"dealer,amount\n{office},100.00\nnobody,x\n".encode()
        refused = await c.post("/api/v1/settlements/volumes", headers=finance,
                               data={"period": "2026-10-01"},
                               files={"file": ("v.csv", rows, "text/csv")})
        assert refused.status_code == 422
        assert set(refused.json()["fields"]) == {"row 3 dealer", "row 3 amount"}
        count = await raw_fetch("SELECT count(*) AS n FROM purchase_volume")
        ok = await c.post("/api/v1/settlements/volumes", headers=finance,
                          data={"period": "2026-10-01"},
                          files={"file": ("v.csv", f"dealer,amount\n{office},100.00\n".encode(),
                                          "text/csv")})
        assert ok.status_code == 201 and ok.json() == {"imported": 1}
        assert (await raw_fetch("SELECT count(*) AS n FROM purchase_volume"))[0]["n"] == \
            count[0]["n"] + 1

        admin = await _headers(net, "admin")
        price = {"product_id": net["product"], "price_fen": 1250,
                 "effective_from": "2026-12-20", "reason": "list 2027"}
        assert (await c.post("/api/v1/settlements/credit-prices", headers=finance,
                             json=price)).status_code == 403
        assert (await c.post("/api/v1/settlements/credit-prices", headers=admin,
                             json=price)).status_code == 201
        assert [p["price_fen"] for p in (await c.get("/api/v1/settlements/credit-prices",
                                                     headers=admin)).json()] == [1250]
        # the prices are HQ data: read like the page (admin, finance, auditor), not by dealers
        clerk = await _headers(net, "clerk")
        assert (await c.get("/api/v1/settlements/credit-prices", headers=clerk)).status_code == 403

        account = await c.post("/api/v1/settlements/payout-accounts", headers=finance,
                               json={"dealer_id": office, "bank_name": "ICBC",
                                     "bank_account": "6222"})
        assert account.status_code == 201
        accounts = (await c.get("/api/v1/settlements/payout-accounts", headers=finance)).json()
        assert [(a["dealer"], a["current"]) for a in accounts] == [(office, True)]
        assert (await c.get("/api/v1/settlements/payout-accounts",
                            headers=await _headers(net, "clerk"))).status_code == 403


async def test_r24_fee_lines_of_a_point_through_the_api():
    net = await closed_month()
    point = net["point"]["id"]
    async with client() as c:
        staff = await c.get(f"/api/v1/settlements/repair-points/{point}/fees",
                            headers=await _headers(net, "staff"))
        assert staff.status_code == 200
        assert [(f["amount_fen"], f["statement_id"]) for f in staff.json()] == [(30000, None)]
        manager = await c.get(f"/api/v1/settlements/repair-points/{point}/fees",
                              headers=await _headers(net, "manager"))
        assert manager.json()[0]["statement_id"] == net["office_statement"]
        sibling = await c.get(f"/api/v1/settlements/repair-points/{point}/fees",
                              headers=await _headers(net, "gd"))
        assert sibling.status_code == 404


def _page_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="statement-(\d+)"', page)]


async def test_list_search_answers_as_the_page_and_never_shows_a_sibling():
    """issue 9 §5 twins: the same parser and query as /statements, so the same statements in
    the same order for the same filter; each carries its number; bad filters 422 by field."""
    net = await closed_month(extra_dealers=2)
    await raw_fetch("UPDATE organisation SET name_en = 'Guangdong Office' WHERE id = $1",
                    net["sibling"]["id"])
    office, sibling = net["office_statement"], net["sibling_statement"]
    office_number = rules.statement_number(date(2026, 11, 1), net["office"]["id"])
    sibling_number = rules.statement_number(date(2026, 11, 1), net["sibling"]["id"])
    queries = [{}, {"number": office_number}, {"number": office_number.lower()},
               {"number": "ST-202611"}, {"number": "ST-202610"}, {"org_name": "广东"},
               {"org_name": "guangDONG"}, {"org_name": "%"}, {"period_from": "2026-12"},
               {"period_from": "2026-11", "period_to": "2026-11", "org_name": "江苏"},
               {"period": "2026-11"}, {"org": str(net["sibling"]["id"])},
               {"status": "draft"}, {"number": sibling_number}]
    for user in ("finance", "clerk"):
        headers = await _headers(net, user)
        async with client() as c:
            await login(c, user)
            for params in queries:
                page = await c.get("/statements", params=params)
                api = await c.get("/api/v1/statements", params=params, headers=headers)
                assert page.status_code == api.status_code == 200, (user, params, api.text)
                rows = api.json()
                assert [r["id"] for r in rows] == _page_ids(page.text), (user, params)
                for row in rows:
                    assert row["number"] == rules.statement_number(
                        date.fromisoformat(row["period"]), row["dealer"])
                    if user == "clerk":
                        assert row["id"] == office and sibling not in [r["id"] for r in rows]
            # R1: found by name or number, a sibling's statement is still not there
            if user == "clerk":
                for params in ({"org_name": "广东"}, {"number": sibling_number},
                               {"org": str(net["sibling"]["id"])}):
                    r = await c.get("/api/v1/statements", params=params, headers=headers)
                    assert r.json() == [] and "广东" not in r.text, params
        async with client() as c:
            for query, field in (("period_from=2026-13", "period_from"),
                                 ("period_from=2026-12&period_to=2026-11", "period_to"),
                                 ("org=99999999999", "org"), ("after=x", "after"),
                                 ("status=lost", "status"), ("period=11-2026", "period_from"),
                                 ("number=hello", "number"), ("org_name=" + "x" * 121,
                                                              "org_name")):
                r = await c.get(f"/api/v1/statements?{query}", headers=headers)
                assert r.status_code == 422 and field in r.json()["fields"], (query, r.text)


def _page_results(page: str) -> list[dict]:
    """The page's result table: per statement its number, done/refused and the reason."""
    rows = []
    for sid, result, cells in re.findall(
            r'<tr id="result-(\d+)" data-result="(\w+)">(.*?)</tr>', page, re.S):
        tds = [html.unescape(re.sub(r"<[^>]+>", "", td)).strip()
               for td in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
        rows.append({"statement_id": int(sid), "number": "" if tds[0] == "—" else tds[0],
                     "done": result == "done", "reason": tds[4]})
    return rows


async def _selection() -> tuple[dict, list[int]]:
    """Four statements and an unknown id: the sibling's and the first extra dealer's can be
    approved, the second extra one was prepared by finance2 (four-eyes refuses it), the
    office's waits for CS's fee review."""
    net = await closed_month(extra_dealers=2)
    extra = [sid for dealer, sid in net["statements"].items()
             if dealer not in (net["office"]["id"], net["sibling"]["id"])]
    await raw_fetch("UPDATE statement SET prepared_by = $1 WHERE id = $2",
                    net["users"]["finance2"]["id"], extra[1])
    await raw_fetch("UPDATE portal_user SET locale = 'en' WHERE username = 'finance2'")
    return net, [net["sibling_statement"], extra[1], extra[0], net["office_statement"], 987654]


async def test_bulk_answers_per_statement_as_the_page_does():
    net, ids = await _selection()
    async with client() as c:  # the page first, on one world...
        csrf = await login(c, "finance2")
        page = await c.post("/statements/bulk", headers=EN, data={
            "_csrf": csrf, "action": "approve", "ids": [str(i) for i in ids]})
        assert page.status_code == 200, page.text
    on_page = _page_results(page.text)
    page_statuses = {r["id"]: r["status"] for r in await raw_fetch(
        "SELECT id, status FROM statement")}
    await _reset()  # ...then the API on the same world, built again (same ids)
    net, again = await _selection()
    assert again == ids
    async with client() as c:
        clerk = await c.post("/api/v1/statements/bulk", headers=await _headers(net, "clerk"),
                             json={"action": "approve", "ids": ids})
        assert clerk.status_code == 403
        r = await c.post("/api/v1/statements/bulk", headers=await _headers(net, "finance2"),
                         json={"action": "approve", "ids": ids})
        assert r.status_code == 200, r.text
    results = r.json()
    assert [row["statement_id"] for row in results] == ids
    assert [{"statement_id": row["statement_id"], "number": row["number"],
             "done": row["result"] != "refused", "reason": row["reason"]}
            for row in results] == on_page
    by_id = {row["statement_id"]: row for row in results}
    assert [by_id[i]["result"] for i in ids] == ["approved", "refused", "approved", "refused",
                                                 "refused"]
    assert "Nobody approves" in by_id[ids[1]]["reason"] and "R26" not in by_id[ids[1]]["reason"]
    assert by_id[987654] == {"statement_id": 987654, "number": "", "result": "refused",
                             "reason": "No such statement among those you may see."}
    assert by_id[ids[0]]["number"] == f"ST-202611-{net['sibling']['id']:05d}"
    statuses = {r["id"]: r["status"] for r in await raw_fetch("SELECT id, status FROM statement")}
    assert statuses == page_statuses
    assert [statuses[i] for i in ids[:4]] == ["approved", "draft", "approved", "draft"]


async def test_bulk_bank_payment_and_bad_selections():
    net, ids = await _selection()
    async with client() as c:
        finance2 = await _headers(net, "finance2")
        for body, field in (({"action": "approve", "ids": []}, "ids"),
                            ({"action": "explode", "ids": [ids[0]]}, "action"),
                            ({"action": "approve", "ids": [99999999999]}, "ids[0]"),
                            ({"action": "approve", "ids": ["1"]}, "ids[0]"),
                            ({"action": "approve", "ids": list(range(1, 202))}, "ids"),
                            ({"action": "bank-payment", "ids": [ids[0]]}, "reference"),
                            ({"action": "bank-payment", "ids": [ids[0]],
                              "reference": "a\x00b"}, "reference"),
                            ({"ids": [ids[0]]}, "action")):
            r = await c.post("/api/v1/statements/bulk", headers=finance2, json=body)
            assert r.status_code == 422 and field in r.json()["fields"], (body, r.text)
        assert {r["status"] for r in await raw_fetch("SELECT status FROM statement")} == {"draft"}
        r = await c.post("/api/v1/statements/bulk", headers=finance2,
                         json={"action": "approve", "ids": [ids[0], ids[2], ids[0]]})
        assert [row["result"] for row in r.json()] == ["approved", "approved"]
        r = await c.post("/api/v1/statements/bulk", headers=finance2,
                         json={"action": "bank-payment", "reference": "ICBC-RUN-9",
                               "ids": [ids[0], ids[2], ids[1], 987654]})
        assert [row["result"] for row in r.json()] == ["paid", "paid", "refused", "refused"]
        assert (await c.post("/api/v1/statements/bulk", headers=await _headers(net, "cs"),
                             json={"action": "approve", "ids": [ids[1]]})).status_code == 403
    refs = sorted(r["bank_reference"] for r in await raw_fetch(
        "SELECT bank_reference FROM payout WHERE status = 'paid'"))
    assert refs == sorted(f"ICBC-RUN-9/{row['number']}" for row in r.json()[:2])


async def test_openapi_schema_describes_the_statement_api():
    async with client() as c:
        paths = (await c.get("/api/v1/schema/openapi.json")).json()["paths"]
    bulk = paths["/api/v1/statements/bulk"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "413", "415", "422"} <= set(bulk["responses"])
    listing = {p["name"] for p in paths["/api/v1/statements"]["get"]["parameters"]}
    assert {"number", "org_name", "period_from", "period_to", "org", "after"} <= listing
    for path in ("/api/v1/statements", "/api/v1/statements/{statement_id}/approve",
                 "/api/v1/statements/close", "/api/v1/settlements/volumes",
                 "/api/v1/settlements/payout-accounts"):
        assert path in paths, path
