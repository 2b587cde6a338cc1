"""The HQ data behind statements, as pages: adjustments and charges (asked by one person,
decided by another), purchase-volume imports (every bad row by number, nothing imported until
the file is clean), credit prices with history (R13), rebate policies with history (R26), payout
accounts (R27); and a repair point's own fee lines (R24). Each action reads its input model
(settlements.inputs, shared with its API twin, settlements.hq_api) and answers through
portal.actions.act."""
from __future__ import annotations

import functools
from dataclasses import asdict

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers.batch_lines import LineErrors
from portal import clock
from portal.actions import act
from portal.actor import Actor
from portal.catalog import list_products
from portal.errors import PortalError, ValidationFailed
from portal.forms import query_int
from portal.i18n import gettext
from portal.spreadsheets import BODY_LIMIT
from portal.web import current_actor, done, login_required, render, roles_required
from settlements import adjustments, downloads, hq_queries, payouts, queries, service, volume_import
from settlements.inputs import (
    TIER_ROWS,
    AdjustmentIn,
    CreditPriceIn,
    DecisionIn,
    PayoutAccountIn,
    RebatePolicyIn,
    VolumesIn,
    parse_month,
    policy_input,
    volumes_input,
)
from settlements.rules import Tier
from settlements.statement_pages import last_month

FINANCE = roles_required("hq_finance")
FINANCE_READ = roles_required("hq_finance", "auditor")
ADMIN_READ = roles_required("hq_admin", "hq_finance", "auditor")
POLICY_READ = roles_required("hq_admin", "hq_finance", "hq_cs", "auditor")
ADMIN = roles_required("hq_admin")
# What the adjustments page says once a second finance colleague decided.
DECIDED = {True: "Adjustment approved: it goes into the dealer's next statement.",
           False: "Adjustment refused."}


# --- what the page and its API twin both run -------------------------------------------------

async def decide(actor: Actor, adjustment_id: int, data: DecisionIn) -> bool:
    """R26: a second finance user approves or refuses; returns whether it was approved."""
    await adjustments.decide_adjustment(actor=actor, adjustment_id=adjustment_id, **asdict(data))
    return data.approve


async def import_file(actor: Actor, data: VolumesIn) -> int:
    """All or nothing (LineErrors with every bad row); returns how many were imported."""
    return await volume_import.import_volumes(
        actor=actor, period=data.period.replace(day=1), filename=data.file.filename or "",
        content=await data.file.read())


async def set_policy(actor: Actor, data: RebatePolicyIn) -> list[Tier]:
    tiers = [Tier(from_fen=t.from_fen, rate_bp=t.rate_bp) for t in data.tiers]
    await service.set_rebate_policy(actor=actor, effective_from=data.effective_from, tiers=tiers,
                                    reason=data.reason)
    return tiers


def row_messages(exc: LineErrors) -> list[str]:
    """'Row 3: …' for every bad row of an import, in the reader's language."""
    return [gettext("Row %(row)s: %(problem)s", row=row, problem=gettext(message))
            for row, errors in sorted(exc.problems.items()) for message in errors.values()]


# --- the pages -----------------------------------------------------------------------------------

async def adjustments_page(request: Request, status_code: int = 200, errors=None,
                           form=None) -> Response:
    return render(request, "settlements/adjustments.html", status_code=status_code,
                  rows=await hq_queries.list_adjustments(
                      status=request.query_params.get("status"),
                      after_id=query_int(request, "after")),
                  errors=errors or {}, form=form or {})


async def volumes_page(request: Request, status_code: int = 200, errors=None, form=None,
                       imported: int | None = None) -> Response:
    period = parse_month((form or {}).get("period") or request.query_params.get("period")) \
        or last_month()
    return render(request, "settlements/volumes.html", status_code=status_code, period=period,
                  rows=await hq_queries.volumes_of(period), errors=errors or {}, form=form or {},
                  imported=imported if imported is not None else query_int(request, "imported"))


async def prices_page(request: Request, status_code: int = 200, errors=None,
                      form=None) -> Response:
    return render(request, "settlements/credit_prices.html", status_code=status_code,
                  rows=await hq_queries.credit_prices(), products=await list_products(limit=500),
                  errors=errors or {}, form=form or {})


