"""Demo return batches in every state, played through the real services (draft, add_lines,
submit, sign, approve/refuse, dispatch, arrive, count, decide, dispose, special approvals,
roll-over) with the clock set to the moment each step happened, so every date agrees with the
rules (R5 windows, R12/R14 deadlines) whatever today is. Idempotent: skipped once any batch or
special approval exists.

What it leaves, relative to today (China time):
- Jiangsu (`js`): last month's batch decided (the receipt to read, exchanged, credited and
  rejected lines with reasons); a special batch (quality problem, approval granted last month
  outside any window) submitted and waiting for `js.manager`; this month's regular draft with
  lines (from the 15th on, its window has closed and it has moved to next month, R5); and a
  special approval of this month, granted and not used yet, so `js.clerk` can start a special
  batch and submit it on any day (R7).
- one batch waiting at each HQ step: signed (Shanghai, for `hq.cs`), approved (Zhejiang, to
  dispatch), in transit (Guangdong), arrived and not counted (Beijing, in time; Shandong,
  breaching R12), counted with a difference and an extra line (Anhui, for `hq.cs` to decide);
- older: Tianjin decided last month (its manager disputed its quality 20 hours ago, R16: for
  `hq.tech` to verify on site within 2 days), Liaoning decided the month before, Chongqing
  disposed of locally (closed), Hunan refused; Jilin (no window, R4) asks for a special approval.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dealers import batch_lines, batches, receiving, rollover, rules, special_cases
from dealers.batch_lines import LineInput
from dealers.calendar import weeks_on
from dealers.tables import ReturnBatch, SpecialApproval
from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.demo import actors, ago, at, china, recent


@dataclass(frozen=True)
class Line:
    """A demo line and what CS decides for it (R13), with the reject reason's code."""

    model: str
    quantity: int
    reason: str
    made_months_ago: int | None = None  # CFL date code (R18d)
    bought_months_ago: int | None = None  # consumer purchase date (R17)
    lights: bool = False
    cap_percent: int | None = None
    decide: str = "exchange"  # exchange | credit | reject
    reject: str | None = None


LINES = [
    Line("CFL-13W", 40, "NO_LIGHT", made_months_ago=5, cap_percent=90),
    Line("CFL-23W", 12, "NO_LIGHT", made_months_ago=20, cap_percent=85, decide="reject",
         reject="OVER_15M"),
    Line("XD-2401", 6, "FLICKER", bought_months_ago=4, decide="credit"),
    Line("T8-36W", 20, "NO_LIGHT", bought_months_ago=9, decide="reject", reject="NO_WARRANTY"),
    Line("CFL-13W", 8, "OTHER", made_months_ago=6, lights=True, cap_percent=95, decide="reject",
         reject="LIGHTS"),
]
QUALITY_LINES = [Line("XD-3602", 30, "FLICKER", bought_months_ago=2, decide="credit"),
                 Line("TD-B13", 25, "BALLAST", bought_months_ago=3)]


def _months_back(day: date, months: int) -> date:
    """The first of the month `months` before `day`'s month."""
    for _ in range(months):
        day = clock.previous_month(day)
    return day


