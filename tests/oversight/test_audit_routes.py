"""Audit pages, export and API twins (R30, R1): the whole flow through the pages (plan, approval,
visit, report, instruction, order issued, answered with evidence, closed); an unannounced
audit absent for its office in page, API, list, export and inbox until the visit; the tenant
matrix (own office, head office, sibling office, the office's store) on every route."""
from __future__ import annotations

import re

import pytest

from oversight import audits, queries, rectification
from oversight.inputs import AuditVisitIn, InstructIn
from portal import attachments
from tests.helpers import api_token, client, login
from tests.oversight.audit_world import PDF, audit_at, today, world


async def _bearer(w, name: str) -> dict:
    return {"Authorization": f"Bearer {await api_token(w.users[name])}"}


async def test_r30_the_flow_through_the_pages():
    w = await world()
    office = w.orgs["office"]["id"]
    async with client() as c:
        csrf = await login(c, "cs")
        assert (await c.get("/audits/new")).status_code == 200
        r = await c.post("/audits", data={
            "_csrf": csrf, "office_id": str(office), "kind": "ad_hoc", "scope": "库存账",
            "method": "突击盘点", "deadline": today().isoformat(), "cost": "1,200.50",
            "finance_id": str(w.users["finance"]["id"]), "members": str(w.users["cs2"]["id"])})
        assert r.status_code == 303, r.text
        audit_id = max(row["id"] for row in await queries.list_audits(w.actors["vp"]))
        page = await c.get(f"/audits/{audit_id}")
        assert "¥1,200.50" in page.text and re.search(r'id="record-visit" disabled', page.text)
        r = await c.post(f"/audits/{audit_id}/visit", data={"_csrf": csrf})
        assert r.status_code == 422 and "批准审计计划前不得进场" in r.text  # no visit before approval
    async with client() as c:
        csrf = await login(c, "vp")
        r = await c.post(f"/audits/{audit_id}/approve", data={"_csrf": csrf, "note": ""})
        assert r.status_code == 303
    async with client() as c:
        csrf = await login(c, "cs")
        assert (await c.post(f"/audits/{audit_id}/visit",
                             data={"_csrf": csrf, "notes": "ok"})).status_code == 303
        r = await c.post(f"/audits/{audit_id}/report", data={
            "_csrf": csrf, "findings": "缺台账", "report": "报告正文", "score": "72"})
        assert r.status_code == 303
    async with client() as c:
        csrf = await login(c, "vp")
        r = await c.post(f"/audits/{audit_id}/instruct",
                         data={"_csrf": csrf, "instruction": "整改台账"})
        assert r.status_code == 303
    order_id = (await queries.orders_of(audit_id))[0]["id"]
    async with client() as c:  # the group's lead: the issue button is refused with the reason
        await login(c, "cs")
        page = await c.get(f"/audits/{audit_id}")
        assert re.search(rf'id="issue-order-{order_id}" disabled', page.text)
    async with client() as c:
        csrf = await login(c, "rm")
        r = await c.post(f"/audits/orders/{order_id}/issue", data={
            "_csrf": csrf, "requirement": "补台账", "due": today().isoformat()})
        assert r.status_code == 303, r.text
    async with client() as c:
        csrf = await login(c, "manager")
        page = await c.get(f"/audits/{audit_id}")
        assert "照片和文件" in page.text or "Photos" in page.text
        r = await c.post(f"/audits/orders/{order_id}/answer",
                         data={"_csrf": csrf, "answer": "已补"})
        assert r.status_code == 422  # evidence first
        r = await c.post(f"/attachments/{rectification.EVIDENCE}/{order_id}?next=/audits/{audit_id}",
                         files={"file": ("台账.pdf", PDF, "application/pdf")},
                         data={"_csrf": csrf})
        assert r.status_code == 303, r.text
        r = await c.post(f"/audits/orders/{order_id}/answer",
                         data={"_csrf": csrf, "answer": "已补"})
        assert r.status_code == 303
    async with client() as c:
        csrf = await login(c, "rm")
        r = await c.post(f"/audits/orders/{order_id}/close", data={"_csrf": csrf, "note": ""})
        assert r.status_code == 303
        page = await c.get(f"/audits/{audit_id}")
        assert f'id="order-{order_id}-status">已关闭' in page.text
    assert len(await attachments.list_for(rectification.EVIDENCE, order_id)) == 1


@pytest.mark.parametrize("viewer, seen", [
    ("manager", True), ("vp", True), ("auditor", True), ("rm", True),
    ("gd.manager", False), ("store.clerk", False)])
