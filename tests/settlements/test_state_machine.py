"""A Hypothesis state machine over settlements (R13, R24, R26, R27): return batches decided with
credits and freight, repair fees decided, purchase volumes imported, months closed, repair fees
reviewed, statements approved (four eyes; a second approver above the HQ amount), paid by bank
or by Stripe Connect transfer (the official SDK against tests/settlements/fake_connect.py, with
5xx faults that leave a payout pending), reconciled, transfer webhooks replayed, transfers
reversed, adjustments and charges requested and decided (tests/settlements/settlement_world.py
runs the services, tests/settlements/settlement_model.py says what should come out).

After every step: every journal entry balances, each source is in at most one statement, a
statement's total is the sum of its lines, the database equals the model (statements, lines,
payouts), payouts never exceed what was approved and nothing is paid twice (at Stripe either),
the journal reconciles with the statements, and each dealer's journal balance is the model's.
A fixed walk through the main paths runs first, so they are covered whatever Hypothesis draws."""
from datetime import date

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from portal import clock
from tests.settlements.settlement_world import DEALERS, FINANCE, PAY_WITH, World


class SettlementMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.w, self.months = World(), 0

    def teardown(self):
        if hasattr(self, "w"):
            self.w.close_world()

    def _some(self, *statuses) -> bool:
        return bool(self.w.m.keys(*statuses))

    def _pick(self, data, *statuses):
        return data.draw(st.sampled_from(self.w.m.keys(*statuses)))

    @rule(dealer=st.sampled_from(DEALERS), late=st.booleans(),
          credited=st.lists(st.integers(0, 30), min_size=1, max_size=3),
          freight=st.one_of(st.none(), st.integers(1, 9000)))
    def return_batch_decided(self, dealer, credited, late, freight):
        self.w.decide_batch(dealer, credited, late, freight)

    @rule(amount=st.integers(0, 60000), approve=st.booleans())
    def repair_fee_decided(self, amount, approve):
        self.w.decide_fee(amount, approve)

    @rule(dealer=st.sampled_from(DEALERS), amount=st.integers(0, 90_000_000),
          this_month=st.booleans())
    def volumes_imported(self, dealer, amount, this_month):
        self.w.import_volume(dealer, amount, this_month)

    @rule(data=st.data(), dealer=st.sampled_from(DEALERS), charge=st.booleans(),
          amount=st.integers(1, 50_000), sign=st.sampled_from([1, -1]), approve=st.booleans(),
          correct=st.booleans())
    def adjustment_decided(self, data, dealer, charge, amount, sign, approve, correct):
        org = self.w.net[dealer]["id"]
        frozen = [s["id"] for (d, _), s in sorted(self.w.m.statements.items())
                  if d == org and s["status"] != "draft"]
        corrects = data.draw(st.sampled_from(frozen)) if correct and frozen else None
        kind, fen = ("charge", -amount) if charge else ("adjustment", sign * amount)
        self.w.adjust(dealer, kind, fen, approve, corrects)

    @rule(closer=st.sampled_from(["finance", "finance2"]))
    def month_closed(self, closer):
        self.w.close(closer)

    @precondition(lambda self: self.months < 3)
    @rule()
    def month_passes(self):
        self.w.period, self.months = clock.next_month(self.w.period), self.months + 1

    @precondition(lambda self: any(self.w.m.needs_review(k) for k in self.w.m.keys()))
    @rule(data=st.data())
    def fees_reviewed(self, data):
        self.w.review(data.draw(st.sampled_from(
            [k for k in self.w.m.keys() if self.w.m.needs_review(k)])))

    @precondition(lambda self: self._some("draft"))
    @rule(data=st.data(), who=st.sampled_from(FINANCE))
    def approved(self, data, who):
        self.w.approve(self._pick(data, "draft"), who)

    @precondition(lambda self: self._some("second_approval"))
    @rule(data=st.data(), who=st.sampled_from(FINANCE))
    def second_approved(self, data, who):
        self.w.second_approve(self._pick(data, "second_approval"), who)

    @precondition(lambda self: self._some("draft", "second_approval", "approved"))
    @rule(data=st.data(), how=st.sampled_from(PAY_WITH))
    def statement_moves_on(self, data, how):
        self.w.move_on(self._pick(data, "draft", "second_approval", "approved"), how)

    @precondition(lambda self: self._some())
    @rule(data=st.data(), how=st.sampled_from(["bank", "stripe"]))
    def any_statement_paid(self, data, how):
        self.w.pay(self._pick(data), how)

    @precondition(lambda self: self._some("approved"))
    @rule(data=st.data(), how=st.sampled_from(PAY_WITH))
    def paid(self, data, how):
        self.w.pay(self._pick(data, "approved"), how)

    @precondition(lambda self: bool(self.w.m.pending()))
    @rule()
    def reconciled(self):
        self.w.reconcile()

    @precondition(lambda self: bool(self.w.with_transfer()))
    @rule(data=st.data())
    def transfer_webhook_replayed(self, data):
        self.w.replay_created(data.draw(st.sampled_from(self.w.with_transfer())))

    @precondition(lambda self: any(p["method"] == "stripe" and p["status"] == "paid"
                                   for p in self.w.m.payouts.values()))
    @rule(data=st.data())
    def transfer_reversed(self, data):
        self.w.reverse(data.draw(st.sampled_from(sorted(
            i for i, p in self.w.m.payouts.items()
            if p["method"] == "stripe" and p["status"] == "paid"))))

    @invariant()
    def database_stripe_and_journal_equal_the_model(self):
        if hasattr(self, "w"):
            self.w.check()


SettlementMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
test_settlement_state_machine = SettlementMachine.TestCase


def test_r26_r27_the_main_paths_step_by_step():
    """A fixed walk, checked after every step: prices of the decision day, items after the
    month go to the next one, four eyes, a second approver, a payout pending after a 5xx and
    settled by its webhook, a reversal paid again after reconciliation, a charge carried."""
    w = World()
    office, sibling = w.net["office"]["id"], w.net["sibling"]["id"]
    nov, dec, jan = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)
    try:
        steps = [
            lambda: w.import_volume("office", 60_000_000, this_month=False),  # rebate 600,000
            lambda: w.import_volume("office", 1_000, this_month=False),  # refused: imported
            lambda: w.import_volume("sibling", 5_000_000, this_month=False),  # below the tier
            lambda: w.decide_batch("office", [3, 0, 4], late=False, freight=2500),
            lambda: w.decide_batch("sibling", [2], late=True, freight=None),  # in December
            lambda: w.decide_fee(45000, approve=True),  # from January
            lambda: w.close("finance"),
            lambda: w.approve((office, nov), "finance"),  # refused: the preparer
            lambda: w.approve((office, nov), "finance2"),  # refused: fees not reviewed
            lambda: w.review((office, nov)),
            lambda: w.approve((office, nov), "finance2"),  # second approval needed
            lambda: w.second_approve((office, nov), "finance2"),  # refused: first approver
            lambda: w.second_approve((office, nov), "finance3"),
            lambda: w.adjust("sibling", "charge", -20_000, approve=True, corrects=None),
            lambda: w.approve((sibling, nov), "finance3"),
            lambda: w.pay((sibling, nov), "bank"),  # refused: nothing to pay
            lambda: w.pay((office, nov), "500_after"),  # pending
            lambda: w.pay((office, nov), "bank"),  # refused: a live payout
            lambda: w.replay_created(w.with_transfer()[0]),  # the webhook settles it
            lambda: w.reverse(w.with_transfer()[0]),  # approved again
            lambda: w.pay((office, nov), "500_before"),  # pending, nothing at Stripe
            lambda: w.reconcile(),  # made once, paid
            lambda: setattr(w, "period", dec),
            lambda: w.decide_batch("office", [5], late=False, freight=None),  # 1,500 a unit
            lambda: w.close("finance2"),
            lambda: w.approve((sibling, dec), "finance"),  # negative: the dealer owes HQ
            lambda: setattr(w, "period", jan),
            lambda: w.close("finance"),
            lambda: w.approve((sibling, jan), "finance2"),  # a carry posts nothing again
        ]
        for step in steps:
            step()
            w.check()
        m = w.m.statements
        assert m[(office, nov)]["total"] == 600_000 + 30_000 + 7 * 1200 + 2500
        assert m[(office, nov)]["status"] == "paid"
        assert [a for kind, a in m[(office, dec)]["lines"].values() if kind == "credit"] == [
            5 * 1500]  # decided on 20 December: the price from the 15th
        assert m[(sibling, dec)]["total"] == 2 * 1200 - 20_000
        assert m[(sibling, jan)]["lines"] == {
            ("statement_carry", str(m[(sibling, dec)]["id"])): ("carry", -17_600)}
        assert m[(office, jan)]["total"] == 45_000
        assert [p["status"] for p in w.m.payouts.values()] == ["reversed", "paid"]
        assert w.m.balance(sibling) == -17_600 and w.m.balance(office) == 0
    finally:
        w.close_world()
