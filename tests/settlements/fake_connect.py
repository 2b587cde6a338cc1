"""A small local Stripe Connect server for the payout tests (localstripe has no Connect).

Its answers are Stripe's own published example objects (`../shared/stripe/fixtures3.json`,
read at run time through tests/stripe_fixtures.py: "account", "transfer", "transfer_reversal", "event"), with ids, amounts,
destination, metadata and dates overridden per request, so the shapes our code parses are
Stripe's. It speaks what the official SDK sends: form-encoded POSTs, bearer keys,
`Idempotency-Key` headers.

Idempotency as Stripe documents it: the first request with a key stores its status and body
(errors too, once the endpoint ran); the same key with the same parameters replays them (header
`Idempotent-Replayed: true`); the same key with other parameters is a 400 `idempotency_error`.

Test controls (plain methods, called from the test's thread):
- `add_account(id, transfers="active")`: a connected account transfers may go to;
- `fail(kind, times=N)`: the next N matching requests fail: "timeout" (the request is executed,
  then the answer is held past the client's timeout), "500_before" (nothing executed),
  "500_after" (executed, then 500, and the key stores the 500), "409" (an
  `idempotency_key_in_use` lock error, nothing executed);
- `event(type, obj)`, `signed(event, secret)`, `deliver(url, secret, event)`: Stripe-shaped
  events, signed with `stripe.WebhookSignature.generate_signature_header`, POSTed to a portal.
"""
from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import stripe

from tests import stripe_fixtures

KINDS = {"timeout", "500_before", "500_after", "409"}


