"""`portal demo` loads a believable network once: every HQ role, about 20 offices and agents
over the three calendar weeks plus Jilin, stores, repair points with deposits and stock, and a
history played through the services up to *today*, whatever today is: return batches in every
state, spares work waiting for each role. The README walkthrough's first steps are possible on
any day of the month (R5: days 22 to the end belong to no window, so Jiangsu's special
approval, R7, is the way)."""
import socket
from datetime import datetime, timedelta

import pytest

from dealers import batch_lines, batches, queries
from dealers.demo import open_window_offices
from portal import auth, clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from portal.settings import Settings, served_base_url
from portal.tables import Organisation, User
from tests.helpers import client, login

CHINA = clock.CHINA
# day 1, 10, 20, 28 (also February's last), a 31-day month's last day, and a January (the
# year turns back for last month)
DAYS = [datetime(2027, 3, 1, 9, 30, tzinfo=CHINA), datetime(2026, 12, 10, 15, 0, tzinfo=CHINA),
        datetime(2026, 12, 20, 11, 0, tzinfo=CHINA), datetime(2027, 2, 28, 16, 0, tzinfo=CHINA),
        datetime(2026, 12, 31, 20, 0, tzinfo=CHINA), datetime(2027, 1, 14, 23, 50, tzinfo=CHINA)]


async def _actor(username: str):
    row = (await raw_fetch("SELECT id FROM portal_user WHERE username = $1", username))[0]
    return await auth.load_actor(row["id"])


async def test_demo_network_loads_once_and_logins_work():
    assert await _load_demo() is True
    assert await _load_demo() is False  # idempotent: the second run changes nothing
    kinds = {r["kind"]: r["n"] for r in await raw_fetch(
        "SELECT kind, count(*) AS n FROM organisation GROUP BY kind")}
    assert kinds["hq"] == 1 and kinds["office"] + kinds["agent"] == 21
    assert kinds["repair_point"] == 4 and kinds["store"] >= 6
    roles = {r for row in await User.select(User.roles) for r in row["roles"]}
    assert {"hq_cs", "hq_logistics", "hq_tech", "hq_finance", "hq_admin", "auditor"} <= roles
    weeks = {r["week"] for r in await raw_fetch(
        "SELECT c.week FROM organisation o JOIN calendar_assignment c ON c.region = o.region "
        "WHERE o.kind IN ('office', 'agent')")}
    assert weeks == {1, 2, 3}
    assert await Organisation.exists().where(Organisation.name == "吉林办事处")
    paid = await raw_fetch("SELECT count(*) AS n FROM deposit d WHERE shipped_at IS NOT NULL")
    assert paid[0]["n"] == 3
    user = await User.select(User.id, User.password_hash).where(User.username == "js.clerk").first()
    assert auth.verify_password(user["password_hash"], "demo-pass-2026")
    # names come in both languages
    assert not await raw_fetch("SELECT 1 FROM organisation WHERE name_en = '' OR name = ''")


async def _statuses() -> dict[str, int]:
    return {r["status"]: r["n"] for r in await raw_fetch(
        "SELECT status, count(*) AS n FROM return_batch GROUP BY status")}


