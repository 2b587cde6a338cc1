"""JSON twins of every statement action under /api/v1 (issue 5 §7): the same services, rules
and messages as the pages; amounts in integer fen."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body

from dealers.batch_lines import LineErrors
from portal import clock, i18n, listing
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.forms import text
from portal.openapi import PAYMENT_RESPONSES
from portal.spreadsheets import BODY_LIMIT
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from settlements import adjustments, bulk, close, payouts, queries, rules, service, volume_import
from settlements import statements as approval
from settlements.downloads import line_source
from settlements.routes import download_response, statement_filters


@dataclass
class CloseIn:
    period: date  # any day of the month to close


@dataclass
class BankPaymentIn:
    reference: str


@dataclass
class BulkIn:
    action: str      # approve | bank-payment | pay
    ids: list[int]   # statement ids, at most 200 distinct (bulk.MAX_SELECTION)
    reference: str = ""  # bank-payment: the transfer run's reference


@dataclass
class AdjustmentIn:
    dealer_id: int
    kind: str  # adjustment | charge
    amount_fen: int  # signed: owed to the dealer (+) or by the dealer (-)
    reason: str
    corrects_statement_id: int | None = None


@dataclass
class DecisionIn:
    approve: bool
    reason: str = ""


@dataclass
class VolumesIn:
    period: date
    file: UploadFile


@dataclass
class CreditPriceIn:
    product_id: int
    price_fen: int
    effective_from: date
    reason: str


@dataclass
class TierIn:
    from_fen: int  # purchases of the month from this amount...
    rate_bp: int   # ...earn this rate (basis points: 1250 = 12.5 %) on all of them


@dataclass
class RebatePolicyIn:
    effective_from: date  # the first of a future month
    tiers: list[TierIn]
    reason: str


@dataclass
class PayoutAccountIn:
    dealer_id: int
    stripe_account: str = ""
    bank_name: str = ""
    bank_account: str = ""


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


class StatementApi(Controller):
    path = "/api/v1/statements"
    guards = [api_token_required]
    tags = ["statements"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_statements(self, request: Request, number: str | None = None,
                              org_name: str | None = None, period_from: str | None = None,
                              period_to: str | None = None, period: str | None = None,
                              status: str | None = None, waiting: str | None = None,
                              org: int | None = None, after: int | None = None) -> list[dict]:
        """The list page's search, read by the same parser (settlements.routes
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
    async def bulk_action(self, request: Request, data: BulkIn) -> list[dict]:
        """Finance acts on a selection (at most 200): each statement through its own
        single-statement rules and transaction, one result each (`result`: approved,
        second_approval, paid, pending or refused, with the `reason`); an id you may not see
        is refused as not found. As the page's "Approve selected" and its neighbours."""
        actor = current_actor(request)
        if not actor.has("hq_finance"):
            raise PermissionDeniedException("Your role may not open this page.")
        outcomes = await bulk.act_on_selection(
            actor=actor, settings=request.app.state.settings, action=data.action,
            ids=data.ids, reference=text({"reference": data.reference}, "reference", 60,
                                         multiline=False))
        return [{"statement_id": o.statement_id, "number": o.number, "result": o.result,
                 "reason": o.reason} for o in outcomes]

    @get("/totals")
    async def totals(self, request: Request, period: date) -> dict:
        _hq_finance_reader(request)
        return await queries.period_totals(period)

    @get("/{statement_id:int}")
    async def detail(self, request: Request, statement_id: int) -> dict:
        actor = current_actor(request)
        statement, lines = await queries.statement_with_lines(actor, statement_id)
        return _statement_out(statement) | {
            "payouts": statement["payouts"], "lines": [_line_out(l) for l in lines],
            "balance_fen": await queries.dealer_balance(actor, statement["dealer"],
                                                        statement["dealer_path"])}

    @get("/{statement_id:int}/download")
    async def download(self, request: Request, statement_id: int, format: str = "xlsx",
                       lang: str | None = None) -> Response:
        """XLSX or CSV in `lang` (zh_CN or en), else the language of Accept-Language."""
        if format not in ("xlsx", "csv"):
            raise ValidationFailed({"format": "Choose xlsx or csv."})
        statement, lines = await queries.statement_with_lines(current_actor(request),
                                                              statement_id)
        return download_response(statement, lines, format,
                                 lang if lang in i18n.LOCALES else i18n.current_locale.get())

    @post("/close", status_code=202)
    async def close(self, request: Request, data: CloseIn) -> dict:
        run_id = await close.start_close(actor=current_actor(request), period=data.period)
        return {"run_id": run_id, "progress": f"/api/v1/statements/close/{run_id}"}

    @get("/close/{run_id:int}")
    async def progress(self, request: Request, run_id: int) -> dict:
        _hq_finance_reader(request)
        return await close.close_progress(run_id)

    async def _after(self, request: Request, statement_id: int) -> dict:
        return _statement_out(await queries.get_statement(current_actor(request), statement_id))

    @post("/{statement_id:int}/review", status_code=200)
    async def review(self, request: Request, statement_id: int) -> dict:
        await queries.get_statement(current_actor(request), statement_id)
        await approval.review_fees(actor=current_actor(request), statement_id=statement_id)
        return await self._after(request, statement_id)

    @post("/{statement_id:int}/approve", status_code=200)
    async def approve(self, request: Request, statement_id: int) -> dict:
        await queries.get_statement(current_actor(request), statement_id)
        await approval.approve_statement(actor=current_actor(request), statement_id=statement_id)
        return await self._after(request, statement_id)

    @post("/{statement_id:int}/second-approval", status_code=200)
    async def second_approval(self, request: Request, statement_id: int) -> dict:
        await queries.get_statement(current_actor(request), statement_id)
        await approval.second_approve(actor=current_actor(request), statement_id=statement_id)
        return await self._after(request, statement_id)

    @post("/{statement_id:int}/pay", status_code=200, responses=PAYMENT_RESPONSES)
    async def pay(self, request: Request, statement_id: int) -> dict:
        """R27: a Stripe Connect transfer; `pending` means the answer is being reconciled."""
        await queries.get_statement(current_actor(request), statement_id)
        payout = await payouts.pay_statement(request.app.state.settings,
                                             actor=current_actor(request),
                                             statement_id=statement_id)
        return await self._after(request, statement_id) | {"payout": payout}

    @post("/{statement_id:int}/bank-payment", status_code=200)
    async def bank_payment(self, request: Request, statement_id: int,
                           data: BankPaymentIn) -> dict:
        await queries.get_statement(current_actor(request), statement_id)
        await payouts.record_bank_payment(actor=current_actor(request), statement_id=statement_id,
                                          reference=data.reference)
        return await self._after(request, statement_id)