class _Story:
    """One batch moved step by step; each step runs with the clock at its own moment."""

    def __init__(self, people: dict[str, Actor], refs: dict, prefix: str):
        self.people, self.refs, self.prefix = people, refs, prefix
        self.clerk, self.manager = people[f"{prefix}.clerk"], people[f"{prefix}.manager"]
        self.id = 0
        self.lines: list[Line] = []

    async def file(self, moment: datetime, lines: list[Line], *, scale: int = 1,
                   special_approval: int | None = None, submit: bool = True) -> _Story:
        """Drafted and filled an hour before `moment`, submitted at `moment`."""
        self.lines = lines
        month_start = china(clock.china_today(moment).replace(day=1), 0)
        async with at(max(moment - timedelta(hours=1), month_start + (moment - month_start) / 2)):
            self.id = await batches.create_draft(actor=self.clerk,
                                                 special_approval_id=special_approval)
            today = clock.china_today()
            await batch_lines.add_lines(actor=self.clerk, batch_id=self.id, lines=[
                self._line(line, today, scale) for line in lines])
        if submit:
            async with at(moment):
                await batches.submit_batch(actor=self.clerk, batch_id=self.id)
        return self

    def _line(self, line: Line, today: date, scale: int) -> LineInput:
        return LineInput(
            product_id=self.refs["products"][line.model], quantity=line.quantity * scale,
            reason_id=self.refs["defects"][line.reason],
            date_code=_months_back(today, line.made_months_ago) if line.made_months_ago else None,
            purchase_date=(_months_back(today, line.bought_months_ago)
                           if line.bought_months_ago else None),
            lights=line.lights, cap_percent=line.cap_percent)

    async def sign(self, moment: datetime, by: str | None = None) -> _Story:
        async with at(moment):
            await batches.sign_batch(actor=self.people[by] if by else self.manager,
                                     batch_id=self.id, note="已验货，同意返厂")
        return self

    async def approve(self, moment: datetime, disposition: str = "return",
                      by: str = "hq.cs") -> _Story:
        async with at(moment):
            await batches.approve_batch(actor=self.people[by], batch_id=self.id,
                                        disposition=disposition)
        return self

    async def dispatch(self, moment: datetime, freight_fen: int = 38_000) -> _Story:
        async with at(moment):
            await batches.dispatch_batch(
                actor=self.clerk, batch_id=self.id, carrier="德邦物流",
                waybill=f"DB{self.id:04d}{moment:%m%d}", packages=3, freight_fen=freight_fen,
                dispatched_on=clock.china_today())
        return self

    async def arrive(self, moment: datetime) -> _Story:
        number = (await raw_fetch("SELECT number FROM return_batch WHERE id = $1",
                                  self.id))[0]["number"]
        async with at(moment):
            await receiving.arrive(actor=self.people["hq.logistics"], number=number)
        return self

    async def count(self, moment: datetime, short: int = 0, extra: int = 0) -> _Story:
        """HQ counts every line as filed, `short` units fewer on the first one, and finds
        `extra` units not on the form (R12)."""
        lines = await raw_fetch("SELECT id, quantity, lights, cap_percent FROM return_line "
                                "WHERE batch = $1 ORDER BY line_no", self.id)
        counts = [receiving.Count(line_id=l["id"], received_qty=l["quantity"] - (short if i == 0 else 0),
                                  condition=rules.Condition(l["lights"], l["cap_percent"], False,
                                                            False, False))
                  for i, l in enumerate(lines)]
        extras = [receiving.ExtraGoods(product_id=self.refs["products"]["XD-2401"],
                                       received_qty=extra,
                                       condition=rules.Condition(False, None, False, False, True))
                  ] if extra else []
        async with at(moment):
            await receiving.receive_batch(actor=self.people["hq.logistics"], batch_id=self.id,
                                          counts=counts, extras=extras)
        return self

    async def decide(self, moment: datetime) -> _Story:
        rows = await raw_fetch("SELECT id, received_qty, extra FROM return_line WHERE batch = $1 "
                               "ORDER BY line_no", self.id)
        rejects = self.refs["rejects"]
        decisions = []
        for i, row in enumerate(rows):
            line = self.lines[i] if i < len(self.lines) and not row["extra"] else \
                Line("XD-2401", 0, "", decide="reject", reject="MAN_DAMAGE")
            qty = row["received_qty"]
            decisions.append(receiving.Decision(
                line_id=row["id"], exchanged=qty if line.decide == "exchange" else 0,
                credited=qty if line.decide == "credit" else 0,
                rejected=qty if line.decide == "reject" else 0,
                reject_reason_id=rejects[line.reject] if line.decide == "reject" else None,
                note="" if line.decide != "credit" else "型号停产，冲帐"))
        async with at(moment):
            await receiving.decide_batch(actor=self.people["hq.cs"], batch_id=self.id,
                                         decisions=decisions)
        return self


def latest_slot(week: int, before: datetime) -> datetime:
    """The latest 10:00 China time inside the office's window (R2, R3) not after `before`:
    this month's window if it has begun early enough, else last month's."""
    month = clock.china_today(before).replace(day=1)
    for _ in range(3):
        window = rules.window_in_month(month, week)
        assert window is not None
        day = window.last
        while day >= window.first:
            if china(day) <= before:
                return china(day)
            day -= timedelta(days=1)
        month = clock.previous_month(month)
    raise AssertionError("no window in three months")


def _between(start: datetime, end: datetime, n: int) -> list[datetime]:
    """n instants evenly inside (start, end)."""
    return [start + (end - start) * (i + 1) / (n + 1) for i in range(n)]


