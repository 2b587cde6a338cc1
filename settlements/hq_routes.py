"""The HQ data behind statements, as pages: adjustments and charges (asked by one person,
decided by another), purchase-volume imports (every bad row by number, nothing imported until
the file is clean), credit prices with history (R13), rebate policies with history (R26), payout
accounts (R27); and a repair point's own fee lines (R24)."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from dealers.batch_lines import LineErrors
from portal import clock
from portal.catalog import list_products
from portal.errors import PortalError, ValidationFailed
from portal.forms import integer, iso_date, query_int, read_form, text
from portal.i18n import gettext
from portal.money import parse_percent, parse_signed_yuan, parse_yuan
from portal.spreadsheets import BODY_LIMIT
from portal.web import current_actor, done, login_required, render, roles_required
from settlements import adjustments, downloads, payouts, queries, rules, service, volume_import
from settlements.routes import last_month, parse_month

FINANCE = roles_required("hq_finance")
FINANCE_READ = roles_required("hq_finance", "auditor")
ADMIN_READ = roles_required("hq_admin", "hq_finance", "auditor")
POLICY_READ = roles_required("hq_admin", "hq_finance", "hq_cs", "auditor")
TIER_ROWS = 5  # rows of the rebate policy form; a blank row is no tier


def _message(exc: PortalError) -> str:
    return gettext(exc.message, **exc.params)


async def _submit(request: Request, page, form, errors: dict[str, str], action,
                  location: str, *, success: str) -> Response:
    """Run a form's action: field errors (the form's or the service's) answer 422 with the form
    again, a refused action its status with the reason; an unknown record is a 404 page; when
    it worked, back to `location`, which says `success`."""
    try:
        if errors:
            raise ValidationFailed(errors)
        await action()
    except ValidationFailed as exc:
        return await page(request, 422, exc.errors, dict(form))
    except PortalError as exc:
        if exc.status_code == 404:
            raise
        return await page(request, exc.status_code, {"action": _message(exc)}, dict(form))
    return done(request, success, location)


async def adjustments_page(request: Request, status_code: int = 200, errors=None,
                           form=None) -> Response:
    return render(request, "settlements/adjustments.html", status_code=status_code,
                  rows=await queries.list_adjustments(
                      status=request.query_params.get("status"),
                      after_id=query_int(request, "after")),
                  errors=errors or {}, form=form or {})


async def volumes_page(request: Request, status_code: int = 200, errors=None, form=None,
                       imported: int | None = None) -> Response:
    period = parse_month((form or {}).get("period") or request.query_params.get("period")) \
        or last_month()
    return render(request, "settlements/volumes.html", status_code=status_code, period=period,
                  rows=await queries.volumes_of(period), errors=errors or {}, form=form or {},
                  imported=imported if imported is not None else query_int(request, "imported"))


async def prices_page(request: Request, status_code: int = 200, errors=None,
                      form=None) -> Response:
    return render(request, "settlements/credit_prices.html", status_code=status_code,
                  rows=await queries.credit_prices(), products=await list_products(limit=500),
                  errors=errors or {}, form=form or {})


def percent_text(rate_bp: int) -> str:
    """Basis points as a percentage without float: 1250 -> '12.5', 1000 -> '10'."""
    cents = f"{rate_bp % 100:02d}".rstrip("0")
    return f"{rate_bp // 100}.{cents}" if cents else str(rate_bp // 100)


def parse_tiers(form, errors: dict[str, str]) -> list[rules.Tier]:
    """The tier rows of the form: yuan to fen and percent to basis points, both parsed from the
    string (never a float); a bad field gets its message beside it. The rules on the tiers as
    a whole (R26: at least one, distinct starts, 0-50 %) are the service's."""
    tiers = []
    for i in range(TIER_ROWS):
        raw_from, raw_rate = text(form, f"from_{i}", 20), text(form, f"rate_{i}", 10)
        if not raw_from and not raw_rate:
            continue
        from_fen, rate_bp = parse_yuan(raw_from), parse_percent(raw_rate)
        if from_fen is None:
            errors[f"from_{i}"] = "Enter the purchases the tier starts at in yuan, e.g. 100000.00."
        if rate_bp is None:
            errors[f"rate_{i}"] = "Enter a percentage with at most two decimals."
        if from_fen is not None and rate_bp is not None:
            tiers.append(rules.Tier(from_fen=from_fen, rate_bp=rate_bp))
    return tiers


