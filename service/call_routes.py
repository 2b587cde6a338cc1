"""Service calls and opinion cards (R33): the pages and the public card (the API twins are in
service/call_api.py). Handlers parse, call a service (service/calls.py,
service/opinion_cards.py), render; the rules live there."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers.registration_form import qr_svg
from portal import clock, listing, replica
from portal.actions import act, form_input
from portal.errors import Conflict, Forbidden, NotFound, PortalError, ValidationFailed
from portal.i18n import gettext, local_name
from portal.proxies import client_ip
from portal.web import current_actor, done, is_htmx, login_required, public, render
from service import call_queries, call_rules, calls, opinion_cards
from service.call_api import CallApi, base_url, call_filters, shown
from service.inputs import CallCancelIn, CallCloseIn, CallIn, CallVisitIn, CardIn

LABELS: dict[str, Any] = dict(status_labels=calls.CALL_STATUS_LABELS, outcome_labels=calls.OUTCOME_LABELS,
              channel_labels=calls.CHANNEL_LABELS, action_labels=calls.CALL_ACTION_LABELS)
DONE = {"record": "Service call %(number)s recorded; the repair point's staff have been told.",
        "visit": "Visit of %(number)s recorded. Hand the opinion card to the customer: show its "
                 "link or QR code, or let them fill it in on this device.",
        "close": "Service call %(number)s closed.",
        "cancel": "Service call %(number)s cancelled; the repair point has been told."}


def _china_input(at: datetime) -> str:
    return at.astimezone(clock.CHINA).strftime("%Y-%m-%dT%H:%M")


def _yes(value: bool | None) -> str:
    return "" if value is None else gettext("yes") if value else gettext("no")


COLUMN_LABELS = {
    "number": "Number", "point": "Repair point", "customer": "Customer", "phone": "Phone",
    "area": "Area", "product": "Product", "called": "Called at", "visit_by": "Visit by",
    "visited": "Visited at", "status": "Status", "outcome": "Outcome",
    "first_fix": "Fixed at the first visit", "late": "Visit late", "attitude": "Attitude",
    "skill": "Skill", "punctuality": "Punctuality"}
_C = COLUMN_LABELS
EXPORT_COLUMNS = [
    listing.Column(_C["number"], lambda c: c["number"]),
    listing.Column(_C["point"], lambda c: local_name(c, "point_name")),
    listing.Column(_C["customer"], lambda c: c["customer_name"]),
    listing.Column(_C["phone"], lambda c: c["phone_shown"]),
    listing.Column(_C["area"], lambda c: c["customer_area"]),
    listing.Column(_C["product"], lambda c: c["product_model"] or ""),
    listing.Column(_C["called"], lambda c: calls.china_time(c["called_at"])),
    listing.Column(_C["visit_by"], lambda c: calls.china_time(c["visit_by"])),
    listing.Column(_C["visited"], lambda c: calls.china_time(c["visited_at"]) if c["visited_at"]
                   else ""),
    listing.Column(_C["status"], lambda c: gettext(calls.CALL_STATUS_LABELS[c["status"]])),
    listing.Column(_C["outcome"], lambda c: gettext(calls.OUTCOME_LABELS[c["outcome"]])
                   if c["outcome"] else ""),
    listing.Column(_C["first_fix"], lambda c: _yes(c["first_time_fix"])),
    listing.Column(_C["late"], lambda c: gettext("yes") if c["breaching"] else ""),
    listing.Column(_C["attitude"], lambda c: c["attitude"], "int"),
    listing.Column(_C["skill"], lambda c: c["skill"], "int"),
    listing.Column(_C["punctuality"], lambda c: c["punctuality"], "int"),
]


async def list_page(request: Request, *, export: bool = False) -> Response:
    actor = current_actor(request)
    filters, raw, errors = call_filters(request.query_params)
    after = listing.int_param(request.query_params, "after", errors)
    kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors) \
        if export else None
    limit = listing.EXPORT_LIMIT + 1 if export else call_queries.CALL_PAGE_SIZE
    rows = [] if errors else shown(actor, await call_queries.list_calls(
        actor=actor, now=clock.now(), after_id=None if export else after, limit=limit,
        **filters))
    if export and len(rows) > listing.EXPORT_LIMIT:
        errors["export"] = gettext(listing.MESSAGES["too_many"], n=f"{listing.EXPORT_LIMIT:,}")
    if export and not errors:
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows,
                                             "service-calls")
    more = None
    if not export and len(rows) == call_queries.CALL_PAGE_SIZE:
        more = "/service-calls?" + listing.query_string(raw, after=rows[-1]["id"])
    return render(request, "service/calls.html", status_code=422 if errors else 200,
                  block="rows" if is_htmx(request) and not errors else None,
                  errors=errors, rows=[] if errors else rows, filters=raw, more_url=more,
                  statuses=call_queries.CALL_STATUSES, may_record=calls.may_record_calls(actor),
                  export_query=listing.query_string({k: v for k, v in raw.items()}),
                  export_limit=listing.EXPORT_LIMIT, **LABELS)


async def new_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                   form: dict | None = None) -> Response:
    actor = current_actor(request)
    if not calls.may_record_calls(actor):
        raise Forbidden("Your role may not record service calls.")
    points = [] if actor.organisation_kind == "repair_point" else \
        await call_queries.call_points(actor)
    return render(request, "service/call_new.html", status_code=status_code,
                  errors=errors or {}, form=form or {"called_at": _china_input(clock.now())},
                  points=points, products=await call_queries.call_products())


async def call_page(request: Request, call_id: int, *, status_code: int = 200,
                    errors: dict | None = None, form: dict | None = None,
                    card_url: str | None = None) -> Response:
    actor = current_actor(request)
    call = await calls.get_call(actor=actor, call_id=call_id)
    shown(actor, [call])
    actions = {name: gettext(refusal.message, **refusal.kwargs) if refusal else None
               for name, refusal in calls.actions_for(actor, call).items()}
    repairs = await call_queries.point_repairs(call["point_id"]) \
        if "visit" in actions and not actions["visit"] else []
    now = clock.now()
    return render(request, "service/call.html", status_code=status_code, call=call,
                  actions=actions, repairs=repairs, errors=errors or {},
                  form=form or {"visited_at": _china_input(now)},
                  history=await calls.history(actor=actor, call=call),
                  outcomes=call_rules.CALL_OUTCOMES, card_url=card_url,
                  qr=qr_svg(card_url) if card_url else None, **LABELS)


async def refused(exc: PortalError, page: Callable[..., Awaitable[Response]],
                  form: Any) -> Response:
    """A refusal shown on the page it came from (not found stays a 404)."""
    if isinstance(exc, ValidationFailed):
        return await page(status_code=exc.status_code, errors=exc.errors, form=dict(form))
    if exc.status_code == 404:
        raise exc
    return await page(status_code=exc.status_code, form=dict(form) or None,
                      errors={"action": gettext(exc.message, **exc.params)})


async def act_on_call(request: Request, call_id: int, key: str, model: type,
                      run: Callable[[Any, Any], Awaitable[Any]]) -> Response:
    """A button on the call page: the page again with the message beside the action when a
    rule refuses, else back to it saying what worked."""
    actor = current_actor(request)
    call = await calls.get_call(actor=actor, call_id=call_id)  # 404 before anything
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(call_page, request, call_id), success=DONE[key],
                     location=f"/service-calls/{call_id}", number=call["number"])


class CallController(Controller):
    path = "/service-calls"
    guards = [login_required]

    @get("/")
    @replica.replica_reads
    async def calls_list(self, request: Request) -> Response:
        """R33: the calls in the reader's scope (R1), searched by number, the customer's
        phone, status, breaching and call days; breaches in red."""
        return await list_page(request)

    @get("/export")
    @replica.replica_reads
    async def export(self, request: Request) -> Response:
        """Exactly the rows the list's filter shows, as CSV or XLSX."""
        return await list_page(request, export=True)

    @get("/new")
    async def new(self, request: Request) -> Response:
        return await new_page(request)

    @post("/")
    async def record(self, request: Request) -> Response:
        """R33: record a call; it opens on its own page, routed to its repair point."""
        actor = current_actor(request)
        form = await request.form()
        try:
            call_id = await calls.record_call(actor=actor, data=form_input(CallIn, form))
        except PortalError as exc:
            return await refused(exc, functools.partial(new_page, request), form)
        call = await calls.get_call(actor=actor, call_id=call_id)
        return done(request, DONE["record"], f"/service-calls/{call_id}", number=call["number"])

    @get("/{call_id:int}")
    async def detail(self, request: Request, call_id: FromPath[int]) -> Response:
        return await call_page(request, call_id)

    @post("/{call_id:int}/visit")
    async def visit(self, request: Request, call_id: FromPath[int]) -> Response:
        return await act_on_call(request, call_id, "visit", CallVisitIn,
                                 lambda actor, data: calls.record_visit(
                                     actor=actor, call_id=call_id, data=data))

    @post("/{call_id:int}/close")
    async def close(self, request: Request, call_id: FromPath[int]) -> Response:
        return await act_on_call(request, call_id, "close", CallCloseIn,
                                 lambda actor, data: calls.close_call(
                                     actor=actor, call_id=call_id, data=data))

    @post("/{call_id:int}/cancel")
    async def cancel(self, request: Request, call_id: FromPath[int]) -> Response:
        return await act_on_call(request, call_id, "cancel", CallCancelIn,
                                 lambda actor, data: calls.cancel_call(
                                     actor=actor, call_id=call_id, data=data))

    @post("/{call_id:int}/card/link")
    async def card_link(self, request: Request, call_id: FromPath[int]) -> Response:
        """R33: a fresh one-time link to the call's opinion card, as a link and a QR code for
        the customer's phone (the earlier link stops working)."""
        try:
            token = await opinion_cards.hand_over(actor=current_actor(request), call_id=call_id,
                                                  channel="link")
        except PortalError as exc:
            return await refused(exc, functools.partial(call_page, request, call_id), {})
        return await call_page(request, call_id,
                               card_url=base_url(request) + opinion_cards.card_path(token))

    @post("/{call_id:int}/card/tablet")
    async def card_tablet(self, request: Request, call_id: FromPath[int]) -> Response:
        """R33: the card opened on this device for the customer to fill in."""
        try:
            token = await opinion_cards.hand_over(actor=current_actor(request), call_id=call_id,
                                                  channel="tablet")
        except PortalError as exc:
            return await refused(exc, functools.partial(call_page, request, call_id), {})
        return Response(content="", status_code=303,
                        headers={"Location": opinion_cards.card_path(token)})


