"""R28: a repair point pays its deposit by Alipay or WeChat Pay, where the Stripe account
enables them (PORTAL_STRIPE_WALLETS). The payment is started here; it is credited by
`deposits.on_deposit_paid` only when Stripe says so (verified webhook or fetched PaymentIntent),
never because the browser came back."""
from __future__ import annotations

from portal import payments
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import Forbidden, NotFound
from portal.settings import Settings
from spares.deposits import amount_due

# What the point sees of a wallet payment, by Stripe's PaymentIntent status.
PAID, FAILED = {"succeeded"}, {"requires_payment_method", "canceled", "refused", "declined"}


def _own_point(actor: Actor, point_id: int) -> None:
    if actor.organisation_id != point_id or not actor.has("repair_staff"):
        raise Forbidden("Only the repair point itself pays its deposit.")


def enabled_wallets(settings: Settings) -> tuple[str, ...]:
    """The wallet methods to offer: none unless Stripe itself is configured."""
    return settings.stripe_wallets if settings.stripe_secret_key else ()


async def pay_deposit_by_wallet(settings: Settings, *, actor: Actor, point_id: int,
                                method: str) -> dict:
    """R28: start paying what is still due by Alipay (the answer carries `redirect_url`) or
    WeChat Pay (`qr_image`, `qr_data`). The deposit is not credited yet."""
    due = await amount_due(actor=actor, point_id=point_id)
    return await payments.start_wallet_payment(
        settings, purpose="deposit", object_id=point_id, amount_fen=due, method=method,
        return_url=f"{settings.base_url}/repair-points/{point_id}/deposit/return")


async def deposit_payment(settings: Settings, *, actor: Actor, point_id: int,
                          payment_id: int) -> dict:
    """R28: where a deposit payment stands, fetched from Stripe (a paid one is credited by this
    fetch if the webhook has not arrived). Adds `paid` / `failed` for the page."""
    _own_point(actor, point_id)
    rows = await raw_fetch("SELECT status FROM payment WHERE id = $1 AND purpose = 'deposit' "
                           "AND object_id = $2", payment_id, str(point_id))
    if not rows:
        raise NotFound("Not found.")
    view = await payments.refresh_wallet_payment(settings, payment_id=payment_id)
    return {**view, "paid": view["status"] in PAID, "failed": view["status"] in FAILED}