async def policies_page(request: Request, status_code: int = 200, errors=None,
                        form=None) -> Response:
    this_month = clock.china_today().replace(day=1)
    next_month = clock.next_month(this_month)
    rows = await queries.rebate_policies()
    if form is None and rows:  # start from the newest policy's tiers: a change is often small
        form = {f"{name}_{i}": value for i, t in enumerate(rows[0]["tiers"][:TIER_ROWS])
                for name, value in (("from", f"{t['from_fen'] // 100}.{t['from_fen'] % 100:02d}"),
                                    ("rate", percent_text(t["rate_bp"])))}
    return render(request, "settlements/rebate_policies.html", status_code=status_code,
                  current=await queries.rebate_policy_in_force(this_month), rows=rows,
                  this_month=this_month, next_month=next_month, tier_rows=range(TIER_ROWS),
                  percent=percent_text, errors=errors or {}, form=form or {})


async def accounts_page(request: Request, status_code: int = 200, errors=None,
                        form=None) -> Response:
    return render(request, "settlements/payout_accounts.html", status_code=status_code,
                  rows=await queries.payout_accounts(), errors=errors or {}, form=form or {})


def row_messages(exc: LineErrors) -> list[str]:
    """'Row 3: …' for every bad row of an import, in the reader's language."""
    return [gettext("Row %(row)s: %(problem)s", row=row, problem=gettext(message))
            for row, errors in sorted(exc.problems.items()) for message in errors.values()]