@pytest.mark.parametrize("moment", DAYS, ids=lambda d: d.strftime("%Y-%m-%d"))
async def test_demo_holds_every_state_and_the_walkthrough_starts_on_any_day(moment):
    with clock.frozen(moment):
        assert await _load_demo() is True
        now = clock.now()
        today = clock.china_today()
        this_month = today.replace(day=1)
        # every batch state, spread over offices
        statuses = await _statuses()
        for status in ("draft", "submitted", "signed", "approved", "dispatched", "received",
                       "dispositioned", "closed", "refused"):
            assert statuses.get(status), (status, statuses)
        offices = (await raw_fetch("SELECT count(DISTINCT organisation) AS n FROM return_batch"))[0]
        assert offices["n"] >= 10
        hq = await _actor("hq.cs")
        counts = await queries.queue_counts(actor=hq, now=now)
        assert counts["to_sign"] and counts["to_approve"] and counts["in_transit"]
        assert counts["to_receive"] >= 2 and counts["to_decide"] and counts["breaching"] == 1
        # each badge counts exactly its list (the counts read open work only, issue 17 §3)
        for queue, count in counts.items():
            listed = await queries.list_batches(actor=hq, now=now, queue=queue, limit=10_000)
            assert len(listed) == count, queue
        # every date agrees with the rules: nothing happened after today, every regular batch
        # was submitted inside its office's window (R5), breaches only where meant (R12, R14)
        late = await raw_fetch(
            "SELECT number FROM return_batch WHERE greatest(created_at, submitted_at, signed_at, "
            "approved_at, arrived_at, received_at, decided_at) > $1", now)
        assert not late
        assert not await raw_fetch("SELECT 1 FROM audit_entry WHERE at > $1", now)
        for b in await raw_fetch(
                "SELECT b.submitted_at, b.month, c.week FROM return_batch b JOIN organisation o "
                "ON o.id = b.organisation JOIN calendar_assignment c ON c.region = o.region "
                "WHERE b.kind = 'regular' AND b.submitted_at IS NOT NULL"):
            day = clock.china_today(b["submitted_at"])
            assert day.replace(day=1) == b["month"]
            assert (b["week"] - 1) * 7 < day.day <= b["week"] * 7
        # the whole list (the control tower's history fills more than a page), not its first page
        breaching = [b for b in await queries.list_batches(actor=hq, now=now, limit=10_000)
                     if b["breaching"]]
        assert [b["org_name_en"] for b in breaching] == ["Shandong Office"]
        # a count difference with an extra line waits for CS; a receipt has all three outcomes
        diff = await raw_fetch("SELECT b.number FROM return_batch b JOIN return_line l "
                               "ON l.batch = b.id WHERE b.status = 'received' AND (l.extra OR "
                               "l.received_qty <> l.quantity)")
        assert diff
        receipt = (await raw_fetch(
            "SELECT sum(exchanged_qty) AS e, sum(credited_qty) AS c, sum(rejected_qty) AS r, "
            "count(reject_reason) AS reasons FROM return_line l JOIN return_batch b "
            "ON b.id = l.batch JOIN organisation o ON o.id = b.organisation "
            "WHERE o.name_en = 'Jiangsu Office' AND b.status = 'dispositioned'"))[0]
        assert receipt["e"] and receipt["c"] and receipt["r"] and receipt["reasons"]
        # the special batch (R7) and Jilin's request waiting for CS
        assert await raw_fetch("SELECT 1 FROM return_batch WHERE kind = 'special' "
                               "AND status = 'submitted'")
        assert await raw_fetch("SELECT 1 FROM special_approval WHERE status = 'requested'")
        # --- the README walkthrough, first steps -------------------------------------------
        clerk = await _actor("js.clerk")
        draft = await raw_fetch("SELECT id, month FROM return_batch WHERE organisation = $1 "
                                "AND status = 'draft' AND kind = 'regular'", clerk.organisation_id)
        assert draft  # this month's draft, or next month's once the window has closed (R5)
        expected = this_month if today.day < 15 else clock.next_month(today)
        assert draft[0]["month"] == expected
        # js.clerk starts the special batch the demo granted, adds a line and submits: any day
        approval = (await raw_fetch(
            "SELECT s.id FROM special_approval s WHERE s.organisation = $1 AND s.status = "
            "'approved' AND NOT EXISTS (SELECT 1 FROM return_batch b WHERE b.special_approval "
            "= s.id)", clerk.organisation_id))[0]["id"]
        batch_id = await batches.create_draft(actor=clerk, special_approval_id=approval)
        product = (await raw_fetch("SELECT id FROM product WHERE model = 'XD-2401'"))[0]["id"]
        reason = (await raw_fetch("SELECT id FROM reason_code WHERE code = 'FLICKER'"))[0]["id"]
        await batch_lines.add_lines(actor=clerk, batch_id=batch_id, lines=[batch_lines.LineInput(
            product_id=product, quantity=3, reason_id=reason,
            purchase_date=today - timedelta(days=30))])
        await batches.submit_batch(actor=clerk, batch_id=batch_id)
        # on days 8-14 the regular draft can be submitted too, never on other days (R5)
        if 8 <= today.day <= 14:
            assert "Jiangsu Office" in await open_window_offices()
            await batches.submit_batch(actor=clerk, batch_id=draft[0]["id"])
        # js.manager signs both Jiangsu batches waiting; hq.cs approves a signed one
        manager = await _actor("js.manager")
        waiting = await raw_fetch("SELECT id FROM return_batch WHERE organisation = $1 AND "
                                  "status = 'submitted'", clerk.organisation_id)
        assert len(waiting) >= 2
        for b in waiting:
            await batches.sign_batch(actor=manager, batch_id=b["id"])
        await batches.approve_batch(actor=hq, batch_id=batch_id, disposition="return")
        # hq.logistics has batches to count, hq.cs one to decide
        assert (await queries.queue_counts(actor=hq, now=now))["to_receive"] >= 2
        # spares: stock at the offices, an exchange waiting, one completed, an overdue repair,
        # disputes to mediate and to rule, an application and a fee waiting for CS
        stock = await raw_fetch("SELECT sum(quantity) AS q FROM stock_balance b JOIN organisation o "
                                "ON o.id = b.location WHERE o.kind = 'office' "
                                "AND b.condition = 'good'")
        assert stock[0]["q"] > 0
        exchanges = {r["status"]: r["n"] for r in await raw_fetch(
            "SELECT status, count(*) AS n FROM exchange GROUP BY status")}
        assert exchanges == {"requested": 1, "completed": 1}
        promised = await raw_fetch("SELECT promised_by FROM repair WHERE status = 'promised'")
        assert any(r["promised_by"] < today for r in promised)
        assert any(r["promised_by"] >= today for r in promised)
        disputes = {r["status"] for r in await raw_fetch("SELECT status FROM consumer_dispute")}
        assert disputes == {"open", "escalated", "settled"}
        assert await raw_fetch("SELECT 1 FROM repair_point_application WHERE status = 'proposed'")
        assert await raw_fetch("SELECT 1 FROM repair_fee WHERE status = 'proposed'")
        assert await _load_demo() is False


