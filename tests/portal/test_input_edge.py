"""Issue 10 §4 and §6: one validation edge for every input. Out-of-range integers, control
characters, lax JSON, deep or large JSON, unique-index races and dropped parse errors answer a
clear 4xx (never a 500), and the OpenAPI document describes the error body the server sends."""
import asyncio
import json

import asyncpg
import httpx
import pytest
from litestar import get

from dealers import batches, queries
from dealers.tables import ReturnBatch, SpecialApproval
from portal import clock
from portal.errors import Conflict
from tests.browser.live import live_portal
from tests.dealers.factory import IN_WINDOW, network
from tests.helpers import api_token, client, login

BIG = 2**31  # one past PostgreSQL's int4


def _h(token: str, **extra: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en", **extra}


async def _tokens(net: dict, *names: str) -> dict[str, str]:
    return {name: await api_token(net["users"][name]) for name in names}


# --- integers within the database's range ----------------------------------------------------

async def test_path_id_beyond_int4_is_404_not_500():
    net = await network()
    t = await _tokens(net, "clerk")
    async with client() as c:
        for path in (f"/api/v1/batches/{BIG}", f"/api/v1/batches/{10**30}",
                     f"/api/v1/organisations/{BIG}/window", f"/api/v1/repair-points/{BIG}"):
            r = await c.get(path, headers=_h(t["clerk"]))
            assert r.status_code == 404, (path, r.status_code, r.text)
            assert set(r.json()) >= {"error", "status", "request_id"}
        r = await c.post(f"/api/v1/batches/{BIG}/submit", headers=_h(t["clerk"]), json={})
        assert r.status_code == 404
        await login(c, "clerk")
        assert (await c.get(f"/batches/{BIG}")).status_code == 404


async def test_query_integer_beyond_int4_is_422_naming_it():
    net = await network()
    t = await _tokens(net, "clerk")
    async with client() as c:
        r = await c.get(f"/api/v1/batches/?after={BIG}", headers=_h(t["clerk"]))
        assert r.status_code == 422, r.text
        assert "after" in r.json()["fields"]
        r = await c.post(f"/api/v1/batches?special_approval_id={BIG}", headers=_h(t["clerk"]))
        assert r.status_code == 422 and "special_approval_id" in r.json()["fields"]
        await login(c, "clerk")
        page = await c.get(f"/batches?org={BIG}")
        assert page.status_code == 422
        assert (await c.get("/batches?after=abc")).status_code == 422
    assert await ReturnBatch.count() == 0


async def test_json_integer_beyond_int4_is_422_naming_the_field():
    net = await network()
    t = await _tokens(net, "clerk")
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            batch = (await c.post("/api/v1/batches", headers=_h(t["clerk"]))).json()
            r = await c.post(f"/api/v1/batches/{batch['id']}/lines", headers=_h(t["clerk"]),
                             json={"lines": [{"product_id": BIG, "quantity": 1}]})
            assert r.status_code == 422, r.text
            assert "lines[0].product_id" in r.json()["fields"]


# --- control characters ----------------------------------------------------------------------

async def test_nul_in_json_text_is_a_field_error():
    net = await network()
    t = await _tokens(net, "manager")
    async with client() as c:
        r = await c.post("/api/v1/special-approvals", headers=_h(t["manager"]),
                         json={"organisation_id": net["office"]["id"], "reason": "a\x00b"})
        assert r.status_code == 422, r.text
        assert "reason" in r.json()["fields"]
        r = await c.post("/api/v1/special-approvals", headers=_h(t["manager"]),
                         json={"organisation_id": net["office"]["id"], "reason": "bell\x07"})
        assert r.status_code == 422 and "reason" in r.json()["fields"]
        ok = await c.post("/api/v1/special-approvals", headers=_h(t["manager"]),
                          json={"organisation_id": net["office"]["id"],
                                "reason": "two lines\nand a\ttab"})
        assert ok.status_code == 201, ok.text
    assert await SpecialApproval.count() == 1


async def test_nul_in_query_and_form_text_is_a_field_error():
    net = await network()
    t = await _tokens(net, "clerk")
    async with client() as c:
        r = await c.get("/api/v1/batches/?status=%00", headers=_h(t["clerk"]))
        assert r.status_code == 422 and "status" in r.json()["fields"]
        token = await login(c, "manager")
        r = await c.post("/special-approvals", data={
            "_csrf": token, "organisation_id": str(net["office"]["id"]), "reason": "a\x00b"})
        assert r.status_code == 422, r.text
    assert await SpecialApproval.count() == 0


# --- strict JSON -------------------------------------------------------------------------------

@pytest.mark.parametrize("quantity", ["1e3", 1.5, "10", True])
async def test_quantity_must_be_a_json_integer(quantity):
    net = await network()
    t = await _tokens(net, "clerk")
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            batch = (await c.post("/api/v1/batches", headers=_h(t["clerk"]))).json()
            r = await c.post(f"/api/v1/batches/{batch['id']}/lines", headers=_h(t["clerk"]),
                             json={"lines": [{"product_id": net["products"]["cfl"],
                                              "quantity": quantity}]})
            assert r.status_code == 422, r.text
            assert "lines[0].quantity" in r.json()["fields"]
    assert not await queries.list_lines(batch["id"])


async def test_text_body_on_a_json_endpoint_is_refused():
    net = await network()
    t = await _tokens(net, "manager")
    body = json.dumps({"organisation_id": net["office"]["id"], "reason": "plain text"})
    async with client() as c:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = _h(t["manager"])
            if content_type:
                headers["Content-Type"] = content_type
            r = await c.post("/api/v1/special-approvals", headers=headers, content=body)
            assert r.status_code == 415, (content_type, r.status_code, r.text)
            assert r.json()["status"] == 415
    assert await SpecialApproval.count() == 0


@pytest.mark.parametrize("depth", [40, 5000])
async def test_deep_json_is_refused_with_a_clear_message(depth):
    net = await network()
    t = await _tokens(net, "manager")
    body = '{"organisation_id": 1, "reason": "x", "extra": ' + "[" * depth + "]" * depth + "}"
    async with client() as c:
        r = await c.post("/api/v1/special-approvals", content=body,
                         headers=_h(t["manager"], **{"Content-Type": "application/json"}))
        assert r.status_code in (400, 422), r.text
        assert "nested" in r.json()["error"]


async def test_json_body_over_the_endpoint_limit_is_413():
    net = await network()
    t = await _tokens(net, "manager")
    async with client() as c:
        r = await c.post("/api/v1/special-approvals", headers=_h(t["manager"]),
                         json={"organisation_id": 1, "reason": "x" * (2 * 1024 * 1024)})
        assert r.status_code == 413, r.text


# --- unique-index races --------------------------------------------------------------------

async def test_r6_ten_concurrent_drafts_give_one_batch_and_nine_conflicts():
    net = await network()
    clerk = net["actors"]["clerk"]
    with clock.frozen(IN_WINDOW):
        results = await asyncio.gather(*(batches.create_draft(actor=clerk) for _ in range(10)),
                                       return_exceptions=True)
    created = [r for r in results if isinstance(r, int)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(created) == 1 and len(conflicts) == 9, results
    assert await ReturnBatch.count() == 1


async def test_r6_ten_concurrent_drafts_over_the_api_one_201_nine_409():
    net = await network()
    t = await _tokens(net, "clerk")
    with clock.frozen(IN_WINDOW):  # a real server, so the ten requests really overlap
        async with live_portal(db_pool=True) as base, httpx.AsyncClient(base_url=base) as c:
            answers = await asyncio.gather(*(c.post("/api/v1/batches", headers=_h(t["clerk"]))
                                             for _ in range(10)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 9, \
        [(r.status_code, r.text[:100]) for r in answers]
    assert all(r.json()["error"] for r in answers if r.status_code == 409)
    assert await ReturnBatch.count() == 1


async def test_unique_violation_anywhere_answers_409_with_a_message():
    @get("/api/v1/probe-unique", include_in_schema=False, guards=[])
    async def probe() -> None:
        raise asyncpg.exceptions.UniqueViolationError("duplicate key value")

    async with client(extra_handlers=(probe,)) as c:
        r = await c.get("/api/v1/probe-unique", headers={"Accept-Language": "en"})
        assert r.status_code == 409
        assert r.json()["error"] and r.json()["status"] == 409


async def test_database_range_error_is_never_a_500_even_past_the_edge():
    @get("/api/v1/probe-range", include_in_schema=False, guards=[])
    async def probe() -> None:
        raise asyncpg.exceptions.NumericValueOutOfRangeError("value out of range for type integer")

    async with client(extra_handlers=(probe,)) as c:
        r = await c.get("/api/v1/probe-range")
        assert r.status_code == 422


# --- parse errors are never dropped ---------------------------------------------------------

async def test_malformed_special_approval_id_on_draft_is_422_not_a_regular_batch():
    await network()
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            token = await login(c, "clerk")
            r = await c.post("/batches", data={"_csrf": token, "special_approval": "12x"})
            assert r.status_code == 422, (r.status_code, r.text[:300])
            r = await c.post("/batches", data={"_csrf": token, "special_approval": str(BIG)})
            assert r.status_code == 422
    assert await ReturnBatch.count() == 0


# --- the OpenAPI document tells the truth about errors ---------------------------------------

async def test_openapi_describes_the_error_body_and_statuses():
    async with client() as c:
        doc = (await c.get("/api/v1/schema/openapi.json")).json()
    text = json.dumps(doc)
    assert "status_code" not in text and '"detail"' not in text
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "status", "request_id"}
    assert set(error["properties"]) == {"error", "status", "request_id", "fields"}
    op = doc["paths"]["/api/v1/batches/{batch_id}/lines"]["post"]
    for status in ("401", "403", "404", "409", "413", "415", "422"):
        assert status in op["responses"], status
        schema = op["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    get_op = doc["paths"]["/api/v1/me"]["get"]
    assert "401" in get_op["responses"] and "415" not in get_op["responses"]