def percent_text(rate_bp: int) -> str:
    """Basis points as a percentage without float: 1250 -> '12.5', 1000 -> '10'."""
    cents = f"{rate_bp % 100:02d}".rstrip("0")
    return f"{rate_bp // 100}.{cents}" if cents else str(rate_bp // 100)


async def policies_page(request: Request, status_code: int = 200, errors=None,
                        form=None) -> Response:
    this_month = clock.china_today().replace(day=1)
    next_month = clock.next_month(this_month)
    rows = await hq_queries.rebate_policies()
    if form is None and rows:  # start from the newest policy's tiers: a change is often small
        form = {f"{name}_{i}": value for i, t in enumerate(rows[0]["tiers"][:TIER_ROWS])
                for name, value in (("from", f"{t['from_fen'] // 100}.{t['from_fen'] % 100:02d}"),
                                    ("rate", percent_text(t["rate_bp"])))}
    return render(request, "settlements/rebate_policies.html", status_code=status_code,
                  current=await hq_queries.rebate_policy_in_force(this_month), rows=rows,
                  this_month=this_month, next_month=next_month, tier_rows=range(TIER_ROWS),
                  percent=percent_text, errors=errors or {}, form=form or {})


async def accounts_page(request: Request, status_code: int = 200, errors=None,
                        form=None) -> Response:
    return render(request, "settlements/payout_accounts.html", status_code=status_code,
                  rows=await hq_queries.payout_accounts(), errors=errors or {}, form=form or {})


async def volumes_refused(request: Request, form, exc: PortalError) -> Response:
    """The upload's problems: every bad row listed, else the message beside its field."""
    fields = {"period": form.get("period") if isinstance(form.get("period"), str) else ""}
    if isinstance(exc, LineErrors):
        return await volumes_page(request, 422, {"import": row_messages(exc)}, fields)
    if exc.status_code == 404:
        raise exc
    errors = exc.errors if isinstance(exc, ValidationFailed) \
        else {"action": gettext(exc.message, **exc.params)}
    return await volumes_page(request, exc.status_code, errors, fields)


class SettlementsController(Controller):
    path = "/settlements"
    guards = [login_required]

    @get("/adjustments", guards=[FINANCE_READ])
    async def adjustments(self, request: Request) -> Response:
        return await adjustments_page(request)

    @post("/adjustments", guards=[FINANCE])
    async def request_adjustment(self, request: Request) -> Response:
        return await act(request, AdjustmentIn, lambda data: adjustments.request_adjustment(
            actor=current_actor(request), **asdict(data)),
            page=functools.partial(adjustments_page, request), location="/settlements/adjustments",
            success="Adjustment requested; another finance colleague decides it.")

    @post("/adjustments/{adjustment_id:int}/decide", guards=[FINANCE])
    async def decide_adjustment(self, request: Request, adjustment_id: FromPath[int]) -> Response:
        return await act(request, DecisionIn, lambda data: decide(
            current_actor(request), adjustment_id, data),
            page=functools.partial(adjustments_page, request), location="/settlements/adjustments",
            success=DECIDED.__getitem__)

    @get("/volumes", guards=[FINANCE_READ])
    async def volumes(self, request: Request) -> Response:
        return await volumes_page(request)

    @post("/volumes", guards=[FINANCE], request_max_body_size=BODY_LIMIT)
    async def import_volumes(self, request: Request) -> Response:
        """Not through act: where it goes next names how many were imported."""
        form = await request.form()
        try:
            data = volumes_input(form)
            count = await import_file(current_actor(request), data)
        except PortalError as exc:
            return await volumes_refused(request, form, exc)
        return done(request, "%(n)s purchase volumes for %(month)s imported.",
                    f"/settlements/volumes?period={data.period:%Y-%m}&imported={count}",
                    n=count, month=f"{data.period:%Y-%m}")

    @get("/credit-prices", guards=[ADMIN_READ])
    async def credit_prices(self, request: Request) -> Response:
        return await prices_page(request)

    @post("/credit-prices", guards=[ADMIN])
    async def set_credit_price(self, request: Request) -> Response:
        return await act(request, CreditPriceIn, lambda data: service.set_credit_price(
            actor=current_actor(request), **asdict(data)),
            page=functools.partial(prices_page, request), location="/settlements/credit-prices",
            success="Credit price saved.")

    @get("/rebate-policies", guards=[POLICY_READ])
    async def rebate_policies(self, request: Request) -> Response:
        return await policies_page(request)

    @post("/rebate-policies", guards=[ADMIN])
    async def set_rebate_policy(self, request: Request) -> Response:
        """R26: a new tiered policy from the first of a future month; nothing written on error.
        The tier rows are read by settlements.inputs.policy_input, inside the action."""
        form = await request.form()
        return await act(request, None, lambda _: set_policy(
            current_actor(request), policy_input(form)),
            page=functools.partial(policies_page, request), location="/settlements/rebate-policies",
            success="Rebate policy saved.")

    @get("/payout-accounts", guards=[FINANCE_READ])
    async def payout_accounts(self, request: Request) -> Response:
        return await accounts_page(request)

    @post("/payout-accounts", guards=[FINANCE])
    async def set_payout_account(self, request: Request) -> Response:
        # with the settings, a connected account is checked at Stripe before it is saved
        return await act(request, PayoutAccountIn, lambda data: payouts.set_payout_account(
            actor=current_actor(request), settings=request.app.state.settings, **asdict(data)),
            page=functools.partial(accounts_page, request),
            location="/settlements/payout-accounts", success="Payout account saved.")

    @get("/repair-points/{point_id:int}/fees")
    async def fee_lines(self, request: Request, point_id: FromPath[int]) -> Response:
        """R24: a repair point's fee, statement by statement (its staff see their own)."""
        point, rows = await queries.fee_lines_for_point(current_actor(request), point_id)
        return render(request, "settlements/fee_lines.html", point=point, rows=rows,
                      status_label=downloads.status_label)