async def test_demo_loads_in_seconds():
    start = datetime.now()
    with clock.frozen(datetime(2026, 12, 3, 9, 0, tzinfo=CHINA)):
        await _load_demo()
    assert (datetime.now() - start).total_seconds() < 15


def test_links_use_the_address_served_on_unless_portal_base_url_says_otherwise(monkeypatch):
    monkeypatch.delenv("PORTAL_BASE_URL", raising=False)
    assert Settings.from_env().base_url_configured is False
    assert served_base_url("127.0.0.1", 8010) == "http://127.0.0.1:8010"
    assert served_base_url("0.0.0.0", 8010) == f"http://{socket.getfqdn()}:8010"
    assert served_base_url("::1", 8010) == "http://[::1]:8010"
    monkeypatch.setenv("PORTAL_BASE_URL", "https://after-sales.example.cn")
    settings = Settings.from_env()
    assert settings.base_url_configured and settings.base_url == "https://after-sales.example.cn"


async def test_registration_form_qr_names_the_address_the_page_was_served_on():
    """Without PORTAL_BASE_URL the QR code opens the receiving page on the host the form was
    requested from (here the test client's https://portal.test), not a default port."""
    with clock.frozen(datetime(2026, 12, 10, 15, 0, tzinfo=CHINA)):
        await _load_demo()
        batch = (await raw_fetch("SELECT b.id, b.number FROM return_batch b JOIN organisation o "
                                 "ON o.id = b.organisation WHERE b.status = 'approved'"))[0]
        async with client() as c:
            await login(c, "hq.logistics", "demo-pass-2026")
            page = await c.get(f"/batches/{batch['id']}/form")
    assert page.status_code == 200
    assert f"https://portal.test/receiving?number={batch['number']}" in page.text
