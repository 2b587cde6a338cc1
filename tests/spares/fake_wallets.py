"""A small local fake of the Stripe API for what localstripe cannot do: Alipay and WeChat Pay
PaymentIntents (plus a SetupIntent, so the deposit pay page renders against it).

Objects are Stripe's own published example objects (`resources` of Stripe's OpenAPI
fixtures3.json, read at run time through tests/stripe_fixtures.py, never copied here) with
the fields a wallet payment sets; the next_action shapes are those of Stripe's API reference
(`alipay_handle_redirect`: native_data, native_url, return_url, url;
`wechat_pay_display_qr_code`: data, hosted_instructions_url, image_data_url, image_url_png,
image_url_svg). Requests are checked as Stripe checks them (secret key, return_url for Alipay,
wechat_pay client, idempotency keys replayed or refused when reused with other parameters).

Test controls, which are not Stripe's:
- POST /_config/webhook {"url", "secret"}: where signed events go.
- POST /_test/payment_intents/{id}/authorise {"deliveries": n}: the payer authorises in Alipay
  or WeChat; the intent succeeds and its signed event is POSTed n times (a duplicate delivery
  when n > 1) and answers what the portal said to each. /decline does the same with
  payment_intent.payment_failed.
- GET /_test/alipay/{id}: the page Alipay's `url` leads to, with a link back to the return_url
  (authorising there is the /authorise control); GET /_test/stripe.js: an empty Stripe.js, so
  the pay page loads in a browser without the card form.
- `fake.drop_next_answer = True`: the next create is done but its answer is lost (a timeout), so
  the SDK retries with the same idempotency key.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import struct
import threading
import time
import urllib.error
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import stripe

from tests import stripe_fixtures

WALLETS = {"alipay", "wechat_pay"}
CANCELABLE = {"requires_payment_method", "requires_capture", "requires_confirmation",
              "requires_action", "processing"}


class StripeFail(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 **extra: str):
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": type_, "message": message, **extra}}


def decode_form(body: str) -> dict:
    """Stripe's form encoding (`a[b][0]=x`) back into nested dicts and lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def _png(seed: bytes, size: int = 21) -> bytes:
    """A small black-and-white PNG (a stand-in for Stripe's QR image)."""
    bits = int.from_bytes(seed * (size * size // (8 * len(seed)) + 1), "big")
    rows = b"".join(b"\x00" + bytes(0 if (bits >> (y * size + x)) & 1 else 255
                                    for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class FakeWallets:
    def __init__(self) -> None:
        self.resources = stripe_fixtures.resources()
        self.intents: dict[str, dict] = {}
        self.replies: dict[str, tuple[str, int, dict]] = {}  # idempotency key -> request, reply
        self.events: list[dict] = []
        self.creates = 0  # PaymentIntents actually created (not replayed)
        self.webhook: dict | None = None
        self.drop_next_answer = False
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeWallets:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _fixture(self, name: str) -> dict:
        return copy.deepcopy(self.resources[name])

    # --- Stripe's API -----------------------------------------------------------------------

    def create_intent(self, params: dict) -> dict:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            raise StripeFail(400, "Missing required param: amount.", param="amount") from None
        if amount < 1 or not params.get("currency"):
            raise StripeFail(400, "Missing required param: currency.", param="currency")
        types = params.get("payment_method_types") or []
        if not types or not set(types) <= WALLETS:
            raise StripeFail(400, f"This fake only takes alipay and wechat_pay, not {types}.",
                             param="payment_method_types")
        method = (params.get("payment_method_data") or {}).get("type")
        confirm = params.get("confirm") == "true"
        if confirm and method not in types:
            raise StripeFail(400, "payment_method_data[type] must be one of payment_method_types.",
                             param="payment_method_data[type]")
        if confirm and method == "alipay" and not params.get("return_url"):
            raise StripeFail(400, "You must provide a return_url when confirming a PaymentIntent "
                                  "with the payment method type alipay.", param="return_url")
        options = params.get("payment_method_options") or {}
        client_kind = options.get("wechat_pay", {}).get("client")
        if confirm and method == "wechat_pay" and client_kind not in {"web", "ios", "android"}:
            raise StripeFail(400, "Missing required param: "
                                  "payment_method_options[wechat_pay][client].", param="payment_method_options[wechat_pay][client]")
        token = secrets.token_hex(12)
        pi_id = f"pi_{token}"
        intent = self._fixture("payment_intent")
        intent.update(
            id=pi_id, amount=amount, currency=params["currency"], amount_received=0,
            amount_capturable=0, automatic_payment_methods=None, canceled_at=None,
            cancellation_reason=None, client_secret=f"{pi_id}_secret_{secrets.token_hex(8)}",
            created=int(time.time()), last_payment_error=None, latest_charge=None,
            livemode=False, metadata=params.get("metadata") or {}, payment_method=None,
            payment_method_options={m: ({"client": client_kind} if m == "wechat_pay" else {})
                                    for m in types},
            payment_method_types=types, processing=None, transfer_data=None, next_action=None,
            status="requires_payment_method", description=params.get("description"))
        if confirm:
            intent["payment_method"] = f"pm_{secrets.token_hex(12)}"
            intent["status"] = "requires_action"
            intent["next_action"] = self._next_action(method, pi_id, params.get("return_url"))
        elif method:
            intent["payment_method"] = f"pm_{secrets.token_hex(12)}"
            intent["status"] = "requires_confirmation"
        self.intents[pi_id] = intent
        self.creates += 1
        self._event("payment_intent.created", intent)
        if intent["status"] == "requires_action":
            self._event("payment_intent.requires_action", intent)
        return intent

    def _next_action(self, method: str, pi_id: str, return_url: str | None) -> dict:
        if method == "alipay":
            return {"type": "alipay_handle_redirect", "alipay_handle_redirect": {
                "native_data": None, "native_url": None, "return_url": return_url,
                "url": f"{self.base}/_test/alipay/{pi_id}"}}
        png = base64.b64encode(_png(pi_id.encode())).decode()
        return {"type": "wechat_pay_display_qr_code", "wechat_pay_display_qr_code": {
            "data": f"weixin://wxpay/bizpayurl?pr={pi_id[3:15]}",
            "hosted_instructions_url": f"{self.base}/_test/wechat/{pi_id}",
            "image_data_url": f"data:image/png;base64,{png}",
            "image_url_png": f"{self.base}/_test/wechat/{pi_id}.png",
            "image_url_svg": f"{self.base}/_test/wechat/{pi_id}.svg"}}

    def intent(self, pi_id: str) -> dict:
        if pi_id not in self.intents:
            raise StripeFail(404, f"No such payment_intent: '{pi_id}'", code="resource_missing",
                             param="intent")
        return self.intents[pi_id]

    def cancel(self, pi_id: str, params: dict) -> dict:
        intent = self.intent(pi_id)
        if intent["status"] not in CANCELABLE:
            raise StripeFail(400, "You cannot cancel this PaymentIntent because it has a status "
                                  f"of {intent['status']}.", code="payment_intent_unexpected_state")
        intent.update(status="canceled", canceled_at=int(time.time()), next_action=None,
                      cancellation_reason=params.get("cancellation_reason"))
        self._event("payment_intent.canceled", intent)
        return intent

    def setup_intent(self, params: dict) -> dict:
        seti = self._fixture("setup_intent")
        seti_id = f"seti_{secrets.token_hex(12)}"
        seti.update(id=seti_id, client_secret=f"{seti_id}_secret_{secrets.token_hex(8)}",
                    payment_method_types=params.get("payment_method_types") or ["card"],
                    status="requires_payment_method", livemode=False, created=int(time.time()))
        return seti

    # --- test controls ----------------------------------------------------------------------

    def settle(self, pi_id: str, *, authorise: bool, deliveries: int) -> dict:
        with self.lock:
            event = self._settle(pi_id, authorise)
        return {"intent": event["data"]["object"], "event_id": event["id"],
                "deliveries": [self.deliver(event) for _ in range(deliveries)]}

    def _settle(self, pi_id: str, authorise: bool) -> dict:
        intent = self.intent(pi_id)
        if intent["status"] != "requires_action":
            raise StripeFail(409, f"The payer cannot act on a {intent['status']} PaymentIntent.")
        if authorise:
            intent.update(status="succeeded", amount_received=intent["amount"], next_action=None,
                          latest_charge=f"py_{secrets.token_hex(12)}")
        else:
            intent.update(status="requires_payment_method", next_action=None, payment_method=None,
                          last_payment_error={
                              "code": "payment_intent_authentication_failure",
                              "message": "The payer declined the payment.",
                              "type": "invalid_request_error"})
        return self._event("payment_intent.succeeded" if authorise
                           else "payment_intent.payment_failed", intent)

    def _event(self, kind: str, obj: dict) -> dict:
        event = self._fixture("event")
        event.update(id=f"evt_{secrets.token_hex(12)}", type=kind, created=int(time.time()),
                     livemode=False, pending_webhooks=1 if self.webhook else 0,
                     data={"object": copy.deepcopy(obj)},
                     request={"id": None, "idempotency_key": None})
        self.events.append(event)
        return event

    def deliver(self, event: dict) -> dict:
        """POST the event to the portal, signed as Stripe signs it; answers what it said."""
        if not self.webhook:
            raise StripeFail(409, "No webhook configured: POST /_config/webhook first.")
        payload = json.dumps(event)
        request = urllib.request.Request(self.webhook["url"], data=payload.encode(), method="POST",
                                         headers={"content-type": "application/json",
                                                  "stripe-signature": stripe.WebhookSignature
                                                  .generate_signature_header(
                                                      payload, self.webhook["secret"])})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return {"status": answer.status, "body": json.loads(answer.read() or b"null")}
        except urllib.error.HTTPError as exc:
            return {"status": exc.code, "body": exc.read().decode(errors="replace")}


def _handler(fake: FakeWallets) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> str:
            return self.rfile.read(int(self.headers.get("content-length") or 0)).decode()

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/_test/stripe.js":
                return self._page("application/javascript", "/* no card form in this fake */")
            if match := re.fullmatch(r"/_test/alipay/(pi_\w+)", path):
                intent = fake.intents.get(match[1])
                if intent and intent["next_action"]:
                    back = intent["next_action"]["alipay_handle_redirect"]["return_url"]
                    sep = "&" if "?" in back else "?"
                    return self._page("text/html", (
                        f"<!doctype html><title>Alipay (test)</title><h1>Alipay (test)</h1>"
                        f"<p>{intent['amount']} {intent['currency']}</p><a id='return' href="
                        f"'{back}{sep}payment_intent={intent['id']}'>Return to the merchant</a>"))
            self._serve("GET", "")

        def _page(self, kind: str, text: str) -> None:
            data = text.encode()
            self.send_response(200)
            self.send_header("content-type", f"{kind}; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self._serve("POST", self._body())

        def _serve(self, verb: str, body: str) -> None:
            path = self.path.split("?")[0]
            try:
                if path.startswith("/_"):  # unlocked: a delivery calls the portal, which may
                    status, reply = self._control(path, json.loads(body or "{}"))  # call us
                else:
                    with fake.lock:
                        status, reply = self._route(verb, path, body)
            except StripeFail as exc:
                status, reply = exc.status, exc.body
            if reply is None:  # the answer is "lost": close without replying
                self.close_connection = True
                return
            self._reply(status, reply)

        def _route(self, verb: str, path: str, body: str) -> tuple[int, dict | None]:
            if not (self.headers.get("authorization") or "").startswith("Bearer sk_"):
                raise StripeFail(401, "Invalid API Key provided.")
            match = re.fullmatch(r"/v1/payment_intents(?:/(pi_\w+))?(/cancel)?", path)
            if verb == "POST" and path == "/v1/setup_intents":
                return 200, fake.setup_intent(decode_form(body))
            if match and verb == "GET" and match[1] and not match[2]:
                return 200, fake.intent(match[1])
            if match and verb == "POST" and match[1] and match[2]:
                return 200, fake.cancel(match[1], decode_form(body))
            if match and verb == "POST" and not match[1]:
                return self._create(body)
            raise StripeFail(404, f"Unrecognized request URL ({verb}: {path}).")

        def _create(self, body: str) -> tuple[int, dict | None]:
            key = self.headers.get("idempotency-key")
            if key and key in fake.replies:
                seen, status, reply = fake.replies[key]
                if seen != body:
                    raise StripeFail(400, "Keys for idempotent requests can only be used with the "
                                          "same parameters they were first used with.",
                                     type_="idempotency_error")
                return status, reply
            try:
                status, reply = 200, fake.create_intent(decode_form(body))
            except StripeFail as exc:
                status, reply = exc.status, exc.body
            if key:
                fake.replies[key] = (body, status, reply)
            if fake.drop_next_answer:
                fake.drop_next_answer = False
                return status, None
            return status, reply

        def _control(self, path: str, data: dict) -> tuple[int, dict]:
            if path == "/_config/webhook":
                fake.webhook = {"url": data["url"], "secret": data["secret"]}
                return 200, {"webhook": fake.webhook}
            match = re.fullmatch(r"/_test/payment_intents/(pi_\w+)/(authorise|decline)", path)
            if not match:
                raise StripeFail(404, f"No such test control: {path}")
            return 200, fake.settle(match[1], authorise=match[2] == "authorise",
                                    deliveries=int(data.get("deliveries", 1)))

    return Handler
