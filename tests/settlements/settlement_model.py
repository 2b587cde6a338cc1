"""The model behind tests/settlements/test_state_machine.py: what statements, lines, payouts and
dealer balances should be, re-derived in plain Python from the same events the services see
(R13, R24, R26, R27). No database, no services: the test compares the two after every step."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
SECOND_ABOVE = 400_000  # fen: above this a statement needs a second approver (policy in the test)
PRICE_CHANGE = date(2026, 12, 15)  # R13: a batch is credited at the price of its decision day
PRICES = {False: 1200, True: 1500}  # credit price before / from PRICE_CHANGE
TIERS = ((10_000_000, 100), (0, 0))  # rebate: 1 % of the whole volume from ¥100,000, else 0


def month_of(at: datetime) -> date:
    return at.astimezone(CHINA).date().replace(day=1)


def rebate(volume_fen: int) -> int:
    """The tiered rate on the whole volume, rounded half up to the fen."""
    bp = next(rate for start, rate in TIERS if volume_fen >= start)
    return (volume_fen * bp + 5000) // 10000


def credit(credited: list[int], decided: date) -> int:
    return sum(credited) * PRICES[decided >= PRICE_CHANGE]


class Model:
    def __init__(self, *, office: int, point: int):
        self.office, self.point = office, point
        self.sources: dict[tuple[str, str], dict] = {}  # (source_type, id) -> item
        self.statements: dict[tuple[int, date], dict] = {}  # (dealer, period) -> statement
        self.fees: list[tuple[date, int]] = [(date(2026, 11, 1), 30000)]  # approved, in order
        self.payouts: dict[int, dict] = {}  # payout id -> key, method, status, amount
        self.imported: set[tuple[int, date]] = set()  # (dealer, month) with its volume

    # --- items ----------------------------------------------------------------------------
    def add(self, source_type: str, source_id, *, dealer: int, kind: str, amount: int,
            month: date) -> None:
        """An item owed from `month` on, waiting for a statement."""
        self.sources[(source_type, str(source_id))] = {
            "dealer": dealer, "kind": kind, "amount": amount, "from": month, "statement": None}

    def fee_for(self, period: date) -> int:
        amounts = [amount for start, amount in self.fees if start <= period]
        return amounts[-1] if amounts else 0  # the newest approved fee in force

    def owed(self, period: date) -> list[tuple[tuple[str, str], dict]]:
        """Every item a close of `period` may attach (R26): waiting items of the month or
        before, the month's repair fee (R24), negative totals of earlier approved statements."""
        items = [(k, s) for k, s in self.sources.items()
                 if s["statement"] is None and s["from"] <= period]
        fee_key = ("repair_fee", f"{self.point}-{period:%Y-%m}")
        if self.fee_for(period) > 0 and fee_key not in self.sources:
            items.append((fee_key, {"dealer": self.office, "kind": "repair_fee",
                                    "amount": self.fee_for(period), "from": period}))
        for (dealer, when), s in self.statements.items():
            key = ("statement_carry", str(s["id"]))
            if (when < period and s["status"] in ("approved", "paid") and s["total"] < 0
                    and key not in self.sources):
                items.append((key, {"dealer": dealer, "kind": "carry", "amount": s["total"],
                                    "from": period}))
        return items

    # --- statements -----------------------------------------------------------------------
    def close(self, period: date, closer: int) -> None:
        """Attach what is owed to the dealers' draft statements of the month (made if
        missing); a dealer whose statement is no longer a draft waits for the next month.
        Who adds lines prepared the statement; new fee lines need CS's review again."""
        touched: dict[tuple[int, date], bool] = {}
        for key, item in self.owed(period):
            skey = (item["dealer"], period)
            statement = self.statements.setdefault(skey, {
                "status": "draft", "prepared_by": closer, "reviewed": False, "lines": {},
                "approved_by": None, "id": None, "total": 0})
            if statement["status"] != "draft":
                continue
            self.sources[key] = {**item, "statement": skey}
            statement["lines"][key] = (item["kind"], item["amount"])
            touched[skey] = touched.get(skey, False) or item["kind"] == "repair_fee"
        for skey, new_fees in touched.items():
            statement = self.statements[skey]
            statement["prepared_by"] = closer
            statement["reviewed"] = statement["reviewed"] and not new_fees
            statement["total"] = sum(a for _, a in statement["lines"].values())

    def keys(self, *statuses: str) -> list[tuple[int, date]]:
        return sorted(k for k, s in self.statements.items()
                      if not statuses or s["status"] in statuses)

    def has_fees(self, key) -> bool:
        return any(kind == "repair_fee" for kind, _ in self.statements[key]["lines"].values())

    def needs_review(self, key) -> bool:
        s = self.statements[key]
        return s["status"] == "draft" and self.has_fees(key) and not s["reviewed"]

    def may_approve(self, key, user: int) -> bool:
        s = self.statements[key]
        return s["status"] == "draft" and user != s["prepared_by"] and not self.needs_review(key)

    def approved(self, key, user: int) -> str:
        s = self.statements[key]
        s["status"] = "second_approval" if s["total"] > SECOND_ABOVE else "approved"
        s["approved_by"] = user
        return s["status"]

    # --- payouts --------------------------------------------------------------------------
    def payable(self, key) -> bool:
        """R27: approved, above zero, and no live (pending or paid) payout."""
        s = self.statements[key]
        live = any(p["key"] == key and p["status"] in ("pending", "paid")
                   for p in self.payouts.values())
        return s["status"] == "approved" and s["total"] > 0 and not live

    def payout(self, payout_id: int, key, method: str, status: str) -> None:
        self.payouts[payout_id] = {"key": key, "method": method, "status": status,
                                   "amount": self.statements[key]["total"]}
        if status == "paid":
            self.statements[key]["status"] = "paid"

    def settled(self, payout_id: int) -> None:
        p = self.payouts[payout_id]
        p["status"] = "paid"
        self.statements[p["key"]]["status"] = "paid"

    def reversed(self, payout_id: int) -> None:
        p = self.payouts[payout_id]
        p["status"] = "reversed"
        self.statements[p["key"]]["status"] = "approved"

    def pending(self) -> list[int]:
        return [i for i, p in self.payouts.items() if p["status"] == "pending"]

    def balance(self, dealer: int) -> int:
        """What HQ owes the dealer: approved lines (a carry was already owed), less payouts."""
        posted = sum(a for (d, _), s in self.statements.items()
                     if d == dealer and s["status"] in ("approved", "paid")
                     for kind, a in s["lines"].values() if kind != "carry")
        paid = sum(p["amount"] for p in self.payouts.values()
                   if p["status"] == "paid" and p["key"][0] == dealer)
        return posted - paid

    def view(self) -> dict:
        """Statements as the database should hold them."""
        return {k: {"status": s["status"], "total": s["total"], "lines": s["lines"]}
                for k, s in self.statements.items()}
