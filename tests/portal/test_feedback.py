"""Feedback and safety (issue 9 §4): a success message after every action, shown once, in the
reader's language, on the next page (plain POST) or swapped into the page (htmx); actions a rule
would refuse are shown disabled with the reason, and the service refuses with the same words;
destructive actions ask first."""
from __future__ import annotations

import re
from datetime import datetime

from dealers import batch_lines, batches, queries
from portal import clock
from portal.clock import CHINA
from portal.tables import ProductCategory
from portal.web import FLASH_COOKIE
from settlements import adjustments
from tests.dealers.factory import IN_WINDOW, cfl_line, network
from tests.helpers import client, csrf_from, login, make_org, make_user, region_id
from tests.settlements.close_factory import settlement_network

AFTER_WINDOW = datetime(2026, 12, 16, 10, 0, tzinfo=CHINA)  # week 2 (days 8-14) is over


def _status_region(html: str) -> str:
    match = re.search(r'<div id="flash" class="flash" role="status"[^>]*>(.*?)</div>', html, re.S)
    assert match, "every page has the status region"
    return match.group(1)


async def _draft_with_line(net) -> int:
    batch_id = await batches.create_draft(actor=net["actors"]["clerk"])
    await batch_lines.add_lines(actor=net["actors"]["clerk"], batch_id=batch_id, lines=[cfl_line(net)])
    return batch_id


async def test_submit_says_what_happened_once_in_the_readers_language():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft_with_line(net)
        number = (await batches.get_batch(actor=net["actors"]["clerk"], batch_id=batch_id))["number"]
        async with client() as c:
            token = await login(c, "clerk")
            r = await c.post(f"/batches/{batch_id}/submit", data={"_csrf": token})
            assert r.status_code == 303 and r.headers["location"] == f"/batches/{batch_id}"
            assert FLASH_COOKIE in r.headers.get("set-cookie", "")
            page = await c.get(f"/batches/{batch_id}")
            assert _status_region(page.text).strip() == (
                f'<p class="flash-message">批次 {number} 已提交；已通知办事处经理。</p>')
            again = await c.get(f"/batches/{batch_id}")
            assert _status_region(again.text) == "", "shown once"
        async with client() as c:  # in English for an English reader
            token = await login(c, "manager")
            await c.post("/lang", data={"_csrf": token, "locale": "en", "next": "/"})
            token = csrf_from((await c.get("/")).text)
            r = await c.post(f"/batches/{batch_id}/sign", data={"_csrf": token})
            assert r.status_code == 303
            page = await c.get(f"/batches/{batch_id}")
            assert (f"Batch {number} signed; head office customer service has been told."
                    in _status_region(page.text))


async def test_htmx_actions_swap_the_message_into_the_status_region():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft_with_line(net)
        async with client() as c:
            token = await login(c, "clerk")
            data = {"_csrf": token, "product": str(net["products"]["cfl"]), "quantity": "3",
                    "reason": str(net["reason"]), "date_code": "20260301", "cap_percent": "90"}
            r = await c.post(f"/batches/{batch_id}/lines", data=data,
                             headers={"HX-Request": "true"})
            assert r.status_code == 200 and r.text.lstrip().startswith('<section id="lines">')
            assert ('<div id="flash" class="flash" role="status" aria-live="polite" '
                    'hx-swap-oob="innerHTML"><p class="flash-message">明细已添加。</p></div>') in r.text
            assert FLASH_COOKIE not in r.headers.get("set-cookie", ""), "not shown twice"
            line = (await queries.list_lines(batch_id))[0]
            page = await c.get(f"/batches/{batch_id}")
            assert 'hx-confirm="确定删除第 1 行？"' in page.text  # asks before removing
            r = await c.post(f"/batches/{batch_id}/lines/{line['id']}/delete",
                             data={"_csrf": token}, headers={"HX-Request": "true"})
            assert "明细已删除。" in r.text


