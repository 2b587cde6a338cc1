"""Batch pages through the real app: htmx fragments, clear errors that change nothing, and
isolation between offices (R1)."""
import pytest

from dealers.tables import ReturnBatch, ReturnLine
from portal import clock
from tests.dealers.factory import IN_WINDOW, network
from tests.helpers import client, csrf_from, login


async def _draft(c):
    home = await c.get("/batches")
    r = await c.post("/batches", data={"_csrf": csrf_from(home.text)})
    assert r.status_code == 303
    return int(r.headers["location"].rsplit("/", 1)[1])


def _line(net, **overrides):
    data = {"product": str(net["products"]["cfl"]), "quantity": "12", "reason": str(net["reason"]),
            "date_code": "20260301", "cap_percent": "90"}
    data.update(overrides)
    return data


async def test_htmx_add_line_returns_the_lines_fragment_with_verdict():
    net = await network()
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            token = await login(c, "clerk")
            batch_id = await _draft(c)
            r = await c.post(f"/batches/{batch_id}/lines", data={"_csrf": token, **_line(net)},
                             headers={"HX-Request": "true"})
            assert r.status_code == 200
            assert r.text.lstrip().startswith('<section id="lines">')
            assert "<html" not in r.text
            assert 'id="line-1"' in r.text
    assert await ReturnLine.count() == 1


@pytest.mark.parametrize("override, field_message", [
    ({"quantity": "0"}, "Quantity must be a whole number from 1 to 100,000."),
    ({"quantity": "1000000000000"}, "Quantity must be a whole number from 1 to 100,000."),
    ({"product": "999999"}, "Unknown product: choose a model from the catalogue."),
    ({"date_code": "2026-3-1"}, "Date codes look like 20250315 (year, month, day)."),
    ({"date_code": ""}, "CFLs need the printed date code, e.g. 20250315 (R18d)."),
])
async def test_bad_line_gets_clear_error_and_changes_nothing(override, field_message):
    net = await network()
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            token = await login(c, "clerk")
            batch_id = await _draft(c)
            r = await c.post(f"/batches/{batch_id}/lines",
                             data={"_csrf": token, **_line(net, **override)},
                             headers={"HX-Request": "true", "Accept-Language": "en"})
            assert r.status_code == 422
    assert await ReturnLine.count() == 0


async def test_preview_shows_expected_verdict_while_typing():
    net = await network()
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            token = await login(c, "clerk")
            batch_id = await _draft(c)
            ok = await c.post(f"/batches/{batch_id}/lines/preview",
                              data={"_csrf": token, **_line(net)}, headers={"HX-Request": "true"})
            assert 'id="verdict-code"' in ok.text and "badge ok" in ok.text
            lit = await c.post(f"/batches/{batch_id}/lines/preview",
                               data={"_csrf": token, **_line(net, lights="on")},
                               headers={"HX-Request": "true"})
            assert "badge alarm" in lit.text
    assert await ReturnLine.count() == 0


async def test_sibling_office_cannot_see_or_touch_the_batch():
    net = await network()
    with clock.frozen(IN_WINDOW):
        async with client() as owner:
            await login(owner, "clerk")
            batch_id = await _draft(owner)
        async with client() as other:
            token = await login(other, "gd.clerk")
            for path in (f"/batches/{batch_id}", f"/batches/{batch_id}/history"):
                assert (await other.get(path)).status_code == 404
            r = await other.post(f"/batches/{batch_id}/lines", data={"_csrf": token, **_line(net)})
            assert r.status_code == 404
            r = await other.post(f"/batches/{batch_id}/submit", data={"_csrf": token})
            assert r.status_code == 404
            listing = await other.get("/batches")
            assert "江苏办事处" not in listing.text
    assert await ReturnLine.count() == 0
    assert (await ReturnBatch.select(ReturnBatch.status).first())["status"] == "draft"


async def test_submit_outside_window_shows_reason_on_the_page():
    net = await network()
    with clock.frozen(IN_WINDOW.replace(day=16)):
        async with client() as c:
            token = await login(c, "clerk")
            batch_id = await _draft(c)
            await c.post(f"/batches/{batch_id}/lines", data={"_csrf": token, **_line(net)})
            r = await c.post(f"/batches/{batch_id}/submit", data={"_csrf": token},
                             headers={"Accept-Language": "en"})
            assert r.status_code == 422
            assert 'id="action-error"' in r.text and "2026-12-08" in r.text
    assert (await ReturnBatch.select(ReturnBatch.status).first())["status"] == "draft"


async def test_hq_queue_pages_list_by_queue():
    net = await network()
    with clock.frozen(IN_WINDOW):
        async with client() as c:
            token = await login(c, "clerk")
            batch_id = await _draft(c)
            await c.post(f"/batches/{batch_id}/lines", data={"_csrf": token, **_line(net)})
            await c.post(f"/batches/{batch_id}/submit", data={"_csrf": token})
        async with client() as c:
            await login(c, "cs")
            page = await c.get("/batches?queue=to_sign")
            assert f'id="batch-{batch_id}"' in page.text
            page = await c.get("/batches?queue=to_approve")
            assert f'id="batch-{batch_id}"' not in page.text


async def test_a_dock_number_that_matches_no_batch_says_so_beside_the_field_and_records_nothing():
    from dealers.tables import DockRefusal

    await network()
    async with client() as c:
        csrf = await login(c, "logistics")
        r = await c.post("/receiving", data={"number": "RB209912999999", "_csrf": csrf})
    assert r.status_code == 422
    assert 'id="error-number"' in r.text and 'id="dock-refused"' not in r.text
    assert await DockRefusal.count() == 0
