"""R27 Stripe Connect transfers: paying a dealer's connected account. With portal/payments.py
the only modules that import `stripe`; an answer Stripe did not give is never taken as a refusal
(a payout then stays pending reconciliation)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import stripe

from portal.errors import RuleViolation
from portal.payments import PaymentUnavailable
from portal.settings import Settings


class TransferOutcomeUnknown(PaymentUnavailable):
    """Stripe may or may not have made the transfer (timeout, lost connection, 5xx, a 409 lock,
    a reused key): the caller keeps its payout pending and reconciles it; never 'failed'."""


class TransferRefused(RuleViolation):
    """Stripe refused the request outright (4xx): no transfer was made for it."""


# Refusals are definite: Stripe answered and did nothing. Anything else may have moved money.
_REFUSED = (stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError,
            stripe.CardError)


def connect_client(settings: Settings) -> stripe.StripeClient:
    """Like `client`, with a short request timeout so a payout run never hangs on one call. The
    SDK retries timeouts, connection errors, 409 and 5xx with the same idempotency key, so a
    retry replays the transfer instead of making another."""
    if not settings.stripe_secret_key:
        raise PaymentUnavailable("Stripe payouts are not configured; record a bank transfer "
                                 "instead.")
    options: dict[str, Any] = {
        "max_network_retries": 2,
        "http_client": stripe.RequestsClient(timeout=settings.stripe_timeout_seconds)}
    if settings.stripe_api_base:
        options["base_addresses"] = {"api": settings.stripe_api_base}
    return stripe.StripeClient(settings.stripe_secret_key, **options)


async def _connect(method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict:
    try:
        return (await asyncio.to_thread(method, *args, **kwargs)).to_dict()
    except _REFUSED as exc:
        raise TransferRefused("Stripe refused the transfer: %(reason)s",
                              reason=exc.user_message or str(exc)) from exc
    except stripe.StripeError as exc:  # timeout, connection, 409, 429, 5xx, key reused
        raise TransferOutcomeUnknown("Stripe did not confirm the transfer; it is pending "
                                     "reconciliation.") from exc


async def transfer(settings: Settings, *, amount_fen: int, destination: str,
                   idempotency_key: str, metadata: dict, transfer_group: str) -> dict:
    """R27: move `amount_fen` (CNY) to a connected account. The caller committed
    `idempotency_key` before calling: the same key with the same parameters replays the same
    transfer, so calling again after an unknown outcome never pays twice."""
    if amount_fen <= 0:
        raise RuleViolation("Nothing to pay.")
    params = {"amount": amount_fen, "currency": "cny", "destination": destination,
              "transfer_group": transfer_group,
              "metadata": {k: str(v) for k, v in metadata.items()}}
    return await _connect(connect_client(settings).v1.transfers.create, params=params,
                          options={"idempotency_key": idempotency_key})


async def find_transfer(settings: Settings, *, transfer_group: str,
                        metadata: dict | None = None) -> dict | None:
    """The newest transfer of the group whose metadata holds every item of `metadata`, or None
    when Stripe has none (an unknown outcome that never reached Stripe)."""
    want = {k: str(v) for k, v in (metadata or {}).items()}
    listed = await _connect(connect_client(settings).v1.transfers.list,
                            params={"transfer_group": transfer_group, "limit": 100})
    for found in listed["data"]:
        if all((found.get("metadata") or {}).get(k) == v for k, v in want.items()):
            return found
    return None


async def retrieve_transfer(settings: Settings, *, transfer_id: str) -> dict:
    return await _connect(connect_client(settings).v1.transfers.retrieve, transfer_id)


async def retrieve_account(settings: Settings, *, account_id: str) -> dict:
    """A connected account as Stripe has it (capabilities.transfers == 'active' to be paid)."""
    return await _connect(connect_client(settings).v1.accounts.retrieve, account_id)
