"""The registration form prints once approved, in zh or en, with a QR code of the receiving
page, the signatures, and the receipt column HQ fills in (R10, R12, R13)."""

import segno

from dealers import batches, receiving, rules
from dealers.registration_form import qr_svg, receiving_url
from dealers.tables import ReturnBatch
from portal import clock
from tests.dealers.factory import IN_WINDOW, cfl_line, network, reason
from tests.helpers import client, login


async def _approved(net) -> int:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batches.add_lines(actor=a["clerk"], batch_id=batch_id,
                            lines=[cfl_line(net, 10), cfl_line(net, 4, lights=True)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id)
    await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
    return batch_id


async def test_form_prints_lines_signatures_and_qr_of_the_receiving_page():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _approved(net)
        number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
        async with client(base_url="https://portal.example.cn") as c:
            await login(c, "clerk")
            page = await c.get(f"/batches/{batch_id}/form")
    assert page.status_code == 200
    html = page.text
    assert number in html and "产品返厂登记表" in html
    assert 'id="form-signed">manager' in html and 'id="form-approved">cs' in html
    assert html.count('class="form-line"') == 2
    url = receiving_url("https://portal.example.cn", number)
    assert url == f"https://portal.example.cn/receiving?number={number}"
    assert f'data-url="{url}"' in html
    assert segno.make(url, error="m").svg_inline(scale=3, title=url) in html
    assert "<script>" not in html  # the CSP forbids inline scripts


async def test_form_in_english_on_request():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _approved(net)
        async with client() as c:
            await login(c, "clerk")
            page = await c.get(f"/batches/{batch_id}/form?lang=en")
    assert "Return registration form" in page.text and '<html lang="en">' in page.text


async def test_no_form_before_approval_and_none_for_a_sibling():
    net = await network()
    with clock.frozen(IN_WINDOW):
        draft = await batches.create_draft(actor=net["actors"]["clerk"])
        async with client() as c:
            await login(c, "clerk")
            assert (await c.get(f"/batches/{draft}/form")).status_code == 409
        async with client() as other:
            await login(other, "gd.clerk")
            assert (await other.get(f"/batches/{draft}/form")).status_code == 404


async def test_receipt_column_shows_decisions_and_reasons():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _approved(net)
        number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
        await receiving.arrive(actor=a["logistics"], number=number)
        lines = await batches.list_lines(batch_id)
        await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id, counts=[
            receiving.Count(lines[0]["id"], 10, rules.Condition(cap_percent=90)),
            receiving.Count(lines[1]["id"], 4, rules.Condition(lights=True))])
        await receiving.decide_batch(actor=a["cs"], batch_id=batch_id, decisions=[
            receiving.Decision(lines[0]["id"], 10, 0, 0),
            receiving.Decision(lines[1]["id"], 0, 0, 4, await reason("LIGHTS", "reject"))])
        async with client() as c:
            await login(c, "clerk")
            html = (await c.get(f"/batches/{batch_id}/form")).text
    assert "能亮，不予换货" in html


def test_qr_svg_is_inline_svg():
    assert qr_svg("https://x.test/receiving?number=RB1").startswith("<svg")