async def _refs() -> dict:
    return {
        "products": {r["model"]: r["id"] for r in await raw_fetch("SELECT id, model FROM product")},
        "defects": {r["code"]: r["id"] for r in await raw_fetch(
            "SELECT id, code FROM reason_code WHERE kind = 'defect'")},
        "rejects": {r["code"]: r["id"] for r in await raw_fetch(
            "SELECT id, code FROM reason_code WHERE kind = 'reject'")},
    }


async def load_batches_demo() -> bool:
    if await ReturnBatch.count() or await SpecialApproval.count():
        return False
    people = await actors()
    if "js.clerk" not in people or not await raw_fetch("SELECT 1 FROM product LIMIT 1"):
        return False
    refs = await _refs()
    now = clock.now()
    this_month = clock.china_today(now).replace(day=1)
    last_month = clock.previous_month(this_month)
    before_last = clock.previous_month(last_month)

    def story(prefix: str) -> _Story:
        return _Story(people, refs, prefix)

    # --- older months ---------------------------------------------------------------------------
    # Liaoning (week 1), the month before last: decided on time.
    s = await story("ln").file(china(before_last.replace(day=3)), LINES, scale=2)
    await (await (await (await (await s.sign(china(before_last.replace(day=3), 15))).approve(
        china(before_last.replace(day=4)))).dispatch(china(before_last.replace(day=4), 16))
    ).arrive(china(before_last.replace(day=7), 9))).count(china(before_last.replace(day=7), 15))
    await s.decide(china(before_last.replace(day=9), 11))
    # Chongqing (week 1), the month before last: disposed of locally with evidence (R9), closed.
    s = await story("cq").file(china(before_last.replace(day=5)), LINES[3:4])
    await (await s.sign(china(before_last.replace(day=5), 16))).approve(
        china(before_last.replace(day=6)), disposition="dispose")
    async with at(china(before_last.replace(day=8), 14)):
        await batches.record_disposal(actor=s.clerk, batch_id=s.id,
                                      evidence="就地破碎处理，照片 12 张，见证人：重庆物流商 王经理")
    # Tianjin (week 1) and Jiangsu (week 2), last month: decided on time; Jiangsu's receipt is
    # the one js.clerk reads, and last month's statements credit both (R13).
    tianjin = s = await story("tj").file(china(last_month.replace(day=2)), LINES, scale=1)
    await (await (await (await (await s.sign(china(last_month.replace(day=2), 16))).approve(
        china(last_month.replace(day=3)))).dispatch(china(last_month.replace(day=3), 15))
    ).arrive(china(last_month.replace(day=5), 9))).count(china(last_month.replace(day=5), 16))
    await s.decide(china(last_month.replace(day=7), 10))
    s = await story("js").file(china(last_month.replace(day=9)), LINES, scale=3)
    await (await (await (await (await s.sign(china(last_month.replace(day=9), 15))).approve(
        china(last_month.replace(day=10)))).dispatch(china(last_month.replace(day=10), 16))
    ).arrive(china(last_month.replace(day=12), 9))).count(china(last_month.replace(day=12), 15),
                                                          short=2)
    await s.decide(china(last_month.replace(day=13), 11))
    # Hunan (week 3), last month: customer service refused it (R9).
    s = await story("hn").file(china(last_month.replace(day=16)), LINES[:2])
    await s.sign(china(last_month.replace(day=16), 15))
    async with at(china(last_month.replace(day=17))):
        await batches.refuse_batch(actor=people["hq.cs2"], batch_id=s.id,
                                   reason="缺少日期码照片，请补齐后下月再报")

    # --- waiting at each step today -------------------------------------------------------------
    # Shanghai (week 2): signed, waiting for hq.cs to approve.
    s = await story("sh").file(latest_slot(2, ago(now, hours=6)), LINES[:3])
    await s.sign(_between(latest_slot(2, ago(now, hours=6)), now, 1)[0])
    # Zhejiang (week 2): approved, waiting for its dispatch.
    slot = latest_slot(2, ago(now, hours=12))
    s = await story("zj").file(slot, LINES[:2], scale=2)
    sign, approve = _between(slot, now, 2)
    await (await s.sign(sign)).approve(approve)
    # Guangdong (week 3): in transit, waiting for hq.logistics.
    slot = latest_slot(3, ago(now, days=1))
    s = await story("gd").file(slot, LINES, scale=2)
    sign, approve, dispatch = _between(slot, now, 3)
    await (await (await s.sign(sign)).approve(approve)).dispatch(dispatch)
    # Beijing (week 1): arrived within the hour, to count today or tomorrow (R12).
    slot = latest_slot(1, ago(now, days=1))
    s = await story("bj").file(slot, LINES[:4])
    sign, approve, dispatch = _between(slot, ago(now, hours=3), 3)
    await (await (await (await s.sign(sign)).approve(approve)).dispatch(dispatch)).arrive(
        ago(now, hours=1))
    # Shandong (week 3): arrived four days ago and still not counted: breaching R12.
    slot = latest_slot(3, ago(now, days=6))
    s = await story("sd").file(slot, LINES[:3], scale=2)
    sign, approve, dispatch = _between(slot, ago(now, days=4, hours=2), 3)
    await (await (await (await s.sign(sign)).approve(approve)).dispatch(dispatch)).arrive(
        ago(now, days=4))
    # Anhui (week 2): counted yesterday with a difference and goods not on the form (R12),
    # waiting for hq.cs to decide within 3 days of arrival (R14).
    slot = latest_slot(2, ago(now, days=2))
    s = await story("ah").file(slot, LINES, scale=2)
    sign, approve, dispatch = _between(slot, ago(now, hours=20), 3)
    await (await (await (await (await s.sign(sign)).approve(approve)).dispatch(dispatch)).arrive(
        ago(now, hours=19))).count(ago(now, hours=12), short=3, extra=2)

    # --- Jiangsu today --------------------------------------------------------------------------
    # A batch quality problem (R7): asked last month after every window had closed, granted, and
    # its special batch submitted today: waiting for js.manager's signature.
    async with at(china(last_month.replace(day=25), 11)):
        quality = await special_cases.request_special_approval(
            actor=people["js.manager"], organisation_id=people["js.clerk"].organisation_id,
            reason="吸顶灯 XD-3602 批量闪烁（批量质量问题），申请特批返厂", quality_problem=True)
    async with at(china(last_month.replace(day=26), 10)):
        await special_cases.decide_special_approval(actor=people["hq.cs"], approval_id=quality,
                                                    approve=True, reason="同意特批，运费由公司承担")
    await story("js").file(recent(now, 0.9), QUALITY_LINES, special_approval=quality)
    # This month's regular draft, with lines: submitted in the window (days 8-14); after it
    # closes, the roll-over moves it to next month and tells the office (R5).
    await story("js").file(recent(now, 0.5), LINES[:2], submit=False)
    async with at(now):
        await rollover.roll_over_unsubmitted(now)
    # This month's special approval, granted and unused: js.clerk starts a special batch from
    # /special-approvals and submits it on any day (README walkthrough).
    async with at(recent(now, 0.6)):
        spare = await special_cases.request_special_approval(
            actor=people["rm.east"], organisation_id=people["js.clerk"].organisation_id,
            reason="苏州观前专卖店闭店清退库存，申请本月特批返厂", quality_problem=False)
    async with at(recent(now, 0.7)):
        await special_cases.decide_special_approval(actor=people["hq.cs2"], approval_id=spare,
                                                    approve=True, reason="同意，本月内提交")
    # Jilin has no window (R4): its manager asks for a special approval, waiting for hq.cs.
    async with at(recent(now, 0.8)):
        await special_cases.request_special_approval(
            actor=people["jl.manager"], organisation_id=people["jl.clerk"].organisation_id,
            reason="吉林暂无返厂周，申请本月特批返厂", quality_problem=False)
    # Tianjin disputes the quality of last month's decided batch (R16), raised 20 hours ago:
    # HQ tech verifies it on site within 2 days, waiting for hq.tech (not late on any day).
    async with at(ago(now, hours=20)):
        await special_cases.raise_quality_dispute(
            actor=people["tj.manager"], batch_id=tianjin.id,
            description="节能灯 CFL-13W 同批次大面积不亮，疑为批量质量问题，请技术部现场核实")
    return True


async def open_window_offices(moment: datetime | None = None) -> list[str]:
    """English names of the demo offices and agents whose regular window is open at `moment`
    (printed by `portal demo`)."""
    moment = moment or clock.now()
    today = clock.china_today(moment)
    weeks = await weeks_on(today)
    rows = await raw_fetch("SELECT name_en, region FROM organisation "
                           "WHERE kind IN ('office', 'agent') AND active ORDER BY id")
    return [r["name_en"] for r in rows
            if (window := rules.window_in_month(today, weeks.get(r["region"]))) is not None
            and window.contains(moment)]