# --- the opinion card: public, once, only for its service (R33) ---------------------------------

def card_view(request: Request, state: str, status_code: int = 200, **context) -> Response:
    """The card page is the customer's, also on the staff's signed-in tablet: no navigation, no
    name, no sign-out button (`actor` is None for the layout only; the session and its CSRF
    token stay); signed out, it issues the signed-out form token."""
    return render(request, "service/card.html", state=state, status_code=status_code,
                  actor=None, issue_anon_csrf=True, **context)


async def card_page(request: Request, token: str, *, status_code: int = 200,
                    errors: dict | None = None, form: dict | None = None) -> Response:
    """The card's page: the form while unfilled; said plainly once it is filled in; an
    unknown link answers 404 with a page that shows no more than a used one."""
    ip = client_ip(request)
    if await opinion_cards.lookups_blocked(ip):
        return card_view(request, "throttled", 429)
    card = await opinion_cards.open_card(token)
    if card is None:
        await opinion_cards.note_failed_lookup(ip)
        return card_view(request, "unknown", 404)
    if card["submitted_at"] is not None:
        return card_view(request, "filled")
    return card_view(request, "form", status_code, card=card, token=token, errors=errors or {},
                     form=form or {}, scores=call_rules.CARD_SCORES)


class CardController(Controller):
    path = "/card"
    guards = [public]

    @get("/{token:str}")
    async def card(self, request: Request, token: FromPath[str]) -> Response:
        return await card_page(request, token)

    @post("/{token:str}")
    async def submit(self, request: Request, token: FromPath[str]) -> Response:
        """R33: the scores, once; a second submission changes nothing and says so."""
        ip = client_ip(request)
        if await opinion_cards.lookups_blocked(ip):
            return await card_page(request, token)
        return await submit_card_form(request, token, ip)


async def submit_card_form(request: Request, token: str, ip: str) -> Response:
    form = await request.form()
    try:
        call_id = await opinion_cards.submit_card(token=token, data=form_input(CardIn, form))
    except ValidationFailed as exc:
        return await card_page(request, token, status_code=422, errors=exc.errors,
                               form=dict(form))
    except NotFound:
        await opinion_cards.note_failed_lookup(ip)  # counted across processes (R33)
        return card_view(request, "unknown", 404)
    except Conflict:
        return card_view(request, "filled", 409)
    signed_in = request.scope.get("state", {}).get("actor") is not None
    return card_view(request, "thanks", back=f"/service-calls/{call_id}" if signed_in else None)


HANDLERS: list = [CallController, CardController, CallApi]