class SettlementsController(Controller):
    path = "/settlements"
    guards = [login_required]

    @get("/adjustments", guards=[FINANCE_READ])
    async def adjustments(self, request: Request) -> Response:
        return await adjustments_page(request)

    @post("/adjustments", guards=[FINANCE])
    async def request_adjustment(self, request: Request) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        dealer = integer(form, "dealer", errors)
        corrects = integer(form, "corrects", errors, required=False)
        amount = parse_signed_yuan(text(form, "amount", 20))
        if amount is None:
            errors["amount"] = "Enter an amount in yuan, e.g. 120.00 or -120.00."
        return await _submit(request, adjustments_page, form, errors, lambda: (
            adjustments.request_adjustment(
                actor=current_actor(request), dealer_id=dealer or 0,
                kind=text(form, "kind", 12), amount_fen=amount or 0,
                reason=text(form, "reason", 500), corrects_statement_id=corrects)),
            "/settlements/adjustments",
            success="Adjustment requested; another finance colleague decides it.")

    @post("/adjustments/{adjustment_id:int}/decide", guards=[FINANCE])
    async def decide_adjustment(self, request: Request, adjustment_id: int) -> Response:
        form = await read_form(request)
        return await _submit(request, adjustments_page, form, {}, lambda: (
            adjustments.decide_adjustment(
                actor=current_actor(request), adjustment_id=adjustment_id,
                approve=text(form, "decision", 10) == "approve",
                reason=text(form, "reason", 500))),
            "/settlements/adjustments",
            success="Adjustment approved: it goes into the dealer's next statement."
            if text(form, "decision", 10) == "approve" else "Adjustment refused.")

    @get("/volumes", guards=[FINANCE_READ])
    async def volumes(self, request: Request) -> Response:
        return await volumes_page(request)

    @post("/volumes", guards=[FINANCE], request_max_body_size=BODY_LIMIT)
    async def import_volumes(self, request: Request) -> Response:
        form = await request.form()
        fields = {"period": text(form, "period", 10)}
        period = parse_month(fields["period"])
        upload = form.get("file")
        try:
            if period is None:
                raise ValidationFailed({"period": "Choose a month, e.g. 2026-11."})
            if upload is None or not hasattr(upload, "read"):
                raise ValidationFailed({"file": "Choose an XLSX or CSV file."})
            count = await volume_import.import_volumes(
                actor=current_actor(request), period=period, filename=upload.filename or "",
                content=await upload.read())
        except LineErrors as exc:
            return await volumes_page(request, 422, {"import": row_messages(exc)}, fields)
        except ValidationFailed as exc:
            return await volumes_page(request, 422, exc.errors, fields)
        except PortalError as exc:
            return await volumes_page(request, exc.status_code, {"action": _message(exc)}, fields)
        return done(request, "%(n)s purchase volumes for %(month)s imported.",
                    f"/settlements/volumes?period={period:%Y-%m}&imported={count}",
                    n=count, month=f"{period:%Y-%m}")

    @get("/credit-prices", guards=[ADMIN_READ])
    async def credit_prices(self, request: Request) -> Response:
        return await prices_page(request)

    @post("/credit-prices", guards=[roles_required("hq_admin")])
    async def set_credit_price(self, request: Request) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        product = integer(form, "product", errors)
        effective_from = iso_date(form, "effective_from", errors)
        price = parse_yuan(text(form, "price", 20))
        if price is None:
            errors["price"] = "Enter the credit value of one unit in yuan, e.g. 12.50."
        return await _submit(request, prices_page, form, errors, lambda: (
            service.set_credit_price(actor=current_actor(request), product_id=product or 0,
                                     price_fen=price or 0, effective_from=effective_from,
                                     reason=text(form, "reason", 500))),
            "/settlements/credit-prices", success="Credit price saved.")

    @get("/rebate-policies", guards=[POLICY_READ])
    async def rebate_policies(self, request: Request) -> Response:
        return await policies_page(request)

    @post("/rebate-policies", guards=[roles_required("hq_admin")])
    async def set_rebate_policy(self, request: Request) -> Response:
        """R26: a new tiered policy from the first of a future month; nothing written on error."""
        form = await read_form(request)
        errors: dict[str, str] = {}
        tiers = parse_tiers(form, errors)
        effective_from = parse_month(text(form, "effective_from", 10))
        if effective_from is None:
            errors["effective_from"] = "Choose a month, e.g. 2026-11."
        return await _submit(request, policies_page, form, errors, lambda: (
            service.set_rebate_policy(actor=current_actor(request),
                                      effective_from=effective_from, tiers=tiers,
                                      reason=text(form, "reason", 500))),
            "/settlements/rebate-policies", success="Rebate policy saved.")

    @get("/payout-accounts", guards=[FINANCE_READ])
    async def payout_accounts(self, request: Request) -> Response:
        return await accounts_page(request)

    @post("/payout-accounts", guards=[FINANCE])
    async def set_payout_account(self, request: Request) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        dealer = integer(form, "dealer", errors)
        # with the settings, a connected account is checked at Stripe before it is saved
        return await _submit(request, accounts_page, form, errors, lambda: (
            payouts.set_payout_account(
                actor=current_actor(request), dealer_id=dealer or 0,
                stripe_account=text(form, "stripe_account", 40),
                bank_name=text(form, "bank_name", 80), bank_account=text(form, "bank_account", 40),
                settings=request.app.state.settings)),
            "/settlements/payout-accounts", success="Payout account saved.")

    @get("/repair-points/{point_id:int}/fees")
    async def fee_lines(self, request: Request, point_id: int) -> Response:
        """R24: a repair point's fee, statement by statement (its staff see their own)."""
        point, rows = await queries.fee_lines_for_point(current_actor(request), point_id)
        return render(request, "settlements/fee_lines.html", point=point, rows=rows,
                      status_label=downloads.status_label)
