"""The driver of tests/settlements/test_state_machine.py: each action runs the real services
(on the test database, the Stripe SDK against tests/settlements/fake_connect.py), asserts
their answer against the model's expectation, and updates the model; `check()` compares the
database, Stripe and the journal with the model."""
from __future__ import annotations

import asyncio
import itertools
from datetime import date, datetime

from hypothesis.control import _current_build_context, event

import portal.app  # noqa: F401  the composition root registers the transfer.* webhook handlers
from portal import clock, connect, payments
from portal.db import engine, raw_fetch
from portal.errors import Conflict, RuleViolation, ValidationFailed
from settlements import (
    adjustments,
    close,
    journal,
    payouts,
    rules,
    service,
    statements,
    volume_import,
)
from spares import oversight
from tests.conftest import _reset
from tests.helpers import actor_of, make_user
from tests.settlements.fake_connect import FakeConnect
from tests.settlements.settlement_model import (
    CHINA,
    PRICE_CHANGE,
    PRICES,
    SECOND_ABOVE,
    Model,
    credit,
    month_of,
    rebate,
)
from tests.spares.factory import WEBHOOK_SECRET, network, stripe_settings

OCTOBER_5 = datetime(2026, 10, 5, 10, tzinfo=CHINA)
FAKE = FakeConnect(timeout_sleep=0.8)
DEALERS = ("office", "sibling")
FINANCE = ("finance", "finance2", "finance3")
# by bank, by Stripe, by Stripe with a 500 after the transfer was made (the SDK's retries replay
# the stored 500) or with 500s before anything was made: both leave the payout pending
PAY_WITH = ("bank", "stripe", "stripe", "500_after", "500_before")


def note(what: str) -> None:
    """A Hypothesis event (shown by --hypothesis-show-statistics), if inside a Hypothesis run."""
    if _current_build_context.value is not None:
        event(what)


def day(month: date, n: int) -> datetime:
    return datetime(month.year, month.month, n, 10, tzinfo=CHINA)


