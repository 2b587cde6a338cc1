"""R32, the consumer's side (no account): the public form at /complain and the status page at
/complain/status. A signed-out CSRF token as the sign-in form has; a reference number that is
not guessable; the status shows only that complaint, in plain words, with the answer given;
a wrong reference and a wrong phone get the same answer; both forms are rate-limited per
client IP in the database (429 with a clear message)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from portal import clock
from portal.app import create_app
from portal.clock import CHINA
from portal.db import raw_fetch
from service import complaint_rules, complaint_steps, complaints
from service.inputs import ComplaintJudgeIn
from tests.helpers import client, csrf_from, test_settings
from tests.portal.test_login_hardening import _Peer
from tests.service.complaint_factory import public_in, world

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=CHINA)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen(NOW):
        yield


def _result(html: str) -> str:
    """The status page's answer, as a person reads it (tags and spaces dropped)."""
    match = re.search(r'<section class="card" id="status-result".*?</section>', html, re.S)
    assert match, "no result section"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


async def _submit(c, **fields) -> object:
    page = await c.get("/complain")
    assert page.status_code == 200
    form = {"name": "李先生", "phone": "139-0000-1111", "about": "other",
            "description": "维修点态度很差。", "asks": "道歉。", "_csrf": csrf_from(page.text)}
    form.update(fields)
    return await c.post("/complain", data=form)


async def _lookup(c, reference: str, phone: str):
    page = await c.get("/complain/status")
    return await c.post("/complain/status", data={"reference": reference, "phone": phone,
                                                  "_csrf": csrf_from(page.text)})


async def test_r32_a_consumer_complains_and_gets_an_unguessable_reference():
    w = await world()
    async with client() as c:
        r = await _submit(c, about="repair_point", about_org=str(w.orgs["point"]["id"]))
        assert r.status_code == 200, r.text
        reference = re.search(r'id="reference">(TS\w+)<', r.text).group(1)
    assert complaint_rules.is_reference(reference)
    row = (await raw_fetch("SELECT * FROM complaint WHERE reference = $1", reference))[0]
    assert (row["organisation"], row["channel"], row["phone"]) == (w.orgs["hq"]["id"], "web",
                                                                   "13900001111")
    customer = await raw_fetch("SELECT name, phone, organisation FROM customer")
    assert customer == [{"name": "李先生", "phone": "13900001111",
                         "organisation": w.orgs["hq"]["id"]}]


async def test_r32_the_public_form_needs_its_csrf_token_and_says_what_is_wrong():
    await world()
    async with client() as c:
        r = await c.post("/complain", data={"name": "x", "phone": "13900001111",
                                            "about": "other", "description": "x"})
        assert r.status_code == 403
        r = await _submit(c, phone="12", description="")
        assert r.status_code == 422
        assert 'id="error-phone"' in r.text and 'id="error-description"' in r.text
        assert 'value="李先生"' in r.text  # what was typed is kept
    assert await raw_fetch("SELECT id FROM complaint") == []


async def test_r32_status_shows_only_that_complaint_in_plain_words():
    w = await world()
    mine = await complaints.record_public_complaint(data=public_in(phone="13900001111"))
    other = await complaints.record_public_complaint(data=public_in(
        phone="13700002222", name="王女士", description="灯管三天就坏了。"))
    async with client() as c:
        c.headers["Accept-Language"] = "en"
        r = await _lookup(c, mine["reference"].lower(), "139 0000 1111")  # as people type it
        assert r.status_code == 200
        text = _result(r.text)
        assert mine["reference"] in text and "looking into it" in text
        assert other["reference"] not in r.text and "王女士" not in r.text
        assert "李先生" not in r.text  # not even the consumer's own name is shown back
    await complaint_steps.judge_complaint(
        actor=w.actors["cs"], complaint_id=mine["id"], data=ComplaintJudgeIn(
            stands=False, kind="service", reason="经核实维修点当日未营业。", told_how="电话"))
    async with client() as c:
        text = _result((await _lookup(c, mine["reference"], "13900001111")).text)
    assert "经核实维修点当日未营业。" in text  # the answer given


async def test_r32_a_reference_never_reveals_another_consumers_complaint():
    """A wrong phone with a real reference answers exactly as a reference that does not
    exist: the same page, the same words."""
    await world()
    mine = await complaints.record_public_complaint(data=public_in(phone="13900001111"))
    other = await complaints.record_public_complaint(data=public_in(phone="13700002222"))
    async with client() as c:
        answers = {}
        for case, reference, phone in (
                ("their reference, my phone", other["reference"], "13900001111"),
                ("my reference, a wrong phone", mine["reference"], "13900009999"),
                ("no such reference", "TS" + "A" * 8, "13900001111"),
                ("not a reference", "nonsense", "13900001111")):
            r = await _lookup(c, reference, phone)
            assert r.status_code == 200, case
            answers[case] = _result(r.text).replace(reference, "")
    assert len(set(answers.values())) == 1, answers
    assert "found no complaint" in next(iter(answers.values())) or "未找到" in next(
        iter(answers.values()))


@pytest.mark.parametrize("action, path", [("status", "/complain/status"),
                                          ("complain", "/complain")])
async def test_r32_public_forms_are_rate_limited_per_ip(action, path):
    await world()
    limit, seconds = complaint_rules.PUBLIC_LIMITS[action]
    async with client() as c:
        c.headers["Accept-Language"] = "en"
        for _ in range(limit):
            r = await (_lookup(c, "TSAAAAAAAA", "13900001111") if action == "status"
                       else _submit(c, phone="1"))  # malformed forms count too
            assert r.status_code in (200, 422)
        r = await (_lookup(c, "TSAAAAAAAA", "13900001111") if action == "status"
                   else _submit(c))
        assert r.status_code == 429
        assert "Too many requests from your connection" in r.text
        assert 'id="throttled"' in r.text
    assert await raw_fetch("SELECT id FROM complaint") == []  # the refused one was not recorded
    # another address is not held up; the same one is let in again after the window
    assert await complaints.admit_public_attempt(action, "203.0.113.9")
    assert not await complaints.admit_public_attempt(action, "testclient")
    with clock.frozen(NOW + timedelta(seconds=seconds + 1)):
        assert await complaints.admit_public_attempt(action, "testclient")


@pytest.mark.parametrize("trusted, counted_apart", [(("10.0.0.0/8",), True), ((), False)])
async def test_r32_rate_limit_reads_the_client_ip_as_login_does(trusted, counted_apart):
    """Behind a trusted proxy the client's address is the forwarded one, so two consumers
    behind it are counted apart; from an untrusted peer X-Forwarded-For is ignored (the peer
    is counted, whatever the header claims)."""
    await world()
    limit, _ = complaint_rules.PUBLIC_LIMITS["status"]
    app = create_app(test_settings(trusted_proxies=trusted))
    async with AsyncTestClient(app=_Peer(app, "10.0.0.2"), base_url="https://portal.test") as c:
        statuses = []
        for n in range(limit + 1):
            page = await c.get("/complain/status")
            r = await c.post("/complain/status", headers={"X-Forwarded-For": f"198.51.100.{n}"},
                             data={"reference": "TSAAAAAAAA", "phone": "13900001111",
                                   "_csrf": csrf_from(page.text)})
            statuses.append(r.status_code)
    assert statuses == [200] * (limit + 1) if counted_apart else [200] * limit + [429]
    ips = {r["ip"] for r in await raw_fetch("SELECT ip FROM public_attempt")}
    assert ips == ({f"198.51.100.{n}" for n in range(limit + 1)} if counted_apart
                   else {"10.0.0.2"})
