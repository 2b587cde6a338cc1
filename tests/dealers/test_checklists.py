"""Inspection checklists per product category (R18, issue 12 §4): HQ data with history; a CFL
category has R18's checklist unless HQ changes it; the count page shows each line's category's
checks in effect that day."""
from datetime import date, timedelta

import pytest

from dealers import batch_lines, batches, checklists, receiving
from dealers.tables import ReturnBatch
from portal import clock
from portal.errors import Forbidden, ValidationFailed
from portal.tables import AuditEntry, ProductCategory
from tests.dealers.factory import IN_WINDOW, cfl_line, network
from tests.helpers import actor_of, client, login, make_user


async def _category(code: str) -> int:
    return (await ProductCategory.select(ProductCategory.id).where(
        ProductCategory.code == code).first())["id"]


async def test_cfl_categories_have_r18s_checklist_and_others_the_default():
    await network()
    lists = await checklists.checklists_on(date(2026, 12, 9))
    assert lists[await _category("cfl")] == checklists.CFL_CHECKLIST
    assert lists[await _category("ceiling")] == checklists.DEFAULT_CHECKLIST


async def test_hq_changes_a_checklist_from_a_future_date_and_the_past_stays():
    net = await network()
    admin = await actor_of(await make_user(net["hq"], ["hq_admin"], username="admin"))
    tube = await _category("tube")
    with clock.frozen(IN_WINDOW):
        today = clock.china_today()
        await checklists.change(actor=admin, category_id=tube, checks=["broken", "tube_greyed"],
                                effective_from=today + timedelta(days=5),
                                reason="greyed tubes are not exchanged")
        with pytest.raises(ValidationFailed):  # not today, not the past
            await checklists.change(actor=admin, category_id=tube, checks=["broken"],
                                    effective_from=today, reason="now")
        with pytest.raises(ValidationFailed):  # only the checks the portal knows
            await checklists.change(actor=admin, category_id=tube, checks=["smell"],
                                    effective_from=today + timedelta(days=9), reason="x")
        with pytest.raises(Forbidden):
            await checklists.change(actor=net["actors"]["logistics"], category_id=tube,
                                    checks=["broken"], effective_from=today + timedelta(days=9),
                                    reason="x")
        assert (await checklists.checklists_on(today))[tube] == checklists.DEFAULT_CHECKLIST
        later = await checklists.checklists_on(today + timedelta(days=5))
    assert later[tube] == ("tube_greyed", "broken")
    assert [r["checks"] for r in await checklists.history(tube)] == ["tube_greyed,broken"]
    assert await AuditEntry.count().where(AuditEntry.object_type == "inspection_checklist") == 1


async def test_the_count_page_shows_each_lines_checklist_of_the_day():
    net = await network()
    a = net["actors"]
    admin = await actor_of(await make_user(net["hq"], ["hq_admin"], username="admin"))
    with clock.frozen(IN_WINDOW):
        await checklists.change(actor=admin, category_id=await _category("cfl"),
                                checks=["lights", "broken"],
                                effective_from=clock.china_today() + timedelta(days=1),
                                reason="cap and tube judged at the decision")
        batch_id = await batches.create_draft(actor=a["clerk"])
        await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id, lines=[cfl_line(net, 3)])
        await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
        await batches.sign_batch(actor=a["manager"], batch_id=batch_id, note="")
        await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
        number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
        await receiving.arrive(actor=a["logistics"], number=number)
        async with client() as c:
            await login(c, "logistics")
            today = (await c.get(f"/batches/{batch_id}/receive")).text
    with clock.frozen(IN_WINDOW + timedelta(days=1)):
        async with client() as c:
            await login(c, "logistics")
            tomorrow = (await c.get(f"/batches/{batch_id}/receive")).text
    assert "_tube_greyed" in today and "_cap_percent" in today
    assert "_lights" in tomorrow and "_broken" in tomorrow
    assert "_tube_greyed" not in tomorrow and "_cap_percent" not in tomorrow


async def test_checklist_page_reads_for_logistics_and_changes_for_the_admin_only():
    net = await network()
    await make_user(net["hq"], ["hq_admin"], username="admin")
    cfl = await _category("cfl")
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            token = await login(c, "logistics")
            read = await c.get("/checklists")
            refused = await c.post(f"/checklists/{cfl}", data={
                "_csrf": token, "checks": ["broken"], "effective_from": "2026-12-20",
                "reason": "x"})
        async with client() as c:
            token = await login(c, "admin")
            bad = await c.post(f"/checklists/{cfl}", data={
                "_csrf": token, "checks": ["broken"], "effective_from": "2026-12-01",
                "reason": "x"})
            changed = await c.post(f"/checklists/{cfl}", data={
                "_csrf": token, "checks": ["lights", "broken"], "effective_from": "2026-12-20",
                "reason": "caps judged at the decision"})
            after = (await c.get("/checklists")).text
        for username in ("clerk", "cs"):
            async with client() as c:
                await login(c, username)
                assert (await c.get("/checklists")).status_code == 403, username
    assert read.status_code == 200 and f'id="checklist-{cfl}"' in read.text
    assert f'action="/checklists/{cfl}"' not in read.text
    assert refused.status_code == 403
    assert bad.status_code == 422 and 'class="field-error"' in bad.text
    assert changed.status_code == 303
    assert "caps judged at the decision" in after and "2026-12-20" in after
    assert [r["checks"] for r in await checklists.history(cfl)] == ["lights,broken"]
