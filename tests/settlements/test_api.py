"""/api/v1 twins of the statement actions (issue 5 §7): bearer token, the same services, rules
and messages as the pages, scoped reads (R1), 422 with field messages and nothing changed."""
import asyncio
import csv
import io

import pytest

from portal import clock
from portal.db import raw_fetch
from settlements import payouts
from tests.helpers import api_token, client
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
        assert early.json()["error"] == "Customer service must review the repair fees first (R26)."
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


async def test_openapi_schema_describes_the_statement_api():
    async with client() as c:
        paths = (await c.get("/api/v1/schema/openapi.json")).json()["paths"]
    for path in ("/api/v1/statements", "/api/v1/statements/{statement_id}/approve",
                 "/api/v1/statements/close", "/api/v1/settlements/volumes",
                 "/api/v1/settlements/payout-accounts"):
        assert path in paths, path