class SettlementsApi(Controller):
    path = "/api/v1/settlements"
    guards = [api_token_required]
    tags = ["statements"]
    request_max_body_size = JSON_MAX_BYTES  # the volume upload sets its own

    @get("/adjustments")
    async def adjustments(self, request: Request, status: str | None = None,
                          after: int | None = None) -> list[dict]:
        _hq_finance_reader(request)
        rows = await queries.list_adjustments(status=status, after_id=after)
        return [{k: r[k] for k in ("id", "dealer", "kind", "amount_fen", "reason", "corrects",
                                   "status", "requested_by", "decided_by", "decision_reason",
                                   "statement_id")} for r in rows]

    @post("/adjustments", status_code=201)
    async def request_adjustment(self, request: Request, data: AdjustmentIn) -> dict:
        return {"adjustment_id": await adjustments.request_adjustment(
            actor=current_actor(request), dealer_id=data.dealer_id, kind=data.kind,
            amount_fen=data.amount_fen, reason=data.reason,
            corrects_statement_id=data.corrects_statement_id)}

    @post("/adjustments/{adjustment_id:int}/decide", status_code=200)
    async def decide_adjustment(self, request: Request, adjustment_id: int,
                                data: DecisionIn) -> dict:
        await adjustments.decide_adjustment(actor=current_actor(request),
                                            adjustment_id=adjustment_id, approve=data.approve,
                                            reason=data.reason)
        return {"adjustment_id": adjustment_id, "status": "approved" if data.approve else "refused"}

    @post("/volumes", status_code=201, request_max_body_size=BODY_LIMIT)
    async def import_volumes(self, request: Request, data: Annotated[
            VolumesIn, Body(media_type=RequestEncodingType.MULTI_PART)]) -> dict:
        """An XLSX or CSV file (multipart field `file`) for `period`: every bad row is reported
        (422, fields `row N dealer|amount`) and nothing is imported until the file is clean."""
        try:
            count = await volume_import.import_volumes(
                actor=current_actor(request), period=data.period.replace(day=1),
                filename=data.file.filename or "", content=await data.file.read())
        except LineErrors as exc:
            raise ValidationFailed({f"row {row} {field}": message
                                    for row, errors in sorted(exc.problems.items())
                                    for field, message in errors.items()}) from None
        return {"imported": count}

    @get("/credit-prices")
    async def credit_prices(self, request: Request) -> list[dict]:
        if not current_actor(request).has("hq_admin", "hq_finance", "auditor"):  # as the page
            raise PermissionDeniedException("Your role may not open this page.")
        return [{k: r[k] for k in ("id", "product", "model", "price_fen", "effective_from",
                                   "reason")} for r in await queries.credit_prices()]

    @post("/credit-prices", status_code=201)
    async def set_credit_price(self, request: Request, data: CreditPriceIn) -> dict:
        await service.set_credit_price(actor=current_actor(request), product_id=data.product_id,
                                       price_fen=data.price_fen,
                                       effective_from=data.effective_from, reason=data.reason)
        return {"product_id": data.product_id, "price_fen": data.price_fen,
                "effective_from": data.effective_from}

    @get("/rebate-policies")
    async def rebate_policies(self, request: Request, month: date | None = None) -> dict:
        """R26: the policy in force on `month` (default: this month) and the history."""
        if not current_actor(request).has("hq_admin", "hq_finance", "hq_cs", "auditor"):
            raise PermissionDeniedException("Your role may not open this page.")
        in_force = await queries.rebate_policy_in_force(month or clock.china_today())
        return {"in_force": _policy_out(in_force) if in_force else None,
                "history": [_policy_out(p) for p in await queries.rebate_policies()]}

    @post("/rebate-policies", status_code=201)
    async def set_rebate_policy(self, request: Request, data: RebatePolicyIn) -> dict:
        tiers = [rules.Tier(from_fen=t.from_fen, rate_bp=t.rate_bp) for t in data.tiers]
        await service.set_rebate_policy(actor=current_actor(request),
                                        effective_from=data.effective_from, tiers=tiers,
                                        reason=data.reason)
        return {"effective_from": data.effective_from, "reason": data.reason.strip(),
                "tiers": [{"from_fen": t.from_fen, "rate_bp": t.rate_bp} for t in tiers]}

    @get("/payout-accounts")
    async def payout_accounts(self, request: Request) -> list[dict]:
        _hq_finance_reader(request)
        return [{k: r[k] for k in ("id", "dealer", "stripe_account", "bank_name", "bank_account",
                                   "current")} for r in await queries.payout_accounts()]

    @post("/payout-accounts", status_code=201)
    async def set_payout_account(self, request: Request, data: PayoutAccountIn) -> dict:
        account_id = await payouts.set_payout_account(
            actor=current_actor(request), dealer_id=data.dealer_id,
            stripe_account=data.stripe_account, bank_name=data.bank_name,
            bank_account=data.bank_account)
        return {"id": account_id, "dealer": data.dealer_id}

    @get("/repair-points/{point_id:int}/fees")
    async def fee_lines(self, request: Request, point_id: int) -> list[dict]:
        """R24: the point's fee lines, statement by statement."""
        _, rows = await queries.fee_lines_for_point(current_actor(request), point_id)
        return [{"id": r["id"], "amount_fen": r["amount_fen"], "period": r["period"],
                 "status": r["status"],
                 "statement_id": r["statement_id"] if r["statement_visible"] else None}
                for r in rows]


def _policy_out(policy: dict) -> dict:
    return {k: policy[k] for k in ("id", "effective_from", "tiers", "reason", "created_by",
                                   "created_name", "created_at")}


def _hq_finance_reader(request: Request) -> None:
    if not current_actor(request).has("hq_finance", "auditor"):
        raise PermissionDeniedException("Your role may not open this page.")
