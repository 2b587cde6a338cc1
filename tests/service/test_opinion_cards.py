"""Opinion cards (R33): issued at the visit, only the token's hash stored; the public page shows
the service and nothing personal, takes scores 1-5 once (a link used twice changes nothing and
says so, two submissions at once: one wins), a token opens its own call's card and no other,
an unknown link answers 404 revealing nothing, failed lookups are limited per IP; the point's
device mode records "tablet", the link "link"."""
from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta

import pytest

from portal import clock
from portal.db import raw_fetch
from portal.errors import RuleViolation
from service import opinion_cards
from service.inputs import CardIn
from tests.helpers import client, csrf_from, login
from tests.service.test_calls import NOW, call_world, record, visit

GOOD = {"attitude": "5", "skill": "4", "punctuality": "3", "comments": "很好"}


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


async def visited_call(w, who: str = "staff_a1", **call) -> tuple[int, str]:
    call_id = await record(w, **call)
    return call_id, await visit(w, call_id, NOW + timedelta(hours=2), who=who)


async def card_of(call_id: int) -> dict:
    return (await raw_fetch("SELECT * FROM opinion_card WHERE service_call = $1", call_id))[0]


async def fill(c, token: str, data: dict):
    page = await c.get(f"/card/{token}")
    csrf = csrf_from(page.text) if 'name="_csrf"' in page.text else ""
    return await c.post(f"/card/{token}", data={"_csrf": csrf, **data})


