"""Notifications (portal.notify): 'your return window opens in 3 days' (R2/R3) in each user's
language, the in-app inbox, and email delivered through a real local SMTP server (aiosmtpd):
once per notification, nothing sent without SMTP, nothing lost while the server is down."""
import socket
from datetime import UTC, datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from babel.messages.pofile import read_po

from dealers.calendar import remind_window_opening
from portal import clock, notify
from portal.db import raw_fetch
from portal.i18n import LOCALE_DIR
from portal.tables import Notification
from tests.helpers import actor_of, client, login, make_org, make_user
from tests.helpers import test_settings as settings_with

CHINA = ZoneInfo("Asia/Shanghai")
UTC = UTC
THREE_DAYS_BEFORE_WEEK_2 = datetime(2026, 12, 5, 9, 0, tzinfo=CHINA)  # week 2 opens Dec 8
SUBJECT = "Your return window opens in 3 days"


def _zh_catalog(msgid: str) -> str | None:
    """The zh_CN translation straight from the .po file; None when absent or fuzzy."""
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    message = catalog.get(msgid)
    if message is None or message.fuzzy or not message.string:
        return None
    return message.string


class Collector:
    """aiosmtpd handler: keeps every message it receives, parsed."""

    def __init__(self):
        self.received = []
        self.refuse: set[str] = set()  # addresses answered 550 at RCPT
        self.data_calls = 0
        self.fail_data_calls: set[int] = set()  # answer 421 (closing) to these DATA commands

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.data_calls in self.fail_data_calls:
            return "421 4.3.2 Service shutting down"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append({"rcpt": list(envelope.rcpt_tos), "from": envelope.mail_from,
                              "to": str(parsed["To"]), "subject": str(parsed["Subject"]),
                              "body": parsed.get_content()})
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.port = _free_port()
        self.handler = Collector()
        self.controller: Controller | None = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self):
        return settings_with(smtp_host="127.0.0.1", smtp_port=self.port)


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _network():
    hq = await make_org("hq", region=None)
    js = await make_org("office", parent=hq, region="CN-JS")  # week 2
    gd = await make_org("office", parent=hq, region="CN-GD")  # week 3
    store = await make_org("store", parent=js, region="CN-JS")
    return {
        "hq": hq, "js": js, "gd": gd,
        "clerk": await make_user(js, ["dealer_clerk"], username="js.clerk",
                                 email="clerk@js.test", locale="en"),
        "manager": await make_user(js, ["manager"], username="js.manager",
                                   email="boss@js.test", locale="zh_CN"),
        "rm": await make_user(hq, ["manager"], username="rm", email="rm@hq.test", covers=[js]),
        "gd_clerk": await make_user(gd, ["dealer_clerk"], username="gd.clerk",
                                    email="gd@gd.test", locale="en"),
        "gd_rm": await make_user(hq, ["manager"], username="gd.rm", email="gdrm@hq.test",
                                 covers=[gd]),
        "store_clerk": await make_user(store, ["dealer_clerk"], username="store.clerk",
                                       email="store@js.test"),
        "hq_cs": await make_user(hq, ["hq_cs"], username="cs", email="cs@hq.test"),
    }


async def _remind(at: datetime = THREE_DAYS_BEFORE_WEEK_2) -> int:
    with clock.frozen(at):
        return await remind_window_opening(clock.now())


async def _recipients() -> set[int]:
    return {n["user"] for n in await Notification.select(Notification.user)}


# --- R2: who is reminded, in which language -----------------------------------------------------

async def test_r2_reminder_goes_to_the_office_and_its_regional_manager_only():
    people = await _network()
    assert await _remind() == 3
    assert await _recipients() == {people[k]["id"] for k in ("clerk", "manager", "rm")}
    rows = await Notification.select().order_by(Notification.id)
    assert {r["kind"] for r in rows} == {"window_opens"}
    assert {r["dedupe_key"] for r in rows} == {"window-2026-12"}
    assert all(r["read_at"] is None and r["emailed_at"] is None for r in rows)


async def test_r2_each_inbox_has_the_reminder_in_the_users_language():
    people = await _network()
    await _remind()
    english = await notify.inbox(actor=await actor_of(people["clerk"]))
    assert len(english) == 1
    assert english[0]["subject"] == SUBJECT
    assert "2026-12-08" in english[0]["body"] and "2026-12-14" in english[0]["body"]
    zh_subject = _zh_catalog(SUBJECT)
    for key in ("manager", "rm"):
        chinese = await notify.inbox(actor=await actor_of(people[key]))
        assert len(chinese) == 1
        assert chinese[0]["subject"]
        if zh_subject is not None:
            assert chinese[0]["subject"] == zh_subject
        assert "2026-12-08" in chinese[0]["body"]
    assert await notify.inbox(actor=await actor_of(people["gd_clerk"])) == []
    assert await notify.unread_count(actor=await actor_of(people["clerk"])) == 1