class World:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        if not FAKE._thread.is_alive():
            FAKE.start()
        FAKE.reset()
        self.period = date(2026, 11, 1)  # the open month; "now" is the 10th of the next one
        self.loop.run_until_complete(_reset())
        # a pool on this loop: a connection per query would dominate the run time
        self.loop.run_until_complete(engine().start_connection_pool(min_size=1, max_size=4))
        self.net = self.loop.run_until_complete(self._network())
        self.settings = stripe_settings(FAKE.url, stripe_timeout_seconds=0.3)
        self.m = Model(office=self.net["office"]["id"], point=self.net["point"]["id"])
        self.counter = itertools.count(1)

    def close_world(self) -> None:
        self.loop.run_until_complete(engine().close_connection_pool())
        self.loop.close()

    @property
    def now(self) -> datetime:
        return day(clock.next_month(self.period), 10)

    def run(self, coro):
        with clock.frozen(self.now):
            return self.loop.run_until_complete(coro)

    def actor(self, name: str):
        return self.net["actors"][name]

    async def _network(self) -> dict:
        """The spares network (an office running a repair point, a sibling office), three
        finance users, CS, an admin; in October: rebates of 1 % from ¥100,000 (R26), the
        point's fee of ¥300 from November (R24), credit prices (R13), payout accounts."""
        net = await network()
        for name, role in (("finance2", "hq_finance"), ("finance3", "hq_finance"),
                           ("admin", "hq_admin")):
            net["actors"][name] = await actor_of(await make_user(net["hq"], [role],
                                                                 username=name))
        a = net["actors"]
        with clock.frozen(OCTOBER_5):
            await service.set_rebate_policy(actor=a["admin"], effective_from=date(2026, 11, 1),
                                            reason="terms",
                                            tiers=[rules.Tier(0, 0), rules.Tier(10_000_000, 100)])
            fee = await oversight.propose_fee(actor=a["manager"], point_id=net["point"]["id"],
                                              amount_fen=30000, reason="")
            await oversight.decide_fee(actor=a["cs"], fee_id=fee, approve=True)
            for start, price in ((date(2026, 11, 1), PRICES[False]), (PRICE_CHANGE, PRICES[True])):
                await service.set_credit_price(actor=a["admin"], product_id=net["product"],
                                               price_fen=price, effective_from=start,
                                               reason="price list")
            await raw_fetch("INSERT INTO policy_value (key, value, effective_from, reason, "
                            "created_at) VALUES ('second_approval_above_fen', $1, '2026-01-01', "
                            "'test', now())", SECOND_ABOVE)
            for name in DEALERS:
                dealer = net[name]["id"]
                FAKE.add_account(f"acct_test{dealer}")
                await payouts.set_payout_account(actor=a["finance"], dealer_id=dealer,
                                                 stripe_account=f"acct_test{dealer}",
                                                 bank_name="ICBC", bank_account=f"6222{dealer}")
                net[f"{name}_approval"] = (await raw_fetch(
                    "INSERT INTO special_approval (organisation, month, quality_problem, reason, "
                    "status, requested_by, requested_at, decision_reason) VALUES ($1, "
                    "'2026-11-01', false, 'test', 'approved', $2, now(), '') RETURNING id",
                    dealer, net["users"]["clerk"]["id"]))[0]["id"]
        net["ids"] = {name: a[name].user_id for name in FINANCE}
        return net

    # --- what is owed -----------------------------------------------------------------------
    def decide_batch(self, dealer: str, credited: list[int], late: bool, freight: int | None):
        """CS decided a special return batch (written as receiving.decide_batch leaves it) in
        the open month, or on the 5th of the next (then it belongs to the next period)."""
        decided = day(clock.next_month(self.period), 5) if late else day(self.period, 20)
        org = self.net[dealer]["id"]
        batch = self.run(raw_fetch(
            "INSERT INTO return_batch (number, organisation, month, kind, special_approval, "
            "status, disposition, created_by, created_at, refused_reason, disposal_evidence, "
            "carrier, waybill, freight_fen, company_bears_freight, received_at, decided_at) "
            "VALUES ($1, $2, $3, 'special', $4, 'dispositioned', 'return', $5, $6, '', '', "
            "'SF', 'W', $7, true, $6, $6) RETURNING id", f"T-{next(self.counter)}", org,
            month_of(decided), self.net[f"{dealer}_approval"], self.net["users"]["clerk"]["id"],
            decided, freight))[0]["id"]
        for n, qty in enumerate(credited, start=1):
            self.run(raw_fetch(
                "INSERT INTO return_line (batch, line_no, product, quantity, received_qty, "
                "exchanged_qty, credited_qty, rejected_qty) VALUES ($1, $2, $3, $4, $4, 1, $5, 0)",
                batch, n, self.net["product"], qty + 1, qty))
        amount = credit(credited, decided.date())
        if amount:
            self.m.add("return_credit", batch, dealer=org, kind="credit", amount=amount,
                       month=month_of(decided))
        if freight:
            self.m.add("return_batch", batch, dealer=org, kind="freight", amount=freight,
                       month=month_of(decided))

    def decide_fee(self, amount: int, approve: bool) -> None:
        """R24: proposed now, from next month on; CS approves or refuses."""
        fee = self.run(oversight.propose_fee(actor=self.actor("manager"),
                                             point_id=self.net["point"]["id"],
                                             amount_fen=amount, reason="test"))
        self.run(oversight.decide_fee(actor=self.actor("cs"), fee_id=fee, approve=approve,
                                      reason="" if approve else "too much"))
        if approve:
            self.m.fees.append((clock.next_month(self.now.date()), amount))

    def import_volume(self, dealer: str, amount: int, this_month: bool) -> None:
        """A CSV of one row; a second import of a dealer's month is refused whole."""
        period = clock.next_month(self.period) if this_month else self.period
        org = self.net[dealer]["id"]
        csv = f"dealer,amount\n{org},{amount // 100}.{amount % 100:02d}\n".encode()
        done = (org, period) in self.m.imported
        try:
            self.run(volume_import.import_volumes(actor=self.actor("finance"), period=period,
                                                  filename="v.csv", content=csv))
        except ValidationFailed:
            assert done
            return
        assert not done
        self.m.imported.add((org, period))
        volume = self.run(raw_fetch("SELECT id FROM purchase_volume WHERE period = $1 AND "
                                    "dealer = $2", period, org))[0]["id"]
        self.m.add("purchase_volume", volume, dealer=org, kind="rebate", amount=rebate(amount),
                   month=period)

    def adjust(self, dealer: str, kind: str, fen: int, approve: bool,
               corrects: int | None) -> None:
        """R26: requested by finance, decided by another finance user; approved now, it is
        owed from this (the next) month."""
        org = self.net[dealer]["id"]
        adj = self.run(adjustments.request_adjustment(
            actor=self.actor("finance"), dealer_id=org, kind=kind, amount_fen=fen,
            reason="test", corrects_statement_id=corrects))
        self.run(adjustments.decide_adjustment(actor=self.actor("finance2"), adjustment_id=adj,
                                               approve=approve, reason="" if approve else "no"))
        if approve:
            self.m.add("adjustment", adj, dealer=org, kind=kind, amount=fen,
                       month=month_of(self.now))

    # --- statements ---------------------------------------------------------------------------
    def close(self, closer: str) -> None:
        self.run(close.close_period(actor=self.actor(closer), period=self.period))
        self.m.close(self.period, self.net["ids"][closer])
        for row in self.run(raw_fetch("SELECT id, dealer, period FROM statement")):
            key = (row["dealer"], row["period"])
            assert key in self.m.statements, f"a statement the model does not expect: {key}"
            self.m.statements[key]["id"] = row["id"]
        note("closed a month")

    def review(self, key) -> None:
        expected = self.m.needs_review(key)
        try:
            self.run(statements.review_fees(actor=self.actor("cs"),
                                            statement_id=self.m.statements[key]["id"]))
        except (RuleViolation, Conflict):
            assert not expected
            return
        assert expected
        self.m.statements[key]["reviewed"] = True

    def approve(self, key, who: str) -> None:
        """R26: not by the preparer, after CS reviewed the fees; a second approver above the
        HQ amount; an approved statement is posted to the journal."""
        user = self.net["ids"][who]
        allowed = self.m.may_approve(key, user)
        try:
            status = self.run(statements.approve_statement(
                actor=self.actor(who), statement_id=self.m.statements[key]["id"]))
        except RuleViolation:
            assert not allowed
            note("approval refused")
            return
        assert allowed and status == self.m.approved(key, user)
        note(f"approved: {status}")

    def second_approve(self, key, who: str) -> None:
        s, user = self.m.statements[key], self.net["ids"][who]
        allowed = user not in (s["prepared_by"], s["approved_by"])
        try:
            self.run(statements.second_approve(actor=self.actor(who), statement_id=s["id"]))
        except RuleViolation:
            assert not allowed
            return
        assert allowed
        s["status"] = "approved"

    def move_on(self, key, how: str) -> None:
        """The usual next step of a statement, by the right person."""
        s, ids = self.m.statements[key], self.net["ids"]
        taken = (s["prepared_by"], s["approved_by"])
        who = next(n for n in FINANCE if ids[n] not in taken)
        if self.m.needs_review(key):
            self.review(key)
        elif s["status"] == "draft":
            self.approve(key, who)
        elif s["status"] == "second_approval":
            self.second_approve(key, who)
        elif s["status"] == "approved":
            self.pay(key, how)

    # --- payouts ------------------------------------------------------------------------------
    def pay(self, key, how: str) -> None:
        """R27: only an approved statement above zero with no live payout is paid; a 5xx
        leaves the payout pending (the money may have moved), never failed."""
        s, payable = self.m.statements[key], self.m.payable(key)
        if payable and how not in ("bank", "stripe"):
            FAKE.fail(how, times=1 if how == "500_after" else 3)
        try:
            if how == "bank":
                payout, status = self.run(payouts.record_bank_payment(
                    actor=self.actor("finance"), statement_id=s["id"],
                    reference=f"BANK-{next(self.counter)}")), "paid"
            else:
                result = self.run(payouts.pay_statement(self.settings, actor=self.actor("finance"),
                                                        statement_id=s["id"]))
                payout, status = result["payout_id"], result["status"]
        except (Conflict, RuleViolation):
            assert not payable
            note("payment refused")
            return
        assert payable and status == ("paid" if how in ("bank", "stripe") else "pending")
        self.m.payout(payout, key, "bank" if how == "bank" else "stripe", status)
        note(f"paid by {how}: {status}")

    def reconcile(self) -> None:
        pending = self.m.pending()
        assert self.run(payouts.reconcile_pending(self.settings)) == {
            "paid": len(pending), "pending": 0, "failed": 0}
        for payout_id in pending:
            self.m.settled(payout_id)
        note("reconciled")

    def transfer_of(self, payout_id: int) -> dict | None:
        found = [t for t in list(FAKE.transfers.values())
                 if t["metadata"].get("payout_id") == str(payout_id)]
        return found[0] if found else None

    def with_transfer(self) -> list[int]:
        return sorted(i for i, p in self.m.payouts.items()
                      if p["method"] == "stripe" and self.transfer_of(i) is not None)

    def _deliver(self, type_: str, transfer: dict) -> None:
        """A signed event, delivered twice: the second is a duplicate (one effect)."""
        payload, signature = FAKE.signed(FAKE.event(type_, transfer), WEBHOOK_SECRET)
        assert [self.run(payments.handle_webhook(self.settings, payload=payload,
                                                 signature=signature))
                for _ in range(2)] == ["processed", "duplicate"]

    def replay_created(self, payout_id: int) -> None:
        """transfer.created: a pending payout is paid; a paid or reversed one is unchanged."""
        self._deliver("transfer.created", self.transfer_of(payout_id))
        if self.m.payouts[payout_id]["status"] == "pending":
            self.m.settled(payout_id)
            note("webhook settled a pending payout")

    def reverse(self, payout_id: int) -> None:
        """The money came back: the statement is approved again and may be paid anew."""
        sdk = connect.connect_client(self.settings)
        transfer = self.transfer_of(payout_id)
        sdk.v1.transfers.reversals.create(transfer["id"],
                                          options={"idempotency_key": f"rev-{payout_id}"})
        self._deliver("transfer.reversed", sdk.v1.transfers.retrieve(transfer["id"]).to_dict())
        self.m.reversed(payout_id)
        note("transfer reversed")

    # --- the invariants -----------------------------------------------------------------------
    def check(self) -> None:
        assert self.run(journal.unbalanced_entries()) == []
        self._statements_equal_the_model()
        self._paid_once_and_never_more_than_approved()
        for period in {p for _, p in self.m.statements}:
            assert self.run(journal.unreconciled_statements(period)) == []
        for name in DEALERS:
            dealer = self.net[name]["id"]
            assert self.run(journal.dealer_balance(dealer)) == self.m.balance(dealer), name

    def _statements_equal_the_model(self) -> None:
        """Each source in at most one statement; total = sum of lines; lines = the model's."""
        assert self.run(raw_fetch("SELECT source_type, source_id FROM statement_line "
                                  "GROUP BY 1, 2 HAVING count(*) > 1")) == []
        db: dict = {}
        for r in self.run(raw_fetch(
                "SELECT s.dealer, s.period, s.status, s.total_fen, l.source_type, l.source_id, "
                "l.kind, l.amount_fen FROM statement s LEFT JOIN statement_line l "
                "ON l.statement = s.id")):
            s = db.setdefault((r["dealer"], r["period"]), {"status": r["status"],
                                                          "total": r["total_fen"], "lines": {}})
            if r["source_type"] is not None:
                s["lines"][(r["source_type"], r["source_id"])] = (r["kind"], r["amount_fen"])
        for s in db.values():
            assert s["total"] == sum(a for _, a in s["lines"].values())
        assert db == self.m.view()

    def _paid_once_and_never_more_than_approved(self) -> None:
        rows = self.run(raw_fetch("SELECT p.id, p.statement, p.status, p.amount_fen, "
                                  "s.total_fen, s.status AS statement_status FROM payout p "
                                  "JOIN statement s ON s.id = p.statement"))
        assert {r["id"]: (r["status"], r["amount_fen"]) for r in rows} == {
            i: (p["status"], p["amount"]) for i, p in self.m.payouts.items()}
        transfers = list(FAKE.transfers.values())
        for statement in {r["statement"] for r in rows}:
            mine = [r for r in rows if r["statement"] == statement]
            total = mine[0]["total_fen"]
            assert len([r for r in mine if r["status"] in ("pending", "paid")]) <= 1
            paid = sum(r["amount_fen"] for r in mine if r["status"] == "paid")
            assert paid in (0, total) and (paid > 0) == (mine[0]["statement_status"] == "paid")
            at_stripe = sum(t["amount"] - t["amount_reversed"] for t in transfers
                            if t["transfer_group"] == f"statement-{statement}")
            assert at_stripe <= total  # Stripe never moved more than the statement's total
        approved = sum(s["total"] for s in self.m.statements.values()
                       if s["status"] in ("approved", "paid") and s["total"] > 0)
        assert sum(r["amount_fen"] for r in rows if r["status"] == "paid") <= approved
