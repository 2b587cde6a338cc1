"""The JSON twins: the whole batch journey over /api/v1 with the same rules and messages."""
from dealers.tables import ReturnLine
from portal import clock
from tests.dealers.factory import IN_WINDOW, network, reason
from tests.helpers import api_token, client


def _h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


async def test_batch_journey_over_the_api():
    net = await network()
    u = net["users"]
    tokens = {name: await api_token(u[name]) for name in ("clerk", "manager", "cs", "cs2", "logistics")}
    line = {"product_id": net["products"]["cfl"], "quantity": 10, "reason_id": net["reason"],
            "date_code": "20260301", "cap_percent": 90}
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            r = await c.post("/api/v1/batches", headers=_h(tokens["clerk"]))
            assert r.status_code == 201, r.text
            batch = r.json()
            bad = await c.post(f"/api/v1/batches/{batch['id']}/lines", headers=_h(tokens["clerk"]),
                               json={"lines": [line, {**line, "quantity": 0}]})
            assert bad.status_code == 422
            assert bad.json()["fields"] == {"line 2": "Quantity must be a whole number from 1 to 100,000."}
            assert await ReturnLine.count() == 0
            r = await c.post(f"/api/v1/batches/{batch['id']}/lines", headers=_h(tokens["clerk"]),
                             json={"lines": [line]})
            assert r.json() == {"added": 1}
            for who, action, body in (("clerk", "submit", {}), ("manager", "sign", {}),
                                      ("cs", "approve", {"disposition": "return"})):
                r = await c.post(f"/api/v1/batches/{batch['id']}/{action}", headers=_h(tokens[who]),
                                 json=body)
                assert r.status_code == 200, r.text
            again = await c.post(f"/api/v1/batches/{batch['id']}/approve", headers=_h(tokens["cs2"]),
                                 json={"disposition": "return"})
            assert again.status_code == 409
            r = await c.post("/api/v1/batches/arrivals", headers=_h(tokens["logistics"]),
                             json={"number": batch["number"]})
            assert r.status_code == 200 and r.json()["arrived_at"]
            detail = (await c.get(f"/api/v1/batches/{batch['id']}", headers=_h(tokens["cs"]))).json()
            line_id = detail["lines"][0]["id"]
            assert detail["lines"][0]["expected_verdict"] == "exchange"
            r = await c.post(f"/api/v1/batches/{batch['id']}/receive", headers=_h(tokens["logistics"]),
                             json={"counts": [{"line_id": line_id, "received_qty": 9,
                                               "condition": {"cap_percent": 90}}]})
            assert r.json()["differences"] == [{"line_no": 1, "filed": 10, "received": 9}]
            r = await c.post(f"/api/v1/batches/{batch['id']}/decide", headers=_h(tokens["cs"]),
                             json={"decisions": [{"line_id": line_id, "exchanged": 5, "credited": 0,
                                                  "rejected": 4,
                                                  "reject_reason_id": await reason("CAP_AGED", "reject")}]})
            assert r.status_code == 200 and r.json()["status"] == "dispositioned"
            receipt = (await c.get(f"/api/v1/batches/{batch['id']}", headers=_h(tokens["clerk"]))).json()
            assert receipt["lines"][0]["rejected_qty"] == 4
            assert receipt["lines"][0]["reject_reason"] == "CAP_AGED"


async def test_api_sibling_office_gets_404():
    net = await network()
    clerk, other = await api_token(net["users"]["clerk"]), await api_token(net["users"]["other_clerk"])
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            batch = (await c.post("/api/v1/batches", headers=_h(clerk))).json()
            assert (await c.get(f"/api/v1/batches/{batch['id']}", headers=_h(other))).status_code == 404
            r = await c.post(f"/api/v1/batches/{batch['id']}/submit", headers=_h(other), json={})
            assert r.status_code == 404


