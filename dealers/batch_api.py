"""JSON twins of every batch action under /api/v1: same services, same rules, same messages."""
from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, field
from datetime import date

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from dealers import batch_lines, batches, dock_counts, queries, receiving, rules
from dealers.batch_listing import batch_filters
from dealers.inputs import ApproveIn, ArriveIn, DispatchIn, DisposeIn, LineCountIn, ReasonIn
from portal import clock, listing
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.validation import BULK_JSON_BYTES, JSON_MAX_BYTES
from portal.web import current_actor

_LIST_FIELDS = ("id", "number", "organisation", "month", "status", "lines", "filed", "received",
                "breaching")
_list_fields = operator.itemgetter(*_LIST_FIELDS)  # the JSON list's fields of a row, in one call


@dataclass
class LineIn:
    product_id: int
    quantity: int
    reason_id: int | None = None
    reason_text: str = ""
    date_code: str | None = None  # YYYYMMDD, as printed on CFLs (R18d)
    purchase_date: date | None = None
    lights: bool = False
    cap_percent: int | None = None
    tube_greyed: bool = False
    bridge_blackened: bool = False
    broken: bool = False


@dataclass
class LinesIn:
    lines: list[LineIn]


@dataclass
class ConditionIn:
    lights: bool = False
    cap_percent: int | None = None
    tube_greyed: bool = False
    bridge_blackened: bool = False
    broken: bool = False

    def to_rule(self) -> rules.Condition:
        return rules.Condition(self.lights, self.cap_percent, self.tube_greyed,
                               self.bridge_blackened, self.broken)


@dataclass
class CountIn:
    line_id: int
    received_qty: int
    condition: ConditionIn = field(default_factory=ConditionIn)


@dataclass
class ExtraIn:
    product_id: int
    received_qty: int
    condition: ConditionIn = field(default_factory=ConditionIn)


@dataclass
class ReceiveIn:
    counts: list[CountIn]
    extras: list[ExtraIn] = field(default_factory=list)


@dataclass
class DecisionIn:
    line_id: int
    exchanged: int
    credited: int
    rejected: int
    reject_reason_id: int | None = None
    note: str = ""


@dataclass
class DecideIn:
    decisions: list[DecisionIn]


def _line(raw: LineIn, index: int) -> batch_lines.LineInput:
    code = None
    if raw.date_code:
        try:
            code = rules.parse_date_code(raw.date_code)
        except ValueError:
            raise batch_lines.LineErrors({index: {
                "date_code": "Date codes look like 20250315 (year, month, day)."}}) from None
    return batch_lines.LineInput(raw.product_id, raw.quantity, raw.reason_id, raw.reason_text, code,
                             raw.purchase_date, raw.lights, raw.cap_percent, raw.tube_greyed,
                             raw.bridge_blackened, raw.broken)


def _batch_out(batch: dict) -> dict:
    keys = ("id", "number", "organisation", "month", "kind", "status", "disposition",
            "refused_reason", "carrier", "waybill", "packages", "freight_fen", "dispatched_on",
            "arrived_at", "received_at", "decided_at")
    return {k: batch[k] for k in keys}