async def test_r2_running_the_reminder_twice_makes_no_duplicates():
    await _network()
    await _remind()
    await _remind()
    await _remind(datetime(2026, 12, 5, 23, 59, tzinfo=CHINA))  # later the same China day
    assert await Notification.count() == 3


async def test_r3_reminder_day_is_judged_in_china_time():
    """2026-12-04 16:30 UTC is already 5 December 00:30 in China: 3 days before week 2."""
    people = await _network()
    assert await _remind(datetime(2026, 12, 4, 15, 59, tzinfo=UTC)) == 0  # still Dec 4 in China
    assert await Notification.count() == 0
    assert await _remind(datetime(2026, 12, 4, 16, 30, tzinfo=UTC)) == 3
    assert people["clerk"]["id"] in await _recipients()


@pytest.mark.parametrize("day", [4, 6, 7, 8])
async def test_r2_no_reminder_on_other_days(day):
    await _network()
    assert await _remind(datetime(2026, 12, day, 9, tzinfo=CHINA)) == 0
    assert await Notification.count() == 0


async def test_r2_week_3_region_reminded_three_days_before_the_15th():
    people = await _network()
    assert await _remind(datetime(2026, 12, 12, 9, tzinfo=CHINA)) == 2
    assert await _recipients() == {people["gd_clerk"]["id"], people["gd_rm"]["id"]}


@pytest.mark.parametrize(("at", "key"), [
    (datetime(2026, 11, 28, 9, tzinfo=CHINA), "window-2026-12"),
    (datetime(2026, 12, 29, 9, tzinfo=CHINA), "window-2027-01"),  # year roll
    (datetime(2027, 2, 26, 9, tzinfo=CHINA), "window-2027-03"),  # Feb 2027 has 28 days
    (datetime(2028, 2, 27, 9, tzinfo=CHINA), "window-2028-03"),  # leap: 28, 29, then Mar 1
], ids=["nov-28", "dec-29", "feb-26-2027", "feb-27-2028"])
async def test_r3_week_1_reminder_three_china_days_before_the_first_of_next_month(at, key):
    hq = await make_org("hq", region=None)
    bj = await make_org("office", parent=hq, region="CN-BJ")  # week 1
    clerk = await make_user(bj, ["dealer_clerk"], username="bj.clerk", locale="en")
    assert await _remind(at) == 1
    row = await Notification.select().first()
    assert (row["user"], row["dedupe_key"]) == (clerk["id"], key)
    first = f"{key[7:]}-01"
    assert first in row["body"] and f"{key[7:]}-07" in row["body"]


async def test_r2_inactive_users_are_not_reminded():
    people = await _network()
    from portal.tables import User

    await User.update({User.active: False}).where(
        User.id.is_in([people["manager"]["id"], people["rm"]["id"]]))
    assert await _remind() == 1
    assert await _recipients() == {people["clerk"]["id"]}


# --- email through a real SMTP server -----------------------------------------------------------

async def test_r2_email_delivered_once_per_notification(smtp):
    people = await _network()
    await _remind()
    assert await notify.send_pending_emails(smtp.settings()) == 3
    received = smtp.handler.received
    assert sorted(m["to"] for m in received) == ["boss@js.test", "clerk@js.test", "rm@hq.test"]
    assert sorted(r for m in received for r in m["rcpt"]) == [
        "boss@js.test", "clerk@js.test", "rm@hq.test"]
    by_to = {m["to"]: m for m in received}
    assert by_to["clerk@js.test"]["subject"] == SUBJECT
    assert "2026-12-08" in by_to["clerk@js.test"]["body"]
    assert by_to["clerk@js.test"]["body"].rstrip().endswith(smtp.settings().base_url + "/")
    zh_subject = _zh_catalog(SUBJECT)
    for address in ("boss@js.test", "rm@hq.test"):
        assert by_to[address]["subject"]
        if zh_subject is not None:
            assert by_to[address]["subject"] == zh_subject
    assert all(m["from"] == "portal@localhost" for m in received)
    assert await Notification.count().where(Notification.emailed_at.is_null()) == 0

    # A second run sends nothing; nor does a re-run of the reminder.
    assert await notify.send_pending_emails(smtp.settings()) == 0
    await _remind()
    assert await notify.send_pending_emails(smtp.settings()) == 0
    assert len(received) == 3
    assert people["gd_clerk"]["id"] not in await _recipients()


async def test_users_without_an_address_get_the_inbox_only(smtp):
    hq = await make_org("hq", region=None)
    js = await make_org("office", parent=hq, region="CN-JS")
    silent = await make_user(js, ["dealer_clerk"], username="silent", email="")
    await make_user(js, ["manager"], username="loud", email="loud@js.test")
    assert await _remind() == 2
    assert await notify.send_pending_emails(smtp.settings()) == 1
    assert [m["to"] for m in smtp.handler.received] == ["loud@js.test"]
    assert len(await notify.inbox(actor=await actor_of(silent))) == 1


