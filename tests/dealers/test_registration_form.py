"""The registration form prints once approved, in zh or en, with a QR code of the receiving
page, the signatures, and the receipt column HQ fills in (R10, R12, R13)."""

import segno

from dealers import batch_lines, batches, queries, receiving, rules
from dealers.registration_form import qr_svg, receiving_url
from dealers.tables import ReturnBatch
from portal import clock
from tests.dealers.factory import IN_WINDOW, cfl_line, network, reason
from tests.helpers import client, login


async def _approved(net) -> int:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
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
    assert 'id="form-number">' + number in html and '<strong class="qr-number">' + number in html
    assert 'id="form-submitted">clerk 2026-12-09' in html
    assert 'id="form-signed">manager 2026-12-09' in html and 'id="form-approved">cs 2026-12-09' in html
    assert 'id="form-disposition">返厂<' in html and "江苏办事处" in html
    assert html.count('class="form-line"') == 2
    for line_no, quantity in ((1, 10), (2, 4)):
        row = html.split(f'id="form-line-{line_no}"')[1].split("</tr>")[0]
        assert '<td class="model">CFL-1</td>' in row and f'<td class="num qty">{quantity}</td>' in row
        # not received yet: the receipt boxes are there, empty, for HQ to fill in
        assert '<td class="num box received"></td>' in row and '<td class="box why"> </td>' in row
    assert '<link rel="stylesheet" href="/static/print.css">' in html
    assert '<script src="/static/print.js" defer></script>' in html and 'id="print-button"' in html
    assert "<svg" in html
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
    assert "产品返厂登记表" not in page.text and "Return to factory" in page.text
    assert "Does not light" in page.text  # the defect reason in English too


async def test_form_in_chinese_on_request_for_an_english_user():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _approved(net)
        async with client() as c:
            token = await login(c, "clerk")
            await c.post("/lang", data={"locale": "en", "_csrf": token, "next": "/"})
            assert "Return registration form" in (await c.get(f"/batches/{batch_id}/form")).text
            page = await c.get(f"/batches/{batch_id}/form?lang=zh_CN")
            assert "产品返厂登记表" in page.text and '<html lang="zh-CN">' in page.text
            # the override is for that one render: the next page is English again
            assert "Return registration form" in (await c.get(f"/batches/{batch_id}/form")).text


async def test_batch_page_links_to_the_form_once_approved():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _approved(net)
        async with client() as c:
            await login(c, "clerk")
            page = await c.get(f"/batches/{batch_id}")
    assert f'href="/batches/{batch_id}/form"' in page.text


async def test_no_form_before_approval_and_none_for_a_sibling():
    net = await network()
    with clock.frozen(IN_WINDOW):
        draft = await batches.create_draft(actor=net["actors"]["clerk"])
        async with client() as c:
            await login(c, "clerk")
            refused = await c.get(f"/batches/{draft}/form")
            assert refused.status_code == 409
            assert "客户服务部审批后才有返厂登记表" in refused.text
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
        lines = await queries.list_lines(batch_id)
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
    first = html.split('id="form-line-1"')[1].split("</tr>")[0]
    second = html.split('id="form-line-2"')[1].split("</tr>")[0]
    assert [_box(first, k) for k in ("received", "exchanged", "credited", "rejected")] == \
        ["10", "10", "0", "0"]
    assert [_box(second, k) for k in ("received", "exchanged", "credited", "rejected")] == \
        ["4", "0", "0", "4"]
    assert "能亮，不予换货" in _box(second, "why") and "能亮" not in _box(first, "why")


def _box(row: str, kind: str) -> str:
    return row.split(f'box {kind}">')[1].split("</td>")[0].strip()


def test_qr_svg_is_inline_svg():
    assert qr_svg("https://x.test/receiving?number=RB1").startswith("<svg")