class BatchApi(Controller):
    path = "/api/v1/batches"
    guards = [api_token_required]
    tags = ["return batches"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_batches(self, request: Request, queue: FromQuery[str | None] = None,
                           status: FromQuery[str | None] = None, number: FromQuery[str | None] = None,
                           org_name: FromQuery[str | None] = None, month: FromQuery[str | None] = None,
                           month_from: FromQuery[str | None] = None, month_to: FromQuery[str | None] = None,
                           submitted_from: FromQuery[str | None] = None, submitted_to: FromQuery[str | None] = None,
                           org: FromQuery[int | None] = None, product: FromQuery[int | None] = None,
                           after: FromQuery[int | None] = None) -> list[dict]:
        """The list page's search, read by the same parser (dealers.batch_routes
        .batch_filters): `number` a batch number or its start (RB202611); `org_name` part of
        the organisation's name; `month_from`/`month_to`/`month` months (YYYY-MM);
        `submitted_from`/`submitted_to` China dates (YYYY-MM-DD, inclusive); `org` and
        `product` ids; `after` the last id of the previous page. Newest first."""
        filters, _, errors = batch_filters(request.query_params)
        after_id = listing.int_param(request.query_params, "after", errors)
        if errors:
            raise ValidationFailed(errors)
        rows = await queries.list_batches(actor=current_actor(request), now=clock.now(),
                                          after_id=after_id, **filters)
        return [dict(zip(_LIST_FIELDS, _list_fields(r), strict=True)) for r in rows]

    @post("/", status_code=201)
    async def draft(self, request: Request, special_approval_id: FromQuery[int | None] = None) -> dict:
        actor = current_actor(request)
        batch_id = await batches.create_draft(actor=actor, special_approval_id=special_approval_id)
        return _batch_out(await batches.get_batch(actor=actor, batch_id=batch_id))

    @get("/{batch_id:int}")
    async def detail(self, request: Request, batch_id: FromPath[int]) -> dict:
        actor = current_actor(request)
        batch = await batches.get_batch(actor=actor, batch_id=batch_id)
        lines = await queries.lines_with_verdicts(batch_id)
        out = _batch_out(batch)
        out["lines"] = [{
            "id": l["id"], "line_no": l["line_no"], "model": l["model"], "quantity": l["quantity"],
            "extra": l["extra"], "received_qty": l["received_qty"],
            "exchanged_qty": l["exchanged_qty"], "credited_qty": l["credited_qty"],
            "rejected_qty": l["rejected_qty"], "reject_reason": l["reject_code"],
            "expected_verdict": l["verdict"].code if l["verdict"] else None,
            "verdict_reasons": list(l["verdict"].reasons) if l["verdict"] else [],
        } for l in lines]
        return out

    @post("/{batch_id:int}/lines", status_code=201, request_max_body_size=BULK_JSON_BYTES)
    async def add_lines(self, request: Request, batch_id: FromPath[int], data: JSONBody[LinesIn]) -> dict:
        lines = [_line(raw, i) for i, raw in enumerate(data.lines, start=1)]
        added = await batch_lines.add_lines(actor=current_actor(request), batch_id=batch_id,
                                        lines=lines)
        return {"added": added}

    @post("/{batch_id:int}/lines/{line_id:int}/delete", status_code=200)
    async def remove_line(self, request: Request, batch_id: FromPath[int], line_id: FromPath[int]) -> dict:
        await batch_lines.remove_line(actor=current_actor(request), batch_id=batch_id, line_id=line_id)
        return {"removed": line_id}

    # one route per action, as on the page; each answers the batch as it is now
    @post("/{batch_id:int}/submit", status_code=200)
    async def submit(self, request: Request, batch_id: FromPath[int]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.submit_batch(
            actor=actor, batch_id=batch_id))

    @post("/{batch_id:int}/sign", status_code=200)
    async def sign(self, request: Request, batch_id: FromPath[int], data: JSONBody[ReasonIn]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.sign_batch(
            actor=actor, batch_id=batch_id, note=data.reason))

    @post("/{batch_id:int}/return", status_code=200)
    async def send_back(self, request: Request, batch_id: FromPath[int], data: JSONBody[ReasonIn]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.return_to_draft(
            actor=actor, batch_id=batch_id, reason=data.reason))

    @post("/{batch_id:int}/approve", status_code=200)
    async def approve(self, request: Request, batch_id: FromPath[int], data: JSONBody[ApproveIn]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.approve_batch(
            actor=actor, batch_id=batch_id, disposition=data.disposition, note=data.reason))

    @post("/{batch_id:int}/refuse", status_code=200)
    async def refuse(self, request: Request, batch_id: FromPath[int], data: JSONBody[ReasonIn]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.refuse_batch(
            actor=actor, batch_id=batch_id, reason=data.reason))

    @post("/{batch_id:int}/withdraw", status_code=200)
    async def withdraw(self, request: Request, batch_id: FromPath[int], data: JSONBody[ReasonIn]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.withdraw_batch(
            actor=actor, batch_id=batch_id, reason=data.reason))

    @post("/{batch_id:int}/dispose", status_code=200)
    async def dispose(self, request: Request, batch_id: FromPath[int], data: JSONBody[DisposeIn]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.record_disposal(
            actor=actor, batch_id=batch_id, evidence=data.evidence))

    @post("/{batch_id:int}/dispatch", status_code=200)
    async def dispatch(self, request: Request, batch_id: FromPath[int], data: JSONBody[DispatchIn]) -> dict:
        return await _acted(request, batch_id, lambda actor: batches.dispatch_batch(
            actor=actor, batch_id=batch_id, **asdict(data)))

    @post("/arrivals", status_code=200)
    async def arrive(self, request: Request, data: JSONBody[ArriveIn]) -> dict:
        return _batch_out(await receiving.arrive(actor=current_actor(request), number=data.number,
                                                 note=data.note))

    @post("/{batch_id:int}/receive", status_code=200, request_max_body_size=BULK_JSON_BYTES)
    async def receive(self, request: Request, batch_id: FromPath[int], data: JSONBody[ReceiveIn]) -> dict:
        differences = await receiving.receive_batch(
            actor=current_actor(request), batch_id=batch_id,
            counts=[receiving.Count(c.line_id, c.received_qty, c.condition.to_rule())
                    for c in data.counts],
            extras=[receiving.ExtraGoods(e.product_id, e.received_qty, e.condition.to_rule())
                    for e in data.extras])
        return {"differences": differences}

    @post("/{batch_id:int}/counts", status_code=200)
    async def count_line(self, request: Request, batch_id: FromPath[int],
                         data: JSONBody[LineCountIn]) -> dict:
        """One line's count with its idempotency key and the version it was counted on (R12):
        a key is applied once; `state` is "applied", or "conflict" (someone counted the line
        meanwhile: nothing changed; their count and name are returned)."""
        return await dock_counts.record_count(actor=current_actor(request), batch_id=batch_id,
                                              count=dock_counts.line_count(data))

    @post("/{batch_id:int}/decide", status_code=200, request_max_body_size=BULK_JSON_BYTES)
    async def decide(self, request: Request, batch_id: FromPath[int], data: JSONBody[DecideIn]) -> dict:
        actor = current_actor(request)
        await receiving.decide_batch(actor=actor, batch_id=batch_id, decisions=[
            receiving.Decision(d.line_id, d.exchanged, d.credited, d.rejected,
                               d.reject_reason_id, d.note) for d in data.decisions])
        return _batch_out(await batches.get_batch(actor=actor, batch_id=batch_id))


async def _acted(request: Request, batch_id: int, run) -> dict:
    actor = current_actor(request)
    await run(actor)
    return _batch_out(await batches.get_batch(actor=actor, batch_id=batch_id))
