"""JSON twins of every statement action under /api/v1 (issue 5 §7): the same input models
(settlements.inputs), services, rules and messages as the pages, one route per action; amounts
in integer fen. The HQ data behind the statements is settlements.hq_api."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery, JSONBody

from portal import i18n, listing
from portal.actor import Actor
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.openapi import PAYMENT_RESPONSES
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from settlements import close, payouts, queries
from settlements import statements as approval
from settlements.downloads import line_source
from settlements.hq_api import SettlementsApi, finance_reader
from settlements.inputs import BankPaymentIn, BulkIn, CloseIn, CorrectionIn
from settlements.statement_actions import act_on_selection, ask_correction
from settlements.statement_pages import download_response, statement_filters

__all__ = ["SettlementsApi", "StatementApi"]  # both registered by portal/app.py from here

_STATEMENT_KEYS = ("id", "number", "dealer", "dealer_name", "period", "status", "total_fen",
                   "created_at", "fees_reviewed_at", "approved_at", "second_approved_at",
                   "payout_id", "payout_method", "payout_status")


def _statement_out(row: dict) -> dict:
    return {k: row[k] for k in _STATEMENT_KEYS}


def _line_out(line: dict) -> dict:
    return {"id": line["id"], "kind": line["kind"], "source_type": line["source_type"],
            "source_id": line["source_id"], "amount_fen": line["amount_fen"],
            "description": line_source(line), "link": line["link"],
            "repair_point_id": line["repair_point"], "batch_id": line["batch_id"],
            "purchase_volume_fen": line["volume_fen"], "reason": line["adjustment_reason"],
            "corrects_statement_id": line["corrects_id"]}


async def _acted(request: Request, statement_id: int, run: Callable[[Actor], Awaitable[Any]],
                 *, answer: str | None = None) -> dict:
    """Scope first (R1: not found before any rule), the action, then the statement as it is
    now (with what the action returned under `answer`)."""
    actor = current_actor(request)
    await queries.get_statement(actor, statement_id)
    result = await run(actor)
    out = _statement_out(await queries.get_statement(actor, statement_id))
    return out | {answer: result} if answer else out


class StatementApi(Controller):
    path = "/api/v1/statements"
    guards = [api_token_required]
    tags = ["statements"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_statements(self, request: Request, number: FromQuery[str | None] = None,
                              org_name: FromQuery[str | None] = None, period_from: FromQuery[str | None] = None,
                              period_to: FromQuery[str | None] = None, period: FromQuery[str | None] = None,
                              status: FromQuery[str | None] = None, waiting: FromQuery[str | None] = None,
                              org: FromQuery[int | None] = None, after: FromQuery[int | None] = None) -> list[dict]:
        """The list page's search, read by the same parser (settlements.statement_pages
        .statement_filters): `number` a statement number or its start (ST-202611); `org_name`
        part of the dealer's name; `period_from`/`period_to`/`period` months (YYYY-MM);
        `org` a dealer's id; `after` the last id of the previous page. Newest first."""
        filters, _, errors = statement_filters(request.query_params)
        after_id = listing.int_param(request.query_params, "after", errors)
        if errors:
            raise ValidationFailed(errors)
        rows = await queries.list_statements(current_actor(request), after_id=after_id,
                                             **filters)
        return [_statement_out(r) | {"lines": r["line_count"]} for r in rows]

    @post("/bulk", status_code=200)
    async def bulk_action(self, request: Request, data: JSONBody[BulkIn]) -> list[dict]:
        """Finance acts on a selection (at most 200): each statement through its own
        single-statement rules and transaction, one result each (`result`: approved,
        second_approval, paid, pending or refused, with the `reason`); an id you may not see
        is refused as not found. As the page's "Approve selected" and its neighbours."""
        if not current_actor(request).has("hq_finance"):
            raise PermissionDeniedException("Your role may not open this page.")
        return [{"statement_id": o.statement_id, "number": o.number, "result": o.result,
                 "reason": o.reason} for o in await act_on_selection(request, data)]

    @get("/totals")
    async def totals(self, request: Request, period: FromQuery[date]) -> dict:
        finance_reader(request)
        return await queries.period_totals(period)

    @get("/{statement_id:int}")
    async def detail(self, request: Request, statement_id: FromPath[int]) -> dict:
        actor = current_actor(request)
        statement, lines = await queries.statement_with_lines(actor, statement_id)
        return _statement_out(statement) | {
            "payouts": statement["payouts"], "lines": [_line_out(l) for l in lines],
            "balance_fen": await queries.dealer_balance(actor, statement["dealer"],
                                                        statement["dealer_path"])}

    @get("/{statement_id:int}/download")
    async def download(self, request: Request, statement_id: FromPath[int], format: FromQuery[str] = "xlsx",
                       lang: FromQuery[str | None] = None) -> Response:
        """XLSX or CSV in `lang` (zh_CN or en), else the language of Accept-Language."""
        if format not in ("xlsx", "csv"):
            raise ValidationFailed({"format": "Choose xlsx or csv."})
        statement, lines = await queries.statement_with_lines(current_actor(request),
                                                              statement_id)
        return download_response(statement, lines, format,
                                 lang if lang in i18n.LOCALES else i18n.current_locale.get())

    @post("/close", status_code=202)
    async def close(self, request: Request, data: JSONBody[CloseIn]) -> dict:
        run_id = await close.start_close(actor=current_actor(request), period=data.period)
        return {"run_id": run_id, "progress": f"/api/v1/statements/close/{run_id}"}

    @get("/close/{run_id:int}")
    async def progress(self, request: Request, run_id: FromPath[int]) -> dict:
        finance_reader(request)
        return await close.close_progress(run_id)

    # one route per action, as on the page; each answers the statement as it is now
    @post("/{statement_id:int}/review", status_code=200)
    async def review(self, request: Request, statement_id: FromPath[int]) -> dict:
        return await _acted(request, statement_id, lambda actor: approval.review_fees(
            actor=actor, statement_id=statement_id))

    @post("/{statement_id:int}/approve", status_code=200)
    async def approve(self, request: Request, statement_id: FromPath[int]) -> dict:
        return await _acted(request, statement_id, lambda actor: approval.approve_statement(
            actor=actor, statement_id=statement_id))

    @post("/{statement_id:int}/second-approval", status_code=200)
    async def second_approval(self, request: Request, statement_id: FromPath[int]) -> dict:
        return await _acted(request, statement_id, lambda actor: approval.second_approve(
            actor=actor, statement_id=statement_id))

    @post("/{statement_id:int}/pay", status_code=200, responses=PAYMENT_RESPONSES)
    async def pay(self, request: Request, statement_id: FromPath[int]) -> dict:
        """R27: a Stripe Connect transfer; `pending` means the answer is being reconciled."""
        return await _acted(request, statement_id, lambda actor: payouts.pay_statement(
            request.app.state.settings, actor=actor, statement_id=statement_id), answer="payout")

    @post("/{statement_id:int}/bank-payment", status_code=200)
    async def bank_payment(self, request: Request, statement_id: FromPath[int],
                           data: JSONBody[BankPaymentIn]) -> dict:
        return await _acted(request, statement_id, lambda actor: payouts.record_bank_payment(
            actor=actor, statement_id=statement_id, reference=data.reference))

    @post("/{statement_id:int}/adjustment", status_code=201)
    async def adjustment(self, request: Request, statement_id: FromPath[int], data: JSONBody[CorrectionIn]) -> dict:
        """An adjustment or charge for the statement's dealer correcting it, decided by a
        second finance colleague (as POST /api/v1/settlements/adjustments)."""
        return {"adjustment_id": await ask_correction(current_actor(request), statement_id,
                                                      data)}