async def test_special_approval_claim_and_import_over_the_api():
    net = await network()
    u = net["users"]
    tokens = {name: await api_token(u[name]) for name in ("clerk", "manager", "cs", "logistics")}
    from datetime import datetime
    from zoneinfo import ZoneInfo

    outside = datetime(2026, 12, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    with clock.frozen(outside):
        async with client() as c:
            r = await c.post("/api/v1/special-approvals", headers=_h(tokens["manager"]),
                             json={"organisation_id": net["office"]["id"], "reason": "批量质量问题",
                                   "quality_problem": True})
            assert r.status_code == 201
            approval = r.json()["id"]
            refused = await c.post(f"/api/v1/special-approvals/{approval}/decide",
                                   headers=_h(tokens["cs"]), json={"approve": False, "reason": ""})
            assert refused.status_code == 422 and "reason" in refused.json()["fields"]
            ok = await c.post(f"/api/v1/special-approvals/{approval}/decide",
                              headers=_h(tokens["cs"]), json={"approve": True})
            assert ok.status_code == 200
            batch = (await c.post(f"/api/v1/batches?special_approval_id={approval}",
                                  headers=_h(tokens["clerk"]))).json()
            csv = "规格型号,数量,返厂原因\nCEILING-1,3,NO_LIGHT\n".encode()
            r = await c.post(f"/api/v1/batches/{batch['id']}/import", headers=_h(tokens["clerk"]),
                             files={"file": ("l.csv", csv, "text/csv")})
            assert r.status_code == 201 and r.json() == {"added": 1}
            bad = await c.post(f"/api/v1/batches/{batch['id']}/import", headers=_h(tokens["clerk"]),
                               files={"file": ("l.csv", "规格型号,数量,返厂原因\nNOPE,0,X\n".encode(),
                                               "text/csv")})
            assert bad.status_code == 422 and "line 2" in bad.json()["fields"]
            r = await c.post(f"/api/v1/batches/{batch['id']}/submit", headers=_h(tokens["clerk"]),
                             json={})
            assert r.status_code == 200 and r.json()["status"] == "submitted"
            claim = await c.post(f"/api/v1/batches/{batch['id']}/claims",
                                 headers=_h(tokens["logistics"]),
                                 json={"carrier": "德邦", "lost_qty": 1, "damaged_qty": 0,
                                       "claimed_fen": 100})
            assert claim.status_code == 409  # only once the goods are on their way


async def test_list_search_answers_as_the_page_and_never_shows_a_sibling():
    """issue 9 §5 twins: /api/v1/batches reads its filters with the page's parser
    (batch_listing.batch_filters) and the same query, so the same batches in the same order."""
    from tests.dealers.test_batch_lists import _batches, _ids, _world
    from tests.helpers import login

    w = await _world()
    cs = w["users"]["cs"]
    nov = await _batches(w["js"], cs, 3)                                   # RB202611000001..3
    dec = await _batches(w["gd"], cs, 2, month="2026-12-01", start=4)      # RB202612000004..5
    late = await _batches(w["js"], cs, 1, start=6, submitted="2026-11-30 17:00+00")  # 12-01 CN
    oct_ = await _batches(w["store"], cs, 1, month="2026-10-01", start=7,
                          submitted="2026-10-12 03:00+00")
    queries = [{}, {"number": "RB202611000002"}, {"number": "rb2026 11"}, {"number": "202612"},
               {"number": "RB2027"}, {"org_name": "江苏"}, {"org_name": "guangdong off"},
               {"org_name": "OFFICE"}, {"org_name": "广东"}, {"month_from": "2026-11",
                                                             "month_to": "2026-12"},
               {"month_to": "2026-10"}, {"month": "2026-10-01", "status": "withdrawn"},
               {"submitted_from": "2026-12-01", "submitted_to": "2026-12-01"},
               {"submitted_from": "2026-11-30", "submitted_to": "2026-11-30"},
               {"org": str(w["gd"]["id"])}, {"number": "RB2026", "org_name": "jiangsu",
                                             "month_from": "2026-11"}]
    seen = {}
    for user in ("cs", "clerk"):
        headers = _h(await api_token(w["users"][user]))
        async with client() as c:
            await login(c, user)
            for params in queries:
                page = await c.get("/batches", params=params)
                api = await c.get("/api/v1/batches", params=params, headers=headers)
                assert page.status_code == api.status_code == 200, (user, params, api.text)
                ids = [r["id"] for r in api.json()]
                assert ids == _ids(page.text), (user, params)
                seen[(user, str(params))] = ids
            for query, field in (("org=99999999999", "org"), ("org=abc", "org"),
                                 ("after=3000000000", "after"),
                                 ("month_from=2026-13", "month_from"),
                                 ("submitted_from=2026-02-30", "submitted_from"),
                                 ("submitted_from=2026-12-05&submitted_to=2026-12-01",
                                  "submitted_to"),
                                 ("month_from=2026-12&month_to=2026-11", "month_to"),
                                 ("status=lost", "status"), ("number=" + "9" * 41, "number")):
                r = await c.get(f"/api/v1/batches?{query}", headers=headers)
                assert r.status_code == 422 and field in r.json()["fields"], (query, r.text)
            assert (await c.get("/api/v1/batches?number=RB%01", headers=headers)).status_code \
                == 422
    # the filters really filter (not everything equal to nothing), and R1 holds
    assert seen[("cs", str({"number": "RB202611000002"}))] == [nov[1]]
    assert seen[("cs", str({"submitted_from": "2026-12-01", "submitted_to": "2026-12-01"}))] \
        == late
    assert seen[("cs", str({"month_to": "2026-10"}))] == oct_
    assert seen[("cs", str({"org_name": "guangdong off"}))] == dec[::-1]
    assert seen[("clerk", str({}))] == sorted(nov + late + oct_, reverse=True)  # store: a child
    for params in ({"org_name": "广东"}, {"number": "202612"}, {"org": str(w["gd"]["id"])}):
        assert seen[("clerk", str(params))] == [], params
