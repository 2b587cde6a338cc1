"""Notifications: the in-app inbox and email through a real local SMTP server (aiosmtpd).
Starting with 'your return window opens in 3 days' (R2)."""
import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from dealers.calendar import remind_window_opening
from portal import clock, notify
from portal.tables import Notification
from tests.helpers import actor_of, client, login, make_org, make_user, test_settings

CHINA = ZoneInfo("Asia/Shanghai")
THREE_DAYS_BEFORE_WEEK_2 = datetime(2026, 12, 5, 9, 0, tzinfo=CHINA)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


async def _people():
    hq = await make_org("hq", region=None)
    js = await make_org("office", parent=hq, region="CN-JS")
    gd = await make_org("office", parent=hq, region="CN-GD")
    people = {
        "clerk": await make_user(js, ["dealer_clerk"], username="js.clerk", email="clerk@js.test",
                                 locale="en"),
        "manager": await make_user(js, ["manager"], username="js.manager", email="boss@js.test"),
        "rm": await make_user(hq, ["manager"], username="rm", email="rm@hq.test", covers=[js]),
        "gd": await make_user(gd, ["dealer_clerk"], username="gd.clerk", email="gd@gd.test"),
    }
    return people


async def test_r2_window_reminder_goes_to_the_region_three_days_before():
    people = await _people()
    with clock.frozen(THREE_DAYS_BEFORE_WEEK_2):
        sent = await remind_window_opening(clock.now())
        assert sent == 3
        again = await remind_window_opening(clock.now())  # re-run: no duplicates
    assert again == 3 and await Notification.count() == 3
    recipients = {n["user"] for n in await Notification.select(Notification.user)}
    assert recipients == {people[k]["id"] for k in ("clerk", "manager", "rm")}
    english = await notify.inbox(actor=await actor_of(people["clerk"]))
    assert english[0]["subject"] == "Your return window opens in 3 days"
    assert "2026-12-08" in english[0]["body"]


async def test_no_reminder_on_other_days():
    await _people()
    with clock.frozen(datetime(2026, 12, 4, 9, 0, tzinfo=CHINA)):
        assert await remind_window_opening(clock.now()) == 0
    assert await Notification.count() == 0


async def test_email_delivered_once_through_real_smtp(smtp):
    controller, handler = smtp
    await _people()
    settings = test_settings(smtp_host="127.0.0.1", smtp_port=controller.port)
    with clock.frozen(THREE_DAYS_BEFORE_WEEK_2):
        await remind_window_opening(clock.now())
        assert await notify.send_pending_emails(settings) == 3
        assert await notify.send_pending_emails(settings) == 0
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == ["boss@js.test", "clerk@js.test",
                                                              "rm@hq.test"]
    english = [m for m in handler.messages if m.rcpt_tos == ["clerk@js.test"]][0]
    assert b"Subject: Your return window opens in 3 days" in english.content


async def test_nothing_sent_without_smtp_and_nothing_lost_when_server_down(smtp):
    controller, handler = smtp
    await _people()
    with clock.frozen(THREE_DAYS_BEFORE_WEEK_2):
        await remind_window_opening(clock.now())
    assert await notify.send_pending_emails(test_settings(smtp_host=None)) == 0
    down = test_settings(smtp_host="127.0.0.1", smtp_port=_free_port())
    assert await notify.send_pending_emails(down) == 0
    assert await Notification.count().where(Notification.emailed_at.is_null()) == 3
    up = test_settings(smtp_host="127.0.0.1", smtp_port=controller.port)
    assert await notify.send_pending_emails(up) == 3
    assert len(handler.messages) == 3


async def test_inbox_page_marks_read_only_for_its_owner():
    people = await _people()
    await notify.notify(user_ids=[people["clerk"]["id"]], kind="test", dedupe_key="k",
                        subject="Hello", body="Body")
    note = await Notification.select().first()
    async with client() as other:
        token = await login(other, "gd.clerk")
        r = await other.post(f"/inbox/{note['id']}/read", data={"_csrf": token})
        assert r.status_code == 404
    async with client() as c:
        token = await login(c, "js.clerk")
        page = await c.get("/inbox")
        assert "Hello" in page.text
        r = await c.post(f"/inbox/{note['id']}/read", data={"_csrf": token},
                         headers={"HX-Request": "true"})
        assert r.status_code == 200 and 'id="inbox"' in r.text and "<html" not in r.text
    assert (await Notification.select().first())["read_at"] is not None