async def test_nothing_sent_without_smtp_configured(smtp):
    await _network()
    await _remind()
    assert await notify.send_pending_emails(settings_with(smtp_host=None)) == 0
    assert smtp.handler.received == []
    assert await Notification.count().where(Notification.emailed_at.is_null()) == 3


async def test_nothing_lost_while_the_smtp_server_is_down(smtp):
    await _network()
    await _remind()
    smtp.stop()
    assert await notify.send_pending_emails(smtp.settings()) == 0
    assert await Notification.count().where(Notification.emailed_at.is_null()) == 3
    assert smtp.handler.received == []
    smtp.start()  # the server is back on the same port: a later run delivers everything
    assert await notify.send_pending_emails(smtp.settings()) == 3
    assert len(smtp.handler.received) == 3
    assert await Notification.count().where(Notification.emailed_at.is_null()) == 0
    assert await notify.send_pending_emails(smtp.settings()) == 0
    assert len(smtp.handler.received) == 3


async def test_a_refused_recipient_does_not_block_the_others(smtp):
    await _network()
    await _remind()
    smtp.handler.refuse = {"boss@js.test"}
    assert await notify.send_pending_emails(smtp.settings()) == 2
    assert sorted(m["to"] for m in smtp.handler.received) == ["clerk@js.test", "rm@hq.test"]
    pending = await Notification.select(Notification.user.email.as_alias("email")).where(
        Notification.emailed_at.is_null())
    assert [p["email"] for p in pending] == ["boss@js.test"]  # kept, retried next run
    smtp.handler.refuse = set()
    assert await notify.send_pending_emails(smtp.settings()) == 1
    assert sorted(m["to"] for m in smtp.handler.received) == [
        "boss@js.test", "clerk@js.test", "rm@hq.test"]


async def test_a_failure_part_way_keeps_what_was_delivered_and_resends_nothing(smtp):
    await _network()
    await _remind()
    first_to = (await raw_fetch(
        "SELECT u.email FROM notification n JOIN portal_user u ON u.id = n.\"user\" "
        "ORDER BY n.id LIMIT 1"))[0]["email"]
    # The server takes the first message, then closes the connection on the second.
    smtp.handler.fail_data_calls = {2}
    assert await notify.send_pending_emails(smtp.settings()) == 1
    assert [m["to"] for m in smtp.handler.received] == [first_to]
    assert await Notification.count().where(Notification.emailed_at.is_null()) == 2
    assert await notify.send_pending_emails(smtp.settings()) == 2
    tos = [m["to"] for m in smtp.handler.received]
    assert sorted(tos) == ["boss@js.test", "clerk@js.test", "rm@hq.test"]  # none twice


async def test_run_jobs_once_reminds_and_emails(smtp):
    from portal.app import run_jobs_once

    await _network()
    with clock.frozen(THREE_DAYS_BEFORE_WEEK_2):
        await run_jobs_once(smtp.settings())
        await run_jobs_once(smtp.settings())
    assert await Notification.count() == 3
    assert len(smtp.handler.received) == 3


# --- the in-app inbox through the web -----------------------------------------------------------

async def test_inbox_page_shows_the_reminder_and_marks_it_read_for_its_owner_only():
    people = await _network()
    await _remind()
    note = await Notification.select().where(
        Notification.user == people["clerk"]["id"]).first()

    async with client() as other:
        token = await login(other, "gd.clerk")
        refused = await other.post(f"/inbox/{note['id']}/read", data={"_csrf": token})
        assert refused.status_code == 404
        page = await other.get("/inbox")
        assert SUBJECT not in page.text
    assert (await Notification.select().where(Notification.id == note["id"]).first()
            )["read_at"] is None

    async with client() as c:
        token = await login(c, "js.clerk")
        page = await c.get("/inbox")
        assert page.status_code == 200
        assert SUBJECT in page.text
        assert f'action="/inbox/{note["id"]}/read"' in page.text
        no_token = await c.post(f"/inbox/{note['id']}/read", data={})
        assert no_token.status_code == 403
        assert (await Notification.select().where(Notification.id == note["id"]).first()
                )["read_at"] is None
        done = await c.post(f"/inbox/{note['id']}/read", data={"_csrf": token})
        assert done.status_code == 303
        assert done.headers["location"] == "/inbox"
        page = await c.get("/inbox")
        assert SUBJECT in page.text
        assert f'action="/inbox/{note["id"]}/read"' not in page.text
    assert (await Notification.select().where(Notification.id == note["id"]).first()
            )["read_at"] is not None
    assert await notify.unread_count(actor=await actor_of(people["clerk"])) == 0
    # The others' copies stay unread.
    assert await notify.unread_count(actor=await actor_of(people["manager"])) == 1