def _fixtures() -> dict:
    return stripe_fixtures.resources()


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _error(status: int, message: str, type_: str = "invalid_request_error", **extra) -> tuple:
    return status, {"error": {"type": type_, "message": message, **extra}}


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding: `metadata[payout_id]=7` -> {"metadata": {"payout_id": "7"}}."""
    out: dict = {}
    for key, value in pairs:
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


@dataclass
class Fault:
    kind: str
    method: str
    path: str
    sleep: float


class FakeConnect:
    def __init__(self, *, timeout_sleep: float = 1.5):
        self.fixtures = _fixtures()
        self.timeout_sleep = timeout_sleep
        self.accounts: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.events: list[dict] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request received
        self._keys: dict[str, tuple[str, int, dict]] = {}  # key -> (fingerprint, status, body)
        self._faults: list[Fault] = []
        # called as on_request(method, path, form, idempotency_key) before a request is served
        self.on_request = None
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- life and test controls ---------------------------------------------------------------
    def start(self) -> FakeConnect:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.accounts.clear(), self.transfers.clear(), self.events.clear()
            self.requests.clear(), self._keys.clear(), self._faults.clear()
            self.on_request = None

    def add_account(self, account_id: str | None = None, *, transfers: str = "active") -> dict:
        account = copy.deepcopy(self.fixtures["account"])
        account_id = account_id or _id("acct")
        account.update(id=account_id, created=int(time.time()), country="CN",
                       default_currency="cny", charges_enabled=True, payouts_enabled=True,
                       details_submitted=True, metadata={})
        account["capabilities"] = {"transfers": transfers}
        account["external_accounts"]["url"] = f"/v1/accounts/{account_id}/external_accounts"
        with self._lock:
            self.accounts[account_id] = account
        return account

    def fail(self, kind: str, times: int = 1, *, method: str = "POST", path: str = "/v1/transfers",
             sleep: float | None = None) -> None:
        assert kind in KINDS, kind
        with self._lock:
            self._faults += [Fault(kind, method, path, sleep or self.timeout_sleep)] * times

    def transfers_to(self, destination: str) -> list[dict]:
        with self._lock:
            return [t for t in self.transfers.values() if t["destination"] == destination]

    # --- webhooks ----------------------------------------------------------------------------
    def event(self, type_: str, obj: dict, *, idempotency_key: str | None = None) -> dict:
        event = copy.deepcopy(self.fixtures["event"])
        event.update(id=_id("evt"), type=type_, created=int(time.time()),
                     data={"object": copy.deepcopy(obj)}, api_version=stripe.api_version,
                     request={"id": _id("req"), "idempotency_key": idempotency_key})
        with self._lock:
            self.events.append(event)
        return event

    @staticmethod
    def signed(event: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(payload, secret,
                                                                   timestamp=timestamp)
        return payload.encode(), header

    def deliver(self, url: str, secret: str, event: dict) -> int:
        """POST the signed event as Stripe does; returns the HTTP status the portal answered."""
        payload, header = self.signed(event, secret)
        request = urllib.request.Request(url, data=payload, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # --- the API ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, form: dict, key: str | None,
               ) -> tuple[int, dict, dict, float]:
        """-> (status, body, extra headers, seconds to hold the answer)."""
        if self.on_request is not None:
            self.on_request(method, path, form, key)
        with self._lock:
            self.requests.append((method, path))
            fault = next((f for f in self._faults if f.method == method
                          and path.startswith(f.path)), None)
            if fault:
                self._faults.remove(fault)
        if fault and fault.kind == "500_before":
            return (*_error(500, "An unknown error occurred", "api_error"), {}, 0)
        if fault and fault.kind == "409":
            return (*_error(409, "There is currently another in-progress request using this "
                            "Idempotent Key (that probably means you submitted twice, and the "
                            "other request is still going through).",
                            code="idempotency_key_in_use"), {}, 0)
        headers: dict = {}
        with self._lock:
            fingerprint = json.dumps([path, form], sort_keys=True)
            stored = self._keys.get(key) if method == "POST" and key else None
            if stored and stored[0] != fingerprint:
                return (*_error(400, "Keys for idempotent requests can only be used with the "
                                "same parameters they were first used with.",
                                "idempotency_error"), {}, 0)
            if stored:
                status, body = stored[1], copy.deepcopy(stored[2])
                headers["Idempotent-Replayed"] = "true"
            else:
                status, body = self._route(method, path, query, form)
            if fault and fault.kind == "500_after":  # it ran; the answer is lost in a 500
                status, body = _error(500, "An unknown error occurred", "api_error")
            if method == "POST" and key and not stored:
                self._keys[key] = (fingerprint, status, copy.deepcopy(body))
        hold = fault.sleep if fault and fault.kind == "timeout" else 0
        return status, body, headers, hold

    def _route(self, method: str, path: str, query: dict, form: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "accounts"] and len(parts) == 3 and method == "GET":
            account = self.accounts.get(parts[2])
            return (200, account) if account else _error(
                404, f"No such account: '{parts[2]}'", code="resource_missing", param="account")
        if parts[:2] != ["v1", "transfers"]:
            return _error(404, f"Unrecognized request URL ({method}: {path}).")
        if len(parts) == 2:
            return self._create(form) if method == "POST" else self._list(query)
        transfer = self.transfers.get(parts[2])
        if transfer is None:
            return _error(404, f"No such transfer: '{parts[2]}'", code="resource_missing",
                          param="id")
        if len(parts) == 3 and method == "GET":
            return 200, transfer
        if len(parts) == 4 and parts[3] == "reversals" and method == "POST":
            return self._reverse(transfer, form)
        return _error(404, f"Unrecognized request URL ({method}: {path}).")

    def _create(self, form: dict) -> tuple[int, dict]:
        for field in ("amount", "currency", "destination"):
            if not form.get(field):
                return _error(400, f"Missing required param: {field}.", param=field,
                              code="parameter_missing")
        if not form["amount"].isdigit() or int(form["amount"]) <= 0:
            return _error(400, "Invalid positive integer", param="amount", code="parameter_invalid_integer")
        account = self.accounts.get(form["destination"])
        if account is None:
            return _error(400, f"No such destination: '{form['destination']}'",
                          param="destination", code="resource_missing")
        if account["capabilities"].get("transfers") != "active":
            return _error(400, "Your destination account needs to have at least one of the "
                          "following capabilities enabled: transfers, crypto_transfers, "
                          "legacy_payments", param="destination")
        transfer = copy.deepcopy(self.fixtures["transfer"])
        transfer_id = _id("tr")
        transfer.update(id=transfer_id, amount=int(form["amount"]), amount_reversed=0,
                        currency=form["currency"].lower(), destination=form["destination"],
                        description=form.get("description"), created=int(time.time()),
                        metadata=dict(form.get("metadata") or {}), reversed=False,
                        transfer_group=form.get("transfer_group"),
                        balance_transaction=_id("txn"), destination_payment=_id("py"))
        transfer["reversals"] = {"object": "list", "data": [], "has_more": False,
                                 "total_count": 0, "url": f"/v1/transfers/{transfer_id}/reversals"}
        self.transfers[transfer_id] = transfer
        return 200, transfer

    def _list(self, query: dict) -> tuple[int, dict]:
        found = [t for t in self.transfers.values()
                 if all(t.get(k) == query[k] for k in ("transfer_group", "destination")
                        if k in query)]
        found.sort(key=lambda t: t["created"], reverse=True)
        limit = int(query.get("limit", 10))
        return 200, {"object": "list", "data": found[:limit], "has_more": len(found) > limit,
                     "url": "/v1/transfers"}

    def _reverse(self, transfer: dict, form: dict) -> tuple[int, dict]:
        remaining = transfer["amount"] - transfer["amount_reversed"]
        amount = int(form.get("amount") or remaining)
        if amount <= 0 or amount > remaining:
            return _error(400, "The transfer has already been fully reversed." if remaining == 0
                          else f"Amount must be no more than {remaining}.", param="amount")
        reversal = copy.deepcopy(self.fixtures["transfer_reversal"])
        reversal.update(id=_id("trr"), amount=amount, currency=transfer["currency"],
                        created=int(time.time()), transfer=transfer["id"],
                        metadata=dict(form.get("metadata") or {}),
                        balance_transaction=_id("txn"))
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, reversal)
        transfer["reversals"]["total_count"] += 1
        return 200, reversal


def _handler(fake: FakeConnect) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if not (self.headers.get("Authorization") or "").startswith("Bearer sk_"):
                status, body, headers, hold = (*_error(401, "Invalid API Key provided."), {}, 0)
            else:
                status, body, headers, hold = fake.handle(
                    method, url.path, dict(parse_qsl(url.query)), _nest(parse_qsl(raw)),
                    self.headers.get("Idempotency-Key"))
            if hold:
                time.sleep(hold)  # the client has given up by now: its outcome is unknown
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", _id("req"))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
