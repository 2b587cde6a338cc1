"""JSON twins of the HQ data pages under /api/v1/settlements (settlements.hq_routes): the same
input models (settlements.inputs), services and rules; amounts in integer fen."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery, JSONBody

from dealers.batch_lines import LineErrors
from portal import clock
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.spreadsheets import BODY_LIMIT
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from settlements import adjustments, hq_queries, payouts, queries, service
from settlements.hq_routes import decide, import_file, set_policy
from settlements.inputs import (
    AdjustmentIn,
    CreditPriceIn,
    DecisionIn,
    PayoutAccountIn,
    RebatePolicyIn,
    VolumesIn,
)


def finance_reader(request: Request) -> None:
    if not current_actor(request).has("hq_finance", "auditor"):
        raise PermissionDeniedException("Your role may not open this page.")


def _reader(request: Request, *roles: str) -> None:
    if not current_actor(request).has(*roles):  # as the page
        raise PermissionDeniedException("Your role may not open this page.")


def _policy_out(policy: dict) -> dict:
    return {k: policy[k] for k in ("id", "effective_from", "tiers", "reason", "created_by",
                                   "created_name", "created_at")}


class SettlementsApi(Controller):
    path = "/api/v1/settlements"
    guards = [api_token_required]
    tags = ["statements"]
    request_max_body_size = JSON_MAX_BYTES  # the volume upload sets its own

    @get("/adjustments")
    async def adjustments(self, request: Request, status: FromQuery[str | None] = None,
                          after: FromQuery[int | None] = None) -> list[dict]:
        finance_reader(request)
        rows = await hq_queries.list_adjustments(status=status, after_id=after)
        return [{k: r[k] for k in ("id", "dealer", "kind", "amount_fen", "reason", "corrects",
                                   "status", "requested_by", "decided_by", "decision_reason",
                                   "statement_id")} for r in rows]

    @post("/adjustments", status_code=201)
    async def request_adjustment(self, request: Request, data: JSONBody[AdjustmentIn]) -> dict:
        return {"adjustment_id": await adjustments.request_adjustment(
            actor=current_actor(request), **asdict(data))}

    @post("/adjustments/{adjustment_id:int}/decide", status_code=200)
    async def decide_adjustment(self, request: Request, adjustment_id: FromPath[int],
                                data: JSONBody[DecisionIn]) -> dict:
        approved = await decide(current_actor(request), adjustment_id, data)
        return {"adjustment_id": adjustment_id, "status": "approved" if approved else "refused"}

    @post("/volumes", status_code=201, request_max_body_size=BODY_LIMIT)
    async def import_volumes(self, request: Request, data: Annotated[
            VolumesIn, Body(media_type=RequestEncodingType.MULTI_PART)]) -> dict:
        """An XLSX or CSV file (multipart field `file`) for `period`: every bad row is reported
        (422, fields `row N dealer|amount`) and nothing is imported until the file is clean."""
        try:
            return {"imported": await import_file(current_actor(request), data)}
        except LineErrors as exc:
            raise ValidationFailed({f"row {row} {field}": message
                                    for row, errors in sorted(exc.problems.items())
                                    for field, message in errors.items()}) from None

    @get("/credit-prices")
    async def credit_prices(self, request: Request) -> list[dict]:
        _reader(request, "hq_admin", "hq_finance", "auditor")
        return [{k: r[k] for k in ("id", "product", "model", "price_fen", "effective_from",
                                   "reason")} for r in await hq_queries.credit_prices()]

    @post("/credit-prices", status_code=201)
    async def set_credit_price(self, request: Request, data: JSONBody[CreditPriceIn]) -> dict:
        await service.set_credit_price(actor=current_actor(request), **asdict(data))
        return {"product_id": data.product_id, "price_fen": data.price_fen,
                "effective_from": data.effective_from}

    @get("/rebate-policies")
    async def rebate_policies(self, request: Request, month: FromQuery[date | None] = None) -> dict:
        """R26: the policy in force on `month` (default: this month) and the history."""
        _reader(request, "hq_admin", "hq_finance", "hq_cs", "auditor")
        in_force = await hq_queries.rebate_policy_in_force(month or clock.china_today())
        return {"in_force": _policy_out(in_force) if in_force else None,
                "history": [_policy_out(p) for p in await hq_queries.rebate_policies()]}

    @post("/rebate-policies", status_code=201)
    async def set_rebate_policy(self, request: Request, data: JSONBody[RebatePolicyIn]) -> dict:
        tiers = await set_policy(current_actor(request), data)
        return {"effective_from": data.effective_from, "reason": data.reason.strip(),
                "tiers": [{"from_fen": t.from_fen, "rate_bp": t.rate_bp} for t in tiers]}

    @get("/payout-accounts")
    async def payout_accounts(self, request: Request) -> list[dict]:
        finance_reader(request)
        return [{k: r[k] for k in ("id", "dealer", "stripe_account", "bank_name", "bank_account",
                                   "current")} for r in await hq_queries.payout_accounts()]

    @post("/payout-accounts", status_code=201)
    async def set_payout_account(self, request: Request, data: JSONBody[PayoutAccountIn]) -> dict:
        account_id = await payouts.set_payout_account(actor=current_actor(request), **asdict(data))
        return {"id": account_id, "dealer": data.dealer_id}

    @get("/repair-points/{point_id:int}/fees")
    async def fee_lines(self, request: Request, point_id: FromPath[int]) -> list[dict]:
        """R24: the point's fee lines, statement by statement."""
        _, rows = await queries.fee_lines_for_point(current_actor(request), point_id)
        return [{"id": r["id"], "amount_fen": r["amount_fen"], "period": r["period"],
                 "status": r["status"],
                 "statement_id": r["statement_id"] if r["statement_visible"] else None}
                for r in rows]
