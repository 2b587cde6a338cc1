"""The dock on a phone (issue 12): expected arrivals searchable by number or waybill (R11), a
batch's summary before its arrival is recorded (R10), blind counting (R12) and the "saved"
confirmation that tells the differences only once the count is saved."""
from datetime import date

from dealers import batch_lines, batches, dock_queries
from dealers.tables import DockRefusal, ReturnBatch
from portal import clock
from portal.db import count_queries, raw_fetch
from portal.tables import PolicyValue
from tests.dealers.factory import IN_WINDOW, cfl_line, network
from tests.helpers import client, login


async def _dispatched(net, waybill: str = "DB123", carrier: str = "德邦物流") -> tuple[int, str]:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
                                lines=[cfl_line(net, 10), cfl_line(net, 5, lights=True)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id, note="")
    await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
    await batches.dispatch_batch(actor=a["clerk"], batch_id=batch_id, carrier=carrier,
                                 waybill=waybill, packages=3, freight_fen=35000,
                                 dispatched_on=date(2026, 12, 9))
    number = (await ReturnBatch.select(ReturnBatch.number).where(
        ReturnBatch.id == batch_id).first())["number"]
    return batch_id, number


async def test_expected_arrivals_list_dispatched_batches_searchable_by_waybill_or_number():
    """R11: office, carrier, waybill, packages and date dispatched; a search by the start of the
    waybill (any case) or of the number finds it, another waybill does not."""
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id, number = await _dispatched(net, waybill="SF-7788")
        async with client() as c:
            await login(c, "logistics")
            page = (await c.get("/receiving", headers={"Accept-Language": "en"})).text
            by_waybill = (await c.get("/receiving?q=sf-77")).text
            by_number = (await c.get(f"/receiving?q={number[:8]}")).text
            other = (await c.get("/receiving?q=ZT999")).text
    assert f'id="expected-{number}"' in page
    for fact in ("江苏办事处", "德邦物流", "SF-7788", "2026-12-09"):
        assert fact in page
    assert f'id="expected-{number}"' in by_waybill and f'id="expected-{number}"' in by_number
    assert f'id="expected-{number}"' not in other and 'id="expected-none"' in other


async def test_a_typed_number_shows_the_summary_and_records_nothing_until_asked():
    """R10: the number (typed or from the form's QR code) shows the batch first; the arrival is
    recorded only by the button. An unknown number says so and records no refusal."""
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id, number = await _dispatched(net)
        async with client() as c:
            token = await login(c, "logistics")
            summary = (await c.get(f"/receiving?number={number.lower()}")).text
            unknown = (await c.get("/receiving?number=RB209912999999")).text
            assert (await ReturnBatch.select(ReturnBatch.arrived_at).where(
                ReturnBatch.id == batch_id).first())["arrived_at"] is None
            r = await c.post("/receiving", data={"_csrf": token, "number": number})
    assert 'id="dock-summary"' in summary and 'id="record-arrival"' in summary
    assert 'id="summary-lines">2<' in summary and "DB123" in summary
    assert 'id="dock-unknown"' in unknown and 'id="dock-summary"' not in unknown
    assert await DockRefusal.count() == 0
    assert r.status_code == 303 and r.headers["location"] == f"/batches/{batch_id}/receive"
    assert (await ReturnBatch.select(ReturnBatch.arrived_at).where(
        ReturnBatch.id == batch_id).first())["arrived_at"] is not None


async def test_blind_count_hides_the_declared_quantities_and_tells_differences_once_saved():
    """R12, issue 12 §3: by default the count page neither shows nor pre-fills the quantities
    on the form; after saving, the confirmation says the count differs."""
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id, number = await _dispatched(net)
        async with client() as c:
            token = await login(c, "logistics")
            await c.post("/receiving", data={"_csrf": token, "number": number})
            page = (await c.get(f"/batches/{batch_id}/receive")).text
            assert 'id="received-1" inputmode="numeric"' in page
            assert 'class="declared"' not in page
            assert 'id="received-1"' in page and 'value=""' in page
            line_ids = [int(x.split('"')[0]) for x in page.split('name="received_')[1:]]
            r = await c.post(f"/batches/{batch_id}/receive", data={
                "_csrf": token, f"received_{line_ids[0]}": "9", f"received_{line_ids[1]}": "5"})
            assert r.status_code == 303
            saved = (await c.get(r.headers["location"], headers={"Accept-Language": "en"})).text
    assert "saved. It differs from the form" in saved or "已保存。与登记表不符" in saved
    assert 'class="differs"' in saved


async def test_hq_may_show_the_declared_quantities_at_the_count():
    """The blind count is HQ's policy: at 0 the quantities on the form are shown and pre-filled."""
    net = await network()
    with clock.frozen(IN_WINDOW):
        await PolicyValue.insert(PolicyValue(key="dock_blind_count_bp", value=0,
                                             effective_from=date(2026, 1, 1), reason="test",
                                             created_at=clock.now()))
        batch_id, number = await _dispatched(net)
        async with client() as c:
            token = await login(c, "logistics")
            await c.post("/receiving", data={"_csrf": token, "number": number})
            page = (await c.get(f"/batches/{batch_id}/receive")).text
    assert 'class="declared"' in page and 'value="10"' in page


async def test_expected_arrivals_take_one_query_however_many_batches():
    net = await network()
    with clock.frozen(IN_WINDOW):
        await _dispatched(net, waybill="A1")
        with count_queries() as one:
            assert len(await dock_queries.expected_arrivals(actor=net["actors"]["logistics"])) == 1
        await raw_fetch(  # three more dispatched batches (one per month each, made as rows)
            "INSERT INTO return_batch (number, organisation, month, kind, status, disposition, "
            "created_by, created_at, refused_reason, disposal_evidence, carrier, waybill, "
            "packages, dispatched_on, company_bears_freight) "
            "SELECT number || n, organisation, month - n * interval '1 month', kind, status, "
            "disposition, created_by, created_at, '', '', carrier, 'A' || n, packages, "
            "dispatched_on, true FROM return_batch, generate_series(2, 4) n")
        with count_queries() as four:
            assert len(await dock_queries.expected_arrivals(actor=net["actors"]["logistics"])) == 4
    assert one.count == four.count == 1


async def test_the_dock_is_head_office_logistics_only():
    """R1: an office clerk may not open the dock, nor find a batch's summary there."""
    net = await network()
    with clock.frozen(IN_WINDOW):
        _, number = await _dispatched(net)
        async with client() as c:
            await login(c, "clerk")
            r = await c.get(f"/receiving?number={number}")
    assert r.status_code in (403, 404)
