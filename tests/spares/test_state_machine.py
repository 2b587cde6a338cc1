"""A Hypothesis state machine over exchanges, repairs, deposits, returns in the monthly batch and
closure (R22, R23, R25, R28). After every step: stock never negative, good out = faulty in for
each exchange, the deposit balance equals the sum of its movements, and the database equals
the model."""
import asyncio
from datetime import date

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from dealers import batches
from portal import clock
from portal.db import raw_fetch
from portal.errors import RuleViolation
from spares import deposits, exchanges, oversight, queries, repairs, stock
from tests.conftest import _reset
from tests.dealers.factory import IN_WINDOW
from tests.spares.factory import network


class SparesMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.loop = asyncio.new_event_loop()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self):
        self.loop.close()

    @initialize()
    def setup(self):
        self.run(_reset())
        self.net = self.run(network())
        self.part = self.net["parts"]["ELB-28"]
        self.office, self.point = self.net["office"]["id"], self.net["point"]["id"]
        self.model = {(self.office, "good"): 0, (self.office, "faulty"): 0,
                      (self.point, "good"): 0, (self.point, "faulty"): 0}
        self.deposit = 0
        self.exchanges: list[int] = []
        self.closed = False
        self.refs = 0
        with clock.frozen(IN_WINDOW):
            self.batch = self.run(batches.create_draft(actor=self.net["actors"]["clerk"]))

    def _move(self, location, condition, qty):
        self.run(stock.move_stock([(location, self.part, condition, qty)], kind="adjustment",
                                    reference="hyp", actor=None))
        self.model[(location, condition)] += qty

    @rule(n=st.integers(1, 5))
    def stock_arrives_at_office(self, n):  # the office goes on after its point closes
        self._move(self.office, "good", n)

    @precondition(lambda self: not self.closed)
    @rule(n=st.integers(1, 5))
    def stock_arrives_at_point(self, n):
        self._move(self.point, "good", n)

    @precondition(lambda self: not self.closed)
    @rule(q=st.integers(1, 4))
    def exchange(self, q):
        a = self.net["actors"]
        ex = self.run(exchanges.request_exchange(actor=a["staff"], spare_part_id=self.part, quantity=q))
        possible = self.model[(self.office, "good")] >= q and self.model[(self.point, "faulty")] >= q
        try:
            self.run(exchanges.complete_exchange(actor=a["clerk"], exchange_id=ex))
        except RuleViolation:
            assert not possible
            return
        assert possible
        self.model[(self.office, "good")] -= q
        self.model[(self.point, "good")] += q
        self.model[(self.point, "faulty")] -= q
        self.model[(self.office, "faulty")] += q
        self.exchanges.append(ex)

    @precondition(lambda self: not self.closed)
    @rule(q=st.integers(0, 3), warranty=st.booleans())
    def repair(self, q, warranty):
        possible = self.model[(self.point, "good")] >= q
        bought = date(2026, 6, 1) if warranty else date(2024, 1, 1)
        try:
            self.run(repairs.record_repair(
                actor=self.net["actors"]["staff"], customer="顾客", phone="", proof="发票",
                product_id=self.net["product"], purchase_date=bought,
                spare_part_id=self.part if q else None, parts_quantity=q, on_the_spot=True))
        except RuleViolation:
            assert not possible
            return
        assert possible
        self.model[(self.point, "good")] -= q
        self.model[(self.point, "faulty")] += q

    @precondition(lambda self: not self.closed)
    @rule(amount=st.integers(1, 30000))
    def deposit_by_bank(self, amount):
        self.refs += 1
        self.run(deposits.record_bank_transfer(actor=self.net["actors"]["finance"],
                                              point_id=self.point, amount_fen=amount,
                                              reference=f"B-{self.refs}"))
        self.deposit += amount

    @precondition(lambda self: not self.closed and self.model[(self.office, "faulty")] > 0)
    @rule()
    def faulty_parts_into_monthly_batch(self):
        self.run(stock.send_faulty_to_batch(actor=self.net["actors"]["clerk"], batch_id=self.batch))
        self.model[(self.office, "faulty")] = 0

    @precondition(lambda self: not self.closed)
    @rule(keep=st.integers(0, 3))
    def close_point(self, keep):
        good = self.model[(self.point, "good")]
        back = max(good - keep, 0)
        result = self.run(oversight.close_point(
            None, actor=self.net["actors"]["finance"], point_id=self.point,
            returned={(self.part, "good"): back, (self.part, "faulty"): self.model[(self.point, "faulty")]},
            method="bank_transfer", reference="CLOSE"))
        missing = (good - back) * 1850
        assert result["missing_fen"] == missing
        assert result["refund_fen"] == max(self.deposit - missing, 0)
        self.model[(self.office, "good")] += back
        self.model[(self.office, "faulty")] += self.model[(self.point, "faulty")]
        self.model[(self.point, "good")] = self.model[(self.point, "faulty")] = 0
        self.deposit = 0
        self.closed = True

    @invariant()
    def database_equals_model_and_nothing_negative(self):
        if not hasattr(self, "net"):
            return
        rows = self.run(raw_fetch("SELECT location, condition, quantity FROM stock_balance "
                                  "WHERE spare_part = $1", self.part))
        db = {(r["location"], r["condition"]): r["quantity"] for r in rows}
        assert all(q >= 0 for q in db.values())
        for key, qty in self.model.items():
            assert db.get(key, 0) == qty, (key, db.get(key, 0), qty)
        sums = self.run(raw_fetch(
            "SELECT (SELECT coalesce(sum(amount_fen), 0) FROM deposit_movement "
            "WHERE repair_point = $1)::bigint AS movements", self.point))[0]
        assert self.run(queries.deposit_status(self.point))["balance_fen"] == sums["movements"] \
            == self.deposit

    @invariant()
    def each_exchange_moves_good_out_equal_to_faulty_in(self):
        for ex in getattr(self, "exchanges", []):
            rows = self.run(raw_fetch(
                "SELECT location, condition, quantity FROM stock_movement WHERE reference = $1",
                f"exchange-{ex}"))
            good_out = -sum(r["quantity"] for r in rows if r["condition"] == "good" and r["quantity"] < 0)
            faulty_in = sum(r["quantity"] for r in rows if r["condition"] == "faulty" and r["quantity"] > 0)
            assert good_out == faulty_in > 0


SparesMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=12, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
test_spares_state_machine = SparesMachine.TestCase
