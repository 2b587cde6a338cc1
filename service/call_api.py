"""JSON twins of the service-call actions under /api/v1/service-calls (R33): the same services,
the same input dataclasses (service/inputs.py), the same rules and messages as the pages; and
the list's search parser the page shares."""
from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from portal import clock, listing
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from service import call_queries, calls, opinion_cards, rules
from service.inputs import CallCancelIn, CallCloseIn, CallIn, CallVisitIn


def shown(actor, rows: list[dict]) -> list[dict]:
    """The customer's phone in full for the serving point, masked for everyone else (R34)."""
    for row in rows:
        row["phone_shown"] = row["customer_phone"] if calls.sees_phone(actor, row) \
            else rules.mask_phone(row["customer_phone"])
    return rows


def call_filters(query) -> tuple[dict, dict, dict]:
    """The list's search from the query string: (arguments for call_queries.list_calls, the raw
    values for the form and links, errors by field)."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in (
        "number", "phone", "status", "breaching", "called_from", "called_to", "point")}
    phone = listing.text_param(query, "phone", errors, limit=30)
    digits = rules.normalise_phone(phone) if phone else None
    if phone and digits is None:
        errors["phone"] = "Enter a phone number of 5 to 20 digits."
    day_from = listing.date_param(query, "called_from", errors)
    day_to = listing.date_param(query, "called_to", errors)
    listing.check_order(errors, day_from, day_to, "called_to")
    called_from, called_to = listing.china_day_range(day_from, day_to)
    filters = dict(
        number=listing.text_param(query, "number", errors, limit=20) or None, phone=digits,
        status=listing.choice_param(query, "status", call_queries.CALL_STATUSES, errors),
        breaching=listing.choice_param(query, "breaching", ("1",), errors) == "1",
        called_from=called_from, called_to=called_to,
        point_id=listing.int_param(query, "point", errors))
    return filters, raw, errors


def base_url(request: Request) -> str:
    """PORTAL_BASE_URL when set; else the address this request came to (as the
    registration form's QR code does)."""
    settings = request.app.state.settings
    base = settings.base_url if settings.base_url_configured else str(request.base_url)
    return base.rstrip("/")


def call_out(call: dict) -> dict:
    out = {k: call[k] for k in (
        "id", "number", "status", "point_id", "called_at", "visit_by", "visited_at", "outcome",
        "first_time_fix", "breaching", "problem", "product_id", "repair_id", "customer_area")}
    out.update(customer_name=call["customer_name"], customer_phone=call["phone_shown"])
    if "notes" in call:
        out["notes"] = call["notes"]
    out["card"] = None if call["card_id"] is None else {
        "filled": call["card_submitted_at"] is not None, "attitude": call["attitude"],
        "skill": call["skill"], "punctuality": call["punctuality"],
        "comments": call["card_comments"], "channel": call["card_channel"],
        "submitted_at": call["card_submitted_at"]}
    return out


class CallApi(Controller):
    path = "/api/v1/service-calls"
    guards = [api_token_required]
    tags = ["service calls"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_calls(self, request: Request, number: FromQuery[str | None] = None,
                         phone: FromQuery[str | None] = None,
                         status: FromQuery[str | None] = None,
                         breaching: FromQuery[str | None] = None,
                         called_from: FromQuery[str | None] = None,
                         called_to: FromQuery[str | None] = None,
                         point: FromQuery[int | None] = None,
                         after: FromQuery[int | None] = None) -> list[dict]:
        """The list page's search: `number` a call number or its start, `phone` the
        customer's full number, `status` open|visited|closed|cancelled, `breaching=1` only
        late visits (R33), `called_from`/`called_to` China dates (YYYY-MM-DD, inclusive),
        `point` a repair point's id, `after` the last id of the previous page. Newest first;
        the phone is masked outside the serving point."""
        actor = current_actor(request)
        filters, _, errors = call_filters(request.query_params)
        after_id = listing.int_param(request.query_params, "after", errors)
        if errors:
            raise ValidationFailed(errors)
        rows = await call_queries.list_calls(actor=actor, now=clock.now(), after_id=after_id,
                                        **filters)
        return [call_out(r) for r in shown(actor, rows)]

    @post("/", status_code=201)
    async def record(self, request: Request, data: JSONBody[CallIn]) -> dict:
        actor = current_actor(request)
        call_id = await calls.record_call(actor=actor, data=data)
        return await _call(actor, call_id)

    @get("/{call_id:int}")
    async def detail(self, request: Request, call_id: FromPath[int]) -> dict:
        return await _call(current_actor(request), call_id)

    @post("/{call_id:int}/visit", status_code=200)
    async def visit(self, request: Request, call_id: FromPath[int],
                    data: JSONBody[CallVisitIn]) -> dict:
        """R33: records the visit and issues the opinion card: `card_url` is its one-time
        link (shown once; ask for a new one with card-link)."""
        actor = current_actor(request)
        token = await calls.record_visit(actor=actor, call_id=call_id, data=data)
        return {**await _call(actor, call_id),
                "card_url": base_url(request) + opinion_cards.card_path(token)}

    @post("/{call_id:int}/close", status_code=200)
    async def close(self, request: Request, call_id: FromPath[int],
                    data: JSONBody[CallCloseIn]) -> dict:
        actor = current_actor(request)
        await calls.close_call(actor=actor, call_id=call_id, data=data)
        return await _call(actor, call_id)

    @post("/{call_id:int}/cancel", status_code=200)
    async def cancel(self, request: Request, call_id: FromPath[int],
                     data: JSONBody[CallCancelIn]) -> dict:
        actor = current_actor(request)
        await calls.cancel_call(actor=actor, call_id=call_id, data=data)
        return await _call(actor, call_id)

    @post("/{call_id:int}/card-link", status_code=200)
    async def card_link(self, request: Request, call_id: FromPath[int]) -> dict:
        """R33: a fresh one-time link to the call's opinion card; the earlier one stops
        working. Refused once the card is filled in."""
        token = await opinion_cards.hand_over(actor=current_actor(request), call_id=call_id,
                                              channel="link")
        return {"card_url": base_url(request) + opinion_cards.card_path(token)}


async def _call(actor, call_id: int) -> dict:
    call = await calls.get_call(actor=actor, call_id=call_id)
    return call_out(shown(actor, [call])[0])