async def test_r33_only_the_tokens_hash_is_stored_and_the_token_is_long_and_random():
    w = await call_world()
    call_id, token = await visited_call(w)
    card = await card_of(call_id)
    assert card["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 32
    dump = str(await raw_fetch("SELECT * FROM opinion_card")) + str(
        await raw_fetch("SELECT * FROM audit_entry"))
    assert token not in dump


async def test_r33_a_link_used_twice_is_told_plainly_and_changes_nothing():
    w = await call_world()
    call_id, token = await visited_call(w)
    async with client() as c:  # the customer, signed out, on their phone
        page = await c.get(f"/card/{token}")
        assert page.status_code == 200 and 'id="card-form"' in page.text
        r = await fill(c, token, GOOD)
        assert r.status_code == 200 and 'id="card-thanks"' in r.text
        again = await fill(c, token, {"attitude": "1", "skill": "1", "punctuality": "1"})
        assert again.status_code == 409 and 'id="card-filled"' in again.text
        assert 'id="card-form"' not in again.text
        reopened = await c.get(f"/card/{token}")
        assert reopened.status_code == 200 and 'id="card-filled"' in reopened.text
        assert "此意见卡已经填写过" in reopened.text
    card = await card_of(call_id)
    assert (card["attitude"], card["skill"], card["punctuality"], card["comments"],
            card["channel"]) == (5, 4, 3, "很好", "link")
    assert len(await raw_fetch("SELECT * FROM audit_entry WHERE action = 'card_filled'")) == 1


async def test_r33_two_submissions_at_once_one_wins():
    w = await call_world()
    call_id, token = await visited_call(w)
    results = await asyncio.gather(
        *[opinion_cards.submit_card(token=token, data=CardIn(n, n, n)) for n in (2, 5)],
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"]
    card = await card_of(call_id)
    assert card["attitude"] == card["skill"] == card["punctuality"] in (2, 5)


async def test_r33_a_cards_token_opens_only_its_own_call_and_nothing_personal():
    w = await call_world()
    mine, my_token = await visited_call(w, product_id=w.products["ceiling"], name="李明",
                                        phone="13811112222", address="鼓楼路 5 号")
    other, other_token = await visited_call(w, "staff_a2", area="秦淮区",
                                            product_id=w.products["tube"])
    async with client() as c:
        page = (await c.get(f"/card/{my_token}")).text
        assert "维修点-A1" in page and "CEILING-1" in page
        assert "维修点-A2" not in page and "TUBE-1" not in page
        for personal in ("李明", "13811112222", "1111", "鼓楼路", "吸顶灯不亮", "SC26"):
            assert personal not in page
        assert (await fill(c, my_token, GOOD)).status_code == 200
    assert (await card_of(mine))["submitted_at"] is not None
    assert (await card_of(other))["submitted_at"] is None  # untouched
    async with client() as c:
        assert 'id="card-form"' in (await c.get(f"/card/{other_token}")).text


@pytest.mark.parametrize("field_name, value", [
    ("attitude", "0"), ("attitude", "6"), ("skill", "-1"), ("punctuality", "10"),
    ("skill", "x"), ("punctuality", ""), ("attitude", "2147483648")])
async def test_r33_scores_outside_1_to_5_are_refused(field_name, value):
    w = await call_world()
    call_id, token = await visited_call(w)
    async with client() as c:
        r = await fill(c, token, {**GOOD, field_name: value})
        assert r.status_code == 422 and f'id="error-{field_name}"' in r.text
        assert 'id="card-form"' in r.text  # the same card, to correct
    assert (await card_of(call_id))["submitted_at"] is None


async def test_r33_the_database_refuses_scores_outside_1_to_5_too():
    w = await call_world()
    call_id, _ = await visited_call(w)
    with pytest.raises(Exception, match="opinion_card_scores"):
        await raw_fetch("UPDATE opinion_card SET attitude = 6, skill = 5, punctuality = 5, "
                        "submitted_at = now() WHERE service_call = $1", call_id)


async def test_r33_an_unknown_link_is_404_and_reveals_no_more_than_a_used_one():
    w = await call_world()
    call_id, token = await visited_call(w)
    await opinion_cards.submit_card(token=token, data=CardIn(5, 5, 5))
    async with client() as c:
        used = await c.get(f"/card/{token}")
        unknown = await c.get("/card/" + "x" * 32)
        assert unknown.status_code == 404 and 'id="card-unknown"' in unknown.text
        posted = await c.post("/card/" + "y" * 32, data={"_csrf": csrf_from(unknown.text),
                                                          **GOOD})
        assert posted.status_code == 404 and 'id="card-unknown"' in posted.text
        for page in (used.text, unknown.text):
            assert "维修点-A1" not in page and "card-service" not in page


async def test_r33_failed_lookups_are_limited_per_ip():
    w = await call_world()
    _, token = await visited_call(w)
    async with client() as c:
        for n in range(opinion_cards.CARD_FAILURES_MAX):
            assert (await c.get(f"/card/wrong{n}")).status_code == 404
        blocked = await c.get(f"/card/{token}")  # even a good link waits now
        assert blocked.status_code == 429 and 'id="card-throttled"' in blocked.text
        with clock.frozen(NOW + timedelta(seconds=opinion_cards.CARD_FAILURE_WINDOW + 1)):
            assert (await c.get(f"/card/{token}")).status_code == 200
    assert await opinion_cards.lookups_blocked("203.0.113.9") is False  # another IP is not held


async def test_r33_the_staff_hand_over_a_link_and_qr_code_and_the_old_link_stops():
    w = await call_world()
    call_id, first = await visited_call(w)
    async with client() as c:
        csrf = await login(c, "staff_a1b")
        r = await c.post(f"/service-calls/{call_id}/card/link", data={"_csrf": csrf})
        assert r.status_code == 200 and 'id="card-qr"' in r.text and "<svg" in r.text
        url = re.search(r'id="card-url">([^<]+)<', r.text).group(1)
        assert url.startswith("https://portal.test/card/")
        assert (await c.get(f"/card/{first}")).status_code == 404  # replaced
        assert (await c.get(url.replace("https://portal.test", ""))).status_code == 200
    card = await card_of(call_id)
    assert card["channel"] == "link" and card["submitted_at"] is None


async def test_r33_tablet_mode_records_tablet_and_leads_back_to_the_call():
    w = await call_world()
    call_id, _ = await visited_call(w)
    async with client() as c:
        csrf = await login(c, "staff_a1b")
        r = await c.post(f"/service-calls/{call_id}/card/tablet", data={"_csrf": csrf})
        assert r.status_code == 303 and r.headers["location"].startswith("/card/")
        page = await c.get(r.headers["location"])
        assert 'id="card-form"' in page.text and 'class="score-choice"' in page.text
        # handed to the customer: the staff's navigation, name and sign-out are not on it
        assert 'class="main-nav"' not in page.text and 'id="logout"' not in page.text
        done = await c.post(r.headers["location"], data={"_csrf": csrf, **GOOD})
        assert done.status_code == 200 and f'href="/service-calls/{call_id}"' in done.text
        call = await c.get(f"/service-calls/{call_id}")
        assert 'id="score-attitude">5 / 5' in call.text and "在维修点设备上" in call.text
        refused = await c.post(f"/service-calls/{call_id}/card/link", data={"_csrf": csrf})
        assert refused.status_code == 422 and "顾客已填写意见卡" in refused.text
    assert (await card_of(call_id))["channel"] == "tablet"
    with pytest.raises(RuleViolation):
        await opinion_cards.hand_over(actor=w.actors["staff_a1"], call_id=call_id,
                                      channel="link")


async def test_r33_no_card_before_the_visit():
    w = await call_world()
    call_id = await record(w)
    async with client() as c:
        csrf = await login(c, "staff_a1")
        r = await c.post(f"/service-calls/{call_id}/card/link", data={"_csrf": csrf})
        assert r.status_code == 409
    assert await raw_fetch("SELECT * FROM opinion_card") == []