async def test_a_flash_cookie_from_elsewhere_is_not_shown():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft_with_line(net)
        async with client() as c:
            token = await login(c, "clerk")
            r = await c.post(f"/batches/{batch_id}/withdraw", data={"_csrf": token})
            planted = r.cookies.get(FLASH_COOKIE) or re.search(
                FLASH_COOKIE + r"=([^;]+)", r.headers["set-cookie"]).group(1)
        async with client() as other:  # another session: the signature binds it to the first
            await login(other, "clerk")
            other.cookies.set(FLASH_COOKIE, planted, domain="portal.test")
            assert _status_region((await other.get("/batches")).text) == ""
            other.cookies.set(FLASH_COOKIE, "eyJtIjogIkhpIn0.forged", domain="portal.test")
            assert _status_region((await other.get("/batches")).text) == ""
            # a signature that is not ASCII, as sent or once %-decoded: ignored, not a 500
            for mac in ("forg%C3%A9", "forg%FF", "for%00g"):
                other.cookies.set(FLASH_COOKIE, "eyJtIjogIkhpIn0." + mac, domain="portal.test")
                page = await other.get("/batches")
                assert page.status_code == 200 and _status_region(page.text) == ""


async def test_r5_submit_outside_the_window_is_disabled_with_the_reason_the_service_gives():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft_with_line(net)
    with clock.frozen(AFTER_WINDOW):
        async with client() as c:
            token = await login(c, "clerk")
            await c.post("/lang", data={"_csrf": token, "locale": "en", "next": "/"})
            token = csrf_from((await c.get("/")).text)
            page = await c.get(f"/batches/{batch_id}")
            button = re.search(r'<button class="primary" id="submit-batch"[^>]*>', page.text)
            assert button and "disabled" in button.group(0)
            reason = re.search(r'<span class="action-reason" id="submit-batch-why">([^<]+)</span>',
                               page.text).group(1)
            assert "2026-12-08 to 2026-12-14" in reason and "special approval" in reason
            assert "R5" not in reason
            r = await c.post(f"/batches/{batch_id}/submit", data={"_csrf": token})
            assert r.status_code == 422
            assert f'<p class="alert" id="action-error">{reason}</p>' in r.text
    assert (await batches.get_batch(actor=net["actors"]["clerk"],
                                    batch_id=batch_id))["status"] == "draft"


async def test_r8_nobody_signs_their_own_submission_shown_before_the_click():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=net["actors"]["manager"])
        await batch_lines.add_lines(actor=net["actors"]["manager"], batch_id=batch_id,
                                lines=[cfl_line(net)])
        await batches.submit_batch(actor=net["actors"]["manager"], batch_id=batch_id)
        async with client() as c:
            token = await login(c, "manager")
            page = await c.get(f"/batches/{batch_id}")
            assert re.search(r'id="sign-batch" disabled', page.text)
            reason = re.search(r'id="sign-batch-why">([^<]+)<', page.text).group(1)
            assert reason.startswith("任何人不得为自己提交的申请签字")
            r = await c.post(f"/batches/{batch_id}/sign", data={"_csrf": token})
            assert r.status_code == 422 and f'id="action-error">{reason}<' in r.text


async def test_withdraw_and_refuse_ask_first_without_inline_script():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft_with_line(net)
        async with client() as c:
            await login(c, "clerk")
            page = await c.get(f"/batches/{batch_id}")
            form = re.search(r'<form [^>]*action="/batches/\d+/withdraw"[^>]*>', page.text).group(0)
            assert 'data-confirm="确定撤回批次' in form and 'data-confirm-yes="撤回"' in form
            assert '<script src="/static/confirm.js" defer></script>' in page.text
            assert "<script>" not in page.text
            script = await c.get("/static/confirm.js")
            assert script.status_code == 200 and "htmx:confirm" in script.text
        await batches.submit_batch(actor=net["actors"]["clerk"], batch_id=batch_id)
        await batches.sign_batch(actor=net["actors"]["manager"], batch_id=batch_id)
        async with client() as c:
            await login(c, "cs")
            page = await c.get(f"/batches/{batch_id}")
            assert re.search(r'action="/batches/\d+/refuse" class="inline" data-confirm="', page.text)


async def _message_once(c, location: str) -> str:
    """The status region of the next page, and that it is empty the time after."""
    shown = _status_region((await c.get(location)).text).strip()
    assert _status_region((await c.get(location)).text) == "", "shown once"
    return shown