async def test_r1_tenant_matrix_page_api_list_export(viewer, seen):
    """Own office / head office / the covering regional manager see an announced audit;
    a sibling office and the office's own store get 404 and nothing listed."""
    w = await world()
    audit_id = await audit_at(w, "reported", announced=True)
    order_id = await audits.instruct(actor=w.actors["vp"], audit_id=audit_id,
                                     data=InstructIn(instruction="x"))
    token = await _bearer(w, viewer)
    async with client() as c:
        csrf = await login(c, viewer)
        page = await c.get(f"/audits/{audit_id}")
        api = await c.get(f"/api/v1/audits/{audit_id}", headers=token)
        listed = await c.get("/audits")
        exported = await c.get("/audits/export?format=csv")
        api_list = await c.get("/api/v1/audits", headers=token)
        files = await c.get(f"/attachments/{rectification.EVIDENCE}/{order_id}")
        if not seen:
            for url in (f"/audits/{audit_id}/approve", f"/audits/{audit_id}/instruct",
                        f"/audits/orders/{order_id}/issue", f"/audits/orders/{order_id}/answer"):
                assert (await c.post(url, data={"_csrf": csrf})).status_code == 404, url
            r = await c.post(f"/api/v1/audits/orders/{order_id}/issue", headers=token,
                             json={"requirement": "x", "due": today().isoformat()})
            assert r.status_code == 404
    assert page.status_code == api.status_code == files.status_code == (200 if seen else 404)
    assert (f'id="audit-{audit_id}"' in listed.text) is seen
    assert exported.status_code == 200 and (len(exported.text.strip().splitlines()) == 2) is seen
    assert ([a["id"] for a in api_list.json()] == [audit_id]) is seen


@pytest.mark.parametrize("who", ["manager", "clerk"])
async def test_r30_office_sees_nothing_of_an_unannounced_audit_before_the_visit(who):
    w = await world()
    audit_id = await audit_at(w, "approved", announced=False)
    token = await _bearer(w, who)

    async def looks() -> tuple:
        async with client() as c:
            await login(c, who)
            home = await c.get("/")
            inbox = await c.get("/inbox")
            return ((await c.get(f"/audits/{audit_id}")).status_code,
                    (await c.get(f"/api/v1/audits/{audit_id}", headers=token)).status_code,
                    f'id="audit-{audit_id}"' in (await c.get("/audits")).text,
                    len((await c.get("/audits/export?format=csv")).text.strip().splitlines()),
                    [a["id"] for a in (await c.get("/api/v1/audits", headers=token)).json()],
                    f"/audits/{audit_id}" in inbox.text, f"/audits/{audit_id}" in home.text)

    assert await looks() == (404, 404, False, 1, [], False, False)
    await audits.record_visit(actor=w.actors["cs"], audit_id=audit_id, data=AuditVisitIn())
    seen = await looks()
    assert seen[:5] == (200, 200, True, 2, [audit_id])


async def test_r30_api_twins_run_the_same_rules():
    w = await world()
    cs, vp = await _bearer(w, "cs"), await _bearer(w, "vp")
    async with client() as c:
        r = await c.post("/api/v1/audits", headers=cs, json={
            "office_id": w.orgs["office"]["id"], "kind": "periodic", "scope": "s",
            "method": "m", "deadline": today().isoformat(), "cost_fen": 5000,
            "announced": False})
        assert r.status_code == 201, r.text
        audit_id = r.json()["id"]
        r = await c.post(f"/api/v1/audits/{audit_id}/visit", headers=cs, json={})
        assert r.status_code == 422 and "批准审计计划前不得进场" in r.text
        r = await c.post(f"/api/v1/audits/{audit_id}/approve", headers=cs, json={})
        assert r.status_code == 403
        r = await c.post(f"/api/v1/audits/{audit_id}/approve", headers=vp, json={"note": "ok"})
        assert r.status_code == 200 and r.json()["status"] == "approved"
        assert (await c.post(f"/api/v1/audits/{audit_id}/visit", headers=cs,
                             json={})).json()["status"] == "visited"
        r = await c.post(f"/api/v1/audits/{audit_id}/report", headers=cs,
                         json={"findings": "f", "report": "r", "score": 88})
        assert r.status_code == 200 and r.json()["score"] == 88
        r = await c.post(f"/api/v1/audits/{audit_id}/instruct", headers=vp,
                         json={"instruction": "fix"})
        order_id = r.json()["id"]
        r = await c.post(f"/api/v1/audits/orders/{order_id}/issue", headers=cs,
                         json={"requirement": "x", "due": today().isoformat()})
        assert r.status_code == 422 and "审计小组不能自行下达" in r.text


async def test_r30_home_queues_and_nothing_for_the_office_before_an_order():
    w = await world()
    audit_id = await audit_at(w, "submitted", announced=False)
    async with client() as c:
        await login(c, "vp")
        assert 'id="queue-audits_to_approve"' in (await c.get("/")).text
    await audit_at(w, "approved", announced=False)
    async with client() as c:
        await login(c, "manager")
        home = await c.get("/")
        assert "/audits/" not in home.text and "rectifications_to_answer" in home.text
        assert f"audit-{audit_id}" not in home.text
    assert audit_id