async def test_line_import_says_how_many_lines_went_into_which_batch():
    net = await network()
    content = ("规格型号,数量,返厂原因,说明,日期码,能亮,灯头成新\n"
               "CFL-1,4,NO_LIGHT,,20260301,否,90\nCEILING-1,3,不亮,,,,\n").encode("utf-8-sig")
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=net["actors"]["clerk"])
        number = (await batches.get_batch(actor=net["actors"]["clerk"], batch_id=batch_id))["number"]
        async with client() as c:
            token = await login(c, "clerk")
            r = await c.post(f"/batches/{batch_id}/import", data={"_csrf": token},
                             files={"file": ("l.csv", content, "text/csv")})
            assert r.status_code == 303 and r.headers["location"] == f"/batches/{batch_id}"
            assert await _message_once(c, r.headers["location"]) == (
                f'<p class="flash-message">已向批次 {number} 导入 2 行明细。</p>')
            await c.post("/lang", data={"_csrf": token, "locale": "en", "next": "/"})
            token = csrf_from((await c.get("/")).text)
            r = await c.post(f"/batches/{batch_id}/import", data={"_csrf": token},
                             files={"file": ("l.csv", content, "text/csv")})
            assert r.status_code == 303
            assert await _message_once(c, r.headers["location"]) == (
                f'<p class="flash-message">2 lines imported into batch {number}.</p>')


async def _admin() -> tuple[dict, dict]:
    hq = await make_org("hq", region=None)
    await make_user(hq, ["hq_admin"], username="admin")
    office = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    return hq, office


async def test_user_saved_says_so():
    _, office = await _admin()
    clerk = await make_user(office, ["dealer_clerk"], username="js.clerk")
    async with client() as c:
        await login(c, "admin")
        form = await c.get(f"/admin/users/{clerk['id']}")
        r = await c.post(f"/admin/users/{clerk['id']}", data={
            "_csrf": csrf_from(form.text), "display_name": "江苏文员", "email": "js@example.test",
            "roles": "dealer_clerk", "active": "on", "locale": "zh_CN", "reason": "改名"})
        assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{clerk['id']}"
        assert await _message_once(c, r.headers["location"]) == (
            '<p class="flash-message">用户 js.clerk 已保存。</p>')


async def test_organisation_created_says_so():
    hq, _ = await _admin()
    async with client() as c:
        await login(c, "admin")
        form = await c.get("/admin/organisations/new")
        r = await c.post("/admin/organisations/new", data={
            "_csrf": csrf_from(form.text), "name": "浙江办事处", "name_en": "Zhejiang Office",
            "kind": "office", "parent_id": str(hq["id"]), "region_id": str(await region_id("CN-ZJ"))})
        assert r.status_code == 303 and r.headers["location"].startswith("/network/")
        assert await _message_once(c, r.headers["location"]) == (
            '<p class="flash-message">机构 浙江办事处 已创建。</p>')


async def test_catalogue_save_says_so():
    await _admin()
    category = ProductCategory(code="ceiling", name_zh="吸顶灯", name_en="Ceiling",
                               warranty_months=12, is_cfl=False)
    await ProductCategory.insert(category)
    async with client() as c:
        token = await login(c, "admin")
        r = await c.post(f"/admin/catalog/categories/{category.id}/warranty", data={
            "_csrf": token, "warranty_months": "18", "reason": "新合同"})
        assert r.status_code == 303 and r.headers["location"] == "/catalog"
        assert await _message_once(c, "/catalog") == (
            '<p class="flash-message">保修期已改为 18 个月；原值保留在历史记录中。</p>')


async def test_refusing_an_adjustment_asks_first():
    net = await settlement_network()
    await adjustments.request_adjustment(actor=net["actors"]["finance"],
                                         dealer_id=net["office"]["id"], kind="charge",
                                         amount_fen=-2500, reason="Forms missing")
    async with client() as c:
        await login(c, "finance2")
        page = await c.get("/settlements/adjustments")
        button = re.search(r'<button name="approve" value="0"[^>]*>', page.text).group(0)
        assert 'data-confirm="确定拒绝这笔调整？它不会计入任何对账单。"' in button
        assert 'data-confirm-yes="拒绝"' in button
        assert "R26" not in button
